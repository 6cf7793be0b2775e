"""The lambda sweep of the paper (Table 4 / Figure 5) from `dvc exp show --json`.

Run the sweep with DVC's experiment queue (only train-coin, evaluate@coin and report rerun):

    dvc exp run --queue -S 'loss.lambda=1,10,100,1000,10000,100000000'
    dvc queue start
    python -m pipeline sweep --out reports/sweep

`dvc exp show --json` (dvc 3.x) prints a list with one entry per workspace / baseline commit:
`{"rev", "name", "data": {"timestamp", "params": {"params.yaml": {"data": {...}}}, "metrics":
{"reports/metrics/coin.json": {"data": {...}}}}, "error", "experiments": [{"name", "executor",
"revs": [{"rev", "name", "data": {...}, "error"}]}]}`. Queued or failed experiments have no metrics
(or an `error`, or an executor state other than success) and are listed as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from coin.data import paper
from coin.errors import DataError

SWEEP_COMMAND = "dvc exp run --queue -S 'loss.lambda=1,10,100,1000,10000,100000000' && dvc queue start"
METRICS_FILE = "reports/metrics/coin.json"
PARAMS_FILE = "params.yaml"


@dataclass(frozen=True)
class Sweep:
    """One row per lambda (lambda, log10_lambda, experiment, commit, one column per group, perturbed, then
    paper_<group> and paper_perturbed: the paper's Table 4 average for that lambda, NaN where it has none)
    and what was skipped."""

    table: pd.DataFrame
    skipped: list[str] = field(default_factory=list)  # "name: reason"


def _records(doc: Any) -> Iterator[dict[str, Any]]:
    """Every revision record of an `exp show --json` document: workspace, baselines, their experiments."""
    if not isinstance(doc, list):
        raise DataError(f"dvc exp show --json gave a {type(doc).__name__}, expected a list of revisions")
    for entry in doc:
        if not isinstance(entry, dict):
            raise DataError("dvc exp show --json has a revision that is not an object")
        yield {**entry, "executor_state": None}
        for experiment in entry.get("experiments") or []:
            state = (experiment.get("executor") or {}).get("state")
            for rev in experiment.get("revs") or []:
                yield {**rev, "name": rev.get("name") or experiment.get("name"), "executor_state": state}


def _label(record: dict[str, Any]) -> str:
    rev = str(record.get("rev") or "")
    return str(record.get("name") or (rev[:7] if len(rev) == 40 else rev) or "?")


def collect_sweep(doc: Any, groups: Sequence[str], metrics_file: str = METRICS_FILE, params_file: str = PARAMS_FILE) -> Sweep:
    """Lambda vs COIN accuracy (mean over tasks as in the metrics' `average`) for every finished experiment.

    For each revision with `loss.lambda` in `params_file` and an `average` in `metrics_file`, the row
    holds average[g]["acc_mean"] for each group g and `perturbed` = mean over the groups other than
    clean. Several revisions with one lambda keep the newest (by timestamp; the workspace counts as
    oldest). Rows are sorted by lambda.
    """
    rows: dict[float, dict[str, Any]] = {}
    stamps: dict[float, str] = {}
    skipped: list[str] = []
    perturbed = [g for g in groups if g != "clean"]
    for record in _records(doc):
        label = _label(record)
        data = record.get("data") or {}
        if record.get("error"):
            error = record["error"]
            message = error.get("msg", error) if isinstance(error, dict) else error
            skipped.append(f"{label}: failed ({message})")
            continue
        state = record.get("executor_state")
        if state not in (None, "success"):
            skipped.append(f"{label}: {state}")
            continue
        params = (((data.get("params") or {}).get(params_file) or {}).get("data")) or {}
        lam = (params.get("loss") or {}).get("lambda")
        metrics = (((data.get("metrics") or {}).get(metrics_file) or {}).get("data")) or {}
        average = metrics.get("average")
        if not isinstance(lam, (int, float)) or isinstance(lam, bool):
            skipped.append(f"{label}: no numeric loss.lambda in {params_file}")
            continue
        if not isinstance(average, dict):
            skipped.append(f"{label}: no {metrics_file}")
            continue
        missing = [g for g in groups if not isinstance((average.get(g) or {}).get("acc_mean"), (int, float))]
        if missing:
            skipped.append(f"{label}: {metrics_file} has no average acc_mean for {missing[0]}")
            continue
        lam = float(lam)
        row: dict[str, Any] = {
            "lambda": lam,
            "log10_lambda": float(np.log10(lam)) if lam > 0 else float("nan"),  # DVC plots have no log axis
            "experiment": label,
            "commit": str(record.get("rev") or ""),  # not "rev": dvc plots adds its own rev field
        }
        for group in groups:
            row[group] = float(average[group]["acc_mean"])
        row["perturbed"] = float(np.mean([row[g] for g in perturbed])) if perturbed else float("nan")
        stamp = data.get("timestamp") or ""  # ISO 8601 strings order by time; workspace has none
        if lam in rows and stamp <= stamps[lam]:
            skipped.append(f"{label}: older run of lambda {format_lambda(lam)} than {rows[lam]['experiment']}")
            continue
        if lam in rows:
            skipped.append(f"{rows[lam]['experiment']}: older run of lambda {format_lambda(lam)} than {label}")
        rows[lam] = row
        stamps[lam] = stamp
    for row in rows.values():  # the paper's 7B run beside ours (Table 4, average over its 10 columns)
        for group in groups:
            cell = paper.table4_cell(row["lambda"], group)
            row[f"paper_{group}"] = cell[0] if cell else float("nan")
        row["paper_perturbed"] = float(np.mean([row[f"paper_{g}"] for g in perturbed])) if perturbed else float("nan")
    columns = ["lambda", "log10_lambda", "experiment", "commit", *groups, "perturbed", *(f"paper_{g}" for g in groups), "paper_perturbed"]
    table = pd.DataFrame([rows[k] for k in sorted(rows)], columns=columns)
    return Sweep(table=table, skipped=skipped)


def format_lambda(value: float) -> str:
    """Integers without a decimal point (100000000), anything else as the shortest float (0.5)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def sweep_markdown(table: pd.DataFrame, groups: Sequence[str], group_labels: dict[str, str]) -> str:
    """Table 4 as markdown: one row per lambda, COIN accuracy (%) per group and the perturbed mean, each
    followed by the paper's 7B value with ours − paper (n/a for a lambda the paper did not run)."""
    from coin.report.tables import format_delta, markdown_table

    def beside(ours: float, theirs: float) -> str:
        return "n/a" if np.isnan(theirs) else f"{theirs:.2f} ({format_delta(ours - theirs)})"

    header = ["λ", "Experiment"]
    for label in [*(group_labels.get(g, g) for g in groups), "Perturbed mean"]:
        header += [label, f"{paper.PAPER_RUN} (ours − paper)"]
    rows = []
    for r in table.to_dict("records"):
        row = [format_lambda(r["lambda"]), str(r["experiment"])]
        for column in [*groups, "perturbed"]:
            row += [f"{r[column]:.2f}", beside(r[column], r[f"paper_{column}"])]
        rows.append(row)
    return markdown_table(header, rows, numeric_from=2)


def plot_sweep(table: pd.DataFrame, path: str, groups: Sequence[str], group_labels: dict[str, str]) -> None:
    """Figure 5: COIN accuracy against lambda (log axis): clean and perturbed mean bold, each group thin."""
    from coin.report.figures import GROUP_COLORS, new_figure, save_png

    figure = new_figure(6.5, 4.2)
    ax = figure.subplots()
    lambdas = table["lambda"].to_numpy(dtype=float)
    for i, group in enumerate(groups):
        if group == "clean":
            continue
        ax.plot(lambdas, table[group], marker=".", linewidth=1, alpha=0.6, color=GROUP_COLORS[i % len(GROUP_COLORS)],
                label=group_labels.get(group, group))
    if "clean" in groups:
        ax.plot(lambdas, table["clean"], marker="o", linewidth=2.2, color="black", label="Clean")
    ax.plot(lambdas, table["perturbed"], marker="s", linewidth=2.2, color="#555555", linestyle="--", label="Perturbed mean")
    if (lambdas > 0).all():
        ax.set_xscale("log")
    ax.set_xticks(lambdas)
    ax.set_xticklabels([format_lambda(v) for v in lambdas], rotation=30)
    ax.set_xlabel("λ (upper bound of the contrastive weight)")
    ax.set_ylabel("COIN accuracy (%), mean over tasks")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    figure.tight_layout()
    save_png(figure, path)


__all__ = [
    "METRICS_FILE",
    "PARAMS_FILE",
    "SWEEP_COMMAND",
    "Sweep",
    "collect_sweep",
    "format_lambda",
    "plot_sweep",
    "sweep_markdown",
]
