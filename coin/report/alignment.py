"""The report's alignment table: COIN − CIT of the per-row alignment scores, with a paired bootstrap.

Units are (task, group, prompt_id, idx) rows of both models' predictions, which carry the per-row scores
of coin.evaluation.alignment (align_hit, centered_cosine, cosine_margin, group_hit). A metric's value is
the mean over the units of a group (pooled over tasks, each unit weighing the same); the interval is a
paired bootstrap of COIN − CIT over those units (coin.report.bootstrap.paired_bootstrap_values).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from coin.evaluation.metrics import CLEAN
from coin.report.bootstrap import PERTURBED, format_p, paired_bootstrap_values, paired_units

# metric name in the report -> per-row column in the predictions, and whether the clean group has it
ALIGNMENT_METRICS: dict[str, tuple[str, bool]] = {
    "align_at_1": ("align_hit", False),
    "centered_cosine": ("centered_cosine", False),
    "cosine_margin": ("cosine_margin", False),
    "group_separability": ("group_hit", True),
}
COLUMNS = ["metric", "group", "n_units", "cit", "coin", "delta", "ci_low", "ci_high", "p_value"]
POOLED_LABELS = {PERTURBED: "All perturbed", "all": "All groups"}  # the pooled rows' group labels


def alignment_table(
    cit: pd.DataFrame,
    coin: pd.DataFrame,
    groups: Sequence[str],
    n_resamples: int,
    confidence: float,
    seed: int,
) -> pd.DataFrame:
    """One row per metric x group, then per metric a pooled row (`perturbed`: every perturbed group;
    for group_separability, which the clean group has too: `all`). Row i draws from numpy
    default_rng([seed, 1000 + i]). Columns: COLUMNS (cit, coin: means; delta, ci_*: COIN − CIT)."""
    rows = []
    i = 0
    for metric, (column, with_clean) in ALIGNMENT_METRICS.items():
        units = paired_units(cit, coin, column)
        units["cit"] = units["cit"].astype(float)
        units["coin"] = units["coin"].astype(float)
        own = [g for g in groups if with_clean or g != CLEAN]
        cells = [(g, units["group"] == g) for g in own]
        cells.append(("all" if with_clean else PERTURBED, units["group"].isin(own)))
        for group, mask in cells:
            subset = units[mask]
            if subset.empty:
                continue
            result = paired_bootstrap_values(
                subset["cit"].to_numpy(), subset["coin"].to_numpy(), n_resamples, confidence,
                np.random.default_rng([seed, 1000 + i]),
            )
            i += 1
            rows.append({"metric": metric, "group": group, "n_units": result.n_units, "cit": result.acc_a,
                         "coin": result.acc_b, "delta": result.delta, "ci_low": result.ci_low,
                         "ci_high": result.ci_high, "p_value": result.p_value})
    return pd.DataFrame(rows, columns=COLUMNS)


def alignment_markdown(table: pd.DataFrame, confidence: float, group_labels: dict[str, str]) -> str:
    """The alignment table as markdown, three decimals."""
    from coin.report.tables import markdown_table

    def signed(x: float) -> str:
        return f"{x:+.3f}"

    labels = {**group_labels, **POOLED_LABELS}
    rows = [
        [r["metric"], labels.get(r["group"], r["group"]), str(r["n_units"]), f"{r['cit']:.3f}", f"{r['coin']:.3f}",
         signed(r["delta"]), f"[{signed(r['ci_low'])}, {signed(r['ci_high'])}]", format_p(r["p_value"])]
        for r in table.to_dict("records")
    ]
    header = ["Metric", "Group", "Units", "CIT", "COIN", "COIN − CIT", f"{confidence * 100:g}% CI", "p"]
    return markdown_table(header, rows, numeric_from=2)


__all__ = ["ALIGNMENT_METRICS", "POOLED_LABELS", "alignment_markdown", "alignment_table"]
