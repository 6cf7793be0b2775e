"""COIN − CIT of several training seeds beside the change each model shows from one seed to another.
Any two models scored on the same rows compare the same way (`models`, e.g. COIN with loss.pooling prompt
against COIN with last: b − a, a the first).

Every run is one training seed of CIT and COIN scored on the same prompts and rows (the second seed uses
perturb.mode file on the first run's prompt set), so any two prediction frames pair on (task, group,
prompt_id, idx) and every comparison is the paired one the report uses: accuracy and ranking accuracy
(bootstrap.bootstrap_table), PDR (pdr_bootstrap.pdr_table) and the alignment scores
(alignment.alignment_table), at the pooled cells (each group over all tasks, and all perturbed groups).

The bootstrap intervals hold the evaluation's sampling noise (which rows and instructions were drawn);
the seed changes hold training's own (initialisation, dropout, data order). For one measure and cell:

    spread  = max over models m of (max_r m_r − min_r m_r): the largest difference of one model between any
              two seeds (with two runs |m_second − m_first|)
    verdict = "COIN above CIT"  if every run's COIN − CIT interval lies above 0 and min_r (COIN − CIT)_r > spread
              "COIN below CIT"  if every interval lies below 0 and max_r (COIN − CIT)_r < −spread
              "not resolved"    otherwise: a difference within the seed spread or an interval that holds 0
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from coin.errors import DataError
from coin.evaluation.metrics import has_ranking
from coin.report import alignment, bootstrap, pdr_bootstrap

MODELS = ("cit", "coin")
COLUMNS = ["comparison", "run", "measure", "group", "a", "b", "delta", "ci_low", "ci_high", "p_value"]
MEASURE_LABELS = {
    "accuracy": "accuracy (generation, %)",
    "rank_accuracy": "accuracy (label ranking, %)",
    "pdr": "PDR (generation)",
    "rank_pdr": "PDR (label ranking)",
    "align_at_1": "align@1",
    "centered_cosine": "centered cosine",
    "cosine_margin": "cosine margin",
    "group_separability": "group separability",
}
UNRESOLVED = "not resolved"


def shown(model: str) -> str:
    """A model's name in tables: CIT, COIN, or the name as given (e.g. coin_prompt -> COIN_PROMPT)."""
    return model.upper()


def difference(models: Sequence[str] = MODELS) -> str:
    """The within-run comparison's label: "b − a"; the other comparisons are one model across runs."""
    return f"{models[1]} − {models[0]}"


def verdict(side: str, models: Sequence[str] = MODELS) -> str:
    """"B above A" or "B below A" (`side`: above | below), e.g. "COIN above CIT"."""
    return f"{shown(models[1])} {side} {shown(models[0])}"


DIFFERENCE, ABOVE, BELOW = difference(), verdict("above"), verdict("below")


def compare(a: pd.DataFrame, b: pd.DataFrame, tasks: Sequence[str], groups: Sequence[str], n_resamples: int,
            confidence: float, seed: int) -> pd.DataFrame:
    """b − a of every measure at the pooled cells, paired on the rows both were scored on. Columns: measure,
    group, a, b, delta, ci_low, ci_high, p_value (accuracies in %, the rest in their own unit)."""
    frames = []
    for measure, column in (("accuracy", "correct"), ("rank_accuracy", "rank_correct")):
        if column == "rank_correct" and not (has_ranking(a) and has_ranking(b)):
            continue
        table = bootstrap.bootstrap_table(bootstrap.paired_units(a, b, column), [], groups, n_resamples, confidence, seed)
        frames.append(table.rename(columns={"cit_acc": "a", "coin_acc": "b"}).assign(measure=measure))
    for table in (pdr_bootstrap.pdr_table(a, b, tasks, groups, n_resamples, confidence, seed),
                  alignment.alignment_table(a, b, groups, n_resamples, confidence, seed)):
        frames.append(table.rename(columns={"metric": "measure", "cit": "a", "coin": "b"}))
    columns = ["measure", "group", "a", "b", "delta", "ci_low", "ci_high", "p_value"]
    return pd.concat([f[columns] for f in frames], ignore_index=True)


