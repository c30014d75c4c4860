"""Medicare Advantage Plan Benefit Package (PBP) benefits files: supplemental acupuncture.

CMS ships each plan year's PBP benefits as a zip of tab-delimited text files with a header row, one
row per plan segment; ``pbp_b13_other_services.txt`` holds category 13a, acupuncture, in columns named
``pbp_b13a_*``. Verified for 2026 from CMS's own readme and SAS input program, and for 2027 from a
mapping built on CMS's 2027 dictionary; earlier years rest on third-party code that shows the same
columns (see research/plans/pbp_layout.md). Importing another year works the same way, with a
warning. The coded values (1 = yes, 2 = no; period codes) come from those secondary sources too, so
every answer built from them says so.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path
from typing import IO

from ..errors import InputError
from .importer import ImportSummary
from .puf import MAX_MEMBER_BYTES, MAX_MEMBERS, MAX_RATIO, READ_CHUNK, ReadStats, _Capped, _fix, sha256_of
from .store import BATCH, PlanStore

B13_FILE = "pbp_b13_other_services.txt"
KEY = ("pbp_a_hnumber", "pbp_a_plan_identifier", "segment_id")
PREFIX = "pbp_b13a_"
VERIFIED_YEARS = {
    2026: "CMS readme and SAS input program",
    2027: "a mapping built from CMS's 2027 dictionary",
}
_YEAR_IN_NAME = re.compile(r"(?<!\d)(20[0-9]{2})(?!\d)")


def _open(path: Path) -> tuple[IO[str], str | None]:
    with path.open("rb") as probe:
        is_zip = probe.read(4) == b"PK\x03\x04"
    if not is_zip:
        raw: IO[bytes] = path.open("rb", buffering=READ_CHUNK)
        return io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline=""), None
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError("file", str(path), f"not a readable zip file ({exc})") from None
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS * 4:  # a PBP zip holds ~70 data files and their SAS programs
        raise InputError("file", str(path), f"a PBP zip holds about 150 files; this one holds {len(infos)}")
    found = [i for i in infos if Path(i.filename).name.lower() == B13_FILE]
    if not found:
        raise InputError("file", str(path), f"the zip holds no {B13_FILE} (is it the PBP benefits zip?)")
    info = found[0]
    if ".." in Path(info.filename).parts or info.filename.startswith(("/", "\\")):
        raise InputError("file", str(path), f"member {info.filename!r} has an unsafe path")
    if info.file_size > MAX_MEMBER_BYTES or (
        info.compress_size and info.file_size / info.compress_size > MAX_RATIO
    ):
        raise InputError("file", str(path), f"member {info.filename} expands implausibly; refused as unsafe")
    raw = io.BufferedReader(_Capped(zf.open(info), info.file_size, str(path)), READ_CHUNK)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline=""), info.filename


def plan_year(path: Path, year: int | None) -> int:
    if year is not None:
        if not 2003 <= year <= 2100:
            raise InputError("year", year, "use a PBP plan year from 2003 on")
        return year
    found = _YEAR_IN_NAME.findall(path.name)
    if len(set(found)) != 1:
        raise InputError(
            "year", None, f"cannot tell the plan year from the file name {path.name!r}; give --year"
        )
    return int(found[0])


def import_pbp(path: Path, year: int | None = None, store: PlanStore | None = None) -> ImportSummary:
    """Import the acupuncture columns of a PBP benefits zip (or its extracted b13 file) for one year."""
    if not path.is_file():
        raise InputError(
            "file", str(path), "give an existing PBP benefits .zip or pbp_b13_other_services.txt"
        )
    y = plan_year(path, year)
    store = store or PlanStore()
    text, member = _open(path)
    stats = ReadStats(years={y})
    size = path.stat().st_size
    digest = sha256_of(path)
    with text, store.transaction() as conn:
        import_id = PlanStore.new_import(conn, "pbp", path.name, member, size, digest)
        PlanStore.replace_year(conn, "pbp", y)
        reader = csv.reader(text, delimiter="\t", quoting=csv.QUOTE_NONE)
        try:
            header = [h.strip().lstrip("\ufeff").lower() for h in next(reader)]
        except StopIteration:
            raise InputError("file", str(path), "the file is empty; expected a PBP header row") from None
        lacking = [k for k in KEY if k not in header]
        wanted = [(h, i) for i, h in enumerate(header) if h.startswith(PREFIX)]
        if lacking or not wanted:
            what = ", ".join(lacking) if lacking else f"any {PREFIX}* column"
            raise InputError(
                "file",
                str(path),
                f"not the PBP b13 file: it lacks {what} (header starts {', '.join(header[:6])})",
            )
        stats.columns = len(header)
        ki = [header.index(k) for k in KEY]
        need = max(i for _, i in wanted + [(k, i) for k, i in zip(KEY, ki, strict=True)]) + 1
        batch: list[tuple[int, str, str, str, str, int]] = []
        line = 1
        for row in reader:
            line += 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            stats.rows_read += 1
            if len(row) < need:
                stats.bad(line, f"{len(row)} fields where the header has {len(header)}")
                continue
            contract = row[ki[0]].strip().upper()
            plan = row[ki[1]].strip()
            segment = row[ki[2]].strip()
            if not re.fullmatch(r"[HRES]\d{4}", contract) or not plan.isdigit() or not segment.isdigit():
                stats.bad(line, f"plan key {contract!r}-{plan!r}-{segment!r} is not a contract-plan-segment")
                continue
            values = {h: _fix(row[i].strip()) for h, i in wanted if row[i].strip()}
            batch.append((y, contract, plan.zfill(3), segment.zfill(3), json.dumps(values), import_id))
            stats.rows_kept += 1
            if len(batch) >= BATCH:
                _insert(conn, batch)
        _insert(conn, batch)
        if stats.rows_kept == 0:
            raise InputError(
                "file", str(path), f"no usable rows ({stats.rows_read} read); the store is unchanged"
            )
        PlanStore.finish_import(
            conn, import_id, digest, [y], stats.rows_read, stats.rows_kept, stats.malformed, stats.columns
        )
        PlanStore.prune_imports(conn)
    summary = ImportSummary(
        kind="pbp",
        file=path.name,
        member=member,
        sha256=digest,
        size=size,
        years=[y],
        rows_read=stats.rows_read,
        rows_kept=stats.rows_kept,
        malformed=stats.malformed,
        malformed_examples=stats.malformed_examples,
        plans=stats.rows_kept,
    )
    if y not in VERIFIED_YEARS:
        summary.malformed_examples.append(
            f"note: that category 13a is acupuncture is verified for {', '.join(map(str, VERIFIED_YEARS))} only; "
            f"{y} rests on third-party code showing the same columns"
        )
    return summary


def _insert(conn: object, batch: list[tuple[int, str, str, str, str, int]]) -> None:
    import sqlite3

    assert isinstance(conn, sqlite3.Connection)
    if batch:
        conn.executemany(
            'INSERT OR REPLACE INTO pbp (year, contract, plan, segment, "values", import_id) VALUES (?, ?, ?, ?, ?, ?)',
            batch,
        )
        batch.clear()
