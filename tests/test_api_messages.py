"""What a user reads when the API refuses a value, word for word, and the edges of what it accepts.

The messages are the interface for people who type values by hand (the CLI prints them on one line),
so they are pinned exactly: a dropped hint, a lost list of valid values or a changed bound shows up
here (each case was a surviving mutant)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from coverage_lookup import InputError, check
from coverage_lookup.api import _missing, get_dataset, normalize_provider
from coverage_lookup.vocabulary import read_coverage
from tests.conftest import TODAY

COVERAGE_TYPES = (
    "use one of fehb, individual, large_group, medicaid, medicare, medicare_advantage, self_funded, "
    "small_group, tricare, va, workers_comp"
)
COVERAGES = COVERAGE_TYPES + ", or a program name as on the card (coverage-lookup values coverage)"
PROVIDERS = (
    "use one of chiropractor, clinical_nurse_specialist, licensed_acupuncturist, nurse_practitioner, "
    "physical_therapist, physician, physician_assistant"
)


def refused(**kw: Any) -> InputError:
    kw.setdefault("today", TODAY)
    with pytest.raises(InputError) as e:
        check(**kw)
    return e.value


@pytest.mark.parametrize(
    ("kw", "message", "hint"),
    [
        ({"coverage": "medicre"}, f"coverage: 'medicre' is not valid; {COVERAGES} (did you mean 'medicare'?)", "did you mean 'medicare'?"),
        ({"coverage": "zzzz"}, f"coverage: 'zzzz' is not valid; {COVERAGES}", None),
        ({"coverage": 5}, f"coverage: 5 is not valid; give a coverage type as text; {COVERAGE_TYPES}", None),
        ({"coverage": float("nan")}, f"coverage: nan is not valid; {COVERAGE_TYPES}", None),
        ({"coverage": "medicare", "provider": "wizard"}, f"provider: 'wizard' is not valid; {PROVIDERS}", None),
        ({"coverage": "medicare", "provider": 7}, f"provider: 7 is not valid; give a provider type; {PROVIDERS}", None),
        ({"coverage": "medicare", "state": 3.5}, "state: 3.5 is not valid; give a state as text, e.g. CA or 'New York'", None),
        ({"coverage": "medicare", "procedure": [1]}, "procedure: [1] is not valid; give a procedure code, e.g. 97810", None),
        ({"coverage": "medicare", "visits_used": -1}, "visits_used: -1 is not valid; use a whole number of visits from 0 to 100000", None),
        ({"coverage": "medicare", "visits_used": 100_001}, "visits_used: 100001 is not valid; use a whole number of visits from 0 to 100000", None),
        ({"coverage": "medicare", "age": 131}, "age: 131 is not valid; use a whole number of years from 0 to 130", None),
        ({"coverage": "medicare", "age": -1}, "age: -1 is not valid; use a whole number of years from 0 to 130", None),
        ({"coverage": "medicare", "plan_id": [1]}, "plan_id: [1] is not valid; give the plan ID as text, e.g. 12345CA0010001-01", None),
        ({"coverage": "medicare", "service_date": 1.5}, "service_date: 1.5 is not valid; use a date (a datetime's date part is taken) or text as YYYY-MM-DD", None),
        ({"coverage": "medicare", "today": 1.5}, "today: 1.5 is not valid; use a date (a datetime's date part is taken) or text as YYYY-MM-DD", None),
        ({"coverage": "medicare", "today": "2026/12/06"}, "today: '2026/12/06' is not valid; use a date as YYYY-MM-DD, MM/DD/YYYY or M/D/YYYY (month first), e.g. 2024-03-01 or 3/1/2024", None),
        ({"coverage": "medicare", "data_dir": 5}, "data_dir: 5 is not valid; give a folder path as text or a pathlib.Path", None),
        ({"coverage": "medicare", "data_dir": "/no/such"}, "data_dir: '/no/such' is not valid; give an existing data folder (like the project's data/, with conditions.yaml)", None),
        ({"coverage": "medicare", "plan_id": "bad id!"}, "plan_id: 'bad id!' is not valid; use letters, digits, '-', '_' or '.' (up to 40), e.g. 12345CA0010001-01", None),
    ],
)  # fmt: skip
def test_refusals_word_for_word(kw: dict[str, Any], message: str, hint: str | None) -> None:
    e = refused(**kw)
    assert str(e) == message
    assert e.hint == hint


def test_a_folder_without_conditions_is_not_a_data_folder(tmp_path: Any) -> None:
    e = refused(coverage="medicare", data_dir=tmp_path)
    assert e.field == "data_dir" and e.value == tmp_path


@pytest.mark.parametrize(("field", "low", "high"), [("age", 0, 130), ("visits_used", 0, 100_000)])
def test_whole_number_bounds_are_inclusive(field: str, low: int, high: int) -> None:
    for value in (low, high, float(high)):
        d = check(
            "medicaid",
            state="CA",
            condition="sciatica",
            today=TODAY,
            service_date="2024-03-01",
            **{field: value},  # type: ignore[arg-type]
        )
        assert getattr(d, field, value) == value or field == "age"
    for value in (low - 1, high + 1):
        assert refused(coverage="medicaid", state="CA", **{field: value}).field == field


def test_the_default_date_is_today() -> None:
    assert check("medicare", diagnosis="M54.50", provider="physician", today=TODAY).service_date == TODAY
    assert check(
        "medicare",
        diagnosis="M54.50",
        provider="physician",
        today="2025-01-02",  # type: ignore[arg-type]
    ).service_date == date(2025, 1, 2)


@pytest.mark.parametrize(
    ("typed", "coverage"),
    [
        ("Large Group", "large_group"),
        ("large-group", "large_group"),
        ("  WORKERS COMP ", "workers_comp"),
        ("medicare advantage", "medicare_advantage"),
        ("Self-Funded", "self_funded"),
    ],
)
def test_coverage_spellings(typed: str, coverage: str) -> None:
    assert read_coverage(get_dataset(), typed).coverage == coverage


@pytest.mark.parametrize(
    ("typed", "provider"),
    [
        ("Licensed Acupuncturist", "licensed_acupuncturist"),
        ("licensed-acupuncturist", "licensed_acupuncturist"),
        ("L.Ac.", "licensed_acupuncturist"),
        ("LAc", "licensed_acupuncturist"),
        ("MD", "physician"),
        ("Physical Therapist", "physical_therapist"),
        ("nurse-practitioner", "nurse_practitioner"),
        (" DC ", "chiropractor"),
    ],
)
def test_provider_spellings(typed: str, provider: str) -> None:
    assert normalize_provider(typed) == provider


def test_empty_text_takes_the_default_procedure_and_provider() -> None:
    d = check(
        "medicare", diagnosis="M54.50", procedure="", provider="", today=TODAY, service_date="2024-03-01"
    )
    assert (d.procedure, d.provider) == ("97810", "licensed_acupuncturist")


def test_spreadsheet_empty_cells() -> None:
    class NAType:  # pandas.NA's type, by name
        pass

    class NaTType:  # pandas.NaT's type, by name
        pass

    class Other:
        pass

    assert _missing(None) and _missing(float("nan")) and _missing(NAType()) and _missing(NaTType())
    assert not _missing(Other()) and not _missing(0) and not _missing("")
    d = check("medicaid", state=NAType(), condition="sciatica", age=NaTType(), today=TODAY)  # type: ignore[arg-type]
    assert d.state is None and d.coverage == "medicaid"


def test_a_numeric_plan_id_becomes_text() -> None:
    # 12345.0 from a spreadsheet is the ID "12345" -- which no data knows, so it is refused by that name.
    assert refused(coverage="fehb", plan_id=12345.0).value == "12345"
