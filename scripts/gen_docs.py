"""Generate docs/rules.md (the rule table) from the data; ``--check`` fails when the file is out of date."""

from __future__ import annotations

import sys
from pathlib import Path

from coverage_lookup.dataset import load_dataset

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "rules.md"


def render() -> str:
    ds = load_dataset(ROOT / "data", use_cache=False)
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
            out.append(f"- **from {v.effective.isoformat()}**: {v.summary}")
            for c in v.citations:
                out.append(f"    - [{c.title}]({c.url}) — {c.section} (retrieved {c.retrieved.isoformat()})")
        out.append("")
    return "\n".join(out)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print("docs/rules.md is out of date: run python scripts/gen_docs.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
