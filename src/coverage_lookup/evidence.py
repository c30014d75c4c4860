"""As-of lookup with the reach of the evidence: which version of a rule holds on a date, and whether the
evidence actually reaches that date.

A version holds from its ``effective`` date until the next version's (OpenFisca's as-of semantics).
What ``effective`` *is* depends on the version's ``effective_basis``:

* ``sourced`` — a source states the start: the version is evidenced from that date;
* ``evidenced_from`` — the start is unknown; ``effective`` is the earliest date the evidence shows the
  version in force. Dates before it (back to the previous version, or without limit for the first
  version) are still answered with this version, but the answer is **extrapolated**.

Where a version ends is known only when its successor's start is sourced. Otherwise the evidence for it
reaches its ``evidenced_until`` date if the curator recorded one (else only its own start), and later
dates until the successor's ``effective`` are extrapolated too.

This module is the lowest floor that needs the lookup: it reads attributes only, so it works on the
validated pydantic models and on the cache's plain records alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Rule, Version


@dataclass(frozen=True, slots=True)
class Pick:
    """The version in effect on a date, and how far its evidence reaches."""

    version: Version
    extrapolated: bool  # the date lies outside the span the evidence shows this version in force
    earliest: date  # the first date the evidence shows this version in force
    latest: date | None  # the last such date; None while it is the current version


def pick(rule: Rule, on: date) -> Pick | None:
    """The version of ``rule`` for ``on`` with its evidence span, or None when the rule had not begun.

    A rule whose first version has a sourced start had not begun before that date; one whose first
    version is only evidenced from a date is extrapolated backwards (and says so)."""
    versions = rule.versions
    index = -1
    for i, version in enumerate(versions):
        if version.effective <= on:
            index = i
        else:
            break
    if index < 0:
        first = versions[0]
        if first.effective_basis != "evidenced_from":
            return None
        index = 0
    version = versions[index]
    latest: date | None = None
    if index + 1 < len(versions):
        successor = versions[index + 1]
        if successor.effective_basis == "sourced":
            latest = successor.effective - timedelta(days=1)
        else:
            latest = version.evidenced_until or version.effective
    extrapolated = on < version.effective or (latest is not None and on > latest)
    return Pick(version, extrapolated, version.effective, latest)


def version_on(rule: Rule, on: date) -> Version | None:
    """The version of ``rule`` in effect on ``on`` (see :func:`pick`), or None."""
    found = pick(rule, on)
    return found.version if found is not None else None


def describe_span(earliest: date | None, latest: date | None) -> str:
    """'from 2019-05-01 onward' / 'from 2019-05-01 to 2021-02-28'."""
    if earliest is None:
        return "no dated evidence"
    if latest is None:
        return f"from {earliest.isoformat()} onward"
    return f"from {earliest.isoformat()} to {latest.isoformat()}"
