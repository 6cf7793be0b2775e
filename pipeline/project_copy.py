"""A throwaway git + DVC copy of this project: its code, dvc.yaml and a given params.yaml, as one commit.

Used by `python -m pipeline smoke` (pipeline/smoke.py), the e2e test (tests/miniature.py) and
benchmarks/ablation_queue.py. The copy has its own git repository and DVC cache, so nothing it runs
touches the tree it was copied from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CODE = ("coin", "pipeline")  # packages copied
FILES = ("dvc.yaml", ".dvcignore", ".gitignore")  # files copied as they are


def command_env(env: dict | None = None) -> dict[str, str]:
    """This venv first on PATH, offline, a git identity, no DVC analytics (plus `env`)."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
        "DVC_NO_ANALYTICS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
        **(env or {}),
    }


def run_in(cwd: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command in `cwd` (command_env), output captured; `check`: a failure raises with its output."""
    result = subprocess.run(list(args), cwd=cwd, env=command_env(env), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def copy_project(path: Path, params: dict[str, Any], root: Path = ROOT) -> Path:
    """Copy coin/, pipeline/, dvc.yaml and `params` (as params.yaml) from `root` into `path`, then
    `git init`, `dvc init` and commit everything once. Returns `path`."""
    path = Path(path)
    for name in CODE:
        shutil.copytree(root / name, path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in FILES:
        shutil.copy(root / name, path / name)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, width=110, allow_unicode=True))
    run_in(path, "git", "init", "-q")
    run_in(path, "dvc", "init", "-q")
    run_in(path, "dvc", "config", "core.analytics", "false")
    run_in(path, "git", "add", "-A")
    run_in(path, "git", "commit", "-qm", "project")
    return path


__all__ = ["ROOT", "command_env", "copy_project", "run_in"]
