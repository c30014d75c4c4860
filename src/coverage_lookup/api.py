"""The Python API: :func:`check` validates and normalises a question, then asks the engine."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from . import records
from .codes.icd10cm import ICD10_START, IcdStatus, dotted, normalize_icd, shared_index
from .codes.procedures import normalize_procedure
from .dataset import Dataset, load_dataset
from .engine import NormalizedQuery, evaluate
from .errors import InputError, one_of
from .states import normalize_state
from .vocab import COVERAGE_TYPES, PROVIDER_ALIASES, PROVIDER_TYPES

if TYPE_CHECKING:
    from .models import Determination, Query

_PLAN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_datasets: dict[tuple[Path | None, date], Dataset] = {}


def get_dataset(data_dir: Path | None = None, today: date | None = None) -> Dataset:
    """The loaded dataset (memoised per data directory and day)."""
    key = (data_dir, today or date.today())
    if key not in _datasets:
        _datasets[key] = load_dataset(data_dir, today=key[1])
    return _datasets[key]


def parse_date(value: date | str | None, field: str = "service_date", today: date | None = None) -> date:
    if value is None:
        return today or date.today()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise InputError(field, value, "use a date as YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(field, value, "use a real calendar date as YYYY-MM-DD, e.g. 2024-03-01") from None
    if len(value.strip()) != 10:
        raise InputError(field, value, "use a date as YYYY-MM-DD, e.g. 2024-03-01")
    return parsed


def normalize_coverage(value: str) -> str:
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in COVERAGE_TYPES:
        import difflib

        close = difflib.get_close_matches(key, COVERAGE_TYPES, n=1)
        raise InputError(
            "coverage", value, one_of(COVERAGE_TYPES), f"did you mean {close[0]}?" if close else None
        )
    return key


def normalize_provider(value: str) -> str:
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    key = PROVIDER_ALIASES.get(key, PROVIDER_ALIASES.get(value.strip().lower(), key))
    if key not in PROVIDER_TYPES:
        raise InputError("provider", value, one_of(PROVIDER_TYPES))
    return key


def normalize_condition(ds: Dataset, value: str) -> str:
    key = value.strip().lower().replace("-", " ")
    name = ds.condition_aliases.get(key) or ds.condition_aliases.get(key.replace(" ", "_"))
    if name is None:
        import difflib

        close = difflib.get_close_matches(key, list(ds.condition_aliases), n=1)
        raise InputError(
            "condition",
            value,
            one_of(ds.conditions, limit=40),
            f"did you mean {close[0]!r}?" if close else None,
        )
    return name


def normalize_payer(ds: Dataset, value: str) -> tuple[str, bool]:
    """(payer id, known). Unknown payers are accepted (their answers say 'unknown') unless a typo is likely."""
    key = value.strip().lower()
    if not key:
        raise InputError("payer", value, "give a payer id or name, e.g. aetna")
    table: dict[str, str] = {}
    for f in ds.files.values():
        if f.payer is not None:
            for alias in [f.payer.id, f.payer.name, *f.payer.aliases]:
                table[alias.lower()] = f.payer.id
    if key in table:
        return table[key], True
    import difflib

    close = difflib.get_close_matches(key, list(table), n=1, cutoff=0.8)
    if close:
        raise InputError(
            "payer",
            value,
            f"did you mean {close[0]!r}? known payers: {', '.join(sorted(set(table.values())))}",
        )
    slug = re.sub(r"[^a-z0-9]+", "_", key).strip("_")
    return slug, False


def check(
    coverage: str | Query,
    state: str | None = None,
    payer: str | None = None,
    plan_id: str | None = None,
    diagnosis: str | list[str] | tuple[str, ...] | None = None,
    procedure: str = "97810",
    provider: str = "licensed_acupuncturist",
    service_date: date | str | None = None,
    visits_used: int | None = None,
    *,
    condition: str | None = None,
    age: int | None = None,
    today: date | None = None,
    data_dir: Path | None = None,
) -> Determination:
    """Does this coverage pay for this acupuncture service, here, on this date — and says who?

    ``coverage`` may also be a :class:`Query`. Raises :class:`InputError` (naming the field, the value
    and what would be valid) for bad input; never returns a guess.
    """
    from .models import Query

    if isinstance(coverage, Query):  # the Query's fields stand in for the arguments
        return to_model(determine(**coverage.model_dump(), today=today, data_dir=data_dir))
    rec = determine(
        coverage,
        state=state,
        payer=payer,
        plan_id=plan_id,
        diagnosis=diagnosis,
        procedure=procedure,
        provider=provider,
        service_date=service_date,
        visits_used=visits_used,
        condition=condition,
        age=age,
        today=today,
        data_dir=data_dir,
    )
    return to_model(rec)


def to_model(rec: records.Determination) -> Determination:
    """The pydantic :class:`~coverage_lookup.models.Determination` for a plain answer record."""
    from .models import Determination

    return Determination.model_validate(rec, from_attributes=True)


def determine(
    coverage: str,
    state: str | None = None,
    payer: str | None = None,
    plan_id: str | None = None,
    diagnosis: str | list[str] | tuple[str, ...] | None = None,
    procedure: str = "97810",
    provider: str = "licensed_acupuncturist",
    service_date: date | str | None = None,
    visits_used: int | None = None,
    *,
    condition: str | None = None,
    age: int | None = None,
    today: date | None = None,
    data_dir: Path | None = None,
) -> records.Determination:
    """:func:`check` without pydantic: the same answer as plain :mod:`.records` dataclasses.

    The CLI uses it so that a cold check never imports pydantic's model machinery."""
    today = today or date.today()
    for name, val in (("coverage", coverage), ("procedure", procedure), ("provider", provider)):
        if not isinstance(val, str):
            raise InputError(name, val, "give a string")
    cov = normalize_coverage(coverage)
    on = parse_date(service_date, today=today)
    st = normalize_state(state) if state is not None and str(state).strip() else None
    proc = normalize_procedure(procedure, on)
    prov = normalize_provider(provider)
    if visits_used is not None and (
        isinstance(visits_used, bool) or not isinstance(visits_used, int) or visits_used < 0
    ):
        raise InputError("visits_used", visits_used, "use a whole number of visits, 0 or more")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130):
        raise InputError("age", age, "use a whole number of years from 0 to 130")
    if plan_id is not None and not _PLAN_ID_RE.match(plan_id):
        raise InputError(
            "plan_id", plan_id, "use letters, digits, '-', '_' or '.' (up to 40), e.g. 12345CA0010001-01"
        )

    ds = get_dataset(data_dir, today)
    warnings: list[str] = []
    payer_id: str | None = None
    payer_known = False
    if payer is not None and str(payer).strip():
        payer_id, payer_known = normalize_payer(ds, payer)
        if not payer_known:
            warnings.append(f"payer {payer!r} is not in the dataset; its medical policy is not researched")

    codes: list[str] = []
    if isinstance(diagnosis, str):
        codes = [c for c in re.split(r"[,\s]+", diagnosis) if c]
    elif diagnosis is not None:
        if not isinstance(diagnosis, list | tuple):
            raise InputError("diagnosis", diagnosis, "give ICD-10-CM codes as a string or a list of strings")
        codes = list(diagnosis)
    statuses: list[IcdStatus] = []
    if codes:
        if on < ICD10_START:
            raise InputError(
                "diagnosis",
                ", ".join(codes),
                f"ICD-10-CM codes apply to services from {ICD10_START.isoformat()}; earlier claims used ICD-9-CM "
                "(not supported) — ask with --condition instead",
            )
        index = shared_index()
        for raw in codes:
            if not isinstance(raw, str):
                raise InputError("diagnosis", raw, "give ICD-10-CM codes as strings")
            code = normalize_icd(raw)
            status = index.status_on(code, on, ds.code_history)
            if not status.exists and status.added_on is not None:
                # A code from a later code set: answer for the condition it names, but say that a
                # claim on this date must carry the code that was valid then.
                warnings.append(
                    f"{dotted(code)} took effect {status.added_on.isoformat()}; a claim dated {on.isoformat()} "
                    "must use the code valid then — the answer is for the condition it names"
                )
                statuses.append(status)
                continue
            if not status.exists:
                hints = index.suggestions(code)
                raise InputError(
                    "diagnosis",
                    raw,
                    f"not an ICD-10-CM code on {on.isoformat()}",
                    ("did you mean " + ", ".join(hints) + "?") if hints else None,
                )
            if not status.billable:
                if status.certain:
                    kids = index.billable_descendants(code, 6)
                    raise InputError(
                        "diagnosis",
                        raw,
                        f"{dotted(code)} is a category, not a billable code on {on.isoformat()}",
                        ("use a complete code such as " + ", ".join(dotted(k) for k in kids))
                        if kids
                        else None,
                    )
                warnings.append(
                    f"{dotted(code)} is a category in the current code set; whether it was billable on "
                    f"{on.isoformat()} is not tracked — check the code set of that year"
                )
            if status.billable or not status.certain:
                # Notes about untracked history are carried by DiagnosisOut.validity_certain instead.
                warnings.extend(n for n in status.notes if "not tracked" not in n)
            statuses.append(status)
    cond = normalize_condition(ds, condition) if condition is not None else None

    nq = NormalizedQuery(
        coverage=cov,
        state=st,
        payer=payer_id,
        payer_known=payer_known,
        plan_id=plan_id,
        diagnoses=statuses,
        condition=cond,
        procedure=proc,
        provider=prov,
        service_date=on,
        visits_used=visits_used,
        age=age,
        warnings=list(dict.fromkeys(warnings)),
    )
    fields = evaluate(ds, nq, today)
    return records.Determination(
        coverage=cov,
        state=st,
        payer=payer_id,
        plan_id=plan_id,
        service_date=on,
        procedure=proc,
        provider=prov,
        diagnoses=[
            records.DiagnosisOut(
                code=s.display,
                description=s.description,
                billable_on_date=s.billable,
                validity_certain=s.certain,
                conditions=ds.conditions_of(s.code),
            )
            for s in statuses
        ],
        condition=cond,
        visits_used=visits_used,
        **fields,  # type: ignore[arg-type]
    )
