"""A plan's row from an imported CMS file as a rule of the dataset's own shape, for one question.

Both kinds of plan file (the Marketplace PUF, the Medicare Advantage PBP) describe one plan year: the
rule has the year's version, in force from 1 January, and a retired version from the next 1 January,
so the evidence span reads "from <year>-01-01 to <year>-12-31" and no other year is answered from it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..dataset import LoadedRule


def plan_year_rule(
    *,
    rule_id: str,
    title: str,
    layer: str,
    aspect: str,
    scope: dict[str, Any],
    year: int,
    effective_note: str,
    imported: date,
    summary: str,
    citation: dict[str, Any],
    provision: dict[str, Any],
    state: str | None = None,
    notes: str | None = None,
) -> LoadedRule:
    from ..dataset import LoadedRule
    from ..models import Rule

    citations = [{**citation, "retrieved": imported, "kind": "primary"}]
    rule = Rule.model_validate(
        {
            "title": title,
            "layer": layer,
            "aspect": aspect,
            "scope": scope,
            "notes": notes,
            "versions": [
                {
                    "effective": date(year, 1, 1),
                    "effective_basis": "sourced",
                    "effective_note": effective_note,
                    "evidenced_until": date(year, 12, 31),
                    "last_verified": imported,
                    "summary": summary,
                    "citations": citations,
                    "provisions": [provision],
                },
                {
                    "effective": date(year + 1, 1, 1),
                    "effective_basis": "sourced",
                    "effective_note": f"plan year {year} ends; a later year's file is a rule of its own",
                    "last_verified": imported,
                    "summary": f"End of plan year {year}.",
                    "retired": True,
                    "citations": citations,
                },
            ],
        }
    )
    return LoadedRule(id=rule_id, file="(plan store)", state=state, payer=None, rule=rule)
