"""Payer medical policies: covered and experimental indications, versions by date, sciatica routes."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from coverage_lookup import Determination, check
from tests.conftest import TODAY


def ask(payer: str, condition: str, on: str, coverage: str = "large_group", **kw: Any) -> Determination:
    return check(coverage=coverage, payer=payer, condition=condition, service_date=on, today=TODAY, **kw)


def necessity(payer: str, condition: str, on: str, **kw: Any) -> str:
    d = ask(payer, condition, on, **kw)
    assert any(r.layer == "payer_policy" for r in d.rules_applied), d.trace
    return d.medical_necessity.status


# (payer, covered indication, experimental/not-necessary indication, date)
COVERED_AND_EXPERIMENTAL = [
    ("aetna", "chronic low back pain", "fibromyalgia", "2024-03-01"),
    ("anthem", "chronic low back pain", "fibromyalgia", "2024-03-01"),
    ("cigna", "chronic low back pain", "fibromyalgia", "2020-03-01"),
    ("independence", "neck pain", "fibromyalgia", "2024-03-01"),
    ("centene", "chronic low back pain", "fibromyalgia", "2024-03-01"),
]


@pytest.mark.parametrize(("payer", "covered", "experimental", "on"), COVERED_AND_EXPERIMENTAL)
def test_covered_and_experimental_indications(payer: str, covered: str, experimental: str, on: str) -> None:
    coverage = "individual" if payer == "centene" else "large_group"
    assert necessity(payer, covered, on, coverage=coverage) == "covered"
    d = ask(payer, experimental, on, coverage=coverage)
    assert d.medical_necessity.status == "not_covered"
    assert d.status == "not_covered"  # experimental is not covered whatever the benefit


def test_experimental_beats_an_ehb_benefit() -> None:
    # California's EHB benchmark grants a benefit for chronic pain; Aetna calls fibromyalgia experimental.
    d = ask("aetna", "fibromyalgia", "2024-03-01", coverage="small_group", state="CA")
    assert d.status == "not_covered"
    assert d.medical_necessity.decided_by == ["aetna.acupuncture_policy"]


@pytest.mark.parametrize(
    ("payer", "condition", "before", "after", "was", "now"),
    [
        # Aetna's 2017 revision added neck pain and headache of 12+ weeks.
        ("aetna", "neck pain", "2017-03-28", "2017-03-29", "not_covered", "covered"),
        # Aetna's 2018 revision named dysmenorrhea experimental (before: the catch-all said the same).
        ("aetna", "dysmenorrhea", "2018-03-29", "2018-03-30", "not_covered", "not_covered"),
        # Anthem's 2023 guideline added back pain of 12+ weeks.
        ("anthem", "chronic low back pain", "2023-04-11", "2023-04-12", "not_covered", "covered"),
        # Independence began covering listed indications in 2019 (before: excluded by contract).
        ("independence", "chronic low back pain", "2018-12-31", "2019-01-01", "not_covered", "covered"),
    ],
)
def test_answers_change_with_the_policy_version(
    payer: str, condition: str, before: str, after: str, was: str, now: str
) -> None:
    d1, d2 = ask(payer, condition, before), ask(payer, condition, after)
    assert d1.medical_necessity.status == was
    assert d2.medical_necessity.status == now
    v1 = next(r for r in d1.rules_applied if r.layer == "payer_policy")
    v2 = next(r for r in d2.rules_applied if r.layer == "payer_policy")
    assert v1.version_effective < v2.version_effective  # each answer cites its own version
    assert v2.citations and v2.citations[0].url.startswith("http")


@pytest.mark.parametrize("payer", ["aetna", "anthem", "independence", "centene"])
def test_sciatica_code_gets_a_route_not_a_guess(payer: str) -> None:
    coverage = "individual" if payer == "centene" else "large_group"
    d = check(coverage=coverage, payer=payer, diagnosis="M54.41", service_date="2024-03-01", today=TODAY)
    assert d.medical_necessity.status == "conditional"
    assert "back pain" in d.medical_necessity.summary.lower()


@pytest.mark.parametrize(
    ("alias", "payer"), [("UHC", "unitedhealthcare"), ("Ambetter", "centene"), ("IBX", "independence")]
)
def test_payer_aliases(alias: str, payer: str) -> None:
    d = check(
        coverage="large_group", payer=alias, condition="migraine", service_date="2024-03-01", today=TODAY
    )
    assert d.payer == payer


def test_cigna_unread_revision_falls_back_to_the_payerless_answer() -> None:
    """Cigna's 2023 criteria could not be read: covered before; after, the answer without a payer,
    with a note in the user's words that Cigna's policy does not establish it."""
    before = ask("cigna", "chronic low back pain", "2023-04-14")
    after = ask("cigna", "chronic low back pain", "2023-04-15")
    without = check(
        coverage="large_group", condition="chronic low back pain", service_date="2023-04-15", today=TODAY
    )
    assert before.medical_necessity.status == "covered"
    assert "cigna.acupuncture_policy" in before.medical_necessity.decided_by
    assert after.medical_necessity.status == without.medical_necessity.status == "conditional"
    assert after.medical_necessity.decided_by == []
    assert any(
        m.startswith("Cigna's medical policy for acupuncture does not establish this") for m in after.missing
    )


def test_unresearched_payer_policy_is_never_less_decided_than_no_payer() -> None:
    d = ask("unitedhealthcare", "chronic low back pain", "2024-03-01")
    without = check(
        coverage="large_group", condition="chronic low back pain", service_date="2024-03-01", today=TODAY
    )
    assert d.status == without.status == "conditional"
    assert any("UnitedHealthcare" in m for m in d.missing)
    assert not any("unitedhealthcare." in m for m in d.missing)  # no internal ids in the note


def test_payers_command_json() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "coverage_lookup.cli", "payers", "--json"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    by_id = {row["id"]: row for row in rows}
    assert {"aetna", "cigna", "anthem", "centene", "independence"} <= set(by_id)
    for row in rows:
        assert {"id", "name", "policies", "versions"} <= set(row)
        assert isinstance(row["versions"], int) and isinstance(row["policies"], list)
    assert by_id["aetna"]["versions"] == 3 and by_id["aetna"]["policies"] == ["aetna.acupuncture_policy"]
    assert sum(row["versions"] >= 2 for row in rows) >= 4


def _payer_cases() -> list[tuple[str, str, str, str | None, str, str]]:
    from coverage_lookup.dataset import load_dataset
    from coverage_lookup.evidence import version_on
    from tests.test_states_data import ROOT

    ds = load_dataset(ROOT / "data", today=TODAY, use_cache=False)
    cases: list[tuple[str, str, str, str | None, str, str]] = []
    for rid, lr in sorted(ds.rules.items()):
        if lr.payer is None or lr.rule.layer != "payer_policy":
            continue
        version = version_on(lr.rule, TODAY)
        if version is None or version.retired:
            continue
        seen: set[str] = set()
        for prov in version.provisions:
            if (
                prov.conditions is None
                or prov.procedures is not None
                or prov.age is not None
                or prov.providers
            ):
                continue
            fresh = [c for c in prov.conditions if c not in seen]
            seen.update(prov.conditions)
            if fresh:
                cases.append((rid, lr.payer, lr.rule.scope.coverage[0], lr.state, fresh[0], prov.outcome))
    return cases


@pytest.mark.parametrize(("rule", "payer", "coverage", "state", "condition", "outcome"), _payer_cases())
def test_every_payer_provision_answers_as_written(
    rule: str, payer: str, coverage: str, state: str | None, condition: str, outcome: str
) -> None:
    """Each indication a payer policy names is answered with that policy's outcome today; where the
    policy records ``unknown``, the answer is the one without the payer, with the payer's note."""
    d = check(coverage=coverage, state=state, payer=payer, condition=condition, today=TODAY)
    if outcome == "unknown":
        without = check(coverage=coverage, state=state, condition=condition, today=TODAY)
        assert rule not in d.medical_necessity.decided_by
        assert d.medical_necessity.status == without.medical_necessity.status
        assert any("does not establish this" in m for m in d.missing)
        return
    assert rule in d.medical_necessity.decided_by
    assert d.medical_necessity.status == outcome


def test_medicare_advantage_notice_keeps_the_ncd_provider_rules() -> None:
    """A plan notice restating NCD 30.3.3: physicians bill; an acupuncturist's own claim is not paid under
    it but may be under a supplemental benefit (conditional); chiropractors are excluded."""

    def status(provider: str) -> str:
        return check(
            coverage="medicare_advantage",
            payer="moda",
            diagnosis="M54.50",
            provider=provider,
            service_date="2024-03-01",
            today=TODAY,
        ).status

    assert status("physician") == "covered"
    assert status("licensed_acupuncturist") == "conditional"
    assert status("chiropractor") == "not_covered"


def test_when_excluded_needs_may_bill_false() -> None:
    from pydantic import ValidationError

    from coverage_lookup.models import ProviderRule

    with pytest.raises(ValidationError):
        ProviderRule.model_validate({"type": "physician", "when_excluded": "conditional"})
    ProviderRule.model_validate(
        {"type": "chiropractor", "may_bill": False, "when_excluded": "conditional", "note": "why"}
    )
