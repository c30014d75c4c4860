"""What the engine says, word for word, in each of its paths (a fact missing from the question, a rule
missing from the dataset, a fallback, a layer that does not govern, limits and requirements carried
onto the card): a changed or dropped word is a failing test."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from coverage_lookup import Determination, check
from tests.conftest import TODAY
from tests.test_engine_synthetic import Data, provision, rule


@pytest.fixture
def data(tmp_path: Path) -> Data:
    return Data(tmp_path)


def test_a_fact_missing_from_the_question(data: Data) -> None:
    data.state(
        "TX", ehb_benchmark=rule("ehb_benchmark", ["individual"], provision("covered"), aspect="benefit")
    )
    d = data.ask(coverage="individual", state="TX")
    assert d.medical_necessity.summary == (
        "which indications the payer accepts depends on facts not in the query (payer): payer medical policy"
    )
    assert d.missing == ["payer"]
    b = data.ask(coverage="large_group")
    assert b.benefit.summary == (
        "whether the plan includes acupuncture depends on facts not in the query (plan_id, state): "
        "plan benefit; state insurance law"
    )
    assert b.missing == ["plan_id", "state", "payer"]


def test_a_rule_missing_from_the_dataset(data: Data) -> None:
    data.state("CA", medicaid=rule("state_medicaid", ["medicaid"], provision("covered")))
    d = data.ask(coverage="medicaid", state="NY")
    assert d.benefit.summary == (
        "the dataset has no researched rule in effect on 2024-03-01 for Medicaid (state Medicaid program for NY; "
        "federal Medicaid baseline)"
    )
    assert d.missing == [
        "no researched rule: state Medicaid program for NY",
        "no researched rule: federal Medicaid baseline",
    ]


def test_the_fallback_with_and_without_a_state(data: Data) -> None:
    data.federal("base", floor=rule("medicaid_baseline", ["medicaid"], provision("conditional", None, "opt")))
    named = data.ask(coverage="medicaid", state="NY")
    assert named.benefit.summary == (
        "no researched state Medicaid program rule for NY yet; the federal baseline only says: conditional (opt)"
    )
    assert named.missing == ["no researched state Medicaid program rule for NY yet"]
    unnamed = data.ask(coverage="medicaid")
    assert unnamed.missing == ["state (Medicaid is run by each state)"]
    assert unnamed.benefit.summary == "conditional (opt)"


def test_layers_that_do_not_govern_a_coverage_say_why(data: Data) -> None:
    data.state(
        "CA",
        state_law=rule("state_law", ["medicaid", "large_group"], provision("covered"), aspect="benefit"),
        medicaid=rule("state_medicaid", ["medicaid"], provision("covered")),
    )
    d = data.ask(coverage="medicaid", state="CA")
    assert [(t.decision, t.reason) for t in d.trace if t.rule == "ca.state_law"] == [
        ("skipped", "the state insurance law layer does not govern Medicaid")
    ]
    s = data.ask(coverage="self_funded", state="CA")
    assert [(t.decision, t.reason) for t in s.trace if t.rule == "ca.state_law"] == [
        (
            "skipped",
            "state insurance law does not reach self-funded employer plans (ERISA preempts it); "
            "the plan document decides",
        )
    ]
    assert (
        "state insurance law does not reach self-funded employer plans (ERISA preempts it); " in s.warnings[0]
    )
    assert not any("ERISA" in w for w in d.warnings)


def limited(**limit: object) -> dict[str, object]:
    p = provision("covered", None, "back")
    p["requirements"] = [{"kind": "chronicity", "weeks": 12, "text": "12 weeks or more"}]
    p["limits"] = [{"visits": 10, "per": "calendar_year", **limit}]
    return p


def test_requirements_and_limits_carry_every_field(data: Data) -> None:
    data.federal(
        "t",
        a=rule(
            "tricare",
            ["tricare"],
            limited(extra_visits_with_improvement=2, shared_with=["chiropractic"], note="per member"),
        ),
    )
    d = data.ask(coverage="tricare", visits_used=4)
    assert [(r.kind, r.weeks, r.text, r.source) for r in d.requirements] == [
        ("chronicity", 12, "12 weeks or more", "t.a")
    ]
    lim = d.limits[0]
    assert (lim.visits, lim.per, lim.extra_visits_with_improvement, lim.shared_with, lim.note) == (
        10,
        "per calendar year",
        2,
        ["chiropractic"],
        "per member",
    )
    assert (lim.remaining, lim.remaining_with_improvement, lim.more_with, lim.source) == (6, 8, None, "t.a")
    grace = data.ask(coverage="tricare", visits_used=11)
    assert grace.status == "conditional"
    assert grace.benefit.summary.startswith(
        "11 visits used reaches the 10 per calendar year; up to 2 more are covered only with documented improvement."
    )
    assert ("documented_improvement", "document improvement to continue past visit 10") in [
        (r.kind, r.text) for r in grace.requirements
    ]
    over = data.ask(coverage="tricare", visits_used=12)
    assert over.status == "not_covered"
    assert over.benefit.summary == (
        "visit limit exhausted: 12 visits used; the limit is 10 per calendar year plus 2 with documented "
        "improvement. covered (back)"
    )
    assert over.limits == [] and over.requirements == []


def test_a_hard_cap_without_extra_visits_says_so(data: Data) -> None:
    data.federal("t", a=rule("tricare", ["tricare"], limited()))
    d = data.ask(coverage="tricare", visits_used=10)
    assert (
        d.benefit.summary
        == "visit limit exhausted: 10 visits used; the limit is 10 per calendar year. covered (back)"
    )


def test_more_visits_by_approval_put_the_requirement_on_the_card(data: Data) -> None:
    data.federal(
        "t", a=rule("tricare", ["tricare"], limited(more_with="prior_authorization", note="ask the plan"))
    )
    d = data.ask(coverage="tricare", visits_used=10)
    assert d.status == "conditional"
    assert d.benefit.summary.startswith(
        "10 visits used reaches the limit of 10 per calendar year; more visits need prior authorization "
        "(e.g. a treatment authorization request). covered (back)"
    )
    assert [(r.kind, r.text) for r in d.requirements if r.kind == "prior_authorization"] == [
        (
            "prior_authorization",
            "past visit 10 per calendar year: more visits need prior authorization (e.g. a treatment "
            "authorization request) (ask the plan)",
        )
    ]


def test_an_extrapolated_rule_says_so_in_the_trace(data: Data) -> None:
    v = rule("tricare", ["tricare"], provision("covered"))
    v["versions"][0].update({"effective": "2019-05-01", "effective_basis": "evidenced_from"})
    data.federal("t", a=v)
    d = data.ask(coverage="tricare", service_date="2016-05-01")
    assert [t.reason for t in d.trace if t.decision == "applied"] == [
        "covered: covered (p) [extrapolated: this version's evidence runs from 2019-05-01 onward]"
    ]
    assert d.warnings == [
        "evidence from 2019-05-01 onward; this answer assumes the rules were the same on 2016-05-01"
    ]


def skipped_reasons(d: Determination, rule_id: str) -> list[str]:
    return [t.reason for t in d.trace if t.rule == rule_id and t.decision == "skipped"]


@pytest.mark.parametrize(
    ("bounds", "said"),
    [({"max": 17}, "0-17"), ({"min": 65}, "65-any"), ({"min": 18, "max": 64}, "18-64")],
)
def test_an_age_bound_the_query_misses_is_said_with_both_ends(
    data: Data, bounds: dict[str, int], said: str
) -> None:
    p = provision("covered", None, "p")
    p["age"] = bounds
    data.federal("t", a=rule("tricare", ["tricare"], p))
    d = data.ask(coverage="tricare", age=70 if "max" in bounds else 10)
    assert skipped_reasons(d, "t.a") == [
        f"no provision of the version effective 2015-01-01 matches: provision 'p' is for ages {said}"
    ]


def test_provisions_for_other_procedures_are_listed(data: Data) -> None:
    p = provision("covered", None, "estim")
    p["procedures"] = ["97813", "97814"]
    data.federal("t", a=rule("tricare", ["tricare"], p))
    d = data.ask(coverage="tricare", procedure="97810")
    assert skipped_reasons(d, "t.a") == [
        "no provision of the version effective 2015-01-01 matches: provision 'estim' is for procedures 97813, 97814"
    ]


def test_every_outranked_rule_in_a_layer_is_traced_once(data: Data) -> None:
    """Three national rules in one layer tie on specificity: the strictest decides, the other two are each
    traced as outranked exactly once, whichever order they are read in."""
    data.federal(
        "t",
        a=rule("tricare", ["tricare"], provision("covered")),
        b=rule("tricare", ["tricare"], provision("not_covered")),
        c=rule("tricare", ["tricare"], provision("conditional")),
    )
    d = data.ask(coverage="tricare")
    assert d.status == "not_covered"
    outranked = sorted((t.rule, t.reason) for t in d.trace if t.decision == "outranked")
    assert outranked == [
        ("t.a", "a more specific or more restrictive rule in the same layer decides (covered)"),
        ("t.c", "a more specific or more restrictive rule in the same layer decides (conditional)"),
    ]


def capped(data: Data, **limit: object) -> Data:
    p = provision("covered", None, "p")
    p["limits"] = [{"visits": 12, "per": "calendar_year", **limit}]
    return data.federal("t", a=rule("tricare", ["tricare"], p))


@pytest.mark.parametrize(("note", "tail"), [("a TAR per 8 visits", " (a TAR per 8 visits)"), (None, "")])
def test_past_the_limit_and_its_extra_visits_the_cap_counts_both(
    data: Data, note: str | None, tail: str
) -> None:
    capped(data, extra_visits_with_improvement=8, more_with="prior_authorization", note=note)
    d = data.ask(coverage="tricare", visits_used=20)
    assert d.status == "conditional"
    assert d.benefit.summary.startswith("20 visits used reaches the limit of 20 per calendar year; ")
    assert [r.text for r in d.requirements if r.kind == "prior_authorization"] == [
        "past visit 20 per calendar year: more visits need prior authorization (e.g. a treatment "
        "authorization request)" + tail
    ]


def test_remaining_with_improvement_stops_at_zero(data: Data) -> None:
    """Past the cap with a review route the answer stays conditional and shows the limit at zero."""
    capped(data, extra_visits_with_improvement=8, more_with="medical_necessity")
    (lim,) = data.ask(coverage="tricare", visits_used=25).limits
    assert (lim.remaining, lim.remaining_with_improvement) == (0, 0)
    (lim,) = data.ask(coverage="tricare", visits_used=19).limits
    assert (lim.remaining, lim.remaining_with_improvement) == (0, 1)


def test_a_requirement_keeps_its_weeks(data: Data) -> None:
    p = provision("covered", None, "p")
    p["requirements"] = [{"kind": "chronicity", "text": "pain for 12 weeks", "weeks": 12}]
    data.federal("t", a=rule("tricare", ["tricare"], p))
    d = data.ask(coverage="tricare")
    assert [(r.kind, r.weeks, r.source) for r in d.requirements] == [("chronicity", 12, "t.a")]


@pytest.mark.parametrize("outcome", ["covered", "conditional"])
def test_a_provisions_own_provider_list_binds_covered_and_conditional_routes(
    data: Data, outcome: str
) -> None:
    p = provision(outcome, None, "p")
    p["providers"] = [{"type": "physician"}]
    data.federal("t", a=rule("tricare", ["tricare"], p))
    assert data.ask(coverage="tricare", provider="chiropractor").status == "not_covered"
    assert data.ask(coverage="tricare", provider="physician").status == outcome


def test_a_rule_not_yet_in_force_names_its_first_version(data: Data) -> None:
    doc = rule("tricare", ["tricare"], provision("covered"))
    doc["versions"][0]["effective"] = "2025-01-01"
    data.federal("t", a=doc)
    d = data.ask(coverage="tricare")
    assert skipped_reasons(d, "t.a") == [
        "not yet in effect on 2024-03-01 (first version effective 2025-01-01)"
    ]


def test_a_rule_for_other_procedures_lists_them(data: Data) -> None:
    doc = rule("tricare", ["tricare"], provision("covered"))
    doc["scope"]["procedures"] = ["97813", "97814"]
    data.federal("t", a=doc)
    d = data.ask(coverage="tricare", procedure="97810")
    assert skipped_reasons(d, "t.a") == ["covers procedures 97813, 97814, not 97810"]


def test_every_provision_that_misses_is_said(data: Data) -> None:
    data.federal(
        "t",
        a=rule(
            "tricare",
            ["tricare"],
            provision("covered", ["migraine"], "m"),
            provision("covered", ["neck_pain", "tmd"], "n"),
        ),
    )
    d = data.ask(coverage="tricare", condition="sciatica")
    assert skipped_reasons(d, "t.a") == [
        "no provision of the version effective 2015-01-01 matches: provision 'm' is for migraine; "
        "provision 'n' is for neck_pain, tmd"
    ]


def test_an_exclusion_sees_the_condition_named_without_a_diagnosis(data: Data) -> None:
    p = provision("covered", None, "p")
    p["excluding"] = ["sciatica"]
    data.federal("t", a=rule("tricare", ["tricare"], p))
    d = data.ask(coverage="tricare", condition="sciatica")
    assert skipped_reasons(d, "t.a") == [
        "no provision of the version effective 2015-01-01 matches: provision 'p' does not apply with Sciatica"
    ]


def test_an_exclusion_names_every_excluded_condition(data: Data) -> None:
    p = provision("covered", ["chronic_low_back_pain"], "p")
    p["excluding"] = ["sciatica", "migraine"]
    data.federal("t", a=rule("tricare", ["tricare"], p))
    d = data.ask(coverage="tricare", condition=None, diagnosis=["M54.50", "M54.41", "G43.909"])
    assert (
        "no provision of the version effective 2015-01-01 matches: provision 'p' does not apply with "
        "Migraine, Sciatica"
    ) in skipped_reasons(d, "t.a")


def test_grant_layers_at_the_same_outcome_each_give_their_reason(data: Data) -> None:
    data.state(
        "TX",
        law=rule("state_law", ["individual"], provision("covered", None, "law"), aspect="benefit"),
        ehb=rule("ehb_benchmark", ["individual"], provision("covered", None, "ehb"), aspect="benefit"),
    )
    d = data.ask(coverage="individual", state="TX")
    assert (d.benefit.summary, d.benefit.decided_by) == ("covered (law) covered (ehb)", ["tx.law", "tx.ehb"])


def test_an_unresolved_payer_does_not_make_the_state_count_as_missing(data: Data) -> None:
    """The payer's policy is not in the dataset for this coverage: only the payer layer is treated as
    unanswered; the state was given, so its missing law is a gap in the dataset, not in the question."""
    data.payer(
        "acme", p=rule("payer_policy", ["individual"], provision("covered"), aspect="medical_necessity")
    )
    d = data.ask(coverage="large_group", state="CA", payer="acme")
    assert (d.benefit.status, d.benefit.summary) == (
        "unknown",
        "the dataset has no researched rule in effect on 2024-03-01 for large-group employer plan (fully "
        "insured) (state insurance law for CA)",
    )
    assert d.missing == [
        "plan_id",
        "no researched rule: state insurance law for CA",
        "Acme's own medical policy for acupuncture is not in the dataset",
    ]


def test_the_trace_shows_unreachable_layers_but_not_other_coverages_rules(data: Data) -> None:
    """A self-funded plan's trace says why state law does not reach it; a TRICARE rule has no place there."""
    data.state("TX", law=rule("state_law", ["large_group"], provision("covered"), aspect="benefit"))
    data.federal("t", a=rule("tricare", ["tricare"], provision("covered")))
    d = data.ask(coverage="self_funded", state="TX")
    assert sorted({t.rule for t in d.trace}) == ["tx.law"]


