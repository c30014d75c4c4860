"""A Medicare Advantage plan in a question: its PBP category 13a row (supplemental acupuncture) becomes
a plan-bound rule in the ``ma_supplemental`` grant layer, on top of the NCD 30.3.3 floor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..records import CostShareOut, PlanLimitOut, PlanOut
from .ids import parse_ma_id
from .pbp import VERIFIED_YEARS
from .rules import plan_year_rule
from .store import PlanStore

if TYPE_CHECKING:
    from ..dataset import LoadedRule

PBP_PAGE = (
    "https://www.cms.gov/data-research/statistics-trends-and-reports/"
    "medicare-advantagepart-d-contract-and-enrollment-data/benefits-data"
)
CMS = "Centers for Medicare & Medicaid Services"
YES, NO = "1", "2"
# Period codes of the PBP (second-hand: see research/plans/pbp_layout.md).
PERIODS = {
    "1": "every three years",
    "2": "every two years",
    "3": "every year",
    "4": "every six months",
    "5": "every three months",
    "6": "other period",
    "7": "every month",
}
CODES_NOTE = (
    "PBP codes read as 1 = yes, 2 = no and the PBP period list, from secondary descriptions of CMS's data "
    "dictionary (the dictionary itself was not seen)"
)


@dataclass
class MaAnswer:
    rule: LoadedRule
    plan: PlanOut
    warnings: list[str] = field(default_factory=list)


def _money(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return f"${float(text):,.2f}".replace(".00", "")
    except ValueError:
        return text


def ma_plan(plan_id: str, on: date, store: PlanStore | None = None) -> MaAnswer:
    ma = parse_ma_id(plan_id)
    store = store or PlanStore()
    year = on.year
    years = store.pbp_years()
    if year not in years:
        have = ", ".join(map(str, years)) or "none"
        raise InputError(
            "plan_id",
            plan_id,
            f"plan year {year} (from the service date {on.isoformat()}) has no PBP file in the plan store "
            f"(imported years: {have})",
            f"import CMS's PBP benefits zip for {year}: coverage-lookup plans import-pbp FILE",
        )
    rows = store.pbp_rows(year, ma.contract, ma.plan)
    if ma.segment is not None:
        rows = [r for r in rows if r[0] == ma.segment]
    if not rows:
        raise InputError(
            "plan_id",
            plan_id,
            f"no plan {ma.text} in the imported {year} PBP file; check the contract and plan number",
        )
    warnings: list[str] = []
    if len(rows) > 1:
        distinct = {json_key(v) for _, v, _ in rows}
        if len(distinct) > 1:
            raise InputError(
                "plan_id",
                plan_id,
                f"{ma.contract}-{ma.plan} has segments {', '.join(s for s, _, _ in rows)} with different "
                "acupuncture benefits in "
                f"{year}; give the segment, e.g. {ma.contract}-{ma.plan}-{rows[0][0]}",
            )
    segment, values, import_id = rows[0]
    full_id = f"{ma.contract}-{ma.plan}-{segment}"
    record = store.import_by_id(import_id)
    if year not in VERIFIED_YEARS:
        warnings.append(
            f"that PBP category 13a is acupuncture is verified from CMS text for "
            f"{', '.join(map(str, VERIFIED_YEARS))} only; the {year} file is read the same way"
        )
    offered = values.get("pbp_b13a_bendesc_yn") == YES
    limits: list[PlanLimitOut] = []
    visit_limits: list[dict[str, Any]] = []
    requirements: list[dict[str, Any]] = []
    numv = values.get("pbp_b13a_bendesc_numv")
    per_code = values.get("pbp_b13a_bendesc_per", "")
    period = PERIODS.get(per_code, values.get("pbp_b13a_bendesc_per_d") or "period not stated")
    if offered and values.get("pbp_b13a_bendesc_lim") == "2" and numv:
        try:
            visits = int(float(numv))
        except ValueError:
            visits = None
        if visits is not None:
            limits.append(
                PlanLimitOut(
                    float(visits),
                    "visits",
                    "year" if per_code == "3" else "unstated",
                    "pbp_b13a_bendesc_numv/_per",
                    f"{numv} treatments, {period}",
                )
            )
            if per_code in ("3", "7"):
                visit_limits.append(
                    {
                        "visits": visits,
                        "per": "plan_year" if per_code == "3" else "month",
                        "note": f"PBP 13a: {visits} treatments {period}",
                    }
                )
            else:
                requirements.append(
                    {
                        "kind": "plan_benefit",
                        "text": f"the plan limits acupuncture to {visits} treatments, {period}",
                    }
                )
    maximum = _money(values.get("pbp_b13a_maxplan_amt")) if values.get("pbp_b13a_maxplan_yn") == YES else None
    if offered and maximum:
        mper = PERIODS.get(values.get("pbp_b13a_maxplan_per", ""), "period not stated")
        limits.append(
            PlanLimitOut(
                float(values["pbp_b13a_maxplan_amt"]),
                "dollars",
                "year" if values.get("pbp_b13a_maxplan_per") == "3" else "unstated",
                "pbp_b13a_maxplan_amt/_per",
                f"plan pays up to {maximum}, {mper}",
            )
        )
        requirements.append(
            {"kind": "plan_benefit", "text": f"the plan pays up to {maximum} for acupuncture, {mper}"}
        )
    if offered and values.get("pbp_b13a_auth_yn") == YES:
        requirements.append(
            {
                "kind": "prior_authorization",
                "text": "the plan requires prior authorization for supplemental acupuncture",
            }
        )
    if offered and values.get("pbp_b13a_refer_yn") == YES:
        requirements.append(
            {"kind": "referral", "text": "the plan requires a referral for supplemental acupuncture"}
        )
    copay = _range(values, "copay_amt", "$")
    coins = _range(values, "coins_pct", "%")
    cost = (
        [
            CostShareOut(
                tier="in_network_tier_1",
                copay=(f"{copay} copay" if copay else "not stated"),
                coinsurance=(f"{coins} coinsurance" if coins else "not stated"),
                copay_text=_raw(values, "copay_amt"),
                coinsurance_text=_raw(values, "coins_pct"),
            )
        ]
        if offered and (copay or coins)
        else []
    )
    plan = PlanOut(
        plan_id=full_id,
        plan_year=year,
        source=f"CMS PBP benefits {year}" + (f" ({record.file_name})" if record else ""),
        covered=offered,
        market="Medicare Advantage",
        cost_sharing=cost,
        limits=limits,
        details=dict(values),
    )
    if offered:
        summary = f"Plan {full_id} offers supplemental acupuncture in {year}"
        if limits:
            summary += " (" + "; ".join(lim.text for lim in limits) + ")"
    else:
        summary = f"Plan {full_id} does not offer supplemental acupuncture in {year} (PBP 13a)"
    imported = date.fromisoformat(record.imported_at[:10]) if record else date(year, 1, 1)
    loaded = plan_year_rule(
        rule_id=f"plan.{full_id}.{year}",
        title=f"Medicare Advantage plan {full_id}: supplemental acupuncture, plan year {year}",
        layer="ma_supplemental",
        aspect="both",
        scope={"coverage": ["medicare_advantage"], "plan_id": full_id},
        year=year,
        effective_note=f"PBP benefits for contract year {year}",
        imported=imported,
        summary=summary + ".",
        citation={
            "url": PBP_PAGE,
            "title": f"PBP Benefits {year} ({record.file_name if record else 'file not recorded'}"
            + (f", SHA-256 {record.sha256[:16]})" if record else ")"),
            "section": f"{B13} row {ma.contract} {ma.plan} {segment}, pbp_b13a_* (acupuncture)",
            "issuer": CMS,
        },
        provision={
            "id": "pbp13a",
            "summary": summary + ("; " + CODES_NOTE if offered else "") + ".",
            "outcome": "covered" if offered else "not_covered",
            "limits": visit_limits,
            "requirements": requirements,
        },
        notes=CODES_NOTE,
    )
    return MaAnswer(loaded, plan, warnings)


B13 = "pbp_b13_other_services.txt"


def json_key(values: dict[str, str]) -> str:
    import json

    return json.dumps(values, sort_keys=True)


def _raw(values: dict[str, str], stem: str) -> str:
    lo, hi = values.get(f"pbp_b13a_{stem}_min", ""), values.get(f"pbp_b13a_{stem}_max", "")
    return f"{lo}-{hi}" if lo and hi and lo != hi else lo or hi


def _range(values: dict[str, str], stem: str, unit: str) -> str | None:
    raw = _raw(values, stem)
    if not raw:
        return None
    parts = raw.split("-")
    fmt = [(_money(p) if unit == "$" else f"{float(p):g}%") for p in parts if p]
    return " to ".join(x for x in fmt if x)
