"""Batch throughput, against baselines measured in the same run.

1. Repeating rows: a 100,000-row day file whose rows repeat a handful of questions (the same insurance
   and diagnosis all day), through ``coverage-lookup batch`` in process (read, answer, write CSV), against
   Python's ``csv`` module reading the same input and writing the same output (answers included, so
   the baseline writes as many bytes). Target: at most 3x.
2. Distinct rows: a batch whose every row is a different question, in rows per second, against calling
   ``check()`` in process on the same questions. Target: at least 80% of the check() rate.

Run: python bench/batch.py [--rows 100000] [--distinct 2000]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from datetime import date
from typing import Any

TODAY = date(2026, 12, 6)
HEADER = ["Patient", "MRN", "Insurance", "Carrier", "State", "DX", "CPT", "DOS", "Visits Used"]
QUESTIONS = [
    ["Medi-Cal", "", "", "M54.41", "97810", "3/1/2024", "1"],
    ["Medicare Part B", "", "", "M54.50", "97810", "3/1/2024", ""],
    ["employer", "BCBS of Texas", "", "M54.50", "97813", "3/1/2024", "0"],
    ["marketplace", "", "TX", "M54.41", "97810", "3/1/2024", ""],
    ["MassHealth", "Aetna PPO", "", "G43.909", "97810", "3/1/2024", ""],
    ["workers' comp", "", "CA", "M54.50", "97810", "3/1/2024", "3"],
]
DX = ["M54.50", "M54.41", "M54.42", "G43.909", "M17.11", "M54.2", "G44.209", "M79.7"]
COVERAGES = [
    ("Medi-Cal", ""),
    ("Medicaid", "NY"),
    ("large group", "TX"),
    ("marketplace", "CA"),
    ("Medicare Part B", ""),
]


def day_file(rows: int) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADER)
    for i in range(rows):
        q = QUESTIONS[i % len(QUESTIONS)]
        w.writerow([f"Patient {i}", str(100000 + i), q[0], q[1], q[2], q[3], q[4], q[5], q[6]])
    return buf.getvalue().encode("utf-8")


def distinct_questions(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        cov, st = COVERAGES[i % len(COVERAGES)]
        day = date(2021, 10, 1).toordinal() + (i * 7919) % 1500
        out.append(
            {
                "coverage": cov,
                "state": st or None,
                "diagnosis": DX[(i // len(COVERAGES)) % len(DX)],
                "service_date": date.fromordinal(day).isoformat(),
                "visits_used": i % 13,
            }
        )
    return out


def csv_roundtrip(data: bytes, output_rows: list[list[str]]) -> float:
    """The csv module alone: read the input file and write the output file (the same bytes the batch
    writes, answers included), with no answering in between."""
    t = time.perf_counter()
    list(csv.reader(io.StringIO(data.decode("utf-8"))))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerows(output_rows)
    out.getvalue().encode("utf-8")
    return time.perf_counter() - t


def batch_run(data: bytes) -> tuple[float, int, list[list[str]]]:
    from coverage_lookup.batch import answer_table, read_table, write_table

    t = time.perf_counter()
    result = answer_table(read_table(data, "day.csv"), today=TODAY)
    write_table(result, "csv")
    return time.perf_counter() - t, result.distinct_questions, [result.header, *result.rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=2000)
    args = parser.parse_args()
    from coverage_lookup import check

    check("medicare", diagnosis="M54.50", today=TODAY)  # load the dataset once, as a clerk's session does

    data = day_file(args.rows)
    took, distinct, output_rows = batch_run(data)
    base = min(csv_roundtrip(data, output_rows) for _ in range(3))
    print(f"repeating rows: {args.rows:,} rows, {distinct} distinct questions")
    print(f"  csv read+write: {base:.2f} s; batch: {took:.2f} s; ratio {took / base:.2f}x (target <= 3x)")

    questions = distinct_questions(args.distinct)
    t = time.perf_counter()
    for q in questions:
        check(today=TODAY, **q)
    check_rate = len(questions) / (time.perf_counter() - t)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["Insurance", "State", "DX", "DOS", "Visits Used"])
    for q in questions:
        w.writerow([q["coverage"], q["state"] or "", q["diagnosis"], q["service_date"], q["visits_used"]])
    took, distinct, _ = batch_run(buf.getvalue().encode("utf-8"))
    batch_rate = len(questions) / took
    print(f"distinct rows: {len(questions):,} rows, {distinct} distinct questions")
    print(
        f"  check(): {check_rate:,.0f}/s; batch: {batch_rate:,.0f} rows/s; "
        f"ratio {batch_rate / check_rate:.0%} (target >= 80%)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
