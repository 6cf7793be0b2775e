"""One queued DVC experiment per ablation kind on the miniature profile, then the sweep table of each.

Builds the e2e test's miniature project (tests/miniature.py) in a temp folder, runs `dvc repro`,
queues `-S loss.pooling=mean`, `-S augment.negatives=normal`, `-S augment.positives=perturbed` and
`-S loss.gen_reduction=views`, runs the queue (`dvc exp run --run-all`) and prints
`python -m pipeline sweep --by <key>` for each key, with wall times. The embedded default takes the same
commands (about 8 minutes per experiment on a 2-core CPU).

    PYTHONPATH=. .venv/bin/python benchmarks/ablation_queue.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.miniature import miniature_project, run_in  # noqa: E402

KINDS = {
    "loss.pooling": "mean",
    "augment.negatives": "normal",
    "augment.positives": "perturbed",
    "loss.gen_reduction": "views",
}


def main() -> None:
    path = miniature_project(Path(tempfile.mkdtemp(prefix="coin-ablations-")))
    start = time.perf_counter()
    run_in(path, "dvc", "repro")
    run_in(path, "git", "add", "-A")
    run_in(path, "git", "commit", "-qm", "baseline")
    print(f"baseline dvc repro (miniature): {time.perf_counter() - start:.1f} s")
    for key, value in KINDS.items():
        run_in(path, "dvc", "exp", "run", "--queue", "-S", f"{key}={value}", "-n", f"{key.split('.')[1]}-{value}")
    start = time.perf_counter()
    run_in(path, "dvc", "exp", "run", "--run-all")
    print(f"{len(KINDS)} queued experiments: {time.perf_counter() - start:.1f} s\n")
    for key in KINDS:
        out = path / "reports" / "sweep" / key
        run_in(path, sys.executable, "-m", "pipeline", "sweep", "--by", key, "--out", str(out))
        print((out / "sweep.md").read_text().split("\n\n", 2)[2].split("\n![")[0])
    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
