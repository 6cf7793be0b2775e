"""`check-params`: validate every section of params.yaml before any other stage runs.

DVC deletes a stage's outputs before its command runs, so a bad value caught inside a stage would
already have cost that stage's outputs. This stage runs first (every other stage depends on its
output) and, on any bad key or value or a path param that names nothing, fails with the one-line
error before DVC touches an output. Its output never changes (a fixed line), so passing it never reruns anything downstream.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.app import app, stage

CHECKED = "params.yaml passed validation (coin.params.load_params)\n"


@app.command("check-params")
@stage
def check_params(
    out: Path = typer.Option(..., help="Marker file written when params.yaml is valid (data/params.checked)."),
    params: Path = typer.Option(Path("params.yaml"), help="params.yaml to read."),
) -> None:
    """Validate params.yaml (every section and every path it names); write the fixed marker only if valid."""
    from coin.data.sources import check_local_copy, eval_wanted, train_wanted
    from coin.io import write_text
    from coin.params import check_paths, eval_local_key, eval_source, load_params
    from pipeline.perturb import fixed_prompt_set

    values = load_params(params)
    check_paths(values)
    if values.data.source == "local":  # every split extract reads, as it reads it
        check_local_copy(train_wanted(values.data.datasets), values.data.local_dir, "data.local_dir")
    source, local_dir = eval_source(values)
    if source == "local":  # every split prepare-eval reads
        check_local_copy(eval_wanted(values.eval.tasks), local_dir, eval_local_key(values))
    if values.perturb.mode in ("file", "published"):  # the prompt set itself, as the perturb stage reads it
        fixed_prompt_set(values)
    write_text(CHECKED, out)
    typer.echo(f"{params}: valid")
