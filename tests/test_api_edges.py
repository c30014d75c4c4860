"""The API's normalisation at its edges, each test aimed at a way the code could quietly go wrong
(found by mutation testing): condition names in every spelling, close-match thresholds, a Query with
its own data folder, and warnings for the parts of a partial load that bear on a question."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverage_lookup import InputError, Query, check
from coverage_lookup.api import get_dataset, normalize_condition
from coverage_lookup.dataset import condition_key
from coverage_lookup.vocabulary import read_payer
from tests.conftest import TODAY
from tests.test_engine_synthetic import Data, provision, rule


@pytest.fixture
def data(tmp_path: Path) -> Data:
    return Data(tmp_path)


class TestConditionNames:
    def test_every_alias_in_every_spelling_names_its_set(self) -> None:
        ds = get_dataset()
        for name, cset in ds.conditions.items():
            for alias in [name, cset.label, *cset.aliases]:
                spellings = {
                    alias,
                    alias.upper(),
                    alias.replace(" ", "_"),
                    alias.replace(" ", "-"),
                    alias.replace("-", " "),
                    "  " + alias.replace(" ", "  ") + " ",
                }
                for spelling in spellings:
                    assert normalize_condition(ds, spelling) == name, spelling

    def test_hyphenated_aliases_are_accepted(self) -> None:
        # These were refused with a "did you mean" naming the very text typed.
        ds = get_dataset()
        assert normalize_condition(ds, "tension-type headache") == "tension_headache"
        assert normalize_condition(ds, "Post-operative nausea") == "postoperative_nausea"
        assert normalize_condition(ds, "chemotherapy-induced nausea and vomiting") == "chemotherapy_nausea"
        assert normalize_condition(ds, "cancer-related pain") == "cancer_pain"

    def test_the_key_ignores_case_hyphens_underscores_and_spaces(self) -> None:
        assert condition_key("  Tension-Type__Headache ") == "tension type headache"

    def test_a_near_miss_is_refused_with_the_closest_name(self) -> None:
        with pytest.raises(InputError) as e:
            normalize_condition(get_dataset(), "sciatika")
        assert e.value.field == "condition"
        assert e.value.hint == "did you mean 'sciatica'?"
        assert "chronic_low_back_pain" in e.value.valid and "tmd" in e.value.valid

    def test_nothing_close_is_refused_without_a_guess(self) -> None:
        with pytest.raises(InputError) as e:
            normalize_condition(get_dataset(), "qqqq zzzz")
        assert e.value.hint is None
        assert e.value.valid.startswith("use one of cancer_pain, chemotherapy_nausea")


class TestPayerNames:
    def test_a_close_spelling_is_set_aside_with_the_known_payer_named(self, data: Data) -> None:
        data.payer("acme", policy=rule("payer_policy", ["large_group"], provision("covered")))
        data.payer("zenith", policy=rule("payer_policy", ["large_group"], provision("covered")))
        r = read_payer(get_dataset(data.root), "acmee")  # similarity 0.89
        assert (r.id, r.known) == (None, False)
        assert r.warnings == [
            "payer not recognised: 'acmee'; the answer is for the coverage without a payer's own policy "
            "(close matches: Acme)"
        ]

    def test_an_unknown_name_never_becomes_an_id(self, data: Data) -> None:
        data.payer("acme", policy=rule("payer_policy", ["large_group"], provision("covered")))
        ds = get_dataset(data.root)
        far = read_payer(ds, "Qqqq Zzzz Health")
        assert (far.id, far.known) == (None, False)
        assert far.warnings == [
            "payer not recognised: 'Qqqq Zzzz Health'; the answer is for the coverage without a payer's own policy"
        ]
        known = read_payer(ds, " ACME  PPO ")
        assert (known.id, known.known, known.plan_type) == ("acme", True, "PPO")

    def test_an_empty_payer_is_refused(self, data: Data) -> None:
        with pytest.raises(InputError) as e:
            read_payer(get_dataset(data.root), "  ")
        assert e.value.valid == "give a payer's name as on the card, e.g. Aetna or 'BCBS of Texas'"


class TestQueryObjects:
    def test_a_query_answers_from_the_data_folder_given_with_it(self, data: Data) -> None:
        data.state("CA", medicaid=rule("state_medicaid", ["medicaid"], provision("not_covered")))
        q = Query(coverage="medicaid", state="CA", condition="sciatica", service_date="2024-03-01")
        d = check(q, data_dir=data.root, today=TODAY)
        assert d.status == "not_covered"
        assert d.benefit.decided_by == ["ca.medicaid"]
        assert check(q, today=TODAY).status == "covered"  # the real data: Medi-Cal covers chronic pain


class TestPartialLoads:
    """A broken rule file is left out of the load; answers it could bear on say so, others do not."""

    @staticmethod
    def _broken(data: Data, rel: str) -> None:
        path = data.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("title: [unclosed\n", encoding="utf-8")

    @staticmethod
    def _warned(d: object, rel: str) -> list[str]:
        return [w for w in d.warnings if f"data/{rel}" in w]  # type: ignore[attr-defined]

    def test_a_broken_state_file_is_named_for_its_state_only(self, data: Data) -> None:
        data.state("NY", medicaid=rule("state_medicaid", ["medicaid"], provision("covered")))
        self._broken(data, "state_policies/CA.yaml")
        ca = check("medicaid", state="CA", condition="sciatica", data_dir=data.root, today=TODAY)
        [warning] = self._warned(ca, "state_policies/CA.yaml")
        assert warning.startswith(
            "part of the dataset could not be read and is left out of this answer: data/state_policies/CA.yaml ("
        )
        assert warning.endswith("); run coverage-lookup validate for every problem")
        assert "state_policies/CA.yaml:" not in warning  # the file name is not repeated inside the brackets
        ny = check("medicaid", state="NY", condition="sciatica", data_dir=data.root, today=TODAY)
        assert self._warned(ny, "state_policies/CA.yaml") == []

    def test_a_broken_payer_file_is_named_only_for_a_payer_not_recognised(self, data: Data) -> None:
        data.payer("zenith", policy=rule("payer_policy", ["large_group"], provision("covered")))
        self._broken(data, "payers/acme.yaml")
        kw = {"condition": "sciatica", "state": "TX", "data_dir": data.root, "today": TODAY}
        acme = check("large_group", payer="acme", **kw)  # type: ignore[arg-type]
        assert len(self._warned(acme, "payers/acme.yaml")) == 1
        zenith = check("large_group", payer="zenith", **kw)  # type: ignore[arg-type]
        assert self._warned(zenith, "payers/acme.yaml") == []
        nobody = check("large_group", **kw)  # type: ignore[arg-type]
        assert self._warned(nobody, "payers/acme.yaml") == []

    def test_a_broken_federal_file_is_named_on_every_answer(self, data: Data) -> None:
        data.state("NY", medicaid=rule("state_medicaid", ["medicaid"], provision("covered")))
        self._broken(data, "federal/medicare.yaml")
        d = check("medicaid", state="NY", condition="sciatica", data_dir=data.root, today=TODAY)
        assert len(self._warned(d, "federal/medicare.yaml")) == 1
