"""``coverage-lookup plans ...``: import, download, show and count the CMS plan files (thin: parse,
call the plans package, print)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "plans", help="plan-level data: import CMS Marketplace PUFs and Medicare Advantage PBP files"
    )
    ps = p.add_subparsers(dest="plans_command", required=True, parser_class=type(p))
    imp = ps.add_parser(
        "import", help="import a Benefits and Cost Sharing PUF (and Plan Attributes PUF), .csv or .zip"
    )
    imp.add_argument("--benefits", metavar="FILE", help="benefits-and-cost-sharing-puf .csv or .zip")
    imp.add_argument("--attributes", metavar="FILE", help="plan-attributes-puf .csv or .zip")
    imp.add_argument("--json", action="store_true")
    pbp = ps.add_parser(
        "import-pbp", help="import a Medicare Advantage PBP benefits zip or pbp_b13_other_services.txt"
    )
    pbp.add_argument("file", metavar="FILE")
    pbp.add_argument("--year", type=int, help="plan year (default: read from the file name)")
    pbp.add_argument("--json", action="store_true")
    show = ps.add_parser("show", help="show a plan's stored rows")
    show.add_argument("plan_id", metavar="PLAN_ID")
    show.add_argument("--year", type=int, help="plan year (default: every imported year)")
    show.add_argument("--json", action="store_true")
    stats = ps.add_parser("stats", help="plans per state and year, and how many cover acupuncture")
    stats.add_argument("--state", help="state code or name")
    stats.add_argument("--year", type=int)
    stats.add_argument("--json", action="store_true")
    dl = ps.add_parser("download", help="download a plan year's Marketplace PUF zips from CMS (network)")
    dl.add_argument("--year", type=int, required=True)
    dl.add_argument("--dest", help="folder for the zips (default: <store folder>/downloads)")
    dl.add_argument("--base-url", default=None, help="a mirror of download.cms.gov/marketplace-puf")
    dl.add_argument(
        "--import", dest="do_import", action="store_true", help="import the files once downloaded"
    )
    dl.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    if args.plans_command == "import":
        return _import(args)
    if args.plans_command == "import-pbp":
        return _import_pbp(args)
    if args.plans_command == "show":
        return _show(args)
    if args.plans_command == "stats":
        return _stats(args)
    return _download(args)


def _emit(args: argparse.Namespace, payload: Any, text: str) -> None:
    print(json.dumps(payload, indent=2, default=str) if args.json else text)


def _summary_text(s: Any) -> str:
    where = f"{s.file}" + (f" [{s.member}]" if s.member else "")
    text = (
        f"imported {s.kind}: {where}, plan years {', '.join(map(str, s.years))}: {s.rows_read} rows read, "
        f"{s.rows_kept} kept, {s.malformed} malformed; sha256 {s.sha256}"
    )
    for example in s.malformed_examples:
        text += f"\n  malformed {example}"
    return text


def _import(args: argparse.Namespace) -> int:
    from .importer import import_attributes, import_benefits

    if not args.benefits and not args.attributes:
        raise InputError("benefits", None, "give --benefits FILE and/or --attributes FILE")
    done = []
    if args.benefits:
        done.append(import_benefits(Path(args.benefits)))
    if args.attributes:
        done.append(import_attributes(Path(args.attributes)))
    _emit(args, [d.as_dict() for d in done], "\n".join(_summary_text(d) for d in done))
    return 0


def _import_pbp(args: argparse.Namespace) -> int:
    from .pbp import import_pbp

    s = import_pbp(Path(args.file), year=args.year)
    _emit(args, s.as_dict(), _summary_text(s))
    return 0


def _show(args: argparse.Namespace) -> int:
    from .ids import looks_like_ma, parse_ma_id, parse_marketplace_id
    from .store import PlanStore

    store = PlanStore()
    if looks_like_ma(args.plan_id):
        ma = parse_ma_id(args.plan_id)
        years = [args.year] if args.year else store.pbp_years()
        out: list[dict[str, Any]] = []
        for year in years:
            for segment, values, _ in store.pbp_rows(year, ma.contract, ma.plan):
                if ma.segment is None or segment == ma.segment:
                    out.append({"year": year, "plan": f"{ma.contract}-{ma.plan}-{segment}", "values": values})
    else:
        pid = parse_marketplace_id(args.plan_id)
        years = [args.year] if args.year else sorted(store.benefit_years())
        out = []
        for year in years:
            variants = [pid.text] if pid.variant else store.variants(year, pid.component)
            for variant in variants:
                rows = store.benefit_rows(year, variant)
                if rows or store.in_index(year, variant):
                    out.append(
                        {
                            "year": year,
                            "plan_id": variant,
                            "attributes": store.attributes(year, variant),
                            "benefits": {k: v[0] for k, v in rows.items()},
                        }
                    )
    if not out:
        raise InputError(
            "plan_id", args.plan_id, "no such plan in the plan store; see coverage-lookup plans stats"
        )
    lines = []
    for item in out:
        head = item.get("plan_id") or item.get("plan")
        lines.append(f"{head} ({item['year']})")
        if item.get("attributes"):
            lines.append("  " + ", ".join(f"{k}: {v}" for k, v in item["attributes"].items() if v))
        for benefit, values in (item.get("benefits") or {"PBP b13a": item.get("values", {})}).items():
            lines.append(f"  {benefit}:")
            for k, v in values.items():
                if v:
                    lines.append(f"    {k}: {v}")
    _emit(args, out, "\n".join(lines))
    return 0


def _stats(args: argparse.Namespace) -> int:
    from ..states import normalize_state
    from .store import PlanStore

    state = normalize_state(args.state) if args.state else None
    store = PlanStore()
    rows = store.counts(year=args.year, state=state)
    imports = [i.__dict__ for i in store.imports()]
    if not rows and not store.pbp_years():
        raise InputError(
            "state" if state else "year",
            state or args.year,
            "nothing imported for this; import a file first: coverage-lookup plans import --benefits FILE",
        )
    lines = ["year  state  plans  acupuncture row  covered"]
    for r in rows:
        lines.append(f"{r['year']}  {r['state']:<5}  {r['plans']:>5}  {r['with_row']:>15}  {r['covered']:>7}")
    for i in imports:
        lines.append(
            f"from {i['file_name']} ({i['kind']}, sha256 {i['sha256'][:16]}, imported {i['imported_at']})"
        )
    _emit(args, {"counts": rows, "imports": imports}, "\n".join(lines))
    return 0


def _download(args: argparse.Namespace) -> int:
    from .download import PUF_BASE, download_year
    from .importer import import_attributes, import_benefits
    from .store import default_store_path

    dest = Path(args.dest) if args.dest else default_store_path().parent / "downloads"
    results = download_year(args.year, dest, base=args.base_url or PUF_BASE)
    failed = [r for r in results if r.outcome != "fetched"]
    imported = []
    if args.do_import and not failed:
        for r in results:
            assert r.path is not None
            imported.append((import_benefits if r.kind == "benefits" else import_attributes)(r.path))
    payload = {"downloads": [r.__dict__ for r in results], "imported": [s.as_dict() for s in imported]}
    text = "\n".join(f"{r.outcome:<8} {r.kind}: {r.url} -> {r.path or '-'} ({r.detail})" for r in results)
    if imported:
        text += "\n" + "\n".join(_summary_text(s) for s in imported)
    _emit(args, payload, text)
    if failed:
        print("coverage-lookup: some downloads failed; nothing was imported", file=sys.stderr)
        return 1
    return 0
