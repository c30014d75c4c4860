"""Plain answer records: what the engine builds, without pydantic.

A cold ``coverage-lookup check`` must start fast, and importing pydantic's model machinery costs more
than the whole answer. So the engine and the CLI's card work on these standard-library dataclasses,
and :func:`coverage_lookup.check` turns them into the pydantic answer models of :mod:`.models`
(``Determination`` and friends, validated ``from_attributes``). ``tests/test_records.py`` keeps the two
sets of classes field-for-field identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from .vocab import Status


@dataclass(slots=True)
class CitationOut:
    url: str
    title: str
    section: str
    retrieved: date
    kind: str | None = None
    issuer: str | None = None
    original_url: str | None = None


@dataclass(slots=True)
class AspectResult:
    status: Status
    summary: str
    decided_by: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RequirementOut:
    kind: str
    text: str
    source: str
    weeks: int | None = None


@dataclass(slots=True)
class LimitOut:
    visits: int
    per: str
    source: str
    extra_visits_with_improvement: int | None = None
    shared_with: list[str] = field(default_factory=list)
    note: str | None = None
    remaining: int | None = None
    remaining_with_improvement: int | None = None
    more_with: str | None = None


@dataclass(slots=True)
class DiagnosisOut:
    code: str
    description: str | None
    billable_on_date: bool
    validity_certain: bool
    conditions: list[str]


@dataclass(slots=True)
class IndicationOut:
    condition: str | None
    label: str
    status: Status
    summary: str
    source: str


@dataclass(slots=True)
class AppliedRule:
    id: str
    title: str
    layer: str
    aspect: str
    version_effective: date
    provision: str | None
    outcome: Status
    reason: str
    citations: list[CitationOut]
    last_verified: date
    effective_basis: str | None = None
    evidence_from: date | None = None
    evidence_until: date | None = None
    extrapolated: bool = False
    secondary_only: bool = False


@dataclass(slots=True)
class TraceEntry:
    rule: str
    layer: str
    decision: Literal["applied", "skipped", "outranked"]
    reason: str


@dataclass(slots=True)
class Freshness:
    oldest_verified: date | None
    age_days: int | None
    stale: bool
    stale_after_days: int = 365


@dataclass(slots=True)
class Evidence:
    extrapolated: bool
    earliest: date | None
    latest: date | None


@dataclass(slots=True)
class CostShareOut:
    tier: str  # "in_network_tier_1" | "in_network_tier_2" | "out_of_network"
    copay: str  # in words, e.g. "$35 copay after the deductible", "not applicable"
    coinsurance: str
    copay_text: str  # as the plan wrote it
    coinsurance_text: str


@dataclass(slots=True)
class PlanLimitOut:
    quantity: float
    unit: str  # "visits" | "dollars"
    per: str  # "year" | "benefit_period" | "unstated"
    source: str  # the column(s) or text it was read from
    text: str
    shared_with: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PlanOut:
    plan_id: str
    plan_year: int
    source: str  # which public file, e.g. "CMS Benefits and Cost Sharing PUF"
    covered: bool
    name: str | None = None
    issuer: str | None = None
    state: str | None = None
    market: str | None = None
    metal_level: str | None = None
    cost_sharing: list[CostShareOut] = field(default_factory=list)
    limits: list[PlanLimitOut] = field(default_factory=list)
    exclusions: str | None = None
    explanation: str | None = None
    details: dict[str, str] = field(default_factory=dict)  # further fields as the file wrote them
    related: list[str] = field(default_factory=list)  # e.g. the chiropractic row a limit is shared with


@dataclass(slots=True)
class PlanCountOut:
    plan_year: int
    state: str
    plans: int  # plan variants in the imported benefits file for the state
    covered: int  # of them, those whose acupuncture row says covered
    source: str
    text: str


@dataclass(slots=True)
class AlternativeOut:
    """One possibility when the question leaves the coverage open (an employer plan of unknown size
    and funding): what holds if the plan is of this kind."""

    coverage: str
    label: str
    status: Status
    summary: str


@dataclass(slots=True)
class Determination:
    status: Status
    summary: str
    coverage: str
    state: str | None
    payer: str | None
    plan_id: str | None
    service_date: date
    procedure: str
    provider: str
    diagnoses: list[DiagnosisOut]
    condition: str | None
    benefit: AspectResult
    medical_necessity: AspectResult
    requirements: list[RequirementOut]
    limits: list[LimitOut]
    visits_used: int | None
    indications: list[IndicationOut]
    rules_applied: list[AppliedRule]
    trace: list[TraceEntry]
    freshness: Freshness
    evidence: Evidence
    missing: list[str]
    warnings: list[str]
    ignored: list[str] = field(default_factory=list)
    plan: PlanOut | None = None
    plan_counts: PlanCountOut | None = None
    read_as: list[str] = field(default_factory=list)  # how card-style values were read
    payer_name: str | None = None  # the payer's name, as the dataset or the vocabulary gives it
    plan_type: str | None = None  # PPO, HMO, ... as written after the payer's name
    alternatives: list[AlternativeOut] = field(default_factory=list)
