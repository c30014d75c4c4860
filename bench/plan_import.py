"""Plan import and plan-level answers, measured against baselines in the same run.

1. Import time: ``plans import --benefits`` on a generated plan-year-sized file (1.4 million rows in the
   2026 24-column layout, ~60 benefit rows per plan variant, acupuncture and chiropractic among them)
   against a bare ``csv.reader`` pass over the same file. Target: at most 1.5x.
2. Peak memory of the import, in a child process (ru_maxrss), against a child that only runs the
   bare ``csv.reader`` pass. Target: under 150 MB.
3. A warm ``check --plan-id`` against the same check without a plan ID (in process, after warm-up).
   Target: adds under 5 ms.

Run: python bench/plan_import.py [--rows 1400000]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coverage_lookup.plans.puf import LAYOUT_2020

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = list(LAYOUT_2020)
BENEFITS_PER_PLAN = 60
STATES = ["AK", "AL", "AR", "AZ", "DE", "FL", "HI", "IA", "IN", "KS", "LA", "MI", "MO", "MS", "MT", "NC", "ND",
          "NE", "NH", "OH", "OK", "OR", "SC", "SD", "TN", "TX", "UT", "WI", "WV", "WY"]  # fmt: skip


def generate(path: Path, rows: int) -> int:
    """A benefits file shaped like a real plan year: rows grouped by plan, 60 benefits per plan."""
    plans = rows // BENEFITS_PER_PLAN
    names = ["Acupuncture", "Chiropractic Care"] + [
        f"Benefit number {i}" for i in range(BENEFITS_PER_PLAN - 2)
    ]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(COLUMNS)
        for p in range(plans):
            state = STATES[p % len(STATES)]
            issuer = f"{10000 + p % 900:05d}"
            component = f"{issuer}{state}{p % 1000:03d}{p % 10000:04d}"
            plan_id = f"{component}-{p % 6 + 1:02d}"
            for name in names:
                covered = "Covered" if name != "Acupuncture" or p % 20 == 0 else "Not Covered"
                limit = (
                    ("20.0", "Visit(s) per Year")
                    if name in ("Acupuncture", "Chiropractic Care")
                    else ("", "")
                )
                w.writerow([
                    "2026", state, issuer, "HIOS", "2025-10-01 10:00:00", component, plan_id, name,
                    "$40.00", "", "Not Applicable", "0.00%", "", "50.00% Coinsurance after deductible", "Yes",
                    covered, "Yes" if limit[0] else "No", limit[0], limit[1], "",
                    "Limit shared with chiropractic care" if name == "Acupuncture" else "", "", "No", "No",
                ])  # fmt: skip
    return plans * BENEFITS_PER_PLAN


BARE = """
import csv, io, resource, sys, time
t = time.perf_counter()
n = 0
with open(sys.argv[1], "rb") as raw:
    for row in csv.reader(io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")):
        n += 1
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, n)
"""
IMPORT = """
import resource, sys, time
from pathlib import Path

from coverage_lookup.plans.puf import LAYOUT_2020
from coverage_lookup.plans.importer import import_benefits
from coverage_lookup.plans.store import PlanStore
t = time.perf_counter()
s = import_benefits(Path(sys.argv[1]), PlanStore(Path(sys.argv[2])))
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, s.rows_read)
"""


def child(code: str, *args: str) -> tuple[float, float, int]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    ).stdout
    seconds, maxrss_kib, rows = out.split()
    return float(seconds), int(maxrss_kib) / 1024, int(rows)


def warm_check_cost(tmp: Path, csv_path: Path) -> tuple[float, float]:
    os.environ["COVERAGE_LOOKUP_HOME"] = str(tmp / "home")
    from coverage_lookup import check
    from coverage_lookup.plans.importer import import_benefits

    import_benefits(csv_path)
    with csv_path.open(newline="") as f:
        next(f)
        plan_id = next(csv.reader(f))[6]
    kw = {"coverage": "individual", "condition": "sciatica", "service_date": "2026-03-01"}
    base_kw = {**kw, "state": plan_id[5:7]}
    plan_kw = {**kw, "plan_id": plan_id}
    for _ in range(20):
        check(**base_kw)  # type: ignore[arg-type]
        check(**plan_kw)  # type: ignore[arg-type]
    base, plan = [], []
    for _ in range(200):
        t = time.perf_counter()
        check(**base_kw)  # type: ignore[arg-type]
        base.append(time.perf_counter() - t)
        t = time.perf_counter()
        check(**plan_kw)  # type: ignore[arg-type]
        plan.append(time.perf_counter() - t)
    return statistics.median(base) * 1000, statistics.median(plan) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_400_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as d:
        tmp = Path(d)
        csv_path = tmp / "benefits-and-cost-sharing-puf.csv"
        rows = generate(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"benefits file: {rows:,} rows, {size_mb:,.0f} MB (generated, 2026 layout)")
        bare_s, bare_mb, n = child(BARE, str(csv_path))
        imp_s, imp_mb, m = child(IMPORT, str(csv_path), str(tmp / "store.sqlite3"))
        assert n - 1 == m == rows, (n, m, rows)
        print(f"bare csv.reader pass: {bare_s:.2f} s, peak {bare_mb:.0f} MB")
        print(f"plans import:         {imp_s:.2f} s, peak {imp_mb:.0f} MB")
        print(f"  ratio import / csv.reader: {imp_s / bare_s:.2f}x (target <= 1.5x)")
        print(f"  peak memory: {imp_mb:.0f} MB (target < 150 MB; the bare pass's process: {bare_mb:.0f} MB)")
        base_ms, plan_ms = warm_check_cost(tmp, csv_path)
        print(f"warm check, state only: {base_ms:.2f} ms; with --plan-id: {plan_ms:.2f} ms")
        print(f"  a plan ID adds {plan_ms - base_ms:.2f} ms (target < 5 ms); ratio {plan_ms / base_ms:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
