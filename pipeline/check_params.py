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


def read_user_files(values) -> None:
    """A templates file (data.flan_templates) and a folder of PromptBench prompt modules (perturb.instructions,
    read by the search) parsed as extract and perturb read them; one line naming the key when they do not parse."""
    from coin.data.flan_templates import load_templates_source, parse_patterns
    from coin.errors import CoinError
    from coin.prompts.instructions import load_instruction_sets

    data, perturb = values.data, values.perturb
    checks = []
    if data.flan_templates not in ("embedded", "pinned"):
        checks.append(("data.flan_templates", data.flan_templates,
                       lambda: parse_patterns(load_templates_source(data.flan_templates, data.cache_dir))))
    if perturb.mode in ("adversarial", "random") and perturb.instructions not in ("embedded", "pinned", "pinned-current"):
        checks.append(("perturb.instructions", perturb.instructions, lambda: load_instruction_sets(perturb.instructions, data.cache_dir)))
    for key, value, read in checks:
        try:
            read()
        except CoinError as exc:
            raise type(exc)(f"{key} = {value!r}: {exc}") from None


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
    read_user_files(values)
    write_text(CHECKED, out)
    typer.echo(f"{params}: valid")
