"""The ICD-10-CM index read fresh from its file, and the near misses offered for a code that is not valid:
the billable codes under its longest existing ancestor, letter O / I typed for zero / one, a transposed
pair; never a category, at most the limit, the typo's fix first."""

from __future__ import annotations

import pytest

from coverage_lookup.codes.icd10cm import INDEX_PATH, Icd10Index, shared_index


def test_a_fresh_index_reads_its_file() -> None:
    """The shared index is built once per process; a new one must read the file the same way."""
    fresh = Icd10Index(INDEX_PATH)
    assert fresh.lookup("M5450") == (True, "Low back pain, unspecified")
    assert fresh.lookup("M54") == (False, "Dorsalgia")
    assert fresh.lookup("M5499") is None
    assert fresh.billable_descendants("M544") == ["M5440", "M5441", "M5442"]


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("M544I", ["M54.41", "M54.40", "M54.42"]),  # I for 1: the fix first, then the ancestor's codes
        ("M545O", ["M54.50", "M54.51", "M54.59"]),  # O for 0
        ("O2O0", ["O20.0"]),  # O for 0 in a code of the O chapter
        ("I1O", ["I10"]),  # and in the I chapter
        ("G439O9", ["G43.909", "G43.901", "G43.911", "G43.919"]),
        ("M4550", ["M54.50"]),  # a transposed pair
        ("M544Z9", ["M54.40", "M54.41", "M54.42"]),  # the longest ancestor is two characters up
        (
            "M547",
            ["M45.7", "M54.00", "M54.01", "M54.02", "M54.03", "M54.04"],
        ),  # a 3-character ancestor; six at most
        ("M520", []),  # its transposition M50.2 is a category: not offered
        (
            "M54",
            ["M54.00", "M54.01", "M54.02", "M54.03", "M54.04", "M54.05"],
        ),  # a category: its billable codes
    ],
)
def test_near_misses(typed: str, offered: list[str]) -> None:
    assert shared_index().suggestions(typed) == offered


def test_the_limit_bounds_both_the_categorys_codes_and_the_ancestors() -> None:
    index = shared_index()
    assert index.suggestions("M54", limit=2) == ["M54.00", "M54.01"]
    assert index.suggestions("M547", limit=3) == ["M45.7", "M54.00", "M54.01"]
    assert len(index.billable_descendants("M54")) == 8
