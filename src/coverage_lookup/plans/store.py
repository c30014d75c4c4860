"""The local plan store: imported CMS plan rows in one SQLite file under ``$COVERAGE_LOOKUP_HOME``.

Each import runs in one transaction: a re-import replaces the plan years the file holds, and an import
that fails part-way (a bad file, a full disk, an interrupt) is rolled back, leaving the store exactly
as it was. Every row keeps the id of the import it came from, whose provenance (file name, size,
SHA-256, import time, rows read / kept / malformed) is in the ``imports`` table.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
STORE_NAME = "plans.sqlite3"
BATCH = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,            -- benefits | attributes | pbp
    years TEXT NOT NULL,           -- JSON list of plan years the file held
    file_name TEXT NOT NULL,
    member TEXT,                   -- the file inside a zip
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_kept INTEGER NOT NULL,
    rows_malformed INTEGER NOT NULL,
    columns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS benefits (
    year INTEGER NOT NULL,
    plan_id TEXT NOT NULL,
    benefit TEXT NOT NULL,
    state TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    "values" TEXT NOT NULL,        -- JSON: the row's columns as CMS wrote them
    import_id INTEGER NOT NULL,
    PRIMARY KEY (year, plan_id, benefit)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS plan_index (  -- every plan in a benefits file, kept or not
    year INTEGER NOT NULL,
    plan_id TEXT NOT NULL,
    state TEXT NOT NULL,
    import_id INTEGER NOT NULL,
    PRIMARY KEY (year, plan_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attributes (
    year INTEGER NOT NULL,
    plan_id TEXT NOT NULL,
    state TEXT NOT NULL,
    "values" TEXT NOT NULL,
    import_id INTEGER NOT NULL,
    PRIMARY KEY (year, plan_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pbp (
    year INTEGER NOT NULL,
    contract TEXT NOT NULL,
    plan TEXT NOT NULL,
    segment TEXT NOT NULL,
    "values" TEXT NOT NULL,
    import_id INTEGER NOT NULL,
    PRIMARY KEY (year, contract, plan, segment)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS plan_index_state ON plan_index (year, state);
"""


def default_store_path() -> Path:
    from ..sources.store import default_state_dir

    return default_state_dir() / STORE_NAME


@dataclass(frozen=True)
class ImportRecord:
    id: int
    kind: str
    years: list[int]
    file_name: str
    member: str | None
    size: int
    sha256: str
    imported_at: str
    rows_read: int
    rows_kept: int
    rows_malformed: int
    columns: int


def _stripped(values: dict[str, str]) -> dict[str, str]:
    return {k: v.strip() for k, v in values.items()}


