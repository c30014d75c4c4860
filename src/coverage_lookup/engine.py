"""The date-aware engine: pick the governing layers for a coverage type, evaluate the rule versions in
effect on the date of service, keep benefit and medical necessity apart, then combine them.

Layer plans (DOMAIN.md, "Layers of rules"):

* a **decide** layer answers an aspect on its own; the first decide layer with a rule in effect wins
  (a plan's own data outranks everything; a state's Medicaid rule outranks the federal baseline);
* **grant** layers can only open a benefit (state mandates, the EHB benchmark, the Medicare NCD floor
  plus Medicare Advantage supplemental benefits): the most generous outcome among them counts;
* a **fallback** layer speaks only when the layer it stands in for has no rule; if the query named the
  jurisdiction whose rule is missing, the answer is ``unknown`` (the dataset has not researched it).

Within one layer, the most specific match wins: plan over payer over state over national, and a
provision that names the indication over a catch-all. Ties go to the more restrictive outcome.

The final status is the stricter of the two aspects, in the order
``not_covered`` > ``unknown`` > ``conditional`` > ``covered``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, cast

from .codes.icd10cm import IcdStatus
from .dataset import Dataset, LoadedRule
from .evidence import Pick, describe_span, pick
from .records import (
    AppliedRule,
    AspectResult,
    CitationOut,
    Evidence,
    Freshness,
    IndicationOut,
    LimitOut,
    RequirementOut,
    TraceEntry,
)

if TYPE_CHECKING:  # on the cached path these are plain attribute records (see dataset.Plain)
    from .models import ProviderRule, Provision, Version

from .vocab import COVERAGE_LABELS, LAYER_LABELS, PERIOD_LABELS, PROCEDURES, Status

STALE_AFTER_DAYS = 365
OTHER_INDICATION = "__other__"  # overview pseudo-indication: matches catch-all provisions only
STRICTNESS = {"not_covered": 3, "unknown": 2, "conditional": 1, "covered": 0}
GENEROSITY = {"covered": 3, "conditional": 2, "not_covered": 1, "unknown": 0}


@dataclass(frozen=True)
class LayerSpec:
    layer: str
    mode: str  # "decide" | "grant" | "fallback"
    needs: str | None = None  # query field the layer needs: "state", "payer", "plan_id"
    stands_in_for: str | None = None  # for fallback layers


_COMMERCIAL_NOT_FOR_SELF_FUNDED = (
    "state insurance law does not reach self-funded employer plans (ERISA preempts it); "
    "the plan document decides"
)

LAYER_PLANS: dict[str, tuple[LayerSpec, ...]] = {
    "medicare": (LayerSpec("ncd", "decide"),),
    "medicare_advantage": (
        LayerSpec("plan", "decide", needs="plan_id"),
        LayerSpec("ncd", "grant"),
        LayerSpec("ma_supplemental", "grant"),
    ),
    "medicaid": (
        LayerSpec("state_medicaid", "decide", needs="state"),
        LayerSpec("medicaid_baseline", "fallback", stands_in_for="state_medicaid"),
    ),
    "individual": (
        LayerSpec("plan", "decide", needs="plan_id"),
        LayerSpec("state_law", "grant", needs="state"),
        LayerSpec("ehb_benchmark", "grant", needs="state"),
        LayerSpec("payer_policy", "decide", needs="payer"),
    ),
    "small_group": (
        LayerSpec("plan", "decide", needs="plan_id"),
        LayerSpec("state_law", "grant", needs="state"),
        LayerSpec("ehb_benchmark", "grant", needs="state"),
        LayerSpec("payer_policy", "decide", needs="payer"),
    ),
    "large_group": (
        LayerSpec("plan", "decide", needs="plan_id"),
        LayerSpec("state_law", "grant", needs="state"),
        LayerSpec("payer_policy", "decide", needs="payer"),
    ),
    "self_funded": (
        LayerSpec("plan", "decide", needs="plan_id"),
        LayerSpec("payer_policy", "decide", needs="payer"),
    ),
    "fehb": (LayerSpec("fehb", "decide"),),
    "tricare": (LayerSpec("tricare", "decide"),),
    "va": (LayerSpec("va", "decide"),),
    "workers_comp": (LayerSpec("workers_comp", "decide", needs="state"),),
}

# Layers that did not exist before a date fixed by law: no rule of theirs is extrapolated back past it.
LAYER_BEGINS: dict[str, tuple[date, str]] = {
    "ehb_benchmark": (
        date(2014, 1, 1),
        "the essential-health-benefit requirement applies to plan years from 2014-01-01 (ACA section "
        "1302, 45 CFR 156.100); there was no EHB benchmark before",
    ),
}

# Which aspects a layer can speak to when the coverage has separate benefit and necessity sources.
BENEFIT_LAYERS = {"plan", "state_law", "ehb_benchmark"}
NECESSITY_LAYERS = {"payer_policy"}

NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("self_funded", "state_law"): _COMMERCIAL_NOT_FOR_SELF_FUNDED,
    (
        "self_funded",
        "ehb_benchmark",
    ): "the EHB benchmark binds only non-grandfathered individual and small-group plans",
    (
        "large_group",
        "ehb_benchmark",
    ): "the EHB benchmark binds only non-grandfathered individual and small-group plans",
}


@dataclass
class NormalizedQuery:
    coverage: str
    state: str | None
    payer: str | None
    payer_known: bool
    payer_name: str | None
    plan_id: str | None
    diagnoses: list[IcdStatus]
    condition: str | None
    procedure: str
    provider: str
    service_date: date
    visits_used: int | None
    age: int | None
    warnings: list[str] = field(default_factory=list)
    # Every diagnosis on the claim, for exclusions ("not associated with pregnancy") when the engine
    # evaluates one diagnosis at a time.
    context: list[IcdStatus] = field(default_factory=list)
    # The condition sets of every diagnosis on the claim, worked out once per question.
    context_conditions: frozenset[str] | None = None


@dataclass
class RuleResult:
    loaded: LoadedRule
    version: Version
    pick: Pick
    provision: Provision
    outcome: str
    reason: str
    specificity: tuple[int, int]
    requirements: list[RequirementOut]
    limits: list[LimitOut]


def _in_scope(loaded: LoadedRule, q: NormalizedQuery) -> bool:
    """A rule bound to a state, payer or plan applies only to queries naming that state, payer or plan."""
    return (
        loaded.state in (None, q.state)
        and loaded.payer in (None, q.payer)
        and loaded.rule.scope.plan_id in (None, q.plan_id)
    )


def _scope_rank(loaded: LoadedRule) -> int:
    if loaded.rule.scope.plan_id:
        return 3
    if loaded.payer:
        return 2
    if loaded.state:
        return 1
    return 0


def _query_conditions(ds: Dataset, q: NormalizedQuery) -> set[str] | None:
    """Condition-set names the query's indication belongs to; None when no indication was given."""
    if q.condition == OTHER_INDICATION:
        return set()
    if q.condition and not q.diagnoses:
        return {q.condition}
    if q.diagnoses:  # the diagnosis decides; a condition given with it only labels it
        names: set[str] = set()
        for dx in q.diagnoses:
            names.update(ds.conditions_of(dx.code))
        return names
    return None


