from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
# "Today" is injected everywhere so freshness and future-date checks do not drift with the clock.
TODAY = date(2026, 12, 6)

# Keep the dataset cache out of the user's home while testing.
os.environ.setdefault("COVERAGE_LOOKUP_CACHE", tempfile.mkdtemp(prefix="coverage-lookup-cache-"))
# ... and the plan store (plans import) too: a test that needs one makes its own.
os.environ["COVERAGE_LOOKUP_HOME"] = tempfile.mkdtemp(prefix="coverage-lookup-home-")


@pytest.fixture(scope="session")
def today() -> date:
    return TODAY
