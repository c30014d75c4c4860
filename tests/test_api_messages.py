"""What a user reads when the API refuses a value, word for word, and the edges of what it accepts.

The messages are the interface for people who type values by hand (the CLI prints them on one line),
so they are pinned exactly: a dropped hint, a lost list of valid values or a changed bound shows up
here (each case was a surviving mutant)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from coverage_lookup import InputError, check
from coverage_lookup.api import _missing, get_dataset, normalize_provider, parse_date
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


THIRTEEN = [
    "M54.50",
    "M54.51",
    "M54.59",
    "M54.41",
    "M54.42",
    "M54.30",
    "M54.31",
    "M54.32",
    "M54.16",
    "M54.17",
]
THIRTEEN += ["M54.2", "M54.6", "M54.89"]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"diagnosis": ["M54.50", 5]}, "diagnosis: 5 is not valid; give each ICD-10-CM code as a string, e.g. 'M54.50'"),
        ({"diagnosis": 5}, "diagnosis: 5 is not valid; give ICD-10-CM codes as a string or a list of strings"),
        ({"diagnosis": "M54.50", "service_date": "2015-09-30"}, "diagnosis: 'M54.50' is not valid; ICD-10-CM codes apply to services from 2015-10-01; earlier claims used ICD-9-CM (not supported) — ask with --condition instead"),
        ({"diagnosis": "M54.99"}, "diagnosis: 'M54.99' is not valid; not an ICD-10-CM code on 2024-03-01"),
        ({"diagnosis": "M45.50"}, "diagnosis: 'M45.50' is not valid; not an ICD-10-CM code on 2024-03-01 (did you mean M54.50?)"),
        ({"diagnosis": "G43.9O9"}, "diagnosis: 'G43.9O9' is not valid; not an ICD-10-CM code on 2024-03-01 (did you mean G43.909, G43.901, G43.911, G43.919?)"),
        ({"diagnosis": "M54.4"}, "diagnosis: 'M54.4' is not valid; M54.4 is a category, not a billable code on 2024-03-01 (use a complete code such as M54.40, M54.41, M54.42)"),
        ({"diagnosis": "M54.50", "condition": "migraine"}, "condition: 'migraine' is not valid; the diagnosis decides the answer and M54.50 belongs to chronic_low_back_pain, not migraine (leave out the condition, or give the diagnosis code that matches it)"),
        ({"diagnosis": "J06.9", "condition": "migraine"}, "condition: 'migraine' is not valid; the diagnosis decides the answer and J06.9 belongs to no named condition set, not migraine (leave out the condition, or give the diagnosis code that matches it)"),
    ],
)  # fmt: skip
def test_diagnosis_refusals_word_for_word(kw: dict[str, Any], message: str) -> None:
    kw = {"coverage": "medicare", "service_date": "2024-03-01", **kw}
    assert str(refused(**kw)) == message


def test_more_codes_than_a_claim_form_holds_are_refused_with_the_count() -> None:
    e = refused(coverage="medicare", diagnosis=THIRTEEN, service_date="2024-03-01")
    assert (e.field, e.value) == ("diagnosis", ", ".join(THIRTEEN))
    assert e.valid == (
        "a claim carries at most 12 diagnosis codes (CMS-1500 items 21A-21L); 13 different codes were given — "
        "ask with the 12 that matter"
    )
    # twelve are accepted, and a code repeated (in any spelling) counts once
    d = check("medicare", diagnosis=[*THIRTEEN[:12], "m5450"], service_date="2024-03-01", today=TODAY)
    assert len(d.diagnoses) == 12


def test_codes_split_on_commas_semicolons_and_spaces_in_strings_and_lists() -> None:
    d = check("medicare", diagnosis="M54.50; M54.41,G43.909  M54.2", service_date="2024-03-01", today=TODAY)
    assert [x.code for x in d.diagnoses] == ["M54.50", "M54.41", "G43.909", "M54.2"]
    d = check("medicare", diagnosis=("M54.50, M54.41", "G43.909"), service_date="2024-03-01", today=TODAY)
    assert [x.code for x in d.diagnoses] == ["M54.50", "M54.41", "G43.909"]


def test_a_payer_without_its_policy_in_the_dataset_is_said_to_leave_the_other_rules() -> None:
    d = check(
        "large_group", payer="BCBS of Texas", condition="sciatica", service_date="2024-03-01", today=TODAY
    )
    assert d.warnings == [
        "Blue Cross and Blue Shield of Texas's own medical policy for acupuncture is not in the dataset; the "
        "answer follows the coverage's other rules"
    ]


def test_a_date_that_is_not_text_is_refused_with_the_formats_accepted() -> None:
    with pytest.raises(InputError) as e:
        parse_date(20240301, "service_date")  # type: ignore[arg-type]
    assert str(e.value) == "service_date: 20240301 is not valid; use a date as YYYY-MM-DD or MM/DD/YYYY"


def test_dry_needling_before_its_codes_existed_is_refused_for_the_date_of_service() -> None:
    with pytest.raises(InputError) as e:
        check(coverage="medicare", procedure="20560", service_date="2019-12-31", today=TODAY)
    assert str(e.value) == (
        "procedure: '20560' is not valid; dry-needling codes 20560/20561 exist only for services from 2020-01-01"
    )
    assert check(coverage="medicare", procedure="20560", service_date="2020-01-01", today=TODAY).status
