"""The HTML side: the check form in the clerk's words, the answer card, the batch table.

Templates are Jinja2 files beside this module, autoescaped; the helpers they use are the CLI card's
(:mod:`coverage_lookup.render`), so the page and the terminal name things alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from ..errors import InputError, shown
from ..evidence import describe_span
from ..render import MARKS, citation_label, host
from ..vocab import COVERAGE_LABELS, PROCEDURES

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str
    placeholder: str
    help: str
    values: str | None = None  # the accepted-values kind that feeds its suggestions
    kind: str = "text"


FIELDS: tuple[FormField, ...] = (
    FormField(
        "coverage", "Insurance, as on the card", "Medi-Cal, Medicare Part B, employer plan",
        "the program or plan type printed on the member's card", "coverage",
    ),
    FormField("state", "State", "CA", "where the plan is regulated or the service is given", "states"),
    FormField(
        "payer", "Insurance company", "BCBS of Texas", "the payer named on the card (optional)", "payers"
    ),
    FormField("plan_id", "Plan ID", "12345CA0010001-01", "only for plans imported from CMS files (optional)"),
    FormField(
        "condition", "Condition or diagnosis code", "sciatica, or M54.41",
        "a plain name, or ICD-10-CM codes separated by commas", "conditions",
    ),
    FormField("procedure", "Procedure code", "97810", "blank means 97810", "procedures"),
    FormField(
        "provider", "Billed by", "licensed acupuncturist", "blank means a licensed acupuncturist", "providers"
    ),
    FormField("service_date", "Date of service", "3/1/2024", "blank means today"),
    FormField("visits_used", "Visits already used", "0", "in the current benefit period (optional)", None, "number"),
    FormField("age", "Patient's age", "", "only matters for Medicaid under 21 (optional)", None, "number"),
)  # fmt: skip
FORM_NAMES = tuple(f.name for f in FIELDS)
LABELS = {f.name: f.label for f in FIELDS} | {"diagnosis": "Condition or diagnosis code", "file": "File"}

# One ICD-10-CM code: a letter, a digit, a digit or letter, then up to four more after an optional dot.
_ICD = re.compile(r"^[A-Za-z][0-9][0-9A-Za-z](?:\.?[0-9A-Za-z]{1,4})?$")
_SEPARATORS = re.compile(r"[,;\s]+")


def question_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The keyword arguments of :func:`coverage_lookup.check` for a submitted form.

    Blank fields are left out (so check() uses its defaults); the one box for a condition takes
    either a plain name or ICD-10-CM codes; whole numbers are turned into ints and anything else is
    passed on as typed, for check() to refuse in its own words."""
    question: dict[str, Any] = {}
    for name in FORM_NAMES:
        text = form.get(name, "").strip()
        if not text:
            continue
        if name == "condition":
            tokens = [t for t in _SEPARATORS.split(text) if t]
            question["diagnosis" if all(_ICD.match(t) for t in tokens) else "condition"] = text
        elif name in ("visits_used", "age"):
            question[name] = int(text) if text.isdigit() else text
        else:
            question[name] = text
    return question


def form_field_of(error: InputError) -> str:
    """The form box an input error belongs to (a diagnosis is typed in the condition box)."""
    return "condition" if error.field == "diagnosis" else error.field


def error_view(error: InputError) -> dict[str, Any]:
    return {
        "field": form_field_of(error),
        "label": LABELS.get(error.field, error.field.replace("_", " ")),
        "value": shown(error.value),
        "valid": error.valid,
        "hint": error.hint,
    }


def _plan_limit(quantity: float, unit: str, per: str) -> str:
    amount = f"${quantity:,.0f}" if unit == "dollars" else f"{quantity:g} visits"
    return amount + {"year": " per year", "benefit_period": " per benefit period"}.get(per, "")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        MARKS=MARKS,
        COVERAGE_LABELS=COVERAGE_LABELS,
        PROCEDURES=PROCEDURES,
        FIELDS=FIELDS,
        citation_label=citation_label,
        describe_span=describe_span,
        host=host,
        plan_limit=_plan_limit,
    )
    return env