def test_a_payer_named_for_a_coverage_without_a_payer_layer_adds_no_payer_note(data: Data) -> None:
    data.federal("t", a=rule("tricare", ["tricare"], provision("covered")))
    data.payer(
        "acme", p=rule("payer_policy", ["individual"], provision("covered"), aspect="medical_necessity")
    )
    d = data.ask(coverage="tricare", payer="acme")
    assert d.status == "covered"
    assert not [m for m in d.missing if "Acme" in m]
    assert not [t for t in d.trace if t.rule == "acme.p"]


def test_an_applied_rule_in_its_evidence_has_no_extrapolation_note(data: Data) -> None:
    data.federal("t", a=rule("tricare", ["tricare"], provision("covered")))
    d = data.ask(coverage="tricare")
    assert [t.reason for t in d.trace if t.decision == "applied"] == ["covered: covered (p)"]


def test_an_extrapolated_version_with_a_successor_gives_both_ends_of_its_evidence(data: Data) -> None:
    """Evidenced only from 2019-05-01 and followed by a version of unknown start evidenced from 2022:
    a date after the first version's last evidence is extrapolated, and the span has its end."""
    v = rule("tricare", ["tricare"], provision("covered"))
    first = v["versions"][0]
    first.update(
        {"effective": "2019-05-01", "effective_basis": "evidenced_from", "evidenced_until": "2020-06-30"}
    )
    later = {**first, "effective": "2022-01-01", "provisions": [provision("not_covered")]}
    del later["evidenced_until"]
    v["versions"].append(later)
    data.federal("t", a=v)
    d = data.ask(coverage="tricare", service_date="2021-03-01")
    assert [t.reason for t in d.trace if t.decision == "applied"] == [
        "covered: covered (p) [extrapolated: this version's evidence runs from 2019-05-01 to 2020-06-30]"
    ]


