"""Bad files behind good-looking values, and faults: each gives its exact one line (exit code 2 for bad
input) at check-params, before DVC deletes any output, and the same line when the stage is run by hand."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_a_prompt_file_that_is_no_prompt_set_stops_check_params(tmp_path):
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
