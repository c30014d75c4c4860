"""Refresh: re-check sources, detect real changes, extract facts, and write a report for a curator.

It never writes to ``data/``: the report says which rules cite a changed source and how the extracted
facts compare with the curated ones; a curator re-verifies and stamps (``coverage-lookup verify``).

A change counts as reported only once a written report lists it (see :mod:`.store`): each report lists
every source whose seen version differs from its last reported one, including changes seen by an
earlier run that died before writing its report.
"""

from __future__ import annotations

import difflib
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..dataset import Dataset
from ..evidence import version_on
from .extractors import EXTRACTORS, CandidateFacts, StructureChanged, extract
from .fetch import Fetcher, FetchPolicy, FetchResult
from .normalize import NormalizeError, content_hash, normalize
from .registry import SourceSpec
from .store import SourceState, Store

OUTCOMES = ("changed", "unchanged", "failed", "skipped")
# Test hook: when set to a path, a refresh that has committed every source's state creates that file
# and waits (so that a test can kill it before its report is written).
PAUSE_BEFORE_REPORT_ENV = "COVERAGE_LOOKUP_PAUSE_BEFORE_REPORT"


@dataclass
class SourceOutcome:
    id: str
    url: str
    outcome: str
    http_status: int | None
    detail: str
    rules: list[str] = field(default_factory=list)
    bytes_received: int = 0
    diff: dict[str, Any] | None = None
    facts_before: CandidateFacts | None = None
    facts_after: CandidateFacts | None = None
    findings: list[str] = field(default_factory=list)
    reports_change: bool = False  # this report lists a change (seen now or by an unreported run)
    content_hash: str | None = None  # the version this report accounts for
    change_seen: datetime | None = None

    def brief(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "outcome": self.outcome,
            "http_status": self.http_status,
            "detail": self.detail,
        }

    def full(self) -> dict[str, Any]:
        out = self.brief()
        out.update(
            rules=self.rules,
            bytes_received=self.bytes_received,
            diff=self.diff,
            facts_before=self.facts_before.model_dump(mode="json") if self.facts_before else None,
            facts_after=self.facts_after.model_dump(mode="json") if self.facts_after else None,
            findings=self.findings,
            reports_change=self.reports_change,
            content_hash=self.content_hash,
            change_seen=self.change_seen.isoformat() if self.change_seen else None,
        )
        return out


def diff_summary(before: str | None, after: str, sample: int = 8) -> dict[str, Any]:
    old = (before or "").splitlines()
    new = after.splitlines()
    added: list[str] = []
    removed: list[str] = []
    # The line matcher unified_diff uses, read directly: a diff's text would make a line that itself
    # begins with "++" or "--" look like a file header.
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
        if tag in ("replace", "delete"):
            removed.extend(old[i1:i2])
        if tag in ("replace", "insert"):
            added.extend(new[j1:j2])
    return {
        "lines_added": len(added),
        "lines_removed": len(removed),
        "added_sample": [a[:200] for a in added[:sample]],
        "removed_sample": [r[:200] for r in removed[:sample]],
    }


def compare_with_curated(ds: Dataset | None, spec: SourceSpec, facts: CandidateFacts) -> list[str]:
    """What a curator should look at: source dates newer than the curated versions, limits that differ."""
    if ds is None:
        return []
    findings: list[str] = []
    today = datetime.now(UTC).date()
    for rid in spec.rules:
        loaded = ds.rules.get(rid)
        if loaded is None:
            continue
        versions = loaded.rule.versions
        latest = versions[-1].effective
        for label, when in (("effective", facts.effective), ("reviewed", facts.reviewed)):
            if when is not None and when > latest and when > versions[-1].last_verified:
                findings.append(
                    f"{rid}: the source's {label} date {when.isoformat()} is after the latest curated version "
                    f"({latest.isoformat()}) and its last verification — re-read it; a new version may be needed"
                )
        current = version_on(loaded.rule, today)
        curated_numbers = {
            str(lim.visits) for p in (current.provisions if current else []) for lim in p.limits
        } | {
            str(lim.extra_visits_with_improvement)
            for p in (current.provisions if current else [])
            for lim in p.limits
            if lim.extra_visits_with_improvement
        }
        source_numbers = {m.group(0) for s in facts.limits for m in re.finditer(r"^\d+", s)}
        if curated_numbers and source_numbers and not source_numbers <= curated_numbers:
            findings.append(
                f"{rid}: the source states limits {sorted(facts.limits)}; the curated limits are "
                f"{sorted(curated_numbers, key=int)} visits — compare"
            )
    return findings


