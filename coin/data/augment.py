"""Augmentation (paper section 4.1): give every entry a positive and a negative, then check the pairs.

Positives (augment.positives). template (the paper): the entry's own example (same fields, same options,
same answer) rendered with another kept template of its dataset that also fits cutoff_len; the selection
(coin.data.sampling) already knows it. perturbed (the paper's first limitation): the entry's own template
with its instruction text put through a character / word / sentence perturbation (a `PerturbFn` passed
in by the stage; the input fields and the options are substituted after, so they are never edited);
when the perturbation changes nothing or the result no longer fits cutoff_len, the entry keeps its
template positive. both: template on even pairs, perturbed on odd ones.

Negatives (augment.negatives). hard (the paper): the sampled pair, same dataset and template, another
input and answer. normal (section 3.2): the anchor is paired with the negative entry of a pair of
another dataset (an instruction-input pair of a different task), a seeded re-pairing of the sampled
entries, so every entry, its positive and L_gen's data stay as sampled. mixed: a seeded half of each
dataset's pairs normal, the rest hard. The contrastive loss pulls each entry towards its positive and
pushes the pair apart.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from coin.data.flan_templates import _PLACEHOLDER, render
from coin.data.sampling import Selection, dataset_rng
from coin.errors import DataError
from coin.schemas import TRAIN

ROLES = ("anchor", "negative")
HARD, NORMAL = "hard", "normal"
TEMPLATE, PERTURBED = "template", "perturbed"
# (instruction text, protected lowercase words, seed) -> the perturbed text (unchanged when no edit applies)
PerturbFn = Callable[[str, frozenset, int], str]


def normal_pairs(datasets: Sequence[str], kind: str, seed: int) -> list[int]:
    """Pair ids that get a normal negative: none (hard), all (normal), or for mixed a seeded half of
    each dataset's pairs (floor(count / 2)), so the normal ones keep the datasets' proportions.

    `datasets` holds each pair's dataset, by pair id."""
    if kind == HARD:
        return []
    if kind == NORMAL:
        return list(range(len(datasets)))
    picked: list[int] = []
    for name in dict.fromkeys(datasets):
        ids = [i for i, d in enumerate(datasets) if d == name]
        order = dataset_rng(seed, name, "mixed negatives").permutation(len(ids))
        picked += [ids[i] for i in order[: len(ids) // 2]]
    return sorted(picked)


def normal_partners(datasets: Sequence[str], pairs: Sequence[int], seed: int) -> dict[int, int]:
    """For each pair id in `pairs`, the pair (of another dataset) whose negative entry it takes.

    The pairs are shuffled (seeded), grouped by dataset (stable), and pair i of that list takes the
    negative of pair i + m (cyclically), m = the largest dataset's count: with m <= n / 2 that is never
    the same dataset. A DataError when one dataset holds more than half of the pairs.
    """
    if not pairs:
        return {}
    order = dataset_rng(seed, "normal negatives").permutation(len(pairs))
    rank = {name: i for i, name in enumerate(dict.fromkeys(datasets))}
    ranked = sorted((pairs[i] for i in order), key=lambda k: rank[datasets[k]])
    counts = pd.Series([datasets[k] for k in ranked]).value_counts()
    m = int(counts.iloc[0])
    if 2 * m > len(ranked):
        raise DataError(
            f"{counts.index[0]} holds {m} of the {len(ranked)} pairs that need a normal negative: a negative from "
            "another dataset needs every dataset at most half (use more datasets or augment.negatives = 'hard')"
        )
    return {ranked[i]: ranked[(i + m) % len(ranked)] for i in range(len(ranked))}


def instruction_span(template: str) -> tuple[int, int]:
    """(start, end) of a FLAN template's instruction text: its longest literal part (most words; ties:
    the first), the text between placeholders. (0, 0) when no literal part has a word."""
    best, span, pos = 0, (0, 0), 0
    for part in _PLACEHOLDER.split(template):
        if part and not _PLACEHOLDER.fullmatch(part):
            words = sum(any(c.isalpha() for c in w) for w in part.split())
            if words > best:
                best, span = words, (pos, pos + len(part))
        pos += len(part)
    return span


def perturbed_template(template: str, perturb: PerturbFn, protected: frozenset, seed: int) -> str:
    """The template with its instruction text (instruction_span) perturbed; placeholders untouched."""
    start, end = instruction_span(template)
    if start == end:
        return template
    text = template[start:end]
    lead, core, trail = text[: len(text) - len(text.lstrip())], text.strip(), text[len(text.rstrip()) :]
    return template[:start] + lead + perturb(core, protected, seed) + trail + template[end:]


def protected_words(options: Sequence[str]) -> frozenset:
    """Lowercase label words of an example (its options and their words): never edited."""
    words = set()
    for option in options:
        words.add(str(option).lower())
        words.update(str(option).lower().split())
    return frozenset(words)


def positive_seed(seed: int, dataset: str, example_id: str, template_id: int) -> int:
    """The perturbation seed of one entry's positive (its identity and the run's seed only)."""
    return int(dataset_rng(seed, dataset, str(example_id), str(template_id), "positive").integers(2**31 - 1))


def wants_perturbed(kind: str, pair_id: int) -> bool:
    """Whether an entry of `pair_id` gets a perturbed positive under augment.positives = `kind`."""
    return kind == PERTURBED or (kind == "both" and pair_id % 2 == 1)


def paired_entries(selection: Selection, negatives: str = HARD, seed: int = 0) -> tuple[list[tuple[str, int, int, int]], list[int]]:
    """The selection's entries (anchor, negative per pair) with normal negatives swapped in, and the
    pair ids that have a normal one (see normal_pairs and normal_partners)."""
    entries = selection.entries()
    datasets = [entries[2 * k][0] for k in range(len(entries) // 2)]
    normal = normal_pairs(datasets, negatives, seed)
    partners = normal_partners(datasets, normal, seed)
    out = []
    for k in range(len(datasets)):
        out += [entries[2 * k], entries[2 * partners.get(k, k) + 1]]
    return out, normal


def train_frame(
    selection: Selection, negatives: str = HARD, positives: str = TEMPLATE, seed: int = 0, perturb: PerturbFn | None = None
) -> pd.DataFrame:
    """TRAIN rows: each entry's prompt (its own template) and positive_prompt (module docstring).

    A template positive is the first template of the entry's seeded template order, other than the
    entry's, that fits cutoff_len (coin.data.sampling.DatasetPool.positive): a uniform choice among the
    fitting ones. A perturbed positive keeps positive_template_id = template_id.
    """
    if positives != TEMPLATE and perturb is None:
        raise DataError(f"augment.positives = {positives!r} needs a perturbation function")
    records = []
    entries, _ = paired_entries(selection, negatives, seed)
    for entry_id, (name, row, template_id, positive_id) in enumerate(entries):
        pool = selection.pools[name]
        j, k = pool.template_index(template_id), pool.template_index(positive_id)
        prompt, target = pool.prompt(row, j), pool.target(row, j)
        positive_prompt = pool.prompt(row, k)
        if wants_perturbed(positives, entry_id // 2):
            noisy = perturbed_template(
                pool.inputs[j], perturb, protected_words(pool.options[row]),
                positive_seed(seed, name, pool.example_ids[row], template_id),
            )
            text = render(noisy, pool.fields(row), pool.options[row])
            if text != prompt and pool.budget.fits([text], [target])[0]:
                positive_id, positive_prompt = template_id, text
        records.append(
            {
                "entry_id": entry_id,
                "pair_id": entry_id // 2,
                "role": ROLES[entry_id % 2],
                "dataset": name,
                "example_id": pool.example_ids[row],
                "template_id": template_id,
                "positive_template_id": positive_id,
                "prompt": prompt,
                "positive_prompt": positive_prompt,
                "target": target,
                "label": int(pool.row_labels[row]),
            }
        )
    return pd.DataFrame.from_records(records, columns=list(TRAIN.columns))


def _first(frame: pd.DataFrame, bad) -> pd.Series | None:
    hits = frame[bad]
    return None if hits.empty else hits.iloc[0]


def check_pairs(train: pd.DataFrame, kept: Mapping[str, set[int]], normal: Sequence[int] = (), positives: str = TEMPLATE) -> None:
    """Raise DataError unless every pair and positive obeys COIN's construction, by kind.

    Each pair_id has one anchor and one negative. A hard pair (every pair not in `normal`) shares the
    dataset and the template; its negative is another example with a different answer. A normal pair
    (`normal`: pair ids) has a negative of another dataset (so another instruction and input). A
    template positive uses another template, kept for its dataset (`kept`: dataset -> kept template
    ids); a perturbed one (allowed unless positives = template) keeps the entry's template; both have a
    different prompt. Checks are vectorised; the error names the first offending pair or entry.
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
    is_normal = pairs["pair_id"].isin(list(normal))
    row = _first(pairs, is_normal & (pairs["dataset_n"] == pairs["dataset_a"]))
    if row is not None:
        raise DataError(
            f"pair {row['pair_id']}: negative and anchor are both from {row['dataset_a']!r} "
            "(a normal negative comes from another dataset)"
        )
    hard = pairs[~is_normal]
    row = _first(hard, hard["dataset_n"] != hard["dataset_a"])
    if row is not None:
        raise DataError(
            f"pair {row['pair_id']}: negative is from {row['dataset_n']!r} but its anchor from {row['dataset_a']!r} "
            "(a hard negative shares the dataset)"
        )
    row = _first(hard, hard["template_id_n"] != hard["template_id_a"])
    if row is not None:
        raise DataError(
            f"pair {row['pair_id']}: negative has template {row['template_id_n']} but its anchor template {row['template_id_a']} "
            "(a hard negative shares the template)"
        )
    same_example = (pairs["dataset_n"] == pairs["dataset_a"]) & (pairs["example_id_n"] == pairs["example_id_a"])
    row = _first(pairs, same_example | (pairs["prompt_n"] == pairs["prompt_a"]))
    if row is not None:
        raise DataError(
            f"pair {row['pair_id']}: negative has the anchor's input (example {row['example_id_a']!r}); a hard negative needs another input"
        )
    row = _first(hard, hard["target_n"] == hard["target_a"])
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
    if positives == TEMPLATE:
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


__all__ = [
    "HARD",
    "NORMAL",
    "PERTURBED",
    "ROLES",
    "TEMPLATE",
    "PerturbFn",
    "check_matches_sampled",
    "check_pairs",
    "instruction_span",
    "normal_pairs",
    "normal_partners",
    "paired_entries",
    "perturbed_template",
    "positive_seed",
    "protected_words",
    "train_frame",
    "wants_perturbed",
]
