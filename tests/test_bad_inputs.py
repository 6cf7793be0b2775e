"""Every bad input of issue 12 gives one line on stderr and exit code 2, and no stray files are left.

Each row is run through the real command line (`python -m pipeline check-params`, the first stage of
dvc.yaml, or the stage that reads the bad file) and checked for its exact message.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import pipeline.cli  # noqa: F401  (registers every command)
from coin.errors import DataError
from coin.io import atomic_dir, read_parquet, remove_stale_temporaries, write_json, write_text
from coin.params import merge
from coin.schemas import PROMPTS
from pipeline.app import app

ROOT = Path(__file__).resolve().parents[1]
NOT_ALLOWED = "is not allowed"
EXISTING = "is not an existing"  # a path param that names no file or folder


def _params_file(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw = change(raw) if callable(change) else merge(raw, change)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _drop(section):
    def change(raw):
        del raw[section]
        return raw
    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"train": {"batch_size": 0}}, f"train.batch_size = 0 {NOT_ALLOWED}: must be >= micro_batch_size (8)"),
        ({"train": {"batch_size": -8}}, f"train.batch_size = -8 {NOT_ALLOWED}: must be >= micro_batch_size (8)"),
        ({"train": {"micro_batch_size": 0}}, f"train.micro_batch_size = 0 {NOT_ALLOWED}: must be >= 2"),
        ({"loss": {"lambda": -1}}, f"loss.lambda = -1.0 {NOT_ALLOWED}: must be >= 0"),
        ({"loss": {"lambda": float("nan")}}, f"loss.lambda = nan {NOT_ALLOWED}: must be a finite number"),
        ({"loss": {"temperature": "inf"}}, f"loss.temperature = inf {NOT_ALLOWED}: must be a finite number"),
        ({"train": {"learning_rate": float("-inf")}}, f"train.learning_rate = -inf {NOT_ALLOWED}: must be a finite number"),
        ({"model": {"base": ""}}, f"model.base = '' {NOT_ALLOWED}: must be a non-empty string (null where none is meant)"),
        ({"data": {"cache_dir": " "}}, f"data.cache_dir = ' ' {NOT_ALLOWED}: must be a non-empty string (null where none is meant)"),
        ({"model": {"base": "/no/such/path"}},
         f"model.base = '/no/such/path' {NOT_ALLOWED}: no such folder, and not a hub id (name or owner/name)"),
        ({"train": {"resume": "sometimes"}}, f"train.resume = 'sometimes' {NOT_ALLOWED}: use one of auto, never"),
        ({"train": {"group_by_length": -1}}, f"train.group_by_length = -1 {NOT_ALLOWED}: must be >= 0"),
        (_drop("report"), "report is missing from params"),
        ({"data": {"source": "local", "local_dir": "/no/mirror"}},
         f"data.local_dir = '/no/mirror' {EXISTING} folder: data.source = 'local' needs a folder of hub-repo copies (one per hub id)"),
        ({"eval": {"source": "local", "local_dir": "/no/glue"}},
         f"eval.local_dir = '/no/glue' {EXISTING} folder: eval.source = 'local' needs a folder holding nyu-mll/glue "
         "(as `hf download` leaves it)"),
        ({"data": {"flan_templates": "/no/templates.py"}},
         f"data.flan_templates = '/no/templates.py' {EXISTING} file: use embedded, pinned or the path of a templates.py"),
        ({"perturb": {"mode": "file", "file": "/no/prompts.json"}},
         f"perturb.file = '/no/prompts.json' {EXISTING} file: give a JSON or Parquet prompt set"),
        ({"perturb": {"instructions": "/no/promptbench"}},
         f"perturb.instructions = '/no/promptbench' {EXISTING} folder: use embedded, pinned, pinned-current or a folder of "
         "PromptBench's prompt modules"),
        ({"perturb": {"embedding": "/no/glove.txt"}},
         f"perturb.embedding = '/no/glove.txt' {EXISTING} file: use embedded, textattack or a path to a word2vec/GloVe text file"),
        ({"perturb": {"sentence_encoder": "/no/encoder"}},
         f"perturb.sentence_encoder = '/no/encoder' {EXISTING} folder: use none, use or an existing encoder folder"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_bad_param_is_one_line_and_exit_2(tmp_path, change, message):
    params = _params_file(tmp_path, change)
    marker = tmp_path / "params.checked"
    result = CliRunner().invoke(app, ["check-params", "--out", str(marker), "--params", str(params)])
    assert (result.exit_code, result.output) == (2, f"error: {message}\n")
    assert not marker.exists()


def test_path_params_that_exist_or_are_unused_pass_check_params(tmp_path):
    from coin.data.hub_layout import write_registry_repo
    from coin.embedded.mirror import build_mirror

    frames = build_mirror(0, 4, 4)  # every hub split the project reads, as `hf download` leaves it
    for hub_id in sorted({h for h, _, _ in frames}):
        write_registry_repo(tmp_path / "mirror", hub_id, {(c, s): f for (h, c, s), f in frames.items() if h == hub_id})
    (tmp_path / "glove.txt").write_text("river 0.1 0.2\n")
    clean = {"task": "rte", "prompt_id": 0, "group": "clean", "text": "Say.", "clean_text": "Say.", "origin": "mine", "details": {}}
    (tmp_path / "prompts.json").write_text(json.dumps([clean]))
    change = {
        "data": {"source": "local", "local_dir": str(tmp_path / "mirror")},
        "perturb": {"embedding": str(tmp_path / "glove.txt"), "mode": "file", "file": str(tmp_path / "prompts.json"),
                    "sentence_encoder": "/unused/when/mode/is/file"},
    }
    params = _params_file(tmp_path, change)
    result = CliRunner().invoke(app, ["check-params", "--out", str(tmp_path / "ok"), "--params", str(params)])
    assert (result.exit_code, result.output) == (0, f"{params}: valid\n")


def test_model_base_folder_without_a_model_and_a_file(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "weights.bin").write_bytes(b"x")
    for base, message in [
        (empty, f"model.base = '{empty}' {NOT_ALLOWED}: the folder holds no model (no config.json / adapter_config.json / base.json)"),
        (tmp_path / "weights.bin", f"model.base = '{tmp_path / 'weights.bin'}' {NOT_ALLOWED}: it is a file, not a model folder"),
    ]:
        params = _params_file(tmp_path, {"model": {"base": str(base)}})
        result = CliRunner().invoke(app, ["base-model", "--flan", str(tmp_path), "--out", str(tmp_path / "out"), "--params", str(params)])
        assert (result.exit_code, result.output) == (2, f"error: {message}\n")
    (empty / "config.json").write_text("{}")
    _params_file(tmp_path, {"model": {"base": str(empty)}})  # a model folder is accepted
    from coin.params import load_params

    assert load_params(tmp_path / "params.yaml").model.base == str(empty)


def test_hub_ids_are_accepted_as_model_base(tmp_path):
    from coin.params import load_params

    for hub_id in ("yahma/llama-7b-hf", "gpt2"):
        assert load_params(_params_file(tmp_path, {"model": {"base": hub_id}})).model.base == hub_id


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is not a readable Parquet file (Parquet file size is 0 bytes)"),
        (b"PAR1\x00\x00garbage", "is not a readable Parquet file (Parquet magic bytes not found in footer. "
                                 "Either the file is corrupted or this is not a parquet file.)"),
    ],
    ids=["empty", "truncated"],
)
def test_unreadable_parquet_is_one_line_and_exit_2(tmp_path, content, message):
    bad = tmp_path / "prompts.parquet"
    bad.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_parquet(bad, PROMPTS)
    assert str(info.value) == f"{bad} {message}: rerun the stage that writes it (dvc repro -f -s <stage>)"
    args = ["evaluate", "--name", "coin", "--model", str(tmp_path), "--prompts", str(bad), "--eval", str(bad),
            "--predictions", str(tmp_path / "p.parquet"), "--states", str(tmp_path / "s.npz"),
            "--metrics", str(tmp_path / "m.json"), "--summary", str(tmp_path / "s.json"), "--params", str(ROOT / "params.yaml")]
    result = CliRunner().invoke(app, args)
    assert (result.exit_code, result.output) == (2, f"error: {info.value}\n")


def test_eval_rows_without_any_row_name_prepare_eval():
    from coin.evaluation.glue import prompt_grid

    rows = pd.DataFrame(columns=["task", "idx", "content", "label"])
    with pytest.raises(DataError, match=r"^the eval rows are empty \(no row for any task\): rerun prepare-eval "
                                        r"\(dvc repro -f prepare-eval\)$"):
        prompt_grid(pd.DataFrame(), rows, ["sst2"], "{instruction}", "{instruction}")


def test_a_killed_write_leaves_no_temporary_and_outputs_are_0644(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "train.parquet"
        leftovers = [tmp_path / ".train.parquet.k2x_9abc.tmp", tmp_path / ".card.a1b2c3d4.tmp"]
        leftovers[0].write_bytes(b"half a file")
        leftovers[1].mkdir()
        (leftovers[1] / "data_card.md").write_text("half")
        unrelated = tmp_path / ".train.parquet.old.tmp"  # not a name mkstemp makes: kept
        unrelated.write_text("x")
        write_text("rows\n", target)
        with atomic_dir(tmp_path / "card") as tmp:
            write_json({"a": 1}, tmp / "data_card.json")
        assert sorted(p.name for p in tmp_path.iterdir()) == [".train.parquet.old.tmp", "card", "train.parquet"]
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        assert stat.S_IMODE((tmp_path / "card" / "data_card.json").stat().st_mode) == 0o644
        assert stat.S_IMODE((tmp_path / "card").stat().st_mode) == 0o755
        assert remove_stale_temporaries(target) == []
    finally:
        os.umask(old)
    assert ".*.tmp" in (ROOT / ".gitignore").read_text().splitlines()  # and git-ignored meanwhile
