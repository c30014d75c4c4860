"""Property tests: no input crashes the query path; bad input raises the library's own error; answers are sane."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage_lookup import check
from coverage_lookup.api import parse_date
from coverage_lookup.codes import normalize_icd
from coverage_lookup.errors import InputError
from coverage_lookup.vocab import COVERAGE_TYPES, PROCEDURES, PROVIDER_TYPES, STATUSES
from tests.conftest import DATA, TODAY

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

junk = st.one_of(
    st.none(), st.text(max_size=12), st.integers(-5, 5), st.booleans(), st.floats(allow_nan=True)
)
codes = st.sampled_from(
    ["M54.50", "M54.5", "M54.41", "M79.7", "G43.909", "Z34.90", "M17.11", "R51.9", "R51", "N94.6"]
)
dates = st.dates(min_value=date(2015, 10, 1), max_value=date(2026, 11, 24))


@SETTINGS
@given(
    coverage=st.one_of(st.sampled_from(COVERAGE_TYPES), junk),
    state=st.one_of(st.none(), st.sampled_from(["CA", "ny", "Texas", "DC", "XX", ""]), st.text(max_size=5)),
    diagnosis=st.one_of(st.none(), codes, st.lists(codes, max_size=3), st.text(max_size=8), junk),
    procedure=st.one_of(st.sampled_from(sorted(PROCEDURES)), junk),
    provider=st.one_of(st.sampled_from(PROVIDER_TYPES), junk),
    service_date=st.one_of(st.none(), dates, dates.map(date.isoformat), st.text(max_size=10)),
    visits_used=st.one_of(st.none(), st.integers(-3, 40), junk),
)
def test_no_input_crashes(**kw: Any) -> None:
    try:
        d = check(today=TODAY, **kw)
    except InputError as exc:
        assert exc.field and str(exc)
        return
    assert d.status in STATUSES
    assert d.summary
    if d.status in {"covered", "not_covered"}:
        assert d.rules_applied, "a definite answer must name its rules"
        assert all(r.citations for r in d.rules_applied)


@SETTINGS
@given(coverage=st.sampled_from(COVERAGE_TYPES), dx=codes, on=dates, provider=st.sampled_from(PROVIDER_TYPES))
def test_more_visits_never_make_an_answer_more_generous(
    coverage: str, dx: str, on: date, provider: str
) -> None:
    rank = {"covered": 3, "conditional": 2, "unknown": 1, "not_covered": 0}
    try:
        previous = None
        for used in (0, 6, 12, 16, 20, 30):
            status = check(
                coverage=coverage,
                diagnosis=dx,
                provider=provider,
                service_date=on,
                visits_used=used,
                today=TODAY,
            ).status
            if previous is not None:
                assert rank[status] <= rank[previous]
            previous = status
    except InputError:
        pass


@SETTINGS
@given(coverage=st.sampled_from(COVERAGE_TYPES), on=dates)
def test_answers_are_deterministic(coverage: str, on: date) -> None:
    a = check(coverage=coverage, condition="chronic low back pain", service_date=on, today=TODAY)
    b = check(coverage=coverage, condition="chronic low back pain", service_date=on, today=TODAY)
    assert a == b


@SETTINGS
@given(st.text(max_size=12))
def test_icd_normalisation_accepts_or_raises_input_error(raw: str) -> None:
    try:
        code = normalize_icd(raw)
    except InputError as exc:
        assert exc.field == "diagnosis"
    else:
        assert code == code.upper() and "." not in code and 3 <= len(code) <= 7


@SETTINGS
@given(st.one_of(st.text(max_size=12), dates.map(date.isoformat)))
def test_dates_parse_or_raise_input_error(raw: str) -> None:
    try:
        parsed = parse_date(raw)
    except InputError as exc:
        assert exc.field == "service_date"
    else:
        assert parsed.isoformat() == raw.strip()


# Any Python value a caller might pass: the API must answer or raise InputError, nothing else.
anything = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.binary(max_size=8),
    st.lists(st.one_of(st.text(max_size=8), st.integers()), max_size=3),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sets(st.integers(), max_size=2),
    st.decimals(allow_nan=True),
    st.fractions(),
    st.complex_numbers(),
    st.builds(object),
)


VALID: dict[str, list[Any]] = {
    "coverage": list(COVERAGE_TYPES),
    "state": [None, "CA", "TX", 6],
    "payer": [None, "aetna", "Kaiser"],
    "plan_id": [None, "fep_blue_focus", 12345],
    "diagnosis": [None, "M54.50", ["M54.41", "M54.50"], "M54.50; M54.41"],
    "procedure": ["97810", 97813],
    "provider": ["physician", "licensed_acupuncturist"],
    "service_date": [None, "2024-03-01", date(2021, 3, 1)],
    "visits_used": [None, 0, 12, 30.0],
    "condition": [None, "sciatica", "chronic low back pain"],
    "age": [None, 10, 70],
    "data_dir": [None, str(DATA)],
}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), target=st.sampled_from(sorted(VALID)))
def test_only_input_error_escapes_the_api(data: st.DataObject, target: str) -> None:
    """One parameter gets an arbitrary Python value, the others valid ones: the API answers or raises
    InputError naming that parameter (or a field the valid values combine badly in), never anything else."""
    kw = {name: data.draw(st.sampled_from(values), label=name) for name, values in VALID.items()}
    kw[target] = data.draw(anything, label=f"{target} (arbitrary)")
    try:
        d = check(today=TODAY, **kw)
    except InputError as exc:
        assert exc.field in kw, exc.field
        assert len(str(exc)) < 1200
        return
    assert d.status in STATUSES
