"""Wall time of each stage of the embedded run: `python benchmarks/stage_times.py [--repeats N]`.

Runs every stage of dvc.yaml in order with `dvc repro --force --single-item`, N times each (default 1),
and prints the median seconds per stage and the total. checkpoints/ is removed before each timed run,
so the training stages train from scratch instead of resuming their finished run. Run from the project root with the venv on PATH
(`make bench` does both).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def stage_names() -> list[str]:
    out = subprocess.run(["dvc", "stage", "list", "--name-only"], check=True, capture_output=True, text=True)
    return out.stdout.split()


def time_stage(name: str) -> float:
    shutil.rmtree("checkpoints", ignore_errors=True)  # resume state only, not a DVC output
    start = time.perf_counter()
    subprocess.run(["dvc", "repro", "--force", "--single-item", name], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    rows = []
    for name in stage_names():
        times = [time_stage(name) for _ in range(args.repeats)]
        rows.append((name, statistics.median(times)))
        print(f"{name:<22} {rows[-1][1]:8.1f} s", file=sys.stderr, flush=True)
    print(f"\n| stage | median wall s (n={args.repeats}) |\n|---|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} |")
    print(f"| **total** | **{sum(s for _, s in rows):.1f}** |")


if __name__ == "__main__":
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