def test_an_answer_no_rule_supports_has_no_evidence_span_and_no_extrapolation(data: Data) -> None:
    data.state("CA", medicaid=rule("state_medicaid", ["medicaid"], provision("covered")))
    d = data.ask(coverage="medicaid", state="NY")
    assert d.status == "unknown"
    assert (d.evidence.extrapolated, d.evidence.earliest, d.evidence.latest) == (False, None, None)
    assert d.warnings == []


@pytest.mark.parametrize(("days", "warned"), [(0, False), (1, True)])
def test_today_before_the_last_verification_is_warned_from_the_day_after(
    data: Data, days: int, warned: bool
) -> None:
    data.federal("t", a=rule("tricare", ["tricare"], provision("covered")))
    today = date.fromisoformat("2026-11-01") - timedelta(days=days)  # the rules' last_verified
    d = check(
        coverage="tricare", condition="sciatica", service_date="2024-03-01", data_dir=data.root, today=today
    )
    assert today < TODAY
    assert [w for w in d.warnings if w.startswith("'today'")] == (
        [
            f"'today' ({today.isoformat()}) is earlier than the data's last verification (2026-11-01); "
            "the answer uses the rules as recorded then"
        ]
        if warned
        else []
    )


@pytest.mark.parametrize(
    ("coverage", "given", "said"),
    [
        ("tricare", {"state": "TX", "payer": "acme"}, "the state (TX) and payer (acme) do not change this answer: "
         "TRICARE is decided by the TRICARE program rules"),
        ("va", {"state": "TX"}, "the state (TX) does not change this answer: VA health care is decided by the VA "
         "program rules"),
        ("medicare", {"payer": "acme"}, "the payer (acme) does not change this answer: Original Medicare (Part B) is decided by the "
         "Medicare national coverage determination"),
        ("medicare_advantage", {"state": "TX"}, "the state (TX) does not change this answer: Medicare Advantage "
         "(Part C) is decided by the plan benefit, Medicare national coverage determination and Medicare "
         "Advantage supplemental benefit"),
    ],
)  # fmt: skip
def test_fields_that_cannot_change_the_answer_are_named_with_what_decides_it(
    data: Data, coverage: str, given: dict[str, str], said: str
) -> None:
    """Found by a surviving mutant: the message once pluralised every label ("program ruless")."""
    for layer in ("tricare", "va", "ncd"):
        covs = {"ncd": ["medicare", "medicare_advantage"]}.get(layer, [layer])
        data.federal(layer, a=rule(layer, covs, provision("covered")))
    data.payer(
        "acme", p=rule("payer_policy", ["individual"], provision("covered"), aspect="medical_necessity")
    )
    d = data.ask(coverage=coverage, **given)
    assert d.warnings == [said]


