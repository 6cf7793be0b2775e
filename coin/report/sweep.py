"""The lambda sweep of the paper (Table 4 / Figure 5) from `dvc exp show --json`, or a sweep over any
other param (`by`, e.g. loss.pooling or augment.negatives for the ablations).

Run the sweep with DVC's experiment queue (only train-coin, evaluate@coin and report rerun):

    dvc exp run --queue -S 'loss.lambda=1,10,100,1000,10000,100000000'
    dvc queue start
    python -m pipeline sweep --out reports/sweep

`dvc exp show --json` (dvc 3.x) prints a list with one entry per workspace / baseline commit:
`{"rev", "name", "data": {"timestamp", "params": {"params.yaml": {"data": {...}}}, "metrics":
{"reports/summary/coin.json": {"data": {"coin": {...}}}}}, "error", "experiments": [{"name", "executor",
"revs": [{"rev", "name", "data": {...}, "error"}]}]}`. Queued or failed experiments have no metrics
(or an `error`, or an executor state other than success) and are listed as skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from coin.data import paper
from coin.errors import DataError

SWEEP_COMMAND = "dvc exp run --queue -S 'loss.lambda=1,10,100,1000,10000,100000000' && dvc queue start"
METRICS_FILE = "reports/summary/coin.json"  # a DVC metric: {"coin": {group: {"acc", "std"}, ...}}
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


LAMBDA = "loss.lambda"
SWEEP_KEYS = (LAMBDA, "loss.pooling", "loss.gen_reduction", "augment.negatives", "augment.positives")


def param_value(params: dict[str, Any], key: str) -> Any:
    """The value at a dotted params key (None when absent)."""
    value: Any = params
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _column(by: str) -> str:
    """The table column of a swept key: `lambda` for loss.lambda (with log10_lambda), else the key itself."""
    return "lambda" if by == LAMBDA else by


def format_value(by: str, value: Any) -> str:
    """A swept value as the tables print it (format_lambda for loss.lambda)."""
    return format_lambda(value) if by == LAMBDA else str(value)


def collect_sweep(
    doc: Any, groups: Sequence[str], metrics_file: str = METRICS_FILE, params_file: str = PARAMS_FILE, by: str = LAMBDA,
    fixed: dict[str, Any] | None = None,
) -> Sweep:
    """A swept param (`by`, default loss.lambda) vs COIN accuracy (mean over tasks) for every finished
    experiment.

    For each revision with `by` in `params_file` (a number for loss.lambda, any scalar otherwise, e.g.
    loss.pooling) and the model's summary in `metrics_file` (the DVC metric reports/summary/coin.json,
    {"coin": {group: {"acc", "std"}}}, acc = the mean over tasks), the row holds summary[g]["acc"] for each
    group g and `perturbed` = mean over the groups other than clean. `fixed` ({key: value}, the other
    SWEEP_KEYS as params.yaml sets them) leaves out runs of another ablation: with --by loss.pooling, a
    run with augment.negatives = normal is not the row of pooling `last`. Several revisions with one value
    keep the newest (by timestamp; the workspace counts as oldest). Rows are sorted by the value.
    """
    column, name = _column(by), ("lambda" if by == LAMBDA else by)
    rows: dict[Any, dict[str, Any]] = {}
    stamps: dict[Any, str] = {}
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
        value = param_value(params, by)
        metrics = (((data.get("metrics") or {}).get(metrics_file) or {}).get("data")) or {}
        summary = metrics.get(PurePosixPath(metrics_file).stem)  # the model's name: reports/summary/<model>.json
        if by == LAMBDA and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            skipped.append(f"{label}: no numeric loss.lambda in {params_file}")
            continue
        if not isinstance(value, (str, int, float, bool)):
            skipped.append(f"{label}: no {by} in {params_file}")
            continue
        other = next((k for k, v in (fixed or {}).items() if param_value(params, k) not in (None, v)), None)
        if other is not None:
            skipped.append(f"{label}: {other} = {param_value(params, other)}, not {fixed[other]} as in params.yaml")
            continue
        if not isinstance(summary, dict):
            skipped.append(f"{label}: no {metrics_file}")
            continue
        missing = [g for g in groups if not isinstance((summary.get(g) or {}).get("acc"), (int, float))]
        if missing:
            skipped.append(f"{label}: {metrics_file} has no acc for {missing[0]}")
            continue
        row: dict[str, Any] = {}
        if by == LAMBDA:
            value = float(value)
            row["lambda"] = value
            row["log10_lambda"] = float(np.log10(value)) if value > 0 else float("nan")  # DVC plots have no log axis
        else:
            row[column] = value
        row["experiment"] = label
        row["commit"] = str(record.get("rev") or "")  # not "rev": dvc plots adds its own rev field
        for group in groups:
            row[group] = float(summary[group]["acc"])
        row["perturbed"] = float(np.mean([row[g] for g in perturbed])) if perturbed else float("nan")
        stamp = data.get("timestamp") or ""  # ISO 8601 strings order by time; workspace has none
        shown = format_value(by, value)
        if value in rows and stamp <= stamps[value]:
            skipped.append(f"{label}: older run of {name} {shown} than {rows[value]['experiment']}")
            continue
        if value in rows:
            skipped.append(f"{rows[value]['experiment']}: older run of {name} {shown} than {label}")
        rows[value] = row
        stamps[value] = stamp
    head = ["lambda", "log10_lambda"] if by == LAMBDA else [column]
    paper_columns: list[str] = []
    if by == LAMBDA:  # the paper's 7B run beside ours (Table 4, average over its 10 columns)
        paper_columns = [*(f"paper_{g}" for g in groups), "paper_perturbed"]
        for row in rows.values():
            for group in groups:
                cell = paper.table4_cell(row["lambda"], group)
                row[f"paper_{group}"] = cell[0] if cell else float("nan")
            row["paper_perturbed"] = float(np.mean([row[f"paper_{g}"] for g in perturbed])) if perturbed else float("nan")
    columns = [*head, "experiment", "commit", *groups, "perturbed", *paper_columns]
    table = pd.DataFrame([rows[k] for k in sorted(rows, key=lambda v: (str(type(v)), v))], columns=columns)
    return Sweep(table=table, skipped=skipped)


def format_lambda(value: float) -> str:
    """Integers without a decimal point (100000000), anything else as the shortest float (0.5)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def sweep_markdown(table: pd.DataFrame, groups: Sequence[str], group_labels: dict[str, str], by: str = LAMBDA) -> str:
    """Table 4 as markdown: one row per value of `by`, COIN accuracy (%) per group and the perturbed mean;
    for loss.lambda each is followed by the paper's 7B value with ours − paper (n/a for a lambda the
    paper did not run)."""
    from coin.report.tables import format_delta, markdown_table

    def beside(ours: float, theirs: float) -> str:
        return "n/a" if np.isnan(theirs) else f"{theirs:.2f} ({format_delta(ours - theirs)})"

    with_paper = by == LAMBDA
    header = ["λ" if with_paper else by, "Experiment"]
    for label in [*(group_labels.get(g, g) for g in groups), "Perturbed mean"]:
        header += [label, f"{paper.PAPER_RUN} (ours − paper)"] if with_paper else [label]
    rows = []
    for r in table.to_dict("records"):
        row = [format_value(by, r[_column(by)]), str(r["experiment"])]
        for column in [*groups, "perturbed"]:
            row += [f"{r[column]:.2f}", beside(r[column], r[f"paper_{column}"])] if with_paper else [f"{r[column]:.2f}"]
        rows.append(row)
    return markdown_table(header, rows, numeric_from=2)


