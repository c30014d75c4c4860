"""Run mutmut on a seeded random sample of the mutants not yet checked, plus every survivor again.

A full ``make mutation`` takes hours on two cores. This runs, per module, at most ``--per-module``
randomly chosen mutants among those not yet checked, and re-runs every mutant that survived (or that
no test reached) against the current tests. The names sampled are written to ``mutants/sample.txt``
so that ``scripts/mutation_report.py`` can estimate each module's score: the mutants checked before
the sample are counted as they are, the sample stands for the rest (a stratified estimate with its
95% interval).

Run: python scripts/mutation_sample.py [--per-module N] [--size MODULE=N ...] [--seed S] [--resume] [--dry-run]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from mutation_report import SURVIVED, module_of, mutmut  # noqa: E402

SAMPLE_FILE = ROOT / "mutants" / "sample.txt"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-module", type=int, default=120, help="unchecked mutants sampled per module")
    parser.add_argument(
        "--size", action="append", default=[], metavar="MODULE=N", help="another sample size for one module"
    )
    parser.add_argument("--seed", type=int, default=11, help="random seed (the sample is reproducible)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="run the unchecked mutants of the last sample instead of drawing anew",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the counts and names, run nothing")
    args = parser.parse_args()

    unchecked: dict[str, list[str]] = defaultdict(list)
    rerun: list[str] = []
    for line in mutmut("results", "--all", "true").splitlines():
        name, _, state = line.strip().partition(": ")
        if state == "not checked":
            unchecked[module_of(name)].append(name)
        elif state in SURVIVED:
            rerun.append(name)
    sizes = {m: int(n) for m, _, n in (s.partition("=") for s in args.size)}
    rng = random.Random(args.seed)
    sample: list[str] = []
    drawn = set(SAMPLE_FILE.read_text(encoding="utf-8").split()) if SAMPLE_FILE.exists() else set()
    if args.resume:
        unchecked = {m: [n for n in names if n in drawn] for m, names in unchecked.items()}
        sizes = {m: len(names) for m, names in unchecked.items()}
    for module in sorted(unchecked):
        names = sorted(unchecked[module])
        size = sizes.get(module, args.per_module)
        chosen = names if len(names) <= size else rng.sample(names, size)
        sample += chosen
        print(f"{module}: {len(chosen)} of {len(names)} unchecked mutants sampled")
    print(f"{len(rerun)} survivors run again")
    if args.dry_run:
        print("\n".join(sample + rerun))
        return 0
    SAMPLE_FILE.parent.mkdir(exist_ok=True)
    SAMPLE_FILE.write_text("\n".join(sorted(drawn | set(sample))) + "\n", encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.setdefault("COVERAGE_LOOKUP_EXAMPLES_SCALE", "0.2")
    cmd = [str(bin_dir / "mutmut"), "run", "--max-children", "2", *sample, *rerun]
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
