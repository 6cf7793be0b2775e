"""Bad files behind good-looking values, and faults: each gives its exact one line (exit code 2 for bad
input) at check-params, before DVC deletes any output, and the same line when the stage is run by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import pipeline.cli  # noqa: F401  (registers every command)
from coin.params import merge
from pipeline.app import app

ROOT = Path(__file__).resolve().parents[1]
CLEAN = {"task": "rte", "prompt_id": 1, "group": "clean", "text": "Say.", "clean_text": "Say.", "origin": "mine", "details": {}}


def _params_file(tmp_path: Path, change: dict) -> Path:
    raw = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), change)
    raw["data"]["cache_dir"] = str(tmp_path / "cache")
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _check_params(tmp_path: Path, change: dict):
    params = _params_file(tmp_path, change)
    marker = tmp_path / "params.checked"
    result = CliRunner().invoke(app, ["check-params", "--out", str(marker), "--params", str(params)])
    assert not marker.exists() or result.exit_code == 0
    return result.exit_code, result.output


# ---------------------------------------------------------------- a prompt file of any suffix


def test_a_prompt_file_that_is_no_prompt_set_is_refused_by_check_params(tmp_path):
    garbage = tmp_path / "x.bin"
    garbage.write_bytes(bytes(range(256)) * 4)
    for file in ("/etc/passwd", str(garbage)):
        got = _check_params(tmp_path, {"perturb": {"mode": "file", "file": file}})
        assert got == (2, f"error: perturb.file = '{file}' is not allowed: use a .json or .parquet file\n")


def test_a_duplicated_prompt_key_prints_plain_values(tmp_path):
    file = tmp_path / "prompts.json"
    file.write_text(json.dumps([CLEAN, CLEAN]))
    got = _check_params(tmp_path, {"perturb": {"mode": "file", "file": str(file)}})
    assert got == (2, f"error: {file}: duplicate row for task='rte', group='clean', prompt_id=1 "
                      "(prompt set rows are unique by task, group, prompt_id)\n")
    orphan = dict(CLEAN, group="checklist", text="Say it.", clean_text="Other.")
    file.write_text(json.dumps([CLEAN, orphan]))
    got = _check_params(tmp_path, {"perturb": {"mode": "file", "file": str(file)}})
    assert got == (2, f"error: {file}: (rte, checklist, prompt 1) has no clean row with the same clean_text\n")


# ---------------------------------------------------------------- local copies of the hub datasets


def _copies(root: Path, keep=lambda hub_id, config, split: True) -> Path:
    """Every hub split the project reads, as `hf download` leaves it, less those `keep` refuses."""
    from coin.data.hub_layout import write_registry_repo
    from coin.embedded.mirror import build_mirror

    frames = {key: frame for key, frame in build_mirror(0, 4, 4).items() if keep(*key)}
    for hub_id in sorted({h for h, _, _ in frames}):
        write_registry_repo(root, hub_id, {(c, s): f for (h, c, s), f in frames.items() if h == hub_id})
    return root


def test_a_local_glue_copy_without_a_config_eval_tasks_needs(tmp_path):
    copy = _copies(tmp_path / "glue", lambda hub_id, config, split: hub_id == "nyu-mll/glue" and config == "sst2")
    folder = copy / "nyu-mll" / "glue"
    message = (
        f"error: cola: eval.local_dir = '{copy}': {folder} has no cola/validation-*.parquet for nyu-mll/glue (cola) split "
        f"'validation' (it holds README.md, sst2/): get it with `hf download --repo-type dataset nyu-mll/glue --local-dir {folder}`\n"
    )
    change = {"eval": {"source": "local", "local_dir": str(copy)}}
    assert _check_params(tmp_path, change) == (2, message)
    args = ["prepare-eval", "--mirror", str(tmp_path / "no-mirror"), "--out", str(tmp_path / "eval.parquet"),
            "--params", str(_params_file(tmp_path, change))]
    result = CliRunner().invoke(app, args)  # the stage run by hand: the same line, before any task is read
    assert (result.exit_code, result.output) == (2, message)
    assert not (tmp_path / "eval.parquet").exists()
    change = {"eval": {"tasks": ["sst2"], "states_task": "sst2", "source": "local", "local_dir": str(copy)}}
    assert _check_params(tmp_path, change) == (0, f"{tmp_path / 'params.yaml'}: valid\n")


def test_a_glue_folder_given_in_place_of_the_copies_folder_names_eval_local_dir(tmp_path):
    copy = _copies(tmp_path / "copies", lambda hub_id, config, split: hub_id == "nyu-mll/glue")
    inner = copy / "nyu-mll" / "glue"
    change = {"eval": {"source": "local", "local_dir": str(inner)}}
    args = ["prepare-eval", "--mirror", str(tmp_path / "no-mirror"), "--out", str(tmp_path / "eval.parquet"),
            "--params", str(_params_file(tmp_path, change))]
    result = CliRunner().invoke(app, args)
    nested = inner / "nyu-mll" / "glue"
    assert (result.exit_code, result.output) == (2, (
        f"error: sst2: eval.local_dir = '{inner}' holds no copy of nyu-mll/glue ({nested} does not exist; the folder holds "
        f"one copy per hub id, owner/name): get it with `hf download --repo-type dataset nyu-mll/glue --local-dir {nested}`\n"
    ))


def test_a_local_data_copy_without_a_training_dataset(tmp_path):
    copy = _copies(tmp_path / "copies", lambda hub_id, config, split: hub_id != "CogComp/trec")
    folder = copy / "CogComp" / "trec"
    change = {"data": {"source": "local", "local_dir": str(copy)}}
    assert _check_params(tmp_path, change) == (2, (
        f"error: trec: data.local_dir = '{copy}' holds no copy of CogComp/trec ({folder} does not exist; the folder holds "
        "one copy per hub id, owner/name): get it with "
        f"`hf download --repo-type dataset CogComp/trec --revision refs/convert/parquet --local-dir {folder}`\n"
    ))
    datasets = [d for d in yaml.safe_load((ROOT / "params.yaml").read_text())["data"]["datasets"] if d != "trec"]
    assert _check_params(tmp_path, merge(change, {"data": {"datasets": datasets}})) == (0, f"{tmp_path / 'params.yaml'}: valid\n")


# ---------------------------------------------------------------- params.yaml that does not parse


def test_a_yaml_syntax_error_names_line_column_and_what_was_expected(tmp_path):
    lines = (ROOT / "params.yaml").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  source: embedded"))
    lines[at] = "  source: [embedded"  # an unclosed list; the parser finds out on the next key
    params = tmp_path / "params.yaml"
    params.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["check-params", "--out", str(tmp_path / "ok"), "--params", str(params)])
    assert (result.exit_code, result.output) == (2, (
        f"error: {params} is not valid YAML: line {at + 2}, column 12: expected ',' or ']', but got ':' "
        f"(while parsing a flow sequence that starts at line {at + 1}, column 11)\n"
    ))
    params.write_text("seed: 42\ndata: \x07\n")
    result = CliRunner().invoke(app, ["check-params", "--out", str(tmp_path / "ok"), "--params", str(params)])
    assert (result.exit_code, result.output) == (2, (
        f"error: {params} is not valid YAML: unacceptable character #x0007: special characters are not allowed at position 15\n"
    ))


# ---------------------------------------------------------------- checkpoints


def _state(step: int, **fields) -> dict:
    import dataclasses

    from transformers.trainer_callback import TrainerState

    state = TrainerState(global_step=step, train_batch_size=2, log_history=[{"loss": 1.0, "step": 1}])
    return {**dataclasses.asdict(state), **fields}


def test_a_checkpoint_whose_state_the_trainer_cannot_load_is_removed_like_a_cut_off_one(tmp_path, capsys):
    from pipeline.train import RUN_FILE, checkpoint_to_resume, is_complete_checkpoint, trainer_state_problem

    fingerprint = {"params": "p", "base": "b", "train": "t"}
    ck = tmp_path / "checkpoints"
    ck.mkdir()
    (ck / RUN_FILE).write_text(json.dumps(fingerprint))
    states = {
        2: _state(2),  # the Trainer's own
        4: {"global_step": 4},  # parses, but no train_batch_size: the Trainer's resume raised a TypeError
        6: _state(4),  # another step's state
        8: _state(8, train_batch_size=None),
        10: _state(10, best=1.0),  # a key TrainerState does not take
        12: _state(12, log_history=[{"loss": 1.0}]),  # a log without its step
    }
    for step, state in states.items():
        (ck / f"checkpoint-{step}").mkdir()
        (ck / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps(state))
    assert [trainer_state_problem(states[s], s) for s in states] == [
        None,
        "train_batch_size None is not a positive whole number",
        "global_step 4 is not the folder's step 6",
        "train_batch_size None is not a positive whole number",
        "'best' is no TrainerState field",
        "log_history is not a list of logs at steps 0..12",
    ]
    assert checkpoint_to_resume(ck, fingerprint) == str(ck / "checkpoint-2")
    removed = sorted(capsys.readouterr().err.splitlines(), key=lambda line: int(line.split("checkpoint-")[1].split(" ")[0]))
    assert removed == [
        f"removing incomplete checkpoint {ck / f'checkpoint-{s}'} (no trainer_state.json the Trainer can load at step {s}: "
        "cut off during a save)"
        for s in (4, 6, 8, 10, 12)
    ]
    assert sorted(p.name for p in ck.iterdir()) == ["checkpoint-2", RUN_FILE] and is_complete_checkpoint(ck / "checkpoint-2")


def test_checkpoint_files_get_the_usual_permissions(tmp_path):
    import os
    import stat
    from types import SimpleNamespace

    from coin.training.trainer import UsualPermissions

    folder = tmp_path / "checkpoint-3"
    folder.mkdir(mode=0o700)
    (folder / "model.safetensors").write_bytes(b"weights")
    os.chmod(folder / "model.safetensors", 0o600)  # as safetensors writes it
    old = os.umask(0o022)
    try:
        UsualPermissions().on_save(SimpleNamespace(output_dir=str(tmp_path)), SimpleNamespace(global_step=3, is_world_process_zero=True), None)
    finally:
        os.umask(old)
    assert stat.S_IMODE((folder / "model.safetensors").stat().st_mode) == 0o644


# ---------------------------------------------------------------- a stage whose DVC process ended


def test_a_dvc_stage_ends_when_its_parent_ends(tmp_path):
    """A parent (standing in for dvc) starts a stage under DVC_STAGE and is killed with SIGKILL: the stage
    gets SIGTERM at once, so it cannot write beside the next run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    pid_file = tmp_path / "stage.pid"
    stage = (
        "import os, sys, time; from pipeline.app import stage\n"
        "def run():\n"
        f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(120)\n"
        "stage(run)()\n"
    )
    parent = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {stage!r}])\n"
        "time.sleep(120)\n"
    )
    env = {**os.environ, "DVC_STAGE": "train-coin", "PYTHONPATH": str(ROOT)}
    dvc = subprocess.Popen([sys.executable, "-c", parent], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not (pid_file.is_file() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        pid = int(pid_file.read_text())
        status = Path(f"/proc/{pid}/status").read_text()
        assert f"PPid:\t{dvc.pid}" in status
        dvc.send_signal(signal.SIGKILL)
        dvc.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        gone = not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
        assert gone, "the stage outlived its parent"
    finally:
        dvc.kill()
        if pid_file.is_file() and pid_file.read_text() and Path(f"/proc/{pid_file.read_text()}").exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_stage_run_by_hand_keeps_its_default_parent_death_signal():
    """Only under DVC: a stage run by hand under nohup or disown outlives the shell that started it."""
    import os
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    code = (
        "import ctypes, os; from pipeline.app import stage\n"
        "def run():\n"
        "    sig = ctypes.c_int(-1); ctypes.CDLL(None).prctl(2, ctypes.byref(sig), 0, 0, 0); print(sig.value)\n"  # PR_GET_PDEATHSIG
        "stage(run)()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DVC_STAGE"}
    by_hand = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    under_dvc = subprocess.run([sys.executable, "-c", code], env={**env, "DVC_STAGE": "x"}, cwd=ROOT, capture_output=True, text=True, check=True)
    assert (by_hand.stdout, under_dvc.stdout) == ("0\n", "15\n")  # no signal / SIGTERM


def test_live_metric_files_never_hold_a_step_twice(tmp_path):
    """A resumed Live (DVCLIVE_RESUME) replaying the checkpoint's history, and an old writer still
    appending beside it: every tsv keeps one row per step, in ascending order."""
    import pandas as pd
    from dvclive import Live

    from coin.training.trainer import LiveMetrics

    def writer(resume: bool) -> LiveMetrics:
        return LiveMetrics(live=Live(dir=str(tmp_path / "live"), save_dvc_exp=False, dvcyaml=None, resume=resume))

    old = writer(False)
    for step in range(1, 9):  # the first run, killed at step 8 (its last checkpoint at 4)
        old._write(step, {"loss": float(step)})
    new = writer(True)
    for step in range(1, 5):  # the rerun replays the checkpoint's log history
        new._write(step, {"loss": float(step)})
    old._write(9, {"loss": 9.0})  # an orphan of the first run, still writing
    for step in range(5, 7):
        new._write(step, {"loss": float(step) + 0.5})
    tsv = tmp_path / "live" / "plots" / "metrics" / "loss.tsv"
    rows = pd.read_csv(tsv, sep="\t")
    assert rows["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert rows["loss"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.5, 6.5]
    with tsv.open("a") as handle:
        handle.write("7\t7.")  # a row cut off by a kill
    new._write(7, {"loss": 7.5})
    assert tsv.read_text().splitlines()[-3:] == ["5\t5.5", "6\t6.5", "7\t7.5"]


def test_a_sigterm_to_a_relaunched_stage_ends_its_launcher(tmp_path):
    """train.processes > 1: the stage waits on `accelerate launch`; the SIGTERM its parent's end sends it
    ends the launcher too (and the launcher its ranks), so no rank keeps writing."""
    import os
    import signal
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    pid_file = tmp_path / "launcher.pid"
    launcher = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    code = (
        "import sys, pipeline.launch as launch\n"
        f"launch.accelerate_command = lambda processes, target, cores: [sys.executable, '-c', {launcher!r}]\n"
        "launch.relaunch(2, ['train'], 'train.processes')\n"
    )
    stage = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (pid_file.is_file() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        pid = int(pid_file.read_text())
        stage.send_signal(signal.SIGTERM)
        assert stage.wait(timeout=60) == 128 + signal.SIGTERM
        assert not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    finally:
        stage.kill()
        if pid_file.is_file() and pid_file.read_text() and Path(f"/proc/{pid_file.read_text()}").exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_templates_file_or_prompt_folder_that_does_not_parse_stops_check_params(tmp_path):
    templates = tmp_path / "templates.py"
    templates.write_text("PATTERNS = {\n")
    got = _check_params(tmp_path, {"data": {"flan_templates": str(templates)}})
    assert got == (2, f"error: data.flan_templates = '{templates}': templates source is not valid Python: line 1: '{{' was never closed\n")
    folder = tmp_path / "prompts"
    folder.mkdir()
    got = _check_params(tmp_path, {"perturb": {"instructions": str(folder)}})
    assert got[0] == 2 and got[1].startswith(f"error: perturb.instructions = '{folder}': {folder}: has none of ")
    assert got[1].count("\n") == 1
