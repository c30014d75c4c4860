"""The library's own error types.

Every problem a user can cause is reported as an :class:`InputError` naming the field, the value and
what would be valid, so the CLI can print one clear line and exit 2 instead of a traceback.
Problems in the curated data files are :class:`DataError`, naming the file, the key and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_SHOWN = 80


def shown(value: object) -> str:
    """The value as it will be quoted in a message: its repr, cut to about 80 characters."""
    try:
        text = repr(value)
    except Exception:  # a foreign object whose repr fails is still named
        text = f"<{type(value).__name__}>"
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


class CoverageLookupError(Exception):
    """Base class for every error this library raises on purpose."""


class InputError(CoverageLookupError, ValueError):
    """A query input is invalid. ``field``, ``value`` and ``valid`` say which, what and what would do."""

    def __init__(self, field: str, value: object, valid: str, hint: str | None = None) -> None:
        self.field = field
        self.value = value
        self.valid = valid
        self.hint = hint
        message = f"{field}: {shown(value)} is not valid; {valid}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class DataError(CoverageLookupError):
    """One or more problems in the curated data files."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the dataset"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


def one_of(values: Iterable[str], limit: int = 12) -> str:
    """Human list of valid values: 'one of a, b, c' (shortened when long)."""
    items = sorted(values)
    shown = ", ".join(items[:limit])
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return f"use one of {shown}{more}"
