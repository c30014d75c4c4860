"""Plain words from the dataset's texts: a sentence is kept for a patient only when it carries no
procedure or diagnosis codes, no statute numbers, no rule ids and no unexplained abbreviations.

The rule texts in ``data/`` are written for billing staff. :func:`plain_sentences` expands the
abbreviations a patient can be told about in a few words (``GLOSSARY``), drops parenthetical asides
and "Not established: ..." research notes, turns ISO dates into words, and keeps only the sentences
that then pass :func:`is_plain`. Nothing is guessed: a sentence that cannot be made plain is left out,
and the caller says the same thing in its own template instead.
"""

from __future__ import annotations

import re
from datetime import date

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def date_words(d: date) -> str:
    """2026-12-06 -> 'December 6, 2026'."""
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


# Abbreviations and jargon, each with the words a patient reads instead. The first time a term with an
# explanation appears in an answer it is followed by the explanation; later mentions use the words alone.
# (pattern, replacement, explanation or None)
GLOSSARY: tuple[tuple[str, str, str | None], ...] = (
    (
        r"\ba Treatment Authorization Request \(TAR\)",
        "an approval in advance",
        "a Treatment Authorization Request",
    ),
    (
        r"\bTreatment Authorization Request \(TAR\)",
        "approval in advance",
        "a Treatment Authorization Request",
    ),
    (r"\bby TAR\b", "with approval in advance", "a Treatment Authorization Request"),
    (r"\bTAR\b", "approval in advance", "a Treatment Authorization Request"),
    (
        r"\b(?:an|the) EHB\b",
        "an essential health benefit",
        "a service every plan sold to people and small businesses in the state must include",
    ),
    (
        r"\bEHB\b",
        "essential health benefit",
        "a service every plan sold to people and small businesses in the state must include",
    ),
    (r"\bNCD 30\.3\.3\b", "Medicare's national rule on acupuncture for chronic low back pain", None),
    (r"\bNCD 30\.3(?:\.\d)?\b", "Medicare's national rule on acupuncture", None),
    (r"\bERISA\b", "the federal law for employer plans", "ERISA"),
    (r"\bPA, NP or CNS\b", "physician assistant, nurse practitioner or clinical nurse specialist", None),
    (r"\bphysician \(MD or DO\)", "doctor", None),
    (r"\bor a PA\b", "or a physician assistant", None),
    (r"\bMCO\b", "managed-care plan", None),
    (r"\bMMA plan\b", "managed-care plan", None),
    (r"\b(?:the )?ODG's", "the Official Disability Guidelines'", None),
    (r"\b(?:the )?ODG\b", "the Official Disability Guidelines", "a treatment guide insurers use"),
    (r"\bPT/OT\b", "physical or occupational therapy", None),
    (r"\bCBT\b", "cognitive behavioral therapy", None),
    (r"\bOHP\b", "Oregon Health Plan", None),
    (r"\bthe BWC\b", "the Bureau of Workers' Compensation", None),
    (r"\bL&I\b", "the Department of Labor & Industries", None),
    (r"\bthe MTUS guideline\b", "California's treatment guidelines for work injuries", None),
    (r"\bCIH waiver\b", "complementary and integrative health waiver", None),
    (r"\bFEHB\b", "Federal Employees Health Benefits", None),
    (r"\bindications\b", "conditions", None),
    (r"\bindication\b", "condition", None),
    (r"\bprogramme\b", "program", None),
    (r"\bauthoris", "authoriz", None),
    (r"\brecognised\b", "recognized", None),
)
_GLOSSARY = tuple((re.compile(p), r, e) for p, r, e in GLOSSARY)

# Words that may stay in capitals: names people know from their cards and the news.
ALLOWED_CAPS = frozenset(
    {
        "VA",
        "TRICARE",
        "HMO",
        "PPO",
        "EPO",
        "HR",
        "US",
        "USA",
        "ID",
        "AHCCCS",
        "HUSKY",
        "QUEST",
        "STAR",
        "CHIP",
        "TMJ",
    }
)
ALLOWED_DOMAINS = ("medicare.gov", "healthcare.gov", "va.gov", "tricare.mil")

