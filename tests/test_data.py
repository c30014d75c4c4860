"""Every data file passes the strict loader, and every kind of curator mistake is caught with a clear message."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from coverage_lookup.dataset import data_files, load_dataset, read_yaml
from coverage_lookup.errors import DataError
from coverage_lookup.models import RuleFile, model_json_schema_for_data
from tests.conftest import DATA, ROOT, TODAY

DATASET = load_dataset(DATA, today=TODAY, use_cache=False)


def test_whole_dataset_loads() -> None:
    assert len(DATASET.rules) >= 10
    assert {"medicare.ncd_30_3_3", "tricare.acupuncture_exclusion", "veterans_affairs.cih_benefit"} <= set(
        DATASET.rules
    )


@pytest.mark.parametrize("rule_id", sorted(DATASET.rules))
def test_every_version_is_cited_and_verified(rule_id: str) -> None:
    rule = DATASET.rules[rule_id].rule
    for version in rule.versions:
        assert version.citations, f"{rule_id} {version.effective}: no citation"
        for c in version.citations:
            assert c.url.startswith("http") and c.title and c.section
            assert c.retrieved <= TODAY
        assert version.last_verified <= TODAY
        for prov in version.provisions:
            if prov.outcome == "unknown":
                assert prov.unknown is not None and prov.unknown.searched


def _dates_as_text(value: Any) -> Any:
    """A plain YAML load with its dates written back as text (the strict reader keeps them text)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    return value


SPECIAL_FILES = {
    "conditions.yaml": {"title", "conditions"},
    "codes/icd10cm_changes.yaml": {"title", "changes"},
    "sources.yaml": {"title", "sources"},
    "vocabulary.yaml": {"title", "coverage", "payers"},
}


@pytest.mark.parametrize("path", data_files(DATA), ids=lambda p: str(p.relative_to(DATA)))
def test_every_file_parses_strictly(path: Path) -> None:
    rel = path.relative_to(DATA).as_posix()
    assert path.suffix == ".yaml", "the loader reads .yaml files only"
    parsed = read_yaml(path)
    assert isinstance(parsed, dict)
    # Nothing is lost or changed against a plain YAML parse, and dates stay text for pydantic.
    assert parsed == _dates_as_text(yaml.safe_load(path.read_text(encoding="utf-8")))
    keys = set(parsed)
    if rel in SPECIAL_FILES:
        assert keys == SPECIAL_FILES[rel]
        return
    folder = rel.split("/")[0]
    assert folder in {"federal", "payers", "state_policies"}, rel
    assert {"title", "rules"} <= keys <= {"title", "description", "state", "payer", "rules"}
    assert isinstance(parsed["rules"], dict)
    assert parsed["rules"] or folder == "payers"  # a payer may be listed before any policy is found
    assert ("payer" in keys) is (folder == "payers")
    if folder != "payers":  # a regional payer policy names its state too
        assert ("state" in keys) is (folder == "state_policies")
    if folder == "state_policies":
        assert parsed["state"] == path.stem


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "schema" / "rule-file.schema.json").read_text(encoding="utf-8"))
    assert committed == model_json_schema_for_data(), (
        "regenerate: coverage-lookup schema > schema/rule-file.schema.json"
    )


def test_schema_accepts_every_rule_file() -> None:
    rule_files = [
        p.relative_to(DATA).as_posix()
        for p in data_files(DATA)
        if p.relative_to(DATA).as_posix() not in SPECIAL_FILES
    ]
    assert len(rule_files) >= 70
    assert DATASET.unavailable == {}
    assert sorted(DATASET.files) == rule_files  # no rule file left out of the load
    total = 0
    for rel in rule_files:
        raw = read_yaml(DATA / rel)
        rf = RuleFile.model_validate(raw)
        assert list(rf.rules) == list(raw["rules"]), rel  # every rule, in the file's order
        stem = Path(rel).stem.lower()
        loaded = sorted(rid for rid, lr in DATASET.rules.items() if lr.file == rel)
        assert loaded == sorted(f"{stem}.{key}" for key in raw["rules"]), rel
        for key, rule in rf.rules.items():
            assert len(rule.versions) == len(raw["rules"][key]["versions"]), f"{rel}: {key}"
        total += len(raw["rules"])
    assert total == len(DATASET.rules)


# --- curator mistakes -------------------------------------------------------------------------

GOOD_RULE = """\
title: Test program
rules:
  basic:
    title: A test rule
    layer: tricare
    aspect: both
    scope:
      coverage: [tricare]
    versions:
      - effective: 2020-01-01
        effective_basis: sourced
        effective_note: the policy's stated effective date
        last_verified: 2026-11-01
        summary: test
        citations:
          - url: https://example.gov/policy
            title: Example policy
            section: section 1
            retrieved: 2026-11-01
            kind: primary
            issuer: Example Agency
        provisions:
          - id: all
            outcome: not_covered
            summary: not covered
"""


def make_data(tmp_path: Path, text: str, name: str = "federal/test.yaml") -> Path:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA / "conditions.yaml", data / "conditions.yaml")
    (data / "codes").mkdir()
    shutil.copy(DATA / "codes" / "icd10cm_changes.yaml", data / "codes" / "icd10cm_changes.yaml")
    target = data / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return data


def problems(tmp_path: Path, text: str, name: str = "federal/test.yaml") -> str:
    with pytest.raises(DataError) as err:
        load_dataset(make_data(tmp_path, text, name), today=TODAY, use_cache=False)
    return str(err.value)


