"""The whole DVC pipeline on a miniature embedded profile, in a throwaway git + DVC project.

Checks the acceptance rules of the pipeline as a user meets them: `dvc repro` runs end to end and
leaves the report and three metrics files; nothing reruns when nothing changed; changing only
`loss.lambda` (to a value that changes the model) reruns exactly train-coin, evaluate@coin and report, and so does
`loss.pooling`; `augment.negatives` reruns augment and what follows it, never the stages before; `dvc metrics diff`
lists per-task, per-group accuracy keys; a bad `-S` value fails with the one-line error.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
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


def _run(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
        "DVC_NO_ANALYTICS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
    }
    result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def _ran_stages(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("coin-project")
    for name in ("coin", "pipeline"):
        shutil.copytree(ROOT / name, path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(ROOT / name, path / name)
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), MINIATURE)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(path, "git", "init", "-q")
    _run(path, "dvc", "init", "-q")
    _run(path, "dvc", "config", "core.analytics", "false")
    _run(path, "git", "add", "-A")
    _run(path, "git", "commit", "-qm", "project")
    repro = _run(path, "dvc", "repro")
    assert "Running stage 'report'" in repro.stdout
    _run(path, "git", "add", "-A")
    _run(path, "git", "commit", "-qm", "baseline")
    return path


def test_repro_leaves_report_and_metrics(project):
    for name in ("base", "cit", "coin"):
        metrics = json.loads((project / "reports" / "metrics" / f"{name}.json").read_text())
        for task in ("sst2", "cola", "qqp", "mrpc", "mnli", "mnli_m", "mnli_mm", "qnli", "rte", "wnli"):
            for group in ("clean", "deepwordbug", "textfooler", "checklist", "semantic"):
                assert 0 <= metrics[task][group]["acc_mean"] <= 100
    table = (project / "reports" / "paper" / "table3.md").read_text()
    assert "SST-2" in table and "±" in table
    assert (project / "reports" / "paper" / "figure3.png").stat().st_size > 1000


def test_nothing_changed_reruns_nothing(project):
    result = _run(project, "dvc", "repro")
    assert _ran_stages(result.stdout) == set()


def test_lambda_reruns_only_the_coin_branch_and_metrics_diff_lists_keys(project):
    result = _run(project, "dvc", "exp", "run", "-S", "loss.lambda=1")
    assert _ran_stages(result.stdout) == {"train-coin", "evaluate@coin", "report"}
    diff = json.loads(_run(project, "dvc", "metrics", "diff", "--all", "--json").stdout)
    coin_keys = set(diff["reports/metrics/coin.json"])
    assert {"sst2.clean.acc_mean", "sst2.deepwordbug.acc_std", "average.semantic.acc_mean"} <= coin_keys
    _run(project, "git", "checkout", "--", "params.yaml")
    _run(project, "dvc", "checkout", "-q")


def test_bad_set_value_fails_with_one_line_error(project):
    result = _run(project, "dvc", "exp", "run", "-S", "loss.lambda=-1", check=False)
    assert result.returncode != 0
    assert "error: loss.lambda = -1.0 is not allowed: must be >= 0" in result.stdout + result.stderr
    _run(project, "git", "checkout", "--", "params.yaml")


def test_pooling_reruns_only_the_coin_branch(project):
    result = _run(project, "dvc", "exp", "run", "-S", "loss.pooling=mean")
    assert _ran_stages(result.stdout) == {"train-coin", "evaluate@coin", "report"}
    _run(project, "git", "checkout", "--", "params.yaml")
    _run(project, "dvc", "checkout", "-q")


BEFORE_AUGMENT = {"mirror", "extract", "base-model", "prepare-eval", "sample"}


def test_normal_negatives_rerun_augment_and_everything_after(project):
    result = _run(project, "dvc", "exp", "run", "-S", "augment.negatives=normal")
    ran = _ran_stages(result.stdout)
    assert {"augment", "train-cit", "train-coin", "perturb", "evaluate@cit", "evaluate@coin", "report"} <= ran
    assert not ran & BEFORE_AUGMENT  # evaluate@base reruns only if the CIT-searched prompts changed
    card = json.loads((project / "reports" / "data_card" / "data_card.json").read_text())
    assert card["negatives"] == {"hard": 0, "normal": 50} and card["settings"]["negatives"] == "normal"
    _run(project, "git", "checkout", "--", "params.yaml")
    _run(project, "dvc", "checkout", "-q")
