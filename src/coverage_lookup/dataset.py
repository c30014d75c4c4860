"""Load the curated data files strictly, check them as a whole, and cache the result.

Strict means: YAML duplicate keys, unknown keys, bad dates, unknown condition names, invalid
ICD-10-CM codes, a version without a citation, a ``last_verified`` in the future — each is reported
as ``<file>: <key path>: <problem> — <fix>`` and loading fails with :class:`DataError`.

A cold ``coverage-lookup check`` must be fast, so a validated dataset is pickled into a cache keyed
by every data file's path, size and modification time plus the package version; any edit to
``data/`` invalidates it. The cache is an optimisation only: if it cannot be read or written, the
files are loaded directly.
"""

from __future__ import annotations

import os
import pickle
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .codes.icd10cm import Icd10Index, dotted, shared_index
from .errors import DataError
from .states import state_codes

if TYPE_CHECKING:
    from pydantic import ValidationError

    from .models import CodeChange, ConditionSet, Rule, RuleFile

CACHE_FORMAT = 3
CONDITIONS_FILE = "conditions.yaml"
CODE_HISTORY_FILE = "codes/icd10cm_changes.yaml"
SOURCES_FILE = "sources.yaml"  # source declarations for the scrapers (kind, extractor); not rules


def default_data_dir() -> Path:
    """``$COVERAGE_LOOKUP_DATA``, else the data shipped in the wheel, else the repository's ``data/``."""
    env = os.environ.get("COVERAGE_LOOKUP_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    packaged = here / "data"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "data"


def cache_dir() -> Path:
    env = os.environ.get("COVERAGE_LOOKUP_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coverage_lookup"


def read_yaml(path: Path) -> Any:
    """Parse one data file strictly (see :mod:`coverage_lookup.yamlio`; imported only when files are read)."""
    from .yamlio import read_yaml as _read

    return _read(path)


_FIXES = {
    "extra_forbidden": "remove it or check its spelling against schema/rule-file.schema.json",
    "missing": "add it",
    "date_from_datetime_parsing": "write the date as YYYY-MM-DD",
    "date_parsing": "write the date as YYYY-MM-DD",
    "date_type": "write the date as YYYY-MM-DD",
    "too_short": "add at least one entry",
    "literal_error": "use one of the listed values",
    "string_pattern_mismatch": "fix the format",
}


def _loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _validation_problems(path: Path, exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        where = _loc(err["loc"])
        fix = _FIXES.get(err["type"], "")
        value = err.get("input")
        shown = "" if err["type"] == "missing" or isinstance(value, dict | list) else f" (got {value!r})"
        msg = err["msg"].removeprefix("Value error, ")
        problems.append(f"{path}: {where}: {msg}{shown}" + (f" — {fix}" if fix else ""))
    return problems


# ------------------------------------------------------------------------------------------------
# The dataset
# ------------------------------------------------------------------------------------------------


class Plain:
    """An attribute-for-attribute copy of a validated pydantic data model, for the cache.

    Unpickling pydantic models would import pydantic's model machinery on every cold check; the cache
    stores these instead. Only attribute reads are supported — the engine never calls model methods
    (``tests/test_data.py`` checks that fresh and cached datasets give identical answers).
    """

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"Plain({inner})"


def _plain(obj: Any) -> Any:
    fields = getattr(type(obj), "model_fields", None)
    if fields is not None:
        return Plain(**{name: _plain(getattr(obj, name)) for name in fields})
    if isinstance(obj, list):
        return [_plain(x) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_plain(x) for x in obj)
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


@dataclass
class LoadedRule:
    id: str
    file: str  # path relative to the data directory
    state: str | None
    payer: str | None
    rule: Rule


@dataclass
class Dataset:
    data_dir: Path
    rules: dict[str, LoadedRule]
    conditions: dict[str, ConditionSet]
    code_history: tuple[CodeChange, ...]
    files: dict[str, RuleFile] = field(default_factory=dict)
    condition_aliases: dict[str, str] = field(default_factory=dict)

    def rules_for(self, coverage: str) -> list[LoadedRule]:
        return [r for r in self.rules.values() if coverage in r.rule.scope.coverage]

    def conditions_of(self, code: str) -> list[str]:
        """Names of the condition sets a dotless code belongs to (prefix match)."""
        out = []
        for name, cset in self.conditions.items():
            if any(code.startswith(c.replace(".", "")) for c in cset.codes):
                out.append(name)
        return out

    def payers(self) -> dict[str, str]:
        """payer id -> display name, from payer files."""
        return {f.payer.id: f.payer.name for f in self.files.values() if f.payer is not None}


def _rule_files(data_dir: Path) -> list[Path]:
    special = {data_dir / CONDITIONS_FILE, data_dir / CODE_HISTORY_FILE, data_dir / SOURCES_FILE}
    return sorted(p for p in data_dir.rglob("*.yaml") if p not in special and "schema" not in p.parts)


def data_files(data_dir: Path) -> list[Path]:
    return sorted(data_dir.rglob("*.yaml"))


def _check_codes(
    where: str, codes: Iterable[str], index: Icd10Index, history_codes: set[str], problems: list[str]
) -> None:
    for raw in codes:
        code = raw.replace(".", "").upper()
        if raw != raw.strip() or raw != raw.upper():
            problems.append(f"{where}: {raw!r} — write ICD-10-CM codes in upper case without spaces")
            continue
        if index.lookup(code) is None and code not in history_codes:
            hints = index.suggestions(code)
            problems.append(
                f"{where}: {raw!r} is not an ICD-10-CM code in the index or the tracked history"
                + (f" — did you mean {', '.join(hints)}?" if hints else "")
            )


def _check_dates(
    where: str, version_dates: Iterable[tuple[str, date]], today: date, problems: list[str]
) -> None:
    for key, value in version_dates:
        if value > today:
            problems.append(f"{where}.{key}: {value.isoformat()} is in the future — use the date it happened")


def load_dataset(data_dir: Path | None = None, today: date | None = None, use_cache: bool = True) -> Dataset:
    """Load and validate every data file. ``today`` is injectable so checks can be pinned in tests."""
    data_dir = (data_dir or default_data_dir()).resolve()
    today = today or date.today()
    if use_cache:
        cached = _read_cache(data_dir, today)
        if cached is not None:
            return cached
    dataset = _load_uncached(data_dir, today)
    if use_cache:
        _write_cache(data_dir, today, dataset)
    return dataset


def _load_uncached(data_dir: Path, today: date) -> Dataset:
    # pydantic is imported only here: a cached load (every check after the first) never needs it.
    from pydantic import ValidationError

    from .models import CodeHistoryFile, ConditionsFile, RuleFile

    if not data_dir.is_dir():
        raise DataError(
            [f"{data_dir}: data directory not found — set COVERAGE_LOOKUP_DATA to the data/ folder"]
        )
    problems: list[str] = []
    index = shared_index()

    # Code history first: condition codes may name codes that no longer exist.
    history: tuple[CodeChange, ...] = ()
    hist_path = data_dir / CODE_HISTORY_FILE
    if hist_path.exists():
        try:
            history = tuple(CodeHistoryFile.model_validate(read_yaml(hist_path)).changes)
        except ValidationError as exc:
            problems.extend(_validation_problems(hist_path.relative_to(data_dir), exc))
        except DataError as exc:
            problems.extend(exc.problems)
    history_codes = {c.replace(".", "") for ch in history for c in (*ch.added, *ch.deleted, *ch.to_category)}
    for i, change in enumerate(history):
        where = f"{CODE_HISTORY_FILE}: changes[{i}]"
        _check_codes(where + ".added", change.added, index, history_codes, problems)
        _check_dates(where, [("last_verified", change.last_verified)], today, problems)
        for c in change.added:
            # Added and since deleted is possible, but must be recorded as a later deletion.
            later_deleted = any(c in later.deleted for later in history if later.effective > change.effective)
            if index.lookup(c.replace(".", "")) is None and c not in change.deleted and not later_deleted:
                problems.append(
                    f"{where}.added: {c} is not in the current index and no later deletion is recorded"
                )

    conditions: dict[str, ConditionSet] = {}
    cond_path = data_dir / CONDITIONS_FILE
    if not cond_path.exists():
        problems.append(f"{CONDITIONS_FILE}: missing — the named condition sets live there")
    else:
        try:
            conditions = dict(ConditionsFile.model_validate(read_yaml(cond_path)).conditions)
        except ValidationError as exc:
            problems.extend(_validation_problems(Path(CONDITIONS_FILE), exc))
        except DataError as exc:
            problems.extend(exc.problems)
    aliases: dict[str, str] = {}
    for name, cset in conditions.items():
        where = f"{CONDITIONS_FILE}: conditions.{name}"
        _check_codes(where + ".codes", cset.codes, index, history_codes, problems)
        _check_dates(where, [("last_verified", cset.last_verified)], today, problems)
        for alias in [name, name.replace("_", " "), cset.label, *cset.aliases]:
            key = alias.strip().lower()
            if key in aliases and aliases[key] != name:
                problems.append(f"{where}.aliases: {alias!r} also names {aliases[key]!r} — make it unique")
            aliases[key] = name

    rules: dict[str, LoadedRule] = {}
    files: dict[str, RuleFile] = {}
    stems: dict[str, str] = {}
    known_states = set(state_codes())
    for path in _rule_files(data_dir):
        rel = path.relative_to(data_dir).as_posix()
        stem = path.stem.lower()
        if stem in stems:
            problems.append(
                f"{rel}: file name {path.stem!r} is also used by {stems[stem]} — rule ids need unique file names"
            )
            continue
        stems[stem] = rel
        try:
            rf = RuleFile.model_validate(read_yaml(path))
        except ValidationError as exc:
            problems.extend(_validation_problems(Path(rel), exc))
            continue
        except DataError as exc:
            problems.extend(exc.problems)
            continue
        files[rel] = rf
        if rel.startswith("state_policies/") and rf.state != path.stem.upper():
            problems.append(f"{rel}: state: must be {path.stem.upper()!r} for this file")
        if rf.state is not None and rf.state not in known_states:
            problems.append(
                f"{rel}: state: {rf.state!r} is not a state code — use one of the 50 states or DC"
            )
        payer_id = rf.payer.id if rf.payer else None
        for key, rule in rf.rules.items():
            rule_id = f"{stem}.{key}"
            where = f"{rel}: rules.{key}"
            if (
                rule.layer in {"state_medicaid", "state_law", "ehb_benchmark", "workers_comp"}
                and rf.state is None
            ):
                problems.append(
                    f"{where}.layer: {rule.layer!r} rules belong in a state file (data/state_policies/XX.yaml)"
                )
            if rule.layer == "payer_policy" and payer_id is None:
                problems.append(
                    f"{where}.layer: 'payer_policy' rules belong in a payer file with a 'payer:' block"
                )
            for vi, version in enumerate(rule.versions):
                vwhere = f"{where}.versions[{vi}]"
                dates = [("last_verified", version.last_verified)]
                dates += [
                    (f"citations[{ci}].retrieved", c.retrieved) for ci, c in enumerate(version.citations)
                ]
                _check_dates(vwhere, dates, today, problems)
                for pi, prov in enumerate(version.provisions):
                    pwhere = f"{vwhere}.provisions[{pi}]"
                    for name in [*(prov.conditions or []), *prov.excluding]:
                        if name not in conditions:
                            problems.append(
                                f"{pwhere}: unknown condition {name!r} — define it in data/{CONDITIONS_FILE} "
                                f"or use one of: {', '.join(sorted(conditions))}"
                            )
                    for p in prov.procedures or []:
                        if p not in rule.scope.procedures:
                            problems.append(
                                f"{pwhere}.procedures: {p} is outside the rule's scope.procedures"
                            )
            rules[rule_id] = LoadedRule(rule_id, rel, rf.state, payer_id, rule)

    if problems:
        raise DataError(problems)
    return Dataset(data_dir, rules, conditions, history, files, aliases)


# ------------------------------------------------------------------------------------------------
# Cache
# ------------------------------------------------------------------------------------------------


def _fingerprint(data_dir: Path, today: date) -> str:
    from . import __version__

    # The fingerprint is kept as plain text (no hashing library on the cold path).
    parts = [f"{CACHE_FORMAT}|{__version__}|{data_dir}|{today.isoformat()}"]
    index_stat = shared_index().path.stat()
    parts.append(f"index|{index_stat.st_size}|{index_stat.st_mtime_ns}")
    for path in data_files(data_dir):
        st = path.stat()
        parts.append(f"{path}|{st.st_size}|{st.st_mtime_ns}")
    return "\n".join(parts)


def _cache_path(data_dir: Path) -> Path:
    return cache_dir() / f"dataset-{zlib.crc32(str(data_dir).encode()):08x}.pickle"


def _plain_dataset(ds: Dataset) -> Dataset:
    return Dataset(
        ds.data_dir,
        {
            rid: LoadedRule(lr.id, lr.file, lr.state, lr.payer, _plain(lr.rule))
            for rid, lr in ds.rules.items()
        },
        _plain(ds.conditions),
        _plain(ds.code_history),
        _plain(ds.files),
        dict(ds.condition_aliases),
    )


def _read_cache(data_dir: Path, today: date) -> Dataset | None:
    path = _cache_path(data_dir)
    try:
        with path.open("rb") as fh:
            fingerprint, dataset = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, ImportError):
        return None
    if fingerprint != _fingerprint(data_dir, today) or not isinstance(dataset, Dataset):
        return None
    return dataset


def _write_cache(data_dir: Path, today: date, dataset: Dataset) -> None:
    import tempfile

    path = _cache_path(data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as fh:
            pickle.dump(
                (_fingerprint(data_dir, today), _plain_dataset(dataset)), fh, protocol=pickle.HIGHEST_PROTOCOL
            )
            tmp = Path(fh.name)
        tmp.replace(path)  # atomic: readers see the old cache or the new one, never half a file
    except OSError:
        return


def describe_code(code: str) -> str:
    return dotted(code)