def _context_conditions(ds: Dataset, q: NormalizedQuery, conds: set[str] | None) -> set[str]:
    names = set(conds or set())
    if q.context_conditions is not None:
        return names | q.context_conditions
    for dx in q.context or q.diagnoses:
        names.update(ds.conditions_of(dx.code))
    return names


def _provision_matches(
    ds: Dataset, prov: Provision, q: NormalizedQuery, conds: set[str] | None
) -> tuple[bool, int, str]:
    """(matches, specificity, why-not)."""
    if prov.procedures is not None and q.procedure not in prov.procedures:
        return False, 0, f"provision '{prov.id}' is for procedures {', '.join(prov.procedures)}"
    if prov.age is not None:
        if q.age is None:
            return False, 0, f"provision '{prov.id}' depends on age (give --age)"
        if (prov.age.min is not None and q.age < prov.age.min) or (
            prov.age.max is not None and q.age > prov.age.max
        ):
            return False, 0, f"provision '{prov.id}' is for ages {prov.age.min or 0}-{prov.age.max or 'any'}"
    excluded = _context_conditions(ds, q, conds) & set(prov.excluding)
    if excluded:
        labels = ", ".join(ds.conditions[c].label for c in sorted(excluded))
        return False, 0, f"provision '{prov.id}' does not apply with {labels}"
    if prov.conditions is None:
        return True, 1, ""
    if conds is None:
        return False, 0, f"provision '{prov.id}' is for named indications and the query gives none"
    if conds & set(prov.conditions):
        return True, 2, ""
    return False, 0, f"provision '{prov.id}' is for {', '.join(prov.conditions)}"


