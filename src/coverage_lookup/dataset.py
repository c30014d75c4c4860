"""Load the curated data files strictly, check them as a whole, and cache the result.

Strict means: YAML duplicate keys, unknown keys, bad dates, unknown condition names, invalid
ICD-10-CM codes, a version without a citation, a ``last_verified`` in the future — each is reported
as ``<file>: <key path>: <problem> — <fix>`` and loading fails with :class:`DataError`.

A cold ``coverage-lookup check`` must be fast, so a validated dataset is cached. The cache is keyed
by a **snapshot**: every data file's bytes are read once, hashed, and the load parses those same
bytes, so an edit made while a load runs is seen by the next check, and so is a same-size edit with
its modification time put back. The cache file carries a format version, the snapshot's digest and
a checksum of its payload, and is read with a size bound; anything wrong with it is a cache miss (one
warning, one rebuild), never a crash. The cache does not depend on today's date.

Loading for a query is **partial**: a rule file that fails validation is left out and listed in
:attr:`Dataset.unavailable`, so a check that does not need it still answers (and says when it might
have); ``validate`` and any strict load refuse the whole dataset. ``conditions.yaml`` and the code
history are needed by every check, so a problem there refuses the whole dataset in one message.
"""

from __future__ import annotations

import os
import pickle
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .codes.icd10cm import Icd10Index, shared_index
from .errors import DataError
from .states import state_codes

if TYPE_CHECKING:
    from pydantic import ValidationError

    from .models import CodeChange, ConditionSet, Rule, RuleFile

CACHE_FORMAT = 7
CONDITIONS_FILE = "conditions.yaml"
CODE_HISTORY_FILE = "codes/icd10cm_changes.yaml"
SOURCES_FILE = "sources.yaml"  # source declarations for the scrapers (kind, extractor); not rules
VOCABULARY_FILE = "vocabulary.yaml"  # the names people write for coverages and payers


def condition_key(text: str) -> str:
    """How condition names are compared: case, hyphens, underscores and runs of spaces do not
    matter ('Tension-Type  Headache' and 'tension_type_headache' are one name)."""
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


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


def _parse(data: bytes, name: str) -> Any:
    from .yamlio import parse_yaml

    return parse_yaml(data, name)


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


def _validation_problems(path: Path, exc: ValidationError, data: bytes | None = None) -> list[str]:
    """One line per error: ``<file>:<line>:<column>: <key path>: <problem> — <fix>``."""
    from .yamlio import locate

    problems = []
    for err in exc.errors():
        where = _loc(err["loc"])
        fix = _FIXES.get(err["type"], "")
        value = err.get("input")
        shown = "" if err["type"] == "missing" or isinstance(value, dict | list) else f" (got {value!r})"
        msg = err["msg"].removeprefix("Value error, ")
        at = locate(data, tuple(err["loc"])) if data is not None else None
        name = f"{path}:{at[0]}:{at[1]}" if at else str(path)
        problems.append(f"{name}: {where}: {msg}{shown}" + (f" — {fix}" if fix else ""))
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
    # Rule files left out of a partial load, with their problems (relative path -> problems).
    unavailable: dict[str, list[str]] = field(default_factory=dict)
    _by_prefix: dict[str, tuple[str, ...]] | None = field(default=None, repr=False, compare=False)
    _by_coverage: dict[str, list[LoadedRule]] | None = field(default=None, repr=False, compare=False)
    vocabulary: Any = None  # VocabularyFile (or its plain record on the cached path); None when absent
    # Lookup tables built from the vocabulary on first use (coverage_lookup.vocabulary), per dataset.
    _tables: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def rules_for(self, coverage: str) -> list[LoadedRule]:
        if self._by_coverage is None:
            index: dict[str, list[LoadedRule]] = {}
            for r in self.rules.values():
                for cov in r.rule.scope.coverage:
                    index.setdefault(cov, []).append(r)
            self._by_coverage = index
        return list(self._by_coverage.get(coverage, ()))

    def with_rules(self, extra: list[LoadedRule]) -> Dataset:
        """This dataset plus rules made for one question (a plan's own row from the plan store); the
        condition index is shared, the coverage index rebuilt."""
        return replace(self, rules={**self.rules, **{r.id: r for r in extra}}, _by_coverage=None)

    def conditions_of(self, code: str) -> list[str]:
        """Names of the condition sets a dotless code belongs to (a set's code or category is a prefix
        of it), in the order of ``conditions.yaml``; looked up by prefix, not by scanning every set."""
        if self._by_prefix is None:
            order = {name: i for i, name in enumerate(self.conditions)}
            index: dict[str, set[str]] = {}
            for name, cset in self.conditions.items():
                for c in cset.codes:
                    index.setdefault(c.replace(".", ""), set()).add(name)
            self._by_prefix = {k: tuple(sorted(v, key=order.__getitem__)) for k, v in index.items()}
        found: set[str] = set()
        for end in range(1, len(code) + 1):
            found.update(self._by_prefix.get(code[:end], ()))
        return [name for name in self.conditions if name in found]

    def payers(self) -> dict[str, str]:
        """payer id -> display name, from payer files."""
        return {f.payer.id: f.payer.name for f in self.files.values() if f.payer is not None}


