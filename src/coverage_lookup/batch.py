"""A whole day's verifications at once: one question per row of a CSV or XLSX file, answers added as
columns, every input row kept, in order.

* Columns are matched by name, case- and space-insensitively, with the aliases billing staff use
  (``insurance``, ``carrier``, ``dx``, ``DOS`` ...); every other column (patient name, MRN, appointment)
  passes through unchanged.
* A bad row gets ``status=error`` and a clear ``error``; the batch goes on.
* Files from practice software: UTF-8 with or without a byte-order mark, Windows-1252, any common
  delimiter (sniffed), or ``.xlsx``.
* Output cells a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return) are neutralised with a leading apostrophe.
* The same question asked again (the same insurance and diagnosis all day) is answered once.
* Privacy: rows may hold patient data. Nothing here logs, caches on disk or sends anything; answers
  are memoised in memory for one batch only.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .dataset import name_key
from .errors import CoverageLookupError, InputError

# Query field -> the column names that mean it (compared as name_key: case, spaces, punctuation ignored).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "coverage": ("coverage", "coverage type", "insurance", "insurance type", "insurance plan type", "program", "benefit plan"),
    "state": ("state", "plan state", "st"),
    "payer": ("payer", "payor", "insurer", "carrier", "insurance company", "insurance carrier", "health plan"),
    "plan_id": ("plan id", "plan_id", "member plan", "plan number", "hios id", "contract plan"),
    "diagnosis": ("dx", "diagnosis", "diagnoses", "diagnosis code", "diagnosis codes", "icd10", "icd 10", "icd10 code", "icd10cm"),
    "condition": ("condition", "complaint", "chief complaint"),
    "procedure": ("cpt", "cpt code", "procedure", "procedure code", "service code"),
    "provider": ("provider", "provider type", "rendering provider type", "billing provider type"),
    "service_date": ("date", "dos", "service date", "date of service", "visit date"),
    "visits_used": ("visits used", "visits", "visits to date", "used visits"),
    "age": ("age", "patient age"),
}  # fmt: skip
ADDED_COLUMNS = (
    "status",
    "summary",
    "requirements",
    "visit_limit",
    "remaining_visits",
    "ask_the_payer",
    "sources",
    "evidence_as_of",
    "error",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_FIRST = frozenset(FORMULA_STARTS)
MAX_ROWS = 1_000_000


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    source: str = ""


@dataclass
class Result:
    header: list[str]
    rows: list[list[str]]
    counts: Counter[str] = field(default_factory=Counter)
    distinct_questions: int = 0


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # exports from Windows practice software


def read_table(data: bytes, filename: str) -> Table:
    """A CSV (any common delimiter and encoding) or an ``.xlsx`` workbook's first sheet."""
    if filename.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, filename)
    text = _decode(data)
    if not text.strip():
        raise InputError("file", filename, "the file is empty; give a CSV with a header row")
    sample = text[:65536]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as exc:
        raise InputError("file", filename, f"not a readable CSV file ({exc})") from None
    if len(rows) > MAX_ROWS + 1:
        raise InputError("file", filename, f"at most {MAX_ROWS:,} rows per batch; split the file")
    header, body = rows[0], rows[1:]
    return Table([h.strip().lstrip("\ufeff") for h in header], body, filename)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(data: bytes, filename: str) -> Table:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError("file", filename, f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        ws = wb.worksheets[0]
        rows = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise InputError("file", filename, "the workbook's first sheet is empty; give a header row")
    if len(rows) > MAX_ROWS + 1:
        raise InputError("file", filename, f"at most {MAX_ROWS:,} rows per batch; split the file")
    width = len(rows[0])
    return Table([h.strip() for h in rows[0]], [r + [""] * (width - len(r)) for r in rows[1:]], filename)


def map_columns(header: list[str], source: str = "") -> dict[str, int]:
    """Query field -> column index. The coverage column is required."""
    by_key: dict[str, int] = {}
    for i, name in enumerate(header):
        by_key.setdefault(name_key(name), i)
    mapping: dict[str, int] = {}
    for fld, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            found = by_key.get(name_key(alias))
            if found is not None:
                mapping[fld] = found
                break
    if "coverage" not in mapping:
        raise InputError(
            "file",
            source or "input",
            "it lacks a coverage column: name one of "
            + ", ".join(repr(a) for a in COLUMN_ALIASES["coverage"])
            + f" (its columns: {', '.join(header) or 'none'})",
        )
    return mapping


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, made plain text."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _answer_cells(d: Any) -> list[str]:
    from .evidence import describe_span
    from .render import ask_the_payer, citation_label

    reqs = "; ".join(f"[{r.kind}] {r.text}" for r in d.requirements)
    limits = "; ".join(
        f"{lim.visits} {lim.per}"
        + (f" (shared with {', '.join(lim.shared_with)})" if lim.shared_with else "")
        for lim in d.limits
    )
    remaining = "; ".join(str(lim.remaining) for lim in d.limits if lim.remaining is not None)
    cited: dict[str, str] = {}
    for rule in d.rules_applied:
        for c in rule.citations:
            cited.setdefault(c.url, f"{c.issuer or citation_label(c)} <{c.url}> ({c.retrieved.isoformat()})")
    sources = " | ".join(cited.values())
    e = d.evidence
    evidence = describe_span(e.earliest, e.latest) + (
        " — EXTRAPOLATED to the service date" if e.extrapolated else ""
    )
    return [d.status, d.summary, reqs, limits, remaining, " | ".join(ask_the_payer(d)), sources, evidence, ""]


def answer_table(
    table: Table,
    *,
    today: date | None = None,
    data_dir: Any = None,
    progress: Callable[[int], None] | None = None,
    for_spreadsheet: bool = True,
) -> Result:
    """Answer every row; bad rows become ``status=error`` rows. Identical questions are answered once:
    first by the cells as written, then by the question as read (case and spacing aside).
    ``for_spreadsheet``: neutralise formula cells (a CSV or XLSX); off for JSON, where nothing runs them."""
    guard = neutralise if for_spreadsheet else _same
    mapping = map_columns(table.header, table.source)
    width = len(table.header)
    header = [*table.header, *ADDED_COLUMNS]
    fields = list(mapping)
    columns = [mapping[f] for f in fields]
    seen: dict[tuple[str, ...], list[str]] = {}  # the cells as written -> answer cells
    memo: dict[tuple[str, ...], list[str]] = {}  # the question as read -> answer cells
    counts: Counter[str] = Counter()
    out_rows: list[list[str]] = []
    for n, row in enumerate(table.rows, 1):
        if len(row) < width:
            row = row + [""] * (width - len(row))  # a ragged row is padded, never dropped
        raw = tuple(row[i] for i in columns)
        cells = seen.get(raw)
        if cells is None:
            q = {f: (v.strip() or None) for f, v in zip(fields, raw, strict=True)}
            key = tuple(name_key(v) if v else "" for v in q.values())
            cells = memo.get(key)
            if cells is None:
                cells = [guard(c) for c in _answer_row(q, today, data_dir)]
                memo[key] = cells
            seen[raw] = cells
        counts[cells[0]] += 1
        if for_spreadsheet:
            out_rows.append(
                [c if not c or c[0] not in FORMULA_FIRST else "'" + c for c in row[:width]] + cells
            )
        else:
            out_rows.append(row[:width] + cells)
        if progress is not None:
            progress(n)
    return Result(
        header=[guard(h) for h in header], rows=out_rows, counts=counts, distinct_questions=len(memo)
    )


def _same(cell: str) -> str:
    return cell


def _answer_row(q: dict[str, str | None], today: date | None, data_dir: Any) -> list[str]:
    from .api import determine

    if not any(q.values()):
        return ["error", "", "", "", "", "", "", "", "empty row: no coverage or other value given"]
    try:
        d = determine(
            coverage=q.get("coverage") or "",
            state=q.get("state"),
            payer=q.get("payer"),
            plan_id=q.get("plan_id"),
            diagnosis=q.get("diagnosis"),
            procedure=q.get("procedure") or "97810",
            provider=q.get("provider") or "licensed_acupuncturist",
            service_date=q.get("service_date"),
            visits_used=_int_cell("visits_used", q.get("visits_used")),
            condition=q.get("condition"),
            age=_int_cell("age", q.get("age")),
            today=today,
            data_dir=data_dir,
        )
    except CoverageLookupError as exc:
        return ["error", "", "", "", "", "", "", "", str(exc)]
    return _answer_cells(d)


def _int_cell(fld: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InputError(fld, value, "use a whole number") from None
    if not number.is_integer():
        raise InputError(fld, value, "use a whole number")
    return int(number)


def write_table(result: Result, fmt: str) -> bytes:
    """The result as CSV (UTF-8 with a byte-order mark, so spreadsheets read it right) or XLSX."""
    if fmt == "csv":
        buf = io.StringIO(newline="")
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(result.header)
        w.writerows(result.rows)
        return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("coverage")
        ws.append(result.header)
        for row in result.rows:
            ws.append(row)
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    raise InputError("format", fmt, "use csv or xlsx")


def summary_line(result: Result) -> str:
    order = ("covered", "conditional", "not_covered", "unknown", "error")
    parts = [f"{result.counts.get(s, 0)} {s}" for s in order if result.counts.get(s)]
    total = sum(result.counts.values())
    return f"{total} rows: " + ", ".join(parts) + f" ({result.distinct_questions} distinct questions)"


def iter_progress(total: int, enabled: bool) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    """A tqdm progress bar on stderr when it is a terminal (counts only: no row content is shown)."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="row", file=__import__("sys").stderr, leave=False)
    last = [0]

    def update(n: int) -> None:
        bar.update(n - last[0])
        last[0] = n

    return update, bar.close


def rows_of(result: Result) -> Iterable[dict[str, str]]:
    for row in result.rows:
        yield dict(zip(result.header, row, strict=False))
