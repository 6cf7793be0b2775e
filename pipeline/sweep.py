"""`sweep`: the paper's lambda sweep (Table 4 / Figure 5) from DVC experiments.

Queue one experiment per lambda (only train-coin, evaluate@coin and report rerun), run the queue, then
collect:

    dvc exp run --queue -S 'loss.lambda=1,10,100,1000,10000,100000000'
    dvc queue start            # `dvc queue status` shows progress; `dvc queue logs <name>` a run's log
    python -m pipeline sweep --out reports/sweep

Writes sweep.md (table), sweep.csv (also DVC plots data) and figure5.png into --out. With --exp-json
it reads a saved `dvc exp show --json` document instead of running dvc (offline, tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from coin.errors import CoinError, DataError
from coin.params import load_params
from pipeline.app import app, stage


def _exp_show() -> Any:
    """Run `dvc exp show --json` in the current folder and parse its output."""
    command = [sys.executable, "-m", "dvc", "exp", "show", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise CoinError(f"`dvc exp show --json` failed with exit code {done.returncode}: {last}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise DataError(f"`dvc exp show --json` printed invalid JSON: {exc}") from None


@app.command("sweep")
@stage
def sweep(
    out: Path = typer.Option(Path("reports/sweep"), help="Folder for sweep.md, sweep.csv and figure5.png."),
    exp_json: Optional[Path] = typer.Option(None, help="Saved `dvc exp show --json` output to read instead of running dvc."),
    metrics_file: str = typer.Option("reports/summary/coin.json", help="COIN summary metrics file as dvc exp show names it."),
    params: Path = typer.Option(Path("params.yaml"), help="params.yaml to read (perturbation groups)."),
    by: str = typer.Option("loss.lambda", help="The param that tells experiments apart, e.g. loss.pooling, augment.negatives."),
) -> None:
    """Tabulate and plot COIN accuracy against loss.lambda (or --by) over finished DVC experiments."""
    from coin.io import atomic_dir, write_text
    from coin.report.sweep import LAMBDA, SWEEP_COMMAND, SWEEP_KEYS, collect_sweep, param_value, plot_sweep, sweep_markdown

    if by not in SWEEP_KEYS:
        raise CoinError(f"--by = {by!r} is not allowed: use one of {', '.join(SWEEP_KEYS)}")
    from coin.report.tables import GROUP_LABELS, to_csv

    cfg = load_params(params)
    groups = ["clean", *cfg.perturb.groups]
    if exp_json is not None:
        if not exp_json.is_file():
            raise DataError(f"{exp_json} does not exist: save one with `dvc exp show --json > {exp_json}`")
        try:
            doc = json.loads(exp_json.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"{exp_json} is not valid JSON: {exc}") from None
    else:
        doc = _exp_show()
    reference = cfg.to_dict()  # the other ablation keys must be as params.yaml has them
    fixed = {key: param_value(reference, key) for key in SWEEP_KEYS if key != by}
    result = collect_sweep(doc, groups, metrics_file=metrics_file, by=by, fixed=fixed)
    for line in result.skipped:
        typer.echo(f"skipped {line}", err=True)
    if result.table.empty:
        raise DataError(f"no experiment has {by} and {metrics_file}: run the sweep first ({SWEEP_COMMAND})")
    labels = dict(GROUP_LABELS)
    what, name = ("λ sweep (Table 4 / Figure 5)", "λ") if by == LAMBDA else (f"{by} sweep", by)
    caption = (
        f"# {what}\n\n"
        "COIN accuracy (%) per perturbation group, mean over datasets (reports/summary/coin.json); "
        f"Perturbed mean averages the perturbed groups. One row per {name}: the newest run of each among the "
        f"runs whose {', '.join(fixed)} are as in params.yaml."
        + (" Beside each: the paper's Table 4 average (its LLaMA-7B run) with ours − paper." if by == LAMBDA else "")
        + "\n\n"
    )
    with atomic_dir(out) as tmp:
        write_text(caption + sweep_markdown(result.table, groups, labels, by) + "\n![Figure 5](figure5.png)\n", tmp / "sweep.md")
        write_text(to_csv(result.table), tmp / "sweep.csv")
        plot_sweep(result.table, str(tmp / "figure5.png"), groups, labels, by)
    typer.echo(f"sweep: {out / 'sweep.md'} ({len(result.table)} values of {'lambda' if by == LAMBDA else by})")
