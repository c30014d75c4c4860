"""The overview answer (no indication given) and several diagnoses on one claim, pinned exactly on
synthetic datasets: which indications are listed and in what order, their labels, statuses, reasons
and sources, the combined summary, and which diagnosis decides."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import TODAY
from tests.test_engine_synthetic import Data, provision, rule


@pytest.fixture
def data(tmp_path: Path) -> Data:
    return Data(tmp_path)


def two_rules(data: Data) -> Data:
    """Two TRICARE rules: one names low back pain and migraine, the other sciatica and a catch-all;
    a third, out of scope (a state rule for CA), names neck pain."""
    data.federal(
        "t",
        a=rule(
            "tricare",
            ["tricare"],
            provision("covered", ["chronic_low_back_pain"], "clbp"),
            provision("not_covered", ["migraine"], "migraine"),
        ),
        b=rule(
            "tricare",
            ["tricare"],
            provision("unknown", ["sciatica"], "sciatica"),
            provision("conditional", None, "rest"),
        ),
    )
    data.state("CA", c=rule("tricare", ["tricare"], provision("covered", ["neck_pain"], "neck")))
    return data


def test_the_overview_lists_every_named_indication_then_any_other(data: Data) -> None:
    d = two_rules(data).ask(coverage="tricare", condition=None)
    rows = [(i.condition, i.label, i.status, i.source) for i in d.indications]
    assert rows == [
        ("chronic_low_back_pain", "Chronic low back pain", "covered", "t.a"),
        ("migraine", "Migraine", "not_covered", "t.a"),
        ("sciatica", "Sciatica", "unknown", "t.b"),
        (None, "any other indication", "conditional", "t.b"),
    ]
    assert [i.summary for i in d.indications] == [
        "covered (clbp)",
        "not_covered (migraine)",
        "unknown (sciatica) Not established: what the rule says",
        "conditional (rest)",
    ]
    assert d.status == "conditional"
    assert d.summary == (
        "Depends on the indication: TRICARE on 2024-03-01 — covered for chronic low back pain, depends on "
        "the plan or facts outside the query for any other indication, not established for sciatica, "
        "not covered otherwise."
    )
    assert sorted(r.id for r in d.rules_applied) == ["t.a", "t.b"]
    assert d.freshness.oldest_verified is not None and d.evidence.earliest is not None
    assert all(t.reason.startswith("[") for t in d.trace)


def test_a_state_in_the_query_brings_its_rules_into_the_overview(data: Data) -> None:
    d = two_rules(data).ask(coverage="tricare", condition=None, state="CA")
    assert [i.condition for i in d.indications] == [
        "chronic_low_back_pain",
        "migraine",
        "sciatica",
        "neck_pain",
        None,
    ]
    neck = next(i for i in d.indications if i.condition == "neck_pain")
    assert (neck.status, neck.source) == ("covered", "ca.c")


def test_one_status_for_every_indication_is_said_once(data: Data) -> None:
    data.federal(
        "t",
        a=rule("tricare", ["tricare"], provision("not_covered", ["migraine"], "m"), provision("not_covered")),
    )
    d = data.ask(coverage="tricare", condition=None)
    assert d.status == "not_covered"
    assert d.summary == "Not covered: TRICARE on 2024-03-01, for every indication — not_covered (m)"


def test_an_indication_no_rule_answers_has_no_source(data: Data) -> None:
    data.federal("t", a=rule("tricare", ["tricare"], provision("covered", ["migraine"], "m")))
    d = data.ask(coverage="tricare", condition=None)
    other = d.indications[-1]
    assert (other.condition, other.status, other.source) == (None, "unknown", "-")


def test_the_reason_shown_is_the_stricter_aspect(data: Data) -> None:
    data.state(
        "TX",
        ehb_benchmark=rule(
            "ehb_benchmark", ["individual"], provision("covered", None, "ehb"), aspect="benefit"
        ),
    )
    data.payer(
        "acme",
        policy=rule(
            "payer_policy",
            ["individual"],
            provision("not_covered", ["migraine"], "exp"),
            provision("covered", None, "ok"),
            aspect="medical_necessity",
        ),
    )
    d = data.ask(coverage="individual", state="TX", payer="acme", condition=None)
    migraine = next(i for i in d.indications if i.condition == "migraine")
    other = d.indications[-1]
    assert (migraine.status, migraine.summary) == ("not_covered", "not_covered (exp)")
    assert (other.status, other.summary) == ("covered", "covered (ok)")
    assert migraine.source == "tx.ehb_benchmark, acme.policy"


class TestSeveralDiagnoses:
    def test_the_most_favourable_diagnosis_decides_and_the_trace_lists_each(self, data: Data) -> None:
        two_rules(data)
        d = data.ask(coverage="tricare", condition=None, diagnosis=["G43.909", "M54.50", "M54.41"])
        assert d.status == "covered"
        head = [(t.rule, t.decision, t.reason) for t in d.trace[:3]]
        assert head == [
            ("(diagnosis)", "outranked", "M54.41: unknown"),
            ("(diagnosis)", "applied", "M54.50: covered — the most favourable diagnosis decides the answer"),
            ("(diagnosis)", "outranked", "G43.909: not_covered"),
        ]
        assert d.summary.startswith(
            "Covered: TRICARE, acupuncture without electrical stimulation (97810) for G43.909, M54.50, M54.41, "
            "decided on M54.50 "
        )

    def test_on_a_tie_the_first_diagnosis_given_decides(self, data: Data) -> None:
        data.federal("t", a=rule("tricare", ["tricare"], provision("covered")))
        d = data.ask(coverage="tricare", condition=None, diagnosis=["M54.41", "M54.50"])
        applied = [
            t.reason.split(":")[0] for t in d.trace if t.rule == "(diagnosis)" and t.decision == "applied"
        ]
        assert applied == ["M54.41"]
        assert "decided on M54.41" in d.summary


# --- messages the user reads: exact, so that a changed word is a failing test ---------------------


class TestMessages:
    def test_an_excluded_provider_is_told_who_may_bill(self, data: Data) -> None:
        clbp = provision("covered", ["chronic_low_back_pain"], "clbp")
        clbp["providers"] = [{"type": "physician"}, {"type": "nurse_practitioner"}]
        data.federal("t", a=rule("tricare", ["tricare"], clbp))
        d = data.ask(coverage="tricare", provider="physical_therapist")
        assert d.status == "not_covered"
        assert d.benefit.summary == (
            "physical therapist is not among the providers who may bill under this rule "
            "(may bill: physician, nurse practitioner)."
        )

    def test_a_payer_policy_held_for_other_states_is_named(self, data: Data) -> None:
        policy = rule("payer_policy", ["large_group"], provision("covered"), aspect="medical_necessity")
        data.write(
            "payers/acme.yaml",
            {
                "title": "acme",
                "state": "OR",
                "payer": {"id": "acme", "name": "Acme Health"},
                "rules": {"p": policy},
            },
        )
        data.write(
            "payers/acme_wa.yaml",
            {
                "title": "acme",
                "state": "WA",
                "payer": {"id": "acme", "name": "Acme Health"},
                "rules": {"p": policy},
            },
        )
        d = data.ask(coverage="large_group", state="CA", payer="Acme Health")
        assert [m for m in d.missing if "Acme" in m] == [
            "Acme Health's own medical policy for acupuncture is not in the dataset for CA "
            "(it holds Acme Health's policy for OR, WA only)"
        ]
        assert d.medical_necessity.summary == (
            "which indications the payer accepts depends on the payer medical policy, and Acme Health's own "
            "medical policy for acupuncture is not established in the dataset"
        )

    def test_a_payer_policy_that_records_unknown_is_named_with_its_gap(self, data: Data) -> None:
        data.payer(
            "acme",
            p=rule("payer_policy", ["large_group"], provision("unknown"), aspect="medical_necessity"),
        )
        d = data.ask(coverage="large_group", payer="acme")
        assert [m for m in d.missing if "Acme" in m] == [
            "Acme's medical policy for acupuncture does not establish this: what the rule says"
        ]
        skipped = [t for t in d.trace if t.rule == "acme.p"]
        assert [(t.decision, t.reason) for t in skipped] == [
            (
                "skipped",
                "the payer's policy does not establish this indication; the answer is the one without the payer",
            )
        ]


class TestNormalisation:
    @pytest.mark.parametrize(
        "written", ["chronic-low-back-pain", "Chronic Low Back Pain", "chronic_low_back_pain"]
    )
    def test_condition_names_as_people_write_them(self, written: str) -> None:
        from coverage_lookup import check
        from tests.conftest import TODAY

        d = check(
            coverage="medicare",
            condition=written,
            provider="physician",
            service_date="2024-03-01",
            today=TODAY,
        )
        assert d.condition == "chronic_low_back_pain"

    def test_an_unknown_condition_names_the_valid_ones_and_the_closest(self) -> None:
        from coverage_lookup import InputError, check
        from tests.conftest import TODAY

        with pytest.raises(InputError) as err:
            check(coverage="medicare", condition="sciatika", today=TODAY)
        e = err.value
        assert (e.field, e.value, e.hint) == ("condition", "sciatika", "did you mean 'sciatica'?")
        assert e.valid.startswith("use one of cancer_pain, chemotherapy_nausea, chronic_low_back_pain")
        assert "..." not in e.valid  # all 23 condition sets are listed (the limit is 40)

    def test_a_payer_typo_is_set_aside_with_the_closest_known_name(self) -> None:
        from coverage_lookup import check
        from tests.conftest import TODAY

        d = check(coverage="large_group", payer="aetnaa", condition="neck pain", today=TODAY)
        assert d.payer is None
        assert d.warnings[0] == (
            "payer not recognised: 'aetnaa'; the answer is for the coverage without a payer's own policy "
            "(close matches: Aetna)"
        )

    def test_an_unknown_payer_becomes_a_slug_and_keeps_its_name(self) -> None:
        from coverage_lookup import check
        from tests.conftest import TODAY

        d = check(coverage="large_group", payer="Some Tiny Mutual!", condition="neck pain", today=TODAY)
        assert d.payer is None  # never turned into an id of its own
        assert d.warnings[0].startswith(
            "payer not recognised: 'Some Tiny Mutual!'; the answer is for the coverage without a payer's own policy"
        )

    def test_read_payer_refuses_blank_text(self) -> None:
        from coverage_lookup import InputError
        from coverage_lookup.api import get_dataset
        from coverage_lookup.vocabulary import read_payer

        with pytest.raises(InputError) as err:
            read_payer(get_dataset(), "   ")
        assert (err.value.field, err.value.value, err.value.valid) == (
            "payer",
            "   ",
            "give a payer's name as on the card, e.g. Aetna or 'BCBS of Texas'",
        )


# --- the overview's combined fields, pinned exactly (each assertion kills a mutant that survived) ---


def many_statuses(data: Data) -> Data:
    """Two indications per status and no `not_covered` one, so every joined list has a separator."""
    return data.federal(
        "t",
        a=rule(
            "tricare",
            ["tricare"],
            provision("covered", ["chronic_low_back_pain"], "clbp"),
            provision("covered", ["migraine"], "mig"),
            provision("conditional", ["sciatica"], "sci"),
            provision("conditional", ["neck_pain"], "neck"),
            provision("unknown", ["fibromyalgia"], "fib"),
            provision("unknown", None, "rest"),
        ),
    )


def test_the_summary_joins_several_indications_per_status_and_says_nothing_of_not_covered(data: Data) -> None:
    d = many_statuses(data).ask(coverage="tricare", condition=None)
    assert d.summary == (
        "Depends on the indication: TRICARE on 2024-03-01 — covered for chronic low back pain; migraine, "
        "depends on the plan or facts outside the query for sciatica; neck pain, not established for "
        "fibromyalgia; any other indication."
    )
    assert (d.benefit.summary, d.medical_necessity.summary) == ("see indications", "see indications")
    assert (d.benefit.status, d.medical_necessity.status) == ("conditional", "conditional")


def test_what_is_missing_is_gathered_from_every_indication_once(data: Data) -> None:
    d = many_statuses(data).ask(coverage="tricare", condition=None)
    # fibromyalgia and 'any other indication' rest on the same unknown provision: one entry, not two
    assert d.missing == ["t.a: what the rule says"]


def test_warnings_are_gathered_from_every_indication_once(data: Data) -> None:
    doc = rule("tricare", ["tricare"], provision("covered", ["migraine"], "m"), provision("not_covered"))
    doc["versions"][0]["effective_basis"] = "evidenced_from"
    data.federal("t", a=doc)
    d = data.ask(coverage="tricare", condition=None, service_date="2014-03-01")
    assert d.warnings == [
        "evidence from 2015-01-01 onward; this answer assumes the rules were the same on 2014-03-01"
    ]
    assert d.evidence.extrapolated is True


def test_freshness_of_the_overview_counts_days_from_the_oldest_verification(data: Data) -> None:
    d = many_statuses(data).ask(coverage="tricare", condition=None)
    assert (d.freshness.oldest_verified, d.freshness.age_days, d.freshness.stale) == (
        date(2026, 11, 1),
        35,
        False,
    )


@pytest.mark.parametrize(
    ("verified", "age", "stale"),
    [(TODAY, 0, False), (TODAY - timedelta(days=365), 365, False), (TODAY - timedelta(days=366), 366, True)],
)
def test_overview_staleness_at_its_bounds(data: Data, verified: date, age: int, stale: bool) -> None:
    doc = rule("tricare", ["tricare"], provision("covered", ["migraine"], "m"), provision("not_covered"))
    doc["versions"][0]["last_verified"] = verified.isoformat()
    data.federal("t", a=doc)
    d = data.ask(coverage="tricare", condition=None)
    assert (d.freshness.age_days, d.freshness.stale) == (age, stale)


def test_the_overview_evidence_ends_where_the_next_version_begins(data: Data) -> None:
    doc = rule("tricare", ["tricare"], provision("covered", ["migraine"], "m"), provision("not_covered"))
    later = {**doc["versions"][0], "effective": "2025-01-01", "provisions": [provision("not_covered")]}
    doc["versions"].append(later)
    data.federal("t", a=doc)
    d = data.ask(coverage="tricare", condition=None)
    assert (d.evidence.earliest, d.evidence.latest) == (date(2015, 1, 1), date(2024, 12, 31))


def test_the_reason_shown_is_the_benefit_when_the_benefit_is_stricter(data: Data) -> None:
    data.state(
        "TX",
        ehb_benchmark=rule(
            "ehb_benchmark",
            ["individual"],
            provision("not_covered", ["migraine"], "no-migraine"),
            provision("covered", None, "ehb"),
            aspect="benefit",
        ),
    )
    data.payer(
        "acme",
        policy=rule(
            "payer_policy", ["individual"], provision("covered", None, "ok"), aspect="medical_necessity"
        ),
    )
    d = data.ask(coverage="individual", state="TX", payer="acme", condition=None)
    migraine = next(i for i in d.indications if i.condition == "migraine")
    assert (migraine.status, migraine.summary) == ("not_covered", "not_covered (no-migraine)")


@pytest.mark.parametrize("where", ["first", "second"])
def test_a_rule_out_of_scope_or_not_yet_in_force_does_not_stop_the_listing(data: Data, where: str) -> None:
    """Rules are read in file order; one that does not apply is skipped, and the ones after it still count."""
    first = rule("tricare", ["medicare"], provision("covered", ["neck_pain"], "x"))  # another coverage
    if where == "second":
        first = rule("tricare", ["tricare"], provision("covered", ["neck_pain"], "x"))
        first["versions"][0]["effective"] = "2025-01-01"  # sourced start after the date asked
    data.federal("a", a=first)
    data.federal("t", a=rule("tricare", ["tricare"], provision("covered", ["migraine"], "m")))
    d = data.ask(coverage="tricare", condition=None)
    assert [i.condition for i in d.indications] == ["migraine", None]


def test_the_diagnosis_lines_of_the_trace_have_no_layer(data: Data) -> None:
    data.federal("t", a=rule("tricare", ["tricare"], provision("covered")))
    d = data.ask(coverage="tricare", condition=None, diagnosis=["M54.41", "M54.50"])
    assert [(t.rule, t.layer) for t in d.trace[:2]] == [("(diagnosis)", "-"), ("(diagnosis)", "-")]


def test_only_the_first_mention_of_the_deciding_code_is_rewritten(data: Data) -> None:
    """The rule's own words may name the code too; only the answer's lead-in gains the list."""
    p = provision("covered")
    p["summary"] = "covered for M54.41 when chronic"
    data.federal("t", a=rule("tricare", ["tricare"], p))
    d = data.ask(coverage="tricare", condition=None, diagnosis=["M54.41", "M54.50"])
    assert d.summary.count("for M54.41, M54.50, decided on M54.41 ") == 1
    assert d.summary.endswith("— covered for M54.41 when chronic.")
