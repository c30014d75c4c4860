"""Property tests: no input crashes the query path; bad input raises the library's own error; answers are sane."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage_lookup import check
from coverage_lookup.api import parse_date
from coverage_lookup.codes import normalize_icd
from coverage_lookup.errors import InputError
from coverage_lookup.vocab import COVERAGE_TYPES, PROCEDURES, PROVIDER_TYPES, STATUSES
from tests.conftest import DATA, TODAY, examples

SETTINGS = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])

CODES = ["M54.50", "M54.5", "M54.41", "M79.7", "G43.909", "Z34.90", "M17.11", "R51.9", "R51", "N94.6"]
dates = st.dates(min_value=date(2015, 10, 1), max_value=date(2026, 11, 24))

# Every code in CODES is accepted from the start of ICD-10-CM (2015-10-01; a code added later only
# carries a 'took effect' warning) except the two that became categories, which are refused from then
# on (data/codes/icd10cm_changes.yaml: R51 split on 2020-10-01, M54.5 on 2021-10-01).
LAST_BILLABLE = {"R51": date(2020, 9, 30), "M54.5": date(2021, 9, 30)}
DRY_NEEDLING_FROM = date(2020, 1, 1)  # CPT 20560/20561


def billable_codes(on: date) -> list[str]:
    return [c for c in CODES if on <= LAST_BILLABLE.get(c, date.max)]


def known_states() -> set[str]:
    from coverage_lookup._states import STATES

    return {k for code, name, fips in STATES for k in (code.lower(), name.lower(), fips)} | {
        "washington dc",
        "washington d.c.",
        "d.c.",
    }


def _named(value: object) -> tuple[object, str]:
    """An invalid value and the text the error message must quote."""
    return value, repr(value)


def _coverage_key(s: str) -> str:
    return s.strip().lower().replace("-", "_").replace(" ", "_")


# Invalid values for each parameter, as (value, what the message must name); some depend on the date.
def invalid(name: str, on: date) -> st.SearchStrategy[tuple[object, str]]:
    if name == "coverage":
        return st.one_of(
            st.none(),
            st.integers(-5, 5),
            st.booleans(),
            st.floats(allow_nan=True),
            st.text(max_size=6).filter(lambda s: _coverage_key(s) not in COVERAGE_TYPES),
        ).map(_named)
    if name == "state":
        states = known_states()
        return st.one_of(
            st.sampled_from(["XX", "PR", "Texass", "New Yrok", True, 1.5, ["CA"]]).map(_named),
            st.just((99, "99")),  # a number is read as a FIPS code: 99 -> '99', which is none
            st.text(max_size=6)
            .filter(lambda s: bool(s.strip()) and " ".join(s.strip().lower().split()) not in states)
            .map(_named),
        )
    if name == "diagnosis":
        refused = ["M54.5Q", "M5", "MM54", "M54.50000", "M54", "G43", "M54.999"]
        refused += [c for c in LAST_BILLABLE if on > LAST_BILLABLE[c]]  # categories by then
        bad = st.one_of(
            st.sampled_from(refused),
            st.from_regex(r"[0-9][0-9A-Z.]{0,6}", fullmatch=True),  # never starts with a digit
        )
        good = st.lists(st.sampled_from(billable_codes(on)), max_size=2)
        return st.one_of(
            bad.map(_named),
            st.tuples(good, bad, good).map(lambda t: ([*t[0], t[1], *t[2]], repr(t[1]))),
            st.sampled_from([5450, {"M54.50": 1}, 1.5]).map(_named),
            st.just(([5450], "5450")),
        )
    if name == "procedure":
        too_early = ["20560", "20561"] if on < DRY_NEEDLING_FROM else []
        return st.one_of(
            st.sampled_from(["99213", "9781", "97810x", "acupuncture", 99213, True, 1.5, *too_early]).map(
                _named
            ),
            st.text(max_size=6).filter(lambda s: s != "" and s.strip().upper() not in PROCEDURES).map(_named),
        )
    if name == "provider":
        return st.one_of(
            st.sampled_from(["surgeon", "acupunturist", "M.D", 3, True, 1.5]),
            st.text(alphabet="0123456789!?#", min_size=1, max_size=6),
        ).map(_named)
    if name == "service_date":
        return st.one_of(
            st.sampled_from(
                ["2024-13-01", "2024-02-30", "3/1/24", "20240301", "13/01/2024", "2024/03/01", 20240301, True]
            ),
            st.text(max_size=6),  # no real date is written in six characters
        ).map(_named)
    assert name == "visits_used"
    return st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=100_001),
        st.floats(allow_nan=False).filter(lambda f: not f.is_integer()),
        st.booleans(),
        st.sampled_from(["3", "twelve"]),
    ).map(_named)


def valid(name: str, on: date | None) -> st.SearchStrategy[object]:
    day = on or TODAY
    if name == "coverage":
        return st.sampled_from(COVERAGE_TYPES).flatmap(lambda c: st.sampled_from([c, c.upper(), f" {c} "]))
    if name == "state":
        return st.sampled_from([None, "CA", "ny", "Texas", "DC", "", "new  york", 6, "06"])
    if name == "diagnosis":
        ok = st.sampled_from(billable_codes(day))
        return st.one_of(st.none(), ok, st.lists(ok, max_size=3), st.lists(ok, max_size=3).map("; ".join))
    if name == "procedure":
        return st.sampled_from(
            [p for p in PROCEDURES if day >= DRY_NEEDLING_FROM or p not in ("20560", "20561")] + [97810]
        )
    if name == "provider":
        return st.sampled_from([*PROVIDER_TYPES, "MD", "L.Ac.", "Physician"])
    if name == "service_date":
        if on is None:
            return st.none()
        return st.sampled_from([on, on.isoformat(), datetime.combine(on, time(9, 30))])
    assert name == "visits_used"
    return st.one_of(st.none(), st.integers(0, 40), st.just(12.0))


FIELDS = ("coverage", "state", "diagnosis", "procedure", "provider", "service_date", "visits_used")


@SETTINGS
@given(data=st.data(), on=st.one_of(st.none(), dates), target=st.one_of(st.none(), st.sampled_from(FIELDS)))
def test_no_input_crashes(data: st.DataObject, on: date | None, target: str | None) -> None:
    """Valid values everywhere, or everywhere but one parameter: an answer, or an InputError naming
    exactly that parameter and quoting its value — never a crash, and never a bad value let through."""
    kw: dict[str, Any] = {name: data.draw(valid(name, on), label=name) for name in FIELDS}
    if target is None:
        d = check(today=TODAY, **kw)
        assert d.status in STATUSES
        assert d.summary
        if d.status in {"covered", "not_covered"}:
            assert d.rules_applied, "a definite answer must name its rules"
            assert all(r.citations for r in d.rules_applied)
        return
    bad, named = data.draw(invalid(target, on or TODAY), label=f"{target} (invalid)")
    kw[target] = bad
    with pytest.raises(InputError) as exc:
        check(today=TODAY, **kw)
    assert exc.value.field == target, str(exc.value)
    assert named in str(exc.value)


@SETTINGS
@given(
    data=st.data(),
    coverage=st.sampled_from(COVERAGE_TYPES),
    on=dates,
    provider=st.sampled_from(PROVIDER_TYPES),
    state=st.sampled_from([None, "CA", "MA", "CO", "NM", "WA"]),  # states with visit limits in data/
)
def test_more_visits_never_make_an_answer_more_generous(
    data: st.DataObject, coverage: str, on: date, provider: str, state: str | None
) -> None:
    dx = data.draw(st.sampled_from(billable_codes(on)), label="diagnosis")  # valid on the date: no InputError
    rank = {"covered": 3, "conditional": 2, "unknown": 1, "not_covered": 0}
    previous = None
    for used in (0, 1, 2, 3, 6, 10, 12, 13, 16, 20, 21, 30, 1000):  # both sides of the limits in data/
        status = check(
            coverage=coverage,
            state=state,
            diagnosis=dx,
            provider=provider,
            service_date=on,
            visits_used=used,
            today=TODAY,
        ).status
        if previous is not None:
            assert rank[status] <= rank[previous], (used, status, previous)
        previous = status


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


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
