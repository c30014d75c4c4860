"""Streaming readers for the CMS Marketplace public use files (PUFs).

* Benefits and Cost Sharing PUF: one row per plan (variant) and benefit; about 1.4 million rows a
  plan year. Only the rows this library answers from are kept -- acupuncture, and the chiropractic
  and massage rows its limits are often shared with -- but every row's plan is counted, so the store
  knows every plan on the federal platform that year.
* Plan Attributes PUF: one row per plan variant; names the plan, its issuer, its market and metal level.

Columns are matched by name, whatever their order or number (32 in 2014-2016, 24 from 2020). Bytes
that are not UTF-8 (older files are Windows-1252) are read as Windows-1252, field by field. Memory
stays flat: rows are read one at a time and the kept ones are handed on in batches.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..errors import InputError

KEEP_BENEFITS = ("Acupuncture", "Chiropractic Care", "Massage Therapy")
_KEEP_LOWER = {b.lower(): b for b in KEEP_BENEFITS}
_UNSEEN = ""  # a sentinel: no benefit name is kept as the empty string

# The 24 columns of recent plan years, in CMS order (research/plans/puf_layouts.md: the 2026 order as
# third-party loaders read it; CMS's own header was not available offline). Files are read by column
# name, so this is documentation and test data, not a parser requirement.
LAYOUT_2020 = (
    "BusinessYear", "StateCode", "IssuerId", "SourceName", "ImportDate", "StandardComponentId", "PlanId",
    "BenefitName", "CopayInnTier1", "CopayInnTier2", "CopayOutofNet", "CoinsInnTier1", "CoinsInnTier2",
    "CoinsOutofNet", "IsEHB", "IsCovered", "QuantLimitOnSvc", "LimitQty", "LimitUnit", "Exclusions",
    "Explanation", "EHBVarReason", "IsExclFromInnMOOP", "IsExclFromOonMOOP",
)  # fmt: skip
BENEFIT_REQUIRED = ("BusinessYear", "StateCode", "IssuerId", "PlanId", "BenefitName", "IsCovered")
BENEFIT_OPTIONAL = (
    "StandardComponentId",
    "SourceName",
    "ImportDate",
    "CopayInnTier1",
    "CopayInnTier2",
    "CopayOutofNet",
    "CoinsInnTier1",
    "CoinsInnTier2",
    "CoinsOutofNet",
    "IsEHB",
    "IsStateMandate",
    "QuantLimitOnSvc",
    "LimitQty",
    "LimitUnit",
    "Exclusions",
    "Explanation",
    "EHBVarReason",
)
ATTRIBUTE_REQUIRED = ("BusinessYear", "StateCode", "PlanId")
ATTRIBUTE_OPTIONAL = (
    "IssuerId",
    "StandardComponentId",
    "PlanMarketingName",
    "IssuerMarketPlaceMarketingName",
    "MarketCoverage",
    "DentalOnlyPlan",
    "MetalLevel",
    "PlanType",
    "CSRVariationType",
)

_PLAN_ID = re.compile(r"^\d{5}[A-Z]{2}\d{7}-\d{2}$")
_COMPONENT_ID = re.compile(r"^\d{5}[A-Z]{2}\d{7}$")

# Guards for zip files: a PUF zip holds a handful of members and CSV compresses about 10:1.
MAX_MEMBERS = 64
MAX_MEMBER_BYTES = 8 * 1024**3
MAX_RATIO = 200
READ_CHUNK = 1 << 20


@dataclass
class Provenance:
    file_name: str
    size: int
    sha256: str  # of the file as given (the zip, for a zip); see digest()
    member: str | None = None  # the CSV inside a zip
    hashing: _Hashing | None = None  # a plain CSV is hashed while it is read, in the same pass

    def digest(self) -> str:
        """The file's SHA-256; for a plain CSV, valid once the file has been read to its end."""
        return self.hashing.hexdigest() if self.hashing is not None else self.sha256