DATA_SUFFIXES = (".yaml", ".yml", ".json")  # what a curator might save a data file as


def data_files(data_dir: Path) -> list[Path]:
    """Every file under ``data_dir`` that looks like data (``.yaml``, and the ``.yml`` / ``.json``
    the loader refuses rather than silently ignores), outside ``schema/``."""
    return sorted(
        p
        for p in data_dir.rglob("*")
        if p.suffix.lower() in DATA_SUFFIXES and p.is_file() and "schema" not in p.relative_to(data_dir).parts
    )


@dataclass
class Snapshot:
    """The bytes of every data file, read once; the load parses these and the cache is keyed by them."""

    data_dir: Path
    files: dict[str, bytes]  # path relative to data_dir (posix) -> content
    digest: bytes

    def get(self, rel: str) -> bytes | None:
        return self.files.get(rel)


def _hasher() -> Any:
    try:  # the C module directly: importing hashlib would load OpenSSL on every cold check
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - other Pythons
        from hashlib import blake2b
    return blake2b(digest_size=32)


# Called between taking the snapshot and parsing it; tests use it to edit a file mid-load.
_after_snapshot: Any = None


def take_snapshot(data_dir: Path) -> Snapshot:
    from . import __version__

    h = _hasher()
    index_stat = shared_index().path.stat()
    h.update(
        f"{CACHE_FORMAT}|{__version__}|{data_dir}|{index_stat.st_size}|{index_stat.st_mtime_ns}".encode()
    )
    files: dict[str, bytes] = {}
    for path in data_files(data_dir):
        rel = path.relative_to(data_dir).as_posix()
        try:
            content = path.read_bytes()
        except OSError as exc:
            content = f"<unreadable: {exc.strerror}>".encode()
        files[rel] = content
        h.update(f"\0{rel}\0{len(content)}\0".encode())
        h.update(content)
    return Snapshot(data_dir, files, h.digest())


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


def date_problems(ds: Dataset, today: date) -> list[str]:
    """Dates in the data later than ``today`` (a ``last_verified`` or ``retrieved`` in the future).

    Kept apart from loading so that the cache does not depend on the day; ``validate`` and strict loads
    check them against the clock (or an injected ``today``)."""
    problems: list[str] = []

    def later(where: str, key: str, value: date) -> None:
        if value > today:
            problems.append(f"{where}.{key}: {value.isoformat()} is in the future — use the date it happened")

    for i, change in enumerate(ds.code_history):
        later(f"{CODE_HISTORY_FILE}: changes[{i}]", "last_verified", change.last_verified)
    for name, cset in ds.conditions.items():
        later(f"{CONDITIONS_FILE}: conditions.{name}", "last_verified", cset.last_verified)
    for lr in ds.rules.values():
        key = lr.id.split(".", 1)[1]
        for vi, version in enumerate(lr.rule.versions):
            where = f"{lr.file}: rules.{key}.versions[{vi}]"
            later(where, "last_verified", version.last_verified)
            for ci, c in enumerate(version.citations):
                later(where, f"citations[{ci}].retrieved", c.retrieved)
    return problems


