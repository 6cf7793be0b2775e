"""Two torch stages at once on one machine vs one after the other, with the code before and after the
fair share of cores (pipeline.cores), and one stage alone before and after.

Each run is `python -m pipeline train --variant coin` as dvc.yaml runs it, on the embedded tiny LLaMA
(params.yaml's model.tiny) with synthetic training entries written here (benchmarks/processes.py's
inputs). "Before" is the code of `--before` (default: the commit before pipeline/cores.py was added),
checked out in a temporary git worktree; "after" is this checkout. For each: two runs one after the
other (the sequential total; one stage alone is their median), then two started together (the wall
time until both end), --repeats times (medians). Two runs at once are what `dvc queue start -j 2` does
with two queued experiments, or a `dvc exp run` beside `make test`.

The last line reads `at_once_over_sequential=<x> alone_new_over_old=<x>`: the after-code's two-at-once
wall time over its sequential total (<= 1.2 is the target: sharing the cores costs no more than
waiting), and one stage's speed alone after over before (>= 0.95: no loss).

    PYTHONPATH=. .venv/bin/python benchmarks/concurrency.py [--pairs 128] [--repeats 1] [--before REV]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from processes import build_inputs, params_file  # noqa: E402  (benchmarks/processes.py)


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def before_fix() -> str:
    """The commit before pipeline/cores.py was added (HEAD where it is not committed yet)."""
    added = git("log", "--diff-filter=A", "--format=%H", "--", "pipeline/cores.py").splitlines()
    return git("rev-parse", "--short", f"{added[-1]}^") if added else git("rev-parse", "--short", "HEAD")


def train_command(code: Path, inputs: dict[str, Path], params: Path, run: Path) -> tuple[list[str], dict[str, str], Path]:
    command = [
        sys.executable, "-m", "pipeline", "train", "--variant", "coin", "--base", str(inputs["base"]),
        "--train", str(inputs["train"]), "--out", str(run / "model"), "--checkpoints", str(run / "ck"),
        "--live", str(run / "live"), "--params", str(params),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "WORLD_SIZE")}
    return command, {**env, "PYTHONPATH": str(code)}, code


def start(spec: tuple[list[str], dict[str, str], Path]) -> subprocess.Popen:
    command, env, cwd = spec
    return subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> None:
    _, err = process.communicate()
    if process.returncode:
        sys.exit(f"failed: {' '.join(process.args)}\n{err[-2000:]}")


def sequential(specs: list) -> list[float]:
    """Seconds of each run, one after the other."""
    seconds = []
    for spec in specs:
        began = time.perf_counter()
        finish(start(spec))
        seconds.append(time.perf_counter() - began)
    return seconds


def at_once(specs: list) -> float:
    """Seconds until every run, all started together, has ended."""
    began = time.perf_counter()
    processes = [start(spec) for spec in specs]
    for process in processes:
        finish(process)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=128, help="training pairs per run (2 entries each; batch 16)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--before", default=None, help="git revision of the code before the fix")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    before = args.before or before_fix()
    after = git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "--", "pipeline", "coin") else "")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = build_inputs(folder, args.pairs, 10, args.seed)
        params = params_file(folder, 1)
        old = folder / "before"
        git("worktree", "add", "--detach", str(old), before)
        try:
            results = {}
            for name, code in (("before", old), ("after", ROOT)):
                alone, total, together = [], [], []
                for repeat in range(args.repeats):
                    runs = [train_command(code, inputs, params, folder / f"{name}-{repeat}-{k}") for k in range(4)]
                    seconds = sequential(runs[:2])
                    alone += seconds
                    total.append(sum(seconds))
                    together.append(at_once(runs[2:]))
                results[name] = {k: statistics.median(v) for k, v in (("alone", alone), ("sequential", total), ("at_once", together))}
        finally:
            git("worktree", "remove", "--force", str(old))
    steps = -(-args.pairs * 2 // 16)
    print(f"cores {len(os.sched_getaffinity(0))}; each run: train --variant coin, embedded tiny LLaMA, {args.pairs * 2} entries, "
          f"{steps} steps of batch 16; medians of {args.repeats} repeat(s)")
    print(f"before = {before}, after = {after}")
    print(f"{'code':7s} {'one alone s':>12s} {'two in a row s':>15s} {'two at once s':>14s} {'at once / in a row':>19s}")
    for name, r in results.items():
        print(f"{name:7s} {r['alone']:12.1f} {r['sequential']:15.1f} {r['at_once']:14.1f} {r['at_once'] / r['sequential']:19.2f}")
    new, old_r = results["after"], results["before"]
    print(f"at_once_over_sequential={new['at_once'] / new['sequential']:.2f} alone_new_over_old={old_r['alone'] / new['alone']:.2f}")


if __name__ == "__main__":
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
