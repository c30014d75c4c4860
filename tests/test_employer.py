"""An employer plan whose size and funding the card does not say: the three possible answers side by side,
each combined field pinned against the three answers asked one by one (synthetic data, so that every
field has something to combine)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from coverage_lookup import Determination, check
from coverage_lookup.api import EMPLOYER_QUESTION
from coverage_lookup.render import MARKS
from coverage_lookup.vocab import COVERAGE_LABELS
from tests.conftest import TODAY
from tests.test_engine_synthetic import Data, provision, rule

KINDS = ("small_group", "large_group", "self_funded")


def law(outcome: str, pid: str, limit: int) -> dict[str, Any]:
    p = provision(outcome, None, pid)
    p["limits"] = [{"visits": limit, "per": "calendar_year"}]
    p["requirements"] = [{"kind": "referral", "text": "a referral from the primary care doctor"}]
    return p


@pytest.fixture
def data(tmp_path: Path) -> Data:
    d = Data(tmp_path)
    vocabulary = {
        "title": "test",
        "coverage": [
            {"names": ["employer", "employer plan"], "coverage": "employer", "note": "size unknown"}
        ],
    }
    d.write("vocabulary.yaml", vocabulary)  # the card's words "employer plan"
    # State law reaches fully insured plans (20 visits for small groups, 12 for large ones); a self-funded
    # plan is left to its own documents. The payer's policy decides medical necessity for all three.
    small = rule("state_law", ["small_group"], law("covered", "small", 20), aspect="benefit")
    large = rule("state_law", ["large_group"], law("covered", "large", 12), aspect="benefit")
    large["versions"][0].update({"last_verified": "2026-06-01", "effective": "2021-01-01"})
    small["versions"].append({**small["versions"][0], "effective": "2024-07-01"})  # bounds the evidence
    d.state("TX", small=small, large=large)
    policy = rule("payer_policy", list(KINDS), provision("covered", None, "acme"), aspect="medical_necessity")
    policy["versions"][0]["effective"] = "2020-01-01"
    policy["versions"].append({**policy["versions"][0], "effective": "2025-01-01"})
    d.payer("acme", policy=policy)
    return d


def ask(data: Data, coverage: str, **kw: Any) -> Determination:
    kw = {"state": "TX", "payer": "acme", "condition": "sciatica", "service_date": "2024-03-01", **kw}
    return check(coverage, data_dir=data.root, today=TODAY, **kw)


def test_each_field_combines_the_three_answers(data: Data) -> None:
    d = ask(data, "employer plan")
    parts = [ask(data, kind) for kind in KINDS]
    assert [p.status for p in parts] == ["covered", "covered", "conditional"]
    assert d.coverage == "employer"
    assert d.status == "conditional"
    assert d.summary == (
        "Employer plan, size and funding unknown — it depends on the kind of plan: small-group employer plan: "
        "COVERED; large-group employer plan (fully insured): COVERED; self-funded employer plan (ERISA): DEPENDS."
    )
    assert [(a.coverage, a.label, a.status, a.summary) for a in d.alternatives] == [
        (p.coverage, COVERAGE_LABELS[p.coverage], p.status, p.summary) for p in parts
    ]
    # benefit: the kinds differ, so each says its own; medical necessity: one payer decides all three
    assert d.benefit.status == "conditional"
    assert d.benefit.summary == "; ".join(
        f"{COVERAGE_LABELS[p.coverage]}: {p.benefit.summary}" for p in parts
    )
    assert d.benefit.decided_by == ["tx.small", "tx.large"]
    assert (d.medical_necessity.status, d.medical_necessity.summary) == (
        "covered",
        parts[0].medical_necessity.summary,
    )
    assert d.medical_necessity.decided_by == ["acme.policy"]
    # requirements and limits: each distinct one once, in the order the kinds are listed
    assert [(r.kind, r.source) for r in d.requirements] == [
        ("referral", "tx.small"),
        ("referral", "tx.large"),
    ]
    assert [(lim.visits, lim.source) for lim in d.limits] == [(20, "tx.small"), (12, "tx.large")]
    assert [r.id for r in d.rules_applied] == ["tx.small", "acme.policy", "tx.large"]
    assert d.trace == [
        t.model_copy(update={"reason": f"[{COVERAGE_LABELS[p.coverage]}] {t.reason}"})
        for p in parts
        for t in p.trace
    ]
    assert d.missing[0] == EMPLOYER_QUESTION
    assert d.missing[1:] == list(dict.fromkeys(m for p in parts for m in p.missing))
    assert d.warnings == list(dict.fromkeys(w for p in parts for w in p.warnings))
    assert d.warnings.count(d.warnings[0]) == 1
    assert d.read_as == ["'employer plan' read as an employer plan, size and funding unknown"]
    # the oldest verification of the three; evidence from the latest start to the earliest end
    assert d.freshness.oldest_verified == date(2026, 6, 1)
    assert [(p.evidence.earliest, p.evidence.latest) for p in parts] == [
        (date(2020, 1, 1), date(2024, 6, 30)),
        (date(2021, 1, 1), date(2024, 12, 31)),
        (date(2020, 1, 1), date(2024, 12, 31)),
    ]
    assert (d.evidence.earliest, d.evidence.latest, d.evidence.extrapolated) == (
        date(2021, 1, 1),
        date(2024, 6, 30),
        False,
    )


def test_one_status_for_every_kind_is_said_once(data: Data) -> None:
    d = ask(data, "employer", state=None)  # without a state, every kind depends on its plan
    parts = [ask(data, kind, state=None) for kind in KINDS]
    assert {p.status for p in parts} == {d.status}
    # one status, but not one reason: each kind says its own
    assert len({p.benefit.summary for p in parts}) == 3
    assert d.benefit.status == "conditional"
    assert d.benefit.summary == "; ".join(
        f"{COVERAGE_LABELS[p.coverage]}: {p.benefit.summary}" for p in parts
    )
    assert d.summary == (
        f"Employer plan, size and funding unknown — {MARKS[d.status]} whichever kind it is (small group, "
        "large group or self-funded); see each possibility."
    )


def test_the_question_asked_is_kept(data: Data) -> None:
    d = ask(data, "employer plan", visits_used=3, payer="acme PPO")
    assert (d.condition, d.visits_used, d.plan_type, d.payer, d.state) == ("sciatica", 3, "PPO", "acme", "TX")
    assert (d.plan, d.plan_id, d.plan_counts, d.ignored) == (None, None, None, [])


def test_no_evidence_in_any_kind_leaves_the_span_empty(data: Data) -> None:
    d = ask(data, "employer plan", state="NY", payer=None)
    assert [a.status for a in d.alternatives] == ["unknown", "unknown", "conditional"]
    assert (d.evidence.earliest, d.evidence.latest, d.evidence.extrapolated) == (None, None, False)
    assert d.freshness.oldest_verified is None
