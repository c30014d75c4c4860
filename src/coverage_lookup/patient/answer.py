"""The answer in plain words: built from the engine's Determination, for a patient.

Only the wording is new here. The status, limits, requirements, sources and dates all come from the
same answer record that billing staff see (:func:`coverage_lookup.api.determine`); texts that cannot
be made plain (codes, statute numbers, abbreviations) are left out and said in a template instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from ..api import determine, get_dataset
from ..vocabulary import EMPLOYER, read_payer
from .plain import Plainer, date_words
from .reading import (
    FEDERAL,
    NOT_SURE,
    STATE_NAMES,
    Question,
    condition_words,
    kind_label,
    medicaid_name,
    program_names,
)

if TYPE_CHECKING:
    from ..dataset import Dataset
    from ..records import Determination

ANSWER_WORDS = {
    "covered": "likely covered",
    "not_covered": "likely not covered",
    "conditional": "it depends",
    "unknown": "we don't know",
}
DISCLAIMER = (
    "This is information about published rules, not a guarantee of payment. Only your insurer can "
    "say what it will pay; ask before you start treatment."
)
PROVIDER_WORDS = {
    "licensed_acupuncturist": "a licensed acupuncturist",
    "physician": "a doctor",
    "nurse_practitioner": "a nurse practitioner",
    "physician_assistant": "a physician assistant",
    "clinical_nurse_specialist": "a clinical nurse specialist",
    "chiropractor": "a chiropractor",
    "physical_therapist": "a physical therapist",
}
OTHER_PROVIDERS = tuple(p for p in PROVIDER_WORDS if p != "licensed_acupuncturist")
EMPLOYER_HELP = (
    "Plans through a job come in two kinds, and the answer can differ. Most are fully insured: the "
    "employer buys the plan from an insurance company, and your state's insurance laws apply. Many "
    "large employers are self-funded instead: the employer pays the claims itself, often with an "
    "insurance company only handling the paperwork, and state insurance laws do not apply; the plan's "
    "own document decides.",
    'To find out which kind you have, look on your insurance card for words like "administered by" '
    'or "self-funded" (a sign of a self-funded plan), or ask your HR or benefits office whether the '
    "plan is self-funded or fully insured.",
)
NOT_SURE_HELP = (
    "To find out which insurance you have, look at your insurance card: it names the insurer and often "
    "the kind of plan (Medicare, Medicaid or a state program such as Medi-Cal, a plan from your job, or "
    "one you bought yourself). You can also call the member services number on the back of the card "
    "and ask. If your insurance comes through your job, your HR or benefits office can tell you.",
)
SHORT_KINDS = {
    "medicare": "Medicare",
    "medicare_advantage": "Medicare Advantage",
    "medicaid": "Medicaid",
    "individual": "marketplace",
    "small_group": "employer",
    "large_group": "employer",
    "self_funded": "employer",
    "fehb": "federal employee",
    "tricare": "TRICARE",
    "va": "VA",
    "workers_comp": "workers' compensation",
}
# The kinds a "not sure" answer gives the general picture for.
GENERAL_KINDS = ("medicare", "medicaid", EMPLOYER, "individual")
CHECKLIST_HEADINGS = {
    "medicare": "What to ask Medicare (1-800-MEDICARE) or your doctor",
    "va": "What to ask your VA care team",
    "workers_comp": "What to ask the workers' comp insurer (your claims adjuster)",
    EMPLOYER: "What to ask your insurer (or your HR or benefits office)",
    NOT_SURE: "What to ask your insurer",
}


@dataclass
class Possibility:
    label: str
    answer: str
    status: str
    reason: str


@dataclass
class PlainAnswer:
    """What the patient reads, field by field; ``determination`` is the engine's full answer."""

    answer: str
    status: str
    reason: list[str]
    insurance: str
    state: str | None
    insurer: str | None
    condition: str
    service_date: date
    who_can_give: str | None = None
    visit_limits: list[str] = field(default_factory=list)
    about_your_plan: list[str] = field(default_factory=list)
    possibilities: list[Possibility] = field(default_factory=list)
    ask_heading: str = "What to ask your insurer"
    ask_your_insurer: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    reported_by: list[str] = field(default_factory=list)
    checked_on: date | None = None
    rules_start_on: date | None = None
    rules_end_on: date | None = None
    start_known: bool = True
    evidence_reaches_date: bool = True
    source_notes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    disclaimer: str = DISCLAIMER
    determination: Determination | None = None
    general_picture: dict[str, Determination] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        from ..api import to_model

        def dump(d: Determination) -> dict[str, Any]:
            return to_model(d).model_dump(mode="json")

        return {
            "answer": self.answer,
            "status": self.status,
            "reason": " ".join(self.reason),
            "insurance": self.insurance,
            "state": self.state,
            "insurer": self.insurer,
            "condition": self.condition,
            "date": self.service_date.isoformat(),
            "who_can_give": self.who_can_give,
            "visit_limits": self.visit_limits,
            "about_your_plan": self.about_your_plan,
            "possibilities": [p.__dict__ for p in self.possibilities],
            "ask_your_insurer": self.ask_your_insurer,
            "where_this_comes_from": {
                "issuers": self.sources,
                "reported_by": self.reported_by,
                "checked_on": self.checked_on.isoformat() if self.checked_on else None,
                "rules_start_on": self.rules_start_on.isoformat() if self.rules_start_on else None,
                "rules_end_on": self.rules_end_on.isoformat() if self.rules_end_on else None,
                "evidence_reaches_date": self.evidence_reaches_date,
                "notes": self.source_notes,
            },
            "notes": self.notes,
            "disclaimer": self.disclaimer,
            "determination": dump(self.determination) if self.determination is not None else None,
            "general_picture": {kind: dump(d) for kind, d in self.general_picture.items()},
        }