class TestSummaryHead:
    """The answer's first line, word for word: status, coverage, state, procedure, indication, date, then
    each deciding aspect's reason as a sentence (the first continuing the head, the next capitalised)."""

    @pytest.fixture
    def tx(self, data: Data) -> Data:
        data.state(
            "TX", law=rule("state_law", ["individual"], provision("covered", None, "law"), aspect="benefit")
        )
        data.payer(
            "acme",
            p=rule(
                "payer_policy", ["individual"], provision("covered", None, "acme"), aspect="medical_necessity"
            ),
        )
        return data

    @pytest.mark.parametrize(
        ("given", "indication"),
        [
            ({"condition": "sciatica"}, "sciatica"),
            ({"condition": None, "diagnosis": ["M54.41"]}, "M54.41 (sciatica)"),
            ({"condition": None, "diagnosis": ["G44.209"]}, "G44.209 (headache, tension-type headache)"),
            ({"condition": None, "diagnosis": ["J06.9"]}, "J06.9 (in none of the named condition sets)"),
        ],
    )
    def test_the_head_names_state_indication_and_both_reasons(
        self, tx: Data, given: dict[str, object], indication: str
    ) -> None:
        d = tx.ask(coverage="individual", state="TX", payer="acme", **given)
        assert d.summary == (
            "Covered: individual-market plan in TX, acupuncture without electrical stimulation (97810) for "
            f"{indication} on 2024-03-01 — covered (law). Covered (acme)."
        )

    @pytest.mark.parametrize("stop", [".", "?", "!"])
    def test_a_reason_that_ends_a_sentence_keeps_its_own_stop(self, data: Data, stop: str) -> None:
        p = provision("covered", None, "p")
        p["summary"] = f"covered when chronic{stop}"
        data.federal("t", a=rule("tricare", ["tricare"], p))
        d = data.ask(coverage="tricare")
        assert d.summary.endswith(f" — covered when chronic{stop}")


