"""Reading what clerks type: coverage as on the card, payer names, dates; and `values`."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage_lookup import InputError, check
from coverage_lookup.api import get_dataset
from coverage_lookup.cli import main
from coverage_lookup.dataset import name_key
from coverage_lookup.vocabulary import accepted_values, read_coverage, read_date, read_payer, split_plan_type
from tests.conftest import TODAY

DS = get_dataset()

# The nine card-style rows a clerk typed, all of which were refused before.
CARD_ROWS: list[tuple[dict[str, Any], str, str | None]] = [
    ({"coverage": "Medi-Cal"}, "medicaid", "CA"),
    ({"coverage": "Medicare Part B"}, "medicare", None),
    ({"coverage": "marketplace", "state": "TX"}, "individual", "TX"),
    ({"coverage": "employer", "state": "TX"}, "employer", "TX"),
    ({"coverage": "MassHealth"}, "medicaid", "MA"),
    ({"coverage": "Apple Health"}, "medicaid", "WA"),
    ({"coverage": "workers' comp", "state": "CA"}, "workers_comp", "CA"),
    ({"coverage": "employer", "payer": "BCBS of Texas"}, "employer", "TX"),
    ({"coverage": "employer", "payer": "Aetna PPO", "state": "NY"}, "employer", "NY"),
]


@pytest.mark.parametrize(("kw", "coverage", "state"), CARD_ROWS)
def test_the_nine_card_rows_get_answers(kw: dict[str, Any], coverage: str, state: str | None) -> None:
    d = check(condition="sciatica", service_date="3/1/2024", today=TODAY, **kw)
    assert (d.coverage, d.state) == (coverage, state)
    assert d.status in ("covered", "not_covered", "conditional", "unknown")
    assert d.service_date == date(2024, 3, 1)


class TestCoverage:
    @pytest.mark.parametrize(
        ("typed", "coverage", "state"),
        [
            ("Medi-Cal", "medicaid", "CA"),
            ("MEDI CAL", "medicaid", "CA"),
            ("TennCare", "medicaid", "TN"),
            ("SoonerCare", "medicaid", "OK"),
            ("MO HealthNet", "medicaid", "MO"),
            ("AHCCCS", "medicaid", "AZ"),
            ("KanCare", "medicaid", "KS"),
            ("BadgerCare Plus", "medicaid", "WI"),
            ("Original Medicare", "medicare", None),
            ("Part C", "medicare_advantage", None),
            ("Obamacare", "individual", None),
            ("ACA", "individual", None),
            ("exchange", "individual", None),
            ("Tricare", "tricare", None),
            ("Champus", "tricare", None),
            ("VA", "va", None),
            ("federal employee", "fehb", None),
            ("Workers Compensation", "workers_comp", None),
            ("self funded", "self_funded", None),
            ("large_group", "large_group", None),
        ],
    )
    def test_card_names(self, typed: str, coverage: str, state: str | None) -> None:
        r = read_coverage(DS, typed)
        assert (r.coverage, r.state) == (coverage, state)

    def test_a_program_name_says_how_it_was_read(self) -> None:
        assert read_coverage(DS, "Medi-Cal").said == "'Medi-Cal' read as Medicaid in CA"
        assert read_coverage(DS, "medicaid").said is None

    def test_a_program_sets_its_state_over_another_given(self) -> None:
        d = check("Medi-Cal", state="NV", condition="sciatica", service_date="2024-03-01", today=TODAY)
        assert d.state == "CA"
        assert "'Medi-Cal' is a program of CA; the answer is for CA, not the state given (NV)" in d.warnings

    def test_unknown_coverage_is_refused_with_suggestions(self) -> None:
        with pytest.raises(InputError) as e:
            read_coverage(DS, "Medi Kal")
        assert e.value.field == "coverage" and (e.value.hint or "").startswith("did you mean 'Medi-Cal'")
        assert "coverage-lookup values coverage" in e.value.valid

    def test_names_shared_by_states_do_not_pick_one(self) -> None:
        for shared in ("All Kids", "Healthy Families", "CHIP"):
            with pytest.raises(InputError):
                read_coverage(DS, shared)

    def test_every_program_name_is_cited_and_unique(self) -> None:
        seen: dict[str, str] = {}
        assert DS.vocabulary is not None
        states = {e.state for e in DS.vocabulary.coverage if e.state}
        assert len(states) == 51  # every state and DC has at least one program name
        for entry in DS.vocabulary.coverage:
            if entry.official:
                assert entry.citations and entry.last_verified is not None
            for name in entry.names:
                key = name_key(name)
                assert (
                    seen.setdefault(key, f"{entry.coverage}/{entry.state}")
                    == f"{entry.coverage}/{entry.state}"
                )


class TestEmployer:
    def test_each_possibility_side_by_side_and_what_to_ask(self) -> None:
        d = check("employer plan", state="TX", condition="sciatica", service_date="2024-03-01", today=TODAY)
        assert [a.coverage for a in d.alternatives] == ["small_group", "large_group", "self_funded"]
        for alt in d.alternatives:
            alone = check(
                alt.coverage, state="TX", condition="sciatica", service_date="2024-03-01", today=TODAY
            )
            assert (alt.status, alt.summary) == (alone.status, alone.summary)
        assert d.missing[0].startswith("is the employer plan self-funded or fully insured")
        assert "administered by" in d.missing[0]

    def test_the_status_is_shared_or_depends(self) -> None:
        d = check("employer", state="CA", condition="sciatica", service_date="2024-03-01", today=TODAY)
        statuses = {a.status for a in d.alternatives}
        assert d.status == (statuses.pop() if len(statuses) == 1 else "conditional")


class TestPayers:
    @pytest.mark.parametrize(
        ("typed", "pid", "known", "states", "plan_type"),
        [
            ("Blue Cross Blue Shield of Texas", "hcsc_tx", False, ["TX"], None),
            ("BCBS of Texas", "hcsc_tx", False, ["TX"], None),
            ("Aetna PPO", "aetna", True, [], "PPO"),
            ("aetna hmo plan", "aetna", True, [], "HMO"),
            ("UHC", "unitedhealthcare", True, [], None),
            ("Kaiser Permanente NW", "kaiser", True, ["OR"], None),
            ("Highmark BCBS", "highmark", True, ["PA", "DE", "WV", "NY"], None),
            ("Florida Blue", "floridablue", False, ["FL"], None),
        ],
    )
    def test_card_names(
        self, typed: str, pid: str, known: bool, states: list[str], plan_type: str | None
    ) -> None:
        r = read_payer(DS, typed)
        assert (r.id, r.known, r.plan_type) == (pid, known, plan_type)
        assert set(states) <= set(r.states)

    def test_a_brand_that_is_one_kind_of_coverage(self) -> None:
        assert read_payer(DS, "United Healthcare Community Plan").implies_coverage == "medicaid"
        d = check(
            "large_group", payer="Aetna Better Health", state="OH", condition="sciatica", service_date="2024-03-01",
            today=TODAY,
        )  # fmt: skip
        assert any("is a Medicaid brand, but the coverage given is" in w for w in d.warnings)

    def test_the_payer_state_fills_a_missing_state(self) -> None:
        d = check(
            "large_group", payer="BCBS of Texas", condition="sciatica", service_date="2024-03-01", today=TODAY
        )
        assert d.state == "TX" and d.payer == "hcsc_tx"
        assert "state TX taken from the payer Blue Cross and Blue Shield of Texas" in d.read_as
        other = check(
            "large_group", payer="BCBS of Texas", state="CA", condition="sciatica", service_date="2024-03-01",
            today=TODAY,
        )  # fmt: skip
        assert other.state == "CA"
        assert any("sells plans in TX" in w for w in other.warnings)

    def test_plan_types(self) -> None:
        assert split_plan_type("Cigna EPO") == ("Cigna", "EPO")
        assert split_plan_type("Kaiser Permanente HMO plan") == ("Kaiser Permanente", "HMO")
        assert split_plan_type("PPO") == ("PPO", None)  # a plan type alone is not a payer
        assert split_plan_type("Aetna") == ("Aetna", None)


class TestDates:
    @pytest.mark.parametrize("typed", ["2024-03-01", "2024-3-1", "03/01/2024", "3/1/2024", " 3/1/2024 "])
    def test_forms_clerks_type(self, typed: str) -> None:
        assert read_date(typed) == date(2024, 3, 1)

    @pytest.mark.parametrize(
        "typed", ["3/1/24", "2024/03/01", "13/01/2024", "2/30/2024", "March 1", "20240301"]
    )
    def test_refused_with_the_forms(self, typed: str) -> None:
        with pytest.raises(InputError) as e:
            read_date(typed)
        assert e.value.field == "service_date" and "MM/DD/YYYY" in e.value.valid

    @given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
    def test_us_and_iso_forms_agree(self, d: date) -> None:
        assert read_date(f"{d.month}/{d.day}/{d.year}") == read_date(d.isoformat()) == d

    def test_the_cli_takes_them_too(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert (
            main(
                ["check", "--coverage", "Medi-Cal", "--condition", "sciatica", "--date", "3/1/2024", "--json"]
            )
            == 0
        )
        out = json.loads(capsys.readouterr().out)
        assert (out["service_date"], out["state"], out["coverage"]) == ("2024-03-01", "CA", "medicaid")


class TestValues:
    @pytest.mark.parametrize(
        "kind", ["coverage", "providers", "procedures", "conditions", "payers", "states"]
    )
    def test_every_kind_lists_values_with_aliases(self, kind: str) -> None:
        items = accepted_values(kind)
        assert items and all({"value", "label", "aliases"} <= set(i) for i in items)

    def test_coverage_lists_types_employer_and_programs(self) -> None:
        items = {i["value"]: i for i in accepted_values("coverage")}
        assert "Medicare Part B" in items["medicare"]["aliases"]
        assert items["Medi-Cal"]["state"] == "CA"
        assert "employer" in items

    def test_cli(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["values", "payers", "--json"]) == 0
        payers = {p["value"]: p for p in json.loads(capsys.readouterr().out)}
        assert payers["aetna"]["in_dataset"] and not payers["hcsc_tx"]["in_dataset"]
        assert main(["values", "providers"]) == 0
        assert "licensed_acupuncturist — licensed acupuncturist" in capsys.readouterr().out
        with pytest.raises(SystemExit):
            main(["check", "--help"])
        assert "`coverage-lookup values`" in " ".join(capsys.readouterr().out.split())


def test_the_card_names_the_payer_not_its_id(capsys: pytest.CaptureFixture[str]) -> None:
    d = check("employer", payer="BCBS of Texas", condition="sciatica", service_date="3/1/2024", today=TODAY)
    assert (d.payer, d.payer_name) == ("hcsc_tx", "Blue Cross and Blue Shield of Texas")
    assert (
        main(
            [
                "check",
                "--coverage",
                "large group",
                "--payer",
                "UHC",
                "--state",
                "TX",
                "--condition",
                "sciatica",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.splitlines()[0].endswith("· payer UnitedHealthcare")
