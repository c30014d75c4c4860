"""The ``coverage-lookup`` command line (thin: parsing, calling the API, printing).

argparse (standard library) keeps a cold ``check`` fast; see bench/cold_start.py.
Exit codes: 0 an answer (whatever its status), 1 a dataset problem, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

from .errors import DataError, InputError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One clear line on stderr, exit 2, never a usage dump or traceback.
        self.exit(2, f"coverage-lookup: error: {message} (see --help)\n")


def _query_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--coverage",
        required=True,
        help="medicare, medicare_advantage, medicaid, individual, "
        "small_group, large_group, self_funded, fehb, tricare, va, workers_comp",
    )
    p.add_argument("--state", help="state code or name (CA, 'New York', DC)")
    p.add_argument("--payer", help="payer id or common name")
    p.add_argument("--plan-id", help="plan id (e.g. a marketplace plan id or fep_blue_focus)")
    p.add_argument("--dx", action="append", default=[], metavar="CODE", help="ICD-10-CM code (repeatable)")
    p.add_argument("--condition", help="named condition set, e.g. sciatica, 'chronic low back pain'")
    p.add_argument("--cpt", default="97810", help="procedure code (default 97810)")
    p.add_argument("--provider", default="licensed_acupuncturist", help="who furnishes and bills the service")
    p.add_argument("--date", help="date of service YYYY-MM-DD (default today)")
    p.add_argument("--visits-used", type=_visits, help="visits already used in the period")
    p.add_argument("--age", type=_age, help="patient's age in years (matters for Medicaid EPSDT)")
    p.add_argument("--json", action="store_true", help="print the Determination as JSON")


def _nonneg(name: str, valid: str, value: str, high: int | None = None) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not valid; {valid}") from None
    if n < 0 or (high is not None and n > high):
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not valid; {valid}")
    return n


def _visits(value: str) -> int:
    return _nonneg("visits_used", "use a whole number of visits, 0 or more", value)


def _age(value: str) -> int:
    return _nonneg("age", "use a whole number of years from 0 to 130", value, 130)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="coverage-lookup", description="Does this plan cover acupuncture — and says who?")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _query_options(sub.add_parser("check", help="answer one coverage question"))
    _query_options(sub.add_parser("explain", help="show every rule considered for a question"))
    v = sub.add_parser("validate", help="check the whole dataset; non-zero exit on any problem")
    v.add_argument("--data-dir", help="data directory (default: the packaged or repository data/)")
    r = sub.add_parser("rules", help="list rules with their sources and freshness")
    r.add_argument("--json", action="store_true")
    py = sub.add_parser("payers", help="payers in the dataset: their policies and dated versions")
    py.add_argument("--json", action="store_true")
    st = sub.add_parser(
        "states", help="research status per jurisdiction: Medicaid, state law, EHB, workers' comp"
    )
    st.add_argument("--json", action="store_true")
    sub.add_parser("schema", help="print the JSON Schema of a rule file")
    return parser


def _check(args: argparse.Namespace, explain: bool) -> int:
    from .api import determine, to_model
    from .render import card, trace

    d = determine(
        coverage=args.coverage,
        state=args.state,
        payer=args.payer,
        plan_id=args.plan_id,
        diagnosis=args.dx or None,
        procedure=args.cpt,
        provider=args.provider,
        service_date=args.date,
        visits_used=args.visits_used,
        condition=args.condition,
        age=args.age,
    )
    if args.json:
        print(to_model(d).model_dump_json(indent=2))
    else:
        print(trace(d) if explain else card(d))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .dataset import load_dataset

    ds = load_dataset(Path(args.data_dir) if args.data_dir else None, use_cache=False)
    versions = sum(len(r.rule.versions) for r in ds.rules.values())
    print(
        f"ok: {len(ds.files)} rule files, {len(ds.rules)} rules, {versions} dated versions, "
        f"{len(ds.conditions)} condition sets, {len(ds.code_history)} tracked code changes"
    )
    return 0


def _rules(args: argparse.Namespace) -> int:
    from datetime import date

    from .api import get_dataset

    ds = get_dataset()
    today = date.today()
    rows = []
    for rid, lr in sorted(ds.rules.items()):
        latest = lr.rule.versions[-1]
        rows.append(
            {
                "id": rid,
                "title": lr.rule.title,
                "layer": lr.rule.layer,
                "coverage": list(lr.rule.scope.coverage),
                "state": lr.state,
                "payer": lr.payer,
                "versions": [v.effective.isoformat() for v in lr.rule.versions],
                "last_verified": latest.last_verified.isoformat(),
                "age_days": (today - latest.last_verified).days,
                "sources": [c.url for c in latest.citations],
                "file": lr.file,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        stale = " STALE" if row["age_days"] > 365 else ""  # type: ignore[operator]
        print(f"{row['id']}  [{row['layer']}]  {row['title']}")
        print(f"    versions: {', '.join(row['versions'])}  ·  verified {row['last_verified']}{stale}")  # type: ignore[arg-type]
        for url in row["sources"]:  # type: ignore[union-attr]
            print(f"    {url}")
    return 0


def _payers(args: argparse.Namespace) -> int:
    from .api import get_dataset

    ds = get_dataset()
    rows: list[dict[str, object]] = []
    for rel, f in sorted(ds.files.items()):
        if f.payer is None:
            continue
        rules = sorted((lr for lr in ds.rules.values() if lr.file == rel), key=lambda lr: lr.id)
        rows.append(
            {
                "id": f.payer.id,
                "name": f.payer.name,
                "aliases": list(f.payer.aliases),
                "administered_by": f.payer.administered_by,
                "policies": [lr.id for lr in rules],
                "versions": sum(len(lr.rule.versions) for lr in rules),
                "effective_dates": sorted({v.effective.isoformat() for lr in rules for v in lr.rule.versions}),
                "last_verified": min(
                    (lr.rule.versions[-1].last_verified for lr in rules), default=None
                ),
            }
        )
    rows.sort(key=lambda r: str(r["id"]))
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for row in rows:
        print(f"{row['id']:<26} {row['name']}")
        print(f"{'':<26} policies: {', '.join(row['policies'])}  ·  {row['versions']} dated versions")  # type: ignore[arg-type]
    print(f"{len(rows)} payers")
    return 0


def _states(args: argparse.Namespace) -> int:
    from .api import get_dataset
    from .registry import PROGRAMS, counts, state_statuses

    statuses = state_statuses(get_dataset())
    if args.json:
        print(json.dumps([s.json() for s in statuses], indent=2))
        return 0
    names = list(PROGRAMS)
    print(f"{'state':<6}" + "".join(f"{n:<31}" for n in names))
    for s in statuses:
        cells = []
        for n in names:
            p = s.programs[n]
            text = p.headline if p.research == "researched" else "UNKNOWN"
            cells.append(f"{text:<31}")
        print(f"{s.state:<6}" + "".join(cells).rstrip())
    total = counts(statuses)
    print("researched: " + ", ".join(f"{n} {total[n]}/{len(statuses)}" for n in names))
    return 0


def _schema() -> int:
    from .models import model_json_schema_for_data

    print(json.dumps(model_json_schema_for_data(), indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("check", "explain"):
            return _check(args, explain=args.command == "explain")
        if args.command == "validate":
            return _validate(args)
        if args.command == "rules":
            return _rules(args)
        if args.command == "payers":
            return _payers(args)
        if args.command == "states":
            return _states(args)
        return _schema()
    except InputError as exc:
        print(f"coverage-lookup: error: {exc}", file=sys.stderr)
        return 2
    except DataError as exc:
        print(f"coverage-lookup: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
