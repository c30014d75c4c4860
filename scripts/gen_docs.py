"""Generate the documentation pages that come from the data or the code; ``--check`` fails (exit 1)
when any of them is out of date, and writes nothing.

- docs/rules.md (the rule table), docs/states.md (the state table), docs/quality.md (evidence quality);
- docs/maps.md and docs/img/map-*.svg: the Medicaid and state-law tile maps (scripts/docs_maps.py);
- docs/cli.md: the CLI reference from the argparse parser (scripts/docs_cli.py);
- docs/schema.md and docs/schema/rule-file.schema.json: the JSON Schema of a rule file.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from coverage_lookup.cli import build_parser
from coverage_lookup.curation.quality import quality, render
from coverage_lookup.dataset import Dataset, load_dataset
from coverage_lookup.registry import PROGRAMS, counts, state_statuses
from coverage_lookup.render import citation_label
from coverage_lookup.states import state_name
from docs_cli import render_cli
from docs_maps import MEDICAID_MAP, STATE_LAW_MAP, categories, render_map, render_maps_page

ROOT = Path(__file__).resolve().parent.parent
RULES_DOC = ROOT / "docs" / "rules.md"
STATES_DOC = ROOT / "docs" / "states.md"
QUALITY_DOC = ROOT / "docs" / "quality.md"
MAPS_DOC = ROOT / "docs" / "maps.md"
CLI_DOC = ROOT / "docs" / "cli.md"
SCHEMA_DOC = ROOT / "docs" / "schema.md"
SCHEMA_SOURCE = ROOT / "schema" / "rule-file.schema.json"
SCHEMA_COPY = ROOT / "docs" / "schema" / "rule-file.schema.json"
IMG = ROOT / "docs" / "img"
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


def map_files(ds: Dataset, on: date) -> dict[Path, str]:
    """docs/img/map-*.svg and docs/maps.md (the same SVG inline), for the rules in effect on ``on``."""
    cats = categories(ds, on)
    specs = [MEDICAID_MAP, STATE_LAW_MAP]
    svgs = {spec.key: render_map(spec, cats[spec.key], on) for spec in specs}
    files = {IMG / f"map-{key}.svg": svg for key, svg in svgs.items()}
    files[MAPS_DOC] = render_maps_page([(s, svgs[s.key], cats[s.key]) for s in specs], on)
    return files


def render_schema(schema_text: str) -> str:
    """A page describing the JSON Schema of a rule file: each object, its properties and what is required."""
    schema = json.loads(schema_text)
    out = [
        "# JSON Schema of a rule file",
        "",
        "Generated from `schema/rule-file.schema.json` (itself `coverage-lookup schema`, regenerated by",
        "`make schema`) by `scripts/gen_docs.py` — do not edit by hand. Download it:",
        "[rule-file.schema.json](schema/rule-file.schema.json). Point your editor's YAML language server",
        "at it, e.g. with a first line `# yaml-language-server: $schema=../../schema/rule-file.schema.json`.",
        "How the fields are used is in [the data model](data-model.md); the loader checks more than the",
        "schema can say (dates in order, citations present, conditions that exist).",
        "",
    ]

    def kind(prop: dict[str, object]) -> str:
        if "$ref" in prop:
            name = str(prop["$ref"]).rsplit("/", 1)[-1]
            return f"[{name}](#{name.lower()})"
        if "enum" in prop:
            return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])  # type: ignore[attr-defined]
        if "const" in prop:
            return f"`{prop['const']}`"
        for combo in ("anyOf", "oneOf", "allOf"):
            if combo in prop:
                return " or ".join(kind(p) for p in prop[combo])  # type: ignore[attr-defined]
        t = prop.get("type", "any")
        if t == "array" and isinstance(prop.get("items"), dict):
            return f"list of {kind(prop['items'])}"  # type: ignore[arg-type]
        if t == "object" and isinstance(prop.get("additionalProperties"), dict):
            return f"map of {kind(prop['additionalProperties'])}"  # type: ignore[arg-type]
        if t == "object" and isinstance(prop.get("patternProperties"), dict):
            (pattern, value), *_ = prop["patternProperties"].items()  # type: ignore[attr-defined]
            return f"map of {kind(value)} (keys matching `{pattern}`)"
        fmt = f" ({prop['format']})" if "format" in prop else ""
        return f"{t}{fmt}"

    def section(name: str, obj: dict[str, object]) -> list[str]:
        lines = [f"## {name}", ""]
        if obj.get("description"):
            lines += [str(obj["description"]).strip(), ""]
        props = obj.get("properties")
        if not isinstance(props, dict):
            return [*lines, f"Type: {kind(obj)}.", ""]
        required = set(obj.get("required", []))  # type: ignore[call-overload]
        lines += ["| field | type | required | description |", "|---|---|---|---|"]
        for field, prop in props.items():
            desc = str(prop.get("description", "")).replace("|", "\\|").replace("\n", " ")
            typ = kind(prop).replace("|", "\\|")
            lines.append(f"| `{field}` | {typ} | {'yes' if field in required else ''} | {desc} |")
        return [*lines, ""]

    out += section(str(schema.get("title", "RuleFile")), schema)
    for name, obj in sorted(schema.get("$defs", {}).items()):
        out += section(name, obj)
    return "\n".join(out)


def generated(on: date | None = None) -> dict[Path, str]:
    """Every generated file and its expected text."""
    on = on or date.today()  # as `coverage-lookup states` does: the rule in effect today
    ds = load_dataset(ROOT / "data", use_cache=False)
    # The quality page is dated by the data (its newest last_verified), not the clock, so it changes
    # only when the data does.
    as_of = max(v.last_verified for lr in ds.rules.values() for v in lr.rule.versions)
    schema_text = SCHEMA_SOURCE.read_text(encoding="utf-8")
    return {
        RULES_DOC: render_rules(ds),
        STATES_DOC: render_states(ds),
        QUALITY_DOC: render(quality(ds, as_of), for_docs=True),
        CLI_DOC: render_cli(build_parser()),
        SCHEMA_DOC: render_schema(schema_text),
        SCHEMA_COPY: schema_text,
        **map_files(ds, on),
    }


def main() -> int:
    docs = generated()
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
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
