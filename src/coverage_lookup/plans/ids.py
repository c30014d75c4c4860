"""Plan identifiers as CMS writes them.

* Marketplace (HIOS) plan ID: a 14-character standard component ID -- 5-digit issuer ID, 2-letter
  state, 3-digit product number, 4-digit plan number -- plus a ``-NN`` variant (``-01`` the standard
  plan, ``-02``..``-06`` cost-sharing reductions and other variants), e.g. ``91058WI0050007-03``.
* Medicare Advantage plan: contract (``H``, ``R`` or ``E`` and 4 digits), plan number (3 digits) and,
  optionally, segment (3 digits): ``H1234-001`` or ``H1234-001-000``. PDP-only contracts (``S``) carry
  no medical benefits and are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError
from ..states import state_codes

_MARKETPLACE = re.compile(r"^(\d{5})([A-Z]{2})(\d{3})(\d{4})(?:-(\d{2}))?$")
_MA = re.compile(r"^([HRE])(\d{4})[-_ ]?(\d{3})(?:[-_ ]?(\d{1,3}))?$")
MARKETPLACE_FORMAT = "a marketplace plan ID is 14 characters plus a variant, e.g. 91058WI0050007-01"
MA_FORMAT = "a Medicare Advantage plan is contract-plan[-segment], e.g. H1234-001 or H1234-001-000"


@dataclass(frozen=True, slots=True)
class MarketplaceId:
    issuer: str
    state: str
    component: str  # the 14-character standard component ID
    variant: str | None  # "01".."99", None when only the component was given

    @property
    def text(self) -> str:
        return f"{self.component}-{self.variant}" if self.variant else self.component


@dataclass(frozen=True, slots=True)
class MaId:
    contract: str
    plan: str
    segment: str | None

    @property
    def text(self) -> str:
        return f"{self.contract}-{self.plan}" + (f"-{self.segment}" if self.segment is not None else "")


def looks_like_marketplace(value: str) -> bool:
    return bool(re.match(r"^\d{5}[A-Za-z]{2}\d", value.strip()))


def looks_like_ma(value: str) -> bool:
    return bool(re.match(r"^[HREShres]\d{4}", value.strip()))


def parse_marketplace_id(value: str, field: str = "plan_id") -> MarketplaceId:
    text = value.strip().upper()
    m = _MARKETPLACE.match(text)
    if m is None:
        raise InputError(field, value, MARKETPLACE_FORMAT)
    issuer, state, product, number, variant = m.groups()
    if state not in state_codes():
        raise InputError(
            field,
            value,
            f"characters 6-7 of a marketplace plan ID are its state; {state} is not a state code",
        )
    return MarketplaceId(issuer, state, f"{issuer}{state}{product}{number}", variant)


def parse_ma_id(value: str, field: str = "plan_id") -> MaId:
    text = value.strip().upper()
    if text.startswith("S"):
        raise InputError(
            field,
            value,
            "S contracts are stand-alone Part D drug plans, which carry no medical benefit; "
            "give the Medicare Advantage contract (H, R or E), e.g. H1234-001",
        )
    m = _MA.match(text)
    if m is None:
        raise InputError(field, value, MA_FORMAT)
    letter, digits, plan, segment = m.groups()
    return MaId(letter + digits, plan, segment.zfill(3) if segment is not None else None)