def load_dataset(
    data_dir: Path | None = None,
    today: date | None = None,
    use_cache: bool = True,
    *,
    strict: bool = True,
) -> Dataset:
    """Load and validate every data file.

    ``strict`` (the default, and what ``validate`` uses) refuses the whole dataset on any problem;
    ``strict=False`` (the query path) leaves out rule files with problems and lists them in
    :attr:`Dataset.unavailable`. ``today``, when given, also checks that no date in the data lies after
    it (injectable so tests can pin it); the cache itself never depends on the date."""
    data_dir = (data_dir or default_data_dir()).resolve()
    if not data_dir.is_dir():
        raise DataError(
            [f"{data_dir}: data directory not found — set COVERAGE_LOOKUP_DATA to the data/ folder"]
        )
    snap = take_snapshot(data_dir)
    dataset = _read_cache(snap) if use_cache else None
    if dataset is None:
        if _after_snapshot is not None:
            _after_snapshot()
        dataset = _load_uncached(snap)
        if use_cache:
            _write_cache(snap, dataset)
    problems = [p for probs in dataset.unavailable.values() for p in probs] if strict else []
    if today is not None:
        problems += date_problems(dataset, today)
    if problems:
        raise DataError(problems)
    return dataset


def _load_uncached(snap: Snapshot) -> Dataset:
    # pydantic is imported only here: a cached load (every check after the first) never needs it.
    from pydantic import ValidationError

    from .models import CodeHistoryFile, ConditionsFile, RuleFile

    data_dir = snap.data_dir
    fatal: list[str] = []  # problems every check depends on: the whole dataset refuses
    index = shared_index()

    def parsed(rel: str, model: Any, problems: list[str]) -> Any:
        data = snap.get(rel)
        if data is None:
            return None
        try:
            return model.model_validate(_parse(data, rel))
        except ValidationError as exc:
            problems.extend(_validation_problems(Path(rel), exc, data))
        except DataError as exc:
            problems.extend(exc.problems)
        return None

    # Code history first: condition codes may name codes that no longer exist.
    history: tuple[CodeChange, ...] = ()
    hist = parsed(CODE_HISTORY_FILE, CodeHistoryFile, fatal)
    if hist is not None:
        history = tuple(hist.changes)
    history_codes = {c.replace(".", "") for ch in history for c in (*ch.added, *ch.deleted, *ch.to_category)}
    for i, change in enumerate(history):
        where = f"{CODE_HISTORY_FILE}: changes[{i}]"
        _check_codes(where + ".added", change.added, index, history_codes, fatal)
        for c in change.added:
            # Added and since deleted is possible, but must be recorded as a later deletion.
            later_deleted = any(c in later.deleted for later in history if later.effective > change.effective)
            if index.lookup(c.replace(".", "")) is None and c not in change.deleted and not later_deleted:
                fatal.append(
                    f"{where}.added: {c} is not in the current index and no later deletion is recorded"
                )

    conditions: dict[str, ConditionSet] = {}
    if snap.get(CONDITIONS_FILE) is None:
        fatal.append(f"{CONDITIONS_FILE}: missing — the named condition sets live there")
    else:
        cond = parsed(CONDITIONS_FILE, ConditionsFile, fatal)
        if cond is not None:
            conditions = dict(cond.conditions)
    aliases: dict[str, str] = {}
    for name, cset in conditions.items():
        where = f"{CONDITIONS_FILE}: conditions.{name}"
        _check_codes(where + ".codes", cset.codes, index, history_codes, fatal)
        for alias in [name, cset.label, *cset.aliases]:
            key = condition_key(alias)
            if key in aliases and aliases[key] != name:
                fatal.append(f"{where}.aliases: {alias!r} also names {aliases[key]!r} — make it unique")
            aliases[key] = name
    if fatal:
        raise DataError(fatal)

    rules: dict[str, LoadedRule] = {}
    files: dict[str, RuleFile] = {}
    unavailable: dict[str, list[str]] = {}
    stems: dict[str, str] = {}
    known_states = set(state_codes())
    special = {CONDITIONS_FILE, CODE_HISTORY_FILE, SOURCES_FILE, VOCABULARY_FILE}
    for rel in sorted(snap.files):
        if rel in special:
            continue
        path = data_dir / rel
        problems: list[str] = []
        if path.suffix != ".yaml":
            unavailable[rel] = [
                f"{rel}: not read — data files must end in .yaml; rename it to {path.stem}.yaml "
                "(and convert it to YAML if it is JSON)"
            ]
            continue
        stem = path.stem.lower()
        if stem in stems:
            unavailable[rel] = [
                f"{rel}: file name {path.stem!r} is also used by {stems[stem]} — rule ids need unique file names"
            ]
            continue
        stems[stem] = rel
        rf = parsed(rel, RuleFile, problems)
        if rf is None:
            unavailable[rel] = problems
            continue
        if rel.startswith("state_policies/") and rf.state != path.stem.upper():
            problems.append(f"{rel}: state: must be {path.stem.upper()!r} for this file")
        if rf.state is not None and rf.state not in known_states:
            problems.append(
                f"{rel}: state: {rf.state!r} is not a state code — use one of the 50 states or DC"
            )
        payer_id = rf.payer.id if rf.payer else None
        loaded: dict[str, LoadedRule] = {}
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
                for pi, prov in enumerate(version.provisions):
                    pwhere = f"{where}.versions[{vi}].provisions[{pi}]"
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
            loaded[rule_id] = LoadedRule(rule_id, rel, rf.state, payer_id, rule)
        if problems:
            unavailable[rel] = problems
            continue
        files[rel] = rf
        rules.update(loaded)
    vocabulary = _load_vocabulary(snap, parsed, files, known_states, unavailable)
    return Dataset(data_dir, rules, conditions, history, files, aliases, unavailable, vocabulary=vocabulary)


