"""COIN − CIT of PromptBench's performance drop rate, with a paired bootstrap over evaluation rows.

PDR is a ratio of two accuracies on the same rows (coin.evaluation.metrics.performance_drop_rate):
for task t, perturbed group g and clean instruction k,

    PDR_{t,g} = mean_k [1 - acc_{t,g,k} / acc_{t,clean,k}]   over the k with acc_{t,clean,k} > 0,
    PDR_g     = mean_t PDR_{t,g}                             over the tasks where it is defined,
    PDR_pert  = mean_g PDR_g                                 over the perturbed groups,

the values of the metrics' `average` and `overall` sections. A per-unit difference does not exist for
a ratio, so the bootstrap resamples what the ratio is computed from: each task's evaluation rows (idx),
drawn with replacement (multinomial counts w_i, the same draw for both models, every group and every
instruction, so a row keeps its clean and perturbed answers together). acc_{t,g,k} under a draw is
sum_i w_i c_{g,k,i} / sum_i w_i. Draws where a value is undefined (no clean accuracy above 0) are left
out; interval and p as every other bootstrap of the report (coin.report.bootstrap.interval_and_p).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from coin.errors import DataError
from coin.evaluation.metrics import CLEAN, has_ranking
from coin.report.alignment import COLUMNS
from coin.report.bootstrap import PERTURBED, interval_and_p, paired_units

PDR_COLUMNS = {"pdr": "correct", "rank_pdr": "rank_correct"}  # metric -> per-row correctness column


def _task_pdr(units: pd.DataFrame, model: str, groups: Sequence[str], weights: np.ndarray) -> np.ndarray:
    """(G, B) PDR of one task's rows for each perturbed group of `groups`, under B row weightings
    `weights` (B, n) over the task's sorted row ids; NaN where undefined."""
    rows = np.sort(units["idx"].unique())
    table = units.pivot_table(index=["group", "prompt_id"], columns="idx", values=model, aggfunc="first")
    table = table.reindex(columns=rows)  # (group x prompt, n)
    values = table.to_numpy(dtype=np.float64)
    present = np.isfinite(values)
    hits = np.where(present, values, 0.0) @ weights.T  # (P, B): weighted correct answers
    counts = present.astype(np.float64) @ weights.T  # (P, B): weighted rows
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = hits / counts  # (P, B)
    index = {key: i for i, key in enumerate(table.index)}
    out = np.full((len(groups), weights.shape[0]), np.nan)  # (G, B)
    for gi, group in enumerate(groups):
        drops = []
        for (g, prompt_id), i in index.items():
            clean_i = index.get((CLEAN, prompt_id))
            if g != group or clean_i is None:
                continue
            clean = acc[clean_i]  # (B,)
            with np.errstate(invalid="ignore", divide="ignore"):
                drops.append(np.where(clean > 0, 1.0 - acc[i] / clean, np.nan))
        if drops:
            stacked = np.vstack(drops)  # (K, B)
            defined = np.isfinite(stacked).any(axis=0)
            out[gi, defined] = np.nanmean(stacked[:, defined], axis=0)
    return out


def _group_pdr(units: pd.DataFrame, model: str, tasks: Sequence[str], groups: Sequence[str], draws: dict[str, np.ndarray]) -> np.ndarray:
    """(G, B) mean over tasks of the per-task PDR (undefined tasks left out)."""
    per_task = np.stack([_task_pdr(units[units["task"] == t], model, groups, draws[t]) for t in tasks])  # (T, G, B)
    defined = np.isfinite(per_task).any(axis=0)  # (G, B)
    out = np.full(per_task.shape[1:], np.nan)
    out[defined] = np.nanmean(per_task[:, defined], axis=0)  # (T, K) -> (K,): only where some task is defined
    return out


def pdr_table(
    cit: pd.DataFrame,
    coin: pd.DataFrame,
    tasks: Sequence[str],
    groups: Sequence[str],
    n_resamples: int,
    confidence: float,
    seed: int,
) -> pd.DataFrame:
    """One row per PDR metric (pdr; rank_pdr where both frames carry a ranking) x perturbed group, then
    per metric a pooled row (`perturbed`: the mean over those groups). Metric m draws from numpy
    default_rng([seed, 2000 + m]). Columns: coin.report.alignment.COLUMNS; n_units = rows resampled."""
    perturbed = [g for g in groups if g != CLEAN]
    ranked = has_ranking(cit) and has_ranking(coin)
    rows = []
    for m, (metric, column) in enumerate(PDR_COLUMNS.items()):
        if column == "rank_correct" and not ranked:
            continue
        units = paired_units(cit, coin, column)
        units = units[units["task"].isin(tasks) & units["group"].isin([CLEAN, *perturbed])]
        present = [t for t in tasks if (units["task"] == t).any()]
        if not present or not perturbed:
            raise DataError("PDR needs clean and perturbed predictions of at least one task")
        units = units.assign(cit=units["cit"].astype(float), coin=units["coin"].astype(float))
        rng = np.random.default_rng([seed, 2000 + m])
        sizes = {t: units.loc[units["task"] == t, "idx"].nunique() for t in present}
        draws = {t: rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(np.float64) for t, n in sizes.items()}
        ones = {t: np.ones((1, n)) for t, n in sizes.items()}
        observed = {model: _group_pdr(units, model, present, perturbed, ones)[:, 0] for model in ("cit", "coin")}  # (G,)
        resampled = {model: _group_pdr(units, model, present, perturbed, draws) for model in ("cit", "coin")}  # (G, B)
        cells = [(g, slice(gi, gi + 1)) for gi, g in enumerate(perturbed)] + [(PERTURBED, slice(None))]
        for group, part in cells:
            cit_value, coin_value = np.mean(observed["cit"][part]), np.mean(observed["coin"][part])
            deltas = resampled["coin"][part].mean(axis=0) - resampled["cit"][part].mean(axis=0)  # (B,)
            deltas = deltas[np.isfinite(deltas)]
            if not (np.isfinite(cit_value) and np.isfinite(coin_value)) or deltas.size == 0:
                continue  # undefined: no instruction with a clean accuracy above 0
            low, high, p_value = interval_and_p(deltas, confidence)
            rows.append({"metric": metric, "group": group, "n_units": int(sum(sizes.values())), "cit": float(cit_value),
                         "coin": float(coin_value), "delta": float(coin_value - cit_value), "ci_low": low,
                         "ci_high": high, "p_value": p_value})
    return pd.DataFrame(rows, columns=COLUMNS)


__all__ = ["PDR_COLUMNS", "pdr_table"]
