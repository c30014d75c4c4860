"""The Python API: :func:`check` validates and normalises a question, then asks the engine."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from . import records
from .codes.icd10cm import ICD10_START, IcdStatus, dotted, normalize_icd, shared_index
from .codes.procedures import normalize_procedure
from .dataset import Dataset, condition_key, load_dataset
from .engine import NormalizedQuery, evaluate
from .errors import InputError, one_of
from .states import normalize_state
from .vocab import COVERAGE_LABELS, COVERAGE_TYPES, PROVIDER_ALIASES, PROVIDER_TYPES
from .vocabulary import EMPLOYER, read_coverage, read_date, read_payer

if TYPE_CHECKING:
    from .models import Determination, Query

_PLAN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
MAX_DIAGNOSES = 12
_datasets: dict[Path | None, Dataset] = {}
_MEMO_SIZE = 4  # data directories kept loaded in one process


def get_dataset(data_dir: Path | None = None) -> Dataset:
    """The loaded dataset for the query path: memoised per data directory (at most a few), partial
    when a rule file is broken (see :attr:`Dataset.unavailable`), independent of the date."""
    if data_dir not in _datasets:
        if len(_datasets) >= _MEMO_SIZE:
            del _datasets[next(iter(_datasets))]
        _datasets[data_dir] = load_dataset(data_dir, strict=False)
    return _datasets[data_dir]


def parse_date(value: date | str | None, field: str = "service_date", today: date | None = None) -> date:
    if value is None:
        return today or date.today()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise InputError(field, value, "use a date as YYYY-MM-DD or MM/DD/YYYY")
    return read_date(value, field)


def normalize_provider(value: str) -> str:
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    key = PROVIDER_ALIASES.get(key, PROVIDER_ALIASES.get(value.strip().lower(), key))
    if key not in PROVIDER_TYPES:
        raise InputError("provider", value, one_of(PROVIDER_TYPES))
    return key


def normalize_condition(ds: Dataset, value: str) -> str:
    key = condition_key(value)
    name = ds.condition_aliases.get(key)
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


class _Default(str):
    """A default argument that can be told apart from the same value passed explicitly."""

    __slots__ = ()


_DEFAULT_PROCEDURE = _Default("97810")
_DEFAULT_PROVIDER = _Default("licensed_acupuncturist")
_QUERY_ARGUMENTS = (
    "state",
    "payer",
    "plan_id",
    "diagnosis",
    "procedure",
    "provider",
    "service_date",
    "visits_used",
    "condition",
    "age",
)


def _unavailable_warnings(ds: Dataset, state: str | None, payer_unknown: bool) -> list[str]:
    """Say when a rule file that could bear on this question was left out of the load (broken)."""
    out = []
    for rel, problems in ds.unavailable.items():
        path = PurePosixPath(rel)
        if path.parent.name == "state_policies":
            relevant = state is not None and path.stem.upper() == state
        elif path.parent.name == "payers":
            # A payer the dataset recognises has its file loaded, so only a named payer it does not
            # recognise may be the one in the broken file.
            relevant = payer_unknown
        else:
            relevant = True
        if relevant:
            out.append(
                f"part of the dataset could not be read and is left out of this answer: data/{rel} "
                f"({problems[0].removeprefix(rel + ': ')}); run coverage-lookup validate for every problem"
            )
    return out


def _payer_by_name(ds: Dataset, name: str) -> str | None:
    """The payer a name (an issuer's marketing name) is exactly an alias of, else None; no guessing."""
    key = name.strip().lower()
    for f in ds.files.values():
        if f.payer is not None and key in {a.lower() for a in [f.payer.id, f.payer.name, *f.payer.aliases]}:
            return str(f.payer.id)
    return None


def _payer_name(ds: Dataset, payer_id: str) -> str:
    for f in ds.files.values():
        if f.payer is not None and f.payer.id == payer_id:
            return str(f.payer.name)
    return payer_id


def check(
    coverage: str | Query,
    state: str | None = None,
    payer: str | None = None,
    plan_id: str | None = None,
    diagnosis: str | list[str] | tuple[str, ...] | None = None,
    procedure: str = _DEFAULT_PROCEDURE,
    provider: str = _DEFAULT_PROVIDER,
    service_date: date | str | None = None,
    visits_used: int | None = None,
    *,
    condition: str | None = None,
    age: int | None = None,
    today: date | None = None,
    data_dir: Path | str | None = None,
) -> Determination:
    """Does this coverage pay for this acupuncture service, here, on this date — and says who?

    Values may be written as people write them (on an insurance card or in a spreadsheet);
    ``coverage-lookup values`` lists every accepted value with its aliases.

    Args:
        coverage: the kind of coverage: ``medicare``, ``medicare_advantage``, ``medicaid``,
            ``individual``, ``small_group``, ``large_group``, ``self_funded``, ``fehb``, ``tricare``,
            ``va``, ``workers_comp``; or as on a card: a state program ("Medi-Cal", "MassHealth" — which
            also sets the state), "Medicare Part B", "marketplace", "workers' comp", or ``employer``
            (size and funding unknown: the answer carries each possibility in ``alternatives``). May
            also be a :class:`Query`; then the query fields come from it alone, and passing any of them
            as arguments too is refused (``today`` and ``data_dir`` may still be given).
        state: two-letter code, name or FIPS number ("CA", "California", 6). Needed for Medicaid,
            state law, the EHB benchmark and workers' compensation; ignored for federal programs.
        payer: the insurer as on the card ("Aetna PPO", "BCBS of Texas"). A plan type after the name
            is kept in ``plan_type``; an unrecognised name is set aside with a warning, never guessed.
        plan_id: a marketplace plan ID (``91058WI0050007-01``) or Medicare Advantage plan
            (``H1234-001``) from imported CMS files (``coverage-lookup plans import``), or a plan the
            dataset holds rules for (``fep_blue_focus``). An unknown plan ID is refused.
        diagnosis: ICD-10-CM code(s), billable on the date of service: ``"M54.50"``, a list, or a
            string separated by commas, semicolons or spaces (at most 12).
        procedure: CPT code, default ``97810`` (also 97811, 97813, 97814; dry needling 20560, 20561).
        provider: who furnishes and bills the service, default ``licensed_acupuncturist``; also
            ``physician``, ``nurse_practitioner``, ``physician_assistant``, ``clinical_nurse_specialist``,
            ``chiropractor``, ``physical_therapist`` (aliases such as "L.Ac.", "MD", "DC").
        service_date: the date of service: a ``date``/``datetime``, or text as 2024-03-01 or 3/1/2024
            (US month first). Default: ``today``.
        visits_used: visits already used in the limit's period (0 to 100000); limits then show what
            remains.
        condition: a named condition set instead of a code ("sciatica", "chronic low back pain"); with
            a diagnosis it must be one the diagnosis belongs to.
        age: the patient's age in years (0 to 130), where a rule depends on it (Medicaid for under-21s).
        today: the date freshness is measured against (default: the system date).
        data_dir: another data folder (like the project's ``data/``).

    Returns:
        The :class:`Determination`: status, summary, benefit and medical necessity, requirements, limits,
        the rules applied with their citations, freshness and the reach of the evidence.

    Raises:
        InputError: for bad input, naming the field, the value and what would be valid. Nothing else
            escapes for bad input; no answer is a guess.

    Example:
        >>> check("Medi-Cal", diagnosis="M54.41", service_date="3/1/2024").status
        'covered'
    """
    from .models import Query

    if isinstance(coverage, Query):
        given = locals()
        mixed = [
            name
            for name in _QUERY_ARGUMENTS
            if not (given[name] is None or isinstance(given[name], _Default))
        ]
        if mixed:
            raise InputError(
                mixed[0],
                given[mixed[0]],
                "pass either a Query or separate arguments, not both: set "
                + ", ".join(mixed)
                + " on the Query itself",
            )
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


def _missing(value: object) -> bool:
    """None, or a spreadsheet's empty cell (NaN, pandas' NA/NaT)."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in {"NAType", "NaTType"}


def _text(field: str, value: object, *, hint: str, numbers: bool = False) -> str | None:
    """A text argument; whole numbers are accepted where spreadsheets turn codes into numbers."""
    if _missing(value):
        return None
    if isinstance(value, str):
        return value
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if numbers and isinstance(value, float) and value.is_integer():
        return str(int(value))
    raise InputError(field, value, hint)


def _whole(field: str, value: object, valid: str, low: int, high: int) -> int | None:
    if _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(field, value, valid)
    return value


def _as_date(field: str, value: object) -> date | str | None:
    """Dates as people hold them: date, datetime (its date part), pandas Timestamp, ISO text."""
    if _missing(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date | str):
        return value
    to_py = getattr(value, "to_pydatetime", None)  # pandas/numpy timestamps
    if callable(to_py):
        try:
            converted = to_py()
        except Exception:  # a foreign object's own failure is still bad input
            converted = None
        if isinstance(converted, datetime):
            return converted.date()
    raise InputError(field, value, "use a date (a datetime's date part is taken) or text as YYYY-MM-DD")


def _data_dir(value: object) -> Path | None:
    if _missing(value):
        return None
    if isinstance(value, str | Path):
        try:
            path = Path(value)
            usable = path.is_dir() and (path / "conditions.yaml").is_file()
        except (OSError, ValueError):  # e.g. a NUL byte or a name too long for the file system
            usable = False
        if not usable:
            raise InputError(
                "data_dir",
                value,
                "give an existing data folder (like the project's data/, with conditions.yaml)",
            )
        return path
    raise InputError("data_dir", value, "give a folder path as text or a pathlib.Path")


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
    data_dir: Path | str | None = None,
) -> records.Determination:
    """:func:`check` without pydantic: the same answer as plain :mod:`.records` dataclasses.

    The CLI uses it so that a cold check never imports pydantic's model machinery."""
    today_value = _as_date("today", today)
    today = today_value if isinstance(today_value, date) else parse_date(today_value, "today")
    coverage_text = _text(
        "coverage", coverage, hint=f"give a coverage type as text; {one_of(COVERAGE_TYPES)}"
    )
    if coverage_text is None:
        raise InputError("coverage", coverage, one_of(COVERAGE_TYPES))
    directory = _data_dir(data_dir)
    ds = get_dataset(directory)
    reading = read_coverage(ds, coverage_text)
    if reading.coverage == EMPLOYER:
        return _employer(
            reading.said,
            {
                "state": state, "payer": payer, "plan_id": plan_id, "diagnosis": diagnosis,
                "procedure": procedure, "provider": provider, "service_date": service_date,
                "visits_used": visits_used, "condition": condition, "age": age, "today": today,
                "data_dir": data_dir,
            },
        )  # fmt: skip
    cov = reading.coverage
    read_as = [reading.said] if reading.said else []
    on = parse_date(_as_date("service_date", service_date), today=today)
    state_text = _text("state", state, numbers=True, hint="give a state as text, e.g. CA or 'New York'")
    if state_text is not None and not isinstance(state, str):
        state_text = state_text.zfill(2)  # a FIPS code a spreadsheet stored as a number: 6 -> '06'
    st = normalize_state(state_text) if state_text is not None and state_text.strip() else None
    warnings: list[str] = []
    if reading.state is not None:
        if st is not None and st != reading.state:
            warnings.append(
                f"{coverage_text.strip()!r} is a program of {reading.state}; the answer is for {reading.state}, "
                f"not the state given ({st})"
            )
        st = reading.state
    proc = normalize_procedure(
        _text("procedure", procedure, numbers=True, hint="give a procedure code, e.g. 97810") or "97810", on
    )
    prov = normalize_provider(
        _text("provider", provider, hint=f"give a provider type; {one_of(PROVIDER_TYPES)}")
        or "licensed_acupuncturist"
    )
    visits_used = _whole(
        "visits_used", visits_used, "use a whole number of visits from 0 to 100000", 0, 100_000
    )
    age = _whole("age", age, "use a whole number of years from 0 to 130", 0, 130)
    plan_id = _text("plan_id", plan_id, numbers=True, hint="give the plan ID as text, e.g. 12345CA0010001-01")
    if plan_id is not None and not _PLAN_ID_RE.match(plan_id.strip()):
        raise InputError(
            "plan_id", plan_id, "use letters, digits, '-', '_' or '.' (up to 40), e.g. 12345CA0010001-01"
        )
    plan_id = plan_id.strip() if plan_id is not None else None
    payer = _text("payer", payer, numbers=True, hint="give a payer's name or id, e.g. aetna")
    condition = _text("condition", condition, hint="give a condition name, e.g. 'chronic low back pain'")
    payer_id: str | None = None
    payer_known = False
    payer_name: str | None = None
    plan_type: str | None = None
    if payer is not None and payer.strip():
        pr = read_payer(ds, payer)
        payer_id, payer_known, payer_name, plan_type = pr.id, pr.known, pr.name, pr.plan_type
        warnings.extend(pr.warnings)
        if pr.said:
            read_as.append(pr.said)
        if pr.implies_coverage is not None and pr.implies_coverage != cov:
            warnings.append(
                f"{payer.strip()!r} is a {COVERAGE_LABELS[pr.implies_coverage]} brand, but the coverage given is "
                f"{COVERAGE_LABELS[cov]}; check the card"
            )
        if pr.states:
            if st is None and len(pr.states) == 1:
                st = pr.states[0]
                read_as.append(f"state {st} taken from the payer {pr.name}")
            elif st is not None and st not in pr.states:
                warnings.append(
                    f"{pr.name} sells plans in {', '.join(pr.states)}; a plan's own state's law applies — "
                    f"the answer is for {st} as given"
                )
        if payer_id is not None and not payer_known:
            warnings.append(
                f"{pr.name}'s own medical policy for acupuncture is not in the dataset; the answer follows the "
                "coverage's other rules"
            )

    codes: list[str] = []
    if isinstance(diagnosis, str):
        codes = [c for c in re.split(r"[,;\s]+", diagnosis) if c]
    elif not _missing(diagnosis):
        if not isinstance(diagnosis, list | tuple):
            raise InputError("diagnosis", diagnosis, "give ICD-10-CM codes as a string or a list of strings")
        for raw in diagnosis:
            if not isinstance(raw, str):
                raise InputError("diagnosis", raw, "give each ICD-10-CM code as a string, e.g. 'M54.50'")
        codes = [c for raw in diagnosis for c in re.split(r"[,;\s]+", raw) if c]
    statuses: list[IcdStatus] = []
    # The same code twice is one diagnosis; a claim form holds at most 12 (CMS-1500 items 21A-21L).
    unique: dict[str, str] = {}
    for raw in codes:
        unique.setdefault(raw.strip().upper().replace(".", ""), raw)
    codes = list(unique.values())
    if len(codes) > MAX_DIAGNOSES:
        raise InputError(
            "diagnosis",
            ", ".join(codes),
            f"a claim carries at most {MAX_DIAGNOSES} diagnosis codes (CMS-1500 items 21A-21L); "
            f"{len(codes)} different codes were given — ask with the {MAX_DIAGNOSES} that matter",
        )
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
                # A code with subcodes is a header, never billable; the tracked history says where a
                # code was billable before it was split (M54.5 until 2021-10-01).
                kids = index.billable_descendants(code, 6)
                raise InputError(
                    "diagnosis",
                    raw,
                    f"{dotted(code)} is a category, not a billable code on {on.isoformat()}",
                    ("use a complete code such as " + ", ".join(dotted(k) for k in kids)) if kids else None,
                )
            # Notes about untracked history are carried by DiagnosisOut.validity_certain instead.
            warnings.extend(n for n in status.notes if "not tracked" not in n)
            statuses.append(status)
    plan_out = None
    plan_counts = None
    if plan_id is not None:
        from .plans.lookup import resolve

        known = {r.rule.scope.plan_id for r in ds.rules.values() if r.rule.scope.plan_id}
        resolved = resolve(known, cov, plan_id, on, st)
        if resolved.rules:
            ds = ds.with_rules(resolved.rules)
        plan_out = resolved.plan
        if plan_out is not None:
            plan_id = plan_out.plan_id
        st = st or resolved.state
        warnings.extend(resolved.warnings)
        if payer_id is None and resolved.issuer_name:
            issuer_payer = _payer_by_name(ds, resolved.issuer_name)
            if issuer_payer is not None:
                payer_id, payer_known, payer_name = issuer_payer, True, _payer_name(ds, issuer_payer)
    elif cov in ("individual", "small_group") and st is not None:
        from .plans.lookup import state_counts

        plan_counts = state_counts(st, on.year)
    cond = normalize_condition(ds, condition) if condition is not None and condition.strip() else None
    if cond is not None and statuses:
        # The diagnosis decides; a condition given with it only labels it, so it must be one the
        # diagnosis belongs to.
        belongs = {name for s in statuses for name in ds.conditions_of(s.code)}
        if cond not in belongs:
            codes_text = ", ".join(s.display for s in statuses)
            sets = ", ".join(sorted(belongs)) or "no named condition set"
            raise InputError(
                "condition",
                condition,
                f"the diagnosis decides the answer and {codes_text} belongs to {sets}, not {cond}",
                "leave out the condition, or give the diagnosis code that matches it",
            )

    payer_unknown = bool(payer and payer.strip()) and not payer_known
    nq = NormalizedQuery(
        coverage=cov,
        state=st,
        payer=payer_id,
        payer_known=payer_known,
        payer_name=payer_name,
        plan_id=plan_id,
        diagnoses=statuses,
        condition=cond,
        procedure=proc,
        provider=prov,
        service_date=on,
        visits_used=visits_used,
        age=age,
        warnings=list(dict.fromkeys([*warnings, *_unavailable_warnings(ds, st, payer_unknown)])),
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
        plan=plan_out,
        plan_counts=plan_counts,
        read_as=read_as,
        plan_type=plan_type,
        payer_name=payer_name,
        **fields,  # type: ignore[arg-type]
    )


EMPLOYER_QUESTION = (
    "is the employer plan self-funded or fully insured, and does the employer count as a small or a large "
    "group? The card may say 'administered by' or name a third-party administrator (a sign of a "
    "self-funded plan); the employer's benefits office or the plan documents say for sure"
)


def _employer(said: str | None, kw: dict[str, object]) -> records.Determination:
    """An employer plan of unknown size and funding: the answer for each possibility, side by side."""
    from .render import MARKS
    from .vocabulary import EMPLOYER_CHOICES

    parts = [determine(choice, **kw) for choice in EMPLOYER_CHOICES]  # type: ignore[arg-type]
    statuses = {p.status for p in parts}
    status = parts[0].status if len(statuses) == 1 else "conditional"

    def aspect(name: str) -> records.AspectResult:
        results = [getattr(p, name) for p in parts]
        kinds = {r.status for r in results}
        return records.AspectResult(
            status=results[0].status if len(kinds) == 1 else "conditional",
            summary=results[0].summary
            if len(kinds) == 1 and len({r.summary for r in results}) == 1
            else "; ".join(f"{COVERAGE_LABELS[p.coverage]}: {getattr(p, name).summary}" for p in parts),
            decided_by=list(dict.fromkeys(rid for r in results for rid in r.decided_by)),
        )

    sides = "; ".join(f"{COVERAGE_LABELS[p.coverage]}: {MARKS[p.status]}" for p in parts)
    if len(statuses) == 1:
        summary = (
            f"Employer plan, size and funding unknown — {MARKS[status]} whichever kind it is "
            "(small group, large group or self-funded); see each possibility."
        )
    else:
        summary = f"Employer plan, size and funding unknown — it depends on the kind of plan: {sides}."
    first = parts[0]
    applied: dict[str, records.AppliedRule] = {}
    for p in parts:
        for r in p.rules_applied:
            applied.setdefault(r.id, r)
    earliest = [p.evidence.earliest for p in parts if p.evidence.earliest is not None]
    latest = [p.evidence.latest for p in parts if p.evidence.latest is not None]
    oldest = min((p for p in parts if p.freshness.oldest_verified), key=lambda p: p.freshness.oldest_verified or date.max, default=first)  # fmt: skip
    return records.Determination(
        status=status,
        summary=summary,
        coverage=EMPLOYER,
        state=first.state,
        payer=first.payer,
        plan_id=first.plan_id,
        service_date=first.service_date,
        procedure=first.procedure,
        provider=first.provider,
        diagnoses=first.diagnoses,
        condition=first.condition,
        benefit=aspect("benefit"),
        medical_necessity=aspect("medical_necessity"),
        requirements=list({(r.kind, r.text, r.source): r for p in parts for r in p.requirements}.values()),
        limits=list({(lim.visits, lim.per, lim.source): lim for p in parts for lim in p.limits}.values()),
        visits_used=first.visits_used,
        indications=[],
        rules_applied=list(applied.values()),
        trace=[
            records.TraceEntry(t.rule, t.layer, t.decision, f"[{COVERAGE_LABELS[p.coverage]}] {t.reason}")
            for p in parts
            for t in p.trace
        ],
        freshness=oldest.freshness,
        evidence=records.Evidence(
            extrapolated=any(p.evidence.extrapolated for p in parts),
            earliest=max(earliest) if earliest else None,
            latest=min(latest) if latest else None,
        ),
        missing=list(dict.fromkeys([EMPLOYER_QUESTION, *(m for p in parts for m in p.missing)])),
        warnings=list(dict.fromkeys(w for p in parts for w in p.warnings)),
        ignored=[],
        plan=first.plan,
        plan_counts=None,
        read_as=[*([said] if said else []), *first.read_as],
        plan_type=first.plan_type,
        payer_name=first.payer_name,
        alternatives=[
            records.AlternativeOut(p.coverage, COVERAGE_LABELS[p.coverage], p.status, p.summary)
            for p in parts
        ],
    )