def test_good_fixture_loads(tmp_path: Path) -> None:
    ds = load_dataset(make_data(tmp_path, GOOD_RULE), today=TODAY, use_cache=False)
    assert list(ds.rules) == ["test.basic"]


MUTATIONS: list[tuple[str, Callable[[str], str], str]] = [
    (
        "duplicate key",
        lambda t: t.replace("    aspect: both\n", "    aspect: both\n    aspect: both\n"),
        "duplicate key 'aspect'",
    ),
    (
        "unknown key",
        lambda t: t.replace("    aspect: both\n", "    aspect: both\n    colour: red\n"),
        "rules.basic.colour: Extra inputs are not permitted",
    ),
    (
        "bad date",
        lambda t: t.replace("effective: 2020-01-01", "effective: 2020-13-01"),
        "rules.basic.versions[0].effective",
    ),
    (
        "no citation",
        lambda t: (
            t[: t.index("        citations:")]
            + "        citations: []\n"
            + t[t.index("        provisions:") :]
        ),
        "citations: List should have at least 1 item",
    ),
    (
        "future verification",
        lambda t: t.replace("last_verified: 2026-11-01", "last_verified: 2027-01-01"),
        "last_verified: 2027-01-01 is in the future",
    ),
    (
        "unknown condition",
        lambda t: t.replace(
            "          - id: all\n", "          - id: all\n            conditions: [hiccups]\n"
        ),
        "unknown condition 'hiccups'",
    ),
    ("bad layer", lambda t: t.replace("layer: tricare", "layer: tricar"), "rules.basic.layer"),
    (
        "bad coverage",
        lambda t: t.replace("coverage: [tricare]", "coverage: [tricare, martian]"),
        "scope.coverage[1]",
    ),
    (
        "unknown without note",
        lambda t: t.replace("outcome: not_covered", "outcome: unknown"),
        "needs an 'unknown' note",
    ),
    (
        "versions out of order",
        lambda t: (
            t.replace("        provisions:\n", "        provisions:\n", 1)
            + t[t.index("      - effective") :].replace("2020-01-01", "2019-01-01").replace("\n", "\n", 0)
        ),
        "increasing 'effective' order",
    ),
    (
        "bad procedure",
        lambda t: t.replace("coverage: [tricare]", "coverage: [tricare]\n      procedures: ['99213']"),
        "unknown procedure codes",
    ),
    (
        "state layer outside a state file",
        lambda t: t.replace("layer: tricare", "layer: state_medicaid"),
        "belong in a state file",
    ),
    ("not yaml", lambda t: t + "  : : :\n\t- ]", "test.yaml"),
]


@pytest.mark.parametrize(("label", "mutate", "expected"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_mistakes_are_reported_with_file_and_key(
    tmp_path: Path, label: str, mutate: Callable[[str], str], expected: str
) -> None:
    text = mutate(GOOD_RULE)
    assert text != GOOD_RULE, label
    message = problems(tmp_path, text)
    assert expected in message
    assert "federal/test.yaml" in message or "test.yaml" in message


def test_invalid_icd_code_in_condition_set(tmp_path: Path) -> None:
    data = make_data(tmp_path, GOOD_RULE)
    cond = yaml.safe_load((data / "conditions.yaml").read_text())
    cond["conditions"]["migraine"]["codes"] = ["G43", "M54.5Q"]
    (data / "conditions.yaml").write_text(yaml.safe_dump(cond), encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_dataset(data, today=TODAY, use_cache=False)
    assert "conditions.migraine.codes: 'M54.5Q' is not an ICD-10-CM code" in str(err.value)


def test_state_file_must_match_its_name(tmp_path: Path) -> None:
    text = (
        GOOD_RULE.replace("title: Test program\n", "title: Test\nstate: CA\n")
        .replace("layer: tricare", "layer: state_medicaid")
        .replace("[tricare]", "[medicaid]")
    )
    message = problems(tmp_path, text, name="state_policies/OR.yaml")
    assert "state: must be 'OR'" in message


def test_cache_is_invalidated_by_an_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVERAGE_LOOKUP_CACHE", str(tmp_path / "cache"))
    data = make_data(tmp_path, GOOD_RULE)
    first = load_dataset(data, today=TODAY)
    assert first.rules["test.basic"].rule.title == "A test rule"
    again = load_dataset(data, today=TODAY)  # served from the cache
    assert again.rules["test.basic"].rule.title == "A test rule"
    path = data / "federal" / "test.yaml"
    path.write_text(GOOD_RULE.replace("A test rule", "An edited rule"), encoding="utf-8")
    assert load_dataset(data, today=TODAY).rules["test.basic"].rule.title == "An edited rule"


def test_corrupt_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVERAGE_LOOKUP_CACHE", str(tmp_path / "cache"))
    data = make_data(tmp_path, GOOD_RULE)
    load_dataset(data, today=TODAY)
    for f in (tmp_path / "cache").iterdir():
        f.write_bytes(b"not a pickle")
    assert "test.basic" in load_dataset(data, today=TODAY).rules


def test_today_is_injectable() -> None:
    with pytest.raises(DataError):
        load_dataset(DATA, today=date(2026, 1, 1), use_cache=False)  # data verified after that "today"


def test_generated_rules_doc_is_current() -> None:
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
