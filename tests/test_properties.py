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
from tests.conftest import TODAY

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
