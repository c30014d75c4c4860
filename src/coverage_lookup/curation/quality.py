"""The evidence-quality report: how each version's start is known, what kind of document each citation
is, which rules rest only on secondary reports, which are stale, and where the unknowns are.

``coverage-lookup validate --quality [--json]`` prints it and ``docs/quality.md`` is generated from it
(``scripts/gen_docs.py``; a test fails when the page is stale).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..dataset import Dataset
from ..evidence import version_on

STALE_AFTER_DAYS = 365
CITATION_KINDS = ("primary", "copy", "secondary")


@dataclass(slots=True)
class QualityReport:
    versions: dict[str, int]
    extrapolation_windows: int
    citations: dict[str, int]
    secondary_only_rules: list[str]
    stale: list[str]
    unknown_by_program: dict[str, int]
    as_of: date
    issuers: Counter[str] = field(default_factory=Counter)

    def json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "versions": self.versions,
            "extrapolation_windows": self.extrapolation_windows,
            "citations": self.citations,
            "secondary_only_rules": self.secondary_only_rules,
            "stale": self.stale,
            "unknown_by_program": self.unknown_by_program,
        }


def _all_citations(ds: Dataset) -> list[Any]:
    out: list[Any] = []
    for lr in ds.rules.values():
        for v in lr.rule.versions:
            out.extend(v.citations)
    for cs in ds.conditions.values():
        out.extend(cs.citations)
    for change in ds.code_history:
        out.extend(change.citations)
    return out


def quality(ds: Dataset, today: date) -> QualityReport:
    """Count what the dataset's evidence is made of, as of ``today``."""
    versions = Counter({"sourced": 0, "evidenced_from": 0, "conventional": 0})
    windows = 0
    secondary_only: list[str] = []
    stale: list[str] = []
    unknown = Counter[str]()
    for rid, lr in sorted(ds.rules.items()):
        rule_versions = lr.rule.versions
        for i, v in enumerate(rule_versions):
            versions[v.effective_basis or "conventional"] += 1
            successor = rule_versions[i + 1] if i + 1 < len(rule_versions) else None
            # A window is a span of dates answered with this version that its evidence does not reach:
            # before an unknown start, or between its evidence and an unsourced successor.
            if (v.effective_basis != "sourced" and (i == 0 or v.effective_basis is None)) or (
                successor is not None and successor.effective_basis != "sourced"
            ):
                windows += 1
        if any(all(c.kind == "secondary" for c in v.citations) for v in rule_versions):
            secondary_only.append(rid)
        current = version_on(lr.rule, today)
        if current is None or current.retired:
            continue
        if (today - current.last_verified).days > STALE_AFTER_DAYS:
            stale.append(rid)
        if current.provisions and all(p.outcome == "unknown" for p in current.provisions):
            unknown[lr.rule.layer] += 1
    citations = Counter(dict.fromkeys((*CITATION_KINDS, "unclassified"), 0))
    issuers = Counter[str]()
    for c in _all_citations(ds):
        citations[c.kind or "unclassified"] += 1
        issuers[c.issuer or "(none)"] += 1
    return QualityReport(
        versions=dict(versions),
        extrapolation_windows=windows,
        citations=dict(citations),
        secondary_only_rules=secondary_only,
        stale=stale,
        unknown_by_program=dict(sorted(unknown.items())),
        as_of=today,
        issuers=issuers,
    )


def render(report: QualityReport, for_docs: bool = False) -> str:
    """The report as Markdown (the CLI's text output; ``for_docs``: docs/quality.md)."""
    v, c = report.versions, report.citations
    total_v = sum(v.values())
    total_c = sum(c.values())
    generated = [
        "Generated from `data/` by `scripts/gen_docs.py` (also `coverage-lookup validate --quality`) — "
        "do not edit by hand; a test fails when it is stale.",
        "",
    ]
    lines = [
        "# Evidence quality",
        "",
        *(generated if for_docs else []),
        f"As of {report.as_of.isoformat()}: {total_v} dated versions, {total_c} citations.",
        "",
        "## How each version's start is known",
        "",
        "| basis | versions |",
        "|---|---|",
        f"| sourced — a source states the start | {v['sourced']} |",
        f"| evidenced from — start unknown, earliest evidence given | {v['evidenced_from']} |",
        f"| conventional — neither (must be 0) | {v['conventional']} |",
        "",
        f"Versions with an extrapolation window (dates answered with the version that its evidence does "
        f"not reach): {report.extrapolation_windows}. Answers on such dates are marked *extrapolated*.",
        "",
        "## What kind of document each citation is",
        "",
        "| kind | citations |",
        "|---|---|",
        f"| primary — the issuer's own document | {c['primary']} |",
        f"| copy — the issuer's document on another site | {c['copy']} |",
        f"| secondary — a report by someone else | {c['secondary']} |",
        f"| unclassified (must be 0) | {c['unclassified']} |",
        "",
        f"## Rules with a version resting only on secondary reports ({len(report.secondary_only_rules)})",
        "",
    ]
    lines += [f"- `{rid}`" for rid in report.secondary_only_rules] or ["- none"]
    lines += [
        "",
        f"## Stale: current version last verified more than {STALE_AFTER_DAYS} days ago ({len(report.stale)})",
        "",
    ]
    lines += [f"- `{rid}`" for rid in report.stale] or ["- none"]
    lines += [
        "",
        "## Unknowns by program (rules whose current version establishes nothing)",
        "",
        "| program (layer) | rules |",
        "|---|---|",
    ]
    lines += [f"| {layer} | {n} |" for layer, n in report.unknown_by_program.items()] or ["| none | 0 |"]
    lines.append("")
    return "\n".join(lines)
