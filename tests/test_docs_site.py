"""The documentation site's generated parts: the state maps agree with the data, the CLI reference covers
the parser, and ``scripts/gen_docs.py --check`` passes."""

from __future__ import annotations

import argparse
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from coverage_lookup.cli import build_parser
from coverage_lookup.dataset import load_dataset
from coverage_lookup.registry import BENEFIT_MANDATE, RESEARCHED, state_statuses
from coverage_lookup.states import state_codes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
try:
    import docs_maps
finally:
    sys.path.pop(0)

SVG = "{http://www.w3.org/2000/svg}"
SPECS = [docs_maps.MEDICAID_MAP, docs_maps.STATE_LAW_MAP]
DATASET = load_dataset(ROOT / "data", use_cache=False)


def _svg(key: str) -> ET.Element:
    return ET.parse(ROOT / "docs" / "img" / f"map-{key}.svg").getroot()


def _tiles(root: ET.Element) -> dict[str, tuple[str, str]]:
    """state code -> (data-category, the text of its shape's <title>); fails on a state drawn twice."""
    out: dict[str, tuple[str, str]] = {}
    for g in root.iter(f"{SVG}g"):
        code = g.get("data-state")
        if code is None:
            continue
        assert code not in out, f"{code} drawn twice"
        rect = g.find(f"{SVG}rect")
        assert rect is not None
        title = rect.find(f"{SVG}title")
        assert title is not None and title.text, f"{code} has no <title>"
        out[code] = (g.get("data-category", ""), title.text)
    return out


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_map_agrees_with_the_data(spec: docs_maps.MapSpec) -> None:
    expected = docs_maps.categories(DATASET, date.today())[spec.key]
    tiles = _tiles(_svg(spec.key))
    assert set(tiles) == set(state_codes()) and len(tiles) == 51
    for code, (category, title) in tiles.items():
        assert category == expected[code], code
        assert title == docs_maps.state_title(code, spec, expected[code])
        assert spec.categories[category].label in title


def test_map_categories_follow_the_registry() -> None:
    """The same code path as `coverage-lookup states --json`: headline for Medicaid, research status for law."""
    cats = docs_maps.categories(DATASET, date.today())
    for s in state_statuses(DATASET, date.today()):
        assert cats["medicaid"][s.state] == s.programs["medicaid"].headline
        law = s.programs["state_law"]
        assert cats["state-law"][s.state] == law.kind  # the kind `states --json` reports
        assert (cats["state-law"][s.state] == docs_maps.UNKNOWN) == (law.research != RESEARCHED)
        if law.headline in {"covered", "covered for some indications"}:
            assert cats["state-law"][s.state] == BENEFIT_MANDATE


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_map_is_accessible(spec: docs_maps.MapSpec) -> None:
    root = _svg(spec.key)
    assert root.get("role") == "img"
    ids = (root.get("aria-labelledby") or "").split()
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None and title.text and desc.text
    assert ids == [title.get("id"), desc.get("id")]
    legend = [
        t.text or "" for g in root.iter(f"{SVG}g") if g.get("class") == "legend" for t in g.iter(f"{SVG}text")
    ]
    for cat in spec.categories.values():  # every category in words, not colour alone
        assert any(line.startswith(cat.label + ":") for line in legend), cat.label
    # The maps page carries the same SVG inline (each state's title shows on hover there).
    page = (ROOT / "docs" / "maps.md").read_text(encoding="utf-8")
    assert f'aria-labelledby="{" ".join(ids)}"' in page


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append(((*path, name), sub))
                out += _commands(sub, (*path, name))
    return out


def test_cli_reference_covers_every_command_and_option() -> None:
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    commands = _commands(build_parser())
    assert {p[0] for p, _ in commands} >= {"check", "states", "verify", "refresh", "batch", "plans", "serve"}
    for path, sub in commands:
        assert f"`coverage-lookup {' '.join(path)}`" in page, path
        section = page.split(f"`coverage-lookup {' '.join(path)}`", 1)[1]
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in section, (path, option)


def test_gen_docs_check_passes() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
