"""The combination rules the engine's docstring promises, pinned on small hand-built datasets:
decide / grant / fallback layers, specificity within a layer (plan > payer > state > national; a named
indication over a catch-all), ties to the more restrictive outcome, the most generous grant, and the
strictness order of the final status. A property test checks the invariants on random rule sets."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage_lookup import Determination, check
from coverage_lookup.engine import STRICTNESS
from tests.conftest import DATA, TODAY, examples

CITE = {
    "url": "https://example.gov/rule",
    "title": "Example rule",
    "section": "1",
    "retrieved": "2026-11-01",
    "kind": "primary",
    "issuer": "Example Agency",
}
UNKNOWN_NOTE = {"missing": "what the rule says", "searched": "everything"}


def provision(outcome: str, conditions: list[str] | None = None, pid: str = "p") -> dict[str, Any]:
    p: dict[str, Any] = {"id": pid, "outcome": outcome, "summary": f"{outcome} ({pid})"}
    if conditions is not None:
        p["conditions"] = conditions
    if outcome == "unknown":
        p["unknown"] = UNKNOWN_NOTE
    return p


def rule(
    layer: str, coverage: list[str], *provisions: dict[str, Any], aspect: str = "both", **scope: Any
) -> dict[str, Any]:
    return {
        "title": f"{layer} rule",
        "layer": layer,
        "aspect": aspect,
        "scope": {"coverage": coverage, **scope},
        "versions": [
            {
                "effective": "2015-01-01",
                "effective_basis": "sourced",
                "effective_note": "test",
                "last_verified": "2026-11-01",
                "summary": "test",
                "citations": [CITE],
                "provisions": list(provisions),
            }
        ],
    }


class Data:
    """A data directory built file by file: federal files, state files and payer files."""

    def __init__(self, root: Path) -> None:
        self.root = root / "data"
        (self.root / "codes").mkdir(parents=True)
        shutil.copy(DATA / "conditions.yaml", self.root / "conditions.yaml")
        shutil.copy(DATA / "codes" / "icd10cm_changes.yaml", self.root / "codes" / "icd10cm_changes.yaml")

    def write(self, rel: str, doc: dict[str, Any]) -> Data:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return self

    def federal(self, name: str, **rules: dict[str, Any]) -> Data:
        return self.write(f"federal/{name}.yaml", {"title": name, "rules": rules})

    def state(self, code: str, **rules: dict[str, Any]) -> Data:
        return self.write(f"state_policies/{code}.yaml", {"title": code, "state": code, "rules": rules})

    def payer(self, pid: str, **rules: dict[str, Any]) -> Data:
        doc = {"title": pid, "payer": {"id": pid, "name": pid.title()}, "rules": rules}
        return self.write(f"payers/{pid}.yaml", doc)

    def ask(self, **kw: Any) -> Determination:
        kw.setdefault("service_date", "2024-03-01")
        kw.setdefault("condition", "chronic low back pain")
        return check(data_dir=self.root, today=TODAY, **kw)


@pytest.fixture
def data(tmp_path: Path) -> Data:
    return Data(tmp_path)


class TestDecideAndFallback:
    def test_a_state_medicaid_rule_outranks_the_federal_baseline(self, data: Data) -> None:
        data.federal("base", floor=rule("medicaid_baseline", ["medicaid"], provision("not_covered")))
        data.state("CA", medicaid=rule("state_medicaid", ["medicaid"], provision("covered")))
        d = data.ask(coverage="medicaid", state="CA")
        assert d.status == "covered"
        assert d.benefit.decided_by == ["ca.medicaid"]

    def test_the_fallback_speaks_when_no_state_is_named(self, data: Data) -> None:
        data.federal("base", floor=rule("medicaid_baseline", ["medicaid"], provision("not_covered")))
        d = data.ask(coverage="medicaid")
        assert d.status == "conditional"  # the state decides; the baseline only says what holds without it
        assert d.benefit.decided_by == ["base.floor"]
        assert any("state" in m for m in d.missing)

    def test_a_named_state_without_its_rule_is_unknown_not_the_baseline(self, data: Data) -> None:
        data.federal("base", floor=rule("medicaid_baseline", ["medicaid"], provision("covered")))
        data.state("CA", medicaid=rule("state_medicaid", ["medicaid"], provision("covered")))
        d = data.ask(coverage="medicaid", state="NY")
        assert d.status == "unknown"
        assert any("NY" in m for m in d.missing)

    def test_a_plan_rule_outranks_the_payer_policy(self, data: Data) -> None:
        data.payer(
            "acme",
            policy=rule(
                "payer_policy", ["large_group"], provision("not_covered"), aspect="medical_necessity"
            ),
            plan=rule("plan", ["large_group"], provision("covered"), plan_id="acme-gold"),
        )
        with_plan = data.ask(coverage="large_group", payer="acme", plan_id="acme-gold")
        assert with_plan.benefit.status == "covered" and with_plan.benefit.decided_by == ["acme.plan"]
        assert with_plan.medical_necessity.decided_by == ["acme.policy"]
        assert with_plan.status == "not_covered"  # the stricter aspect decides the whole answer


class TestGrantLayers:
    def test_the_most_generous_grant_counts(self, data: Data) -> None:
        data.state(
            "TX",
            state_law=rule("state_law", ["individual"], provision("conditional"), aspect="benefit"),
            ehb_benchmark=rule("ehb_benchmark", ["individual"], provision("covered"), aspect="benefit"),
        )
        d = data.ask(coverage="individual", state="TX")
        assert d.benefit.status == "covered"
        assert d.benefit.decided_by == ["tx.ehb_benchmark"]

    def test_a_not_covered_grant_does_not_close_what_another_grants(self, data: Data) -> None:
        data.state(
            "TX",
            state_law=rule("state_law", ["individual"], provision("covered"), aspect="benefit"),
            ehb_benchmark=rule("ehb_benchmark", ["individual"], provision("not_covered"), aspect="benefit"),
        )
        assert data.ask(coverage="individual", state="TX").benefit.status == "covered"

    def test_an_unknown_grant_is_the_least_generous(self, data: Data) -> None:
        data.state(
            "TX",
            state_law=rule("state_law", ["individual"], provision("not_covered"), aspect="benefit"),
            ehb_benchmark=rule("ehb_benchmark", ["individual"], provision("unknown"), aspect="benefit"),
        )
        assert data.ask(coverage="individual", state="TX").benefit.status == "not_covered"


class TestSpecificity:
    def test_a_named_indication_beats_a_catch_all_in_the_same_layer(self, data: Data) -> None:
        data.federal(
            "t",
            broad=rule("tricare", ["tricare"], provision("covered")),
            named=rule("tricare", ["tricare"], provision("not_covered", ["chronic_low_back_pain"])),
        )
        assert data.ask(coverage="tricare").status == "not_covered"
        assert data.ask(coverage="tricare", condition="migraine").status == "covered"

    def test_a_named_provision_beats_a_catch_all_even_if_more_generous(self, data: Data) -> None:
        data.federal(
            "t",
            broad=rule("tricare", ["tricare"], provision("not_covered")),
            named=rule("tricare", ["tricare"], provision("covered", ["chronic_low_back_pain"])),
        )
        d = data.ask(coverage="tricare")
        assert d.status == "covered"
        assert any(t.rule == "t.broad" and t.decision == "outranked" for t in d.trace)

    def test_a_state_rule_beats_a_national_rule_in_the_same_layer(self, data: Data) -> None:
        data.federal("t", national=rule("tricare", ["tricare"], provision("covered")))
        data.state("CA", local=rule("tricare", ["tricare"], provision("conditional")))
        assert data.ask(coverage="tricare", state="CA").status == "conditional"
        assert data.ask(coverage="tricare", state="NY").status == "covered"

    def test_a_payer_rule_beats_a_national_rule_in_the_same_layer(self, data: Data) -> None:
        data.federal("ma", national=rule("ma_supplemental", ["medicare_advantage"], provision("conditional")))
        data.payer("acme", notice=rule("ma_supplemental", ["medicare_advantage"], provision("covered")))
        assert data.ask(coverage="medicare_advantage", payer="acme").benefit.decided_by == ["acme.notice"]
        assert data.ask(coverage="medicare_advantage").benefit.decided_by == ["ma.national"]

    def test_a_plan_rule_beats_a_payer_rule_in_the_same_layer(self, data: Data) -> None:
        data.payer(
            "acme",
            general=rule("ma_supplemental", ["medicare_advantage"], provision("not_covered")),
            gold=rule(
                "ma_supplemental", ["medicare_advantage"], provision("conditional"), plan_id="H1234-001"
            ),
        )
        d = data.ask(coverage="medicare_advantage", payer="acme", plan_id="H1234-001")
        assert d.benefit.decided_by == ["acme.gold"]
        assert d.benefit.status == "conditional"


class TestTies:
    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            ("covered", "conditional", "conditional"),
            ("covered", "not_covered", "not_covered"),
            ("conditional", "unknown", "unknown"),
            ("unknown", "not_covered", "not_covered"),
        ],
    )
    def test_a_tie_in_one_layer_keeps_the_more_restrictive(
        self, data: Data, a: str, b: str, expected: str
    ) -> None:
        data.federal(
            "t",
            one=rule("tricare", ["tricare"], provision(a, ["chronic_low_back_pain"])),
            two=rule("tricare", ["tricare"], provision(b, ["chronic_low_back_pain"])),
        )
        assert data.ask(coverage="tricare").status == expected


class TestFinalStatus:
    @pytest.mark.parametrize(
        ("benefit", "necessity", "expected"),
        [
            ("covered", "covered", "covered"),
            ("covered", "conditional", "conditional"),
            ("unknown", "conditional", "unknown"),
            ("unknown", "covered", "unknown"),
            ("unknown", "not_covered", "not_covered"),
            ("not_covered", "covered", "not_covered"),
            ("conditional", "not_covered", "not_covered"),
        ],
    )
    def test_the_stricter_aspect_decides(
        self, data: Data, benefit: str, necessity: str, expected: str
    ) -> None:
        data.state(
            "TX", ehb_benchmark=rule("ehb_benchmark", ["individual"], provision(benefit), aspect="benefit")
        )
        data.payer(
            "acme",
            policy=rule(
                "payer_policy", ["individual"], provision(necessity, ["chronic_low_back_pain"]),
                aspect="medical_necessity",
            ),
        )  # fmt: skip
        d = data.ask(coverage="individual", state="TX", payer="acme")
        assert (d.benefit.status, d.medical_necessity.status, d.status) == (benefit, necessity, expected)

    def test_a_payer_policy_that_says_unknown_falls_back_to_the_answer_without_the_payer(
        self, data: Data
    ) -> None:
        data.state(
            "TX", ehb_benchmark=rule("ehb_benchmark", ["individual"], provision("covered"), aspect="benefit")
        )
        data.payer(
            "acme",
            policy=rule("payer_policy", ["individual"], provision("unknown"), aspect="medical_necessity"),
        )
        with_payer = data.ask(coverage="individual", state="TX", payer="acme")
        without = data.ask(coverage="individual", state="TX")
        assert with_payer.status == without.status == "conditional"
        assert with_payer.medical_necessity.decided_by == []


# --- invariants on random rule sets -------------------------------------------------------------

OUTCOMES = ["covered", "conditional", "not_covered", "unknown"]
CONDITIONS = [None, ["chronic_low_back_pain"], ["sciatica"], ["chronic_low_back_pain", "sciatica"]]
rules_st = st.lists(st.tuples(st.sampled_from(OUTCOMES), st.sampled_from(CONDITIONS)), min_size=1, max_size=4)
SETTINGS = settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def tricare_dataset(root: Path, rules: list[tuple[str, list[str] | None]]) -> Data:
    data = Data(root)
    data.federal(
        "t", **{f"r{i}": rule("tricare", ["tricare"], provision(o, c)) for i, (o, c) in enumerate(rules)}
    )
    return data


@SETTINGS
@given(
    rules=rules_st,
    extra=st.sampled_from(CONDITIONS),
    condition=st.sampled_from(["chronic low back pain", "sciatica"]),
)
def test_adding_a_not_covered_rule_to_a_decide_layer_never_makes_an_answer_more_generous(
    tmp_path_factory: pytest.TempPathFactory, rules: list[tuple[str, list[str] | None]],
    extra: list[str] | None, condition: str,
) -> None:  # fmt: skip
    before = tricare_dataset(tmp_path_factory.mktemp("a"), rules).ask(coverage="tricare", condition=condition)
    after = tricare_dataset(tmp_path_factory.mktemp("b"), [*rules, ("not_covered", extra)]).ask(
        coverage="tricare", condition=condition
    )
    assert STRICTNESS[after.status] >= STRICTNESS[before.status], (before.status, after.status)


@SETTINGS
@given(
    law=st.sampled_from(OUTCOMES),
    ehb=st.sampled_from(OUTCOMES),
    condition=st.sampled_from(["chronic low back pain", "migraine"]),
)
def test_adding_a_grant_layer_never_makes_the_benefit_less_generous(
    tmp_path_factory: pytest.TempPathFactory, law: str, ehb: str, condition: str
) -> None:
    generosity = {"covered": 3, "conditional": 2, "not_covered": 1, "unknown": 0}

    def benefit(**rules: dict[str, Any]) -> str:
        data = Data(tmp_path_factory.mktemp("g")).state("TX", **rules)
        return data.ask(coverage="individual", state="TX", condition=condition).benefit.status

    alone = benefit(state_law=rule("state_law", ["individual"], provision(law), aspect="benefit"))
    both = benefit(
        state_law=rule("state_law", ["individual"], provision(law), aspect="benefit"),
        ehb_benchmark=rule("ehb_benchmark", ["individual"], provision(ehb), aspect="benefit"),
    )
    assert generosity[both] >= generosity[alone], (law, ehb, alone, both)


class TestProvisionMatching:
    def test_a_provision_for_some_procedures_applies_to_those_only(self, data: Data) -> None:
        needling = provision("not_covered", None, "needling")
        needling["procedures"] = ["20560", "20561"]
        data.federal("t", a=rule("tricare", ["tricare"], needling, provision("covered", None, "rest")))
        assert data.ask(coverage="tricare", procedure="20560").benefit.summary == "not_covered (needling)"
        assert data.ask(coverage="tricare", procedure="97810").benefit.summary == "covered (rest)"

    @pytest.mark.parametrize(
        ("age", "expected"), [(17, "young"), (18, "young"), (19, "adult"), (64, "adult"), (65, "old")]
    )
    def test_age_bounds_are_inclusive(self, data: Data, age: int, expected: str) -> None:
        young = provision("covered", None, "young")
        young["age"] = {"max": 18}
        adult = provision("conditional", None, "adult")
        adult["age"] = {"min": 19, "max": 64}
        data.federal("t", a=rule("tricare", ["tricare"], young, adult, provision("not_covered", None, "old")))
        assert data.ask(coverage="tricare", age=age).benefit.summary.split("(")[1].rstrip(")") == expected

    def test_a_provision_that_depends_on_age_needs_the_age(self, data: Data) -> None:
        young = provision("covered", None, "young")
        young["age"] = {"max": 18}
        data.federal("t", a=rule("tricare", ["tricare"], young, provision("not_covered", None, "rest")))
        d = data.ask(coverage="tricare")
        assert d.benefit.summary == "not_covered (rest)"

    def test_an_excluding_condition_named_by_the_question_defeats_the_provision(self, data: Data) -> None:
        clbp = provision("covered", ["chronic_low_back_pain", "sciatica"], "back")
        clbp["excluding"] = ["pregnancy"]
        data.federal("t", a=rule("tricare", ["tricare"], clbp, provision("not_covered", None, "rest")))
        assert data.ask(coverage="tricare", condition="sciatica").benefit.summary == "covered (back)"
        assert data.ask(coverage="tricare", condition="pregnancy").benefit.summary == "not_covered (rest)"
        with_pregnancy = data.ask(coverage="tricare", condition=None, diagnosis=["M54.50", "Z34.90"])
        assert with_pregnancy.status == "not_covered"  # the pregnancy code on the claim defeats 'back'
        assert data.ask(coverage="tricare", condition=None, diagnosis=["M54.50"]).status == "covered"


class TestScopeRanks:
    def test_a_state_rule_beats_a_stricter_national_rule(self, data: Data) -> None:
        data.federal("t", national=rule("tricare", ["tricare"], provision("not_covered")))
        data.state("CA", local=rule("tricare", ["tricare"], provision("covered")))
        assert data.ask(coverage="tricare", state="CA").status == "covered"

    def test_a_payer_rule_beats_a_stricter_state_rule(self, data: Data) -> None:
        data.state("CA", local=rule("ma_supplemental", ["medicare_advantage"], provision("not_covered")))
        data.payer("acme", notice=rule("ma_supplemental", ["medicare_advantage"], provision("conditional")))
        d = data.ask(coverage="medicare_advantage", state="CA", payer="acme")
        assert d.benefit.decided_by == ["acme.notice"]

    def test_each_outranked_rule_is_reported_once(self, data: Data) -> None:
        data.federal(
            "t",
            broad=rule("tricare", ["tricare"], provision("not_covered")),
            named=rule("tricare", ["tricare"], provision("covered", ["chronic_low_back_pain"])),
        )
        d = data.ask(coverage="tricare")
        assert [(t.rule, t.decision) for t in d.trace if t.rule == "t.broad"] == [("t.broad", "outranked")]
        assert [(t.rule, t.decision) for t in d.trace if t.rule == "t.named"] == [("t.named", "applied")]
