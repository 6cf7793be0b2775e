"""Robustness metrics from a predictions frame (PREDICTIONS schema) and last-token states.

Each metric is a per-item score, an aggregation and a direction (higher is better for all but
invalid_rate and acc_std), computed per task x group, where a group is `clean` or one perturbation:

- acc_mean (%, higher better):  mean_k acc_k, acc_k = 100 * mean_i correct[k, i] over the rows i of
  instruction k (prompt_id k); invalid answers count as wrong.
- acc_std (%, lower better):     population std over instructions, sqrt(mean_k (acc_k - acc_mean)^2),
  as the paper (numpy's default ddof=0).
- invalid_rate (fraction, lower better): mean over all (k, i) of [pred == -1].
- consistency (fraction, higher better): mean_i [pred[k, i] is the same for every k]; -1 counts as a
  prediction like any other.
- clean_cosine (higher better): mean over (k, i) of cos(h_clean[k, i], h_group[k, i]), the last-token
  states of row i under clean instruction k and under its perturbed version (same prompt_id); 1 for
  the clean group itself.

- rank_acc_mean, rank_acc_std (%, when the run ranked label words: eval.scoring rank or both): as
  acc_mean and acc_std, from the ranking's prediction (rank_pred) instead of the protocol's.
- pdr (fraction, lower better), PromptBench's performance drop rate: per instruction k,
  PDR_k = 1 - acc_k(group) / acc_k(clean), averaged over the instructions whose clean accuracy is > 0
  (undefined, and left out, where it is 0: never a division by zero); null when no instruction of the
  task has a clean accuracy above 0. rank_pdr: the same from the ranking's predictions.
- align_at_1, centered_cosine, cosine_margin, group_separability: the means over a task x group's rows
  of coin.evaluation.alignment's per-row scores (align_hit, centered_cosine, cosine_margin, group_hit).

pdr, rank_pdr, align_at_1, centered_cosine and cosine_margin compare a perturbed group with clean, so
they are null for the clean group itself. `average` holds the unweighted mean over tasks of each metric
per group (nulls left out), and `overall` the mean of those group averages (so over the perturbed groups
for those five).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import pandas as pd

from coin.errors import DataError

CLEAN = "clean"
METRIC_KEYS = (
    "acc_mean", "acc_std", "invalid_rate", "consistency", "clean_cosine", "pdr",
    "rank_acc_mean", "rank_acc_std", "rank_pdr",
    "align_at_1", "centered_cosine", "cosine_margin", "group_separability",
)
DIRECTIONS = {
    "acc_mean": "max", "acc_std": "min", "invalid_rate": "min", "consistency": "max", "clean_cosine": "max",
    "pdr": "min", "rank_acc_mean": "max", "rank_acc_std": "min", "rank_pdr": "min",
    "align_at_1": "max", "centered_cosine": "max", "cosine_margin": "max", "group_separability": "min",
}
VERSUS_CLEAN = ("pdr", "rank_pdr", "align_at_1", "centered_cosine", "cosine_margin")  # null for the clean group
UNIT_METRICS = {  # metric -> per-row column of coin.evaluation.alignment.alignment_units
    "align_at_1": "align_hit",
    "centered_cosine": "centered_cosine",
    "cosine_margin": "cosine_margin",
    "group_separability": "group_hit",
}
DECIMALS = 4


def accuracy_by_prompt(predictions: pd.DataFrame, correct: str = "correct") -> pd.DataFrame:
    """Per task, group and prompt_id: accuracy in % (from column `correct`) and invalid share (columns
    accuracy, invalid, n)."""
    frame = predictions.assign(
        correct_f=predictions[correct].astype(float),
        invalid_f=(predictions["pred"] == -1).astype(float),
    )
    grouped = frame.groupby(["task", "group", "prompt_id"], sort=True)
    out = grouped.agg(accuracy=("correct_f", "mean"), invalid=("invalid_f", "mean"), n=("idx", "size")).reset_index()
    out["accuracy"] = out["accuracy"] * 100.0
    return out


def consistency(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per task and group: share of rows whose prediction is identical under every instruction."""
    distinct = predictions.groupby(["task", "group", "idx"], sort=True)["pred"].nunique().rename("distinct").reset_index()
    distinct["same"] = (distinct["distinct"] == 1).astype(float)
    return distinct.groupby(["task", "group"], sort=True)["same"].mean().rename("consistency").reset_index()


