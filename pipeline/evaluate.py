"""Stage evaluate: score one model on every eval task under every instruction of the prompt set.

eval.processes = N > 1 reruns the command under `accelerate launch` (pipeline.launch): rank r scores the
contiguous share r of the prompt grid (pipeline.launch.shard_bounds), rank 0 gathers the scored rows
and states in rank order (torch.distributed.gather_object) and alone computes metrics and writes.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from typing import Any

import typer

from pipeline.app import app, stage

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: same arrays give the same bytes


def write_npz(path: str | Path, arrays: dict[str, Any]) -> None:
    """Write arrays as an uncompressed .npz (np.load reads it) with fixed timestamps, atomically."""
    import numpy as np

    from coin.io import atomic_path

    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def _load_model(path: Path, dtype: str) -> tuple[Any, Any]:
    """The model folder in model.dtype (auto: bfloat16 where the device has bfloat16 units, said on one line)."""
    from coin.hardware import choose_dtype, device_type
    from coin.training.model import load_model

    chosen, said = choose_dtype(dtype, device_type())
    if said:
        typer.echo(said, err=True)
    return load_model(str(path), chosen)


def evaluate_model(
    model: Any,
    tokenizer: Any,
    name: str,
    prompts: Any,
    rows: Any,
    params: Any,
) -> tuple[Any, dict[str, Any], dict[str, Any]] | None:
    """Score `model` on the prompt grid: (PREDICTIONS frame, states arrays of every task, metrics).

    The states arrays are states (n, d) float16 (half the bytes; the report maps them to 2-D) with task,
    group, prompt_id, idx and label per row. The predictions carry each row's alignment scores
    (coin.evaluation.alignment, computed from the float32 states) and the metrics every task's
    clean-vs-perturbed cosine, alignment and drop rates.
    In a launched run each rank scores its share of the grid; rank 0 returns the whole result, the
    other ranks None.
    """
    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from coin.evaluation.alignment import UNIT_COLUMNS, alignment_units
    from coin.evaluation.glue import prompt_grid
    from coin.evaluation.metrics import clean_cosines, summarize
    from coin.evaluation.scoring import score_grid
    from coin.evaluation.precision import inference_precision
    from coin.prompts.format import prompt_format
    from pipeline.cores import rebalancing
    from pipeline.launch import gather_to_main, rank, shard_bounds, world_size

    ev = params.eval
    grid = prompt_grid(prompts, rows, ev.tasks, prompt_format(params.model, tokenizer), ev.prompt_format)
    precision, described = inference_precision(ev.precision, model.device.type)
    start, stop = shard_bounds(len(grid), world_size(), rank())
    share = grid.iloc[start:stop]
    shard = f" (rank {rank()}: rows {start}-{stop - 1})" if world_size() > 1 else ""
    typer.echo(f"evaluate {name}: {len(grid)} prompts{shard}, {ev.scoring}, {described}", err=True)
    with precision, tqdm(total=len(share), desc=f"evaluate {name}", unit="prompt", file=sys.stderr) as bar:
        part = score_grid(
            model, tokenizer, share, ev.scoring, ev.parse, ev.max_new_tokens, ev.batch_size, on_batch=rebalancing(bar.update)
        )
    parts = gather_to_main(part)
    if parts is None:
        return None
    frames = [frame for frame, _ in parts if len(frame)] or [parts[0][0]]  # a rank may get no rows
    scored = pd.concat(frames, ignore_index=True)  # the grid's row order
    states = np.concatenate([arrays for _, arrays in parts])  # (n, d)
    units = alignment_units(scored, states)
    predictions = scored.assign(model=name, **{c: units[c].to_numpy() for c in UNIT_COLUMNS})
    cosines = clean_cosines(scored, states)
    metrics = summarize(predictions, name, cosines)
    arrays = {
        "states": states.astype(np.float16),
        "task": scored["task"].to_numpy(dtype=str),
        "group": scored["group"].to_numpy(dtype=str),
        "prompt_id": scored["prompt_id"].to_numpy(dtype=np.int64),
        "idx": scored["idx"].to_numpy(dtype=np.int64),
        "label": scored["label"].to_numpy(dtype=np.int64),
    }
    return predictions, arrays, metrics


@app.command("evaluate")
@stage
def evaluate(
    name: str = typer.Option(..., help="model name written into predictions and metrics (base, cit, coin)"),
    model: Path = typer.Option(..., help="model folder (coin.training.model.load_model)"),
    prompts: Path = typer.Option(..., help="prompt set, PROMPTS schema (Parquet)"),
    eval_rows: Path = typer.Option(..., "--eval", help="evaluation rows, EVAL_SET schema (Parquet)"),
    predictions: Path = typer.Option(..., help="predictions out, PREDICTIONS schema (Parquet)"),
    states: Path = typer.Option(..., help="last-token states of every task out (.npz, float16)"),
    metrics: Path = typer.Option(..., help="metrics JSON out, per task and group"),
    summary: Path = typer.Option(..., help="summary JSON out (the dvc metric): accuracy and std per group, invalid rate"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    """Score the model on every eval task x instruction x row; write predictions, states and metrics."""
    import time

    from coin.evaluation.metrics import headline
    from coin.io import read_parquet, write_json, write_parquet
    from coin.params import load_params
    from coin.schemas import EVAL_SET, PREDICTIONS, PROMPTS

    from pipeline.cores import fair_share
    from pipeline.launch import join_process_group, relaunch

    p = load_params(params)
    stage_args = ["evaluate", "--name", name, "--model", model, "--prompts", prompts, "--eval", eval_rows,
                  "--predictions", predictions, "--states", states, "--metrics", metrics, "--summary", summary,
                  "--params", params]
    if relaunch(p.eval.processes, stage_args, "eval.processes"):
        return
    join_process_group()
    prompt_set = read_parquet(prompts, PROMPTS)
    rows = read_parquet(eval_rows, EVAL_SET)
    lm, tokenizer = _load_model(model, p.model.dtype)
    start = time.perf_counter()
    with fair_share():  # this process's share of the cores, kept fair while other stages come and go
        result = evaluate_model(lm, tokenizer, name, prompt_set, rows, p)
    if result is None:  # another rank: rank 0 writes
        return
    frame, arrays, doc = result
    write_parquet(frame, predictions, PREDICTIONS)
    write_npz(states, arrays)
    write_json(doc, metrics)
    write_json(headline(doc, with_rank=p.eval.scoring == "both"), summary)
    overall = doc["average"]["overall"]
    typer.echo(
        f"{name}: {len(frame)} predictions in {time.perf_counter() - start:.1f} s, "
        f"accuracy {overall['acc_mean']:.2f}%, invalid {overall['invalid_rate']:.3f}",
        err=True,
    )
