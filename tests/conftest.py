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

# `make mutation` runs every surviving mutant against every test that reaches it, so it scales the
# property tests' example counts down (COVERAGE_LOOKUP_EXAMPLES_SCALE=0.2). Fewer examples can only let
# more mutants survive, so the score it records is a lower bound of the full suite's.
EXAMPLES_SCALE = float(os.environ.get("COVERAGE_LOOKUP_EXAMPLES_SCALE", "1"))


def examples(n: int) -> int:
    """Hypothesis ``max_examples`` for a property test written for ``n`` examples."""
    return max(10, round(n * EXAMPLES_SCALE))


if EXAMPLES_SCALE != 1:
    from hypothesis import settings

    settings.register_profile("scaled", max_examples=examples(100))
    settings.load_profile("scaled")

# Keep the dataset cache out of the user's home while testing.
os.environ.setdefault("COVERAGE_LOOKUP_CACHE", tempfile.mkdtemp(prefix="coverage-lookup-cache-"))
# ... and the plan store (plans import) too: a test that needs one makes its own.
os.environ["COVERAGE_LOOKUP_HOME"] = tempfile.mkdtemp(prefix="coverage-lookup-home-")


@pytest.fixture(scope="session")
def today() -> date:
    return TODAY