def seed_table(runs: dict[str, dict[str, pd.DataFrame]], tasks: Sequence[str], groups: Sequence[str],
               n_resamples: int, confidence: float, seed: int, models: Sequence[str] = MODELS) -> pd.DataFrame:
    """`runs`: run label (e.g. the seed) -> {model: predictions} for the two `models` (a, b), the first run
    the reference. Rows: comparison "b − a" for every run, then a and b for every later run (the first
    run's against this run's: the model's seed change). Columns: COLUMNS."""
    if len(runs) < 2:
        raise DataError(f"seed comparison needs at least two runs, got {len(runs)}")
    labels = list(runs)
    a, b = models
    frames = []
    for label in labels:
        frames.append(_paired(runs[label][a], runs[label][b], f"run {label}: {shown(a)} and {shown(b)}", tasks, groups,
                              n_resamples, confidence, seed).assign(comparison=difference(models), run=label))
    for label in labels[1:]:
        for model in models:
            frames.append(_paired(runs[labels[0]][model], runs[label][model], f"{model} of runs {labels[0]} and {label}",
                                  tasks, groups, n_resamples, confidence, seed).assign(comparison=model, run=label))
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def _paired(a, b, what, tasks, groups, n_resamples, confidence, seed) -> pd.DataFrame:
    try:
        return compare(a, b, tasks, groups, n_resamples, confidence, seed)
    except DataError as exc:
        raise DataError(f"{what} were not scored on the same rows ({exc}); score every run on one prompt set "
                        "(perturb.mode file with the first run's prompts.parquet)") from None


def verdicts(table: pd.DataFrame, models: Sequence[str] = MODELS) -> pd.DataFrame:
    """One row per measure x group of `seed_table`: each run's b − a (COIN − CIT) with its interval, the
    seed spread and the verdict (module docstring; "B above A" / "B below A"). Columns: measure, group,
    delta_<run>, ci_low_<run>, ci_high_<run>, p_value_<run> per run, spread, verdict."""
    runs = list(dict.fromkeys(table["run"]))
    within = difference(models)
    rows = []
    for (measure, group), cell in table.groupby(["measure", "group"], sort=False):
        diffs = cell[cell["comparison"] == within].set_index("run").reindex(runs)
        changes = cell[cell["comparison"] != within]
        if diffs["delta"].isna().any() or changes.empty:
            continue  # a measure one run lacks (no ranking) has no verdict
        # each model's value relative to the first run: 0 there, delta at every later run
        spread = max(float(max(c["delta"].max(), 0.0) - min(c["delta"].min(), 0.0)) for _, c in changes.groupby("comparison"))
        row = {"measure": measure, "group": group}
        for run, d in diffs.iterrows():
            row.update({f"delta_{run}": d["delta"], f"ci_low_{run}": d["ci_low"], f"ci_high_{run}": d["ci_high"],
                        f"p_value_{run}": d["p_value"]})
        if (diffs["ci_low"] > 0).all() and diffs["delta"].min() > spread:
            said = verdict("above", models)
        elif (diffs["ci_high"] < 0).all() and diffs["delta"].max() < -spread:
            said = verdict("below", models)
        else:
            said = UNRESOLVED
        rows.append({**row, "spread": spread, "verdict": said})
    return pd.DataFrame(rows)


def seeds_markdown(table: pd.DataFrame, confidence: float, group_labels: dict[str, str], models: Sequence[str] = MODELS) -> str:
    """The verdicts as one markdown table: per measure and pooled cell, each run's b − a (COIN − CIT)
    (interval, p), each later run's change of each model, the spread and the verdict."""
    from coin.report.tables import markdown_table

    runs = list(dict.fromkeys(table["run"]))
    later = runs[1:]
    labels = {**group_labels, **alignment.POOLED_LABELS}
    changes = table[table["comparison"] != difference(models)].set_index(["measure", "group", "comparison", "run"])["delta"]
    digits = {"accuracy": 2, "rank_accuracy": 2}
    rows = []
    for record in verdicts(table, models).to_dict("records"):
        n = digits.get(record["measure"], 3)
        row = [MEASURE_LABELS.get(record["measure"], record["measure"]), labels.get(record["group"], record["group"])]
        for run in runs:
            row.append(f"{record[f'delta_{run}']:+.{n}f} ([{record[f'ci_low_{run}']:+.{n}f}, {record[f'ci_high_{run}']:+.{n}f}], "
                       f"p {bootstrap.format_p(record[f'p_value_{run}'])})")
        for run in later:
            for model in models:
                row.append(f"{changes[record['measure'], record['group'], model, run]:+.{n}f}")
        row += [f"{record['spread']:.{n}f}", record["verdict"]]
        rows.append(row)
    a, b = (shown(m) for m in models)
    header = ["Measure", "Group", *(f"{b} − {a}, run {r} ({confidence * 100:g}% CI, p)" for r in runs),
              *(f"{shown(m)} {r} − {runs[0]}" for r in later for m in models), "Seed spread", "Verdict"]
    return markdown_table(header, rows, numeric_from=2)


__all__ = ["ABOVE", "BELOW", "COLUMNS", "DIFFERENCE", "MODELS", "UNRESOLVED", "compare", "difference", "seed_table", "seeds_markdown", "shown", "verdict", "verdicts"]
