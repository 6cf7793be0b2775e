"""Stage prepare-eval: the GLUE validation rows every instruction and every model is scored on."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.app import app, stage


@app.command("prepare-eval")
@stage
def prepare_eval(
    mirror: Path = typer.Option(..., help="the embedded hub mirror (eval.source = embedded, or same with data.source = embedded)"),
    out: Path = typer.Option(..., help="the evaluation rows, EVAL_SET schema (Parquet)"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    """Load each eval task's validation split(s), draw eval.n_samples rows per task once, write them.

    The rows come from eval.source (same: data.source and data.local_dir; local: eval.local_dir), so GLUE
    can be read from the hub or a local `hf download` copy while the training data stays embedded."""
    import pandas as pd

    from coin.data.registry import EVAL_TASKS
    from coin.data.sources import load_split
    from coin.evaluation.glue import eval_rows
    from coin.io import write_parquet
    from coin.params import eval_source, load_params
    from coin.schemas import EVAL_SET

    p = load_params(params)
    source, local_dir = eval_source(p)
    if source == "local":  # every split first: a gap is one line, before any task is read
        from coin.data.sources import check_local_copy, eval_wanted
        from coin.params import eval_local_key

        check_local_copy(eval_wanted(p.eval.tasks), local_dir, eval_local_key(p))
    loaded: dict[tuple[str, str | None, str], pd.DataFrame] = {}  # mnli, mnli_m, mnli_mm share splits
    parts = []
    for name in p.eval.tasks:
        task = EVAL_TASKS[name]
        frames = []
        for split in task.splits:
            key = (split.hub_id, split.config, split.split)
            if key not in loaded:
                loaded[key] = load_split(
                    split=split,
                    source=source,
                    local_dir=local_dir,
                    mirror_dir=str(mirror),
                    cache_dir=p.data.cache_dir,
                    name=name,
                )
            frames.append(loaded[key])
        rows = eval_rows(task, frames, p.eval.n_samples, p.seed)
        typer.echo(f"{name}: {len(rows)} of {sum(len(f) for f in frames)} rows", err=True)
        parts.append(rows)
    write_parquet(pd.concat(parts, ignore_index=True), out, EVAL_SET)