def _evaluate_rule(
    ds: Dataset, loaded: LoadedRule, q: NormalizedQuery, conds: set[str] | None, trace: list[TraceEntry]
) -> RuleResult | None:
    rule = loaded.rule
    layer = rule.layer
    if q.procedure not in rule.scope.procedures:
        trace.append(
            TraceEntry(
                rule=loaded.id,
                layer=layer,
                decision="skipped",
                reason=f"covers procedures {', '.join(rule.scope.procedures)}, not {q.procedure}",
            )
        )
        return None
    floor = LAYER_BEGINS.get(layer)
    if floor is not None and q.service_date < floor[0]:
        trace.append(TraceEntry(rule=loaded.id, layer=layer, decision="skipped", reason=floor[1]))
        return None
    found = pick(rule, q.service_date)
    if found is None:
        first = rule.versions[0].effective.isoformat()
        trace.append(
            TraceEntry(
                rule=loaded.id,
                layer=layer,
                decision="skipped",
                reason=f"not yet in effect on {q.service_date.isoformat()} (first version effective {first})",
            )
        )
        return None
    version = found.version
    if version.retired:
        trace.append(
            TraceEntry(
                rule=loaded.id,
                layer=layer,
                decision="skipped",
                reason=f"retired from {version.effective.isoformat()}: {version.summary}",
            )
        )
        return None
    misses: list[str] = []
    for prov in version.provisions:
        ok, spec, why = _provision_matches(ds, prov, q, conds)
        if not ok:
            misses.append(why)
            continue
        return _apply_provision(loaded, found, prov, q, spec)
    trace.append(
        TraceEntry(
            rule=loaded.id,
            layer=layer,
            decision="skipped",
            reason="no provision of the version effective "
            f"{version.effective.isoformat()} matches: " + "; ".join(misses),
        )
    )
    return None


def _provider_exclusion(providers: list[ProviderRule], q: NormalizedQuery) -> tuple[str, str] | None:
    """(outcome, reason) when ``q.provider`` may not bill under these provider rules, else None."""
    listed: dict[str, ProviderRule] = {p.type: p for p in providers}
    entry = listed.get(q.provider)
    if entry is not None and entry.may_bill:
        return None
    allowed = [t for t, p in listed.items() if p.may_bill]
    # An excluded provider's claim is not covered, or conditional where another route may pay; only
    # covered, conditional or unknown provisions reach here, so this is never more generous.
    new_outcome: str = entry.when_excluded if entry is not None else "not_covered"
    why = (
        entry.note
        if entry is not None and entry.note
        else f"{q.provider.replace('_', ' ')} is not among the providers who may bill under this rule"
    )
    return new_outcome, f"{why} (may bill: {', '.join(t.replace('_', ' ') for t in allowed)})."


MORE_WITH_TEXT = {
    "prior_authorization": "more visits need prior authorization (e.g. a treatment authorization request)",
    "documented_improvement": "more visits need documented improvement",
    "medical_necessity": "more visits need a medical-necessity review",
}
MORE_WITH_KIND = {
    "prior_authorization": "prior_authorization",
    "documented_improvement": "documented_improvement",
    "medical_necessity": "other",
}


def _apply_provision(
    loaded: LoadedRule, found: Pick, prov: Provision, q: NormalizedQuery, spec: int
) -> RuleResult:
    version = found.version
    outcome: str = prov.outcome
    reason = prov.summary
    reqs = [
        RequirementOut(kind=r.kind, text=r.text, weeks=r.weeks, source=loaded.id) for r in prov.requirements
    ]
    # Provider rules of the whole version hold whatever the indication, so they decide even a
    # provision whose own outcome is unknown; a provision's own list speaks to covered routes only.
    excluded = None
    if version.providers is not None and outcome != "not_covered":
        excluded = _provider_exclusion(version.providers, q)
    if excluded is None and prov.providers is not None and outcome in {"covered", "conditional"}:
        excluded = _provider_exclusion(prov.providers, q)
    if excluded is not None:
        outcome, reason = excluded
    else:
        for providers in (version.providers, prov.providers):
            entry = next((p for p in providers or [] if p.type == q.provider), None)
            if entry is not None:
                reqs += [
                    RequirementOut(kind=r.kind, text=r.text, weeks=r.weeks, source=loaded.id)
                    for r in entry.requirements
                    if not any(x.text == r.text for x in reqs)
                ]
    limits: list[LimitOut] = []
    for lim in prov.limits:
        out = LimitOut(
            visits=lim.visits,
            per=PERIOD_LABELS[lim.per],
            extra_visits_with_improvement=lim.extra_visits_with_improvement,
            shared_with=list(lim.shared_with),
            note=lim.note,
            more_with=lim.more_with,
            source=loaded.id,
        )
        if q.visits_used is not None:
            out.remaining = max(lim.visits - q.visits_used, 0)
            if lim.extra_visits_with_improvement:
                out.remaining_with_improvement = max(
                    lim.visits + lim.extra_visits_with_improvement - q.visits_used, 0
                )
            if outcome in {"covered", "conditional"} and q.visits_used >= lim.visits:
                extra = lim.extra_visits_with_improvement or 0
                period = PERIOD_LABELS[lim.per]
                if q.visits_used < lim.visits + extra:
                    outcome = "conditional"
                    reason = (
                        f"{q.visits_used} visits used reaches the {lim.visits} {period}; "
                        f"up to {extra} more are covered only with documented improvement. {reason}"
                    )
                    reqs.append(
                        RequirementOut(
                            kind="documented_improvement",
                            text=f"document improvement to continue past visit {lim.visits}",
                            source=loaded.id,
                        )
                    )
                elif lim.more_with is not None:
                    # Beyond the limit with approval: still payable, on a condition the card keeps.
                    outcome = "conditional"
                    cap = lim.visits + extra
                    reason = (
                        f"{q.visits_used} visits used reaches the limit of {cap} {period}; "
                        f"{MORE_WITH_TEXT[lim.more_with]}. {reason}"
                    )
                    kind = MORE_WITH_KIND[lim.more_with]
                    if not any(r.kind == kind for r in reqs):  # the data may already say how
                        reqs.append(
                            RequirementOut(
                                kind=kind,
                                text=f"past visit {cap} {period}: {MORE_WITH_TEXT[lim.more_with]}"
                                + (f" ({lim.note})" if lim.note else ""),
                                source=loaded.id,
                            )
                        )
                else:
                    outcome = "not_covered"
                    cap_text = f"{lim.visits} {period}" + (
                        f" plus {extra} with documented improvement" if extra else ""
                    )
                    reason = f"visit limit exhausted: {q.visits_used} visits used; the limit is {cap_text}. {prov.summary}"
        limits.append(out)
    if prov.unknown is not None and outcome == "unknown":
        reason = f"{reason} Not established: {prov.unknown.missing}"
    return RuleResult(
        loaded, version, found, prov, outcome, reason, (_scope_rank(loaded), spec), reqs, limits
    )


