"""Paired bootstrap of the COIN − CIT accuracy difference over (instruction, example) units.

A unit is one evaluation row under one instruction: (task, group, prompt_id, idx). Both models saw the
same units, so the test resamples units (with replacement) and recomputes the mean paired difference
d_u = correct_coin[u] - correct_cit[u] in {-1, 0, 1}. Resampling is vectorised: a block of resamples is
one (k, n) matrix of unit indices drawn from a seeded numpy Generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from coin.errors import DataError

UNIT_KEY: tuple[str, ...] = ("task", "group", "prompt_id", "idx")
ALL = "all"  # task (or group) value of a pooled row
PERTURBED = "perturbed"  # group value of the row pooling every perturbed group
MAX_BLOCK = 4_000_000  # most unit indices drawn at once (32 MB of int64)


@dataclass(frozen=True)
class BootstrapResult:
    """Observed difference and its bootstrap distribution summary, in accuracy points (%)."""

    n_units: int
    acc_a: float  # accuracy of model a (CIT), %
    acc_b: float  # accuracy of model b (COIN), %
    delta: float  # acc_b - acc_a
    ci_low: float
    ci_high: float
    p_value: float


def paired_bootstrap(
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    n_resamples: int,
    confidence: float,
    rng: np.random.Generator,
) -> BootstrapResult:
    """Paired bootstrap of mean(correct_b - correct_a) over units, in percent.

    delta = 100 * mean_u(b_u - a_u). Each of B resamples draws n unit indices with replacement and
    takes delta* = 100 * mean(d[indices]). The interval is the percentile interval
    [q_{(1-c)/2}(delta*), q_{1-(1-c)/2}(delta*)] for confidence c. The two-sided p-value for
    H0: delta = 0 is p = min(1, 2 * min((#{delta* <= 0} + 1) / (B + 1), (#{delta* >= 0} + 1) / (B + 1))),
    so identical predictions give p = 1 and a difference no resample crosses gives p = 2 / (B + 1).
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    return _paired(a.astype(np.float64), b.astype(np.float64), n_resamples, confidence, rng, scale=100.0)


def paired_bootstrap_values(
    values_a: np.ndarray,
    values_b: np.ndarray,
    n_resamples: int,
    confidence: float,
    rng: np.random.Generator,
) -> BootstrapResult:
    """`paired_bootstrap` for real-valued per-unit scores (e.g. a cosine): delta = mean_u(b_u - a_u), in
    the scores' own unit (no percent); acc_a and acc_b hold mean(a) and mean(b). Same resampling,
    percentile interval and add-one p-value."""
    a = np.asarray(values_a, dtype=np.float64)
    b = np.asarray(values_b, dtype=np.float64)
    return _paired(a, b, n_resamples, confidence, rng, scale=1.0)


def _paired(a: np.ndarray, b: np.ndarray, n_resamples: int, confidence: float, rng: np.random.Generator, scale: float) -> BootstrapResult:
    """The shared resampling of both paired bootstraps: a, b are (n,) float vectors, d = b - a; the
    means are multiplied by `scale` (100 for 0/1 correctness: percent)."""
    if a.shape != b.shape or a.ndim != 1:
        raise DataError(f"paired bootstrap needs two equal-length vectors, got shapes {a.shape} and {b.shape}")
    n = a.size
    if n == 0:
        raise DataError("paired bootstrap got no units: there is nothing to compare")
    diff = b - a  # (n,)
    block = max(1, MAX_BLOCK // n)
    means = np.empty(n_resamples, dtype=np.float64)  # (B,)
    for start in range(0, n_resamples, block):
        k = min(block, n_resamples - start)
        indices = rng.integers(0, n, size=(k, n))  # (k, n): k resamples of n units each
        means[start : start + k] = diff[indices].mean(axis=1) * scale  # (k,)
    low, high, p_value = interval_and_p(means, confidence)
    return BootstrapResult(
        n_units=n,
        acc_a=float(a.mean() * scale),
        acc_b=float(b.mean() * scale),
        delta=float(diff.mean() * scale),
        ci_low=low,
        ci_high=high,
        p_value=p_value,
    )


def interval_and_p(deltas: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """(low, high, p) of a bootstrap distribution of B differences: the percentile interval
    [q_{(1-c)/2}, q_{1-(1-c)/2}] and p = min(1, 2 * min((#{d* <= 0} + 1) / (B + 1), (#{d* >= 0} + 1) / (B + 1)))."""
    deltas = np.asarray(deltas, dtype=np.float64)  # (B,)
    b = deltas.size
    alpha = 1.0 - confidence
    low, high = np.quantile(deltas, [alpha / 2, 1 - alpha / 2])
    below = (np.count_nonzero(deltas <= 0) + 1) / (b + 1)
    above = (np.count_nonzero(deltas >= 0) + 1) / (b + 1)
    return float(low), float(high), float(min(1.0, 2 * min(below, above)))


def paired_units(cit: pd.DataFrame, coin: pd.DataFrame, column: str = "correct") -> pd.DataFrame:
    """Match two prediction frames on (task, group, prompt_id, idx).

    Returns task, group, prompt_id, idx, cit, coin (the `column` of each; booleans for `correct` and
    `rank_correct`), sorted by the key. Both frames must hold exactly the same units; otherwise a
    DataError names one unmatched unit.
    """
    key = list(UNIT_KEY)
    left = cit[[*key, column]].rename(columns={column: "cit"})
    right = coin[[*key, column]].rename(columns={column: "coin"})
    merged = left.merge(right, on=key, how="outer", indicator=True, validate="one_to_one")
    lonely = merged[merged["_merge"] != "both"]
    if not lonely.empty:
        row = lonely.iloc[0]
        side = "cit" if row["_merge"] == "left_only" else "coin"
        unit = ", ".join(f"{k}={(row[k].item() if hasattr(row[k], 'item') else row[k])!r}" for k in key)
        raise DataError(
            f"{len(lonely)} units are in only one model's predictions, e.g. {unit} only in {side}: "
            "evaluate both models on the same prompts and rows"
        )
    merged = merged.drop(columns="_merge").sort_values(key).reset_index(drop=True)
    if column in ("correct", "rank_correct"):
        merged["cit"] = merged["cit"].astype(bool)
        merged["coin"] = merged["coin"].astype(bool)
    return merged


def bootstrap_table(
    units: pd.DataFrame,
    tasks: Sequence[str],
    groups: Sequence[str],
    n_resamples: int,
    confidence: float,
    seed: int,
    progress: bool = False,
) -> pd.DataFrame:
    """COIN − CIT paired bootstrap per group (all tasks pooled), for all perturbed groups, and per task x group.

    `units` is `paired_units` output. Rows, in order: (all, g) for each group g; (all, perturbed) pooling
    every group but clean; then (t, g) for each task t and group g that has units. Row i draws from
    numpy default_rng([seed, i]), so a row's numbers do not depend on the other rows. Columns: task,
    group, n_units, cit_acc, coin_acc, delta, ci_low, ci_high, p_value (accuracies and delta in %).
    """
    cells: list[tuple[str, str, pd.Series]] = []
    for group in groups:
        cells.append((ALL, group, units["group"] == group))
    perturbed = [g for g in groups if g != "clean"]
    if perturbed:
        cells.append((ALL, PERTURBED, units["group"].isin(perturbed)))
    for task in tasks:
        for group in groups:
            cells.append((task, group, (units["task"] == task) & (units["group"] == group)))
    rows = []
    iterator = enumerate(cells)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=len(cells), desc="bootstrap", unit="cell")
    for i, (task, group, mask) in iterator:
        subset = units[mask]
        if subset.empty:
            continue
        result = paired_bootstrap(
            subset["cit"].to_numpy(), subset["coin"].to_numpy(), n_resamples, confidence, np.random.default_rng([seed, i])
        )
        rows.append(
            {
                "task": task,
                "group": group,
                "n_units": result.n_units,
                "cit_acc": result.acc_a,
                "coin_acc": result.acc_b,
                "delta": result.delta,
                "ci_low": result.ci_low,
                "ci_high": result.ci_high,
                "p_value": result.p_value,
            }
        )
    columns = ["task", "group", "n_units", "cit_acc", "coin_acc", "delta", "ci_low", "ci_high", "p_value"]
    return pd.DataFrame(rows, columns=columns)


def format_p(p: float) -> str:
    """p-values with three decimals; below 0.001 as `< 0.001`."""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def significance_markdown(
    table: pd.DataFrame, confidence: float, task_labels: dict[str, str], group_labels: dict[str, str]
) -> str:
    """The bootstrap table as markdown: accuracies, delta, its percentile interval and p-value."""
    from coin.report.tables import format_delta, markdown_table

    level = f"{confidence * 100:g}% CI"
    rows = []
    for r in table.to_dict("records"):
        rows.append(
            [
                "All tasks" if r["task"] == ALL else task_labels.get(r["task"], r["task"]),
                group_labels.get(r["group"], r["group"]),
                str(r["n_units"]),
                f"{r['cit_acc']:.2f}",
                f"{r['coin_acc']:.2f}",
                format_delta(r["delta"]),
                f"[{format_delta(r['ci_low'])}, {format_delta(r['ci_high'])}]",
                format_p(r["p_value"]),
            ]
        )
    return markdown_table(["Dataset", "Group", "Units", "CIT", "COIN", "Δ", level, "p"], rows, numeric_from=2)


__all__ = [
    "ALL",
    "PERTURBED",
    "UNIT_KEY",
    "BootstrapResult",
    "bootstrap_table",
    "format_p",
    "interval_and_p",
    "paired_bootstrap",
    "paired_bootstrap_values",
    "paired_units",
    "significance_markdown",
]