class PlanStore:
    """A handle on the plan store. Opening for reading never creates the file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_store_path()
        self._conn: sqlite3.Connection | None = None

    def exists(self) -> bool:
        return self.path.is_file()

    def connect(self, create: bool = False) -> sqlite3.Connection:
        if self._conn is None:
            if not create and not self.exists():
                raise FileNotFoundError(self.path)
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, isolation_level=None)
            else:
                conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 5000")
            if create:
                conn.executescript(_SCHEMA)
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; any exception rolls everything back."""
        conn = self.connect(create=True)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- writing (inside a transaction) --------------------------------------------------------

    @staticmethod
    def new_import(
        conn: sqlite3.Connection, kind: str, file_name: str, member: str | None, size: int, sha256: str
    ) -> int:
        now = datetime.now(UTC).replace(microsecond=0).isoformat()
        cur = conn.execute(
            "INSERT INTO imports (kind, years, file_name, member, size, sha256, imported_at, rows_read, "
            "rows_kept, rows_malformed, columns) VALUES (?, '[]', ?, ?, ?, ?, ?, 0, 0, 0, 0)",
            (kind, file_name, member, size, sha256, now),
        )
        return int(cur.lastrowid or 0)

    @staticmethod
    def finish_import(
        conn: sqlite3.Connection,
        import_id: int,
        sha256: str,
        years: Iterable[int],
        read: int,
        kept: int,
        malformed: int,
        columns: int,
    ) -> None:
        conn.execute(
            "UPDATE imports SET sha256 = ?, years = ?, rows_read = ?, rows_kept = ?, rows_malformed = ?, columns = ? "
            "WHERE id = ?",
            (sha256, json.dumps(sorted(years)), read, kept, malformed, columns, import_id),
        )

    @staticmethod
    def replace_year(conn: sqlite3.Connection, table: str, year: int) -> None:
        if table not in {"benefits", "plan_index", "attributes", "pbp"}:
            raise ValueError(table)
        conn.execute(f"DELETE FROM {table} WHERE year = ?", (year,))

    @staticmethod
    def prune_imports(conn: sqlite3.Connection) -> None:
        """Forget imports no row refers to any more (their years were re-imported)."""
        conn.execute(
            "DELETE FROM imports WHERE id NOT IN (SELECT import_id FROM benefits UNION SELECT import_id FROM "
            "plan_index UNION SELECT import_id FROM attributes UNION SELECT import_id FROM pbp)"
        )

    # -- reading -------------------------------------------------------------------------------

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        if not self.exists():
            return []
        conn = self.connect()
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, args))

    def imports(self) -> list[ImportRecord]:
        return [
            ImportRecord(
                id=r["id"],
                kind=r["kind"],
                years=json.loads(r["years"]),
                file_name=r["file_name"],
                member=r["member"],
                size=r["size"],
                sha256=r["sha256"],
                imported_at=r["imported_at"],
                rows_read=r["rows_read"],
                rows_kept=r["rows_kept"],
                rows_malformed=r["rows_malformed"],
                columns=r["columns"],
            )
            for r in self._rows("SELECT * FROM imports ORDER BY id")
        ]

    def import_by_id(self, import_id: int) -> ImportRecord | None:
        for rec in self.imports():
            if rec.id == import_id:
                return rec
        return None

    def benefit_rows(self, year: int, plan_id: str) -> dict[str, tuple[dict[str, str], str, str, int]]:
        """benefit name -> (values, state, issuer id, import id) for one plan variant and year."""
        return {
            r["benefit"]: (_stripped(json.loads(r["values"])), r["state"], r["issuer_id"], r["import_id"])
            for r in self._rows(
                'SELECT benefit, "values", state, issuer_id, import_id FROM benefits WHERE year = ? AND plan_id = ?',
                (year, plan_id),
            )
        }

    def in_index(self, year: int, plan_id: str) -> bool:
        return bool(self._rows("SELECT 1 FROM plan_index WHERE year = ? AND plan_id = ?", (year, plan_id)))

    def variants(self, year: int, component: str) -> list[str]:
        return [
            r["plan_id"]
            for r in self._rows(
                "SELECT plan_id FROM plan_index WHERE year = ? AND plan_id LIKE ? ORDER BY plan_id",
                (year, component + "-%"),
            )
        ]

    def attributes(self, year: int, plan_id: str) -> dict[str, str] | None:
        rows = self._rows('SELECT "values" FROM attributes WHERE year = ? AND plan_id = ?', (year, plan_id))
        return _stripped(json.loads(rows[0]["values"])) if rows else None

    def benefit_years(self) -> dict[int, list[str]]:
        """Imported plan year -> the states whose plans the benefits file held."""
        out: dict[int, list[str]] = {}
        for r in self._rows("SELECT DISTINCT year, state FROM plan_index ORDER BY year, state"):
            out.setdefault(r["year"], []).append(r["state"])
        return out

    def pbp_years(self) -> list[int]:
        return [r["year"] for r in self._rows("SELECT DISTINCT year FROM pbp ORDER BY year")]

    def pbp_rows(self, year: int, contract: str, plan: str) -> list[tuple[str, dict[str, str], int]]:
        return [
            (r["segment"], json.loads(r["values"]), r["import_id"])
            for r in self._rows(
                'SELECT segment, "values", import_id FROM pbp WHERE year = ? AND contract = ? AND plan = ? ORDER BY segment',
                (year, contract, plan),
            )
        ]

    def counts(
        self, year: int | None = None, state: str | None = None, benefit: str = "Acupuncture"
    ) -> list[dict[str, Any]]:
        """Per plan year and state: plans in the benefits file, plans with a row for ``benefit``, and
        plans whose row says it is covered; restricted to individual-market medical plans when the
        Plan Attributes PUF for that year is imported too."""
        where = ["1 = 1"]
        args: list[Any] = [benefit]
        if year is not None:
            where.append("p.year = ?")
            args.append(year)
        if state is not None:
            where.append("p.state = ?")
            args.append(state)
        sql = f"""
            SELECT p.year AS year, p.state AS state,
                   COUNT(*) AS plans,
                   COUNT(b.plan_id) AS with_row,
                   SUM(CASE WHEN lower(trim(json_extract(b."values", '$.IsCovered'))) = 'covered' THEN 1 ELSE 0 END)
                       AS covered,
                   COUNT(a.plan_id) AS with_attributes
            FROM plan_index p
            LEFT JOIN benefits b ON b.year = p.year AND b.plan_id = p.plan_id AND b.benefit = ?
            LEFT JOIN attributes a ON a.year = p.year AND a.plan_id = p.plan_id
            WHERE {" AND ".join(where)}
              AND (a.plan_id IS NULL OR (
                    lower(coalesce(json_extract(a."values", '$.MarketCoverage'), 'individual')) = 'individual'
                AND lower(coalesce(json_extract(a."values", '$.DentalOnlyPlan'), 'no')) <> 'yes'))
            GROUP BY p.year, p.state ORDER BY p.year, p.state
        """
        return [dict(r) for r in self._rows(sql, tuple(args))]
