"""Engine semantics on the real federal data: each status, date boundaries, providers, limits, layers."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from coverage_lookup import Determination, InputError, Query, check
from tests.conftest import TODAY


def ask(**kw: Any) -> Determination:
    kw.setdefault("today", TODAY)
    return check(**kw)


def medicare_clbp(**kw: Any) -> Determination:
    base: dict[str, Any] = {"coverage": "medicare", "diagnosis": "M54.50", "provider": "physician"}
    base.update(kw)
    return ask(**base)


class TestMedicareDates:
    def test_covered_after_ncd_30_3_3(self) -> None:
        d = medicare_clbp(service_date="2024-03-01")
        assert d.status == "covered"
        ids = [r.id for r in d.rules_applied]
        assert "medicare.ncd_30_3_3" in ids
        assert any("ncdid=373" in c.url for r in d.rules_applied for c in r.citations)

    def test_day_before_effective_date_is_not_covered(self) -> None:
        d = medicare_clbp(service_date="2020-01-20")
        assert d.status == "not_covered"
        assert [r.id for r in d.rules_applied] == ["medicare.ncd_30_3"]
        assert d.rules_applied[0].version_effective == date(1980, 6, 1)
        # M54.50 did not exist yet: the answer says so instead of failing.
        assert any("took effect 2021-10-01" in w for w in d.warnings)

    def test_on_effective_date_is_covered(self) -> None:
        d = medicare_clbp(service_date="2020-01-21", diagnosis="M54.5")
        assert d.status == "covered"

    def test_2019_claim_with_m54_5_is_valid_but_not_covered(self) -> None:
        d = medicare_clbp(service_date="2019-06-01", diagnosis="M54.5")
        assert d.status == "not_covered"
        assert d.diagnoses[0].billable_on_date is True

    def test_2023_claim_with_m54_5_is_rejected(self) -> None:
        with pytest.raises(InputError) as err:
            medicare_clbp(service_date="2023-06-01", diagnosis="M54.5")
        assert err.value.field == "diagnosis"
        assert "M54.50" in str(err.value)

    def test_before_1980_rule_nothing_in_effect_is_unknown(self) -> None:
        d = ask(
            coverage="medicare",
            condition="chronic low back pain",
            provider="physician",
            service_date="1975-01-01",
        )
        assert d.status == "unknown"
        assert any(t.decision == "skipped" and "not yet in effect" in t.reason for t in d.trace)


class TestMedicareIndications:
    @pytest.mark.parametrize(
        ("dx", "rule"),
        [
            ("G43.909", "medicare.ncd_30_3"),
            ("M79.7", "medicare.ncd_30_3_1"),
            ("M17.11", "medicare.ncd_30_3_2"),
        ],
    )
    def test_other_indications_not_covered_with_citation(self, dx: str, rule: str) -> None:
        d = medicare_clbp(diagnosis=dx, service_date="2024-03-01")
        assert d.status == "not_covered"
        assert d.rules_applied[0].id == rule
        assert d.rules_applied[0].citations

    def test_headache_by_condition_name(self) -> None:
        d = ask(
            coverage="medicare", condition="tension headache", provider="physician", service_date="2024-03-01"
        )
        assert d.status == "not_covered"

    def test_sciatica_is_an_honest_unknown(self) -> None:
        d = medicare_clbp(diagnosis="M54.41", service_date="2024-03-01")
        assert d.status == "unknown"
        assert "Not established" in d.summary
        assert d.rules_applied[0].provision == "sciatica_and_radiculopathy"

    def test_pregnancy_excludes_clbp_coverage(self) -> None:
        d = medicare_clbp(diagnosis=["M54.50", "Z34.90"], service_date="2024-03-01")
        assert d.status == "not_covered"
        assert any("does not apply with Pregnancy" in t.reason for t in d.trace)

    def test_any_supporting_diagnosis_decides(self) -> None:
        d = medicare_clbp(diagnosis=["M79.7", "M54.50"], service_date="2024-03-01")
        assert d.status == "covered"
        assert "decided on M54.50" in d.summary

    def test_overview_without_indication(self) -> None:
        d = ask(coverage="medicare", provider="physician", service_date="2024-03-01")
        assert d.status == "conditional"
        by = {i.condition: i.status for i in d.indications}
        assert by["chronic_low_back_pain"] == "covered"
        assert by["fibromyalgia"] == "not_covered"
        assert by[None] == "not_covered"
        assert by["sciatica"] == "unknown"

    def test_overview_before_2020_is_uniformly_not_covered(self) -> None:
        d = ask(coverage="medicare", provider="physician", service_date="2010-05-05")
        assert d.status == "not_covered"


class TestProviders:
    def test_licensed_acupuncturist_cannot_bill_medicare(self) -> None:
        d = medicare_clbp(provider="licensed_acupuncturist", service_date="2024-03-01")
        assert d.status == "not_covered"
        assert "auxiliary personnel" in d.summary

    @pytest.mark.parametrize(
        "provider", ["physician_assistant", "nurse_practitioner", "clinical_nurse_specialist"]
    )
    def test_qualified_practitioners_need_credentials(self, provider: str) -> None:
        d = medicare_clbp(provider=provider, service_date="2024-03-01")
        assert d.status == "covered"
        assert any(r.kind == "credential" and "ACAOM" in r.text for r in d.requirements)

    def test_physician_has_no_credential_requirement(self) -> None:
        d = medicare_clbp(service_date="2024-03-01")
        assert not any(r.kind == "credential" for r in d.requirements)

    @pytest.mark.parametrize("provider", ["chiropractor", "physical_therapist"])
    def test_other_providers_not_covered(self, provider: str) -> None:
        assert medicare_clbp(provider=provider, service_date="2024-03-01").status == "not_covered"

    def test_provider_aliases(self) -> None:
        assert medicare_clbp(provider="MD", service_date="2024-03-01").provider == "physician"


class TestVisitLimits:
    @pytest.mark.parametrize(
        ("used", "status"),
        [(0, "covered"), (11, "covered"), (12, "conditional"), (19, "conditional"), (20, "not_covered")],
    )
    def test_12_in_90_days_plus_8_with_improvement(self, used: int, status: str) -> None:
        d = medicare_clbp(service_date="2024-03-01", visits_used=used)
        assert d.status == status

    def test_remaining_visits(self) -> None:
        d = medicare_clbp(service_date="2024-03-01", visits_used=5)
        first = d.limits[0]
        assert (first.visits, first.remaining, first.remaining_with_improvement) == (12, 7, 15)

    def test_no_visits_used_means_no_remaining(self) -> None:
        assert medicare_clbp(service_date="2024-03-01").limits[0].remaining is None


class TestOtherPrograms:
    def test_tricare_not_covered(self) -> None:
        d = ask(coverage="tricare", diagnosis="M54.50", service_date="2024-03-01")
        assert d.status == "not_covered"
        assert any("tricare.mil" in c.url for r in d.rules_applied for c in r.citations)

    def test_tricare_dry_needling_before_its_evidence_is_extrapolated(self) -> None:
        # The exclusion is evidenced from March 2020; dry-needling codes exist from 2020-01-01. A claim
        # in between gets the exclusion, marked as an assumption rather than a fact.
        d = ask(coverage="tricare", diagnosis="M54.50", procedure="20560", service_date="2020-02-01")
        assert d.status == "not_covered"
        assert d.evidence.extrapolated
        assert d.evidence.earliest is not None and d.evidence.earliest > date(2020, 2, 1)
        assert any("assumes" in w for w in d.warnings)
        later = ask(coverage="tricare", diagnosis="M54.50", procedure="20560", service_date="2024-02-01")
        assert later.status == "not_covered" and not later.evidence.extrapolated

    def test_va_covered_with_referral(self) -> None:
        d = ask(coverage="va", diagnosis="M54.50", service_date="2024-03-01")
        assert d.status == "covered"
        assert any(r.kind == "referral" for r in d.requirements)

    def test_medicare_advantage_floor_and_supplemental(self) -> None:
        assert (
            ask(
                coverage="medicare_advantage",
                diagnosis="M54.50",
                provider="physician",
                service_date="2024-03-01",
            ).status
            == "covered"
        )
        d = ask(
            coverage="medicare_advantage",
            diagnosis="G43.909",
            provider="physician",
            service_date="2024-03-01",
        )
        assert d.status == "conditional"
        assert "supplemental" in d.summary

    def test_medicaid_without_state_is_conditional(self) -> None:
        d = ask(coverage="medicaid", diagnosis="M54.50", service_date="2024-03-01")
        assert d.status == "conditional"
        assert any("state" in m for m in d.missing)

    def test_medicaid_unresearched_state_is_unknown(self) -> None:
        # California's first researched Medi-Cal version starts 2009-07-01: before it, nothing is known.
        d = ask(coverage="medicaid", state="California", condition="sciatica", service_date="2008-03-01")
        assert d.status == "unknown"
        assert any("CA" in m for m in d.missing)

    def test_medicaid_epsdt_needs_age(self) -> None:
        d = ask(coverage="medicaid", diagnosis="M54.50", service_date="2024-03-01", age=12)
        assert d.rules_applied[0].provision == "under_21_epsdt"
        d = ask(coverage="medicaid", diagnosis="M54.50", service_date="2024-03-01", age=40)
        assert d.rules_applied[0].provision == "adults_state_option"

    def test_self_funded_says_state_law_does_not_apply(self) -> None:
        d = ask(coverage="self_funded", state="CA", diagnosis="M54.50", service_date="2024-03-01")
        assert d.status == "conditional"
        assert any("ERISA" in w for w in d.warnings)

    def test_commercial_without_payer_or_state_is_conditional(self) -> None:
        d = ask(coverage="small_group", diagnosis="M54.50", service_date="2024-03-01")
        assert d.status == "conditional"
        assert {"state", "payer"} <= set(d.missing)

    def test_unknown_payer_gives_the_payerless_answer_and_says_so(self) -> None:
        q = {"coverage": "large_group", "state": "NY", "diagnosis": "M54.50", "service_date": "2024-03-01"}
        without = ask(**q)
        d = ask(**q, payer="Some Tiny Mutual")
        assert d.status == without.status != "unknown"
        assert d.medical_necessity.status == without.medical_necessity.status
        assert d.payer is None and d.medical_necessity.summary == without.medical_necessity.summary
        assert d.warnings[0].startswith("payer not recognised: 'Some Tiny Mutual'")

    def test_fehb_plan_specific_and_later_unknown(self) -> None:
        d = ask(coverage="fehb", plan_id="fep_blue_focus", diagnosis="M54.50", service_date="2024-03-01")
        assert d.status == "covered"
        assert d.limits[0].visits == 10
        later = ask(coverage="fehb", plan_id="fep_blue_focus", diagnosis="M54.50", service_date="2025-03-01")
        assert later.status == "unknown"
        assert ask(coverage="fehb", diagnosis="M54.50", service_date="2024-03-01").status == "conditional"

    def test_overview_ignores_rules_of_other_plans(self) -> None:
        # Without --plan-id the FEP Blue Focus brochure must not shape the overview.
        d = ask(coverage="fehb", service_date="2024-03-01")
        assert d.status == "conditional"
        assert all(r.id != "fehb.fep_blue_focus" for r in d.rules_applied)
        d = ask(coverage="fehb", plan_id="fep_blue_focus", service_date="2024-03-01")
        assert d.status == "covered"


class TestAnswerShape:
    def test_query_model_accepted(self) -> None:
        q = Query(coverage="medicare", diagnosis=["M54.50"], provider="physician", service_date="2024-03-01")
        assert check(q, today=TODAY).status == "covered"

    def test_freshness(self) -> None:
        d = medicare_clbp(service_date="2024-03-01")
        assert d.freshness.oldest_verified == date(2026, 11, 24)
        assert d.freshness.stale is False
        late = check(
            coverage="medicare",
            diagnosis="M54.50",
            provider="physician",
            service_date="2024-03-01",
            today=date(2028, 1, 1),
        )
        assert late.freshness.stale is True

    def test_trace_lists_every_rule_considered(self) -> None:
        d = medicare_clbp(service_date="2024-03-01")
        rules = {t.rule for t in d.trace}
        assert {
            "medicare.ncd_30_3",
            "medicare.ncd_30_3_1",
            "medicare.ncd_30_3_2",
            "medicare.ncd_30_3_3",
        } <= rules

    def test_default_date_is_today(self) -> None:
        d = ask(coverage="medicare", condition="chronic low back pain", provider="physician")
        assert d.service_date == TODAY

    def test_injection_codes_are_outside_acupuncture_rules(self) -> None:
        d = ask(
            coverage="medicare",
            diagnosis="M54.50",
            provider="physician",
            procedure="20552",
            service_date="2024-03-01",
        )
        assert d.status == "unknown"
