"""Augmentation (paper section 4.1): give every entry a positive, then check the pair invariants.

A positive is the entry's own example (same fields, same options, same answer) rendered with another
kept template of its dataset that also fits cutoff_len: the contrastive loss pulls the two views
together. The anchor and its hard negative share one template but differ in input and answer: the loss
pushes them apart. The selection (coin.data.sampling) already knows each entry's positive, since an
example only qualifies when one exists; this module lays the entries out and checks the result.
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from coin.data.sampling import Selection
from coin.errors import DataError
from coin.schemas import TRAIN

ROLES = ("anchor", "negative")


def train_frame(selection: Selection) -> pd.DataFrame:
    """TRAIN rows: each entry's prompt (its pair's template) and positive_prompt (its positive template).

    The positive of an entry is the first template of the entry's seeded template order, other than
    the pair's, that fits cutoff_len (coin.data.sampling.DatasetPool.positive): a uniform choice among
    the fitting ones.
    """
    records = []
    for entry_id, (name, row, template_id, positive_id) in enumerate(selection.entries()):
        pool = selection.pools[name]
        j, k = pool.template_index(template_id), pool.template_index(positive_id)
        records.append(
            {
                "entry_id": entry_id,
                "pair_id": entry_id // 2,
                "role": ROLES[entry_id % 2],
                "dataset": name,
                "example_id": pool.example_ids[row],
                "template_id": template_id,
                "positive_template_id": positive_id,
                "prompt": pool.prompt(row, j),
                "positive_prompt": pool.prompt(row, k),
                "target": pool.target(row, j),
                "label": int(pool.row_labels[row]),
            }
        )
    return pd.DataFrame.from_records(records, columns=list(TRAIN.columns))


def _first(frame: pd.DataFrame, bad) -> pd.Series | None:
    hits = frame[bad]
    return None if hits.empty else hits.iloc[0]


def check_pairs(train: pd.DataFrame, kept: Mapping[str, set[int]]) -> None:
    """Raise DataError unless every pair and positive obeys COIN's construction.

    Each pair_id has one anchor and one negative, of the same dataset and template; the negative is
    another example with a different answer. Each entry's positive uses another template, kept for its
    dataset (`kept`: dataset -> kept template ids), with a different prompt. Checks are vectorised; the
    error names the first offending pair or entry.
    """
    row = _first(train, ~train["role"].isin(ROLES))
    if row is not None:
        raise DataError(f"entry {row['entry_id']}: role {row['role']!r} is not one of {', '.join(ROLES)}")
    counts = pd.crosstab(train["pair_id"], train["role"]).reindex(columns=list(ROLES), fill_value=0)
    bad = counts[(counts["anchor"] != 1) | (counts["negative"] != 1)]
    if len(bad):
        pair_id = bad.index[0]
        raise DataError(
            f"pair {pair_id} has {bad['anchor'].iat[0]} anchor(s) and {bad['negative'].iat[0]} negative(s): each pair needs one of each"
        )
    cols = ["pair_id", "dataset", "template_id", "example_id", "prompt", "target"]
    pairs = train.loc[train["role"] == "anchor", cols].merge(
        train.loc[train["role"] == "negative", cols], on="pair_id", suffixes=("_a", "_n")
    ).sort_values("pair_id")
    row = _first(pairs, pairs["dataset_n"] != pairs["dataset_a"])
    if row is not None:
        raise DataError(
            f"pair {row['pair_id']}: negative is from {row['dataset_n']!r} but its anchor from {row['dataset_a']!r} "
            "(a hard negative shares the dataset)"
        )
    row = _first(pairs, pairs["template_id_n"] != pairs["template_id_a"])
    if row is not None:
        raise DataError(
            f"pair {row['pair_id']}: negative has template {row['template_id_n']} but its anchor template {row['template_id_a']} "
            "(a hard negative shares the template)"
        )
    row = _first(pairs, (pairs["example_id_n"] == pairs["example_id_a"]) | (pairs["prompt_n"] == pairs["prompt_a"]))
    if row is not None:
        raise DataError(
            f"pair {row['pair_id']}: negative has the anchor's input (example {row['example_id_a']!r}); a hard negative needs another input"
        )
    row = _first(pairs, pairs["target_n"] == pairs["target_a"])
    if row is not None:
        raise DataError(
            f"pair {row['pair_id']}: negative has the anchor's answer {row['target_a']!r}; a hard negative needs a different answer"
        )
    entries = train.sort_values("entry_id")
    allowed = pd.MultiIndex.from_tuples([(d, int(t)) for d, ids in kept.items() for t in ids], names=["dataset", "t"])
    for what, column in (("template", "template_id"), ("positive template", "positive_template_id")):
        ok = pd.MultiIndex.from_arrays([entries["dataset"], entries[column].astype("int64")]).isin(allowed)
        row = _first(entries, ~ok)
        if row is not None:
            raise DataError(
                f"entry {row['entry_id']}: {what} {row[column]} is not a kept template of {row['dataset']} "
                f"(kept: {sorted(kept.get(row['dataset'], set()))})"
            )
    row = _first(entries, entries["positive_template_id"] == entries["template_id"])
    if row is not None:
        raise DataError(
            f"entry {row['entry_id']}: positive uses the entry's own template {row['template_id']}; a positive needs another kept template"
        )
    row = _first(entries, entries["positive_prompt"] == entries["prompt"])
    if row is not None:
        raise DataError(f"entry {row['entry_id']}: positive prompt equals the prompt; a positive needs another wording")


def check_matches_sampled(sampled: pd.DataFrame, selection: Selection, source: str) -> None:
    """Raise DataError unless `sampled` lists the selection's entries (dataset, example, template)."""
    ordered = sampled.sort_values("entry_id")
    entries = selection.entries()
    if len(ordered) != len(entries):
        raise DataError(f"{source} has {len(ordered)} entries but these params select {len(entries)}: rerun the sample stage")
    for (entry_id, dataset, example_id, template_id), (name, row, t, _) in zip(
        ordered[["entry_id", "dataset", "example_id", "template_id"]].itertuples(index=False), entries
    ):
        expected_id = selection.pools[name].example_ids[row]
        if (dataset, example_id, int(template_id)) != (name, expected_id, t):
            raise DataError(
                f"{source} entry {entry_id} is {dataset} {example_id!r} template {template_id}, but these params select "
                f"{name} {expected_id!r} template {t}: rerun the sample stage"
            )


__all__ = ["ROLES", "check_matches_sampled", "check_pairs", "train_frame"]