def _check_safely(
    spec: SourceSpec, store: Store, fetcher: Fetcher, ds: Dataset | None, now: datetime
) -> SourceOutcome:
    """One source's failure — even an unexpected one — is reported and does not stop the others."""
    try:
        return _check_one(spec, store, fetcher, ds, now)
    except Exception as exc:  # reported as this source's outcome; the refresh goes on
        return SourceOutcome(
            spec.id, spec.url, "failed", None, f"internal error: {type(exc).__name__}: {exc}"
        )


def _check_one(
    spec: SourceSpec, store: Store, fetcher: Fetcher, ds: Dataset | None, now: datetime
) -> SourceOutcome:
    prev = store.load(spec.id)
    kind = spec.resolved_kind
    known = prev is not None and prev.content_hash is not None and prev.url == spec.url
    res: FetchResult = fetcher.fetch(
        spec.url,
        kind,
        etag=prev.etag if known and prev else None,
        last_modified=prev.last_modified if known and prev else None,
    )
    state = (
        prev.model_copy()
        if prev is not None and prev.url == spec.url
        else SourceState(id=spec.id, url=spec.url, kind=kind)
    )
    state.kind = kind
    out = SourceOutcome(
        spec.id, spec.url, "failed", res.http_status, res.detail, list(spec.rules), res.bytes_received
    )
    out.facts_before = prev.facts if prev else None
    document: bytes | None = None
    text: str | None = None
    if res.outcome == "skipped":
        out.outcome = "skipped"
    elif res.outcome == "failed":
        out.outcome = "failed"
    elif res.outcome == "not_modified":
        out.outcome, out.detail = "unchanged", "not modified (304)"
    else:
        assert res.body is not None
        try:
            text = normalize(kind, res.body)
            facts = extract(spec.extractor, res.body, text) if spec.extractor else None
        except (NormalizeError, StructureChanged) as exc:
            out.outcome, out.detail, text = "failed", str(exc), None
        else:
            digest = content_hash(text)
            out.facts_after = facts
            if not known:
                out.outcome, out.detail = "changed", "first time seen"
            elif digest != state.content_hash:
                out.outcome, out.detail = "changed", "content changed"
            else:
                out.outcome, out.detail = "unchanged", "fetched; no meaningful change (cosmetic only)"
            if facts is not None:
                out.findings = compare_with_curated(ds, spec, facts)
                state.facts = facts
            if out.outcome == "changed":
                state.last_changed = now
                document = res.body
            state.content_hash = digest
            state.etag, state.last_modified = res.etag, res.last_modified
            if out.outcome != "changed":
                text = None  # the stored text is already this text
    if state.unreported:
        _add_unreported(out, state, store, text)
    state.last_checked = now
    state.last_outcome = out.outcome
    state.last_detail = out.detail
    state.http_status = out.http_status
    state.history.append({"at": now.isoformat(), "outcome": out.outcome, "detail": out.detail})
    store.save(state, document=document, text=text)
    return out


def _add_unreported(out: SourceOutcome, state: SourceState, store: Store, text: str | None) -> None:
    """List the change since the last written report — this run's, or one an earlier run saw but
    never reported — with the diff and facts against the reported version."""
    out.reports_change = True
    out.content_hash = state.content_hash
    out.change_seen = state.last_changed
    out.facts_before = state.reported_facts
    out.facts_after = state.facts
    if state.reported_hash is not None:
        seen = text if text is not None else store.text_for(state.id, state.content_hash)
        out.diff = diff_summary(store.text_for(state.id, state.reported_hash), seen or "")
    lines = f" (+{out.diff['lines_added']} / -{out.diff['lines_removed']} lines)" if out.diff else ""
    when = state.last_changed.strftime("%Y-%m-%d %H:%M:%S UTC") if state.last_changed else "earlier"
    earlier = f"seen {when} by a run whose report was not written"
    if out.outcome == "changed":
        if out.detail == "content changed":
            out.detail += lines
    elif out.outcome == "unchanged":
        what = "first time seen" if state.reported_hash is None else f"content changed{lines}"
        out.outcome, out.detail = "changed", f"{what}, {earlier}; {out.detail}"
    else:  # failed or skipped now, with older news still to report
        out.detail += f"; an unreported earlier change ({earlier}) is listed in this report"


@dataclass
class RefreshRun:
    outcomes: list[SourceOutcome]
    started: datetime
    finished: datetime

    @property
    def failed(self) -> bool:
        return any(o.outcome == "failed" for o in self.outcomes)

    def counts(self) -> dict[str, int]:
        return {k: sum(o.outcome == k for o in self.outcomes) for k in OUTCOMES}


