"""A throwaway git + DVC copy of this project on a miniature embedded profile (the e2e test and
benchmarks/ablation_queue.py): the real code, dvc.yaml and params.yaml with MINIATURE merged in.
The copy itself is pipeline.project_copy's (shared with `python -m pipeline smoke`)."""

from __future__ import annotations

from pathlib import Path

import yaml

from coin.params import merge
from pipeline.project_copy import ROOT, copy_project, run_in

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


def miniature_project(path: Path) -> Path:
    """Copy coin/, pipeline/, dvc.yaml and the miniature params.yaml into `path`, as one git commit."""
    return copy_project(path, merge(yaml.safe_load((ROOT / "params.yaml").read_text()), MINIATURE))


__all__ = ["MINIATURE", "ROOT", "miniature_project", "run_in"]