_CHECKS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b\d{5}\b"),  # a procedure code
    re.compile(r"\b[A-Z]\d{2}[0-9A-Za-z.]*\b"),  # a diagnosis code (M54.50, G43, M54.3x)
    re.compile(r"\d+\.\d+"),  # a section number (410.26, 30.3.3)
    re.compile(r"\b\d+-\d+-\d+"),  # a rule number (0800-02-06)
    re.compile(r"\d+-\d+[a-zA-Z(]"),  # a statute (31-294d)
    re.compile(r"\b\d{3,}-\d+"),  # a statute or code range
    re.compile(r"\d:\d"),  # R.S. 23:1203
    re.compile(r"§|\bCFR\b|U\.S\.C|\bs\. \d|\bch\. \d", re.I),
    re.compile(r"\b(?:chapter|section|rule|part|title)\s+\d", re.I),
    re.compile(r"\bnot in the query\b|\bquery\b|\bplan_id\b|\bNot established\b", re.I),
    re.compile(r"_"),
)
_CAPS = re.compile(r"\b[A-Z][A-Z0-9&/+-]*[A-Z0-9]\b")
_DOTTED = re.compile(r"\b[A-Za-z0-9_-]+\.[A-Za-z_][A-Za-z0-9_]*\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_PAREN = re.compile(r"\s*\(([^()]*)\)")


def is_plain(text: str, allowed_names: frozenset[str] = frozenset()) -> bool:
    """No codes, statute numbers, rule ids or capitals-only abbreviations (except known names)."""
    probe = text
    for name in sorted(allowed_names, key=len, reverse=True):
        probe = probe.replace(name, " ")
    if any(check.search(probe) for check in _CHECKS):
        return False
    for token in _DOTTED.findall(probe):
        if token.lower() not in ALLOWED_DOMAINS and not re.fullmatch(r"[A-Z]\.[A-Z]", token):
            return False
    return all(token in ALLOWED_CAPS for token in _CAPS.findall(probe))


def _iso_to_words(text: str) -> str:
    def words(m: re.Match[str]) -> str:
        try:
            return date_words(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            return m.group(0)

    return _ISO.sub(words, text)


class Plainer:
    """Turns dataset texts into plain sentences for one answer, explaining each term once."""

    def __init__(self, allowed_names: frozenset[str] = frozenset()) -> None:
        self.allowed = allowed_names
        self.explained: set[str] = set()

    def expand(self, text: str) -> str:
        for pattern, words, explanation in _GLOSSARY:
            if not pattern.search(text):
                continue
            if explanation and explanation not in self.explained:
                self.explained.add(explanation)
                first, rest = pattern.split(text, maxsplit=1)
                text = f"{first}{words} ({explanation}){pattern.sub(words, rest)}"
            else:
                text = pattern.sub(words, text)
        return text

    def _drop_asides(self, text: str) -> str:
        """Parenthetical asides stay only when they are plain on their own."""

        def keep(m: re.Match[str]) -> str:
            inner = m.group(1).strip()
            if inner.lower().startswith(("may bill", "see ", "e.g.")) or "NCD" in inner:
                return ""
            probe = Plainer(self.allowed).expand(inner)
            return m.group(0) if is_plain(probe, self.allowed) else ""

        previous = None
        while previous != text:  # innermost first
            previous = text
            text = _PAREN.sub(keep, text)
        return text

    def sentences(self, text: str | None) -> list[str]:
        """The plain sentences of a text, in order; the rest are left out."""
        if not text:
            return []
        text = text.split("Not established:", 1)[0]
        text = _iso_to_words(text)
        text = self._drop_asides(text)
        out: list[str] = []
        for raw in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip()):
            candidate = raw.strip().rstrip(".;, ")
            if not candidate:
                continue
            if not self._plain_after_expansion(candidate):
                # keep the first clause when only a later one is technical
                head = candidate.split(";", 1)[0].strip()
                if head == candidate or not self._plain_after_expansion(head):
                    continue
                candidate = head
            sentence = self.expand(candidate)
            out.append(sentence[0].upper() + sentence[1:] + ".")
        return out

    def _plain_after_expansion(self, text: str) -> bool:
        probe = Plainer(self.allowed)
        probe.explained = set(self.explained)
        return is_plain(probe.expand(text), self.allowed)

    def first(self, *texts: str | None) -> str | None:
        """The first plain sentence among the texts."""
        for text in texts:
            found = self.sentences(text)
            if found:
                return found[0]
        return None
