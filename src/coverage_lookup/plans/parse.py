"""What a plan's benefit row says, in values: cost sharing per tier and limits on the service.

The CMS Benefits and Cost Sharing PUF writes cost sharing as text (``$35``, ``$40.00``, ``No Charge after
deductible``, ``25% Coinsurance after deductible``, ``50.00%``, ``Not Applicable``) and limits in two
places: ``LimitQty`` / ``LimitUnit`` (``12.0`` / ``Visit(s) per Year``) and, often only, the free-text
``Explanation`` (``12 combined visits per year for Chiropractic, Acupuncture, and Massage Therapy``).
Parsing never drops the text: every value keeps the words it came from, so the plan's own text can be
shown beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True, slots=True)
class CostShare:
    """One tier's copay or coinsurance. ``amount`` is dollars for a copay, percent for coinsurance."""

    text: str
    kind: str | None  # "copay" | "coinsurance" | None (blank or not applicable)
    amount: float | None
    deductible: str | None = None  # "after" | "before" | "with" | None (not stated)

    @property
    def plain(self) -> str:
        """The value in words, e.g. '$35 copay after the deductible', '25% coinsurance'."""
        if self.kind is None:
            return "not applicable" if self.text.strip().lower() == NOT_APPLICABLE else "not stated"
        if self.amount == 0:
            value = "no charge"
        elif self.kind == "copay":
            value = f"${_number(self.amount)} copay"
        else:
            value = f"{_number(self.amount)}% coinsurance"
        if self.deductible == "after":
            return value + " after the deductible"
        if self.deductible == "before":
            return value + " before the deductible"
        if self.deductible == "with":
            return value + " with the deductible"
        return value


