"""The curator and maintenance commands of the CLI: validate, rules, states, payers, schema, sources,
refresh and verify. Kept apart from :mod:`.cli` so that a cold ``check`` compiles and imports none of it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from .sources.store import Store


def validate(args: argparse.Namespace) -> int:
    from datetime import date
    from pathlib import Path

    from .dataset import load_dataset

    ds = load_dataset(Path(args.data_dir) if args.data_dir else None, today=date.today(), use_cache=False)
    versions = sum(len(r.rule.versions) for r in ds.rules.values())
    summary = (
        f"ok: {len(ds.files)} rule files, {len(ds.rules)} rules, {versions} dated versions, "
        f"{len(ds.conditions)} condition sets, {len(ds.code_history)} tracked code changes"
    )
    if not getattr(args, "quality", False):
        print(summary)
        return 0
    import json

    from .curation.quality import quality, render

    report = quality(ds, date.today())
    if args.json:
        print(json.dumps(report.json(), indent=2))
    else:
        print(summary)
        print()
        print(render(report))
    return 0


def rules(args: argparse.Namespace) -> int:
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
                "effective_bases": [v.effective_basis for v in lr.rule.versions],
                "last_verified": latest.last_verified.isoformat(),
                "age_days": (today - latest.last_verified).days,
                "sources": [c.url for c in latest.citations],
                "citations": [
                    {"url": c.url, "title": c.title, "kind": c.kind, "issuer": c.issuer}
                    for c in latest.citations
                ],
                "file": lr.file,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from .render import citation_label

    for rid, lr in sorted(ds.rules.items()):
        latest = lr.rule.versions[-1]
        stale = " STALE" if (today - latest.last_verified).days > 365 else ""
        dated = ", ".join(
            v.effective.isoformat() + ("" if v.effective_basis == "sourced" else " (evidenced from)")
            for v in lr.rule.versions
        )
        print(f"{rid}  [{lr.rule.layer}]  {lr.rule.title}")
        print(f"    versions: {dated}  ·  verified {latest.last_verified.isoformat()}{stale}")
        for c in latest.citations:
            print(f"    {citation_label(c)} <{c.url}>")
    return 0


def payers(args: argparse.Namespace) -> int:
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


def _state_store(args: argparse.Namespace) -> Store:
    from pathlib import Path

    from .sources.store import Store, default_state_dir

    return Store(Path(args.state_dir) if args.state_dir else default_state_dir())


def sources(args: argparse.Namespace) -> int:
    from .api import get_dataset
    from .sources.registry import build_registry

    store = _state_store(args)
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


def refresh_cmd(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .api import get_dataset
    from .sources.fetch import FetchPolicy
    from .sources.refresh import SourceOutcome, refresh, render_report
    from .sources.registry import build_registry, load_sources_file
    from .sources.store import RefreshLocked

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
        deadline=args.deadline,
    )
    store = _state_store(args)
    # Redirects may go only to hosts already in the registry (and the hosts being checked).
    allowed = {s.host for s in registry} | {s.host for s in specs}

    def progress(o: SourceOutcome) -> None:
        if not args.json:
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


def verify(args: argparse.Namespace) -> int:
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


def states(args: argparse.Namespace) -> int:
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


def schema() -> int:
    from .models import model_json_schema_for_data

    print(json.dumps(model_json_schema_for_data(), indent=2))
    return 0


def values(args: argparse.Namespace) -> int:
    """Every accepted value of one kind with its aliases."""
    from .vocabulary import accepted_values

    items = accepted_values(args.kind)
    if args.json:
        print(json.dumps(items, indent=2, default=str))
        return 0
    for item in items:
        extra = f" [{item['state']}]" if item.get("state") else ""
        print(f"{item['value']}{extra} — {item['label']}")
        if item.get("aliases"):
            print("    also: " + ", ".join(str(a) for a in item["aliases"]))
    return 0


def batch(args: argparse.Namespace) -> int:
    """Answer every row of a CSV/XLSX file; bad rows become status=error rows; counts on stderr."""
    from pathlib import Path

    from .api import parse_date
    from .batch import answer_table, iter_progress, read_table, summary_line, write_table

    src = Path(args.input)
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise InputError(
            "input", args.input, f"give a readable .csv or .xlsx file ({exc.strerror})"
        ) from None
    table = read_table(data, src.name)
    fmt = "xlsx" if args.output.lower().endswith(".xlsx") else "csv"
    today = parse_date(args.date, "date") if args.date else None
    progress, done = iter_progress(len(table.rows), sys.stderr.isatty())
    try:
        result = answer_table(table, today=today, progress=progress)
    finally:
        done()
    out = write_table(result, fmt)
    if args.output == "-":
        sys.stdout.buffer.write(out)
    else:
        _write_atomically(Path(args.output), out)
    print(summary_line(result), file=sys.stderr)
    return 0


def _write_atomically(path: Path, data: bytes) -> None:
    import os
    import tempfile
    from pathlib import Path

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
