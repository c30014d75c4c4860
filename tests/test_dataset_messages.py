"""What a curator reads when a data file is wrong, word for word (file, line and column, the key path, the
problem, the value found and the fix), and the small parts of the dataset the engine relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverage_lookup.dataset import Plain, default_data_dir, load_dataset
from coverage_lookup.errors import DataError
from tests.conftest import DATA
from tests.test_engine_synthetic import Data, provision, rule


def test_each_problem_in_a_rule_file_is_one_line_with_its_place_value_and_fix(tmp_path: Path) -> None:
    data = Data(tmp_path)
    bad = rule("tricare", ["tricare"], provision("covered"))
    bad["colour"] = "blue"  # not a field
    del bad["title"]  # required
    bad["aspect"] = "everything"  # not one of the values
    version = bad["versions"][0]
    version["effective"] = "2015-13-01"  # not a date
    prov = version["provisions"][0]
    prov["requirements"] = [{"kind": "chronicity", "text": "long-standing"}]  # a model check: needs weeks
    prov["limits"] = [{"visits": "many", "per": "calendar_year"}]  # a type no fix is listed for
    data.federal("t", a=bad)
    (data.root / "federal" / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_dataset(data.root)
    assert e.value.problems == [
        "federal/list.yaml:1:1: (top level): Input should be a valid dictionary or instance of RuleFile",
        "federal/t.yaml:3:3: rules.a.title: Field required — add it",
        "federal/t.yaml:5:5: rules.a.aspect: Input should be 'benefit', 'medical_necessity' or 'both' (got "
        "'everything') — use one of the listed values",
        "federal/t.yaml:10:7: rules.a.versions[0].effective: Input should be a valid date or datetime, month "
        "value is outside expected range of 1-12 (got '2015-13-01') — write the date as YYYY-MM-DD",
        "federal/t.yaml:27:11: rules.a.versions[0].provisions[0].requirements[0]: a 'chronicity' requirement "
        "needs 'weeks' (e.g. weeks: 12)",
        "federal/t.yaml:30:11: rules.a.versions[0].provisions[0].limits[0].visits: Input should be a valid "
        "integer, unable to parse string as an integer (got 'many')",
        "federal/t.yaml:32:5: rules.a.colour: Extra inputs are not permitted (got 'blue') — remove it or check "
        "its spelling against schema/rule-file.schema.json",
    ]


def test_a_plain_record_shows_its_fields() -> None:
    assert repr(Plain(id="a", visits=12)) == "Plain(id='a', visits=12)"


def test_payers_are_the_payer_files_ids_and_names(tmp_path: Path) -> None:
    data = Data(tmp_path)
    data.federal("t", a=rule("tricare", ["tricare"], provision("covered")))
    data.payer(
        "acme", p=rule("payer_policy", ["individual"], provision("covered"), aspect="medical_necessity")
    )
    assert load_dataset(data.root).payers() == {"acme": "Acme"}


def test_the_data_folder_can_be_chosen_by_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COVERAGE_LOOKUP_DATA", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("COVERAGE_LOOKUP_DATA")
    assert default_data_dir() == DATA  # a source checkout: the repository's data/