def _applied(r: RuleResult) -> AppliedRule:
    return AppliedRule(
        id=r.loaded.id,
        title=r.loaded.rule.title,
        layer=r.loaded.rule.layer,
        aspect=r.loaded.rule.aspect,
        version_effective=r.version.effective,
        provision=r.provision.id,
        outcome=r.outcome,  # type: ignore[arg-type]
        reason=r.reason,
        citations=[
            CitationOut(
                url=c.url,
                title=c.title,
                section=c.section,
                retrieved=c.retrieved,
                kind=c.kind,
                issuer=c.issuer,
                original_url=c.original_url,
            )
            for c in r.version.citations
        ],
        last_verified=r.version.last_verified,
        effective_basis=r.version.effective_basis,
        evidence_from=r.pick.earliest,
        evidence_until=r.pick.latest,
        extrapolated=r.pick.extrapolated,
        secondary_only=all(c.kind == "secondary" for c in r.version.citations),
    )


def _layer_winner(results: list[RuleResult], trace: list[TraceEntry]) -> list[RuleResult]:
    """Most specific result(s) in one layer; ties keep the most restrictive outcome."""
    best = max(r.specificity for r in results)
    top = [r for r in results if r.specificity == best]
    strictest = max(STRICTNESS[r.outcome] for r in top)
    winners = [r for r in top if STRICTNESS[r.outcome] == strictest]
    for r in results:
        if all(r is not w for w in winners) and not any(
            t.rule == r.loaded.id and t.decision == "outranked" for t in trace
        ):
            trace.append(
                TraceEntry(
                    rule=r.loaded.id,
                    layer=r.loaded.rule.layer,
                    decision="outranked",
                    reason=f"a more specific or more restrictive rule in the same layer decides ({r.outcome})",
                )
            )
    return winners


@dataclass
class AspectOutcome:
    status: str
    summary: str
    results: list[RuleResult]
    missing: list[str]


def _payer_unresolved(q: NormalizedQuery, by_layer: dict[str, list[RuleResult]]) -> bool:
    """The query names a payer whose own policy does not decide: none in the dataset for this query,
    or only a researched ``unknown``. Naming such a payer must not make the answer less decided than
    leaving it out, so its layer is then treated as if no payer had been named."""
    if q.payer is None:
        return False
    results = by_layer.get("payer_policy", [])
    return all(r.outcome == "unknown" for r in results)


