"""The controlled vocabulary shared by the data files, the engine and the interfaces."""

from __future__ import annotations

from typing import Literal

CoverageType = Literal[
    "medicare",
    "medicare_advantage",
    "medicaid",
    "individual",
    "small_group",
    "large_group",
    "self_funded",
    "fehb",
    "tricare",
    "va",
    "workers_comp",
]
COVERAGE_TYPES: tuple[str, ...] = CoverageType.__args__  # type: ignore[attr-defined]

COVERAGE_LABELS: dict[str, str] = {
    "medicare": "Original Medicare (Part B)",
    "medicare_advantage": "Medicare Advantage (Part C)",
    "medicaid": "Medicaid",
    "individual": "individual-market plan",
    "small_group": "small-group employer plan",
    "large_group": "large-group employer plan (fully insured)",
    "self_funded": "self-funded employer plan (ERISA)",
    "fehb": "Federal Employees Health Benefits (FEHB) plan",
    "tricare": "TRICARE",
    "va": "VA health care",
    "workers_comp": "workers' compensation",
    "employer": "employer plan (size and funding unknown)",
}

ProviderType = Literal[
    "licensed_acupuncturist",
    "physician",
    "nurse_practitioner",
    "physician_assistant",
    "clinical_nurse_specialist",
    "chiropractor",
    "physical_therapist",
]
PROVIDER_TYPES: tuple[str, ...] = ProviderType.__args__  # type: ignore[attr-defined]

PROVIDER_ALIASES: dict[str, str] = {
    "lac": "licensed_acupuncturist",
    "l.ac.": "licensed_acupuncturist",
    "acupuncturist": "licensed_acupuncturist",
    "md": "physician",
    "do": "physician",
    "doctor": "physician",
    "np": "nurse_practitioner",
    "pa": "physician_assistant",
    "cns": "clinical_nurse_specialist",
    "dc": "chiropractor",
    "pt": "physical_therapist",
}

Status = Literal["covered", "not_covered", "conditional", "unknown"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]

# Which question a rule answers (DOMAIN.md "Two questions, not one").
Aspect = Literal["benefit", "medical_necessity", "both"]

# The layer a rule belongs to; the engine picks layers by coverage type.
Layer = Literal[
    "ncd",  # Medicare national coverage determinations
    "ma_supplemental",  # Medicare Advantage supplemental benefits (plan level)
    "medicaid_baseline",  # federal Medicaid floor, used when the state is not researched
    "state_medicaid",
    "state_law",  # benefit mandate / mandated offer / provider parity
    "ehb_benchmark",
    "workers_comp",
    "payer_policy",  # a payer's medical policy (medical necessity)
    "plan",  # one plan's benefit (plan document, PUF row, brochure)
    "fehb",
    "tricare",
    "va",
]
LAYERS: tuple[str, ...] = Layer.__args__  # type: ignore[attr-defined]

LAYER_LABELS: dict[str, str] = {
    "ncd": "Medicare national coverage determination",
    "ma_supplemental": "Medicare Advantage supplemental benefit",
    "medicaid_baseline": "federal Medicaid baseline",
    "state_medicaid": "state Medicaid program",
    "state_law": "state insurance law",
    "ehb_benchmark": "state EHB benchmark plan",
    "workers_comp": "state workers' compensation rules",
    "payer_policy": "payer medical policy",
    "plan": "plan benefit",
    "fehb": "FEHB plan brochure",
    "tricare": "TRICARE program rules",
    "va": "VA program rules",
}

# Procedure codes in scope. CPT descriptor text is licensed by the AMA, so we ship our own short labels.
PROCEDURES: dict[str, str] = {
    "97810": "acupuncture without electrical stimulation, first 15 minutes",
    "97811": "acupuncture without electrical stimulation, each additional 15 minutes",
    "97813": "acupuncture with electrical stimulation, first 15 minutes",
    "97814": "acupuncture with electrical stimulation, each additional 15 minutes",
    "20560": "dry needling, 1 or 2 muscles (from 2020)",
    "20561": "dry needling, 3 or more muscles (from 2020)",
    "20550": "injection, single tendon sheath or ligament (sometimes billed for acupoint injection)",
    "20551": "injection, single tendon origin/insertion (sometimes billed for acupoint injection)",
    "20552": "injection, trigger points in 1 or 2 muscles (sometimes billed for acupoint injection)",
    "20553": "injection, trigger points in 3 or more muscles (sometimes billed for acupoint injection)",
}
ACUPUNCTURE_CODES: tuple[str, ...] = ("97810", "97811", "97813", "97814")
DRY_NEEDLING_CODES: tuple[str, ...] = ("20560", "20561")
INJECTION_CODES: tuple[str, ...] = ("20550", "20551", "20552", "20553")

Period = Literal[
    "90_days", "calendar_year", "plan_year", "rolling_12_months", "month", "week", "benefit_period", "episode"
]
PERIOD_LABELS: dict[str, str] = {
    "90_days": "per 90 days",
    "calendar_year": "per calendar year",
    "plan_year": "per plan year",
    "rolling_12_months": "per 12 months",
    "month": "per month",
    "week": "per week",
    "benefit_period": "per benefit period",
    "episode": "per episode of care",
}

RequirementKind = Literal[
    "prior_authorization",
    "referral",
    "chronicity",
    "documented_improvement",
    "credential",
    "supervision",
    "diagnosis_documentation",
    "plan_benefit",
    "other",
]
