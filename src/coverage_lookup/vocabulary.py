"""Reading what people write: the insurance as printed on a card, payer names with a plan type, dates
as clerks type them. One module for the API, the CLI, batches and the web page alike.

The names come from ``data/vocabulary.yaml`` (program names such as Medi-Cal or MassHealth, with the
state they imply and their citations; payer names such as "BCBS of Texas" with the company behind
them) plus the dataset's own payer files. Nothing is guessed: a name that is not known is either
refused with close matches (a coverage, which the answer cannot do without) or set aside with a
warning (a payer, without which the answer is still useful).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from .dataset import name_key
from .errors import InputError, one_of
from .vocab import COVERAGE_LABELS, COVERAGE_TYPES, PROCEDURES, PROVIDER_ALIASES, PROVIDER_TYPES

if TYPE_CHECKING:
    from .dataset import Dataset

EMPLOYER = "employer"  # an employer plan whose size and funding are unknown
EMPLOYER_CHOICES = ("small_group", "large_group", "self_funded")
PLAN_TYPES = ("PPO", "HMO", "EPO", "POS", "HDHP", "HSA", "PFFS", "SNP", "D-SNP", "C-SNP", "I-SNP")
VALUE_KINDS = ("coverage", "providers", "procedures", "conditions", "payers", "states")


@dataclass
class CoverageReading:
    coverage: str  # a coverage type, or "employer"
    state: str | None = None  # the state a program name implies
    said: str | None = None  # how the value was read, when it was not the plain type


@dataclass
class PayerReading:
    id: str | None  # the dataset's payer id, or the vocabulary's id for a known company, or None
    known: bool  # the dataset holds this payer's policies
    name: str | None
    states: list[str] = field(default_factory=list)
    implies_coverage: str | None = None
    plan_type: str | None = None
    said: str | None = None
    warnings: list[str] = field(default_factory=list)


def _coverage_table(ds: Dataset) -> dict[str, tuple[str, str | None, str]]:
    """name key -> (coverage, the state a program implies, the name as written)."""
    cached: dict[str, tuple[str, str | None, str]] | None = ds._tables.get("coverage")
    if cached is not None:
        return cached
    table: dict[str, tuple[str, str | None, str]] = {}
    for cov in COVERAGE_TYPES:
        table[name_key(cov)] = (cov, None, cov)
    vocab = ds.vocabulary
    if vocab is not None:
        for entry in vocab.coverage:
            for name in entry.names:
                table.setdefault(name_key(name), (entry.coverage, entry.state, name))
    ds._tables["coverage"] = table
    return table


def read_coverage(ds: Dataset, value: str) -> CoverageReading:
    """'Medi-Cal' -> medicaid in CA; 'Medicare Part B' -> medicare; 'employer plan' -> employer."""
    key = name_key(value)
    table = _coverage_table(ds)
    found = table.get(key)
    if found is None:
        close = difflib.get_close_matches(key, list(table), n=3, cutoff=0.75)
        names = list(dict.fromkeys(table[c][2] for c in close))
        hint = ("did you mean " + " or ".join(repr(n) for n in names) + "?") if names else None
        raise InputError(
            "coverage",
            value,
            one_of(COVERAGE_TYPES) + ", or a program name as on the card (coverage-lookup values coverage)",
            hint,
        )
    cov, state, _ = found
    plain = key.replace(" ", "_") == cov
    said = None
    if not plain:
        label = "an employer plan, size and funding unknown" if cov == EMPLOYER else COVERAGE_LABELS[cov]
        said = f"{value.strip()!r} read as {label}" + (f" in {state}" if state else "")
    return CoverageReading(cov, state, said)


def split_plan_type(value: str) -> tuple[str, str | None]:
    """'Aetna PPO' -> ('Aetna', 'PPO'); 'Kaiser Permanente HMO plan' -> ('Kaiser Permanente', 'HMO')."""
    text = value.strip()
    m = re.match(
        r"^(.*?)[\s,/-]+(" + "|".join(re.escape(t) for t in PLAN_TYPES) + r")(?:\s+plan)?\s*$", text, re.I
    )
    if m and m.group(1).strip():
        return m.group(1).strip(), m.group(2).upper()
    return text, None


def _payer_tables(ds: Dataset) -> tuple[dict[str, Any], dict[str, Any]]:
    cached: tuple[dict[str, Any], dict[str, Any]] | None = ds._tables.get("payers")
    if cached is not None:
        return cached
    dataset: dict[str, Any] = {}
    for f in ds.files.values():
        if f.payer is not None:
            for alias in [f.payer.id, f.payer.name, *f.payer.aliases]:
                dataset.setdefault(name_key(alias), f.payer)
    cards: dict[str, Any] = {}
    vocab = ds.vocabulary
    if vocab is not None:
        for entry in vocab.payers:
            for name in entry.names:
                cards.setdefault(name_key(name), entry)
    ds._tables["payers"] = (dataset, cards)
    return dataset, cards


def read_payer(ds: Dataset, value: str) -> PayerReading:
    """A payer as printed on a card. Never invents an id: an unknown name gives ``id=None`` and a
    warning with close matches."""
    text, plan_type = split_plan_type(value)
    key = name_key(text)
    if not key:
        raise InputError("payer", value, "give a payer's name as on the card, e.g. Aetna or 'BCBS of Texas'")
    dataset, cards = _payer_tables(ds)
    said = f"plan type {plan_type} noted" if plan_type else None
    if key in dataset:
        p = dataset[key]
        card = cards.get(key)
        states = list(card.states) if card is not None and card.payer == p.id else []
        return PayerReading(str(p.id), True, str(p.name), states=states, plan_type=plan_type, said=said)
    if key in cards:
        c = cards[key]
        if c.payer is not None and name_key(c.payer) in dataset:
            p = dataset[name_key(c.payer)]
            name = str(p.name)
            known = True
            pid = str(p.id)
        else:  # a company the dataset has no policies for (or whose payer file could not be read)
            name, known, pid = str(c.names[0]), False, str(c.id)
        read = f"{text!r} read as {name}" + (f" ({', '.join(c.states)})" if c.states else "")
        return PayerReading(
            pid,
            known,
            name,
            states=list(c.states),
            implies_coverage=c.implies_coverage,
            plan_type=plan_type,
            said=read + (f"; {said}" if said else ""),
        )
    names = list(dataset) + list(cards)
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    shown = [str(dataset[c].name) if c in dataset else str(cards[c].names[0]) for c in close]
    warning = f"payer not recognised: {value.strip()!r}; the answer is for the coverage without a payer's own policy"
    if shown:
        warning += " (close matches: " + ", ".join(dict.fromkeys(shown)) + ")"
    return PayerReading(None, False, None, plan_type=plan_type, warnings=[warning])


_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_LOOSE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
DATE_FORMS = "YYYY-MM-DD, MM/DD/YYYY or M/D/YYYY (month first), e.g. 2024-03-01 or 3/1/2024"


def read_date(value: str, field_name: str = "service_date") -> date:
    """2024-03-01, 2024-3-1, 03/01/2024, 3/1/2024 (US month-first). Two-digit years are refused: 3/1/24
    could be 1924 or 2024 to a claim system, and a wrong year is a wrong answer."""
    text = value.strip()
    m = _ISO_LOOSE.match(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
    else:
        m = _US_DATE.match(text)
        if m is None:
            raise InputError(field_name, value, f"use a date as {DATE_FORMS}")
        mo, d, y = (int(g) for g in m.groups())
    try:
        return date(y, mo, d)
    except ValueError:
        raise InputError(
            field_name, value, f"use a real calendar date as {DATE_FORMS} (month first)"
        ) from None


def accepted_values(kind: str, ds: Dataset | None = None) -> list[dict[str, Any]]:
    """Every accepted value of one kind with its aliases: what `coverage-lookup values KIND` prints."""
    from ._states import STATES
    from .api import get_dataset

    if kind not in VALUE_KINDS:
        raise InputError("kind", kind, one_of(VALUE_KINDS))
    ds = ds or get_dataset()
    if kind == "coverage":
        out: dict[str, dict[str, Any]] = {
            c: {"value": c, "label": COVERAGE_LABELS[c], "aliases": []} for c in COVERAGE_TYPES
        }
        out[EMPLOYER] = {
            "value": EMPLOYER,
            "label": "employer plan, size and funding unknown (answered for each possibility)",
            "aliases": [],
        }
        programs: list[dict[str, Any]] = []
        if ds.vocabulary is not None:
            for entry in ds.vocabulary.coverage:
                if entry.state is None:
                    out[entry.coverage]["aliases"].extend(entry.names)
                else:
                    programs.append(
                        {
                            "value": entry.names[0],
                            "label": f"{COVERAGE_LABELS[entry.coverage]} in {entry.state}"
                            + (f" ({entry.program})" if entry.program else ""),
                            "aliases": list(entry.names[1:]),
                            "coverage": entry.coverage,
                            "state": entry.state,
                        }
                    )
        return list(out.values()) + sorted(programs, key=lambda p: (p["state"], p["value"]))
    if kind == "providers":
        return [
            {
                "value": p,
                "label": p.replace("_", " "),
                "aliases": sorted(a for a, t in PROVIDER_ALIASES.items() if t == p),
            }
            for p in PROVIDER_TYPES
        ]
    if kind == "procedures":
        return [{"value": code, "label": label, "aliases": []} for code, label in PROCEDURES.items()]
    if kind == "conditions":
        return [
            {"value": name, "label": c.label, "aliases": list(c.aliases), "codes": list(c.codes)}
            for name, c in ds.conditions.items()
        ]
    if kind == "payers":
        payers: dict[str, dict[str, Any]] = {}
        for f in ds.files.values():
            if f.payer is not None:
                payers[f.payer.id] = {
                    "value": f.payer.id,
                    "label": f.payer.name,
                    "aliases": list(f.payer.aliases),
                    "in_dataset": True,
                    "states": [],
                }
        if ds.vocabulary is not None:
            for c in ds.vocabulary.payers:
                if c.payer is not None and c.payer in payers:
                    payers[c.payer]["aliases"].extend(
                        n for n in c.names if n not in payers[c.payer]["aliases"]
                    )
                    payers[c.payer]["states"] = sorted(set(payers[c.payer]["states"]) | set(c.states))
                else:
                    payers.setdefault(
                        c.id,
                        {
                            "value": c.id,
                            "label": c.company,
                            "aliases": [],
                            "in_dataset": False,
                            "states": list(c.states),
                        },
                    )["aliases"].extend(c.names)
        return sorted(payers.values(), key=lambda p: str(p["value"]))
    return [{"value": code, "label": name, "aliases": [fips]} for code, name, fips in STATES]