def _number(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


_MONEY = re.compile(r"^\$\s*([0-9][0-9,]*(?:\.[0-9]+)?)")
_PERCENT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*%")
_DEDUCTIBLE = re.compile(r"\b(after|before|with)\s+deductible\b", re.IGNORECASE)


def parse_cost_share(text: str | None, column_kind: str) -> CostShare:
    """``column_kind`` is "copay" or "coinsurance": the column the text came from. A value such as
    ``No Charge`` means an amount of 0 of that kind."""
    raw = (text or "").strip()
    low = raw.lower()
    ded_match = _DEDUCTIBLE.search(raw)
    deductible = ded_match.group(1).lower() if ded_match else None
    if not raw or low == NOT_APPLICABLE:
        return CostShare(raw, None, None)
    if low.startswith("no charge"):
        return CostShare(raw, column_kind, 0.0, deductible)
    money = _MONEY.match(raw)
    if money:
        return CostShare(raw, "copay", float(money.group(1).replace(",", "")), deductible)
    percent = _PERCENT.match(raw)
    if percent:
        return CostShare(raw, "coinsurance", float(percent.group(1)), deductible)
    return CostShare(raw, None, None, deductible)  # words the parser does not know: kept as text


@dataclass(frozen=True, slots=True)
class PlanLimit:
    """A limit on the service: visits (or procedures) or dollars, per year or per benefit period."""

    quantity: float
    unit: str  # "visits" | "dollars"
    per: str  # "year" | "benefit_period" | "unstated"
    source: str  # "LimitQty/LimitUnit" | "Explanation"
    text: str  # the words it was read from
    shared_with: tuple[str, ...] = field(default=())

    @property
    def plain(self) -> str:
        amount = (
            f"${_number(self.quantity)}" if self.unit == "dollars" else f"{_number(self.quantity)} visits"
        )
        per = {"year": " per year", "benefit_period": " per benefit period"}.get(self.per, "")
        shared = f", shared with {', '.join(self.shared_with)}" if self.shared_with else ""
        return f"{amount}{per}{shared}"


# Services a limit is shared with, as plans name them (the first word group is the label shown).
_SHARED = (
    ("chiropractic care", re.compile(r"chiropract", re.IGNORECASE)),
    ("massage therapy", re.compile(r"massage", re.IGNORECASE)),
    ("physical therapy", re.compile(r"physical therap", re.IGNORECASE)),
    ("rehabilitation services", re.compile(r"rehabilitat", re.IGNORECASE)),
    ("complementary medicine services", re.compile(r"complementary", re.IGNORECASE)),
    ("naturopathy", re.compile(r"naturopath", re.IGNORECASE)),
    ("homeopathy", re.compile(r"homeopath", re.IGNORECASE)),
)
_SHARING_WORDS = re.compile(
    r"\b(combined|shared|share|together|in total|total of|aggregate)\b", re.IGNORECASE
)
_VISITS_IN_TEXT = re.compile(
    r"\b([0-9]{1,3})\s+(?:combined\s+|total\s+|acupuncture\s+)?(?:visits?|treatments?|sessions?)\b"
    r"(?:[^.;]{0,40}?\bper\s+(calendar\s+year|plan\s+year|year|benefit\s+period))?",
    re.IGNORECASE,
)
_DOLLARS_IN_TEXT = re.compile(
    r"\$\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s+(?:maximum|max|limit|annual maximum)"
    r"(?:[^.;]{0,30}?\bper\s+(calendar\s+year|plan\s+year|year|benefit\s+period))?",
    re.IGNORECASE,
)


def _per(words: str | None) -> str:
    if not words:
        return "unstated"
    w = words.lower()
    if "benefit" in w:
        return "benefit_period"
    return "year"


def _shared_with(text: str, own: str) -> tuple[str, ...]:
    """Services named in ``text`` that a limit is shared with, when the text says it is shared."""
    if not _SHARING_WORDS.search(text):
        return ()
    return tuple(label for label, pattern in _SHARED if pattern.search(text) and label != own)


def limit_from_columns(qty: str | None, unit: str | None, explanation: str | None) -> PlanLimit | None:
    """The limit in ``LimitQty`` / ``LimitUnit``, e.g. ``12.0`` / ``Visit(s) per Year``."""
    q = (qty or "").strip()
    u = (unit or "").strip()
    if not q or not u:
        return None
    try:
        quantity = float(q.replace(",", ""))
    except ValueError:
        return None
    if quantity < 0 or quantity != quantity:
        return None
    low = u.lower()
    if "dollar" in low:
        kind = "dollars"
    elif "visit" in low or "procedure" in low or "treatment" in low:
        kind = "visits"
    else:
        return None
    per = "benefit_period" if "benefit period" in low else "year" if "year" in low else "unstated"
    return PlanLimit(
        quantity, kind, per, "LimitQty/LimitUnit", f"{q} {u}", _shared_with(explanation or "", "")
    )


def limit_from_explanation(explanation: str | None) -> PlanLimit | None:
    """A limit stated only in the ``Explanation`` text, e.g. '12 combined visits per year for
    Chiropractic, Acupuncture, and Massage Therapy' or '$1,500 maximum per calendar year'."""
    text = (explanation or "").strip()
    if not text:
        return None
    visits = _VISITS_IN_TEXT.search(text)
    if visits:
        return PlanLimit(
            float(visits.group(1)),
            "visits",
            _per(visits.group(2)),
            "Explanation",
            text,
            _shared_with(text, ""),
        )
    dollars = _DOLLARS_IN_TEXT.search(text)
    if dollars:
        return PlanLimit(
            float(dollars.group(1).replace(",", "")),
            "dollars",
            _per(dollars.group(2)),
            "Explanation",
            text,
            _shared_with(text, ""),
        )
    return None


def plan_limit(qty: str | None, unit: str | None, explanation: str | None) -> PlanLimit | None:
    """The row's limit: the columns when they hold one, else the explanation's words."""
    return limit_from_columns(qty, unit, explanation) or limit_from_explanation(explanation)


def is_covered(value: str | None) -> bool:
    """``IsCovered``: ``Covered`` is covered; ``Not Covered`` and blank are not (the data dictionary
    says a blank means not covered)."""
    return (value or "").strip().lower() == "covered"
