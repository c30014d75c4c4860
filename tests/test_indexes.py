"""The shipped compact indexes are verified against the libraries they were generated from."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from coverage_lookup._states import STATES
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))


@pytest.mark.skipif(importlib.util.find_spec("simple_icd_10_cm") is None, reason="dev extra not installed")
def test_icd_index_matches_simple_icd_10_cm() -> None:
    import build_indexes
    from coverage_lookup.codes.icd10cm import INDEX_PATH

    expected = [f"{c}\t{'B' if b else 'C'}\t{d}" for c, b, d in build_indexes.icd_rows()]
    shipped = INDEX_PATH.read_text(encoding="utf-8").splitlines()
    assert shipped == expected, "regenerate with: python scripts/build_indexes.py"


@pytest.mark.skipif(importlib.util.find_spec("us") is None, reason="dev extra not installed")
def test_states_match_us_package() -> None:
    import build_indexes

    assert list(STATES) == build_indexes.state_rows()
    assert len(STATES) == 51
    assert ("DC", "District of Columbia", "11") in STATES
