"""The paper's configuration is one command away, and every value of it is the paper's."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

import pipeline.profile  # noqa: F401  (registers the command)
from coin.params import load_params
from pipeline.app import app

ROOT = Path(__file__).resolve().parents[1]


def _applied(tmp_path, name: str):
    """The params after `python -m pipeline profile configs/<name>.yaml` on a copy of params.yaml."""
    params = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", params)
    result = CliRunner().invoke(app, ["profile", str(ROOT / "configs" / f"{name}.yaml"), "--params", str(params)])
    assert result.exit_code == 0, result.output
    return load_params(params)


def test_paper_profile_sets_every_paper_value(tmp_path):
    p = _applied(tmp_path, "paper")
    assert (p.train.learning_rate, p.train.batch_size, p.train.micro_batch_size) == (1e-4, 64, 2)
    assert (p.train.epochs, p.train.warmup_ratio) == (1.0, 0.1)
    assert p.train.batch_size // p.train.micro_batch_size == 32  # gradient accumulation steps
    assert p.sample.cutoff_len == 256 and p.sample.n_entries == 52002
    assert p.model.lora.enabled and (p.model.lora.r, p.model.lora.alpha, p.model.lora.dropout) == (16, 16, 0.05)
    assert p.model.lora.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert (p.loss.temperature, p.loss.lam, p.loss.negatives) == (0.05, 1000.0, "pair")
    assert p.eval.n_samples == 300 and p.perturb.n_instructions == 6
    assert p.eval.max_new_tokens == 7 and p.eval.scoring == "generate"
    assert p.data.source == "hub" and p.data.flan_templates == "pinned"
    # keys the profile does not name keep their embedded values
    assert p.eval.tasks == load_params(ROOT / "params.yaml").eval.tasks


def test_bad_profile_leaves_params_untouched(tmp_path):
    params = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", params)
    before = params.read_bytes()
    bad = tmp_path / "bad.yaml"
    bad.write_text("loss:\n  temperature: -1\n")
    result = CliRunner().invoke(app, ["profile", str(bad), "--params", str(params)])
    assert result.exit_code == 2
    assert result.output.strip() == "error: loss.temperature = -1.0 is not allowed: must be > 0"
    assert params.read_bytes() == before


def test_smollm2_profile_sets_every_value(tmp_path):
    p = _applied(tmp_path, "smollm2")
    assert (p.model.base, p.model.dtype, p.model.prompt_format) == ("smollm2-135m-instruct", "auto", "chat")
    lora = p.model.lora
    assert (lora.enabled, lora.r, lora.alpha, lora.dropout, lora.init_adapter) == (True, 16, 16, 0.05, None)
    assert lora.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert (p.sample.n_entries, p.sample.cutoff_len) == (1536, 256)
    assert (p.train.learning_rate, p.train.batch_size, p.train.micro_batch_size, p.train.epochs) == (3e-4, 16, 4, 1.0)
    assert (p.train.warmup_ratio, p.train.logging_steps, p.train.save_steps) == (0.1, 2, 16)
    assert (p.train.group_by_length, p.train.seed) == (8, None)
    assert (p.loss.lam, p.loss.temperature, p.loss.negatives) == (1000.0, 0.05, "pair")
    assert (p.perturb.n_instructions, p.perturb.n_attack_samples, p.perturb.query_budget) == (4, 4, 8)
    assert p.perturb.groups == ["deepwordbug", "textfooler", "checklist", "semantic"]
    assert p.eval.tasks == ["sst2", "cola", "qqp", "mrpc", "mnli", "mnli_m", "mnli_mm", "qnli", "rte", "wnli"]
    assert (p.eval.n_samples, p.eval.scoring, p.eval.parse, p.eval.max_new_tokens) == (24, "both", "mention", 10)
    assert (p.eval.batch_size, p.eval.precision) == (32, "auto")
    assert p.data.datasets == load_params(ROOT / "params.yaml").data.datasets and len(p.data.datasets) == 25
    # every value the profile names is asserted above: a new key needs its own line here
    named = yaml.safe_load((ROOT / "configs" / "smollm2.yaml").read_text())
    assert sum(1 for _ in _leaves(named)) == 34


def _leaves(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"
