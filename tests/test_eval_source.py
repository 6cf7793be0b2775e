"""eval.source: the GLUE evaluation rows from a source of their own (a local `hf download` copy here)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from coin.errors import ParamsError
from coin.params import eval_source, load_params

ROOT = Path(__file__).resolve().parents[1]


def _glue_copy(root: Path) -> Path:
    """Only nyu-mll/glue/<config>/validation-00000-of-00001.parquet files, as `hf download` leaves them."""
    base = root / "nyu-mll" / "glue"
    sst2 = pa.table(
        {"sentence": [f"A film of kind {i}." for i in range(6)], "label": pa.array([i % 2 for i in range(6)], pa.int64()),
         "idx": pa.array(range(6), pa.int32())}
    )
    rte = pa.table(
        {"sentence1": [f"Premise {i}." for i in range(4)], "sentence2": [f"Claim {i}." for i in range(4)],
         "label": pa.array([0, 1, 1, 0], pa.int64()), "idx": pa.array(range(4), pa.int32())}
    )
    for config, table in (("sst2", sst2), ("rte", rte)):
        (base / config).mkdir(parents=True)
        pq.write_table(table, base / config / "validation-00000-of-00001.parquet")
    return root


def _params(tmp_path: Path, **eval_overrides) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"]["cache_dir"] = str(tmp_path / "cache")
    raw["eval"].update({"tasks": ["sst2", "rte"], "n_samples": 3, "states_task": "sst2"})
    raw["eval"].update(eval_overrides)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _prepare_eval(tmp_path: Path, params: Path):
    from typer.testing import CliRunner

    import pipeline.prepare_eval  # noqa: F401  (registers the command)
    from pipeline.app import app

    args = ["prepare-eval", "--mirror", str(tmp_path / "no-mirror"), "--out", str(tmp_path / "eval.parquet"), "--params", str(params)]
    return CliRunner().invoke(app, args)


def test_eval_source_same_follows_data_source(tmp_path):
    p = load_params(_params(tmp_path))
    assert p.eval.source == "same" and eval_source(p) == ("embedded", None)
    p = load_params(_params(tmp_path, source="local", local_dir="glue"))
    assert eval_source(p) == ("local", "glue") and p.data.source == "embedded"


def test_eval_source_local_without_folder_is_one_line(tmp_path):
    with pytest.raises(ParamsError, match=r"^eval.local_dir is empty: eval.source = 'local' needs a folder holding nyu-mll/glue$"):
        load_params(_params(tmp_path, source="local", local_dir=None))
    with pytest.raises(ParamsError, match=r"^eval.source = 'glue' is not allowed: use one of same, embedded, hub, local$"):
        load_params(_params(tmp_path, source="glue"))


def test_prepare_eval_reads_a_local_glue_copy(tmp_path):
    from coin.io import read_parquet
    from coin.schemas import EVAL_SET

    copy = _glue_copy(tmp_path / "glue")
    result = _prepare_eval(tmp_path, _params(tmp_path, source="local", local_dir=str(copy)))
    assert result.exit_code == 0, result.output
    rows = read_parquet(tmp_path / "eval.parquet", EVAL_SET)
    assert rows.groupby("task").size().to_dict() == {"rte": 3, "sst2": 3}
    assert set(rows.loc[rows["task"] == "sst2", "content"]) <= {f"A film of kind {i}." for i in range(6)}
    rte = rows[rows["task"] == "rte"].iloc[0]
    assert rte["content"] == f"Sentence 1: Premise {rte['idx']}. Sentence 2: Claim {rte['idx']}."


def test_prepare_eval_names_the_download_for_a_missing_config(tmp_path):
    copy = _glue_copy(tmp_path / "glue")
    result = _prepare_eval(tmp_path, _params(tmp_path, source="local", local_dir=str(copy), tasks=["sst2", "cola"]))
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and result.output.strip().splitlines()[-1] == errors[0]  # one line, last, no traceback
    assert not (tmp_path / "eval.parquet").exists()
    folder = copy / "nyu-mll" / "glue"
    assert result.output == (  # the one line check-params gives too, before any task is read
        f"error: cola: eval.local_dir = '{copy}': {folder} has no cola/validation-*.parquet for nyu-mll/glue (cola) split "
        f"'validation' (it holds rte/, sst2/): get it with `hf download --repo-type dataset nyu-mll/glue --local-dir {folder}`\n"
    )
