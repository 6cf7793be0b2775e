"""One queued DVC experiment per ablation kind on the miniature profile, then the sweep table of each.

Builds the e2e test's miniature project (tests/test_pipeline_e2e.py) in a temp folder, runs `dvc repro`,
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

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coin.params import merge  # noqa: E402
from tests.test_pipeline_e2e import MINIATURE, _run  # noqa: E402

KINDS = {
    "loss.pooling": "mean",
    "augment.negatives": "normal",
    "augment.positives": "perturbed",
    "loss.gen_reduction": "views",
}


def main() -> None:
    path = Path(tempfile.mkdtemp(prefix="coin-ablations-"))
    for name in ("coin", "pipeline"):
        shutil.copytree(ROOT / name, path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(ROOT / name, path / name)
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), MINIATURE)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for args in (("git", "init", "-q"), ("dvc", "init", "-q"), ("git", "add", "-A"), ("git", "commit", "-qm", "project")):
        _run(path, *args)
    start = time.perf_counter()
    _run(path, "dvc", "repro")
    _run(path, "git", "add", "-A")
    _run(path, "git", "commit", "-qm", "baseline")
    print(f"baseline dvc repro (miniature): {time.perf_counter() - start:.1f} s")
    for key, value in KINDS.items():
        _run(path, "dvc", "exp", "run", "--queue", "-S", f"{key}={value}", "-n", f"{key.split('.')[1]}-{value}")
    start = time.perf_counter()
    _run(path, "dvc", "exp", "run", "--run-all")
    print(f"{len(KINDS)} queued experiments: {time.perf_counter() - start:.1f} s\n")
    for key in KINDS:
        out = path / "reports" / "sweep" / key
        _run(path, sys.executable, "-m", "pipeline", "sweep", "--by", key, "--out", str(out))
        print((out / "sweep.md").read_text().split("\n\n", 2)[2].split("\n![")[0])
    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
