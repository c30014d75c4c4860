"""US states and DC by postal code or name (table generated from the `us` package)."""

from __future__ import annotations

from functools import lru_cache

from ._states import STATES
from .errors import InputError

_EXTRA_NAMES = {"washington dc": "DC", "washington d.c.": "DC", "d.c.": "DC"}


@lru_cache(maxsize=1)
def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for code, name, fips in STATES:
        table[code.lower()] = code
        table[name.lower()] = code
        table[fips] = code
    table.update(_EXTRA_NAMES)
    return table


def state_codes() -> tuple[str, ...]:
    return tuple(code for code, _, _ in STATES)


def state_name(code: str) -> str:
    for c, name, _ in STATES:
        if c == code:
            return name
    raise KeyError(code)


def normalize_state(value: str, field: str = "state") -> str:
    """'ca', 'California', '06' -> 'CA'. Raises InputError naming the field otherwise."""
    key = " ".join(value.strip().lower().split())
    code = _lookup().get(key)
    if code is None:
        raise InputError(
            field,
            value,
            "use a two-letter code or the name of one of the 50 states or DC (e.g. CA, 'New York', DC)",
        )
    return code
