"""Reading a patient's answers: the state, the kind of insurance as people know it, the insurer's name
and the condition in their own words. Each reader returns what it understood or raises
:class:`NotUnderstood` with suggestions, so the caller can ask again in a friendly way."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._states import STATES
from ..dataset import condition_key, name_key
from ..errors import InputError
from ..states import normalize_state
from ..vocab import COVERAGE_LABELS
from ..vocabulary import EMPLOYER, read_coverage

if TYPE_CHECKING:
    from ..dataset import Dataset


class NotUnderstood(Exception):
    """An answer that could not be read; ``suggestions`` are close values to offer."""

    def __init__(self, value: str, suggestions: list[str] | None = None) -> None:
        super().__init__(value)
        self.value = value
        self.suggestions = suggestions or []


# --- the state -------------------------------------------------------------------------------------

STATE_NAMES = {code: name for code, name, _ in STATES}


def read_state(text: str) -> str:
    """'california', 'CA', 'New York' -> a postal code."""
    value = text.strip().rstrip(".")
    if not value:
        raise NotUnderstood(text)
    try:
        return normalize_state(value)
    except InputError:
        pass
    names = [name for _, name, _ in STATES]
    close = difflib.get_close_matches(value.title(), names, n=3, cutoff=0.6)
    if not close and len(value) == 2:
        close = [STATE_NAMES[c] for c in STATE_NAMES if c[0] == value[0].upper()][:3]
    raise NotUnderstood(text, close)


# --- the kind of insurance -------------------------------------------------------------------------

NOT_SURE = "not_sure"
MENU: tuple[tuple[str, str], ...] = (
    ("Medicare", "medicare"),
    ("Medicaid or a state plan (e.g. Medi-Cal, MassHealth)", "medicaid"),
    ("through my job", EMPLOYER),
    ("I bought it myself (marketplace)", "individual"),
    ("VA", "va"),
    ("TRICARE", "tricare"),
    ("workers' comp", "workers_comp"),
    ("not sure", NOT_SURE),
)
KEYWORDS: dict[str, str] = {
    "medicare": "medicare",
    "medicaid": "medicaid",
    "state plan": "medicaid",
    "a state plan": "medicaid",
    "medicaid or a state plan": "medicaid",
    "job": EMPLOYER,
    "my job": EMPLOYER,
    "through my job": EMPLOYER,
    "through work": EMPLOYER,
    "through my work": EMPLOYER,
    "work": EMPLOYER,
    "employer": EMPLOYER,
    "my employer": EMPLOYER,
    "through my employer": EMPLOYER,
    "myself": "individual",
    "i bought it myself": "individual",
    "bought it myself": "individual",
    "i bought it": "individual",
    "bought myself": "individual",
    "self": "individual",
    "marketplace": "individual",
    "i bought it myself marketplace": "individual",
    "va": "va",
    "veterans": "va",
    "veteran": "va",
    "tricare": "tricare",
    "military": "tricare",
    "workers comp": "workers_comp",
    "workers compensation": "workers_comp",
    "work injury": "workers_comp",
    "not sure": NOT_SURE,
    "unsure": NOT_SURE,
    "i m not sure": NOT_SURE,
    "im not sure": NOT_SURE,
    "don t know": NOT_SURE,
    "i don t know": NOT_SURE,
    "dont know": NOT_SURE,
    "no idea": NOT_SURE,
    "idk": NOT_SURE,
}
# How each kind is named to the patient.
KIND_WORDS: dict[str, str] = {
    "medicare": "Medicare",
    "medicare_advantage": "a Medicare Advantage plan",
    "medicaid": "Medicaid",
    EMPLOYER: "insurance through your job",
    "small_group": "a small employer's plan",
    "large_group": "a large employer's plan",
    "self_funded": "a self-funded employer plan",
    "individual": "a plan you bought yourself (marketplace)",
    "va": "VA health care",
    "tricare": "TRICARE",
    "workers_comp": "workers' compensation",
    "fehb": "a federal employee health plan",
    NOT_SURE: "not sure which insurance",
}
FEDERAL = frozenset({"medicare", "medicare_advantage", "va", "tricare", "fehb"})


@dataclass
class Insurance:
    """The kind of insurance: a coverage type, ``employer`` or ``not_sure``."""

    kind: str
    state: str | None = None  # a program name's state (Medi-Cal -> CA)
    program: str | None = None  # the program name as the patient typed it

    @property
    def needs_state(self) -> bool:
        return self.kind not in FEDERAL and self.state is None


def read_insurance(ds: Dataset, text: str) -> Insurance:
    """A menu number, a menu word ('job', 'myself', 'not sure') or a name as on the card ('Medi-Cal')."""
    value = text.strip()
    if not value:
        raise NotUnderstood(text)
    if value.rstrip(".)").isdigit():
        number = int(value.rstrip(".)"))
        if 1 <= number <= len(MENU):
            return Insurance(MENU[number - 1][1])
        raise NotUnderstood(text)
    key = name_key(value)
    if key in KEYWORDS:
        return Insurance(KEYWORDS[key])
    if value.strip() == "?":
        return Insurance(NOT_SURE)
    try:
        reading = read_coverage(ds, value)
    except InputError:
        names = list(KEYWORDS) + [name_key(label) for label, _ in MENU]
        close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
        shown: list[str] = []
        for c in close:
            kind = KEYWORDS.get(c) or next((k for label, k in MENU if name_key(label) == c), None)
            word = next((label for label, k in MENU if k == kind), c)
            if word not in shown:
                shown.append(word)
        raise NotUnderstood(text, shown) from None
    program = value if reading.state is not None else None
    return Insurance(reading.coverage, reading.state, program)


def medicaid_name(ds: Dataset, state: str) -> str:
    """The name a state's Medicaid program goes by: 'Medi-Cal', 'Texas Medicaid', 'MassHealth'."""
    vocab = ds.vocabulary
    if vocab is not None:
        for entry in vocab.coverage:
            if (
                entry.state == state
                and entry.coverage == "medicaid"
                and entry.program
                in (
                    "medicaid",
                    "medicaid_and_chip",
                )
            ):
                names = [str(n) for n in entry.names]
                worded = [n for n in names if any(ch.islower() for ch in n)]
                if worded and worded[0] != names[0]:
                    return f"{worded[0]} ({names[0]})"
                return names[0]
    return f"{STATE_NAMES.get(state, state)} Medicaid"


