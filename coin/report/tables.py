"""The paper's result tables from the evaluate stage's metrics: Table 3 (per dataset) and Table 1 (per category).

Input is `{model: metrics}` where each metrics document is what `reports/metrics/<model>.json` holds:
`{"<task>": {"<group>": {"acc_mean": %, "acc_std": %, ...}}, "average": {...}, "model": name}`.
`acc_std` is the population standard deviation of accuracy over a task's instructions. Every table is
built from the per-task numbers, so averages here do not depend on how the evaluate stage averaged.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from coin.data import paper
from coin.errors import DataError

MODELS: tuple[str, ...] = ("base", "cit", "coin")
# Extra per-cell numbers the evaluate stage may report; averaged over tasks in the extras table
EXTRA_METRICS: tuple[str, ...] = ("invalid_rate", "consistency", "clean_cosine")
DROP_METRICS: tuple[str, ...] = ("pdr", "rank_pdr")  # PromptBench's drop rate, generation / ranking
RANK_METRICS: tuple[str, ...] = ("rank_acc_mean", "rank_acc_std")  # label-word ranking (eval.scoring both)
ALIGN_METRICS: tuple[str, ...] = ("align_at_1", "centered_cosine", "cosine_margin", "group_separability")
CELL_METRICS: tuple[str, ...] = (*EXTRA_METRICS, *DROP_METRICS, *RANK_METRICS, *ALIGN_METRICS)  # kept by metrics_frame

MODEL_LABELS = {"base": "Base", "cit": "CIT", "coin": "COIN"}
TASK_LABELS = {
    "sst2": "SST-2",
    "cola": "CoLA",
    "qqp": "QQP",
    "mrpc": "MRPC",
    "mnli": "MNLI",
    "mnli_m": "MNLI-m",
    "mnli_mm": "MNLI-mm",
    "qnli": "QNLI",
    "rte": "RTE",
    "wnli": "WNLI",
}
GROUP_LABELS = {
    "clean": "Clean",
    "deepwordbug": "DeepWordBug (character)",
    "textfooler": "TextFooler (word)",
    "checklist": "CheckList (sentence)",
    "semantic": "Semantic",
    "textbugger": "TextBugger (character)",
    "bertattack": "BertAttack (word)",
    "stresstest": "StressTest (sentence)",
    "perturbed": "All perturbed",
}
# Task categories of Table 1. As in the official CoIN post-processing (promptbench/postprocessing.py),
# NLI lists MNLI and both its matched and mismatched columns, so each enters the NLI mean as one dataset.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "sentiment": ("sst2",),
    "grammar": ("cola",),
    "paraphrase": ("qqp", "mrpc"),
    "nli": ("mnli", "mnli_m", "mnli_mm", "qnli", "rte", "wnli"),
}
CATEGORY_LABELS = {
    "sentiment": "Sentiment",
    "grammar": "Grammar",
    "paraphrase": "Paraphrase",
    "nli": "NLI",
    "average": "Average",
}
AVERAGE = "average"


def format_mean_std(mean: float, std: float) -> str:
    """`71.25 ± 3.10`: both in percent with two decimals."""
    return f"{mean:.2f} ± {std:.2f}"


def format_delta(delta: float) -> str:
    """`+2.50` / `-1.25`: a signed difference in points; values that round to zero print as `+0.00`."""
    rounded = round(float(delta), 2)
    if rounded == 0:
        return "+0.00"
    return f"{rounded:+.2f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    """A GitHub pipe table; columns from index `numeric_from` on are right-aligned."""
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def metrics_frame(
    metrics: Mapping[str, Mapping[str, Any]],
    tasks: Sequence[str],
    groups: Sequence[str],
    cells: Optional[set[tuple[str, str]]] = None,
) -> pd.DataFrame:
    """Long frame of every (model, task, group) cell: model, task, group, acc_mean, acc_std, extras.

    `metrics` maps a model name to its metrics document. Every task in `tasks` must have every group in
    `groups` with `acc_mean` and `acc_std` (only the (task, group) pairs in `cells`, when given: a prompt
    set may lack a group for a task); the other numbers (CELL_METRICS) are kept where present, else NaN
    (also where null, e.g. the clean group's pdr).
    Rows come in the order models x tasks x groups as given.
    """
    rows = []
    for model, doc in metrics.items():
        for task in tasks:
            for group in groups:
                if cells is not None and (task, group) not in cells:
                    continue
                task_doc = doc.get(task)
                cell = task_doc.get(group) if isinstance(task_doc, dict) else None
                if not isinstance(cell, dict):
                    raise DataError(
                        f"metrics of {model} have no {task}/{group} cell: the report needs every task of "
                        f"eval.tasks under every group ({', '.join(groups)})"
                    )
                for key in ("acc_mean", "acc_std"):
                    if not isinstance(cell.get(key), (int, float)):
                        raise DataError(f"metrics of {model}, {task}/{group}: {key} = {cell.get(key)!r} is not a number")
                row = {"model": model, "task": task, "group": group, "acc_mean": float(cell["acc_mean"]),
                       "acc_std": float(cell["acc_std"])}
                for key in CELL_METRICS:
                    value = cell.get(key)
                    row[key] = float(value) if isinstance(value, (int, float)) else np.nan
                rows.append(row)
    return pd.DataFrame(rows, columns=["model", "task", "group", "acc_mean", "acc_std", *CELL_METRICS])


def _wide(cells: pd.DataFrame, keys: list[str], models: Sequence[str]) -> pd.DataFrame:
    """One row per `keys`, columns <model>_mean, <model>_std for each model, then coin_minus_cit."""
    out = cells[keys].drop_duplicates().reset_index(drop=True)
    for model in models:
        part = cells[cells["model"] == model][[*keys, "acc_mean", "acc_std"]]
        part = part.rename(columns={"acc_mean": f"{model}_mean", "acc_std": f"{model}_std"})
        out = out.merge(part, on=keys, how="left", validate="one_to_one")
    if "cit" in models and "coin" in models:
        out["coin_minus_cit"] = out["coin_mean"] - out["cit_mean"]
    return out


def _sorted(table: pd.DataFrame, orders: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """`table` sorted by its columns named in `orders`, each value ranked by its position in that order."""
    ranks = {column: {value: i for i, value in enumerate(values)} for column, values in orders.items()}
    table = table.sort_values(by=list(orders), key=lambda s: s.map(ranks[s.name]))
    return table.reset_index(drop=True)


PaperLookup = Callable[[str, str, str], "tuple[float, float] | None"]


def with_paper(table: pd.DataFrame, key: str, models: Sequence[str], lookup: PaperLookup) -> pd.DataFrame:
    """Add the paper's 7B run beside ours: <model>_paper_mean, <model>_paper_std and <model>_minus_paper
    (ours − paper) per model; `lookup(model, group, table[key])` gives the paper's (mean, std) or None (NaN)."""
    table = table.copy()
    for model in models:
        cells = [lookup(model, group, item) for group, item in zip(table["group"], table[key])]
        table[f"{model}_paper_mean"] = [c[0] if c else np.nan for c in cells]
        table[f"{model}_paper_std"] = [c[1] if c else np.nan for c in cells]
        table[f"{model}_minus_paper"] = table[f"{model}_mean"] - table[f"{model}_paper_mean"]
    return table


def table3(frame: pd.DataFrame, tasks: Sequence[str], groups: Sequence[str], models: Sequence[str] = MODELS) -> pd.DataFrame:
    """Table 3: one row per (task, group), then one `average` row per group (unweighted over tasks).

    Columns: task, group, <model>_mean, <model>_std for each model, coin_minus_cit, then the paper's
    Table 3 beside each model (with_paper). The average row's mean is mean_t(acc_mean[t]) and its std is
    mean_t(acc_std[t]) over the tasks t of `tasks`; its paper value is shown only when `tasks` are the
    paper's 10 columns (otherwise the two averages cover different tasks).
    """
    cells = frame[frame["task"].isin(tasks) & frame["group"].isin(groups)]
    averages = cells.groupby(["model", "group"], sort=False)[["acc_mean", "acc_std"]].mean().reset_index()
    averages.insert(1, "task", AVERAGE)
    both = pd.concat([cells[["model", "task", "group", "acc_mean", "acc_std"]], averages], ignore_index=True)
    table = _sorted(_wide(both, ["task", "group"], models), {"task": [*tasks, AVERAGE], "group": groups})
    same_columns = set(tasks) == set(paper.table3_columns())

    def lookup(model: str, group: str, task: str) -> tuple[float, float] | None:
        return paper.table3_cell(model, group, task) if task != AVERAGE or same_columns else None

    return with_paper(table, "task", models, lookup)


def table1(
    frame: pd.DataFrame,
    groups: Sequence[str],
    categories: Mapping[str, Sequence[str]] = CATEGORIES,
    models: Sequence[str] = MODELS,
) -> pd.DataFrame:
    """Table 1: one row per (category, group), then an `average` category over the categories.

    A category's mean is mean_{t in category}(acc_mean[t]) and its std mean_{t in category}(acc_std[t]);
    the `average` rows take the unweighted mean of the category rows. Columns as in `table3` with
    `category` in place of `task`; the paper's Table 1 has CIT and COIN on clean instructions only (n/a
    elsewhere). Categories whose tasks were not evaluated are left out.
    """
    parts = []
    for category, members in categories.items():
        cells = frame[frame["task"].isin(members) & frame["group"].isin(groups)]
        if cells.empty:
            continue
        missing = sorted(set(members) - set(cells["task"]))
        if missing:
            raise DataError(f"category {category} lacks task {missing[0]}: evaluate all of {', '.join(members)}")
        mean = cells.groupby(["model", "group"], sort=False)[["acc_mean", "acc_std"]].mean().reset_index()
        mean.insert(0, "category", category)
        parts.append(mean)
    if not parts:
        raise DataError("no task of Table 1's categories was evaluated: eval.tasks needs at least one of them")
    per_category = pd.concat(parts, ignore_index=True)
    overall = per_category.groupby(["model", "group"], sort=False)[["acc_mean", "acc_std"]].mean().reset_index()
    overall.insert(0, "category", AVERAGE)
    table = _wide(pd.concat([per_category, overall], ignore_index=True), ["category", "group"], models)
    table = _sorted(table, {"category": [*categories, AVERAGE], "group": groups})
    return with_paper(table, "category", models, lambda m, g, c: paper.table1_cell(m, c) if g == "clean" else None)


def format_paper(ours: float, mean: float, std: float) -> str:
    """The paper's value with ours − paper: `68.70 ± 2.40 (+2.55)`; `n/a` where the paper has none."""
    if np.isnan(mean):
        return "n/a"
    return f"{format_mean_std(mean, std)} ({format_delta(ours - mean)})"


def _rows_markdown(table: pd.DataFrame, key: str, labels: Mapping[str, str], models: Sequence[str]) -> str:
    with_paper_cols = all(f"{m}_paper_mean" in table.columns for m in models)
    header = [key.capitalize(), "Group"]
    for m in models:
        header.append(MODEL_LABELS.get(m, m))
        if with_paper_cols:
            header.append(f"{MODEL_LABELS.get(m, m)} {paper.PAPER_RUN} (ours − paper)")
    with_delta = "coin_minus_cit" in table.columns
    if with_delta:
        header.append("Δ (COIN − CIT)")
    rows = []
    for record in table.to_dict("records"):
        row = [labels.get(record[key], record[key]), GROUP_LABELS.get(record["group"], record["group"])]
        for m in models:
            row.append(format_mean_std(record[f"{m}_mean"], record[f"{m}_std"]))
            if with_paper_cols:
                row.append(format_paper(record[f"{m}_mean"], record[f"{m}_paper_mean"], record[f"{m}_paper_std"]))
        if with_delta:
            row.append(format_delta(record["coin_minus_cit"]))
        rows.append(row)
    return markdown_table(header, rows, numeric_from=2)


def table3_markdown(table: pd.DataFrame, models: Sequence[str] = MODELS) -> str:
    """Table 3 as markdown: `mean ± std` accuracy (%) per dataset, group and model, plus COIN − CIT."""
    return _rows_markdown(table, "task", {**TASK_LABELS, AVERAGE: "Average"}, models).replace("| Task |", "| Dataset |", 1)


def table1_markdown(table: pd.DataFrame, models: Sequence[str] = MODELS) -> str:
    """Table 1 as markdown: `mean ± std` accuracy (%) per task category, group and model, plus COIN − CIT."""
    return _rows_markdown(table, "category", CATEGORY_LABELS, models)


def extras_table(
    frame: pd.DataFrame, groups: Sequence[str], models: Sequence[str] = MODELS, metrics: Sequence[str] = EXTRA_METRICS
) -> pd.DataFrame:
    """Mean over tasks of each of `metrics` per model and group, over the cells that report it (NaN
    where none does, e.g. the clean group's pdr).

    Columns: model, group, then the metrics at least one cell reported; empty when none is reported.
    """
    present = [k for k in metrics if k in frame.columns and frame[k].notna().any()]
    if not present:
        return pd.DataFrame(columns=["model", "group"])
    cells = frame[frame["model"].isin(models) & frame["group"].isin(groups)]
    table = cells.groupby(["model", "group"], sort=False)[present].mean().reset_index()
    return _sorted(table, {"model": models, "group": groups})


def extras_markdown(table: pd.DataFrame) -> str:
    """The extras table as markdown with three decimals (n/a where a metric is undefined)."""
    metrics = [c for c in table.columns if c not in ("model", "group")]
    rows = [
        [MODEL_LABELS.get(r["model"], r["model"]), GROUP_LABELS.get(r["group"], r["group"]),
         *("n/a" if pd.isna(r[m]) else f"{r[m]:.3f}" for m in metrics)]
        for r in table.to_dict("records")
    ]
    return markdown_table(["Model", "Group", *metrics], rows, numeric_from=2)


def invalid_table(frame: pd.DataFrame, tasks: Sequence[str], groups: Sequence[str], models: Sequence[str] = MODELS) -> pd.DataFrame:
    """Invalid answers (%) per (task, group): one row each, a column per model, 100 * invalid_rate.

    An answer is invalid when the parser finds no label word in it (it counts as wrong in Table 3).
    Empty when no cell reports an invalid rate (ranking never gives one).
    """
    if "invalid_rate" not in frame.columns or not frame["invalid_rate"].notna().any():
        return pd.DataFrame(columns=["task", "group"])
    cells = frame[frame["task"].isin(tasks) & frame["group"].isin(groups) & frame["model"].isin(models)]
    table = cells.pivot_table(index=["task", "group"], columns="model", values="invalid_rate", sort=False).reset_index()
    table = table[["task", "group", *[m for m in models if m in table.columns]]]
    table.columns.name = None
    for model in models:
        if model in table.columns:
            table[model] = 100 * table[model]
    return _sorted(table, {"task": tasks, "group": groups})


def invalid_markdown(table: pd.DataFrame) -> str:
    """The invalid-answer table as markdown, one decimal."""
    models = [c for c in table.columns if c not in ("task", "group")]
    rows = [
        [TASK_LABELS.get(r["task"], r["task"]), GROUP_LABELS.get(r["group"], r["group"]), *(f"{r[m]:.1f}" for m in models)]
        for r in table.to_dict("records")
    ]
    return markdown_table(["Dataset", "Group", *(MODEL_LABELS.get(m, m) for m in models)], rows, numeric_from=2)


def harmless_counts(prompts: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Per perturbed group: instructions, and those whose search found no harmful edit.

    A prompts row counts as harmless when its `details` JSON has `"harmful": false`. Columns: group,
    n_instructions, n_no_harmful_edit; one row per group of `groups` other than clean, in that order.
    """
    harmless = prompts["details"].map(lambda text: json.loads(text).get("harmful") is False)
    rows = []
    for group in groups:
        if group == "clean":
            continue
        in_group = prompts["group"] == group
        rows.append(
            {"group": group, "n_instructions": int(in_group.sum()), "n_no_harmful_edit": int((in_group & harmless).sum())}
        )
    return pd.DataFrame(rows, columns=["group", "n_instructions", "n_no_harmful_edit"])


def left_out_counts(prompts: pd.DataFrame, groups: Sequence[str], n_languages: int) -> pd.DataFrame:
    """Per task and perturbed group: the clean instructions without a version in that group.

    A task with k clean instructions expects k rows in each group, min(k, n_languages) in semantic (one
    language per instruction). Columns: task, group, n_expected, n_left_out; only rows with n_left_out > 0,
    in the order of the prompt set's tasks and of `groups`.
    """
    rows = []
    for task in dict.fromkeys(prompts["task"]):
        rows_of = prompts[prompts["task"] == task]
        n_clean = int((rows_of["group"] == "clean").sum())
        for group in groups:
            if group == "clean":
                continue
            expected = min(n_clean, n_languages) if group == "semantic" else n_clean
            present = int((rows_of["group"] == group).sum())
            if present < expected:
                rows.append({"task": task, "group": group, "n_expected": expected, "n_left_out": expected - present})
    return pd.DataFrame(rows, columns=["task", "group", "n_expected", "n_left_out"])


def left_out_markdown(table: pd.DataFrame) -> str:
    """The left-out table as markdown."""
    rows = [
        [TASK_LABELS.get(r["task"], r["task"]), GROUP_LABELS.get(r["group"], r["group"]), str(r["n_expected"]), str(r["n_left_out"])]
        for r in table.to_dict("records")
    ]
    return markdown_table(["Task", "Group", "Expected", "Left out"], rows, numeric_from=2)


def harmless_markdown(table: pd.DataFrame) -> str:
    """The harmless-count table as markdown."""
    rows = [
        [GROUP_LABELS.get(r["group"], r["group"]), str(r["n_instructions"]), str(r["n_no_harmful_edit"])]
        for r in table.to_dict("records")
    ]
    return markdown_table(["Group", "Perturbed instructions", "No harmful edit found"], rows)


def to_csv(table: pd.DataFrame) -> str:
    """CSV text with floats at four decimals (stable bytes for the same numbers)."""
    return table.to_csv(index=False, float_format="%.4f", lineterminator="\n")



def setup_rows(loss: Any, augment: Any) -> list[list[str]]:
    """Per model (base, cit, coin): contrastive term, pooling, L_gen reduction, negative and positive kind.

    `loss` and `augment` are the LossParams and AugmentParams the models were trained with. The base is
    untrained (all n/a); CIT is trained on the same entries (negatives, positives) with L_gen alone, as a
    token mean (train-cit does not read loss.*); COIN follows loss.* (no pooling without the term).
    """
    on = bool(loss.contrastive)
    return [
        ["base", "no", "n/a", "n/a", "n/a", "n/a"],
        ["cit", "no", "n/a", "tokens", augment.negatives, augment.positives],
        ["coin", "yes" if on else "no", loss.pooling if on else "n/a", loss.gen_reduction if on else "tokens",
         augment.negatives, augment.positives],
    ]


def setup_markdown(loss: Any, augment: Any) -> str:
    """The report's setup table (setup_rows) as markdown."""
    header = ["Model", "L_ctr", "Pooling", "L_gen reduction", "Negatives", "Positives"]
    return markdown_table(header, setup_rows(loss, augment), numeric_from=len(header))

__all__ = [
    "setup_markdown",
    "setup_rows",
    "AVERAGE",
    "CATEGORIES",
    "MODELS",
    "extras_markdown",
    "extras_table",
    "format_delta",
    "format_paper",
    "format_mean_std",
    "harmless_counts",
    "harmless_markdown",
    "left_out_counts",
    "left_out_markdown",
    "markdown_table",
    "metrics_frame",
    "table1",
    "table1_markdown",
    "table3",
    "table3_markdown",
    "to_csv",
    "with_paper",
]
