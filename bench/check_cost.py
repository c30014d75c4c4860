"""Check-cost benchmark: what one question costs once the dataset is loaded, and what the first check
of a new day costs.

Printed as ratios against baselines measured in the same run:

* per coverage type: the median in-process ``determine()`` time against Original Medicare's;
* diagnoses: 12 diagnoses against 1 (the engine evaluates each, so the target is at most 12x — linear);
  100 diagnoses are refused (a claim carries at most 12);
* the first check of a new day (a fresh process whose ``today`` differs from the one that warmed the
  cache) against a fresh process on the same day: the cache does not depend on the date, so about 1x.

Run: python bench/check_cost.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from coverage_lookup.api import determine, get_dataset
from coverage_lookup.errors import InputError

TODAY = date(2026, 12, 6)
CODES = ["M54.50", "M54.41", "M54.42", "M54.16", "M54.17", "M51.16", "M51.17", "G43.909", "M79.7", "M17.11",
         "M17.12", "R51.9"]  # fmt: skip
COVERAGES: dict[str, dict[str, Any]] = {
    "medicare": {},
    "medicare_advantage": {"payer": "moda"},
    "medicaid": {"state": "CA"},
    "individual": {"state": "TX", "payer": "aetna"},
    "small_group": {"state": "CA", "payer": "aetna"},
    "large_group": {"state": "NY", "payer": "aetna"},
    "self_funded": {"payer": "cigna"},
    "fehb": {},
    "tricare": {},
    "va": {},
    "workers_comp": {"state": "WA"},
}


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def ask(coverage: str, diagnosis: list[str], **extra: Any) -> Callable[[], object]:
    return lambda: determine(coverage, diagnosis=diagnosis, service_date="2024-03-01", today=TODAY, **extra)


PROCESS = (
    "import sys; from datetime import date; from coverage_lookup.api import determine; "
    "determine('medicare', diagnosis='M54.50', provider='physician', service_date='2024-03-01', "
    "today=date.fromisoformat(sys.argv[1]))"
)


def process_ms(today: str, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", PROCESS, today], check=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    get_dataset()  # loaded once, as in a long-running process or after the cold start

    base = median_ms(ask("medicare", ["M54.50"]), args.runs)
    print(f"baseline  medicare, 1 diagnosis              median {base:7.2f} ms  ({args.runs} runs)")
    for coverage, extra in COVERAGES.items():
        ms = median_ms(ask(coverage, ["M54.50"], **extra), args.runs)
        print(f"coverage  {coverage:<32} median {ms:7.2f} ms  ratio {ms / base:5.2f}x")

    one = median_ms(ask("large_group", CODES[:1], state="NY", payer="aetna"), args.runs)
    twelve = median_ms(ask("large_group", CODES, state="NY", payer="aetna"), args.runs)
    print(f"dx        large_group, 1 diagnosis          median {one:7.2f} ms")
    print(f"dx        large_group, 12 diagnoses         median {twelve:7.2f} ms  ratio {twelve / one:5.2f}x "
          "(target <= 12x, linear)")  # fmt: skip
    try:
        determine("large_group", diagnosis=[*CODES, *(f"S{n:02d}.0" for n in range(88))], today=TODAY)
        print("dx        100 diagnoses: answered")
    except InputError as exc:
        print(f"dx        100 diagnoses: refused ({str(exc)[:70]}...)")

    with tempfile.TemporaryDirectory() as cache:
        # Bytecode cached as an installed package has it (see cold_start.py), so compiling our sources
        # does not blur what the cache costs.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["COVERAGE_LOOKUP_CACHE"] = cache
        process_ms("2026-12-06", env, 1)  # warm the cache on one day
        same = process_ms("2026-12-06", env, max(5, args.runs // 5))
        # Each run is a new day: with a date in the cache key, every one would rebuild.
        days = [f"2027-01-{d:02d}" for d in range(1, max(5, args.runs // 5) + 1)]
        next_day = statistics.median(process_ms(day, env, 1) for day in days)
    print(f"day       fresh process, same day           median {same:7.1f} ms")
    print(f"day       first check of a new day          median {next_day:7.1f} ms  ratio {next_day / same:5.2f}x "
          "(target ~1x: the cache does not depend on the date)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
