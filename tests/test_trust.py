"""Answers people can trust (issue 9): the wrong answers found by trying the product as its users would,
each pinned by a test, plus the evidence span of every answer and the kinds of its sources.

Where a case is about a mechanism rather than one data file, it is pinned twice: on the real data (the
case users met) and on a small synthetic dataset (so the mechanism stays right whatever the data)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from coverage_lookup import Determination, InputError, Query, check
from coverage_lookup.dataset import load_dataset
from coverage_lookup.render import card, citation_label, host
from tests.conftest import DATA, TODAY


def ask(**kw: Any) -> Determination:
    kw.setdefault("today", TODAY)
    return check(**kw)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coverage_lookup.cli", *args], capture_output=True, text=True, check=False
    )


# --- a small synthetic dataset -----------------------------------------------------------------

CITE = {
    "url": "https://example.gov/policy",
    "title": "Example policy",
    "section": "1",
    "retrieved": "2026-11-01",
    "kind": "primary",
    "issuer": "Example Agency",
}


def version(effective: str, provisions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    v: dict[str, Any] = {
        "effective": effective,
        "effective_basis": extra.pop("basis", "sourced"),
        "effective_note": "test",
        "last_verified": "2026-11-01",
        "summary": "test version",
        "citations": extra.pop("citations", [CITE]),
        "provisions": provisions,
    }
    v.update(extra)
    return v


def synthetic(tmp_path: Path, versions: list[dict[str, Any]], layer: str = "tricare") -> Path:
    """A data directory holding one rule (``syn.rule``) for TRICARE, with the real condition sets."""
    data = tmp_path / "data"
    (data / "codes").mkdir(parents=True)
    (data / "federal").mkdir()
    shutil.copy(DATA / "conditions.yaml", data / "conditions.yaml")
    shutil.copy(DATA / "codes" / "icd10cm_changes.yaml", data / "codes" / "icd10cm_changes.yaml")
    doc = {
        "title": "synthetic",
        "rules": {
            "rule": {
                "title": "Synthetic rule",
                "layer": layer,
                "aspect": "both",
                "scope": {"coverage": ["tricare"]},
                "versions": versions,
            }
        },
    }
    (data / "federal" / "syn.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return data


def syn(data: Path, **kw: Any) -> Determination:
    kw.setdefault("coverage", "tricare")
    kw.setdefault("today", TODAY)
    return check(data_dir=data, **kw)


CLBP = {"id": "clbp", "conditions": ["chronic_low_back_pain"], "outcome": "covered", "summary": "covered"}
SCIATICA_UNKNOWN = {
    "id": "sciatica",
    "conditions": ["sciatica"],
    "outcome": "unknown",
    "summary": "not established",
    "unknown": {"missing": "whether sciatica qualifies", "searched": "everything"},
}
OTHER = {"id": "other", "outcome": "not_covered", "summary": "not covered otherwise"}
NO_ACUPUNCTURIST = [
    {"type": "physician"},
    {"type": "licensed_acupuncturist", "may_bill": False, "note": "acupuncturists cannot bill this program"},
]


# --- 1. wrong answers ----------------------------------------------------------------------------


class TestProviderExclusionWhateverTheDiagnosis:
    @pytest.mark.parametrize("provider", ["licensed_acupuncturist", "chiropractor", "physical_therapist"])
    @pytest.mark.parametrize("dx", ["M54.41", "M54.50", "G43.909"])
    def test_medicare_cannot_pay_these_providers_for_any_diagnosis(self, provider: str, dx: str) -> None:
        d = ask(coverage="medicare", diagnosis=dx, provider=provider, service_date="2025-03-01")
        assert d.status == "not_covered", d.summary

    def test_a_physician_still_gets_the_honest_unknown_for_sciatica(self) -> None:
        d = ask(coverage="medicare", diagnosis="M54.41", provider="physician", service_date="2025-03-01")
        assert d.status == "unknown"

    def test_default_provider_with_sciatica_is_not_covered(self) -> None:
        # The case users met: `check --coverage medicare --dx M54.41` (default provider).
        d = ask(coverage="medicare", diagnosis="M54.41", service_date="2025-03-01")
        assert d.provider == "licensed_acupuncturist"
        assert d.status == "not_covered"
        assert "acupuncturist" in d.summary.lower()

    def test_version_wide_exclusion_decides_an_unknown_provision(self, tmp_path: Path) -> None:
        data = synthetic(
            tmp_path, [version("2020-01-01", [CLBP, SCIATICA_UNKNOWN], providers=NO_ACUPUNCTURIST)]
        )
        assert syn(data, diagnosis="M54.41", provider="licensed_acupuncturist").status == "not_covered"
        assert syn(data, diagnosis="M54.41", provider="physician").status == "unknown"
        assert syn(data, diagnosis="M54.50", provider="physician").status == "covered"

    def test_provision_level_exclusion_does_not_reach_other_provisions(self, tmp_path: Path) -> None:
        clbp = {**CLBP, "providers": NO_ACUPUNCTURIST}
        data = synthetic(tmp_path, [version("2020-01-01", [clbp, SCIATICA_UNKNOWN])])
        assert syn(data, diagnosis="M54.50", provider="licensed_acupuncturist").status == "not_covered"
        assert syn(data, diagnosis="M54.41", provider="licensed_acupuncturist").status == "unknown"

    def test_when_excluded_conditional_keeps_another_route_open(self, tmp_path: Path) -> None:
        providers = [
            {"type": "physician"},
            {
                "type": "licensed_acupuncturist",
                "may_bill": False,
                "when_excluded": "conditional",
                "note": "a supplemental benefit may pay",
            },
        ]
        data = synthetic(
            tmp_path, [version("2020-01-01", [CLBP, SCIATICA_UNKNOWN, OTHER], providers=providers)]
        )
        assert syn(data, diagnosis="M54.41", provider="licensed_acupuncturist").status == "conditional"
        # A provision that is not covered stays not covered: an exclusion never opens a benefit.
        assert syn(data, diagnosis="G43.909", provider="licensed_acupuncturist").status == "not_covered"


class TestVisitsBeyondTheLimit:
    def test_medi_cal_past_the_limit_needs_a_tar_not_a_refusal(self) -> None:
        d = ask(coverage="medicaid", state="CA", diagnosis="M54.50", provider="physician", visits_used=3)
        assert d.status == "conditional"
        assert any(r.kind == "prior_authorization" for r in d.requirements)
        assert d.limits and d.limits[0].remaining == 0
        assert d.limits[0].more_with == "prior_authorization"

    def test_within_the_limit_stays_covered(self) -> None:
        d = ask(coverage="medicaid", state="CA", diagnosis="M54.50", provider="physician", visits_used=1)
        assert d.status == "covered"
        assert d.limits[0].remaining == 1

    def test_every_limit_that_approval_can_extend_answers_conditional(self) -> None:
        ds = load_dataset(DATA, today=TODAY, use_cache=False)
        checked = []
        for lr in ds.rules.values():
            v = lr.rule.versions[-1]
            for p in v.provisions:
                for lim in p.limits:
                    if (
                        lim.more_with is None
                        or p.outcome not in {"covered", "conditional"}
                        or not p.conditions
                    ):
                        continue
                    allowed = [x.type for x in (p.providers or v.providers or []) if x.may_bill] or [
                        "physician"
                    ]
                    d = ask(
                        coverage=lr.rule.scope.coverage[0],
                        state=lr.state,
                        payer=lr.payer,
                        condition=p.conditions[0],
                        provider=allowed[0],
                        age=(p.age.min or 0) if p.age else 40,
                        visits_used=lim.visits + (lim.extra_visits_with_improvement or 0) + 5,
                    )
                    applied = {r.id: r for r in d.rules_applied}
                    if lr.id in applied and applied[lr.id].provision == p.id:
                        assert applied[lr.id].outcome == "conditional", (lr.id, d.summary)
                        checked.append(lr.id)
        assert len(checked) >= 3, checked

    def test_a_hard_cap_is_still_exhausted(self, tmp_path: Path) -> None:
        capped = {**CLBP, "limits": [{"visits": 10, "per": "calendar_year"}]}
        extendable = {
            **CLBP,
            "limits": [{"visits": 10, "per": "calendar_year", "more_with": "prior_authorization"}],
        }
        hard = synthetic(tmp_path / "a", [version("2020-01-01", [capped])])
        soft = synthetic(tmp_path / "b", [version("2020-01-01", [extendable])])
        assert syn(hard, diagnosis="M54.50", visits_used=10).status == "not_covered"
        assert syn(hard, diagnosis="M54.50", visits_used=9).status == "covered"
        d = syn(soft, diagnosis="M54.50", visits_used=10)
        assert d.status == "conditional"
        assert [r.kind for r in d.requirements] == ["prior_authorization"]


class TestNonBillableCodes:
    @pytest.mark.parametrize(
        ("code", "child"), [("M54", "M54.00"), ("M54.5", "M54.50"), ("G43.90", "G43.909")]
    )
    def test_categories_are_refused_with_billable_children(self, code: str, child: str) -> None:
        with pytest.raises(InputError) as err:
            ask(coverage="medicare", diagnosis=code, provider="physician", service_date="2024-03-01")
        assert err.value.field == "diagnosis"
        assert "not a billable code" in str(err.value)
        assert child in str(err.value)

    def test_m54_5_was_billable_before_its_split(self) -> None:
        d = ask(coverage="medicare", diagnosis="M54.5", provider="physician", service_date="2021-03-01")
        assert d.diagnoses[0].billable_on_date


class TestConditionWithDiagnosis:
    def test_the_diagnosis_decides_and_a_matching_condition_labels(self) -> None:
        with_condition = ask(
            coverage="medicare",
            diagnosis="M54.50",
            condition="chronic low back pain",
            provider="physician",
            service_date="2024-03-01",
        )
        without = ask(
            coverage="medicare", diagnosis="M54.50", provider="physician", service_date="2024-03-01"
        )
        assert with_condition.status == without.status == "covered"
        assert [x.code for x in with_condition.diagnoses] == ["M54.50"]

    def test_a_contradicting_condition_is_refused(self) -> None:
        with pytest.raises(InputError) as err:
            ask(
                coverage="medicare",
                diagnosis="M54.50",
                condition="sciatica",
                provider="physician",
                service_date="2024-03-01",
            )
        assert err.value.field == "condition"
        assert "M54.50" in str(err.value) and "diagnosis decides" in str(err.value)

    def test_several_diagnoses_with_a_condition_still_use_every_diagnosis(self) -> None:
        d = ask(
            coverage="medicare",
            diagnosis=["M54.41", "M54.50"],
            condition="sciatica",
            provider="physician",
            service_date="2024-03-01",
        )
        assert d.status == "covered"  # M54.50 (chronic low back pain) decides; sciatica only labels


class TestDecisiveEvidenceOnTheCard:
    def test_texas_plan_data_sentence_is_in_the_summary(self) -> None:
        d = ask(coverage="individual", state="TX", diagnosis="M54.50", service_date="2026-03-01")
        ehb = next(r for r in d.rules_applied if r.id == "tx.ehb_benchmark")
        assert "marketplace plan" in ehb.reason
        assert ehb.reason.rstrip(".") in d.summary
        r = cli(
            "check",
            "--coverage",
            "individual",
            "--state",
            "TX",
            "--dx",
            "M54.50",
            "--date",
            "2026-03-01",
            "--json",
        )
        assert ehb.reason.rstrip(".") in json.loads(r.stdout)["summary"]
        text = cli(
            "check", "--coverage", "individual", "--state", "TX", "--dx", "M54.50", "--date", "2026-03-01"
        )
        assert "marketplace" in " ".join(text.stdout.split())

    def test_grant_layers_tied_on_outcome_each_say_why(self) -> None:
        d = ask(coverage="individual", state="TX", diagnosis="M54.50", service_date="2026-03-01")
        assert set(d.benefit.decided_by) >= {"tx.ehb_benchmark"}
        for rid in d.benefit.decided_by:
            reason = next(r.reason for r in d.rules_applied if r.id == rid)
            assert reason.rstrip(".") in d.benefit.summary


class TestNamingAPayerNeverMakesAnAnswerLessDecided:
    def test_kaiser_outside_its_researched_region(self) -> None:
        q = {
            "coverage": "large_group",
            "state": "CA",
            "condition": "chronic low back pain",
            "service_date": "2025-03-01",
        }
        d, without = ask(payer="Kaiser", **q), ask(**q)
        assert d.status == without.status
        assert d.medical_necessity.status == without.medical_necessity.status
        note = next(m for m in d.missing if "Kaiser" in m)
        assert note.startswith("Kaiser Permanente's own medical policy for acupuncture is not in the dataset")
        assert "OR" in note
        assert not any(re.search(r"\bkaiser\.", m) for m in d.missing)  # no internal ids

    @pytest.mark.parametrize("coverage", ["individual", "small_group", "large_group", "self_funded"])
    @pytest.mark.parametrize("condition", ["chronic low back pain", "sciatica", "migraine"])
    def test_every_payer(self, coverage: str, condition: str) -> None:
        ds = load_dataset(DATA, today=TODAY)
        payers = sorted({lr.payer for lr in ds.rules.values() if lr.payer} | {"Some Tiny Mutual"})
        rank = {"unknown": 0, "conditional": 1, "covered": 2, "not_covered": 2}
        for state in (None, "CA", "OR", "NY"):
            base = ask(coverage=coverage, state=state, condition=condition, service_date="2025-03-01")
            for payer in payers:
                d = ask(
                    coverage=coverage,
                    state=state,
                    payer=payer,
                    condition=condition,
                    service_date="2025-03-01",
                )
                assert rank[d.medical_necessity.status] >= rank[base.medical_necessity.status], (payer, state)


class TestIgnoredFields:
    def test_medicare_says_state_and_payer_do_not_change_the_answer(self) -> None:
        d = ask(
            coverage="medicare",
            state="CA",
            payer="aetna",
            diagnosis="M54.50",
            provider="physician",
            service_date="2024-03-01",
        )
        assert d.ignored == ["state", "payer"]
        assert any("state (CA)" in w and "payer (aetna)" in w for w in d.warnings)
        r = cli(
            "check",
            "--coverage",
            "medicare",
            "--state",
            "CA",
            "--dx",
            "M54.50",
            "--provider",
            "physician",
            "--json",
        )
        assert json.loads(r.stdout)["ignored"] == ["state"]
        text = cli(
            "check", "--coverage", "medicare", "--state", "CA", "--dx", "M54.50", "--provider", "physician"
        )
        assert "state (CA) does not change this answer" in " ".join(text.stdout.split())

    def test_fields_that_matter_are_not_ignored(self) -> None:
        assert ask(coverage="medicaid", state="CA", diagnosis="M54.50").ignored == []
        assert ask(coverage="large_group", state="NY", payer="aetna", diagnosis="M54.50").ignored == []
        assert ask(coverage="medicare_advantage", payer="moda", diagnosis="M54.50").ignored == []


# --- 2. the Python API raises InputError only ----------------------------------------------------


class Timestamp(datetime):
    """Shaped like pandas.Timestamp: a datetime subclass."""


class Datetime64:
    """Shaped like numpy.datetime64 / pandas objects that offer to_pydatetime()."""

    def to_pydatetime(self) -> datetime:
        return datetime(2024, 3, 1, 15, 30)


class TestApiTypes:
    base: ClassVar[dict[str, Any]] = {"coverage": "medicare", "diagnosis": "M54.50", "provider": "physician"}

    @pytest.mark.parametrize(
        "when", [datetime(2024, 3, 1, 9, 0), Timestamp(2024, 3, 1, 23, 59), Datetime64()]
    )
    def test_datetimes_take_their_date_part(self, when: Any) -> None:
        d = ask(**self.base, service_date=when)
        assert d.service_date == date(2024, 3, 1)
        assert type(d.service_date) is date

    def test_numbers_from_spreadsheets(self) -> None:
        assert ask(coverage="medicaid", state=6, diagnosis="M54.50").state == "CA"  # FIPS 06
        assert ask(**self.base, procedure=97810).procedure == "97810"
        # A number becomes the text of a plan ID -- and an ID no data knows is refused, never ignored.
        with pytest.raises(InputError) as e:
            ask(coverage="fehb", plan_id=12345, diagnosis="M54.50")
        assert (e.value.field, e.value.value) == ("plan_id", "12345")
        assert ask(coverage="fehb", plan_id="fep_blue_focus", diagnosis="M54.50").plan_id == "fep_blue_focus"
        assert ask(**self.base, visits_used=3.0).visits_used == 3
        assert ask(**self.base, state=float("nan")).state is None  # an empty cell

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("condition", 5),
            ("state", 3.5),
            ("payer", [1]),
            ("visits_used", "3"),
            ("visits_used", 2.5),
            ("age", True),
            ("diagnosis", 54),
            ("diagnosis", ["M54.50", 5]),
            ("service_date", 20240301),
            ("data_dir", 7),
            ("data_dir", "/no/such/folder"),
            ("today", "tomorrow"),
            ("coverage", None),
        ],
    )
    def test_bad_types_name_the_field(self, field: str, value: Any) -> None:
        kw: dict[str, Any] = {**self.base, field: value}
        with pytest.raises(InputError) as err:
            ask(**kw)
        assert err.value.field == field

    def test_str_data_dir(self) -> None:
        assert ask(**self.base, data_dir=str(DATA)).status == "covered"

    def test_query_with_arguments_is_refused_not_ignored(self) -> None:
        q = Query(coverage="medicare", diagnosis="M54.50", provider="physician", service_date="2024-03-01")
        assert ask(coverage=q).status == "covered"
        early = check(q, today=date(2026, 1, 1))  # today travels with a Query
        assert any("earlier than the data's last verification" in w for w in early.warnings)
        with pytest.raises(InputError) as err:
            check(q, today=TODAY, state="CA", age=40)
        assert (err.value.field, err.value.value, err.value.valid) == (
            "state",
            "CA",
            "pass either a Query or separate arguments, not both: set state, age on the Query itself",
        )
        for extra in (
            {"state": "CA"},
            {"service_date": "2019-01-01"},
            {"procedure": "97810"},
            {"provider": "physician"},
        ):
            with pytest.raises(InputError) as err:
                check(q, today=TODAY, **extra)  # type: ignore[arg-type]
            assert err.value.field == next(iter(extra))
            assert "not both" in str(err.value)

    def test_long_values_are_cut_in_messages(self) -> None:
        with pytest.raises(InputError) as err:
            ask(coverage="x" * 5000)
        assert len(str(err.value)) < 400
        assert "..." in str(err.value)


# --- 3. evidence spans ---------------------------------------------------------------------------


class TestEvidenceSpans:
    def test_first_version_evidenced_from_is_extrapolated_backwards(self, tmp_path: Path) -> None:
        data = synthetic(tmp_path, [version("2019-05-01", [OTHER], basis="evidenced_from")])
        before = syn(data, diagnosis="M54.50", service_date="2016-05-01")
        after = syn(data, diagnosis="M54.50", service_date="2020-05-01")
        assert before.status == after.status == "not_covered"
        assert before.evidence.extrapolated and not after.evidence.extrapolated
        assert before.evidence.earliest == date(2019, 5, 1) and before.evidence.latest is None
        assert (
            before.rules_applied[0].extrapolated
            and before.rules_applied[0].effective_basis == "evidenced_from"
        )
        applied = before.rules_applied[0]
        assert (applied.evidence_from, applied.evidence_until) == (date(2019, 5, 1), None)
        text = " ".join(before.warnings)
        assert "evidence from 2019-05-01 onward" in text and "2016-05-01" in text

    def test_a_sourced_start_is_not_extrapolated(self, tmp_path: Path) -> None:
        data = synthetic(tmp_path, [version("2019-05-01", [OTHER])])
        assert syn(data, diagnosis="M54.50", service_date="2016-05-01").status == "unknown"
        assert not syn(data, diagnosis="M54.50", service_date="2019-05-01").evidence.extrapolated

    def test_gap_before_an_unsourced_successor(self, tmp_path: Path) -> None:
        covered = {**CLBP, "conditions": None}
        data = synthetic(
            tmp_path,
            [
                version("2015-01-01", [covered], evidenced_until="2017-06-30"),
                version("2020-01-01", [OTHER], basis="evidenced_from"),
            ],
        )
        inside = syn(data, diagnosis="M54.50", service_date="2017-06-30")
        gap = syn(data, diagnosis="M54.50", service_date="2018-03-01")
        assert inside.status == gap.status == "covered"
        assert not inside.evidence.extrapolated
        assert gap.evidence.extrapolated
        assert (gap.evidence.earliest, gap.evidence.latest) == (date(2015, 1, 1), date(2017, 6, 30))
        assert (gap.rules_applied[0].evidence_from, gap.rules_applied[0].evidence_until) == (
            date(2015, 1, 1),
            date(2017, 6, 30),
        )
        expected = "evidence from 2015-01-01 to 2017-06-30; this answer assumes the rules were the same on 2018-03-01"
        assert expected in gap.warnings
        later = syn(data, diagnosis="M54.50", service_date="2021-01-01")
        assert later.status == "not_covered" and not later.evidence.extrapolated

    def test_a_sourced_successor_closes_the_span(self, tmp_path: Path) -> None:
        data = synthetic(tmp_path, [version("2015-01-01", [OTHER]), version("2020-01-01", [OTHER])])
        d = syn(data, diagnosis="M54.50", service_date="2019-12-31")
        assert not d.evidence.extrapolated and d.evidence.latest == date(2019, 12, 31)

    def test_a_middle_version_is_bounded_by_its_own_successor(self, tmp_path: Path) -> None:
        data = synthetic(
            tmp_path,
            [
                version("2015-01-01", [OTHER]),
                version("2018-01-01", [{**CLBP, "conditions": None}], basis="evidenced_from"),
                version("2021-01-01", [OTHER]),
            ],
        )
        d = syn(data, diagnosis="M54.50", service_date="2019-06-01")
        assert d.status == "covered" and not d.evidence.extrapolated
        assert (d.evidence.earliest, d.evidence.latest) == (date(2018, 1, 1), date(2020, 12, 31))
        gap = syn(data, diagnosis="M54.50", service_date="2017-06-01")  # v1 ends where v2's evidence begins
        assert gap.status == "not_covered" and gap.evidence.extrapolated
        assert gap.evidence.latest == date(2015, 1, 1)

    def test_spans_are_described_in_words(self) -> None:
        from coverage_lookup.evidence import describe_span

        assert describe_span(date(2019, 5, 1), None) == "from 2019-05-01 onward"
        assert describe_span(date(2019, 5, 1), date(2021, 2, 28)) == "from 2019-05-01 to 2021-02-28"
        assert describe_span(None, None) == "no dated evidence"

    def test_evidenced_until_must_end_before_the_next_version(self, tmp_path: Path) -> None:
        from coverage_lookup.errors import DataError

        data = synthetic(
            tmp_path,
            [version("2015-01-01", [OTHER], evidenced_until="2020-01-01"), version("2020-01-01", [OTHER])],
        )
        with pytest.raises(DataError, match="evidenced_until"):
            load_dataset(data, today=TODAY, use_cache=False)

    def test_json_carries_the_evidence_object(self) -> None:
        r = cli(
            "check",
            "--coverage",
            "medicare",
            "--dx",
            "M54.50",
            "--provider",
            "physician",
            "--date",
            "2024-03-01",
            "--json",
        )
        evidence = json.loads(r.stdout)["evidence"]
        assert evidence == {"extrapolated": False, "earliest": "2020-01-21", "latest": None}

    def test_the_card_says_when_an_answer_is_extrapolated(self, tmp_path: Path) -> None:
        from coverage_lookup.api import determine

        data = synthetic(tmp_path, [version("2019-05-01", [OTHER], basis="evidenced_from")])
        text = card(
            determine("tricare", diagnosis="M54.50", service_date="2016-05-01", today=TODAY, data_dir=data)
        )
        assert "EXTRAPOLATED" in text
        assert "assumes the rules were the same on 2016-05-01" in " ".join(text.split())

    def test_va_visit_figure_is_not_applied_before_its_release(self) -> None:
        early = ask(coverage="va", diagnosis="M54.50", service_date="2018-03-01")
        late = ask(coverage="va", diagnosis="M54.50", service_date="2025-06-01")
        assert early.status == late.status == "covered"
        assert not any("12 visits" in r.text for r in early.requirements)
        assert any("12 visits" in r.text for r in late.requirements)
        assert early.rules_applied[0].version_effective == date(2017, 6, 1)


# --- 4. where a source comes from ----------------------------------------------------------------

DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


class TestCitationKinds:
    def test_every_citation_has_a_kind_and_a_named_issuer(self) -> None:
        ds = load_dataset(DATA, today=TODAY)
        for rid, lr in ds.rules.items():
            for v in lr.rule.versions:
                for c in v.citations:
                    assert c.kind in {"primary", "copy", "secondary"}, (rid, c.url)
                    assert not DOMAIN.match(c.issuer.lower()), (rid, c.issuer)

    def test_no_label_starts_with_a_mirror_domain(self) -> None:
        ds = load_dataset(DATA, today=TODAY)
        copies = 0
        for lr in ds.rules.values():
            for v in lr.rule.versions:
                for c in v.citations:
                    label = citation_label(c)
                    assert label.startswith(c.issuer)
                    if c.kind == "copy":
                        copies += 1
                        assert label.endswith(f"copy at {host(c.url)}")
                        assert not label.startswith(host(c.url))
        assert copies > 0

    def test_answers_carry_each_citations_kind_issuer_and_original(self) -> None:
        d = ask(
            coverage="individual", state="NV", condition="chronic low back pain", service_date="2015-06-01"
        )
        ehb = next(r for r in d.rules_applied if r.id == "nv.ehb_benchmark")
        copy = next(c for c in ehb.citations if c.kind == "copy")
        assert copy.issuer == "Centers for Medicare & Medicaid Services"
        assert copy.original_url == "https://www.cms.gov/marketplace/resources/data/public-use-files"
        assert {c.kind for c in ehb.citations} == {"primary", "copy"}

    def test_the_card_shows_the_issuer_of_a_copy_first(self) -> None:
        r = cli(
            "check",
            "--coverage",
            "large_group",
            "--payer",
            "aetna",
            "--condition",
            "neck pain",
            "--date",
            "2024-03-01",
        )
        flat = " ".join(r.stdout.split())
        assert re.search(r"· Aetna[^:·]*: [^·]+ — copy at (vdocuments\.mx|pdfdrive\.to)", flat), flat

    def test_a_secondary_only_version_is_marked(self, tmp_path: Path) -> None:
        from coverage_lookup.api import determine

        secondary = {**CITE, "kind": "secondary", "issuer": "Trade Weekly"}
        data = synthetic(tmp_path, [version("2019-05-01", [OTHER], citations=[secondary])])
        d = determine("tricare", diagnosis="M54.50", service_date="2020-05-01", today=TODAY, data_dir=data)
        assert d.rules_applied[0].secondary_only
        assert "rests only on secondary reports" in card(d)
        assert "Trade Weekly (secondary report)" in card(d)


# --- 5. quality report ---------------------------------------------------------------------------


def test_quality_report_json() -> None:
    r = cli("validate", "--quality", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert set(report) >= {"versions", "citations", "secondary_only_rules", "stale", "unknown_by_program"}
    assert report["versions"]["conventional"] == 0
    assert report["citations"]["unclassified"] == 0
    ds = load_dataset(DATA, today=TODAY)
    assert sum(report["versions"].values()) == sum(len(lr.rule.versions) for lr in ds.rules.values())
    assert report["versions"]["sourced"] > 0 and report["versions"]["evidenced_from"] > 0
    assert report["citations"]["copy"] > 0 and report["citations"]["secondary"] > 0
    assert all(rid in ds.rules for rid in report["secondary_only_rules"])


def test_quality_counts_on_synthetic_data(tmp_path: Path) -> None:
    from coverage_lookup.curation.quality import quality

    secondary = {**CITE, "kind": "secondary", "issuer": "Trade Weekly"}
    data = synthetic(
        tmp_path,
        [
            version("2015-01-01", [OTHER], basis="evidenced_from", citations=[secondary]),
            version("2018-01-01", [SCIATICA_UNKNOWN], basis="evidenced_from", last_verified="2024-01-01"),
        ],
    )
    ds = load_dataset(data, today=TODAY, use_cache=False)
    report = quality(ds, TODAY)
    assert report.versions == {"sourced": 0, "evidenced_from": 2, "conventional": 0}
    assert report.extrapolation_windows == 1  # the first version's: before its evidence and up to the next
    assert report.secondary_only_rules == ["syn.rule"]
    assert report.stale == ["syn.rule"]
    assert report.unknown_by_program == {"tricare": 1}
    shared = [c for cs in ds.conditions.values() for c in cs.citations]
    shared += [c for change in ds.code_history for c in change.citations]
    for kind, in_rule in (("secondary", 1), ("primary", 1), ("copy", 0)):
        assert report.citations[kind] == in_rule + sum(c.kind == kind for c in shared), kind


def test_no_ehb_rule_is_extrapolated_before_the_ehb_requirement_began() -> None:
    """An EHB version evidenced only from 2026 answers 2015 (extrapolated) but never 2012: the
    benchmark requirement itself began with plan year 2014."""
    ds = load_dataset(DATA, today=TODAY)
    late = sorted(
        lr.state
        for lr in ds.rules.values()
        if lr.rule.layer == "ehb_benchmark"
        and lr.state
        and lr.rule.versions[0].effective_basis == "evidenced_from"
        and lr.rule.versions[0].effective.year > 2014
    )
    assert late, "expected at least one EHB rule evidenced only after 2014"
    state = late[0]
    rid = f"{state.lower()}.ehb_benchmark"
    before = ask(
        coverage="individual", state=state, condition="chronic low back pain", service_date="2012-06-01"
    )
    entry = next(t for t in before.trace if t.rule == rid)
    assert entry.decision == "skipped" and "2014-01-01" in entry.reason
    after = ask(
        coverage="individual", state=state, condition="chronic low back pain", service_date="2015-06-01"
    )
    assert not any(t.rule == rid and t.decision == "skipped" and "2014" in t.reason for t in after.trace)


def test_cli_diagnoses_separated_like_a_clerk_types_them() -> None:
    r = cli(
        "check",
        "--coverage",
        "medicare",
        "--dx",
        "M54.50;M54.41",
        "--provider",
        "physician",
        "--date",
        "2024-03-01",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert [d["code"] for d in json.loads(r.stdout)["diagnoses"]] == ["M54.50", "M54.41"]
