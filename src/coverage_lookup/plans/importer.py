"""Import CMS plan files into the plan store: one transaction per file, all or nothing."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .puf import ReadStats, open_text, read_attributes, read_benefits
from .store import BATCH, PlanStore


@dataclass
class ImportSummary:
    kind: str
    file: str
    member: str | None
    sha256: str
    size: int
    years: list[int]
    rows_read: int
    rows_kept: int
    malformed: int
    malformed_examples: list[str] = field(default_factory=list)
    plans: int = 0
    states: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _replace_years(conn: sqlite3.Connection, tables: tuple[str, ...], seen: set[int], year: int) -> None:
    if year not in seen:
        seen.add(year)
        for table in tables:
            PlanStore.replace_year(conn, table, year)


def _import(
    path: Path,
    store: PlanStore,
    kind: str,
    tables: tuple[str, ...],
    body: Callable[[sqlite3.Connection, IO[str], ReadStats, int, set[int]], int],
) -> ImportSummary:
    text, prov = open_text(path, kind)
    stats = ReadStats()
    with text, store.transaction() as conn:
        import_id = PlanStore.new_import(conn, kind, prov.file_name, prov.member, prov.size, prov.sha256)
        replaced: set[int] = set()
        body(conn, text, stats, import_id, replaced)
        plans = int(
            conn.execute(f"SELECT COUNT(*) FROM {tables[0]} WHERE import_id = ?", (import_id,)).fetchone()[0]
        )
        if stats.rows_kept == 0 and plans == 0:
            from ..errors import InputError

            raise InputError(
                "file",
                str(path),
                f"no usable rows ({stats.rows_read} read, {stats.malformed} malformed"
                + (f": {stats.malformed_examples[0]}" if stats.malformed_examples else "")
                + "); the store is unchanged",
            )
        PlanStore.finish_import(
            conn,
            import_id,
            prov.digest(),
            stats.years,
            stats.rows_read,
            stats.rows_kept,
            stats.malformed,
            stats.columns,
        )
        PlanStore.prune_imports(conn)
        states = [
            r[0]
            for r in conn.execute(f"SELECT DISTINCT state FROM {tables[0]} WHERE import_id = ?", (import_id,))
        ]
    return ImportSummary(
        kind=kind,
        file=prov.file_name,
        member=prov.member,
        sha256=prov.digest(),
        size=prov.size,
        years=sorted(stats.years),
        rows_read=stats.rows_read,
        rows_kept=stats.rows_kept,
        malformed=stats.malformed,
        malformed_examples=stats.malformed_examples,
        plans=plans,
        states=sorted(states),
    )


def import_benefits(path: Path, store: PlanStore | None = None) -> ImportSummary:
    """Import a Benefits and Cost Sharing PUF (``.csv`` or the CMS ``.zip``), any plan year."""
    store = store or PlanStore()

    def body(
        conn: sqlite3.Connection,
        text: IO[str],
        stats: ReadStats,
        import_id: int,
        replaced: set[int],
    ) -> int:
        plan_rows: list[tuple[int, str, str, int]] = []
        count = 0

        def on_plan(year: int, plan_id: str, state: str) -> None:
            nonlocal count
            _replace_years(conn, ("plan_index", "benefits"), replaced, year)
            plan_rows.append((year, plan_id, state, import_id))
            count += 1
            if len(plan_rows) >= BATCH:
                _flush_plans()

        def _flush_plans() -> None:
            conn.executemany(
                "INSERT OR REPLACE INTO plan_index (year, plan_id, state, import_id) VALUES (?, ?, ?, ?)",
                plan_rows,
            )
            plan_rows.clear()

        batch: list[tuple[int, str, str, str, str, str, int]] = []
        for row in read_benefits(text, str(path), stats, on_plan):
            batch.append(
                (
                    row.year,
                    row.plan_id,
                    row.benefit,
                    row.state,
                    row.issuer_id,
                    json.dumps(row.values),
                    import_id,
                )
            )
            if len(batch) >= BATCH:
                _insert_benefits(conn, batch)
        _insert_benefits(conn, batch)
        _flush_plans()
        return count

    return _import(path, store, "benefits", ("plan_index", "benefits"), body)


def _insert_benefits(conn: sqlite3.Connection, batch: list[tuple[int, str, str, str, str, str, int]]) -> None:
    if batch:
        conn.executemany(
            'INSERT OR REPLACE INTO benefits (year, plan_id, benefit, state, issuer_id, "values", import_id) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
        batch.clear()


def import_attributes(path: Path, store: PlanStore | None = None) -> ImportSummary:
    """Import a Plan Attributes PUF (plan and issuer names, market, metal level)."""
    store = store or PlanStore()

    def body(
        conn: sqlite3.Connection,
        text: IO[str],
        stats: ReadStats,
        import_id: int,
        replaced: set[int],
    ) -> int:
        batch: list[tuple[int, str, str, str, int]] = []

        def flush() -> None:
            conn.executemany(
                'INSERT OR REPLACE INTO attributes (year, plan_id, state, "values", import_id) VALUES (?, ?, ?, ?, ?)',
                batch,
            )
            batch.clear()

        for row in read_attributes(text, str(path), stats):
            _replace_years(conn, ("attributes",), replaced, row.year)
            batch.append((row.year, row.plan_id, row.state, json.dumps(row.values), import_id))
            if len(batch) >= BATCH:
                flush()
        flush()
        return 0

    return _import(path, store, "attributes", ("attributes",), body)
