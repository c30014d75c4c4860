"""A plan ID in a question, answered from the plan store: the plan's own benefit row becomes a plan
rule (the engine's ``plan`` layer) cited to the CMS file it came from, and its values are shown as
the answer's ``plan``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..records import CostShareOut, PlanCountOut, PlanLimitOut, PlanOut
from .ids import MarketplaceId, parse_marketplace_id
from .parse import PlanLimit, is_covered, parse_cost_share, plan_limit
from .rules import plan_year_rule
from .store import ImportRecord, PlanStore

if TYPE_CHECKING:
    from ..dataset import LoadedRule

PUF_PAGE = "https://www.cms.gov/marketplace/resources/data/public-use-files"
CMS_CCIIO = "Centers for Medicare & Medicaid Services (CCIIO)"
TIERS = (
    ("in_network_tier_1", "CopayInnTier1", "CoinsInnTier1"),
    ("in_network_tier_2", "CopayInnTier2", "CoinsInnTier2"),
    ("out_of_network", "CopayOutofNet", "CoinsOutofNet"),
)
MARKETS = {"individual": "individual", "shop (small group)": "small_group", "small group": "small_group"}


@dataclass
class PlanAnswer:
    rule: LoadedRule
    plan: PlanOut
    state: str
    issuer_name: str | None
    coverage: list[str]
    warnings: list[str] = field(default_factory=list)


def _imported_text(store: PlanStore) -> str:
    years = store.benefit_years()
    if not years:
        return "no Benefits and Cost Sharing PUF is imported (coverage-lookup plans import --benefits FILE)"
    return "imported: " + "; ".join(
        f"{y} ({len(states)} states: {', '.join(states)})" for y, states in years.items()
    )


def marketplace_plan(plan_id: str, on: date, store: PlanStore | None = None) -> PlanAnswer:
    """The plan rule and plan facts for a marketplace plan ID on a date of service."""
    pid = parse_marketplace_id(plan_id)
    store = store or PlanStore()
    year = on.year
    years = store.benefit_years()
    if year not in years:
        raise InputError(
            "plan_id",
            plan_id,
            f"plan year {year} (from the service date {on.isoformat()}) is not in the plan store; "
            + _imported_text(store),
            f"import the {year} Benefits and Cost Sharing PUF: coverage-lookup plans import --benefits FILE",
        )
    if pid.state not in years[year]:
        raise InputError(
            "plan_id",
            plan_id,
            f"the imported {year} file holds no plans from {pid.state}: CMS publishes only plans sold on the "
            f"federal platform (HealthCare.gov), so {pid.state} most likely ran its own exchange in {year}, whose "
            "plans are not in these files; ask with --state and --payer instead",
        )
    variant = _variant(store, year, pid, plan_id)
    rows = store.benefit_rows(year, variant)
    if not rows and not store.in_index(year, variant):
        raise InputError(
            "plan_id",
            plan_id,
            f"no plan {variant} in the imported {year} file for {pid.state}; check the ID on the card "
            "(14 characters and a -NN variant)",
        )
    attrs = store.attributes(year, variant) or {}
    acu = rows.get("Acupuncture")
    import_id = acu[3] if acu else None
    record = store.import_by_id(import_id) if import_id is not None else _latest_benefits_import(store, year)
    values = acu[0] if acu else {}
    covered = acu is not None and is_covered(values.get("IsCovered"))
    market = MARKETS.get(attrs.get("MarketCoverage", "").strip().lower())
    coverage = [market] if market else ["individual", "small_group"]
    limit = (
        plan_limit(values.get("LimitQty"), values.get("LimitUnit"), values.get("Explanation"))
        if acu
        else None
    )
    warnings: list[str] = []
    if acu is None:
        warnings.append(
            f"the {year} file lists no acupuncture row for plan {variant}; a benefit the plan does not list is "
            "not covered by it"
        )
    plan = PlanOut(
        plan_id=variant,
        plan_year=year,
        source=f"CMS Benefits and Cost Sharing PUF {year}" + (f" ({record.file_name})" if record else ""),
        covered=covered,
        name=attrs.get("PlanMarketingName") or None,
        issuer=attrs.get("IssuerMarketPlaceMarketingName") or None,
        state=pid.state,
        market=attrs.get("MarketCoverage") or None,
        metal_level=attrs.get("MetalLevel") or None,
        cost_sharing=[
            CostShareOut(
                tier=tier,
                copay=parse_cost_share(values.get(copay), "copay").plain,
                coinsurance=parse_cost_share(values.get(coins), "coinsurance").plain,
                copay_text=values.get(copay, ""),
                coinsurance_text=values.get(coins, ""),
            )
            for tier, copay, coins in TIERS
            if values.get(copay) or values.get(coins)
        ]
        if covered
        else [],
        limits=[_limit_out(limit)] if limit and covered else [],
        exclusions=values.get("Exclusions") or None,
        explanation=values.get("Explanation") or None,
        details={
            k: values[k]
            for k in ("IsEHB", "QuantLimitOnSvc", "LimitQty", "LimitUnit", "EHBVarReason")
            if values.get(k)
        },
        related=_related(rows, limit),
    )
    rule = _plan_rule(variant, year, pid.state, coverage, plan, limit, record, values)
    return PlanAnswer(rule, plan, pid.state, plan.issuer, coverage, warnings)


def _variant(store: PlanStore, year: int, pid: MarketplaceId, given: str) -> str:
    if pid.variant is not None:
        return pid.text
    variants = store.variants(year, pid.component)
    if len(variants) == 1:
        return variants[0]
    if not variants:
        raise InputError("plan_id", given, f"no plan {pid.component}-NN in the imported {year} file")
    raise InputError(
        "plan_id",
        given,
        f"{pid.component} has {len(variants)} variants in {year} ({', '.join(variants)}); "
        "give the full ID with its -NN variant (the card or the plan documents show it)",
    )


def _latest_benefits_import(store: PlanStore, year: int) -> ImportRecord | None:
    found = [r for r in store.imports() if r.kind == "benefits" and year in r.years]
    return found[-1] if found else None


def _limit_out(limit: PlanLimit) -> PlanLimitOut:
    return PlanLimitOut(
        quantity=limit.quantity,
        unit=limit.unit,
        per=limit.per,
        source=limit.source,
        text=limit.text,
        shared_with=list(limit.shared_with),
    )


def _related(rows: dict[str, tuple[dict[str, str], str, str, int]], limit: PlanLimit | None) -> list[str]:
    """The rows of the services an acupuncture limit is shared with, in words."""
    out = []
    shared = set(limit.shared_with) if limit else set()
    for benefit, label in (
        ("Chiropractic Care", "chiropractic care"),
        ("Massage Therapy", "massage therapy"),
    ):
        if benefit in rows and label in shared:
            v = rows[benefit][0]
            other = plan_limit(v.get("LimitQty"), v.get("LimitUnit"), v.get("Explanation"))
            state = "covered" if is_covered(v.get("IsCovered")) else "not covered"
            out.append(f"{benefit}: {state}" + (f", limit {other.plain}" if other else ""))
    return out


def _plan_rule(
    plan_id: str,
    year: int,
    state: str,
    coverage: list[str],
    plan: PlanOut,
    limit: PlanLimit | None,
    record: ImportRecord | None,
    values: dict[str, str],
) -> LoadedRule:
    imported = date.fromisoformat(record.imported_at[:10]) if record else date(year, 1, 1)
    file_text = f"{record.file_name}, SHA-256 {record.sha256[:16]}" if record else "file not recorded"
    words = plan.explanation or plan.exclusions
    if plan.covered:
        summary = f"Plan {plan_id} lists acupuncture as covered in plan year {year}"
        if limit is not None:
            summary += f", limited to {limit.plain}"
        cost = "; ".join(f"{c.tier.replace('_', ' ')}: {c.copay}, {c.coinsurance}" for c in plan.cost_sharing)
        if cost:
            summary += f" (cost sharing: {cost})"
    else:
        summary = f"Plan {plan_id} does not cover acupuncture in plan year {year}" + (
            " (no acupuncture row)" if not values else f" (IsCovered: {values.get('IsCovered') or 'blank'})"
        )
    if words:
        summary += f". The plan's words: {words}"
    provision: dict[str, Any] = {
        "id": "puf",
        "summary": summary + ".",
        "outcome": "covered" if plan.covered else "not_covered",
    }
    requirements = []
    visit_limits = []
    if plan.covered and limit is not None:
        if limit.unit == "visits" and limit.quantity.is_integer() and limit.per != "unstated":
            per = (
                "benefit_period"
                if limit.per == "benefit_period"
                else ("calendar_year" if coverage == ["individual"] else "plan_year")
            )
            visit_limits.append(
                {
                    "visits": int(limit.quantity),
                    "per": per,
                    "shared_with": list(limit.shared_with),
                    "note": f"from the plan's {limit.source}: {limit.text}",
                }
            )
        else:
            requirements.append(
                {
                    "kind": "plan_benefit",
                    "text": f"the plan limits acupuncture to {limit.plain} ({limit.text})",
                }
            )
    if plan.covered and plan.exclusions:
        requirements.append({"kind": "plan_benefit", "text": f"the plan's exclusions: {plan.exclusions}"})
    provision["limits"] = visit_limits
    provision["requirements"] = requirements
    return plan_year_rule(
        rule_id=f"plan.{plan_id}.{year}",
        title=f"Marketplace plan {plan_id} ({plan.name or 'name not imported'}), plan year {year}",
        layer="plan",
        aspect="benefit",
        scope={"coverage": coverage, "plan_id": plan_id},
        year=year,
        effective_note=f"the row is for plan year {year} (BusinessYear in the CMS file)",
        imported=imported,
        summary=summary + ".",
        citation={
            "url": PUF_PAGE,
            "title": f"Benefits and Cost Sharing PUF, plan year {year} ({file_text})",
            "section": f"PlanId {plan_id}, BenefitName Acupuncture",
            "issuer": CMS_CCIIO,
        },
        provision=provision,
        state=state,
    )


@dataclass
class Resolved:
    """What a plan ID adds to a question."""

    rules: list[LoadedRule] = field(default_factory=list)
    plan: PlanOut | None = None
    state: str | None = None
    issuer_name: str | None = None
    warnings: list[str] = field(default_factory=list)


MARKETPLACE_COVERAGE = ("individual", "small_group")


def resolve(
    known_plan_ids: set[str],
    coverage: str,
    plan_id: str,
    on: date,
    state: str | None,
    store: PlanStore | None = None,
) -> Resolved:
    """Make sense of a plan ID: a plan the dataset itself holds rules for (e.g. ``fep_blue_focus``), a
    marketplace plan in the plan store, or a Medicare Advantage plan in the plan store. Anything else
    is refused -- an unknown plan ID is never silently ignored."""
    from .ids import MA_FORMAT, MARKETPLACE_FORMAT, looks_like_ma, looks_like_marketplace

    if plan_id in known_plan_ids:
        return Resolved()
    if looks_like_marketplace(plan_id):
        if coverage not in MARKETPLACE_COVERAGE:
            raise InputError(
                "plan_id",
                plan_id,
                f"a marketplace plan ID names an individual or small-group (SHOP) plan, not {coverage}; "
                "ask with --coverage individual (or small_group)",
            )
        found = marketplace_plan(plan_id, on, store)
        if state is not None and state != found.state:
            raise InputError(
                "state",
                state,
                f"plan {found.plan.plan_id} is a {found.state} plan; leave out --state or give {found.state}",
            )
        if coverage not in found.coverage:
            raise InputError(
                "coverage",
                coverage,
                f"plan {found.plan.plan_id} is sold in the {found.plan.market} market; "
                f"ask with --coverage {found.coverage[0]}",
            )
        return Resolved([found.rule], found.plan, found.state, found.issuer_name, found.warnings)
    if looks_like_ma(plan_id):
        if coverage != "medicare_advantage":
            raise InputError(
                "plan_id",
                plan_id,
                f"a contract-plan ID such as H1234-001 names a Medicare Advantage plan, not {coverage}; "
                "ask with --coverage medicare_advantage",
            )
        from .pbp_lookup import ma_plan

        found_ma = ma_plan(plan_id, on, store)
        return Resolved([found_ma.rule], found_ma.plan, None, None, found_ma.warnings)
    dataset_ids = ", ".join(sorted(known_plan_ids)) or "none"
    raise InputError(
        "plan_id",
        plan_id,
        f"not a plan this library knows: {MARKETPLACE_FORMAT}; {MA_FORMAT}; plans with their own rules in "
        f"the dataset: {dataset_ids}",
    )


def state_counts(state: str, year: int, store: PlanStore | None = None) -> PlanCountOut | None:
    """How many plans in the imported benefits file for ``state`` and ``year`` cover acupuncture."""
    from ..records import PlanCountOut

    store = store or PlanStore()
    if not store.exists():
        return None
    rows = store.counts(year=year, state=state)
    if not rows:
        return None
    row = rows[0]
    record = _latest_benefits_import(store, year)
    source = f"CMS Benefits and Cost Sharing PUF {year}" + (
        f" ({record.file_name}, SHA-256 {record.sha256[:16]}, imported {record.imported_at[:10]})"
        if record
        else ""
    )
    scope = "individual-market medical plans" if row["with_attributes"] else "plans"
    text = (
        f"{row['covered']} of {row['plans']} {scope} on the federal platform in {state} list acupuncture as "
        f"covered in {year} (plan variants counted separately; {source})"
    )
    return PlanCountOut(
        plan_year=year, state=state, plans=row["plans"], covered=row["covered"], source=source, text=text
    )
