"""What a curator reads when a data file is wrong, word for word (file, line and column, the key path, the
problem, the value found and the fix), and the small parts of the dataset the engine relies on."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from coverage_lookup import dataset as dataset_module
from coverage_lookup.dataset import CacheWarning, Plain, cache_dir, default_data_dir, load_dataset, name_key
from coverage_lookup.errors import DataError
from tests.conftest import DATA, TODAY
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


def test_the_packaged_data_is_preferred_to_the_repositorys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An installed wheel carries its data beside the package; a source checkout reads ../../data."""
    monkeypatch.delenv("COVERAGE_LOOKUP_DATA", raising=False)
    package = tmp_path / "site" / "coverage_lookup"
    package.mkdir(parents=True)
    monkeypatch.setattr(dataset_module, "__file__", str(package / "dataset.py"))
    assert default_data_dir() == tmp_path / "data"  # nothing packaged: the checkout's data/
    (package / "data").mkdir()
    assert default_data_dir() == package / "data"


def test_the_cache_lives_under_xdg_cache_home_or_the_home_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("COVERAGE_LOOKUP_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "coverage_lookup"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "coverage_lookup"
    monkeypatch.setenv("COVERAGE_LOOKUP_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def test_problems_without_the_files_bytes_name_the_file_alone() -> None:
    from pydantic import ValidationError

    from coverage_lookup.models import RuleFile

    with pytest.raises(ValidationError) as e:
        RuleFile.model_validate({"title": "t", "rules": {}, "state": 7})
    assert dataset_module._validation_problems(Path("federal/t.yaml"), e.value) == [
        "federal/t.yaml: state: Input should be a valid string (got 7)"
    ]


@pytest.mark.parametrize("layer", ["state_medicaid", "state_law", "ehb_benchmark", "workers_comp"])
def test_state_layers_outside_a_state_file_are_refused(tmp_path: Path, layer: str) -> None:
    data = Data(tmp_path)
    data.federal("t", a=rule(layer, ["individual"], provision("covered")))
    ds = load_dataset(data.root, use_cache=False, strict=False)
    assert ds.unavailable == {
        "federal/t.yaml": [
            f"federal/t.yaml: rules.a.layer: {layer!r} rules belong in a state file (data/state_policies/XX.yaml)"
        ]
    }


CITATION = {
    "url": "https://cms.gov/ICD10/03_ICD-10andVersion5010ComplianceTimelines.asp",
    "title": "CMS — ICD-10",
    "section": "code files",
    "retrieved": "2026-11-24",
    "kind": "primary",
    "issuer": "Centers for Medicare & Medicaid Services",
}


def history(data: Data, *changes: dict[str, Any]) -> None:
    doc = {
        "title": "history",
        "changes": [
            {"label": "update", "citations": [CITATION], "last_verified": "2026-11-24", **c} for c in changes
        ],
    }
    data.write("codes/icd10cm_changes.yaml", doc)


def add_condition(data: Data, name: str, codes: list[str], last_verified: str = "2026-11-24") -> None:
    path = data.root / "conditions.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["conditions"][name] = {
        "description": "a test set",
        "label": name.title(),
        "codes": codes,
        "citations": [CITATION],
        "last_verified": last_verified,
    }
    data.write("conditions.yaml", doc)


class TestCodes:
    def test_a_condition_may_name_a_code_only_the_history_knows(self, tmp_path: Path) -> None:
        """M54.99 is in no index (a made-up code standing for a deleted one); its deletion is recorded."""
        data = Data(tmp_path)
        history(data, {"effective": "2016-10-01", "deleted": ["M54.99"]})
        add_condition(data, "old_back", ["M54.99"])
        assert load_dataset(data.root, use_cache=False).conditions["old_back"].codes == ["M54.99"]

    def test_a_code_added_then_deleted_later_needs_no_current_entry(self, tmp_path: Path) -> None:
        data = Data(tmp_path)
        history(
            data,
            {"effective": "2016-10-01", "added": ["M54.99"]},
            {"effective": "2018-10-01", "deleted": ["M54.99"]},
        )
        assert len(load_dataset(data.root, use_cache=False).code_history) == 2

    def test_a_code_added_and_never_deleted_must_be_in_the_index(self, tmp_path: Path) -> None:
        data = Data(tmp_path)
        history(
            data,
            {"effective": "2018-10-01", "deleted": ["M54.99"]},  # deleted BEFORE it was added: no help
            {"effective": "2019-10-01", "added": ["M54.99"]},
        )
        with pytest.raises(DataError) as e:
            load_dataset(data.root, use_cache=False)
        assert e.value.problems == [
            "codes/icd10cm_changes.yaml: changes[1].added: M54.99 is not in the current index and no later "
            "deletion is recorded"
        ]

    @pytest.mark.parametrize("raw", ["m54.5", "M54.5 ", " M54.5", "M54.5x"])
    def test_codes_are_written_in_upper_case_without_spaces(self, tmp_path: Path, raw: str) -> None:
        data = Data(tmp_path)
        add_condition(data, "typed", [raw])
        with pytest.raises(DataError) as e:
            load_dataset(data.root, use_cache=False)
        assert e.value.problems == [
            f"conditions.yaml: conditions.typed.codes: {raw!r} — write ICD-10-CM codes in upper case without spaces"
        ]

    def test_an_unknown_code_with_no_near_miss_offers_none(self, tmp_path: Path) -> None:
        data = Data(tmp_path)
        add_condition(data, "typed", ["Q99.99", "M54.98"])
        with pytest.raises(DataError) as e:
            load_dataset(data.root, use_cache=False)
        assert e.value.problems == [
            "conditions.yaml: conditions.typed.codes: 'Q99.99' is not an ICD-10-CM code in the index or the "
            "tracked history",
            "conditions.yaml: conditions.typed.codes: 'M54.98' is not an ICD-10-CM code in the index or the "
            "tracked history — did you mean M54.89?",
        ]


def test_a_coverage_name_given_twice_names_the_stateless_entry_plainly(tmp_path: Path) -> None:
    data = Data(tmp_path)
    data.write(
        "vocabulary.yaml",
        {
            "title": "names",
            "coverage": [
                {"names": ["Medicaid card"], "coverage": "medicaid"},
                {"names": ["medicaid  CARD"], "coverage": "medicaid", "state": "CA"},
            ],
        },
    )
    ds = load_dataset(data.root, use_cache=False, strict=False)
    assert ds.vocabulary is None
    assert ds.unavailable["vocabulary.yaml"] == [
        "vocabulary.yaml: coverage[1].names: 'medicaid  CARD' is also a name for medicaid/ — make it unique"
    ]


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("Blue Cross & Blue Shield", "blue cross and blue shield"),
        ("Blue Cross&Blue Shield of Texas", "blue cross and blue shield of texas"),
        ("Workers' Comp", "workers comp"),
        ("  UHC_Community-Plan ", "uhc community plan"),
    ],
)
def test_names_compare_without_case_punctuation_or_ampersands(written: str, key: str) -> None:
    assert name_key(written) == key