def _aspect(
    aspect: str,
    plan: tuple[LayerSpec, ...],
    by_layer: dict[str, list[RuleResult]],
    q: NormalizedQuery,
    trace: list[TraceEntry],
) -> AspectOutcome:
    def speaks(layer: str) -> bool:
        if aspect == "benefit":
            return layer not in NECESSITY_LAYERS
        return layer not in BENEFIT_LAYERS

    payer_unresolved = _payer_unresolved(q, by_layer)

    def lacks(spec: LayerSpec) -> bool:
        if spec.needs == "payer" and payer_unresolved:
            return True
        return spec.needs is not None and getattr(q, spec.needs) is None

    specs = [s for s in plan if speaks(s.layer)]
    # A rule speaks to this aspect only if its own aspect says so; then the most specific wins per layer.
    winners: dict[str, list[RuleResult]] = {}
    for layer, results in by_layer.items():
        if layer == "payer_policy" and payer_unresolved:
            continue
        relevant = [r for r in results if r.loaded.rule.aspect in (aspect, "both")]
        if relevant:
            winners[layer] = _layer_winner(relevant, trace)
    missing: list[str] = []
    for spec in specs:
        if spec.mode == "decide" and winners.get(spec.layer):
            res = winners[spec.layer]
            return AspectOutcome(res[0].outcome, res[0].reason, res, missing)
    for spec in specs:
        if spec.mode == "fallback" and winners.get(spec.layer):
            res = winners[spec.layer]
            target = spec.stands_in_for or spec.layer
            if q.state is not None:
                gap = f"no researched {LAYER_LABELS[target]} rule for {q.state} yet"
                missing.append(gap)
                return AspectOutcome(
                    "unknown", f"{gap}; the federal baseline only says: {res[0].reason}", res, missing
                )
            missing.append("state (Medicaid is run by each state)")
            return AspectOutcome("conditional", res[0].reason, res, missing)
    grants = [r for spec in specs if spec.mode == "grant" for r in winners.get(spec.layer, [])]
    if grants:
        best = max(GENEROSITY[r.outcome] for r in grants)
        chosen = [r for r in grants if GENEROSITY[r.outcome] == best]
        # Every grant layer at the deciding outcome says why: the decisive fact may sit in any of
        # them (e.g. "no marketplace plan in the state covers it" in the EHB layer).
        reasons = list(dict.fromkeys(r.reason for r in chosen))
        return AspectOutcome(chosen[0].outcome, " ".join(reasons), chosen, missing)
    # Nothing in effect: is it the query that lacks a fact, or the dataset that lacks a rule?
    needed = [s for s in specs if s.needs]
    lacking_query = [s for s in needed if lacks(s)]
    if specs and len(lacking_query) == len(specs):
        fields = sorted({s.needs or "" for s in lacking_query})
        missing.extend(f for f in fields if getattr(q, f) is None)
        what = {
            "benefit": "whether the plan includes acupuncture",
            "medical_necessity": "which indications the payer accepts",
        }[aspect]
        depends = "; ".join(LAYER_LABELS[s.layer] for s in lacking_query)
        if payer_unresolved and any(s.needs == "payer" for s in lacking_query):
            named = q.payer_name or q.payer
            return AspectOutcome(
                "conditional",
                f"{what} depends on the {depends}, and {named}'s own medical policy for acupuncture "
                "is not established in the dataset",
                [],
                missing,
            )
        return AspectOutcome(
            "conditional",
            f"{what} depends on facts not in the query ({', '.join(fields)}): {depends}",
            [],
            missing,
        )
    gaps = []
    for s in specs:
        if s.needs and lacks(s):
            if getattr(q, s.needs) is None:
                missing.append(s.needs)
            continue
        where = f" for {q.state}" if s.needs == "state" else ""
        gaps.append(f"{LAYER_LABELS[s.layer]}{where}")
    missing.extend(f"no researched rule: {g}" for g in gaps)
    label = COVERAGE_LABELS[q.coverage]
    return AspectOutcome(
        "unknown",
        f"the dataset has no researched rule in effect on {q.service_date.isoformat()} for {label}"
        + (f" ({'; '.join(gaps)})" if gaps else ""),
        [],
        missing,
    )