@dataclass
class ReadStats:
    rows_read: int = 0
    rows_kept: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    years: set[int] = field(default_factory=set)
    columns: int = 0
    blank: int = 0  # blank lines, not counted as rows

    def bad(self, line: int, why: str) -> None:
        self.malformed += 1
        if len(self.malformed_examples) < 10:
            self.malformed_examples.append(f"line {line}: {why}")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(READ_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class _Hashing(io.RawIOBase):
    """A raw file stream that feeds every byte it reads to SHA-256, so hashing costs no second pass."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner
        self._hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._inner.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self._hash.update(buffer[:n])
        return int(n or 0)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        self._inner.close()
        super().close()


class _Capped(io.RawIOBase):
    """A decompressing stream that refuses to yield more than ``limit`` bytes (a zip bomb's guard)."""

    def __init__(self, inner: IO[bytes], limit: int, what: str) -> None:
        self._inner = inner
        self._left = limit
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(min(len(buffer), self._left + 1))
        if len(data) > self._left:
            raise InputError("file", self._what, "it expands far beyond its stated size; refused as unsafe")
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def _fix(text: str) -> str:
    """A field read as UTF-8 with surrogate escapes: re-read its bytes as Windows-1252."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("cp1252", errors="replace")


def _pick_member(zf: zipfile.ZipFile, path: Path, wanted: str) -> zipfile.ZipInfo:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError("file", str(path), f"a PUF zip holds a few files; this one holds {len(infos)}")
    csvs = [i for i in infos if i.filename.lower().endswith(".csv") and not i.is_dir()]
    for info in csvs:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in Path(name).parts:
            raise InputError("file", str(path), f"member {name!r} has an unsafe path")
    if not csvs:
        raise InputError("file", str(path), f"the zip holds no .csv file (expected the {wanted} PUF)")
    key = "benefit" if wanted == "benefits" else "attribute"
    named = [i for i in csvs if key in i.filename.lower()]
    choice = (named or csvs)[0] if len(named) == 1 or len(csvs) == 1 else None
    if choice is None:
        names = ", ".join(i.filename for i in csvs)
        raise InputError(
            "file", str(path), f"the zip holds several CSV files ({names}); extract the {wanted} PUF"
        )
    if choice.file_size > MAX_MEMBER_BYTES:
        raise InputError(
            "file", str(path), f"member {choice.filename} claims {choice.file_size} bytes; refused"
        )
    if choice.compress_size and choice.file_size / choice.compress_size > MAX_RATIO:
        raise InputError(
            "file", str(path), f"member {choice.filename} expands over {MAX_RATIO}x; refused as unsafe"
        )
    return choice


def open_text(path: Path, wanted: str) -> tuple[IO[str], Provenance]:
    """A text stream over a PUF given as ``.csv`` or as the CMS ``.zip``, with its provenance."""
    if not path.is_file():
        raise InputError("file", str(path), "give an existing .csv or .zip file")
    size = path.stat().st_size
    with path.open("rb") as probe:
        is_zip = probe.read(4) == b"PK\x03\x04"
    raw: IO[bytes]
    member = None
    hashing = None
    digest = ""
    if is_zip:
        digest = sha256_of(path)
        try:
            zf = zipfile.ZipFile(path)
            info = _pick_member(zf, path, wanted)
            member = info.filename
            raw = io.BufferedReader(_Capped(zf.open(info), info.file_size, str(path)), READ_CHUNK)
        except zipfile.BadZipFile as exc:
            raise InputError("file", str(path), f"not a readable zip file ({exc})") from None
    else:
        hashing = _Hashing(path.open("rb", buffering=0))
        raw = io.BufferedReader(hashing, READ_CHUNK)
    text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
    return text, Provenance(path.name, size, digest, member, hashing)


def _header(reader: Iterator[list[str]], path: str, required: tuple[str, ...], kind: str) -> dict[str, int]:
    try:
        names = next(reader)
    except StopIteration:
        raise InputError("file", path, f"the file is empty; expected the {kind} PUF's header row") from None
    except (csv.Error, UnicodeError) as exc:
        raise InputError("file", path, f"not a CSV file ({exc})") from None
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        key = name.strip().lstrip("\ufeff").lower()
        index.setdefault(key, i)
    lacking = [c for c in required if c.lower() not in index]
    if lacking:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise InputError(
            "file",
            path,
            f"not a {kind} PUF: it lacks the column(s) {', '.join(lacking)} "
            f"(its header starts {shown or 'empty'}); expected {', '.join(required)}",
        )
    return index


@dataclass(slots=True)
class BenefitRow:
    year: int
    state: str
    issuer_id: str
    plan_id: str
    benefit: str
    values: dict[str, str]  # the optional columns present in the file and not blank, as written


def read_benefits(
    text: IO[str], path: str, stats: ReadStats, on_plan: Callable[[int, str, str], None]
) -> Iterator[BenefitRow]:
    """Yield the kept rows of a Benefits and Cost Sharing PUF; ``on_plan(year, plan_id, state)`` is
    called once for every plan whose rows begin (rows come grouped by plan)."""
    reader = csv.reader(text)
    index = _header(reader, path, BENEFIT_REQUIRED, "Benefits and Cost Sharing")
    stats.columns = len(index)
    y, s, iss, p, b = (index[c.lower()] for c in BENEFIT_REQUIRED[:5])
    optional = [(c, index[c.lower()]) for c in BENEFIT_OPTIONAL if c.lower() in index]
    optional.append(("IsCovered", index["iscovered"]))
    need = max(index.values()) + 1
    last_plan = ""
    keep_of: dict[str, str | None] = {}  # benefit name as written -> the kept name, or None
    rows = 0
    try:
        for rows, row in enumerate(reader, 1):  # noqa: B007 - rows is read after the loop
            # The common row -- another benefit of the plan just seen, not one kept -- costs two
            # lookups and a comparison; everything else takes the careful path below.
            try:
                if keep_of[row[b]] is None and row[p] == last_plan:
                    continue
            except (KeyError, IndexError):
                pass
            if len(row) < need:
                if not row or (len(row) == 1 and not row[0].strip()):
                    stats.blank += 1
                    continue
                stats.bad(reader.line_num, f"{len(row)} fields where the header has {need}")
                continue
            plan = row[p]
            name = row[b]
            kept = keep_of.get(name, _UNSEEN)
            if kept is _UNSEEN:
                kept = keep_of[name] = _KEEP_LOWER.get(name.strip().lower())
            if kept is None and plan == last_plan:
                continue
            year_text = row[y].strip()
            if not year_text.isdigit() or not 2014 <= int(year_text) <= 2100:
                stats.bad(reader.line_num, f"BusinessYear {year_text!r} is not a plan year")
                continue
            plan_id = plan.strip().upper()
            if not _PLAN_ID.match(plan_id):
                stats.bad(reader.line_num, f"PlanId {plan!r} is not a plan ID with its variant")
                continue
            year = int(year_text)
            state = row[s].strip().upper()
            if plan != last_plan:
                last_plan = plan
                stats.years.add(year)
                on_plan(year, plan_id, state)
            if kept is None:
                continue
            stats.rows_kept += 1
            values = {}
            for col, i in optional:
                v = row[i]
                if v:
                    values[col] = v if v.isascii() else _fix(v)
            yield BenefitRow(year, state, row[iss].strip(), plan_id, kept, values)
    except csv.Error as exc:
        raise InputError(
            "file", path, f"line {reader.line_num} is not valid CSV ({exc}); nothing was imported"
        ) from None
    finally:
        stats.rows_read = rows - stats.blank


@dataclass(slots=True)
class AttributeRow:
    year: int
    state: str
    plan_id: str
    values: dict[str, str]


def read_attributes(text: IO[str], path: str, stats: ReadStats) -> Iterator[AttributeRow]:
    reader = csv.reader(text)
    index = _header(reader, path, ATTRIBUTE_REQUIRED, "Plan Attributes")
    stats.columns = len(index)
    y, s, p = (index[c.lower()] for c in ATTRIBUTE_REQUIRED)
    optional = [(c, index[c.lower()]) for c in ATTRIBUTE_OPTIONAL if c.lower() in index]
    need = max(index.values()) + 1
    line = 1
    try:
        for row in reader:
            line += 1
            stats.rows_read += 1
            if len(row) < need:
                if not row or (len(row) == 1 and not row[0].strip()):
                    stats.rows_read -= 1
                    continue
                stats.bad(line, f"{len(row)} fields where the header has {need}")
                continue
            year_text = row[y].strip()
            plan_id = row[p].strip().upper()
            if not year_text.isdigit() or not 2014 <= int(year_text) <= 2100:
                stats.bad(line, f"BusinessYear {year_text!r} is not a plan year")
                continue
            if not _PLAN_ID.match(plan_id):
                if _COMPONENT_ID.match(plan_id):
                    continue  # some years list the bare component as well; the variants carry the data
                stats.bad(line, f"PlanId {row[p]!r} is not a plan ID with its variant")
                continue
            stats.rows_kept += 1
            stats.years.add(int(year_text))
            yield AttributeRow(
                int(year_text),
                row[s].strip().upper(),
                plan_id,
                {c: _fix(row[i].strip()) for c, i in optional},
            )
    except csv.Error as exc:
        raise InputError(
            "file", path, f"line {line} is not valid CSV ({exc}); nothing was imported"
        ) from None
