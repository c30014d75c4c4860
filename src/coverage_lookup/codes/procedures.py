"""Procedure codes in scope (CPT numbers are facts; their licensed descriptor text is not shipped)."""

from __future__ import annotations

from datetime import date

from ..errors import InputError, one_of
from ..vocab import DRY_NEEDLING_CODES, PROCEDURES

# Dry needling got its own CPT codes on 2020-01-01 (CPT 2020); before that they cannot be billed.
DRY_NEEDLING_START = date(2020, 1, 1)


def normalize_procedure(value: str, on: date | None = None, field_name: str = "procedure") -> str:
    code = value.strip().upper()
    if code not in PROCEDURES:
        raise InputError(field_name, value, one_of(PROCEDURES), "acupuncture, dry needling and related codes")
    if on is not None and code in DRY_NEEDLING_CODES and on < DRY_NEEDLING_START:
        raise InputError(
            field_name,
            value,
            f"dry-needling codes 20560/20561 exist only for services from {DRY_NEEDLING_START.isoformat()}",
        )
    return code
