"""Structured extractors: candidate facts from the sources that matter most.

Each extractor knows the landmarks of one source's structure (the fields of the CMS Coverage API, the
sections of Aetna's bulletin, Cigna's PDF headings, Anthem's guideline headings, a state
administrative-code page, a state provider-manual PDF). When a landmark is missing the extractor raises
:class:`StructureChanged` — never an empty success — so a redesigned page is reported, not misread.
The facts are *candidates* for a curator: nothing here writes to ``data/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from .normalize import clean_lines, pdf_text


class StructureChanged(Exception):
    """The document no longer has the landmarks the extractor relies on."""

    def __init__(self, extractor: str, missing: str) -> None:
        super().__init__(f"source structure changed: {extractor} could not find {missing}")
        self.extractor = extractor
        self.missing = missing


class CandidateFacts(BaseModel):
    extractor: str
    document_id: str | None = None
    title: str | None = None
    effective: date | None = None
    reviewed: date | None = None
    next_review: date | None = None
    covered: list[str] = Field(default_factory=list)  # indications the source calls medically necessary
    experimental: list[str] = Field(default_factory=list)  # experimental / investigational / not necessary
    limits: list[str] = Field(default_factory=list)  # visit-limit statements, normalised


_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
DATE_RE = re.compile(
    rf"(\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}/\d{{4}}|(?:{_MONTHS})\s+\d{{1,2}},\s*\d{{4}})", re.I
)
LIMIT_RE = re.compile(
    r"\b(?:up to |a maximum of |maximum of |no more than )?(\d{1,3}|one|two|three|four|five|six|eight|ten|twelve|twenty)"
    r"\s+(?:additional\s+)?(?:acupuncture\s+)?(sessions?|visits?|treatments?|services?)\b"
    r"(?:\s+(?:in|within|per|during|each|a|in any one)\s+(?:a\s+|any\s+one\s+)?"
    r"(\d{1,3}[- ]day period|\d{1,3} days|calendar month|month|calendar year|year|week|benefit period))?",
    re.I,
)


def parse_date(text: str | None) -> date | None:
    if not text:
        return None
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%B %d, %Y", "%B %d,%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _date_after(label: str, text: str) -> date | None:
    m = re.search(rf"{label}\s*[:.\s]*\s*{DATE_RE.pattern}", text, re.I)
    return parse_date(m.group(1)) if m else None


def sentences(text: str, pattern: str, limit: int = 20) -> list[str]:
    """The sentences (split at '.' or ';') of ``text`` that match ``pattern``, at most ``limit``."""
    found = [x.strip() for x in re.split(r"(?<=[.;])\s+", text) if re.search(pattern, x, re.I)]
    return found[:limit]


def limits_in(text: str) -> list[str]:
    out: list[str] = []
    for m in LIMIT_RE.finditer(text):
        phrase = " ".join(p for p in (m.group(1), m.group(2).lower(), m.group(3) or "") if p).strip()
        if phrase not in out:
            out.append(phrase)
    return out


def _soup(body: bytes) -> Any:
    from bs4 import BeautifulSoup

    return BeautifulSoup(body, "html.parser")


def _items_after(soup: Any, pattern: str, stop: str) -> list[str] | None:
    """List items following the first heading/paragraph matching ``pattern`` up to one matching ``stop``."""
    start = soup.find(
        lambda t: (
            t.name in ("h1", "h2", "h3", "h4", "p", "strong", "b")
            and re.search(pattern, t.get_text(" "), re.I)
        )
    )
    if start is None:
        return None
    items: list[str] = []
    for el in start.find_all_next():
        if (
            el is not start
            and el.name in ("h1", "h2", "h3", "h4", "p", "strong", "b")
            and re.search(stop, el.get_text(" "), re.I)
        ):
            break
        if el.name == "li":
            text = " ".join(el.get_text(" ").split())
            if text and text not in items:
                items.append(text)
    return items


# -- the extractors ----------------------------------------------------------------------------------


def cms_ncd_api(body: bytes, text: str) -> CandidateFacts:  # noqa: ARG001 (same signature for all)
    """CMS Coverage API (api.coverage.cms.gov), NCD data endpoint: ``{"data": [{...}]}``."""
    name = "cms_ncd_api"
    try:
        doc = json.loads(body)
    except ValueError:
        raise StructureChanged(name, "a JSON document") from None
    rows = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        raise StructureChanged(name, "a non-empty 'data' array")
    row = rows[0]
    for key in ("document_display_id", "title", "effective_date", "indications_limitations"):
        if key not in row:
            raise StructureChanged(name, f"the field {key!r}")
    body_text = clean_lines(_soup(str(row["indications_limitations"]).encode()).get_text("\n"))
    covered = sentences(body_text, r"reasonable and necessary|\bcovered")
    experimental = sentences(body_text, r"non-?covered|not reasonable")
    return CandidateFacts(
        extractor=name,
        document_id=str(row["document_display_id"]),
        title=str(row["title"]),
        effective=parse_date(str(row["effective_date"])),
        covered=covered,
        experimental=experimental,
        limits=limits_in(body_text),
    )


def aetna_cpb(body: bytes, text: str) -> CandidateFacts:
    """Aetna Clinical Policy Bulletin (HTML): Policy section with medically necessary and
    experimental lists, and a dated header (effective / last review / next review)."""
    name = "aetna_cpb"
    soup = _soup(body)
    number = re.search(r"\bNumber:?\s*(\d{4})\b", text)
    if number is None:
        raise StructureChanged(name, "the bulletin number ('Number: 0135')")
    covered = _items_after(
        soup, r"medically necessary", r"experimental|investigational|unproven|policy history|background"
    )
    experimental = _items_after(
        soup,
        r"experimental|investigational|unproven",
        r"policy history|background|cpt codes|appendix|references",
    )
    if covered is None:
        raise StructureChanged(name, "the 'medically necessary' section")
    if experimental is None:
        raise StructureChanged(name, "the 'experimental and investigational' section")
    reviewed = _date_after("Last Review", text)
    if reviewed is None:
        raise StructureChanged(name, "the 'Last Review' date")
    title = soup.find("h1")
    return CandidateFacts(
        extractor=name,
        document_id=number.group(1),
        title=" ".join(title.get_text(" ").split()) if title else None,
        effective=_date_after("Effective", text),
        reviewed=reviewed,
        next_review=_date_after("Next Review", text),
        covered=covered,
        experimental=experimental,
        limits=limits_in(text),
    )


def cigna_pdf(body: bytes, text: str) -> CandidateFacts:
    """Cigna Medical Coverage Policy (PDF): header with Effective Date / Next Review Date / Coverage
    Policy Number, then a 'Coverage Policy' section."""
    name = "cigna_pdf"
    text = text or pdf_text(body)
    number = re.search(r"Coverage Policy Number\s*[:.\s]*\s*([0-9A-Z]{3,6})", text, re.I)
    if number is None:
        raise StructureChanged(name, "the 'Coverage Policy Number'")
    effective = _date_after("Effective Date", text)
    if effective is None:
        raise StructureChanged(name, "the 'Effective Date'")
    m = re.search(r"^Coverage Policy$(.*?)(^General Background$|^Overview$|\Z)", text, re.I | re.S | re.M)
    if m is None:
        raise StructureChanged(name, "the 'Coverage Policy' section")
    section = m.group(1)
    lines = [ln.strip(" •-–") for ln in section.splitlines() if ln.strip(" •-–")]
    covered: list[str] = []
    experimental: list[str] = []
    target: list[str] | None = None
    for ln in lines:
        low = ln.lower()
        if "not medically necessary" in low or "experimental" in low or "investigational" in low:
            target = experimental
            if len(ln) > 60:
                experimental.append(ln)
            continue
        if "medically necessary" in low:
            target = covered
            if len(ln) > 60:
                covered.append(ln)
            continue
        if target is not None:
            target.append(ln)
    return CandidateFacts(
        extractor=name,
        document_id=number.group(1),
        effective=effective,
        next_review=_date_after("Next Review Date", text),
        covered=covered,
        experimental=experimental,
        limits=limits_in(section),
    )


def anthem_cg(body: bytes, text: str) -> CandidateFacts:
    """Anthem / Elevance clinical UM guideline (HTML): Guideline #, dates, 'Clinical Indications' with
    'Medically Necessary' and 'Not Medically Necessary' parts."""
    name = "anthem_cg"
    soup = _soup(body)
    number = re.search(r"Guideline\s*#\s*:?\s*([A-Z]{2,3}-[A-Z]{2,5}-\d{2})", text)
    if number is None:
        raise StructureChanged(name, "the 'Guideline #'")
    if not re.search(r"Clinical Indications", text):
        raise StructureChanged(name, "the 'Clinical Indications' section")
    covered = _items_after(soup, r"^\s*Medically Necessary", r"Not Medically Necessary|Coding|Discussion")
    experimental = _items_after(soup, r"Not Medically Necessary", r"Coding|Discussion|Definitions|References")
    if covered is None or experimental is None:
        raise StructureChanged(name, "the 'Medically Necessary' / 'Not Medically Necessary' parts")
    subject = re.search(r"Subject\s*:?\s*([^\n]+)", text)
    return CandidateFacts(
        extractor=name,
        document_id=number.group(1),
        title=subject.group(1).strip() if subject else None,
        effective=_date_after("Publish Date", text),
        reviewed=_date_after("Last Review Date", text),
        covered=covered,
        experimental=experimental,
        limits=limits_in(text),
    )


def state_admin_code(body: bytes, text: str) -> CandidateFacts:
    """A state administrative-code section page (HTML): a '§ <number>' heading, the rule text and a
    history/authority note with dates."""
    name = "state_admin_code"
    soup = _soup(body)
    heading = soup.find(lambda t: t.name in ("h1", "h2", "h3") and "§" in t.get_text())
    if heading is None:
        raise StructureChanged(name, "a '§ section' heading")
    head = " ".join(heading.get_text(" ").split())
    m = re.search(r"§+\s*(\d+(?:\.\d+)*(?:\([a-z0-9]+\))*)\s*\.?\s*(.*)", head)
    if m is None:
        raise StructureChanged(name, "a section number in the heading")
    history = re.search(r"(?:^|\n)(?:History|Note|HISTORY)[:.]?(.*)", text, re.S)
    if history is None:
        raise StructureChanged(name, "the history/authority note")
    dates = [d for d in (parse_date(x) for x in DATE_RE.findall(history.group(1))) if d]
    body_text = text[: history.start()] if history else text
    return CandidateFacts(
        extractor=name,
        document_id=m.group(1),
        title=m.group(2) or None,
        effective=max(dates) if dates else None,
        covered=sentences(body_text, r"\bcovered\b|may be provided|is a benefit"),
        limits=limits_in(body_text),
    )


def state_manual_pdf(body: bytes, text: str) -> CandidateFacts:
    """A state Medicaid provider-manual section (PDF) on acupuncture: a title line naming acupuncture,
    a revision date in the page header, and a coverage/limits part."""
    name = "state_manual_pdf"
    text = text or pdf_text(body)
    title = re.search(r"^.*acupuncture.*$", text, re.I | re.M)
    if title is None:
        raise StructureChanged(name, "a section title naming acupuncture")
    if not re.search(r"^(program coverage|coverage|covered services|limitations?)\b", text, re.I | re.M):
        raise StructureChanged(name, "the coverage / limitations part")
    revised = re.search(rf"(?:revised|rev\.?|updated)\s*:?\s*{DATE_RE.pattern}", text, re.I)
    return CandidateFacts(
        extractor=name,
        title=title.group(0).strip(),
        effective=parse_date(revised.group(1)) if revised else None,
        covered=sentences(text, r"\bcovered\b|\bbenefit\b"),
        limits=limits_in(text),
    )


EXTRACTORS: dict[str, tuple[str, Callable[[bytes, str], CandidateFacts]]] = {
    "cms_ncd_api": ("json", cms_ncd_api),
    "aetna_cpb": ("html", aetna_cpb),
    "cigna_pdf": ("pdf", cigna_pdf),
    "anthem_cg": ("html", anthem_cg),
    "state_admin_code": ("html", state_admin_code),
    "state_manual_pdf": ("pdf", state_manual_pdf),
}


def extract(name: str, body: bytes, text: str) -> CandidateFacts:
    if name not in EXTRACTORS:
        raise KeyError(f"unknown extractor {name!r}; known: {', '.join(sorted(EXTRACTORS))}")
    return EXTRACTORS[name][1](body, text)