def plot_sweep(table: pd.DataFrame, path: str, groups: Sequence[str], group_labels: dict[str, str], by: str = LAMBDA) -> None:
    """Figure 5: COIN accuracy against lambda (log axis), or against the values of another swept key
    (evenly spaced): clean and perturbed mean bold, each group thin."""
    from coin.report.figures import GROUP_COLORS, new_figure, save_png

    figure = new_figure(6.5, 4.2)
    ax = figure.subplots()
    if by == LAMBDA:
        lambdas = table["lambda"].to_numpy(dtype=float)
        labels = [format_lambda(v) for v in lambdas]
    else:
        lambdas = np.arange(len(table), dtype=float)
        labels = [str(v) for v in table[by]]
    for i, group in enumerate(groups):
        if group == "clean":
            continue
        ax.plot(lambdas, table[group], marker=".", linewidth=1, alpha=0.6, color=GROUP_COLORS[i % len(GROUP_COLORS)],
                label=group_labels.get(group, group))
    if "clean" in groups:
        ax.plot(lambdas, table["clean"], marker="o", linewidth=2.2, color="black", label="Clean")
    ax.plot(lambdas, table["perturbed"], marker="s", linewidth=2.2, color="#555555", linestyle="--", label="Perturbed mean")
    if by == LAMBDA and (lambdas > 0).all():
        ax.set_xscale("log")
    ax.set_xticks(lambdas)
    ax.set_xticklabels(labels, rotation=30)
    ax.set_xlabel("λ (upper bound of the contrastive weight)" if by == LAMBDA else by)
    ax.set_ylabel("COIN accuracy (%), mean over tasks")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    figure.tight_layout()
    save_png(figure, path)


__all__ = [
    "LAMBDA",
    "METRICS_FILE",
    "PARAMS_FILE",
    "SWEEP_KEYS",
    "SWEEP_COMMAND",
    "Sweep",
    "collect_sweep",
    "format_lambda",
    "format_value",
    "param_value",
    "plot_sweep",
    "sweep_markdown",
]
