"""The research-status registry: for each jurisdiction and state program, researched or still unknown.

"Researched" means the jurisdiction's file has a rule for the program whose version in effect today
says something other than ``unknown`` — an established absence ("no such law", "not covered") counts.
``coverage-lookup states`` prints it and ``docs/states.md`` is generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .dataset import Dataset, LoadedRule
from .evidence import version_on
from .states import state_codes

# Program name (CLI/JSON) -> the data layer that holds it.
PROGRAMS: dict[str, str] = {
    "medicaid": "state_medicaid",
    "state_law": "state_law",
    "ehb_benchmark": "ehb_benchmark",
    "workers_comp": "workers_comp",
}
RESEARCHED, UNKNOWN = "researched", "unknown"

# Kinds of state insurance law on acupuncture (the state_law program), as the findings are written
# (docs/data-model.md): a covered outcome is a benefit mandate; a rule keyed state_law_offer a mandated
# offer; one keyed state_law_provider, or a provision naming the licensed acupuncturist as a provider
# who may bill, provider non-discrimination; provisions no_law_found / plan_decides only, no law found;
# anything else a law that names acupuncture without requiring coverage.
BENEFIT_MANDATE = "benefit mandate"
MANDATED_OFFER = "mandated offer"
PROVIDER = "provider non-discrimination"
OTHER_LAW = "other law"
NONE_FOUND = "none found"
NO_LAW_PROVISIONS = frozenset({"no_law_found", "plan_decides"})


@dataclass(slots=True)
class ProgramStatus:
    research: str  # "researched" | "unknown"
    headline: str  # covered, covered for some indications, not covered, depends on the plan, ..., unknown
    as_of: date | None  # the oldest last_verified among the rules read
    effective: date | None  # when the current version took effect
    rules: list[str] = field(default_factory=list)
    kind: str | None = None  # state_law only: the kind of law (BENEFIT_MANDATE, ...), or "unknown"


@dataclass(slots=True)
class StateStatus:
    state: str
    programs: dict[str, ProgramStatus]

    def json(self) -> dict[str, object]:
        out: dict[str, object] = {"state": self.state}
        out.update({name: p.research for name, p in self.programs.items()})
        out["details"] = {
            name: {
                "headline": p.headline,
                "as_of": p.as_of.isoformat() if p.as_of else None,
                "effective": p.effective.isoformat() if p.effective else None,
                "rules": p.rules,
                **({"kind": p.kind} if p.kind is not None else {}),
            }
            for name, p in self.programs.items()
        }
        return out


def _headline(outcomes: list[str]) -> str:
    known = set(outcomes) - {"unknown"}
    if not known:
        return "unknown"
    if known == {"covered"}:
        return "covered"
    if "covered" in known:
        return "covered for some indications"
    if known == {"not_covered"}:
        return "not covered"
    if known == {"conditional"}:
        return "depends on the plan"
    return "depends; otherwise not covered"


def _program(rules: list[LoadedRule], on: date) -> ProgramStatus:
    outcomes: list[str] = []
    verified: list[date] = []
    effective: list[date] = []
    for lr in rules:
        v = version_on(lr.rule, on)
        if v is None:
            continue
        verified.append(v.last_verified)
        effective.append(v.effective)
        if v.retired:
            outcomes.append("not_covered")
            continue
        # The headline describes adults: age-limited provisions (EPSDT under 21) are left out.
        adult = [p for p in v.provisions if p.age is None or p.age.max is None] or list(v.provisions)
        outcomes.extend(p.outcome for p in adult)
    headline = _headline(outcomes)
    return ProgramStatus(
        research=UNKNOWN if headline == "unknown" else RESEARCHED,
        headline=headline,
        as_of=min(verified) if verified else None,
        effective=max(effective) if effective else None,
        rules=[lr.id for lr in rules],
    )


def state_statuses(ds: Dataset, on: date | None = None) -> list[StateStatus]:
    """One entry per jurisdiction (50 states and DC), in code order."""
    on = on or date.today()
    by_state: dict[str, dict[str, list[LoadedRule]]] = {}
    for lr in ds.rules.values():
        if lr.state is not None:
            by_state.setdefault(lr.state, {}).setdefault(lr.rule.layer, []).append(lr)
    out = []
    for code in sorted(state_codes()):
        layers = by_state.get(code, {})
        programs = {
            name: _program(sorted(layers.get(layer, []), key=lambda r: r.id), on)
            for name, layer in PROGRAMS.items()
        }
        programs["state_law"].kind = law_kind(ds, programs["state_law"], on)
        out.append(StateStatus(code, programs))
    return out


def law_kind(ds: Dataset, program: ProgramStatus, on: date) -> str:
    """The kind of state insurance law behind a state's ``state_law`` status (see the constants above)."""
    if program.research != RESEARCHED:
        return UNKNOWN
    if program.headline in {"covered", "covered for some indications"}:
        return BENEFIT_MANDATE
    keys = {rid.rsplit(".", 1)[-1] for rid in program.rules}
    if "state_law_offer" in keys:
        return MANDATED_OFFER
    versions = [v for rid in program.rules if (v := version_on(ds.rules[rid].rule, on)) is not None]
    provisions = [p for v in versions for p in v.provisions]
    names_acupuncturist = any(
        pr.type == "licensed_acupuncturist" and pr.may_bill for p in provisions for pr in p.providers or []
    )
    if "state_law_provider" in keys or names_acupuncturist:
        return PROVIDER
    if provisions and all(p.id in NO_LAW_PROVISIONS for p in provisions):
        return NONE_FOUND
    return OTHER_LAW


def counts(statuses: list[StateStatus]) -> dict[str, int]:
    """How many jurisdictions are researched, per program."""
    return {name: sum(s.programs[name].research == RESEARCHED for s in statuses) for name in PROGRAMS}