def refresh(
    specs: list[SourceSpec],
    store: Store,
    policy: FetchPolicy,
    ds: Dataset | None = None,
    allowed_hosts: set[str] | None = None,
    fetcher: Fetcher | None = None,
    progress: Callable[[SourceOutcome], None] | None = None,
    before_report: Callable[[RefreshRun], None] | None = None,
) -> RefreshRun:
    """Check every source (under the lock); each source's state is committed atomically on its own.

    Nothing is marked reported here: pass the run to :func:`write_report` (or ``Store.write_report``)
    — until then its changes stay pending and the next run lists them again. ``before_report`` is
    called with the run once every state is committed (a hook for tests)."""
    for spec in specs:
        if spec.extractor and spec.extractor not in EXTRACTORS:
            raise ValueError(f"source {spec.id}: unknown extractor {spec.extractor!r}")
    fetcher = fetcher or Fetcher(policy=policy, allowed_hosts=allowed_hosts or {s.host for s in specs})
    started = datetime.now(UTC)
    lock = store.lock()
    try:
        store.remove_stale_temporaries()
        hosts: dict[str, int] = {}
        for s in specs:
            hosts[s.host] = hosts.get(s.host, 0) + 1
        workers = max(1, min(64, sum(min(n, policy.per_host_concurrency) for n in hosts.values())))
        outcomes: list[SourceOutcome] = []
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="refresh") as pool:
            futures = [pool.submit(_check_safely, s, store, fetcher, ds, started) for s in specs]
            for fut in futures:
                o = fut.result()
                outcomes.append(o)
                if progress:
                    progress(o)
        run = RefreshRun(outcomes, started, datetime.now(UTC))
        if before_report:
            before_report(run)
        _pause_before_report()
    finally:
        lock.release()
    return run


def _pause_before_report() -> None:
    marker = os.environ.get(PAUSE_BEFORE_REPORT_ENV)
    if not marker:
        return
    Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(120)  # the test kills the process here: every state is committed, no report written


def write_report(store: Store, run: RefreshRun) -> tuple[Path, Path]:
    """Render and write the run's report; the changes it lists are then marked reported."""
    markdown, payload = render_report(run)
    return store.write_report(run.started.strftime("%Y%m%dT%H%M%SZ"), markdown, payload)


def render_report(run: RefreshRun) -> tuple[str, dict[str, Any]]:
    counts = run.counts()
    lines = [
        f"# Source refresh — {run.started.strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        "This report lists what changed in the sources behind the dataset. Nothing in `data/` was modified:",
        "re-read each changed source, update the rules it backs if needed, then stamp them with",
        "`coverage-lookup verify RULE_ID`.",
        "",
        "| outcome | sources |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in counts.items()],
        "",
    ]
    for title, wanted in (("Changed", "changed"), ("Failed", "failed"), ("Skipped", "skipped")):
        group = [o for o in run.outcomes if o.outcome == wanted or (wanted == "changed" and o.reports_change)]
        if not group:
            continue
        lines += [f"## {title}", ""]
        for o in group:
            lines.append(f"### `{o.id}`")
            lines.append("")
            lines.append(f"- url: <{o.url}>")
            lines.append(f"- http status: {o.http_status if o.http_status is not None else '-'}")
            lines.append(f"- detail: {o.detail}")
            lines.append(f"- rules citing it: {', '.join(f'`{r}`' for r in o.rules) or '(none)'}")
            if o.diff:
                lines.append(f"- text diff: +{o.diff['lines_added']} / -{o.diff['lines_removed']} lines")
                for a in o.diff["added_sample"]:
                    lines.append(f"    - added: {a}")
                for r in o.diff["removed_sample"]:
                    lines.append(f"    - removed: {r}")
            if o.facts_after or o.facts_before:
                lines.append("- extracted facts (before → after):")
                before = o.facts_before.model_dump(mode="json") if o.facts_before else {}
                after = o.facts_after.model_dump(mode="json") if o.facts_after else {}
                for key in (
                    "document_id",
                    "effective",
                    "reviewed",
                    "next_review",
                    "limits",
                    "covered",
                    "experimental",
                ):
                    b, a = before.get(key), after.get(key)
                    mark = "" if b == a else " **(changed)**"
                    lines.append(f"    - {key}: {b!r} → {a!r}{mark}")
            for f in o.findings:
                lines.append(f"- to check: {f}")
            lines.append("")
    payload = {
        "started": run.started.isoformat(),
        "finished": run.finished.isoformat(),
        "counts": counts,
        "sources": [o.full() for o in run.outcomes],
    }
    return "\n".join(lines), payload