def clean_cosines(keys: pd.DataFrame, states: np.ndarray) -> pd.DataFrame:
    """Cosine between each perturbed row's state and the clean row with the same task, prompt_id, idx.

    `keys` has columns task, group, prompt_id, idx, aligned with the rows of `states` (n, d).
    cos(a, b) = a . b / max(|a| |b|, 1e-12). Returns columns task, group, prompt_id, idx, cosine for
    every non-clean row; a perturbed row without its clean counterpart is a DataError.
    """
    if len(keys) != len(states):
        raise DataError(f"states has {len(states)} rows but keys has {len(keys)}: they must align")
    frame = keys[["task", "group", "prompt_id", "idx"]].reset_index(drop=True).assign(row=np.arange(len(keys)))
    clean = frame[frame["group"] == CLEAN]
    other = frame[frame["group"] != CLEAN]
    pairs = other.merge(clean, on=["task", "prompt_id", "idx"], how="left", suffixes=("", "_clean"))
    if pairs["row_clean"].isna().any():
        miss = pairs[pairs["row_clean"].isna()].iloc[0]
        raise DataError(
            f"no clean state for task {miss['task']!r} prompt_id {miss['prompt_id']} idx {miss['idx']}: "
            "every perturbed prompt needs its clean version"
        )
    a = states[pairs["row"].to_numpy()].astype(np.float64)  # (m, d) perturbed
    b = states[pairs["row_clean"].astype(np.int64).to_numpy()].astype(np.float64)  # (m, d) clean
    norms = np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    cosine = (a * b).sum(axis=1) / norms if len(pairs) else np.zeros(0)
    return pairs[["task", "group", "prompt_id", "idx"]].assign(cosine=cosine).reset_index(drop=True)


def performance_drop_rate(clean_acc: np.ndarray, perturbed_acc: np.ndarray) -> Optional[float]:
    """PromptBench's PDR averaged over instructions: mean_k (1 - perturbed_k / clean_k) over the k with
    clean_k > 0; None when there is no such k (the drop is undefined: nothing to divide by).

    clean_acc[k] and perturbed_acc[k] are instruction k's accuracies (any one unit) on the same rows.
    """
    clean = np.asarray(clean_acc, dtype=np.float64)
    perturbed = np.asarray(perturbed_acc, dtype=np.float64)
    if clean.shape != perturbed.shape:
        raise DataError(f"PDR needs one clean accuracy per perturbed one, got {clean.shape} and {perturbed.shape}")
    defined = clean > 0
    if not defined.any():
        return None
    return float(np.mean(1.0 - perturbed[defined] / clean[defined]))


def pdr_table(per_prompt: pd.DataFrame) -> pd.DataFrame:
    """Per task and perturbed group: `performance_drop_rate` of its instructions against the clean group's
    (matched on prompt_id), NaN where undefined. `per_prompt` is `accuracy_by_prompt` output."""
    clean = per_prompt[per_prompt["group"] == CLEAN][["task", "prompt_id", "accuracy"]]
    other = per_prompt[per_prompt["group"] != CLEAN]
    pairs = other.merge(clean, on=["task", "prompt_id"], how="inner", suffixes=("", "_clean"))
    rows = []
    for (task, group), part in pairs.groupby(["task", "group"], sort=True):
        value = performance_drop_rate(part["accuracy_clean"].to_numpy(), part["accuracy"].to_numpy())
        rows.append({"task": task, "group": group, "pdr": np.nan if value is None else value})
    return pd.DataFrame(rows, columns=["task", "group", "pdr"])


def has_ranking(predictions: pd.DataFrame) -> bool:
    """Whether the rows carry a label-word ranking (eval.scoring rank or both): rank_pred >= 0 everywhere."""
    return "rank_pred" in predictions.columns and bool((predictions["rank_pred"] >= 0).all())