def program_names(ds: Dataset) -> frozenset[str]:
    """Program names with capitals in them that a patient knows from the card (MO HealthNet)."""
    out: set[str] = set()
    vocab = ds.vocabulary
    if vocab is not None:
        for entry in vocab.coverage:
            if entry.state is not None:
                out.update(str(n) for n in entry.names if len(n) >= 4 and any(ch.islower() for ch in n))
    return frozenset(out)


def kind_label(kind: str) -> str:
    return KIND_WORDS.get(kind) or COVERAGE_LABELS.get(kind, kind)


# --- the condition ---------------------------------------------------------------------------------

# Plain names for the condition sets of data/conditions.yaml.
CONDITION_WORDS: dict[str, str] = {
    "chronic_low_back_pain": "low back pain",
    "sciatica": "sciatica",
    "lumbar_radiculopathy": "nerve pain from the lower back (radiculopathy)",
    "neck_pain": "neck pain",
    "migraine": "migraine",
    "tension_headache": "tension headaches",
    "headache": "headaches",
    "knee_osteoarthritis": "arthritis of the knee (osteoarthritis)",
    "hip_osteoarthritis": "arthritis of the hip (osteoarthritis)",
    "osteoarthritis": "arthritis (osteoarthritis)",
    "fibromyalgia": "fibromyalgia",
    "neuropathic_pain": "nerve pain (neuropathy)",
    "nausea_of_pregnancy": "nausea and vomiting in pregnancy",
    "postoperative_nausea": "nausea and vomiting after an operation",
    "chemotherapy_nausea": "nausea and vomiting from cancer treatment (chemotherapy)",
    "postoperative_pain": "pain after an operation",
    "chronic_pain": "long-lasting (chronic) pain",
    "cancer_pain": "pain from cancer",
    "tmd": "jaw joint problems (TMJ)",
    "dental_pain": "toothache",
    "dysmenorrhea": "period pain",
    "substance_use_disorder": "addiction (substance use disorder)",
    "pregnancy": "pregnancy",
}
NAUSEA = ("nausea_of_pregnancy", "postoperative_nausea", "chemotherapy_nausea")
HEADACHES = ("migraine", "tension_headache", "headache")
# Everyday words beyond the aliases in data/conditions.yaml.
PATIENT_WORDS: dict[str, tuple[str, ...]] = {
    "back pain": ("chronic_low_back_pain",),
    "lower back pain": ("chronic_low_back_pain",),
    "low back": ("chronic_low_back_pain",),
    "lower back": ("chronic_low_back_pain",),
    "backache": ("chronic_low_back_pain",),
    "back ache": ("chronic_low_back_pain",),
    "bad back": ("chronic_low_back_pain",),
    "back": ("chronic_low_back_pain",),
    "sciatic pain": ("sciatica",),
    "sciatic nerve pain": ("sciatica",),
    "pain down my leg": ("sciatica",),
    "neck": ("neck_pain",),
    "neck ache": ("neck_pain",),
    "sore neck": ("neck_pain",),
    "stiff neck": ("neck_pain",),
    "knee pain": ("knee_osteoarthritis",),
    "knee": ("knee_osteoarthritis",),
    "knee arthritis": ("knee_osteoarthritis",),
    "arthritis in my knee": ("knee_osteoarthritis",),
    "bad knee": ("knee_osteoarthritis",),
    "sore knee": ("knee_osteoarthritis",),
    "hip pain": ("hip_osteoarthritis",),
    "hip": ("hip_osteoarthritis",),
    "hip arthritis": ("hip_osteoarthritis",),
    "migraine headache": ("migraine",),
    "migraine headaches": ("migraine",),
    "headaches": HEADACHES,
    "headache": HEADACHES,
    "head ache": HEADACHES,
    "tension headaches": ("tension_headache",),
    "nausea": NAUSEA,
    "vomiting": NAUSEA,
    "nausea and vomiting": NAUSEA,
    "feeling sick": NAUSEA,
    "sickness": NAUSEA,
    "nausea in pregnancy": ("nausea_of_pregnancy",),
    "nausea after surgery": ("postoperative_nausea",),
    "nausea after an operation": ("postoperative_nausea",),
    "chemo nausea": ("chemotherapy_nausea",),
    "nausea from chemo": ("chemotherapy_nausea",),
    "nausea from chemotherapy": ("chemotherapy_nausea",),
    "pain after surgery": ("postoperative_pain",),
    "pain after an operation": ("postoperative_pain",),
    "long term pain": ("chronic_pain",),
    "long lasting pain": ("chronic_pain",),
    "jaw pain": ("tmd",),
    "jaw": ("tmd",),
    "tooth pain": ("dental_pain",),
    "nerve pain": ("neuropathic_pain",),
    "period cramps": ("dysmenorrhea",),
    "painful periods": ("dysmenorrhea",),
    "cramps": ("dysmenorrhea",),
    "fibro": ("fibromyalgia",),
    "opioid addiction": ("substance_use_disorder",),
}
SOMETHING_ELSE = "something_else"
CONDITION_MENU: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("low back pain", ("chronic_low_back_pain",)),
    ("sciatica (pain from the back down the leg)", ("sciatica",)),
    ("neck pain", ("neck_pain",)),
    ("knee pain (arthritis of the knee)", ("knee_osteoarthritis",)),
    ("migraine", ("migraine",)),
    ("other headaches", ("tension_headache", "headache")),
    ("nausea", NAUSEA),
    ("long-lasting (chronic) pain", ("chronic_pain",)),
    ("something else: answer for acupuncture in general", (SOMETHING_ELSE,)),
)
_SOMETHING_ELSE_WORDS = frozenset({"something else", "other", "else", "none", "not listed", "general"})