class TestCache:
    @pytest.fixture
    def data(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        monkeypatch.setenv("COVERAGE_LOOKUP_CACHE", str(tmp_path / "cache"))
        return DATA

    def test_the_cached_dataset_keeps_the_vocabulary(
        self, data: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fresh = load_dataset(data, strict=False)
        assert fresh.vocabulary is not None

        def no_rebuild(_snap: Any) -> Any:
            raise AssertionError("the cache was not used")

        monkeypatch.setattr(dataset_module, "_load_uncached", no_rebuild)
        cached = load_dataset(data, strict=False)
        assert cached.vocabulary is not None
        assert cached.vocabulary.coverage[0].names == fresh.vocabulary.coverage[0].names
        assert [p.id for p in cached.vocabulary.payers] == [p.id for p in fresh.vocabulary.payers]

    def test_foreign_content_is_named_in_the_warning(self, data: Path, tmp_path: Path) -> None:
        load_dataset(data, strict=False)
        (path,) = (tmp_path / "cache").glob("dataset-*.bin")
        raw = path.read_bytes()
        payload = pickle.dumps(["not", "a", "dataset"])
        h = dataset_module._hasher()
        h.update(payload)
        path.write_bytes(raw[:42] + h.digest() + len(payload).to_bytes(8, "big") + payload)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load_dataset(data, strict=False)
        (w,) = [w for w in caught if issubclass(w.category, CacheWarning)]
        assert str(w.message) == f"dataset cache {path} is unusable (unexpected content); rebuilding it"


def test_files_under_schema_are_not_data(tmp_path: Path) -> None:
    data = Data(tmp_path)
    data.federal("t", a=rule("tricare", ["tricare"], provision("covered")))
    (data.root / "schema").mkdir()
    (data.root / "schema" / "rule-file.schema.json").write_text("{}", encoding="utf-8")
    (data.root / "schema" / "example.yaml").write_text("not: a rule file\n", encoding="utf-8")
    ds = load_dataset(data.root, use_cache=False)
    assert (sorted(ds.files), ds.unavailable) == (["federal/t.yaml"], {})


def test_a_file_with_a_problem_does_not_stop_the_files_after_it(tmp_path: Path) -> None:
    data = Data(tmp_path)
    data.federal("a_bad", x=rule("state_law", ["individual"], provision("covered")))
    data.federal("b_good", y=rule("tricare", ["tricare"], provision("covered")))
    ds = load_dataset(data.root, use_cache=False, strict=False)
    assert (sorted(ds.files), sorted(ds.unavailable)) == (["federal/b_good.yaml"], ["federal/a_bad.yaml"])
    assert sorted(ds.rules) == ["b_good.y"]


def test_dates_in_the_future_are_named_by_their_full_key(tmp_path: Path) -> None:
    data = Data(tmp_path)
    future = rule("tricare", ["tricare"], provision("covered"))
    future["versions"][0]["last_verified"] = "2027-01-02"
    data.federal("t", **{"ncd.30.3": future})
    add_condition(data, "later", ["M54.50"], last_verified="2027-01-03")
    with pytest.raises(DataError) as e:
        load_dataset(data.root, today=TODAY, use_cache=False)
    assert e.value.problems == [
        "conditions.yaml: conditions.later.last_verified: 2027-01-03 is in the future — use the date it happened",
        "federal/t.yaml: rules.ncd.30.3.versions[0].last_verified: 2027-01-02 is in the future — use the date it "
        "happened",
    ]


def test_a_cache_cut_inside_its_header_is_not_a_dataset_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVERAGE_LOOKUP_CACHE", str(tmp_path / "cache"))
    load_dataset(DATA, strict=False)
    (path,) = (tmp_path / "cache").glob("dataset-*.bin")
    path.write_bytes(path.read_bytes()[:50])  # the magic is right; the rest of the header is gone
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_dataset(DATA, strict=False)
    assert [str(w.message) for w in caught if issubclass(w.category, CacheWarning)] == [
        f"dataset cache {path} is unusable (not a dataset cache); rebuilding it"
    ]
