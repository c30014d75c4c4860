"""ICD-10-CM lookups, validity by date, suggestions; procedure codes."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest

from coverage_lookup.codes import normalize_icd, normalize_procedure, shared_index
from coverage_lookup.codes.icd10cm import INDEX_PATH, IcdStatus, dotted
from coverage_lookup.dataset import load_dataset
from coverage_lookup.errors import InputError
from coverage_lookup.models import Citation, CodeChange
from tests.conftest import DATA, TODAY

HISTORY = load_dataset(DATA, today=TODAY, use_cache=False).code_history


def test_lookup_billable_and_category() -> None:
    idx = shared_index()
    assert idx.lookup("M5450") == (True, "Low back pain, unspecified")
    billable, _ = idx.lookup("M545") or (None, None)
    assert billable is False
    assert idx.lookup("M5499X") is None


def test_binary_search_agrees_with_a_linear_scan() -> None:
    lines = INDEX_PATH.read_text(encoding="utf-8").splitlines()
    table = {ln.split("\t")[0]: ln.split("\t")[1] == "B" for ln in lines}
    rng = random.Random(7)
    idx = shared_index()
    for code in [*rng.sample(sorted(table), 300), lines[0].split("\t")[0], lines[-1].split("\t")[0]]:
        hit = idx.lookup(code)
        assert hit is not None and hit[0] == table[code]
    for bogus in ["A0", "ZZZ99", "M54500", "A000X", "Z999"]:
        assert (idx.lookup(bogus) is not None) == (bogus in table)


@pytest.mark.parametrize(
    ("code", "on", "billable"),
    [
        ("M545", date(2019, 6, 1), True),
        ("M545", date(2021, 9, 30), True),
        ("M545", date(2021, 10, 1), False),
        ("M545", date(2023, 6, 1), False),
        ("M5450", date(2021, 10, 1), True),
        ("R51", date(2020, 9, 30), True),
        ("R51", date(2020, 10, 1), False),
        ("R519", date(2020, 10, 1), True),
    ],
)
def test_validity_on_date(code: str, on: date, billable: bool) -> None:
    status = shared_index().status_on(code, on, HISTORY)
    assert status.billable is billable
    assert status.certain


def test_code_added_later_does_not_exist_before() -> None:
    status = shared_index().status_on("M5450", date(2020, 1, 20), HISTORY)
    assert not status.exists and status.added_on == date(2021, 10, 1)


def test_untracked_code_before_release_is_flagged_uncertain() -> None:
    status = shared_index().status_on("M797", date(2019, 1, 1), HISTORY)
    assert status.billable and not status.certain


def test_dates_after_the_next_release_are_flagged() -> None:
    status = shared_index().status_on("M797", date(2026, 11, 1), HISTORY)
    assert not status.certain
    assert any("not in it" in n for n in status.notes)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("m54.50", "M5450"), (" M5450 ", "M5450"), ("G43.909", "G43909"), ("t45.1x5a", "T451X5A")],
)
def test_normalize_icd(raw: str, expected: str) -> None:
    assert normalize_icd(raw) == expected


@pytest.mark.parametrize("raw", ["", "54.50", "M", "M5", "M54.50000", "MM4.5", "M54..5", "123"])
def test_normalize_icd_rejects_shapes(raw: str) -> None:
    with pytest.raises(InputError) as err:
        normalize_icd(raw)
    assert err.value.field == "diagnosis"


def test_suggestions_for_category_and_typos() -> None:
    idx = shared_index()
    assert idx.suggestions("M545") == ["M54.50", "M54.51", "M54.59"]
    assert "M54.50" in idx.suggestions("M5405")  # transposition of M54.50
    assert idx.suggestions("M5449") == ["M54.40", "M54.41", "M54.42"]


def test_dotted() -> None:
    assert dotted("M5450") == "M54.50"
    assert dotted("R51") == "R51"


def test_procedures() -> None:
    assert normalize_procedure(" 97810 ") == "97810"
    with pytest.raises(InputError):
        normalize_procedure("97812")
    with pytest.raises(InputError) as err:
        normalize_procedure("20560", date(2019, 12, 31))
    assert "2020-01-01" in str(err.value)
    assert normalize_procedure("20560", date(2020, 1, 1)) == "20560"


# --- validity on a date, every field pinned, on small hand-written histories -----------------------

CITED = [
    Citation(
        url="https://www.cms.gov/medicare/coding-billing/icd-10-codes",
        title="CMS — ICD-10 code files",
        section="annual updates",
        retrieved=date(2026, 11, 24),
        kind="primary",
        issuer="Centers for Medicare & Medicaid Services",
    )
]


def change(effective: date, label: str, **codes: Any) -> CodeChange:
    return CodeChange(
        effective=effective, label=label, citations=CITED, last_verified=date(2026, 11, 24), **codes
    )


def status(code: str, on: date, *history: CodeChange) -> IcdStatus:
    return shared_index().status_on(code, on, tuple(history))


class TestStatusOnExactly:
    def test_a_current_code_on_the_release_date_is_certain_with_its_description(self) -> None:
        assert status("M5450", date(2025, 10, 1)) == IcdStatus(
            "M5450", True, True, "Low back pain, unspecified", True, (), None
        )

    def test_an_untracked_code_before_the_release_says_what_it_was_checked_against(self) -> None:
        assert status("M5450", date(2024, 3, 1)) == IcdStatus(
            "M5450",
            True,
            True,
            "Low back pain, unspecified",
            False,
            (
                "validity on 2024-03-01 was checked against the FY2026 (April 1, 2026 update) release; "
                "earlier changes to this code are not tracked in data/codes/icd10cm_changes.yaml",
            ),
            None,
        )

    def test_a_code_added_after_the_date_does_not_exist_yet(self) -> None:
        added = change(date(2021, 10, 1), "FY2022", added=["M54.50"])
        assert status("M5450", date(2021, 9, 30), added) == IcdStatus(
            "M5450",
            False,
            False,
            "Low back pain, unspecified",
            True,
            ("M54.50 took effect 2021-10-01 (FY2022)",),
            date(2021, 10, 1),
        )
        assert status("M5450", date(2021, 10, 1), added) == IcdStatus(
            "M5450", True, True, "Low back pain, unspecified", True, (), None
        )

    def test_a_deleted_code_is_billable_before_its_deletion_with_the_recorded_title(self) -> None:
        deleted = change(
            date(2018, 10, 1), "FY2019", deleted=["M54.99"], descriptions={"M54.99": "Old back code"}
        )
        assert status("M5499", date(2018, 9, 30), deleted) == IcdStatus(
            "M5499", True, True, "Old back code", True, (), None
        )
        assert status("M5499", date(2018, 10, 1), deleted) == IcdStatus(
            "M5499", False, False, None, True, (), None
        )

    def test_the_index_title_is_kept_over_an_absent_recorded_one(self) -> None:
        deleted = change(date(2023, 10, 1), "FY2024", deleted=["M54.50"])
        assert status("M5450", date(2022, 1, 1), deleted).description == "Low back pain, unspecified"

    def test_changes_are_undone_newest_first(self) -> None:
        """Added in 2016, deleted in 2018: before 2016 the code did not exist yet."""
        history = (
            change(date(2016, 10, 1), "FY2017", added=["M54.99"]),
            change(date(2018, 10, 1), "FY2019", deleted=["M54.99"]),
        )
        before = status("M5499", date(2016, 1, 1), *history)
        assert (before.exists, before.billable, before.added_on) == (False, False, date(2016, 10, 1))
        between = status("M5499", date(2017, 1, 1), *reversed(history))
        assert (between.exists, between.billable, between.added_on) == (True, True, None)

    def test_a_code_tracked_only_in_an_older_change_is_still_certain(self) -> None:
        history = (
            change(date(2016, 10, 1), "FY2017", added=["M54.50"]),
            change(date(2020, 10, 1), "FY2021", added=["R51.9"]),
        )
        assert status("M5450", date(2024, 3, 1), *history) == IcdStatus(
            "M5450", True, True, "Low back pain, unspecified", True, (), None
        )

    def test_a_code_that_became_a_category_was_billable_before_and_says_until_when(self) -> None:
        split = change(date(2021, 10, 1), "FY2022", to_category=["M54.5"])
        assert status("M545", date(2021, 9, 30), split) == IcdStatus(
            "M545",
            True,
            True,
            "Low back pain",
            True,
            ("M54.5 was billable until 2021-10-01 (FY2022)",),
            None,
        )


def test_a_malformed_code_is_refused_with_the_shape_of_a_valid_one() -> None:
    with pytest.raises(InputError) as e:
        normalize_icd("54.5x", "dx")
    assert str(e.value) == (
        "dx: '54.5x' is not valid; an ICD-10-CM code is a letter, two characters and up to four more, "
        "e.g. M54.50 or G43.909"
    )


def test_codes_under_a_prefix_stop_at_the_limit() -> None:
    idx = shared_index()
    assert idx.iter_prefix("M545", limit=2) == [
        ("M545", False, "Low back pain"),
        ("M5450", True, "Low back pain, unspecified"),
    ]
    assert [c for c, _, _ in idx.iter_prefix("M545")] == ["M545", "M5450", "M5451", "M5459"]
