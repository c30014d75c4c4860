"""Generate docs/rules.md (the rule table) and docs/states.md (the state coverage table) from the data;
``--check`` fails when either file is out of date."""

from __future__ import annotations

import sys
from pathlib import Path

from coverage_lookup.curation.quality import quality, render
from coverage_lookup.dataset import Dataset, load_dataset
from coverage_lookup.registry import PROGRAMS, counts, state_statuses
from coverage_lookup.render import citation_label
from coverage_lookup.states import state_name

ROOT = Path(__file__).resolve().parent.parent
RULES_DOC = ROOT / "docs" / "rules.md"
STATES_DOC = ROOT / "docs" / "states.md"
QUALITY_DOC = ROOT / "docs" / "quality.md"
PROGRAM_LABELS = {
    "medicaid": "Medicaid (adults)",
    "state_law": "State insurance law",
    "ehb_benchmark": "EHB benchmark",
    "workers_comp": "Workers' compensation",
}


def render_states(ds: Dataset) -> str:
    statuses = state_statuses(ds)
    total = counts(statuses)
    out = [
        "# Coverage by state",
        "",
        "Generated from `data/state_policies/` by `scripts/gen_docs.py` — do not edit by hand; a test fails",
        "when this table and the data disagree. Each cell: what the rule in effect today says for adults,",
        "the date that version took effect, and when it was last verified. **unknown** means the dataset",
        "has no researched answer yet (the rule's note says what was searched).",
        "",
        "Researched: " + ", ".join(f"{PROGRAM_LABELS[n]} {total[n]}/{len(statuses)}" for n in PROGRAMS) + ".",
        "",
        "| state | " + " | ".join(PROGRAM_LABELS[n] for n in PROGRAMS) + " |",
        "|---|" + "---|" * len(PROGRAMS),
    ]
    for s in statuses:
        cells = []
        for n in PROGRAMS:
            p = s.programs[n]
            if not p.rules:
                cells.append("**unknown** (no rule)")
                continue
            text = p.headline if p.research == "researched" else "**unknown**"
            since = f" since {p.effective.isoformat()}" if p.effective else ""
            asof = f"; verified {p.as_of.isoformat()}" if p.as_of else ""
            cells.append(f"{text}{since}{asof}")
        out.append(f"| {s.state} — {state_name(s.state)} | " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)


def render_rules(ds: Dataset) -> str:
    out = [
        "# Rules in the dataset",
        "",
        "Generated from `data/` by `scripts/gen_docs.py` — do not edit by hand; a test fails when it is stale.",
        "",
        "| rule | layer | coverage | versions (effective) | outcomes | last verified |",
        "|---|---|---|---|---|---|",
    ]
    for rid, lr in sorted(ds.rules.items()):
        rule = lr.rule
        versions = ", ".join(
            v.effective.isoformat() + (" (retired)" if v.retired else "") for v in rule.versions
        )
        outcomes = ", ".join(sorted({p.outcome for v in rule.versions for p in v.provisions}))
        verified = max(v.last_verified for v in rule.versions).isoformat()
        out.append(
            f"| `{rid}` — {rule.title} | {rule.layer} | {', '.join(rule.scope.coverage)} | {versions} "
            f"| {outcomes} | {verified} |"
        )
    out += ["", "## Sources", ""]
    for rid, lr in sorted(ds.rules.items()):
        out.append(f"### `{rid}`")
        out.append("")
        for v in lr.rule.versions:
            basis = "start unknown, evidenced from" if v.effective_basis == "evidenced_from" else "from"
            out.append(f"- **{basis} {v.effective.isoformat()}**: {v.summary}")
            for c in v.citations:
                out.append(
                    f"    - [{citation_label(c)}]({c.url}) — {c.section} (retrieved {c.retrieved.isoformat()})"
                )
        out.append("")
    return "\n".join(out)


def main() -> int:
    ds = load_dataset(ROOT / "data", use_cache=False)
    # The quality page is dated by the data (its newest last_verified), not the clock, so it changes
    # only when the data does.
    as_of = max(v.last_verified for lr in ds.rules.values() for v in lr.rule.versions)
    docs = {
        RULES_DOC: render_rules(ds),
        STATES_DOC: render_states(ds),
        QUALITY_DOC: render(quality(ds, as_of), for_docs=True),
    }
    stale = False
    for target, text in docs.items():
        if "--check" in sys.argv:
            current = target.read_text(encoding="utf-8") if target.exists() else ""
            if current != text:
                print(
                    f"{target.relative_to(ROOT)} is out of date: run python scripts/gen_docs.py",
                    file=sys.stderr,
                )
                stale = True
            continue
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