@pytest.mark.parametrize(("days", "stale"), [(365, False), (366, True)])
def test_an_answer_is_stale_once_its_oldest_verification_is_over_a_year_old(
    data: Data, days: int, stale: bool
) -> None:
    doc = rule("tricare", ["tricare"], provision("covered"))
    doc["versions"][0]["last_verified"] = (TODAY - timedelta(days=days)).isoformat()
    data.federal("t", a=doc)
    d = data.ask(coverage="tricare")
    assert (d.freshness.age_days, d.freshness.stale) == (days, stale)


def test_an_answer_no_rule_supports_has_no_freshness(data: Data) -> None:
    data.state("CA", medicaid=rule("state_medicaid", ["medicaid"], provision("covered")))
    d = data.ask(coverage="medicaid", state="NY")
    assert (d.freshness.oldest_verified, d.freshness.age_days, d.freshness.stale) == (None, None, False)


def test_a_payer_policy_held_for_some_states_is_not_said_to_miss_a_state_when_none_is_given(
    data: Data,
) -> None:
    policy = rule("payer_policy", ["large_group"], provision("covered"), aspect="medical_necessity")
    doc = {
        "title": "acme",
        "state": "OR",
        "payer": {"id": "acme", "name": "Acme Health"},
        "rules": {"p": policy},
    }
    data.write("payers/acme.yaml", doc)
    d = data.ask(coverage="large_group", payer="Acme Health")
    assert [m for m in d.missing if "Acme" in m] == [
        "Acme Health's own medical policy for acupuncture is not in the dataset"
    ]
