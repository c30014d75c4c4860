"""Two tile-grid maps of the states for the documentation, drawn as plain, accessible SVG.

Each state's category comes from the same code path as ``coverage-lookup states --json``
(:func:`coverage_lookup.registry.state_statuses`): the Medicaid map shows the program's headline as
that command prints it; the state-law map refines the state-law status into the kind of law, reading
the rules the registry lists for the state (see :func:`law_kind`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

from coverage_lookup.dataset import Dataset
from coverage_lookup.registry import (
    BENEFIT_MANDATE,
    MANDATED_OFFER,
    NONE_FOUND,
    OTHER_LAW,
    PROVIDER,
    StateStatus,
    state_statuses,
)
from coverage_lookup.states import state_name

# A common US tile-grid layout: (column, row) of each jurisdiction.
TILES: dict[str, tuple[int, int]] = {
    "AK": (0, 0), "ME": (10, 0),
    "VT": (9, 1), "NH": (10, 1),
    "WA": (0, 2), "ID": (1, 2), "MT": (2, 2), "ND": (3, 2), "MN": (4, 2), "IL": (5, 2), "WI": (6, 2),
    "MI": (7, 2), "NY": (8, 2), "RI": (9, 2), "MA": (10, 2),
    "OR": (0, 3), "NV": (1, 3), "WY": (2, 3), "SD": (3, 3), "IA": (4, 3), "IN": (5, 3), "OH": (6, 3),
    "PA": (7, 3), "NJ": (8, 3), "CT": (9, 3),
    "CA": (0, 4), "UT": (1, 4), "CO": (2, 4), "NE": (3, 4), "MO": (4, 4), "KY": (5, 4), "WV": (6, 4),
    "VA": (7, 4), "MD": (8, 4), "DE": (9, 4),
    "AZ": (1, 5), "NM": (2, 5), "KS": (3, 5), "AR": (4, 5), "TN": (5, 5), "NC": (6, 5), "SC": (7, 5),
    "DC": (8, 5),
    "OK": (3, 6), "LA": (4, 6), "MS": (5, 6), "AL": (6, 6), "GA": (7, 6),
    "HI": (0, 7), "TX": (3, 7), "FL": (8, 7),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Category:
    label: str  # the words shown in the legend and in each state's title
    mark: str  # a short mark drawn on each tile, so that the map does not rely on colour alone
    fill: str  # Okabe-Ito palette (colour-blind safe); grey for unknown


# Medicaid: the headlines `coverage-lookup states` prints (registry._headline), most to least open.
MEDICAID: dict[str, Category] = {
    "covered": Category("covered", "C", "#009E73"),
    "covered for some indications": Category("covered for some indications", "S", "#56B4E9"),
    "depends on the plan": Category("depends on the plan", "D", "#F0E442"),
    "depends; otherwise not covered": Category("depends; otherwise not covered", "P", "#E69F00"),
    "not covered": Category("not covered", "N", "#D55E00"),
    "unknown": Category("unknown (not yet researched)", "?", "#DDDDDD"),
}

UNKNOWN = "unknown"
STATE_LAW: dict[str, Category] = {
    BENEFIT_MANDATE: Category("benefit mandate (plans must cover it)", "M", "#009E73"),
    MANDATED_OFFER: Category("mandated offer (insurers must offer it)", "O", "#56B4E9"),
    PROVIDER: Category(
        "provider non-discrimination (licensed acupuncturists paid when covered)", "P", "#CC79A7"
    ),
    OTHER_LAW: Category("other law on acupuncture (no coverage requirement)", "L", "#F0E442"),
    NONE_FOUND: Category("no law found after searching", "–", "#FFFFFF"),
    UNKNOWN: Category("unknown (not established)", "?", "#BBBBBB"),
}
# Provision ids the curators use for "no state law found after searching" (docs/curators.md).


def medicaid_category(status: StateStatus) -> str:
    """The Medicaid map's category: the headline `coverage-lookup states` prints for adults."""
    return status.programs["medicaid"].headline


@dataclass(frozen=True, slots=True)
class MapSpec:
    key: str  # used in element ids and file names
    title: str
    desc: str
    categories: dict[str, Category]


MEDICAID_MAP = MapSpec(
    "medicaid",
    "Medicaid acupuncture coverage for adults, by state",
    "Tile map: one square per state and DC, in a rough geographic layout. Each square shows the state's "
    "code and a mark for its category; the legend lists the categories in words with their counts. "
    "Generated from data/state_policies/ with the rule in effect on {on}.",
    MEDICAID,
)
STATE_LAW_MAP = MapSpec(
    "state-law",
    "State insurance law on acupuncture, by kind, by state",
    "Tile map: one square per state and DC, in a rough geographic layout. Each square shows the state's "
    "code and a mark for the kind of state insurance law on acupuncture; the legend lists the kinds in "
    "words with their counts. Generated from data/state_policies/ with the rule in effect on {on}.",
    STATE_LAW,
)


def categories(ds: Dataset, on: date) -> dict[str, dict[str, str]]:
    """``{map key: {state code: category}}`` for both maps, from :func:`state_statuses`."""
    statuses = state_statuses(ds, on)
    return {
        MEDICAID_MAP.key: {s.state: medicaid_category(s) for s in statuses},
        STATE_LAW_MAP.key: {s.state: s.programs["state_law"].kind or UNKNOWN for s in statuses},
    }