def _round(value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise DataError(f"a metric is {value}: metrics must be finite numbers")
    return round(value, DECIMALS)


def task_group_metrics(predictions: pd.DataFrame, cosines: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """One row per task and group with the METRIC_KEYS columns (clean_cosine only when `cosines`)."""
    if predictions.empty:
        raise DataError("predictions are empty: there is nothing to score")
    per_prompt = accuracy_by_prompt(predictions)
    acc = per_prompt.groupby(["task", "group"], sort=True)["accuracy"].agg(
        acc_mean="mean", acc_std=lambda s: float(np.std(s.to_numpy(), ddof=0))
    )
    invalid = (predictions["pred"] == -1).groupby([predictions["task"], predictions["group"]], sort=True).mean()
    table = acc.assign(invalid_rate=invalid).reset_index().merge(consistency(predictions), on=["task", "group"])
    table = table.merge(pdr_table(per_prompt), on=["task", "group"], how="left")
    if has_ranking(predictions):
        ranked = accuracy_by_prompt(predictions, "rank_correct")
        rank_acc = ranked.groupby(["task", "group"], sort=True)["accuracy"].agg(
            rank_acc_mean="mean", rank_acc_std=lambda s: float(np.std(s.to_numpy(), ddof=0))
        ).reset_index()
        rank_pdr = pdr_table(ranked).rename(columns={"pdr": "rank_pdr"})
        table = table.merge(rank_acc, on=["task", "group"]).merge(rank_pdr, on=["task", "group"], how="left")
    present = {metric: column for metric, column in UNIT_METRICS.items() if column in predictions.columns}
    if present:
        frame = predictions.assign(**{m: predictions[c].astype(float) for m, c in present.items()})
        means = frame.groupby(["task", "group"], sort=True)[list(present)].mean().reset_index()
        table = table.merge(means, on=["task", "group"], how="left")
    if cosines is not None:
        mean_cos = cosines.groupby(["task", "group"], sort=True)["cosine"].mean().rename("clean_cosine").reset_index()
        table = table.merge(mean_cos, on=["task", "group"], how="left")
        table.loc[table["group"] == CLEAN, "clean_cosine"] = 1.0
        if table["clean_cosine"].isna().any():
            miss = table[table["clean_cosine"].isna()].iloc[0]
            raise DataError(f"no states for task {miss['task']!r} group {miss['group']!r}: clean_cosine needs them")
    for key in VERSUS_CLEAN:
        if key in table.columns:
            table.loc[table["group"] == CLEAN, key] = np.nan
    return table


def summarize(predictions: pd.DataFrame, model: str, cosines: Optional[pd.DataFrame] = None) -> dict[str, Any]:
    """The metrics.json document: {task: {group: metrics}, "average": {group: .., "overall": ..}, "model"}.

    Values are rounded to 4 decimals; NaN or infinity raises DataError, except in the VERSUS_CLEAN keys,
    where NaN (the clean group; a PDR with no clean accuracy above 0) is written as null.
    """
    table = task_group_metrics(predictions, cosines)
    keys = [k for k in METRIC_KEYS if k in table.columns]

    def value(key: str, v: float) -> Optional[float]:
        return None if key in VERSUS_CLEAN and pd.isna(v) else _round(v)

    doc: dict[str, Any] = {}
    for row in table.to_dict("records"):
        doc.setdefault(row["task"], {})[row["group"]] = {k: value(k, row[k]) for k in keys}
    by_group = table.groupby("group", sort=True)[keys].mean()  # NaN (null) left out
    average = {group: {k: value(k, by_group.loc[group, k]) for k in keys} for group in by_group.index}
    average["overall"] = {k: value(k, by_group[k].mean()) for k in keys}
    if "average" in doc or "model" in doc:
        raise DataError("a task is named 'average' or 'model': those names are reserved in metrics.json")
    doc["average"] = average
    doc["model"] = model
    return doc


def headline(doc: dict[str, Any], with_rank: bool = False) -> dict[str, Any]:
    """The small summary `dvc exp show` prints, from a `summarize` document, under the model's name (so
    the three files' columns have short distinct names, e.g. coin.clean.acc): per group the mean over
    tasks of the accuracy (acc) and of its std over instructions (std), the drop rate (pdr) and
    align_at_1; under `overall` those and centered_cosine, cosine_margin and separability
    (group_separability); beside them the overall invalid-output rate. with_rank (eval.scoring both)
    adds the ranking's rank_acc and rank_pdr. Null values (the clean group's pdr) are left out.

    {model: {"clean": {"acc": .., "std": ..}, <group>: {.., "pdr": .., "align_at_1": ..}, "overall": {..},
    "invalid_rate": ..}}
    """
    average = doc["average"]
    names = {"acc_mean": "acc", "acc_std": "std", "pdr": "pdr", "align_at_1": "align_at_1"}
    if with_rank:
        names.update({"rank_acc_mean": "rank_acc", "rank_pdr": "rank_pdr"})
    overall_names = {**names, "centered_cosine": "centered_cosine", "cosine_margin": "cosine_margin",
                     "group_separability": "separability"}
    out: dict[str, Any] = {
        group: {short: v[key] for key, short in (overall_names if group == "overall" else names).items() if v.get(key) is not None}
        for group, v in average.items()
    }
    if "invalid_rate" in average["overall"]:
        out["invalid_rate"] = average["overall"]["invalid_rate"]
    return {doc["model"]: out}


def headline_delta(coin: dict[str, Any], cit: dict[str, Any]) -> dict[str, Any]:
    """{"coin_minus_cit": {group: COIN − CIT mean accuracy}} per group and overall, from two `summarize`
    documents (rounded to 4 decimals)."""
    a, b = coin["average"], cit["average"]
    return {"coin_minus_cit": {g: _round(a[g]["acc_mean"] - b[g]["acc_mean"]) for g in a if g in b}}


__all__ = [
    "CLEAN",
    "DIRECTIONS",
    "METRIC_KEYS",
    "accuracy_by_prompt",
    "clean_cosines",
    "consistency",
    "has_ranking",
    "headline",
    "headline_delta",
    "pdr_table",
    "performance_drop_rate",
    "summarize",
    "task_group_metrics",
]
