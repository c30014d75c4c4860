"""Pydantic models: the curated data files (strict: unknown keys are errors) and the query/answer.

Data-file models mirror the YAML a curator edits:

* a **rule file** (``data/federal/*.yaml``, ``data/state_policies/XX.yaml``, ``data/payers/*.yaml``)
  holds rules keyed by a local id; a rule's full id is ``<file stem>.<key>``;
* a **rule** has a layer (which kind of authority it is), an aspect (benefit, medical necessity or
  both), a scope (coverage types, procedure codes) and **dated versions** — a version holds from its
  ``effective`` date until the next one; a ``retired`` version ends the rule;
* a **version** holds ordered **provisions** (first match wins) and at least one **citation**, plus
  ``last_verified``;
* a **provision** says, for some indications/procedures/ages, the outcome (``covered``,
  ``not_covered``, ``conditional`` or ``unknown`` — unknown must say what was searched), with
  requirements, visit limits and the providers who may furnish and bill.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .vocab import (
    ACUPUNCTURE_CODES,
    DRY_NEEDLING_CODES,
    PROCEDURES,
    Aspect,
    CoverageType,
    Layer,
    Period,
    ProviderType,
    RequirementKind,
    Status,
)

DEFAULT_PROCEDURES: tuple[str, ...] = (*ACUPUNCTURE_CODES, *DRY_NEEDLING_CODES)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


NonEmpty = Annotated[str, Field(min_length=1)]


CitationKind = Literal["primary", "copy", "secondary"]
DateBasis = Literal["sourced", "evidenced_from"]


class Citation(Strict):
    """One document a fact rests on, and what kind of document it is.

    * ``primary``: the issuer's own document, at the issuer's own address (an agency, a legislature, a
      payer, CMS);
    * ``copy``: a copy of such a document on another site (a law mirror, a document-sharing site); the
      ``title`` is the original's title, ``issuer`` the original's issuer and ``original_url`` the
      original's address where known;
    * ``secondary``: a report about the rule by someone else (news, trade press, an association, a law
      firm, a data aggregator); ``issuer`` names the publisher.
    """

    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    title: NonEmpty
    section: NonEmpty
    retrieved: date
    kind: CitationKind
    issuer: NonEmpty
    original_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None

    @model_validator(mode="after")
    def _kind_fields(self) -> Citation:
        if self.original_url is not None and self.kind != "copy":
            raise ValueError("'original_url' belongs to a citation of kind 'copy'")
        return self


class Unknown(Strict):
    """What could not be established, and what was searched."""

    missing: NonEmpty
    searched: NonEmpty


class Requirement(Strict):
    kind: RequirementKind
    text: NonEmpty
    weeks: int | None = Field(default=None, ge=1, le=520)

    @model_validator(mode="after")
    def _weeks_for_chronicity(self) -> Requirement:
        if self.kind == "chronicity" and self.weeks is None:
            raise ValueError("a 'chronicity' requirement needs 'weeks' (e.g. weeks: 12)")
        return self


MoreVisitsWith = Literal["prior_authorization", "documented_improvement", "medical_necessity"]


class VisitLimit(Strict):
    """A visit limit. ``more_with`` says how visits beyond it (and beyond any
    ``extra_visits_with_improvement``) can still be paid: by prior authorization (a TAR, a PA request),
    with documented improvement, or on a medical-necessity review. Without it, the limit is a cap."""

    visits: int = Field(ge=0, le=1000)
    per: Period
    extra_visits_with_improvement: int | None = Field(default=None, ge=1, le=1000)
    more_with: MoreVisitsWith | None = None
    shared_with: list[NonEmpty] = Field(default_factory=list)
    note: str | None = None


class ProviderRule(Strict):
    """A provider type the rule speaks about. ``may_bill: false`` records an explicit exclusion with its reason."""

    type: ProviderType
    may_bill: bool = True
    # What an excluded provider's claim gets: normally not covered; `conditional` when another route
    # outside this rule may still pay (e.g. a Medicare Advantage plan's supplemental benefit).
    when_excluded: Literal["not_covered", "conditional"] = "not_covered"
    requirements: list[Requirement] = Field(default_factory=list)
    note: str | None = None

    @model_validator(mode="after")
    def _exclusion_has_note(self) -> ProviderRule:
        if not self.may_bill and not self.note:
            raise ValueError("a provider with 'may_bill: false' needs a 'note' saying why")
        if self.may_bill and self.when_excluded != "not_covered":
            raise ValueError("'when_excluded' applies only to a provider with 'may_bill: false'")
        return self


class AgeRange(Strict):
    min: int | None = Field(default=None, ge=0, le=130)
    max: int | None = Field(default=None, ge=0, le=130)


class Provision(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
    summary: NonEmpty
    outcome: Status
    conditions: list[NonEmpty] | None = None  # None: any indication (a catch-all)
    excluding: list[NonEmpty] = Field(default_factory=list)  # an accompanying dx in these sets defeats it
    procedures: list[NonEmpty] | None = None  # None: every procedure the rule covers
    age: AgeRange | None = None
    providers: list[ProviderRule] | None = None  # None: any provider type
    requirements: list[Requirement] = Field(default_factory=list)
    limits: list[VisitLimit] = Field(default_factory=list)
    unknown: Unknown | None = None

    @model_validator(mode="after")
    def _unknown_has_note(self) -> Provision:
        if self.outcome == "unknown" and self.unknown is None:
            raise ValueError("outcome 'unknown' needs an 'unknown' note: {missing: ..., searched: ...}")
        if self.procedures is not None:
            bad = [p for p in self.procedures if p not in PROCEDURES]
            if bad:
                raise ValueError(f"unknown procedure codes {bad}; valid: {sorted(PROCEDURES)}")
        return self


class Version(Strict):
    """A dated version of a rule.

    ``effective`` is the date from which the version is applied. ``effective_basis`` says what that
    date is: ``sourced`` (a source states it: a rule's effective date, a law's operative date, a
    policy's revision date) or ``evidenced_from`` (the start is unknown; ``effective`` is the earliest
    date the evidence shows the version in force, such as the source's own publication date). Answers
    for dates the evidence does not reach are marked *extrapolated* (see :mod:`.evidence`).
    ``effective_note`` says where the date comes from. ``evidenced_until`` (optional, for superseded
    versions) is the latest date the evidence shows this version still in force.
    """

    effective: date
    effective_basis: DateBasis
    effective_note: NonEmpty
    evidenced_until: date | None = None
    last_verified: date
    summary: NonEmpty
    citations: Annotated[list[Citation], Field(min_length=1)]
    provisions: list[Provision] = Field(default_factory=list)
    retired: bool = False
    published: date | None = None
    # Provider rules that hold for every provision of this version, whatever the indication (e.g.
    # Medicare cannot pay a licensed acupuncturist directly, for any diagnosis). A provision's own
    # `providers` narrows them further.
    providers: list[ProviderRule] | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _provisions_unless_retired(self) -> Version:
        if not self.retired and not self.provisions:
            raise ValueError("a version needs at least one provision (or 'retired: true' to end the rule)")
        if self.evidenced_until is not None and self.evidenced_until < self.effective:
            raise ValueError("'evidenced_until' cannot be earlier than 'effective'")
        ids = [p.id for p in self.provisions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate provision ids {dupes}")
        return self


class Scope(Strict):
    coverage: Annotated[list[CoverageType], Field(min_length=1)]
    procedures: list[NonEmpty] = Field(default_factory=lambda: list(DEFAULT_PROCEDURES))
    plan_id: str | None = None

    @field_validator("procedures")
    @classmethod
    def _known_procedures(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if p not in PROCEDURES]
        if bad:
            raise ValueError(f"unknown procedure codes {bad}; valid: {sorted(PROCEDURES)}")
        return value


class Rule(Strict):
    title: NonEmpty
    layer: Layer
    aspect: Aspect
    scope: Scope
    versions: Annotated[list[Version], Field(min_length=1)]
    notes: str | None = None

    @model_validator(mode="after")
    def _versions_ordered(self) -> Rule:
        dates = [v.effective for v in self.versions]
        for earlier, later in pairwise(dates):
            if later <= earlier:
                raise ValueError(
                    f"versions must be in increasing 'effective' order without repeats "
                    f"({earlier.isoformat()} then {later.isoformat()})"
                )
        for before, after in pairwise(self.versions):
            if before.evidenced_until is not None and before.evidenced_until >= after.effective:
                raise ValueError(
                    f"'evidenced_until' {before.evidenced_until.isoformat()} reaches into the next version "
                    f"(effective {after.effective.isoformat()})"
                )
        return self

    def version_on(self, on: date) -> Version | None:
        from .evidence import version_on

        return version_on(self, on)


class PayerInfo(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: NonEmpty
    aliases: list[NonEmpty] = Field(default_factory=list)
    administered_by: str | None = None


class CoverageName(Strict):
    """Ways people write a coverage on a card or a form ("Medi-Cal", "marketplace", "workers' comp")."""

    names: Annotated[list[NonEmpty], Field(min_length=1)]
    coverage: CoverageType | Literal["employer"]  # employer: size and funding unknown
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None  # a state program names its state
    program: str | None = None  # e.g. medicaid, chip, medicaid_and_chip, basic_health_program
    official: bool = False  # an official program name (then it is cited)
    note: str | None = None
    citations: list[Citation] = Field(default_factory=list)
    last_verified: date | None = None

    @model_validator(mode="after")
    def _official_names_are_cited(self) -> CoverageName:
        if self.official and (not self.citations or self.last_verified is None):
            raise ValueError("an official program name needs citations and last_verified")
        return self


class PayerName(Strict):
    """A payer as printed on cards: the company behind it, the states it implies, and the dataset's
    payer when the dataset has one."""

    names: Annotated[list[NonEmpty], Field(min_length=1)]
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    company: NonEmpty
    payer: str | None = None  # the dataset's payer id, when its policies are in the dataset
    states: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(default_factory=list)
    implies_coverage: CoverageType | None = None  # a brand that is one kind of coverage
    note: str | None = None
    citations: Annotated[list[Citation], Field(min_length=1)]
    last_verified: date


class VocabularyFile(Strict):
    """data/vocabulary.yaml: the names people write, mapped to the dataset's vocabulary."""

    title: NonEmpty
    coverage: list[CoverageName] = Field(default_factory=list)
    payers: list[PayerName] = Field(default_factory=list)


class RuleFile(Strict):
    """One data file of rules."""

    title: NonEmpty
    description: str | None = None
    state: str | None = None
    payer: PayerInfo | None = None
    rules: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")], Rule]


class ConditionSet(Strict):
    label: NonEmpty
    description: NonEmpty
    codes: Annotated[list[NonEmpty], Field(min_length=1)]  # ICD-10-CM codes or categories (prefixes)
    aliases: list[NonEmpty] = Field(default_factory=list)
    citations: Annotated[list[Citation], Field(min_length=1)]
    last_verified: date


class ConditionsFile(Strict):
    title: NonEmpty
    conditions: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], ConditionSet]


