from __future__ import annotations

import pytest

from coverage_lookup.errors import InputError
from coverage_lookup.states import normalize_state, state_codes


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("ca", "CA"),
        ("California", "CA"),
        (" new  york ", "NY"),
        ("DC", "DC"),
        ("Washington DC", "DC"),
        ("06", "CA"),
    ],
)
def test_normalize_state(raw: str, code: str) -> None:
    assert normalize_state(raw) == code


@pytest.mark.parametrize("raw", ["XX", "Puerto Rico", "", "Calif"])
def test_bad_states(raw: str) -> None:
    with pytest.raises(InputError) as err:
        normalize_state(raw)
    assert err.value.field == "state"


def test_51_jurisdictions() -> None:
    assert len(state_codes()) == 51
