"""Plain-text renderings of an answer for people (the CLI's card and trace), from the plain records."""

from __future__ import annotations

import textwrap
from typing import Protocol

from .evidence import describe_span
from .records import Determination, PlanOut
from .vocab import COVERAGE_LABELS, PROCEDURES

MARKS = {"covered": "COVERED", "not_covered": "NOT COVERED", "conditional": "DEPENDS", "unknown": "UNKNOWN"}
WIDTH = 88  # when the output is not a terminal


def width() -> int:
    """The terminal's width (60 to 120 columns), or 88 when the output is not a terminal."""
    import shutil

    return max(60, min(120, shutil.get_terminal_size((WIDTH, 24)).columns))


def _wrap(text: str, indent: str = "  ", cols: int | None = None) -> str:
    return textwrap.fill(
        text,
        width=cols or width(),
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
        break_long_words=False,  # an address stays whole (and clickable), on a line of its own
    )


def host(url: str) -> str:
    """'https://www.example.org/a/b' -> 'example.org'."""
    rest = url.split("://", 1)[-1]
    name = rest.split("/", 1)[0].split("@")[-1].split(":")[0].lower()
    return name[4:] if name.startswith("www.") else name


class CitationLike(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def issuer(self) -> str | None: ...


def citation_label(c: CitationLike) -> str:
    """Who issued the document first, then where it was read: never a bare mirror domain.

    'Aetna: Clinical Policy Bulletin 0135 — copy at vdocuments.mx'; 'Acupuncture Today (secondary
    report): ...'."""
    issuer = c.issuer or host(c.url)
    if c.kind == "copy":
        return f"{issuer}: {c.title} — copy at {host(c.url)}"
    if c.kind == "secondary":
        return f"{issuer} (secondary report): {c.title}"
    return f"{issuer}: {c.title}"


def _plan_lines(p: PlanOut) -> list[str]:
    """The plan's own row: its values in words beside the plan's own text."""
    name = " — ".join(x for x in (p.name, p.issuer) if x)
    lines = ["", f"Plan {p.plan_id}" + (f" ({name})" if name else "") + f", plan year {p.plan_year}:"]
    lines.append(f"  acupuncture: {'covered' if p.covered else 'not covered'} (source: {p.source})")
    if p.market or p.metal_level:
        lines.append("  " + ", ".join(x for x in (p.market, p.metal_level) if x))
    for c in p.cost_sharing:
        lines.append(
            f"  {c.tier.replace('_', ' ')}: {c.copay}; {c.coinsurance}"
            f"  [file: {c.copay_text or '-'} / {c.coinsurance_text or '-'}]"
        )
    for lim in p.limits:
        shared = f", shared with {', '.join(lim.shared_with)}" if lim.shared_with else ""
        unit = f"${lim.quantity:,.0f}" if lim.unit == "dollars" else f"{lim.quantity:g} visits"
        per = {"year": " per year", "benefit_period": " per benefit period"}.get(lim.per, "")
        lines.append(_wrap(f"limit: {unit}{per}{shared} [from {lim.source}: {lim.text}]"))
    for text in p.related:
        lines.append(_wrap(f"shared-limit service: {text}"))
    if p.exclusions:
        lines.append(_wrap(f"plan's exclusions: {p.exclusions}"))
    if p.explanation:
        lines.append(_wrap(f"plan's explanation: {p.explanation}"))
    return lines


REQUIREMENT_QUESTIONS = {
    "prior_authorization": "Is prior authorization needed, and how is it requested?",
    "referral": "Is a referral needed, and from whom?",
    "chronicity": "What must the records show about how long the condition has lasted?",
    "documented_improvement": "What documented improvement is needed to continue?",
    "credential": "Which licence or credential must the practitioner hold?",
    "supervision": "Must the practitioner be supervised, and by whom?",
    "diagnosis_documentation": "Which diagnosis codes and documentation does the payer require?",
}
MISSING_QUESTIONS = {
    "state": "Which state issued the plan (its law and benchmark apply)?",
    "payer": "Which company insures or administers the plan (the name on the card)?",
    "plan_id": "What is the plan's ID (on the card or the plan documents)?",
}


def ask_the_payer(d: Determination) -> list[str]:
    """The open points of an answer as questions for the payer's phone line, in the order a billing
    clerk asks them: benefit, who may bill, which diagnoses, limits, authorization, cost."""
    q: list[str] = []
    service = f"acupuncture (CPT {d.procedure})"
    if d.benefit.status in ("conditional", "unknown"):
        q.append(f"Is {service} a covered benefit under this plan on {d.service_date.isoformat()}?")
    if d.status != "not_covered":
        q.append(f"May a {d.provider.replace('_', ' ')} bill for it, and must they be in network?")
    if d.medical_necessity.status in ("conditional", "unknown"):
        what = ", ".join(dx.code for dx in d.diagnoses) or (d.condition or "").replace("_", " ")
        q.append(
            f"Is {what} a covered reason for acupuncture?"
            if what
            else "For which diagnoses is acupuncture covered?"
        )
    if d.status != "not_covered":
        if d.limits:
            for lim in d.limits:
                shared = f" (shared with {', '.join(lim.shared_with)})" if lim.shared_with else ""
                q.append(
                    f"The rules say {lim.visits} visits {lim.per}{shared}: how many are used so far this period?"
                )
        else:
            q.append("Is there a visit limit, and how many visits are left this period?")
    for r in d.requirements:
        question = REQUIREMENT_QUESTIONS.get(r.kind)
        if question and question not in q:
            q.append(question)
    if d.status != "not_covered" and (d.plan is None or not d.plan.cost_sharing):
        q.append("What is the copay or coinsurance, and does the deductible apply?")
    for m in d.missing:
        question = next(
            (q_ for key, q_ in MISSING_QUESTIONS.items() if m == key or m.startswith(key + " ")), None
        )
        if question is None and m.startswith("is the employer plan"):
            question = m[0].upper() + m[1:]
        if question and question not in q:
            q.append(question)
    return q


def brief(d: Determination) -> str:
    """One line per answer: the mark, the question in short, and the first sentence of the summary."""
    what = d.condition or ", ".join(dx.code for dx in d.diagnoses) or "any indication"
    where = f" in {d.state}" if d.state else ""
    head = d.summary.split(" — ", 1)[-1]
    first = head.split(". ", 1)[0].rstrip(".")
    return f"{MARKS[d.status]} — {COVERAGE_LABELS[d.coverage]}{where}, {what}, {d.service_date.isoformat()}: {first}."


def card(d: Determination) -> str:
    lines: list[str] = []
    where = f" · {d.state}" if d.state else ""
    payer = f" · payer {d.payer_name or d.payer}" if d.payer else ""
    plan = f" · plan {d.plan_id}" if d.plan_id else ""
    lines.append(f"{MARKS[d.status]} — {COVERAGE_LABELS[d.coverage]}{where}{payer}{plan}")
    lines.append(
        f"  service {d.procedure} ({PROCEDURES[d.procedure]}) on {d.service_date.isoformat()}, "
        f"billed by {d.provider.replace('_', ' ')}"
    )
    for dx in d.diagnoses:
        note = (
            ""
            if dx.validity_certain
            else " [validity on this date checked against the current code set only]"
        )
        sets = f" → {', '.join(dx.conditions)}" if dx.conditions else " → in no named condition set"
        lines.append(f"  diagnosis {dx.code} {dx.description or ''}{sets}{note}")
    if d.condition:
        lines.append(f"  condition {d.condition}")
    for said in d.read_as:
        lines.append(_wrap(f"read: {said}"))
    if d.plan_type:
        lines.append(f"  plan type {d.plan_type} (as written after the payer)")
    lines.append("")
    lines.append(_wrap(d.summary, indent=""))
    if d.alternatives:
        lines.append("")
        lines.append("Each possibility:")
        for alt in d.alternatives:
            lines.append(_wrap(f"{MARKS[alt.status]:<11} {alt.label}: {alt.summary}"))
    if d.indications:
        lines.append("")
        lines.append("Indications:")
        for ind in d.indications:
            lines.append(_wrap(f"{MARKS[ind.status]:<11} {ind.label}: {ind.summary} [{ind.source}]"))
    else:
        # Each sentence once: an aspect's reason is printed only where the summary does not already say it.
        lines.append("")
        for label, aspect in (
            ("Benefit:           ", d.benefit),
            ("Medical necessity: ", d.medical_necessity),
        ):
            already = aspect.summary.rstrip(".") in d.summary or not aspect.summary
            lines.append(
                _wrap(
                    f"{label} {MARKS[aspect.status]}" + ("" if already else f" — {aspect.summary}"), indent=""
                )
            )
    if d.requirements:
        lines.append("")
        lines.append("Requirements:")
        for r in d.requirements:
            lines.append(_wrap(f"- [{r.kind}] {r.text}"))
    if d.limits:
        lines.append("")
        lines.append("Visit limits:")
        for lim in d.limits:
            text = f"- {lim.visits} {lim.per}"
            if lim.extra_visits_with_improvement:
                text += f" (+{lim.extra_visits_with_improvement} with documented improvement)"
            if lim.shared_with:
                text += f", shared with {', '.join(lim.shared_with)}"
            if lim.remaining is not None:
                text += f"; remaining: {lim.remaining}"
                if lim.remaining_with_improvement is not None:
                    text += f" ({lim.remaining_with_improvement} with improvement)"
            if lim.note:
                text += f" — {lim.note}"
            lines.append(_wrap(text))
    if d.plan is not None:
        lines.extend(_plan_lines(d.plan))
    if d.plan_counts is not None:
        lines.append("")
        lines.append(_wrap("Plans in the state: " + d.plan_counts.text, ""))
    if d.missing:
        lines.append("")
        lines.append("Missing to decide: " + "; ".join(d.missing))
    checklist = ask_the_payer(d)
    if checklist:
        lines.append("")
        lines.append("Ask the payer:")
        for question in checklist:
            lines.append(_wrap(f"[ ] {question}"))
    if d.warnings:
        lines.append("")
        lines.append("Warnings:")
        for w in d.warnings:
            lines.append(_wrap(f"! {w}"))
    lines.append("")
    lines.append("Sources:")
    for rule in d.rules_applied:
        basis = {
            "sourced": "in force from",
            "evidenced_from": "start unknown; evidenced from",
        }.get(rule.effective_basis or "", "version of")
        lines.append(_wrap(f"{rule.id} — {rule.title} ({basis} {rule.version_effective.isoformat()})"))
        if rule.secondary_only:
            lines.append(_wrap("[rests only on secondary reports, not on the issuer's own document]", "    "))
        for c in rule.citations:
            lines.append(
                _wrap(
                    f"· {citation_label(c)}, {c.section} <{c.url}> (retrieved {c.retrieved.isoformat()})",
                    "    ",
                )
            )
    if not d.rules_applied:
        lines.append("  none — no researched rule applies")
    e = d.evidence
    if e.earliest is not None:
        line = f"Evidence: {describe_span(e.earliest, e.latest)}"
        if e.extrapolated:
            line += f" — EXTRAPOLATED: it does not reach {d.service_date.isoformat()} (see the warning)"
        lines.append(_wrap(line, ""))
    f = d.freshness
    if f.oldest_verified:
        stale = " — STALE, re-verify before relying on it" if f.stale else ""
        lines.append(f"Last verified: {f.oldest_verified.isoformat()} ({f.age_days} days ago){stale}")
    lines.append(
        "This is information about published rules, not a guarantee of payment; confirm with the payer."
    )
    return "\n".join(lines)


def trace(d: Determination) -> str:
    lines = [f"{MARKS[d.status]} — {d.summary}", "", "Rules considered:"]
    for t in d.trace:
        lines.append(_wrap(f"{t.decision:<9} {t.rule} [{t.layer}]: {t.reason}"))
    if not d.trace:
        lines.append("  (no rule in the dataset is in scope for this coverage type)")
    return "\n".join(lines)
