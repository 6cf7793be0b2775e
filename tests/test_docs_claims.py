"""Claims of README.md / docs/DESIGN.md that code or config must keep true (issue 24).

The resume fingerprint covers sample.cutoff_len; check-params asks for perturb.embedding only when the
perturbation search reads it; configs/accelerate/ddp.yaml is what `train.processes: 2` launches; the
README's `--help` hint names commands that exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

import pipeline.cli  # noqa: F401  (registers every command)
from coin.params import check_paths, merge, params_from_dict
from pipeline.app import app
from pipeline.launch import accelerate_command
from pipeline.train import resolved_params, run_fingerprint

ROOT = Path(__file__).resolve().parents[1]


def _params(change: dict):
    return params_from_dict(merge(yaml.safe_load((ROOT / "params.yaml").read_text()), change))


def test_resume_fingerprint_changes_with_sample_cutoff_len(tmp_path):
    train = tmp_path / "train.parquet"
    train.write_bytes(b"rows")
    fingerprints = {
        cutoff: run_fingerprint(resolved_params(_params({"sample": {"cutoff_len": cutoff}}), "coin"), tmp_path / "base", train)
        for cutoff in (128, 256)
    }
    assert fingerprints[128]["params"] != fingerprints[256]["params"]
    assert resolved_params(_params({"sample": {"cutoff_len": 128}}), "cit")["sample"] == {"cutoff_len": 128}


def test_resume_fingerprint_ignores_how_the_run_starts():
    one = resolved_params(_params({}), "coin")
    other = resolved_params(_params({"train": {"resume": "never", "processes": 2}, "sample": {"n_entries": 1000}}), "coin")
    assert one == other  # resume, processes and the sample size (data/train.parquet's hash covers it) are left out


def test_train_stages_declare_every_param_the_fingerprint_holds():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, variant in (("train-cit", "cit"), ("train-coin", "coin")):
        resolved = resolved_params(_params({}), variant)
        keys = {k for k in resolved if k not in ("variant", "sample")} | {f"sample.{k}" for k in resolved["sample"]}
        assert keys == set(stages[name]["params"]), name


def test_check_params_ignores_a_missing_embedding_the_run_does_not_read():
    # perturbed positives use the embedded vectors (pipeline/augment.py); with a prompt file nothing searches
    params = _params({"augment": {"positives": "perturbed"},
                      "perturb": {"mode": "file", "file": str(ROOT / "params.yaml"), "embedding": "/no/glove.txt"}})
    check_paths(params)  # no error


def test_check_params_requires_the_embedding_the_search_reads(tmp_path):
    params_file = tmp_path / "params.yaml"
    raw = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), {"perturb": {"embedding": "/no/glove.txt"}})
    params_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    result = CliRunner().invoke(app, ["check-params", "--out", str(tmp_path / "ok"), "--params", str(params_file)])
    assert (result.exit_code, result.output) == (
        2, "error: perturb.embedding = '/no/glove.txt' is not an existing file: use embedded, textattack or a path to a word2vec/GloVe text file\n"
    )


def test_ddp_config_is_what_train_processes_2_launches():
    config = yaml.safe_load((ROOT / "configs" / "accelerate" / "ddp.yaml").read_text())
    command = accelerate_command(2, ["-m", "pipeline", "train"], cores=2)
    flags = dict(zip(command[3::], command[4::]))
    assert "--multi_gpu" in command and config["distributed_type"] == "MULTI_GPU"
    assert str(config["num_processes"]) == flags["--num_processes"] == "2"
    assert str(config["num_machines"]) == flags["--num_machines"] == "1"
    assert config["mixed_precision"] == flags["--mixed_precision"] == "no"
    assert config.get("dynamo_config", {}) == {} and flags["--dynamo_backend"] == "no"


def test_readme_help_hint_names_real_commands():
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| one stage by hand |"))
    commands = re.findall(r"`python -m pipeline ([a-z][a-z-]*)((?: --[a-z-]+(?: [a-z|<>]+)?)*)", row)
    assert {name for name, _ in commands} >= {"train", "evaluate"}
    registered = {info.name for info in app.registered_commands}
    for name, options in commands:
        assert name in registered, name
        help_text = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200"}).output
        for option in re.findall(r"--[a-z-]+", options):
            if option != "--help":
                assert option in help_text, (name, option)


def test_every_dvc_stage_runs_a_registered_command():
    registered = {info.name for info in app.registered_commands}
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        cmd = stage.get("cmd") or stage["do"]["cmd"]
        command = re.search(r"python -m pipeline (\S+)", cmd).group(1)
        assert command in registered, (name, command)
