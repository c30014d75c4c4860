"""The JSON API's request and response models (what ``/openapi.json`` documents).

The answer itself is the library's :class:`~coverage_lookup.models.Determination`; the API adds the
"what to ask the payer" checklist beside it. Errors have the shape of
:class:`~coverage_lookup.errors.InputError`: ``{"error": {"field", "value", "valid", "hint"}}``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..models import Determination


class CheckRequest(BaseModel):
    """One question, with the fields of :func:`coverage_lookup.check`, written as on the card."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"coverage": "Medi-Cal", "condition": "sciatica", "service_date": "3/1/2024"},
                {
                    "coverage": "medicare",
                    "diagnosis": ["M54.50"],
                    "provider": "physician",
                    "service_date": "2024-03-01",
                    "visits_used": 14,
                },
            ]
        },
    )

    coverage: str = Field(
        description="the insurance as printed on the card (Medi-Cal, Medicare Part B) or a coverage type"
    )
    state: str | None = Field(default=None, description="state code or name (CA, 'New York')")
    payer: str | None = Field(default=None, description="payer as on the card (BCBS of Texas) or its id")
    plan_id: str | None = Field(default=None, description="plan ID from imported CMS files")
    diagnosis: list[str] | str | None = Field(
        default=None, description="ICD-10-CM codes: a list, or one string separated by commas or spaces"
    )
    condition: str | None = Field(default=None, description="a condition by plain name (sciatica, migraine)")
    procedure: str | None = Field(default=None, description="procedure code; 97810 when left out")
    provider: str | None = Field(
        default=None, description="who furnishes and bills the service; licensed acupuncturist when left out"
    )
    service_date: str | None = Field(
        default=None, description="date of service (3/1/2024 or 2024-03-01); today when left out"
    )
    visits_used: int | None = Field(default=None, description="visits already used in the current period")
    age: int | None = Field(default=None, description="patient's age in years (Medicaid EPSDT under 21)")


class CheckAnswer(Determination):
    """The answer (the library's Determination) with the checklist for a call to the payer."""

    ask_the_payer: list[str] = Field(
        default_factory=list, description="what to ask the payer: the answer's open points as questions"
    )


class ErrorDetail(BaseModel):
    field: str = Field(description="the input that was refused (file for an upload, body for the request)")
    value: Any = Field(description="the value as it was sent")
    valid: str = Field(description="what would be valid")
    hint: str | None = Field(default=None, description="a suggestion, such as the closest valid value")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class AcceptedValue(BaseModel):
    """One accepted value; some kinds carry more (a program's coverage and state, a condition's codes)."""

    model_config = ConfigDict(extra="allow")

    value: str = Field(description="what to send")
    label: str = Field(description="what it means, in words")
    aliases: list[str] = Field(default_factory=list, description="other spellings accepted for it")


class BatchAnswer(BaseModel):
    header: list[str] = Field(description="the table's columns: the input's, then the answer's")
    rows: list[dict[str, str]] = Field(description="one object per input row, keyed by the header")
    counts: dict[str, int] = Field(description="rows per status (covered, not_covered, ..., error)")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "bad input: which field, the value, what would be valid"},
}
UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    413: {"model": ErrorResponse, "description": "the upload is larger than the server's limit"},
}