def evaluate(ds: Dataset, q: NormalizedQuery, today: date) -> dict[str, object]:
    """Evaluate a normalised query; returns the fields of a Determination."""
    conds = _query_conditions(ds, q)
    if conds is None:
        return _overview(ds, q, today)
    if len(q.diagnoses) > 1:
        return _per_diagnosis(ds, q, today)
    plan = LAYER_PLANS[q.coverage]
    layers_in_plan = {s.layer for s in plan}
    trace: list[TraceEntry] = []
    by_layer: dict[str, list[RuleResult]] = {}
    warnings = list(q.warnings)
    candidates = ds.rules_for(q.coverage)
    # Layers that cannot reach this coverage type (state law for a self-funded plan, the EHB benchmark
    # for large groups) are still shown in the trace, with the reason they do not apply.
    unreachable = {layer for (cov, layer) in NOT_APPLICABLE if cov == q.coverage}
    if unreachable:
        have = {r.id for r in candidates}
        candidates += [r for r in ds.rules.values() if r.rule.layer in unreachable and r.id not in have]
    for loaded in candidates:
        if not _in_scope(loaded, q):
            continue
        layer = loaded.rule.layer
        if layer not in layers_in_plan:
            reason = NOT_APPLICABLE.get(
                (q.coverage, layer),
                f"the {LAYER_LABELS[layer]} layer does not govern {COVERAGE_LABELS[q.coverage]}",
            )
            trace.append(TraceEntry(rule=loaded.id, layer=layer, decision="skipped", reason=reason))
            continue
        result = _evaluate_rule(ds, loaded, q, conds, trace)
        if result is not None:
            by_layer.setdefault(layer, []).append(result)
    if q.coverage == "self_funded":
        warnings.append(_COMMERCIAL_NOT_FOR_SELF_FUNDED)

    payer_notes: list[str] = []
    if _payer_unresolved(q, by_layer) and any(s.needs == "payer" for s in plan):
        payer_notes = _payer_notes(ds, q, by_layer.get("payer_policy", []), trace)
    benefit = _aspect("benefit", plan, by_layer, q, trace)
    necessity = _aspect("medical_necessity", plan, by_layer, q, trace)
    status = max((benefit.status, necessity.status), key=lambda s: STRICTNESS[s])

    used: list[RuleResult] = []
    for r in [*benefit.results, *necessity.results]:
        if all(r is not u for u in used):  # identity: comparing results field by field is costly
            used.append(r)
    for r in used:
        span = describe_span(r.pick.earliest, r.pick.latest)
        trace.append(
            TraceEntry(
                rule=r.loaded.id,
                layer=r.loaded.rule.layer,
                decision="applied",
                reason=f"{r.outcome}: {r.reason}"
                + (f" [extrapolated: this version's evidence runs {span}]" if r.pick.extrapolated else ""),
            )
        )
    explained = {t.rule for t in trace if t.decision != "applied"}  # outranked or set aside already
    for results in by_layer.values():
        for r in results:
            if all(r is not u for u in used) and r.loaded.id not in explained:
                trace.append(
                    TraceEntry(
                        rule=r.loaded.id,
                        layer=r.loaded.rule.layer,
                        decision="outranked",
                        reason=f"another layer decides this coverage type ({r.outcome})",
                    )
                )
    requirements: list[RequirementOut] = []
    limits: list[LimitOut] = []
    if status in {"covered", "conditional"}:
        for r in used:
            for req in r.requirements:
                if req not in requirements:
                    requirements.append(req)
            limits.extend(r.limits)
    # A researched "unknown" says what could not be established: carry that into `missing`.
    unknown_notes = [
        f"{r.loaded.id}: {r.provision.unknown.missing}"
        for r in used
        if r.outcome == "unknown" and r.provision.unknown is not None
    ]
    missing = list(dict.fromkeys([*benefit.missing, *necessity.missing, *unknown_notes, *payer_notes]))
    summary = _summary(status, q, benefit, necessity, ds, conds)
    newest = max((r.version.last_verified for r in used), default=None)
    if newest is not None and newest > today:
        warnings.append(
            f"'today' ({today.isoformat()}) is earlier than the data's last verification "
            f"({newest.isoformat()}); the answer uses the rules as recorded then"
        )
    evidence = _evidence([r.pick for r in used])
    if evidence.extrapolated:
        warnings.append(_extrapolation_warning(evidence, q.service_date))
    ignored = _ignored_fields(ds, q)
    warnings.extend(_ignored_warning(q, ignored))
    return {
        "status": status,
        "summary": summary,
        "benefit": AspectResult(
            status=benefit.status,  # type: ignore[arg-type]
            summary=benefit.summary,
            decided_by=[r.loaded.id for r in benefit.results],
        ),
        "medical_necessity": AspectResult(
            status=necessity.status,  # type: ignore[arg-type]
            summary=necessity.summary,
            decided_by=[r.loaded.id for r in necessity.results],
        ),
        "requirements": requirements,
        "limits": limits,
        "indications": [],
        "rules_applied": [_applied(r) for r in used],
        "trace": trace,
        "freshness": _freshness(used, today),
        "evidence": evidence,
        "missing": missing,
        "warnings": list(dict.fromkeys(warnings)),
        "ignored": ignored,
    }


def _payer_notes(
    ds: Dataset, q: NormalizedQuery, results: list[RuleResult], trace: list[TraceEntry]
) -> list[str]:
    """What to tell the user when the named payer's own policy does not decide (in their words)."""
    name = q.payer_name or str(q.payer)
    for r in results:
        trace.append(
            TraceEntry(
                rule=r.loaded.id,
                layer=r.loaded.rule.layer,
                decision="skipped",
                reason="the payer's policy does not establish this indication; the answer is the one "
                "without the payer",
            )
        )
    notes = [
        f"{name}'s medical policy for acupuncture does not establish this: {r.provision.unknown.missing}"
        for r in results
        if r.provision.unknown is not None
    ]
    if notes:
        return notes
    elsewhere = sorted(
        {
            lr.state
            for lr in ds.rules.values()
            if lr.payer == q.payer and lr.state is not None and lr.rule.layer == "payer_policy"
        }
    )
    note = f"{name}'s own medical policy for acupuncture is not in the dataset"
    if q.state and elsewhere and q.state not in elsewhere:
        note += f" for {q.state} (it holds {name}'s policy for {', '.join(elsewhere)} only)"
    return [note]


def _evidence(picks: list[Pick]) -> Evidence:
    """The span on which every applied version is evidenced, and whether the answer leaves it."""
    if not picks:
        return Evidence(extrapolated=False, earliest=None, latest=None)
    latests = [p.latest for p in picks if p.latest is not None]
    return Evidence(
        extrapolated=any(p.extrapolated for p in picks),
        earliest=max(p.earliest for p in picks),
        latest=min(latests) if latests else None,
    )