def condition_words(name: str | None, ds: Dataset | None = None) -> str:
    if name is None or name == SOMETHING_ELSE:
        return "your condition"
    if name in CONDITION_WORDS:
        return CONDITION_WORDS[name]
    if ds is not None and name in ds.conditions:
        return str(ds.conditions[name].label).lower()
    return name.replace("_", " ")


def read_condition(ds: Dataset, text: str) -> tuple[str, ...]:
    """The condition sets a patient's words may mean: one, several to choose from, or
    ``(SOMETHING_ELSE,)``. Raises :class:`NotUnderstood` with near misses."""
    value = text.strip()
    if not value:
        raise NotUnderstood(text)
    if value.rstrip(".)").isdigit():
        number = int(value.rstrip(".)"))
        if 1 <= number <= len(CONDITION_MENU):
            return CONDITION_MENU[number - 1][1]
        raise NotUnderstood(text)
    key = condition_key(name_key(value))
    for prefix in ("my ", "i have ", "for ", "for my ", "chronic "):
        if key.startswith(prefix) and key[len(prefix) :] and key not in ds.condition_aliases:
            rest = key[len(prefix) :]
            if rest in ds.condition_aliases or rest in PATIENT_WORDS:
                key = rest
    if key in _SOMETHING_ELSE_WORDS:
        return (SOMETHING_ELSE,)
    for candidate in (key, key[:-1] if key.endswith("s") else key):
        if candidate in PATIENT_WORDS:
            return tuple(n for n in PATIENT_WORDS[candidate] if n in ds.conditions)
        if candidate in ds.condition_aliases:
            return (ds.condition_aliases[candidate],)
    words = {condition_key(w): w for w in [*ds.condition_aliases, *PATIENT_WORDS]}
    close = difflib.get_close_matches(key, list(words), n=3, cutoff=0.7)
    raise NotUnderstood(text, [words[c] for c in close])


@dataclass
class Question:
    """What the patient asked, as read."""

    state: str | None
    insurance: Insurance
    insurer: str | None
    condition: str | None  # a condition set, or None for acupuncture in general
    condition_said: str | None = None  # the patient's words, when they differ from the set's name
    notes: list[str] = field(default_factory=list)