def _join(items: list[str], last: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


class Builder:
    """Builds one :class:`PlainAnswer`; keeps track of what was said so nothing is said twice."""

    def __init__(self, q: Question, on: date, today: date, ds: Dataset | None = None) -> None:
        self.q = q
        self.on = on
        self.today = today
        self.ds = ds or get_dataset()
        self.plainer = Plainer(program_names(self.ds))
        self.said: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------------

    def _once(self, sentence: str | None) -> str | None:
        """The sentence, unless it was already said in this answer."""
        if not sentence:
            return None
        key = " ".join(sentence.lower().split()).rstrip(".")
        if key in self.said:
            return None
        self.said.add(key)
        return sentence

    def _determine(self, kind: str, provider: str = "licensed_acupuncturist") -> Determination:
        payer = self.q.insurer if self.q.insurer and self.q.insurer.strip() else None
        return determine(
            kind,
            state=None if kind in FEDERAL else self.q.state,
            payer=payer,
            condition=self.q.condition,
            provider=provider,
            service_date=self.on,
            today=self.today,
        )

    def program(self, kind: str) -> str:
        """How the insurance is named in a sentence: 'Medi-Cal', 'Medicare', 'a plan you bought ...'."""
        state = self.q.state
        where = f" in {STATE_NAMES[state]}" if state and state in STATE_NAMES else ""
        if kind == "medicaid" and state:
            name = medicaid_name(self.ds, state)
            if "(" in name:  # 'Arizona Health Care Cost Containment System (AHCCCS)': the short name
                name = name.split("(", 1)[1].rstrip(")")
            return name if "Medicaid" in name else f"{name} ({STATE_NAMES[state]}'s Medicaid program)"
        if kind == "medicare":
            return "Medicare"
        if kind == "medicare_advantage":
            return "your Medicare Advantage plan"
        if kind in ("va", "tricare", "fehb"):
            return kind_label(kind)
        if kind == "individual":
            return f"a plan you buy yourself{where}"
        if kind == EMPLOYER:
            return "a plan through your job"
        if kind in ("small_group", "large_group", "self_funded"):
            return kind_label(kind)
        if kind == "workers_comp":
            return f"workers' compensation{where}"
        return kind_label(kind)

    def _insurance_words(self, kind: str) -> str:
        if self.q.insurance.program:
            return self.q.insurance.program
        if kind == "medicaid" and self.q.state:
            name = medicaid_name(self.ds, self.q.state)
            return "Medicaid" if "Medicaid" in name else f"Medicaid ({name})"
        return kind_label(kind)

    def lead(self, kind: str, status: str) -> str:
        prog = self.program(kind)
        cond = condition_words(self.q.condition, self.ds)
        what = "acupuncture" if self.q.condition is None else f"acupuncture for {cond}"
        if status == "covered":
            return f"The rules we found say {prog} covers {what}."
        if status == "not_covered":
            return f"The rules we found say {prog} does not cover {what}."
        if status == "conditional":
            if self.q.condition is None:
                return f"Whether {prog} covers acupuncture depends on what it is for."
            if kind == EMPLOYER:
                return f"Whether your job-based plan covers {what} depends on which kind of plan it is and on the plan itself."
            if kind in (
                "individual",
                "small_group",
                "large_group",
                "self_funded",
                "fehb",
                "medicare_advantage",
            ):
                return f"Whether {prog} covers {what} depends on your plan or on details we don't have."
            if kind == "workers_comp":
                return (
                    f"Whether {prog} covers {what} depends on your claim and on how the treatment is ordered."
                )
            return f"Whether {prog} covers {what} depends on details we don't have."
        return f"We found no published rule that settles whether {prog} covers {what}."

    def why(self, d: Determination, kind: str) -> str | None:
        """One plain sentence from the rules behind the answer, or a template for the kind."""
        tail = d.summary.split(" — ", 1)[1] if " — " in d.summary else None
        if kind == EMPLOYER or self.q.condition is None:
            return None
        found = self.plainer.first(tail, d.benefit.summary, d.medical_necessity.summary)
        if found is None and d.status == "conditional":
            found = {
                "self_funded": "State insurance laws do not apply to a self-funded plan; the plan's own document decides.",
                "individual": "No rule we found makes every plan of this kind cover it; your plan's own documents decide.",
                "small_group": "No rule we found makes every plan of this kind cover it; your plan's own documents decide.",
                "large_group": "No rule we found makes every plan of this kind cover it; your plan's own documents decide.",
                "fehb": "Each federal employee plan decides this in its own brochure.",
            }.get(kind)
        return found

    # -- sections --------------------------------------------------------------------------------

    def limits(self, d: Determination) -> list[str]:
        out: list[str] = []
        for lim in d.limits:
            text = f"Up to {lim.visits} visit{'s' if lim.visits != 1 else ''} {lim.per}"
            if lim.extra_visits_with_improvement:
                text += f", and {lim.extra_visits_with_improvement} more if your records show you are getting better"
            if lim.shared_with:
                text += f". This limit is shared with {_join(list(lim.shared_with))} visits"
            if lim.remaining is not None:
                text += f". Visits left: {lim.remaining}"
            sentence = text + "."
            note = self.plainer.first(lim.note)
            if note and lim.extra_visits_with_improvement and "improvement" in note:
                note = None
            if note and note.rstrip(".").lower() not in sentence.lower():
                sentence += " " + note
            if lim.more_with == "prior_authorization" and "approval" not in sentence:
                sentence += " More visits may be allowed with approval in advance."
            if self._once(sentence):
                out.append(sentence)
        return out

    def checklist(self, d: Determination, kind: str) -> list[str]:
        cond = condition_words(self.q.condition, self.ds)
        q: list[str] = []
        if d.benefit.status in ("conditional", "unknown"):
            if kind == "medicare":
                q.append(
                    f"Does Medicare cover acupuncture for {cond}?"
                    if self.q.condition
                    else "When does Medicare cover acupuncture?"
                )
            else:
                q.append(
                    "Does my plan cover acupuncture? Ask where it says so (the plan's summary of benefits, "
                    "evidence of coverage or benefit booklet)."
                )
        if d.status == "not_covered":
            q.append(
                "Is acupuncture covered in any case, for example with approval in advance? Can I appeal a denial?"
            )
        else:
            if kind == "va":
                q.append("Can I get acupuncture at the VA, or through a referral to a community provider?")
            elif kind == "workers_comp":
                q.append(
                    "Which acupuncturists may treat my work injury? Does my treating doctor have to refer me?"
                )
            elif kind == "medicare":
                q.append("Which doctors or clinics near me give acupuncture that Medicare pays for?")
            else:
                q.append("Which acupuncturists are in the plan's network? Do I have to use one of them?")
            if d.medical_necessity.status in ("conditional", "unknown") and self.q.condition is not None:
                q.append(f"Is acupuncture covered for {cond}?")
            elif self.q.condition is None:
                q.append("For which conditions is acupuncture covered?")
            if d.limits:
                q.append("How many acupuncture visits do I get, and how many have I already used?")
            else:
                q.append("Is there a limit on the number of acupuncture visits?")
        kinds = {r.kind for r in d.requirements}
        weeks = next((r.weeks for r in d.requirements if r.kind == "chronicity" and r.weeks), None)
        if "referral" in kinds:
            q.append("Do I need a referral or an order from my doctor first?")
        if "prior_authorization" in kinds:
            q.append("Do I need approval before treatment starts (prior authorization)? Who asks for it?")
        if "chronicity" in kinds:
            q.append(
                "How long must I have had the condition before acupuncture is covered?"
                + (f" (The rules we found say at least {weeks} weeks.)" if weeks else "")
            )
        if "diagnosis_documentation" in kinds:
            q.append("What does my doctor or acupuncturist need to write in my records?")
        if "documented_improvement" in kinds:
            q.append("What must my records show about getting better for the visits to continue?")
        if "supervision" in kinds:
            q.append("Does a doctor have to supervise the acupuncture and send the bill?")
        if "credential" in kinds:
            q.append("What license must the person giving the acupuncture have?")
        if d.status != "not_covered":
            if kind in ("va", "workers_comp"):
                q.append("Will I have to pay anything for the visits?")
            else:
                q.append(
                    "What will I pay for each visit (copay or coinsurance), and does my deductible apply?"
                )
        missing = " ".join(d.missing)
        if kind == EMPLOYER or "self-funded" in missing:
            q.append("Is my plan self-funded or fully insured? (Your HR or benefits office can tell you.)")
        if "payer" in d.missing and not self.q.insurer and kind not in ("va", "tricare", "medicare"):
            q.append("Which company runs my plan? (Its name is on your insurance card.)")
        return list(dict.fromkeys(q))

    def sources(self, a: PlainAnswer, dets: list[Determination]) -> None:
        primary: list[str] = []
        secondary: list[str] = []
        for d in dets:
            for rule in d.rules_applied:
                for c in rule.citations:
                    issuer = (c.issuer or "").strip()
                    if not issuer:
                        continue
                    if "(" in issuer and "_" in issuer:
                        issuer = issuer.split("(", 1)[0].strip()
                    (secondary if c.kind == "secondary" else primary).append(issuer)
        names = list(dict.fromkeys(primary))
        a.sources = [n for n in names if not ("(" in n and n.split(" (", 1)[0] in names)]
        a.reported_by = [s for s in dict.fromkeys(secondary) if s not in a.sources]
        verified = [d.freshness.oldest_verified for d in dets if d.freshness.oldest_verified]
        a.checked_on = min(verified) if verified else None
        if len(dets) != 1:
            return
        d = dets[0]
        a.rules_start_on = d.evidence.earliest
        a.rules_end_on = d.evidence.latest
        a.start_known = all(r.effective_basis != "evidenced_from" for r in d.rules_applied)
        a.evidence_reaches_date = not d.evidence.extrapolated
        if d.freshness.stale:
            a.source_notes.append(
                "These rules were last checked more than a year ago and may have changed since."
            )

    # -- the answers -----------------------------------------------------------------------------

    def build(self) -> PlainAnswer:
        kind = self.q.insurance.kind
        insurer = self._insurer_notes()
        if kind == NOT_SURE:
            implied = self._implied_kind()
            if implied is None:
                return self._general_picture(insurer)
            kind = implied
        return self._one(kind, insurer)

    def _insurer_notes(self) -> str | None:
        """The insurer's name as read, and notes about it (an unknown name is just noted)."""
        text = (self.q.insurer or "").strip()
        if not text:
            return None
        try:
            pr = read_payer(self.ds, text)
        except Exception:  # a name of only punctuation: set aside like an unknown one
            pr = None
        if pr is None or pr.name is None:
            close = re.search(r"\(close matches: (.*)\)", " ".join(pr.warnings) if pr else "")
            self.q.notes.append(
                f'We don\'t know the insurer "{text}", so the answer is for your kind of insurance in general.'
                + (f" Names we know that are close: {close.group(1)}." if close else "")
            )
            return text
        if not pr.known:
            self.q.notes.append(
                f"We don't have {pr.name}'s own rules for acupuncture, so the answer follows the general rules "
                "for your kind of insurance."
            )
        return pr.name

    def _implied_kind(self) -> str | None:
        text = (self.q.insurer or "").strip()
        if not text:
            return None
        try:
            pr = read_payer(self.ds, text)
        except Exception:
            return None
        if pr.implies_coverage:
            short = SHORT_KINDS.get(str(pr.implies_coverage), kind_label(str(pr.implies_coverage)))
            self.q.notes.append(
                f'"{text}" is a name used for {short} plans, so this answer is for {short}. If that is not '
                "your insurance, ask again and choose your kind of insurance."
            )
            return str(pr.implies_coverage)
        return None

    def _one(self, kind: str, insurer: str | None) -> PlainAnswer:
        d = self._determine(kind)
        who: str | None = None
        if d.status == "not_covered" and kind != EMPLOYER:
            others = {p: self._determine(kind, p) for p in OTHER_PROVIDERS}
            payable = [p for p, dp in others.items() if dp.status != "not_covered"]
            if payable:
                d = others["physician"] if "physician" in payable else others[payable[0]]
                people = _join([PROVIDER_WORDS[p] for p in payable], "or")
                who = (
                    f"{self.program(kind)} does not pay a licensed acupuncturist directly for this. It can pay when "
                    f"{people} gives the acupuncture and sends the bill"
                )
                if any(r.kind == "supervision" for r in d.requirements):
                    who += "; a licensed acupuncturist may give it only under their supervision"
                who = who[0].upper() + who[1:] + "."
        state = None if kind in FEDERAL else self.q.state
        a = PlainAnswer(
            answer=ANSWER_WORDS[d.status],
            status=d.status,
            reason=[],
            insurance=self._insurance_words(kind),
            state=STATE_NAMES.get(d.state or state or "", None),
            insurer=insurer,
            condition=condition_words(self.q.condition, self.ds),
            service_date=self.on,
            determination=d,
            ask_heading=CHECKLIST_HEADINGS.get(kind, "What to ask your insurer"),
        )
        lead = self._once(self.lead(kind, d.status))
        a.reason = [s for s in (lead, self._once(self.why(d, kind))) if s]
        if who:
            a.who_can_give = self._once(who)
        if self.q.condition is None and d.indications:
            groups: dict[str, list[str]] = {}
            for ind in d.indications:
                words = condition_words(ind.condition, self.ds) if ind.condition else "other conditions"
                groups.setdefault(ind.status, []).append(words)
            for status, words in (
                ("covered", "Covered for"),
                ("conditional", "It depends for"),
                ("not_covered", "Not covered for"),
                ("unknown", "We don't know for"),
            ):
                if groups.get(status):
                    a.notes.append(f"{words}: {_join(groups[status])}.")
        a.visit_limits = self.limits(d)
        if kind == EMPLOYER:
            a.about_your_plan = list(EMPLOYER_HELP)
            a.possibilities = self._possibilities()
        if kind == "medicare":
            a.notes.append(
                "If you have a Medicare Advantage plan (a private plan that takes the place of Original "
                "Medicare), it may cover more acupuncture; ask the plan."
            )
        a.notes = [*self.q.notes, *a.notes]
        a.ask_your_insurer = self.checklist(d, kind)
        self.sources(a, [d])
        if not a.evidence_reaches_date:
            a.source_notes.append(self._extrapolated_note(a))
        return a

    def _extrapolated_note(self, a: PlainAnswer) -> str:
        if a.rules_start_on and self.on < a.rules_start_on:
            span = f"start on {date_words(a.rules_start_on)}"
        elif a.rules_end_on:
            span = f"run until {date_words(a.rules_end_on)}"
        else:
            span = "cover other dates"
        return (
            f"Careful: the information we have does not reach {date_words(self.on)}. The rules we found "
            f"{span}; the answer assumes they applied on that date too."
        )

    def _possibilities(self) -> list[Possibility]:
        from ..vocabulary import EMPLOYER_CHOICES

        groups: dict[tuple[str, str], list[str]] = {}
        for choice in EMPLOYER_CHOICES:
            d = self._determine(choice)
            reason = self.why(d, choice) or self.lead(choice, d.status)
            groups.setdefault((d.status, reason), []).append(choice)
        out: list[Possibility] = []
        for (status, reason), kinds in groups.items():
            insured = [k for k in kinds if k != "self_funded"]
            parts = []
            if insured:
                size = _join(["small" if k == "small_group" else "large" for k in insured], "or")
                parts.append(f"if your employer is {size} and buys the plan from an insurance company")
            if "self_funded" in kinds:
                parts.append("if your plan is self-funded")
            label = _join(parts, "or")
            label = label[0].upper() + label[1:]
            out.append(Possibility(label, ANSWER_WORDS[status], status, self._once(reason) or ""))
        return out

    def _general_picture(self, insurer: str | None) -> PlainAnswer:
        cond = condition_words(self.q.condition, self.ds)
        dets: dict[str, Determination] = {}
        for kind in GENERAL_KINDS:
            if kind != "medicare" and self.q.state is None:
                continue
            d = self._determine(kind)
            if d.status == "not_covered" and kind != EMPLOYER:
                doctor = self._determine(kind, "physician")
                if doctor.status != "not_covered":
                    d = doctor
            dets[kind] = d
        statuses = {d.status for d in dets.values()}
        status = next(iter(statuses)) if len(statuses) == 1 else "conditional"
        where = f" in {STATE_NAMES[self.q.state]}" if self.q.state else ""
        what = "acupuncture" if self.q.condition is None else f"acupuncture for {cond}"
        a = PlainAnswer(
            answer=ANSWER_WORDS[status],
            status=status,
            reason=[
                f"Whether {what} is covered depends on which insurance you have.",
                f"Here is the general picture{where}; the answer for your own insurance may be different.",
            ],
            insurance=kind_label(NOT_SURE),
            state=STATE_NAMES.get(self.q.state or "", None),
            insurer=insurer,
            condition=cond,
            service_date=self.on,
            about_your_plan=list(NOT_SURE_HELP),
            ask_heading=CHECKLIST_HEADINGS[NOT_SURE],
            general_picture=dets,
        )
        for kind, d in dets.items():
            label = {
                "medicare": "Medicare",
                "medicaid": self.program("medicaid"),
                EMPLOYER: "A plan through your job",
                "individual": "A plan you bought yourself",
            }[kind]
            a.possibilities.append(Possibility(label, ANSWER_WORDS[d.status], d.status, ""))
        a.notes = list(self.q.notes)
        a.ask_your_insurer = [
            "Which kind of plan is this: Medicare, Medicaid (or a state plan), a plan through a job, or one "
            "I bought myself?",
            "Does my plan cover acupuncture"
            + ("" if self.q.condition is None else f" for {cond}")
            + "? Where does it say so?",
            "Do I need a referral or approval before treatment starts?",
            "How many visits are covered, and what will I pay for each visit?",
        ]
        self.sources(a, list(dets.values()))
        return a


def build_answer(q: Question, on: date, today: date) -> PlainAnswer:
    return Builder(q, on, today).build()
