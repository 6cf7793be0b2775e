"""A throwaway git + DVC copy of this project on a miniature embedded profile (the e2e test and
benchmarks/ablation_queue.py): the real code, dvc.yaml and params.yaml with MINIATURE merged in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from coin.params import merge

ROOT = Path(__file__).resolve().parents[1]

# A profile small enough for about a minute of work; every stage still does its real job.
MINIATURE = {
    "data": {"mirror_train_rows": 24, "mirror_eval_rows": 12},
    "sample": {"n_entries": 100},
    "model": {"tiny": {"vocab_size": 800, "hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64}},
    "train": {"batch_size": 8, "micro_batch_size": 4, "epochs": 1, "logging_steps": 2, "save_steps": 5},
    "perturb": {"n_instructions": 2, "n_attack_samples": 4, "query_budget": 6},
    "eval": {"n_samples": 6, "batch_size": 32},
    "report": {"bootstrap_samples": 200},
}


def run_in(cwd: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command in `cwd` with this venv first on PATH, offline, with a git identity."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
        "DVC_NO_ANALYTICS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
        **(env or {}),
    }
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def miniature_project(path: Path) -> Path:
    """Copy coin/, pipeline/, dvc.yaml and the miniature params.yaml into `path`, as one git commit."""
    for name in ("coin", "pipeline"):
        shutil.copytree(ROOT / name, path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(ROOT / name, path / name)
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), MINIATURE)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run_in(path, "git", "init", "-q")
    run_in(path, "dvc", "init", "-q")
    run_in(path, "dvc", "config", "core.analytics", "false")
    run_in(path, "git", "add", "-A")
    run_in(path, "git", "commit", "-qm", "project")
    return path