def state_title(code: str, spec: MapSpec, category: str) -> str:
    """The text of a state's ``<title>``: its name and its category in words."""
    return f"{state_name(code)} ({code}): {spec.categories[category].label}"


def _text_colour(fill: str) -> str:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    lum = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    # Contrast against black (lum + .05)/.05 vs against white 1.05/(lum + .05): pick the larger.
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#FFFFFF"


TILE, GAP, PAD = 46, 4, 8


def render_map(spec: MapSpec, by_state: dict[str, str], on: date) -> str:
    """The SVG of one map. ``by_state``: state code -> category key of ``spec.categories``."""
    unknown = set(by_state) - set(TILES)
    if unknown or len(by_state) != len(TILES):
        raise ValueError(f"tile layout and data disagree: {sorted(unknown ^ (set(TILES) - set(by_state)))}")
    cols = 1 + max(c for c, _ in TILES.values())
    rows = 1 + max(r for _, r in TILES.values())
    grid_w = cols * (TILE + GAP)
    legend_top = PAD + rows * (TILE + GAP) + 12
    legend_row = 24
    height = legend_top + legend_row * len(spec.categories) + PAD
    width = PAD * 2 + grid_w
    tid, did = f"map-{spec.key}-title", f"map-{spec.key}-desc"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{tid} {did}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="sans-serif" class="state-map">',
        f'<title id="{tid}">{escape(spec.title)}</title>',
        f'<desc id="{did}">{escape(spec.desc.format(on=on.isoformat()))}</desc>',
        '<g class="tiles">',
    ]
    for code in sorted(by_state):
        col, row = TILES[code]
        cat = spec.categories[by_state[code]]
        x, y = PAD + col * (TILE + GAP), PAD + row * (TILE + GAP)
        ink = _text_colour(cat.fill)
        out += [
            f'<g class="state" data-state="{code}" data-category="{escape(by_state[code])}">',
            f'<rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" rx="4" fill="{cat.fill}" '
            f'stroke="#444444" stroke-width="1"><title>{escape(state_title(code, spec, by_state[code]))}'
            "</title></rect>",
            f'<text x="{x + TILE / 2:g}" y="{y + 19}" text-anchor="middle" font-size="14" font-weight="bold" '
            f'fill="{ink}" pointer-events="none" aria-hidden="true">{code}</text>',
            f'<text x="{x + TILE / 2:g}" y="{y + 37}" text-anchor="middle" font-size="13" '
            f'fill="{ink}" pointer-events="none" aria-hidden="true">{escape(cat.mark)}</text>',
            "</g>",
        ]
    out += ["</g>", f'<g class="legend" transform="translate({PAD},{legend_top})">']
    for i, (key, cat) in enumerate(spec.categories.items()):
        n = sum(1 for c in by_state.values() if c == key)
        y = i * legend_row
        ink = _text_colour(cat.fill)
        out += [
            f'<rect x="0" y="{y}" width="20" height="20" rx="3" fill="{cat.fill}" stroke="#444444"/>',
            f'<text x="10" y="{y + 15}" text-anchor="middle" font-size="13" fill="{ink}" aria-hidden="true">'
            f"{escape(cat.mark)}</text>",
            f'<text x="28" y="{y + 15}" font-size="13" fill="currentColor">{escape(cat.label)}: '
            f"{n} {'jurisdiction' if n == 1 else 'jurisdictions'}</text>",
        ]
    out += ["</g>", "</svg>", ""]
    return "\n".join(out)


def render_maps_page(spec_svgs: list[tuple[MapSpec, str, dict[str, str]]], on: date) -> str:
    """docs/maps.md: both maps inline (so each state's title shows on hover) and the same data as lists."""
    out = [
        "# Maps by state",
        "",
        "Generated from `data/state_policies/` by `scripts/gen_docs.py` — do not edit by hand; `make docs`",
        f"fails when these maps and the data disagree. Each map reads the rule in effect on {on.isoformat()},",
        "classified as `coverage-lookup states --json` reports it ([the table](states.md) has the details).",
        "Hover over or focus a square for the state's name and status; the lists below each map say the",
        "same in words. The files are also in `docs/img/`.",
        "",
    ]
    for spec, svg, by_state in spec_svgs:
        out += [f"## {spec.title}", "", '<figure class="state-map" markdown="0">']
        out += [line for line in svg.splitlines() if line.strip()]
        out += ["</figure>", ""]
        for key, cat in spec.categories.items():
            codes = sorted(c for c, k in by_state.items() if k == key)
            listed = ", ".join(f"{state_name(c)} ({c})" for c in codes) if codes else "none"
            out.append(f"- **{cat.label}** ({len(codes)}): {listed}")
        out.append("")
    out += [
        "## How the state-law kinds are read",
        "",
        "The registry gives each state's state-law status (researched or unknown) and headline; the kind",
        "of law is read from the rules it lists for the state, as [the data model](data-model.md) says each",
        "finding is written: a `covered` outcome is a **benefit mandate**; a rule keyed `state_law_offer` a",
        "**mandated offer**; one keyed `state_law_provider`, or a provision naming the licensed",
        "acupuncturist, **provider non-discrimination**; provisions `no_law_found` or `plan_decides` only,",
        "**no law found**; any other researched law (such as cost-sharing parity or a pain-management access",
        "plan) **other law**. Self-funded employer plans are outside all of these (ERISA; see",
        "[Concepts](concepts.md#erisa-and-self-funded-plans)).",
        "",
    ]
    return "\n".join(out)
