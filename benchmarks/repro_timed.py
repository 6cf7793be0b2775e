"""Wall time of one whole `dvc repro`, stage by stage: `python benchmarks/repro_timed.py [--out-dir DIR] [-- DVC ARGS]`.

Runs `dvc repro` once, as a user would (cached stages stay cached, nothing is forced), reads the stage
names DVC prints as it starts each one, and prints a table of each stage's wall time (from its start to
the next stage's start, the last one to the end of the run) and the total. DVC's own output goes to
`<out-dir>/repro_timed.log`, not into the table's file. For a profile's run from a clean state:
`python -m pipeline profile configs/smollm2.yaml && python benchmarks/repro_timed.py --out-dir reports/smollm2`.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from record import OUT_DIR, machine_line, recorded  # noqa: E402

STARTED = re.compile(r"Running stage '([^']+)'")
CACHED = re.compile(r"Stage '([^']+)' didn't change, skipping")


def stage_times(events: list[tuple[float, str, str]], end: float) -> list[tuple[str, str, float]]:
    """(stage, 'ran' | 'cached', seconds) from (time, kind, stage) events in the order DVC printed them."""
    rows = []
    for i, (at, kind, name) in enumerate(events):
        if kind == "cached":
            rows.append((name, "cached", 0.0))
            continue
        following = [t for t, k, _ in events[i + 1 :] if k == "ran"]
        rows.append((name, "ran", (following[0] if following else end) - at))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR, help="where repro_timed.txt and the DVC log go")
    parser.add_argument("dvc_args", nargs="*", help="extra arguments for dvc repro (after --)")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    log_path = args.out_dir / "repro_timed.log"
    events: list[tuple[float, str, str]] = []
    start = time.time()
    with recorded(__file__, args.out_dir), log_path.open("w") as log:
        print(machine_line())
        process = subprocess.Popen(["dvc", "repro", *args.dvc_args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            log.flush()
            now = time.time()
            for pattern, kind in ((STARTED, "ran"), (CACHED, "cached")):
                found = pattern.search(line)
                if found:
                    events.append((now, kind, found.group(1)))
                    print(f"{now - start:8.1f} s  {kind:<6} {found.group(1)}", file=sys.stderr, flush=True)
        code = process.wait()
        end = time.time()
        if code:
            raise SystemExit(f"dvc repro failed (exit {code}); see {log_path}")
        rows = stage_times(events, end)
        print("\n| stage | wall s | wall min |\n|---|---:|---:|")
        for name, kind, seconds in rows:
            print(f"| {name} | {seconds:.1f} | {seconds / 60:.1f} |" if kind == "ran" else f"| {name} | cached | cached |")
        print(f"| total | {end - start:.1f} | {(end - start) / 60:.1f} |")


if __name__ == "__main__":
    main()