def _extrapolation_warning(evidence: Evidence, on: date) -> str:
    return (
        f"evidence {describe_span(evidence.earliest, evidence.latest)}; this answer assumes the rules "
        f"were the same on {on.isoformat()}"
    )


QUERY_FIELD_WORDS = {"state": "state", "payer": "payer", "plan_id": "plan ID"}


def _ignored_fields(ds: Dataset, q: NormalizedQuery) -> list[str]:
    """Query fields that cannot change the answer for this coverage: no layer of its plan needs them
    and no rule for it is bound to a state, payer or plan."""
    plan = LAYER_PLANS[q.coverage]
    rules = ds.rules_for(q.coverage)
    bound = {
        "state": any(r.state is not None for r in rules),
        "payer": any(r.payer is not None for r in rules),
        "plan_id": any(r.rule.scope.plan_id is not None for r in rules),
    }
    return [
        name
        for name in ("state", "payer", "plan_id")
        if getattr(q, name) is not None and not bound[name] and not any(s.needs == name for s in plan)
    ]


def _ignored_warning(q: NormalizedQuery, ignored: list[str]) -> list[str]:
    if not ignored:
        return []
    words = " and ".join(f"{QUERY_FIELD_WORDS[f]} ({getattr(q, f)})" for f in ignored)
    verb = "does" if len(ignored) == 1 else "do"
    labels = list(dict.fromkeys(LAYER_LABELS[s.layer] for s in LAYER_PLANS[q.coverage]))
    layers = " and ".join([", ".join(labels[:-1]), labels[-1]]) if len(labels) > 1 else labels[0]
    return [
        f"the {words} {verb} not change this answer: {COVERAGE_LABELS[q.coverage]} is decided by the {layers}"
    ]


def _indication_label(ds: Dataset, q: NormalizedQuery, conds: set[str]) -> str:
    if q.condition == OTHER_INDICATION:
        return "any other indication"
    if q.condition and not q.diagnoses:
        return ds.conditions[q.condition].label.lower()
    codes = ", ".join(d.display for d in q.diagnoses)
    if conds:
        labels = ", ".join(sorted(ds.conditions[c].label.lower() for c in conds))
        return f"{codes} ({labels})"
    return f"{codes} (in none of the named condition sets)"


STATUS_WORDS = {
    "covered": "Covered",
    "not_covered": "Not covered",
    "conditional": "Depends",
    "unknown": "Unknown",
}


def _summary(
    status: str,
    q: NormalizedQuery,
    benefit: AspectOutcome,
    necessity: AspectOutcome,
    ds: Dataset,
    conds: set[str],
) -> str:
    label = COVERAGE_LABELS[q.coverage]
    what = f"{PROCEDURES[q.procedure].split(',')[0]} ({q.procedure})"
    ind = _indication_label(ds, q, conds)
    where = f" in {q.state}" if q.state else ""
    head = f"{STATUS_WORDS[status]}: {label}{where}, {what} for {ind} on {q.service_date.isoformat()}"
    # Every aspect at the final status says why, benefit first: the decisive fact may sit in either.
    deciding = [a.summary for a in (benefit, necessity) if a.status == status] or [necessity.summary]
    parts = list(dict.fromkeys(deciding))
    return f"{head} — " + " ".join([_sentence(parts[0], capitalise=False), *map(_sentence, parts[1:])])


def _sentence(text: str, capitalise: bool = True) -> str:
    """A reason as a sentence of its own: capitalised (unless it continues the head), with a full stop."""
    text = text.strip()
    if capitalise:
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _freshness(used: list[RuleResult], today: date) -> Freshness:
    if not used:
        return Freshness(oldest_verified=None, age_days=None, stale=False)
    oldest = min(r.version.last_verified for r in used)
    age = max((today - oldest).days, 0)  # a 'today' before the verification is not a negative age
    return Freshness(oldest_verified=oldest, age_days=age, stale=age > STALE_AFTER_DAYS)


