"""The ``coverage-lookup`` command line (thin: parsing, calling the API, printing).

argparse (standard library) keeps a cold ``check`` fast; see bench/cold_start.py.
Exit codes: 0 an answer (whatever its status), 1 a dataset problem, 2 bad input.
"""

from __future__ import annotations

import argparse
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
        help="as on the card (Medi-Cal, 'Medicare Part B', marketplace, employer, workers' comp) or a type: "
        "medicare, medicare_advantage, medicaid, individual, small_group, large_group, self_funded, fehb, "
        "tricare, va, workers_comp (see `coverage-lookup values coverage`)",
    )
    p.add_argument("--state", help="state code or name (CA, 'New York', DC)")
    p.add_argument(
        "--payer", help="payer as on the card, e.g. 'BCBS of Texas', 'Aetna PPO' (see `values payers`)"
    )
    p.add_argument(
        "--plan-id",
        help="plan ID: a marketplace plan (91058WI0050007-01) or Medicare Advantage plan (H1234-001) "
        "from imported CMS files (see `plans import`), or fep_blue_focus",
    )
    p.add_argument("--dx", action="append", default=[], metavar="CODE", help="ICD-10-CM code (repeatable)")
    p.add_argument("--condition", help="named condition set, e.g. sciatica, 'chronic low back pain'")
    p.add_argument("--cpt", default="97810", help="procedure code (default 97810)")
    p.add_argument("--provider", default="licensed_acupuncturist", help="who furnishes and bills the service")
    p.add_argument("--date", help="date of service: 2024-03-01 or 3/1/2024 (month first; default today)")
    p.add_argument("--visits-used", type=_visits, help="visits already used in the period")
    p.add_argument("--age", type=_age, help="patient's age in years (matters for Medicaid EPSDT)")
    p.add_argument("--json", action="store_true", help="print the Determination as JSON")
    p.add_argument("--brief", action="store_true", help="one line per answer")


def _int_arg(name: str, valid: str, value: str, low: int = 0, high: int | None = None) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not valid; {valid}") from None
    if n < low or (high is not None and n > high):
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not valid; {valid}")
    return n


def _visits(value: str) -> int:
    return _int_arg("visits_used", "use a whole number of visits from 0 to 100000", value, high=100_000)


def _age(value: str) -> int:
    return _int_arg("age", "use a whole number of years from 0 to 130", value, high=130)


def _positive_int(name: str) -> Callable[[str], int]:
    return lambda value: _int_arg(name, "use a whole number of 1 or more", value, low=1)


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
    from . import __version__

    parser = _Parser(prog="coverage-lookup", description="Does this plan cover acupuncture — and says who?")
    parser.add_argument("--version", action="version", version=f"coverage-lookup {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    version = f"coverage-lookup {__version__}"
    _query_options(
        sub.add_parser(
            "check",
            help="answer one coverage question",
            description="Answer one coverage question. Values may be written as on the insurance card "
            "(Medi-Cal, 'BCBS of Texas', 'Aetna PPO', 3/1/2024); `coverage-lookup values` lists every "
            "accepted value and alias.",
        )
    )
    _query_options(sub.add_parser("explain", help="show every rule considered for a question"))
    v = sub.add_parser("validate", help="check the whole dataset; non-zero exit on any problem")
    v.add_argument("--data-dir", help="data directory (default: the packaged or repository data/)")
    v.add_argument(
        "--quality",
        action="store_true",
        help="also report evidence quality: date bases, citation kinds, secondary-only and stale rules, unknowns",
    )
    v.add_argument("--json", action="store_true", help="with --quality: print the report as one JSON object")
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
    rf.add_argument(
        "--deadline",
        type=_positive_float("deadline"),
        default=None,
        metavar="SECONDS",
        help="overall limit per fetch: connect, all reads, retries and redirects (default 10x --timeout)",
    )
    rf.add_argument("--max-bytes", type=_positive_int("max-bytes"), default=25 * 1024 * 1024)
    rf.add_argument(
        "--retries", type=_positive_int("retries"), default=4, help="attempts per request (default 4)"
    )
    va = sub.add_parser("values", help="every accepted value (coverage, providers, ...) with its aliases")
    va.add_argument(
        "kind",
        nargs="?",
        default="coverage",
        choices=["coverage", "providers", "procedures", "conditions", "payers", "states"],
    )
    va.add_argument("--json", action="store_true")
    ba = sub.add_parser(
        "batch",
        help="answer every row of a CSV or XLSX file (card-style values), answers added as columns",
        description="One question per row. Columns are matched by name (insurance, payer/carrier, plan id, "
        "dx/diagnosis, cpt, provider, date/DOS, visits used); other columns pass through. Bad rows get "
        "status=error and the batch goes on. Patient data is never logged or stored.",
    )
    ba.add_argument("input", metavar="INPUT", help="a .csv or .xlsx file")
    ba.add_argument(
        "-o", "--output", required=True, metavar="OUTPUT", help="a .csv or .xlsx file, or - for CSV on stdout"
    )
    ba.add_argument("--date", help="today's date for freshness (default: today)")
    from .plans.cli import add_parser as add_plans_parser

    add_plans_parser(sub)
    from .web.cli import add_parser as add_web_parser

    add_web_parser(sub)
    ve = sub.add_parser("verify", help="stamp a rule as re-verified today (updates last_verified in place)")
    ve.add_argument("rule", metavar="RULE_ID")
    ve.add_argument("--date", help="verification date YYYY-MM-DD (default today)")
    ve.add_argument("--data-dir", help="data directory (default: the repository or packaged data/)")
    for choice in list(sub.choices.values()):
        _add_version(choice, version)
    return parser


def _add_version(p: argparse.ArgumentParser, version: str) -> None:
    """--version on every command and sub-command."""
    if not any("--version" in a.option_strings for a in p._actions):
        p.add_argument("--version", action="version", version=version)
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_version(child, version)


def _check(args: argparse.Namespace, explain: bool) -> int:
    from .api import determine, to_model
    from .render import brief, card, trace

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
    elif args.brief:
        print(brief(d))
    else:
        print(trace(d) if explain else card(d))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("check", "explain"):
            return _check(args, explain=args.command == "explain")
        from . import commands

        if args.command == "validate":
            return commands.validate(args)
        if args.command == "rules":
            return commands.rules(args)
        if args.command == "sources":
            return commands.sources(args)
        if args.command == "refresh":
            return commands.refresh_cmd(args)
        if args.command == "verify":
            return commands.verify(args)
        if args.command == "payers":
            return commands.payers(args)
        if args.command == "states":
            return commands.states(args)
        if args.command == "values":
            return commands.values(args)
        if args.command == "batch":
            return commands.batch(args)
        if args.command == "serve":
            from .web.cli import run as run_web

            return run_web(args)
        if args.command == "plans":
            from .plans.cli import run as run_plans

            return run_plans(args)
        return commands.schema()
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
