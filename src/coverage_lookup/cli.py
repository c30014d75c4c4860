"""The ``coverage-lookup`` command line (thin: parsing, calling the API, printing).

argparse (standard library) keeps a cold ``check`` fast; see bench/cold_start.py.
Exit codes: 0 an answer (whatever its status), 1 a dataset problem, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
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


def _positive_int(name: str) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise argparse.ArgumentTypeError(
                f"{name}: {value!r} is not valid; use a whole number of 1 or more"
            )
        return n

    return parse


def _float_arg(name: str, minimum: float, inclusive: bool) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            x = float(value)
        except ValueError:
            x = float("nan")
        ok = x >= minimum if inclusive else x > minimum
        if not ok or x != x or x == float("inf"):
            raise argparse.ArgumentTypeError(
                f"{name}: {value!r} is not valid; use a number of seconds {'>=' if inclusive else '>'} {minimum:g}"
            )
        return x

    return parse


def _nonneg_float(name: str) -> Callable[[str], float]:
    return _float_arg(name, 0.0, True)


def _positive_float(name: str) -> Callable[[str], float]:
    return _float_arg(name, 0.0, False)


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
    so = sub.add_parser("sources", help="list every source with the rules it backs and its last check")
    so.add_argument("--json", action="store_true")
    so.add_argument(
        "--state-dir", help="scraper state directory (default: $COVERAGE_LOOKUP_HOME or user data dir)"
    )
    rf = sub.add_parser("refresh", help="re-check the sources and write a change report (never edits data/)")
    rf.add_argument("--only", nargs="+", metavar="ID", help="check only these source ids")
    rf.add_argument("--sources", metavar="FILE", help="JSON or YAML list of {id, url, kind} to check instead")
    rf.add_argument("--json", action="store_true", help="print one JSON object with a 'sources' array")
    rf.add_argument(
        "--state-dir", help="scraper state directory (default: $COVERAGE_LOOKUP_HOME or user data dir)"
    )
    rf.add_argument("--per-host-concurrency", type=_positive_int("per-host-concurrency"), default=2)
    rf.add_argument("--per-host-delay", type=_nonneg_float("per-host-delay"), default=1.0, metavar="SECONDS")
    rf.add_argument("--timeout", type=_positive_float("timeout"), default=30.0, metavar="SECONDS")
    rf.add_argument("--max-bytes", type=_positive_int("max-bytes"), default=25 * 1024 * 1024)
    rf.add_argument(
        "--retries", type=_positive_int("retries"), default=4, help="attempts per request (default 4)"
    )
    ve = sub.add_parser("verify", help="stamp a rule as re-verified today (updates last_verified in place)")
    ve.add_argument("rule", metavar="RULE_ID")
    ve.add_argument("--date", help="verification date YYYY-MM-DD (default today)")
    ve.add_argument("--data-dir", help="data directory (default: the repository or packaged data/)")
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
                "effective_dates": sorted(
                    {v.effective.isoformat() for lr in rules for v in lr.rule.versions}
                ),
                "last_verified": min((lr.rule.versions[-1].last_verified for lr in rules), default=None),
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


def _state_store(args: argparse.Namespace) -> object:
    from pathlib import Path

    from .sources.store import Store, default_state_dir

    return Store(Path(args.state_dir) if args.state_dir else default_state_dir())


def _sources(args: argparse.Namespace) -> int:
    from .api import get_dataset
    from .sources.registry import build_registry
    from .sources.store import Store

    store = _state_store(args)
    assert isinstance(store, Store)
    states = store.all_states()
    rows = []
    for spec in build_registry(get_dataset()):
        st = states.get(spec.id)
        rows.append(
            {
                "id": spec.id,
                "url": spec.url,
                "kind": spec.resolved_kind,
                "extractor": spec.extractor,
                "rules": spec.rules,
                "last_checked": st.last_checked.isoformat() if st and st.last_checked else None,
                "last_changed": st.last_changed.isoformat() if st and st.last_changed else None,
                "last_outcome": st.last_outcome if st else None,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        seen = (
            f"checked {row['last_checked'][:10]} ({row['last_outcome']})"
            if row["last_checked"]
            else "never checked"
        )
        ext = f" [{row['extractor']}]" if row["extractor"] else ""
        print(f"{row['id']}  {row['kind']}{ext}  {seen}")
        print(f"    {row['url']}")
        print(f"    backs: {', '.join(row['rules'])}")  # type: ignore[arg-type]
    print(f"{len(rows)} sources in {store.root}")
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .api import get_dataset
    from .sources.fetch import FetchPolicy
    from .sources.refresh import refresh, render_report
    from .sources.registry import build_registry, load_sources_file
    from .sources.store import RefreshLocked, Store

    ds = get_dataset()
    registry = build_registry(ds)
    specs = load_sources_file(Path(args.sources)) if args.sources else registry
    if args.only:
        known = {s.id for s in specs}
        bad = [i for i in args.only if i not in known]
        if bad:
            raise InputError("only", ", ".join(bad), "use source ids listed by `coverage-lookup sources`")
        specs = [s for s in specs if s.id in set(args.only)]
    policy = FetchPolicy(
        per_host_concurrency=args.per_host_concurrency,
        per_host_delay=args.per_host_delay,
        read_timeout=args.timeout,
        connect_timeout=min(args.timeout, 10.0),
        max_bytes=args.max_bytes,
        max_attempts=args.retries,
    )
    store = _state_store(args)
    assert isinstance(store, Store)
    # Redirects may go only to hosts already in the registry (and the hosts being checked).
    allowed = {s.host for s in registry} | {s.host for s in specs}

    def progress(o: object) -> None:
        if not args.json:
            from .sources.refresh import SourceOutcome

            assert isinstance(o, SourceOutcome)
            print(f"{o.outcome:<9} {o.id}  {o.detail}", file=sys.stderr)

    try:
        run = refresh(specs, store, policy, ds=ds, allowed_hosts=allowed, progress=progress)
    except RefreshLocked as exc:
        print(f"coverage-lookup: {exc}", file=sys.stderr)
        return 1
    markdown, payload = render_report(run)
    stamp = run.started.strftime("%Y%m%dT%H%M%SZ")
    md, js = store.write_report(stamp, markdown, payload)
    if args.json:
        print(
            json.dumps(
                {
                    "sources": [o.brief() for o in run.outcomes],
                    "counts": run.counts(),
                    "report": {"markdown": str(md), "json": str(js)},
                },
                indent=2,
            )
        )
    else:
        counts = run.counts()
        print(", ".join(f"{k} {v}" for k, v in counts.items()) + f"; report: {md}")
    return 1 if run.failed else 0


def _verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .api import parse_date
    from .dataset import default_data_dir
    from .sources.verify import stamp

    on = parse_date(args.date, field="date") if args.date else None
    data_dir = (Path(args.data_dir) if args.data_dir else default_data_dir()).resolve()
    path, effective, previous = stamp(data_dir, args.rule, on)
    print(
        f"{args.rule}: version of {effective.isoformat()} verified "
        f"{(on or __import__('datetime').date.today()).isoformat()} (was {previous.isoformat()}) in {path}"
    )
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
        if args.command == "sources":
            return _sources(args)
        if args.command == "refresh":
            return _refresh(args)
        if args.command == "verify":
            return _verify(args)
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