class CodeChange(Strict):
    effective: date
    label: NonEmpty
    added: list[NonEmpty] = Field(default_factory=list)
    deleted: list[NonEmpty] = Field(default_factory=list)
    to_category: list[NonEmpty] = Field(default_factory=list)  # billable before, a header after
    descriptions: dict[str, str] = Field(default_factory=dict)  # titles of deleted codes
    citations: Annotated[list[Citation], Field(min_length=1)]
    last_verified: date


class CodeHistoryFile(Strict):
    title: NonEmpty
    changes: list[CodeChange]


# ----------------------------------------------------------------------------------------------
# Query and answer
# ----------------------------------------------------------------------------------------------


class Query(BaseModel):
    """A coverage question. Strings are normalised and validated by :func:`coverage_lookup.check`."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    coverage: str
    state: str | None = None
    payer: str | None = None
    plan_id: str | None = None
    diagnosis: list[str] | str | None = None
    condition: str | None = None
    procedure: str = "97810"
    provider: str = "licensed_acupuncturist"
    service_date: date | str | None = None
    visits_used: int | None = None
    age: int | None = None


class Out(BaseModel):
    """Answer models. The engine builds plain records (:mod:`.records`, same fields) and
    :func:`coverage_lookup.check` validates them into these; schemas are built on first use."""

    model_config = ConfigDict(defer_build=True, from_attributes=True)


class CitationOut(Out):
    url: str
    title: str
    section: str
    retrieved: date
    kind: str | None = Field(
        default=None, description="primary (the issuer's own document), copy (on another site) or secondary"
    )
    issuer: str | None = Field(
        default=None, description="who issued the document (for a copy: the original's issuer)"
    )
    original_url: str | None = Field(default=None, description="a copy's original address, where known")


class AspectResult(Out):
    status: Status
    summary: str
    decided_by: list[str] = Field(default_factory=list)  # rule ids


class RequirementOut(Out):
    kind: str
    text: str
    weeks: int | None = None
    source: str  # rule id


class LimitOut(Out):
    visits: int
    per: str
    extra_visits_with_improvement: int | None = None
    shared_with: list[str] = Field(default_factory=list)
    note: str | None = None
    remaining: int | None = None
    remaining_with_improvement: int | None = None
    more_with: str | None = None
    source: str


class DiagnosisOut(Out):
    code: str
    description: str | None
    billable_on_date: bool
    validity_certain: bool
    conditions: list[str]


class IndicationOut(Out):
    condition: str | None  # None: any other indication
    label: str
    status: Status
    summary: str
    source: str


class AppliedRule(Out):
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
    effective_basis: str | None = Field(
        default=None,
        description="sourced (a source states the version's start) or evidenced_from (start unknown)",
    )
    evidence_from: date | None = Field(
        default=None, description="first date the evidence shows the version in force"
    )
    evidence_until: date | None = Field(
        default=None, description="last date the evidence shows the version in force; null while current"
    )
    extrapolated: bool = Field(
        default=False, description="the date of service lies outside the span the evidence covers"
    )
    secondary_only: bool = Field(
        default=False, description="every citation of the version is a secondary report, none the issuer's"
    )


class TraceEntry(Out):
    rule: str
    layer: str
    decision: Literal["applied", "skipped", "outranked"]
    reason: str


class Freshness(Out):
    oldest_verified: date | None
    age_days: int | None
    stale: bool
    stale_after_days: int = 365


class Evidence(Out):
    """How far the evidence behind the whole answer reaches in time."""

    extrapolated: bool = Field(
        description="true when the answer assumes a rule held on a date its evidence does not reach"
    )
    earliest: date | None = Field(description="the first date on which all the applied rules are evidenced")
    latest: date | None = Field(description="the last such date; null when the evidence runs to the present")


class CostShareOut(Out):
    tier: str = Field(description="in_network_tier_1, in_network_tier_2 or out_of_network")
    copay: str = Field(description="the copay in words")
    coinsurance: str = Field(description="the coinsurance in words")
    copay_text: str = Field(description="the copay as the plan's file wrote it")
    coinsurance_text: str = Field(description="the coinsurance as the plan's file wrote it")


class PlanLimitOut(Out):
    quantity: float
    unit: str = Field(description="visits or dollars")
    per: str = Field(description="year, benefit_period or unstated")
    source: str = Field(description="LimitQty/LimitUnit, Explanation, or the PBP fields it was read from")
    text: str = Field(description="the words the limit was read from")
    shared_with: list[str] = Field(default_factory=list)


class PlanOut(Out):
    plan_id: str
    plan_year: int
    source: str
    covered: bool
    name: str | None = None
    issuer: str | None = None
    state: str | None = None
    market: str | None = None
    metal_level: str | None = None
    cost_sharing: list[CostShareOut] = Field(default_factory=list)
    limits: list[PlanLimitOut] = Field(default_factory=list)
    exclusions: str | None = None
    explanation: str | None = None
    details: dict[str, str] = Field(default_factory=dict)
    related: list[str] = Field(default_factory=list)


class PlanCountOut(Out):
    plan_year: int
    state: str
    plans: int = Field(description="plan variants in the imported benefits file for the state")
    covered: int = Field(description="of them, those whose acupuncture row says covered")
    source: str
    text: str


class AlternativeOut(Out):
    coverage: str
    label: str
    status: Status
    summary: str


class Determination(Out):
    """The answer to one coverage question: what :func:`coverage_lookup.check` returns.

    ``status`` is the stricter of the two aspects (``benefit``: does the plan include acupuncture at
    all; ``medical_necessity``: for this indication, by this provider), in the order not_covered >
    unknown > conditional > covered. Every rule used is in ``rules_applied`` with its citations, and
    ``evidence`` says whether the sources reach the date of service."""

    status: Status = Field(
        description="covered, not_covered, conditional (turns on a fact outside the question and the data) "
        "or unknown (no researched rule; see missing)"
    )
    summary: str = Field(description="the answer in one or two sentences")
    coverage: str = Field(description="the coverage type the question was answered for (or employer)")
    state: str | None = Field(
        description="two-letter state code, given or implied by a program or payer name"
    )
    payer: str | None = Field(description="the payer's id (a dataset payer, or a known company), or None")
    plan_id: str | None = Field(description="the plan ID the answer is for, normalised")
    service_date: date = Field(description="the date of service the rules were read on")
    procedure: str = Field(description="the CPT code asked about (default 97810)")
    provider: str = Field(description="who furnishes and bills the service (default licensed_acupuncturist)")
    diagnoses: list[DiagnosisOut] = Field(description="the ICD-10-CM codes given, with their condition sets")
    condition: str | None = Field(description="the named condition set asked about, when no code decided it")
    benefit: AspectResult = Field(description="does the coverage include acupuncture at all")
    medical_necessity: AspectResult = Field(
        description="is it covered for this indication, by this provider (the payer's or program's medical policy)"
    )
    requirements: list[RequirementOut] = Field(
        description="what must hold for payment: prior authorization, referral, documentation, credentials"
    )
    limits: list[LimitOut] = Field(
        description="visit limits, with the visits remaining when visits_used was given"
    )
    visits_used: int | None = Field(description="visits already used in the period, as given")
    indications: list[IndicationOut] = Field(
        description="without a diagnosis or condition: the answer for each indication the rules name"
    )
    rules_applied: list[AppliedRule] = Field(description="the rules that decided the answer, with citations")
    trace: list[TraceEntry] = Field(
        description="every rule considered: applied, skipped or outranked, and why"
    )
    freshness: Freshness = Field(description="the oldest last_verified date among the rules used")
    evidence: Evidence = Field(
        description="the span of dates the sources show the applied rules in force; extrapolated when the "
        "date of service lies outside it"
    )
    missing: list[str] = Field(
        description="what would decide an open answer (a fact, or a rule not researched)"
    )
    warnings: list[str] = Field(description="cautions about the question or the data")
    ignored: list[str] = Field(
        default_factory=list, description="query fields that do not change the answer for this coverage"
    )
    plan: PlanOut | None = Field(
        default=None, description="the plan's own benefit row, when a plan ID was given"
    )
    plan_counts: PlanCountOut | None = Field(
        default=None,
        description="how many imported marketplace plans in the state cover acupuncture that year",
    )
    read_as: list[str] = Field(
        default_factory=list, description="how card-style values were read, e.g. 'Medi-Cal' as Medicaid in CA"
    )
    plan_type: str | None = Field(
        default=None, description="PPO, HMO, EPO, POS ... as written after the payer"
    )
    payer_name: str | None = Field(default=None, description="the payer's name (payer holds its id)")
    alternatives: list[AlternativeOut] = Field(
        default_factory=list,
        description="for an employer plan of unknown size and funding: the answer for each possibility",
    )

    def citations(self) -> list[CitationOut]:
        seen: dict[str, CitationOut] = {}
        for rule in self.rules_applied:
            for c in rule.citations:
                seen.setdefault(c.url + "#" + c.section, c)
        return list(seen.values())


def model_json_schema_for_data() -> dict[str, Any]:
    """JSON Schema of a rule file (for editors)."""
    schema = RuleFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "coverage_lookup rule file"
    return schema