def _load_vocabulary(
    snap: Snapshot,
    parsed: Any,
    files: dict[str, RuleFile],
    known_states: Any,
    unavailable: dict[str, list[str]],
) -> Any:
    """data/vocabulary.yaml, checked against the loaded payers and the states; None when absent or
    broken (then the names people write are not understood, and answers say so)."""
    from .models import VocabularyFile

    if snap.get(VOCABULARY_FILE) is None:
        return None
    problems: list[str] = []
    vocab = parsed(VOCABULARY_FILE, VocabularyFile, problems)
    if vocab is not None:
        payers = {f.payer.id for f in files.values() if f.payer is not None}
        # A payer whose own file is broken is reported there; its card names just go unrecognised.
        broken_payers = {Path(rel).stem.lower() for rel in unavailable if rel.startswith("payers/")}
        seen: dict[str, str] = {}
        for i, entry in enumerate(vocab.coverage):
            where = f"{VOCABULARY_FILE}: coverage[{i}]"
            if entry.state is not None and entry.state not in known_states:
                problems.append(f"{where}.state: {entry.state!r} is not a state code")
            for name in entry.names:
                key = name_key(name)
                target = f"{entry.coverage}/{entry.state or ''}"
                if seen.get(key, target) != target:
                    problems.append(
                        f"{where}.names: {name!r} is also a name for {seen[key]} — make it unique"
                    )
                seen[key] = target
        seen_payers: dict[str, str] = {}
        for i, p in enumerate(vocab.payers):
            where = f"{VOCABULARY_FILE}: payers[{i}]"
            if p.payer is not None and p.payer not in payers and p.payer not in broken_payers:
                problems.append(f"{where}.payer: {p.payer!r} is not a payer in data/payers/")
            for st in p.states:
                if st not in known_states:
                    problems.append(f"{where}.states: {st!r} is not a state code")
            for name in p.names:
                key = name_key(name)
                if seen_payers.get(key, p.id) != p.id:
                    problems.append(
                        f"{where}.names: {name!r} is also a name for {seen_payers[key]} — make it unique"
                    )
                seen_payers[key] = p.id
    if problems or vocab is None:
        unavailable[VOCABULARY_FILE] = problems or [f"{VOCABULARY_FILE}: not readable"]
        return None
    return vocab