def _overview(ds: Dataset, q: NormalizedQuery, today: date) -> dict[str, object]:
    """No indication given: evaluate every indication the applicable rules name, plus 'any other'."""
    names: list[str] = []
    for loaded in ds.rules_for(q.coverage):
        if not _in_scope(loaded, q):
            continue
        found = pick(loaded.rule, q.service_date)
        if found is None or found.version.retired:
            continue
        version = found.version
        for prov in version.provisions:
            for c in prov.conditions or []:
                if c not in names:
                    names.append(c)
    indications: list[IndicationOut] = []
    trace: list[TraceEntry] = []
    rules_applied: dict[str, AppliedRule] = {}
    freshness_used: list[date] = []
    missing: list[str] = []
    warnings: list[str] = []
    spans: list[Evidence] = []
    results: list[tuple[str | None, dict[str, object]]] = []
    for name in [*names, None]:
        sub = NormalizedQuery(**{**q.__dict__, "condition": name or OTHER_INDICATION, "diagnoses": []})
        fields = evaluate(ds, sub, today)
        results.append((name, fields))
    for name, fields in results:
        label = ds.conditions[name].label if name else "any other indication"
        applied = fields["rules_applied"]
        assert isinstance(applied, list)
        source = ", ".join(a.id for a in applied) or "-"
        benefit = fields["benefit"]
        necessity = fields["medical_necessity"]
        assert isinstance(benefit, AspectResult) and isinstance(necessity, AspectResult)
        reason = (
            necessity.summary
            if STRICTNESS[necessity.status] >= STRICTNESS[benefit.status]
            else benefit.summary
        )
        indications.append(
            IndicationOut(
                condition=name,
                label=label,
                status=cast(Status, fields["status"]),
                summary=reason,
                source=source,
            )
        )
        for a in applied:
            rules_applied.setdefault(a.id, a)
            freshness_used.append(a.last_verified)
        t = fields["trace"]
        assert isinstance(t, list)
        trace.extend(
            TraceEntry(rule=e.rule, layer=e.layer, decision=e.decision, reason=f"[{label}] {e.reason}")
            for e in t
        )
        m = fields["missing"]
        assert isinstance(m, list)
        missing.extend(x for x in m if x not in missing)
        w = fields["warnings"]
        assert isinstance(w, list)
        warnings.extend(x for x in w if x not in warnings)
        span = fields["evidence"]
        assert isinstance(span, Evidence)
        if span.earliest is not None:
            spans.append(span)
    statuses = {i.status for i in indications}
    label = COVERAGE_LABELS[q.coverage]
    if len(statuses) == 1:
        status = statuses.pop()
        summary = f"{STATUS_WORDS[status]}: {label} on {q.service_date.isoformat()}, for every indication — {indications[0].summary}"
    else:
        status = "conditional"
        covered = [i.label.lower() for i in indications if i.status == "covered"]
        cond = [i.label.lower() for i in indications if i.status == "conditional"]
        unknown = [i.label.lower() for i in indications if i.status == "unknown"]
        parts = []
        if covered:
            parts.append("covered for " + "; ".join(covered))
        if cond:
            parts.append("depends on the plan or facts outside the query for " + "; ".join(cond))
        if unknown:
            parts.append("not established for " + "; ".join(unknown))
        parts.append("not covered otherwise" if any(i.status == "not_covered" for i in indications) else "")
        summary = (
            f"Depends on the indication: {label} on {q.service_date.isoformat()} — "
            + ", ".join(p for p in parts if p)
            + "."
        )
    oldest = min(freshness_used) if freshness_used else None
    return {
        "status": status,
        "summary": summary,
        "benefit": AspectResult(status=status, summary="see indications"),
        "medical_necessity": AspectResult(status=status, summary="see indications"),
        "requirements": [],
        "limits": [],
        "indications": indications,
        "rules_applied": list(rules_applied.values()),
        "trace": trace,
        "freshness": Freshness(
            oldest_verified=oldest,
            age_days=max((today - oldest).days, 0) if oldest else None,
            stale=bool(oldest and (today - oldest).days > STALE_AFTER_DAYS),
        ),
        "evidence": Evidence(
            extrapolated=any(e.extrapolated for e in spans),
            earliest=max((e.earliest for e in spans if e.earliest), default=None),
            latest=min((e.latest for e in spans if e.latest), default=None),
        ),
        "missing": missing,
        "warnings": warnings,
        "ignored": _ignored_fields(ds, q),
    }


def _per_diagnosis(ds: Dataset, q: NormalizedQuery, today: date) -> dict[str, object]:
    """Several diagnoses: a claim is supported if any one of them is (exclusions still see them all)."""
    answers = []
    context = frozenset(name for dx in q.diagnoses for name in ds.conditions_of(dx.code))
    for dx in q.diagnoses:
        sub = NormalizedQuery(
            **{**q.__dict__, "diagnoses": [dx], "context": list(q.diagnoses), "context_conditions": context}
        )
        answers.append((dx, evaluate(ds, sub, today)))
    # The most favourable diagnosis decides; on a tie, the first given.
    best_dx, best = max(
        ((dx, fields) for dx, fields in answers), key=lambda a: GENEROSITY[str(a[1]["status"])]
    )
    trace = best["trace"]
    assert isinstance(trace, list)
    for dx, fields in answers:
        trace.insert(
            0,
            TraceEntry(
                rule="(diagnosis)",
                layer="-",
                decision="applied" if dx is best_dx else "outranked",
                reason=f"{dx.display}: {fields['status']}"
                + (" — the most favourable diagnosis decides the answer" if dx is best_dx else ""),
            ),
        )
    summary = str(best["summary"])
    codes = ", ".join(d.display for d in q.diagnoses)
    best["summary"] = summary.replace(
        f"for {best_dx.display} ", f"for {codes}, decided on {best_dx.display} ", 1
    )
    return best