def name_key(text: str) -> str:
    """How names people write are compared: case, punctuation and spacing do not matter, and '&' is
    'and' ("Workers' Comp" = "workers comp"; "Blue Cross & Blue Shield" = "blue cross and blue shield")."""
    return _NON_WORD.sub(" ", text.lower().replace("&", " and ")).strip()


_NON_WORD = re.compile(r"[\W_]+")


# ------------------------------------------------------------------------------------------------
# Cache
# ------------------------------------------------------------------------------------------------


CACHE_MAGIC = b"CLDSET\0\0"
_HEADER = 8 + 2 + 32 + 32 + 8  # magic, format, snapshot digest, payload digest, payload length
MAX_CACHE_BYTES = 64 * 1024 * 1024  # the whole dataset pickles to about 1 MB


class CacheWarning(UserWarning):
    """The dataset cache could not be used and was rebuilt."""


def _cache_path(data_dir: Path) -> Path:
    return cache_dir() / f"dataset-{zlib.crc32(str(data_dir).encode()):08x}.bin"


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
        {k: list(v) for k, v in ds.unavailable.items()},
        vocabulary=_plain(ds.vocabulary),
    )


def _read_cache(snap: Snapshot) -> Dataset | None:
    """The cached dataset for this snapshot, or None. A stale cache is a silent miss; a damaged one
    (truncated, flipped bytes, a bogus frame, another format) is a miss with one warning."""
    import warnings

    path = _cache_path(snap.data_dir)
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            header = fh.read(_HEADER)
            if len(header) == _HEADER and header[:8] == CACHE_MAGIC and header[10:42] != snap.digest:
                return None  # stale: the data changed since it was written
            problem = _header_problem(header, size)
            if problem is None:
                payload = fh.read(size - _HEADER)
                h = _hasher()
                h.update(payload)
                if h.digest() != header[42:74]:
                    problem = "checksum mismatch"
    except FileNotFoundError:
        return None
    except OSError as exc:
        problem = f"cannot read it ({exc.strerror})"
    if problem is None:
        try:
            dataset = pickle.loads(payload)
            if not isinstance(dataset, Dataset):
                problem = "unexpected content"
        except Exception as exc:  # a damaged frame can raise almost anything, MemoryError included
            problem = f"cannot decode it ({type(exc).__name__})"
    if problem is not None:
        warnings.warn(
            f"dataset cache {path} is unusable ({problem}); rebuilding it", CacheWarning, stacklevel=3
        )
        return None
    return dataset  # type: ignore[no-any-return]


def _header_problem(header: bytes, size: int) -> str | None:
    if len(header) < _HEADER or header[:8] != CACHE_MAGIC:
        return "not a dataset cache"
    if int.from_bytes(header[8:10], "big") != CACHE_FORMAT:
        return "another cache format"
    length = int.from_bytes(header[74:82], "big")
    if size > MAX_CACHE_BYTES or length != size - _HEADER:
        return "truncated or oversized"
    return None


def _write_cache(snap: Snapshot, dataset: Dataset) -> None:
    import tempfile

    path = _cache_path(snap.data_dir)
    try:
        payload = pickle.dumps(_plain_dataset(dataset), protocol=pickle.HIGHEST_PROTOCOL)
        h = _hasher()
        h.update(payload)
        header = (
            CACHE_MAGIC
            + CACHE_FORMAT.to_bytes(2, "big")
            + snap.digest
            + h.digest()
            + len(payload).to_bytes(8, "big")
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as fh:
            fh.write(header + payload)
            tmp = Path(fh.name)
        tmp.replace(path)  # atomic: readers see the old cache or the new one, never half a file
    except OSError:
        return
