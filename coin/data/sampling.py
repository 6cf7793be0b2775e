"""Round-robin selection of COIN's training entries (paper section 4.1), length-filtered and paired.

The unit of selection is a pair: an anchor and its hard negative, the same dataset and the same FLAN
template but a different input and a different answer. Datasets are cycled in a fixed order (the order
of `data.datasets`), each turn taking that dataset's next pair; a dataset that runs out drops out and
the others fill up the rest, until n_entries / 2 pairs. Entry 2k is pair k's anchor, entry 2k+1 its
negative (as in the released CoIN data, where each odd row is the hard negative of the row above).

Within a dataset, examples are visited in a seeded permutation and each position draws one of the
dataset's kept templates (seeded). A visited example becomes an anchor when its formatted prompt plus
response fits `cutoff_len` with its drawn template and at least one other kept template also fits (its
positive); its negative is the earliest unused example in the permutation with a different answer and
different fields that fits the anchor's template and has a positive of its own. Lengths are
computed lazily and cached, so only the examples the selection reaches are measured, and only with
the templates it needs (see DatasetPool).
"""

from __future__ import annotations

import hashlib
import json
import sys
import zlib
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import numpy as np
import pandas as pd

from coin.data.flan_templates import render, render_target
from coin.data.registry import FLAN_DATASETS
from coin.errors import DataError
from coin.prompts.format import PromptFormat
from coin.schemas import SAMPLED

T = TypeVar("T")
LengthFn = Callable[[list[str]], list[int]]
CHUNK = 256  # examples whose lengths are computed per call of the length function (x kept templates)

# why a visited example is not an entry (the data card's "dropped" columns)
TOO_LONG = "too_long"  # prompt + response with its drawn template exceed cutoff_len
NO_POSITIVE = "no_positive"  # fits its drawn template, but no second kept template fits
NO_NEGATIVE = "no_negative"  # no unused example with a different answer fits its template
DROP_REASONS = (TOO_LONG, NO_POSITIVE, NO_NEGATIVE)


def dataset_rng(seed: int, *names: str) -> np.random.Generator:
    """A generator seeded by `seed` and names (dataset, purpose), independent of other datasets."""
    return np.random.default_rng([int(seed), *(zlib.crc32(n.encode("utf-8")) for n in names)])


def permutation(size: int, seed: int, name: str) -> np.ndarray:
    """The seeded visiting order of a dataset's `size` examples."""
    return dataset_rng(seed, name, "order").permutation(size)


def interleave(streams: Mapping[str, Iterable[T]], n: int) -> list[tuple[str, T]]:
    """Round robin: cycle over streams in their order, one item each per turn, until `n` items.

    A stream that runs out drops out and the others continue. Returns (stream name, item) in turn
    order; fewer than `n` when all streams run out first. Streams are only advanced as far as needed.
    """
    out: list[tuple[str, T]] = []
    active = [(name, iter(stream)) for name, stream in streams.items()]
    while active and len(out) < n:
        still = []
        for name, it in active:
            if len(out) >= n:
                break
            try:
                item = next(it)
            except StopIteration:
                continue
            out.append((name, item))
            still.append((name, it))
        active = still
    return out


def round_robin_counts(sizes: Mapping[str, int], n: int) -> dict[str, int]:
    """Items taken per dataset when `n` are drawn round robin from datasets of these sizes.

    Each full turn takes one from every dataset with some left; the last, partial turn takes from the
    first datasets in order. Returns every dataset (0 when none), all of them when n >= sum(sizes).
    """
    counts = {name: 0 for name in sizes}
    for name, _ in interleave({name: range(size) for name, size in sizes.items()}, n):
        counts[name] += 1
    return counts


def round_robin(sizes: Mapping[str, int], n: int, seed: int) -> list[tuple[str, int]]:
    """`n` (dataset, row) picks, round robin over datasets, each dataset's rows in its seeded order."""
    return interleave({name: iter(permutation(size, seed, name).tolist()) for name, size in sizes.items()}, n)


@dataclass(frozen=True)
class LengthBudget:
    """Whether a FLAN prompt + response fits the training sequence length.

    The text measured is prompt_format.render(flan_prompt) + target,
    as training sees it; `length_fn` gives token counts for a batch of texts. An entry fits when its
    count is at most `cutoff_len` and its response is not empty.
    """

    length_fn: LengthFn
    cutoff_len: int
    prompt_format: PromptFormat

    def texts(self, prompts: Sequence[str], targets: Sequence[str]) -> list[str]:
        """The measured texts: formatted prompt followed by the response."""
        return [self.prompt_format.render(p) + t for p, t in zip(prompts, targets)]

    def fits(self, prompts: Sequence[str], targets: Sequence[str]) -> np.ndarray:
        """Bool per entry: length <= cutoff_len and a non-empty response."""
        if not len(prompts):
            return np.zeros(0, dtype=bool)
        lengths = np.asarray(self.length_fn(self.texts(prompts, targets)), dtype=np.int64)
        nonempty = np.array([bool(t.strip()) for t in targets], dtype=bool)
        return (lengths <= self.cutoff_len) & nonempty


def token_length_fn(tokenizer) -> LengthFn:
    """Token count of each text with the tokenizer's special tokens (e.g. <s>), plus 1 for the eos
    training appends. (Training tokenizes prompt and response apart; the joint count can differ by a
    token at a word boundary, and the collator cuts the prompt side if it ever does.) A fast tokenizer
    is called through its Rust backend, which gives the same ids without building Python lists."""
    backend = getattr(tokenizer, "backend_tokenizer", None)

    def lengths(texts: list[str]) -> list[int]:
        if backend is not None:
            return [len(e) + 1 for e in backend.encode_batch(list(texts), add_special_tokens=True)]
        ids = tokenizer(list(texts), add_special_tokens=True, verbose=False)["input_ids"]
        return [len(x) + 1 for x in ids]

    return lengths


def text_key(text: str) -> int:
    """A 64-bit key of a text (blake2b), for memoising lengths."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def memoized(length_fn: LengthFn, memo: dict[int, int]) -> LengthFn:
    """`length_fn` with a memo (text_key -> length) that it reads and fills; same results, fewer calls."""

    def lengths(texts: list[str]) -> list[int]:
        keys = [text_key(t) for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in memo]
        if missing:
            for i, n in zip(missing, length_fn([texts[i] for i in missing])):
                memo[keys[i]] = int(n)
        return [memo[k] for k in keys]

    return lengths


def whitespace_length_fn(texts: list[str]) -> list[int]:
    """A tokenizer-free stand-in: whitespace-separated words (tests and benchmarks)."""
    return [len(t.split()) for t in texts]


@dataclass(frozen=True)
class Pair:
    """One selected pair: rows of its dataset's pool, the shared template and each entry's positive."""

    dataset: str
    anchor: int  # row of DatasetPool.rows
    negative: int
    template_id: int
    anchor_positive_id: int  # another kept template that fits with the anchor's fields
    negative_positive_id: int


class DatasetPool:
    """One dataset's examples, visiting order, template preferences and lazily computed length fits.

    Each position (k-th example of the seeded visiting order) has a seeded uniform permutation of the
    dataset's kept templates: its first element is the template drawn for the example, and the
    example's positive under a pair template t is the first template of that order, other than t, that
    fits; so the positive is uniform among the fitting templates and lengths are computed only until
    one fits. Fits are cached per (position, template).
    """

    def __init__(self, name: str, rows: pd.DataFrame, templates: pd.DataFrame, seed: int, budget: LengthBudget):
        self.name = name
        rows = rows.sort_values("example_id", kind="stable")  # file order carries no meaning
        self.example_ids: list[str] = [str(x) for x in rows["example_id"]]
        self.fields_text: list[str] = [str(x) for x in rows["fields"]]
        self.options: list[list[str]] = [[str(o) for o in opts] for opts in rows["options"]]
        self.answers: list[str] = [str(x) for x in rows["answer"]]
        self.row_labels = rows["label"].to_numpy(dtype=np.int64)
        kept = templates.sort_values("template_id")
        self.template_ids: list[int] = [int(t) for t in kept["template_id"]]
        self.inputs: list[str] = list(kept["input_template"])
        self.targets: list[str] = list(kept["target_template"])
        self.budget = budget
        n, k = len(self.example_ids), len(self.template_ids)
        self.order = permutation(n, seed, name)  # position -> row
        # position -> templates in preference order; column 0 is the drawn template
        self.preference = np.argsort(dataset_rng(seed, name, "templates").random((n, max(k, 1))), axis=1, kind="stable")
        self.labels = self.row_labels[self.order]
        self.status = np.full((n, k), -1, dtype=np.int8)  # -1 unknown, 0 too long, 1 fits
        self.prefetched = 0
        self.used = np.zeros(n, dtype=bool)
        self.role = np.zeros(n, dtype=np.int8)  # 1 anchor, 2 negative
        self.reason = np.full(n, -1, dtype=np.int8)  # index into DROP_REASONS for visited, unused positions
        self.visited = 0  # positions the anchor walk has passed
        self._by_label = {b: np.flatnonzero(self.labels == b) for b in np.unique(self.labels)}
        self._label_ptr = {b: 0 for b in self._by_label}
        self._fields: dict[int, dict] = {}

    def fields(self, row: int) -> dict:
        """Template fields of a row (parsed once)."""
        if row not in self._fields:
            self._fields[row] = json.loads(self.fields_text[row])
        return self._fields[row]

    def prompt(self, row: int, template_index: int) -> str:
        """The FLAN input of a row rendered with the dataset's `template_index`-th kept template."""
        return render(self.inputs[template_index], self.fields(row), self.options[row])

    def target(self, row: int, template_index: int) -> str:
        """The response of a row under a kept template."""
        return render_target(self.targets[template_index], self.answers[row])

    def _ensure(self, cells: Iterable[tuple[int, int]]) -> None:
        """Compute the unknown fits among (position, template index) cells in one length-function call."""
        todo = [(p, j) for p, j in cells if self.status[p, j] < 0]
        if not todo:
            return
        rows = [int(self.order[p]) for p, _ in todo]
        ok = self.budget.fits([self.prompt(r, j) for r, (_, j) in zip(rows, todo)], [self.target(r, j) for r, (_, j) in zip(rows, todo)])
        for (p, j), fit in zip(todo, ok):
            self.status[p, j] = 1 if fit else 0

    def _prefetch(self, position: int) -> None:
        """Resolve drawn template and first fitting other template for every position up to `position`,
        in batches of CHUNK positions (one length-function call per preference rank)."""
        k = len(self.template_ids)
        while self.prefetched <= position:
            stop = min(self.prefetched + CHUNK, len(self.order))
            span = range(self.prefetched, stop)
            self._ensure((p, int(self.preference[p, 0])) for p in span)
            open_ = [p for p in span if self.status[p, self.preference[p, 0]] == 1]
            for rank in range(1, k):
                self._ensure((p, int(self.preference[p, rank])) for p in open_)
                open_ = [p for p in open_ if self.status[p, self.preference[p, rank]] != 1]
                if not open_:
                    break
            self.prefetched = stop

    def positive(self, position: int, exclude: int) -> int | None:
        """Template index of the position's positive under pair template `exclude`, None if none fits."""
        for j in self.preference[position]:
            j = int(j)
            if j == exclude:
                continue
            if self.status[position, j] < 0:
                self._ensure([(position, j)])
            if self.status[position, j] == 1:
                return j
        return None

    def _negative_for(self, anchor: int, template_index: int) -> tuple[int, int] | None:
        """Earliest unused position with another answer and other fields that fits the template and has a
        positive; returns (position, its positive's template index)."""
        best: tuple[int, int] | None = None
        for label, positions in self._by_label.items():
            if label == self.labels[anchor]:
                continue
            i = self._label_ptr[label]
            while i < len(positions) and self.used[positions[i]]:
                i += 1  # used: skip for good
            self._label_ptr[label] = i
            for q in positions[i:]:
                q = int(q)
                if best is not None and q > best[0]:
                    break
                if self.used[q] or self.fields_text[self.order[q]] == self.fields_text[self.order[anchor]]:
                    continue
                if self.status[q, template_index] < 0:
                    self._ensure([(q, template_index)])
                if self.status[q, template_index] != 1:
                    continue
                j = self.positive(q, template_index)
                if j is not None:
                    best = (q, j)
                    break
        return best

    def pairs(self) -> Iterator[Pair]:
        """This dataset's pairs in selection order (lazily; see the module docstring)."""
        if len(self.template_ids) < 2:
            return
        ids = self.template_ids
        while self.visited < len(self.order):
            p = self.visited
            self.visited += 1
            if self.used[p]:
                continue
            self._prefetch(p)
            t = int(self.preference[p, 0])
            self._ensure([(p, t)])
            if self.status[p, t] != 1:
                self.reason[p] = DROP_REASONS.index(TOO_LONG)
                continue
            j = self.positive(p, t)
            if j is None:
                self.reason[p] = DROP_REASONS.index(NO_POSITIVE)
                continue
            found = self._negative_for(p, t)
            if found is None:
                self.reason[p] = DROP_REASONS.index(NO_NEGATIVE)
                continue
            q, jq = found
            self.used[p] = self.used[q] = True
            self.role[p], self.role[q] = 1, 2
            self.reason[q] = -1
            yield Pair(self.name, int(self.order[p]), int(self.order[q]), ids[t], ids[j], ids[jq])

    def stats(self) -> dict[str, int]:
        """Counts over the examples the selection examined: anchors + negatives + drops by reason."""
        examined = self.visited + int(self.used[self.visited :].sum())  # walked past, plus negatives taken ahead
        unused = (~self.used[: self.visited]) & (self.reason[: self.visited] >= 0)
        reasons = self.reason[: self.visited][unused]
        out = {
            "available": len(self.order),
            "kept_templates": len(self.template_ids),
            "examined": int(examined),
            "anchors": int((self.role == 1).sum()),
            "negatives": int((self.role == 2).sum()),
        }
        for i, reason in enumerate(DROP_REASONS):
            out[reason] = int((reasons == i).sum())
        return out

    def template_index(self, template_id: int) -> int:
        """Index of a kept template id in this pool's template lists."""
        return self.template_ids.index(template_id)


@dataclass
class Selection:
    """The selected pairs in entry order, with the pools they came from (for rendering and stats)."""

    pairs: list[Pair]
    pools: dict[str, DatasetPool]
    skipped: dict[str, str] = field(default_factory=dict)  # dataset -> why it gave no pairs at all

    def stats(self) -> dict[str, dict[str, int]]:
        """Per dataset: available, examined, anchors, negatives and drops by reason."""
        return {name: pool.stats() for name, pool in self.pools.items()}

    def entries(self) -> list[tuple[str, int, int, int]]:
        """(dataset, row, template_id, positive_template_id) per entry: anchor then negative per pair."""
        out = []
        for pair in self.pairs:
            out.append((pair.dataset, pair.anchor, pair.template_id, pair.anchor_positive_id))
            out.append((pair.dataset, pair.negative, pair.template_id, pair.negative_positive_id))
        return out


def kept_templates(templates: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The kept FLAN_TEMPLATES rows of a dataset's flan_key."""
    key = FLAN_DATASETS[dataset].flan_key
    return templates[(templates["flan_key"] == key) & templates["kept"]]


def select_pairs(
    examples: pd.DataFrame,
    templates: pd.DataFrame,
    datasets: Sequence[str],
    n_entries: int,
    seed: int,
    budget: LengthBudget,
    progress: bool = True,
) -> Selection:
    """Select n_entries / 2 anchor + hard-negative pairs round robin over `datasets` (in that order).

    `examples` and `templates` are data/flan's FLAN_EXAMPLES and FLAN_TEMPLATES frames. A DataError
    says how many pairs fit when fewer than asked for exist.
    """
    if n_entries % 2:
        raise DataError(f"sample.n_entries = {n_entries} is not allowed: must be even (anchor + negative pairs)")
    pools: dict[str, DatasetPool] = {}
    skipped: dict[str, str] = {}
    by_dataset = {name: rows for name, rows in examples.groupby("dataset", sort=False)}
    for name in datasets:
        if name not in by_dataset:
            raise DataError(f"the FLAN examples have no rows of {name!r}: rerun extract with it in data.datasets")
        kept = kept_templates(templates, name)
        pools[name] = DatasetPool(name, by_dataset[name], kept, seed, budget)
        if len(kept) < 2:
            skipped[name] = f"{len(kept)} kept template(s); a positive needs 2"
    n_pairs = n_entries // 2
    from tqdm import tqdm

    bar = tqdm(total=n_pairs, desc="pairs", unit="pair", file=sys.stderr, disable=not progress, mininterval=1.0)

    def counted(pool: DatasetPool) -> Iterator[Pair]:
        for pair in pool.pairs():
            bar.update(1)
            yield pair

    picked = interleave({name: counted(pool) for name, pool in pools.items()}, n_pairs)
    bar.close()
    if len(picked) < n_pairs:
        raise DataError(
            f"only {len(picked)} anchor/negative pairs fit sample.cutoff_len = {budget.cutoff_len} in "
            f"{len(datasets)} datasets; sample.n_entries = {n_entries} needs {n_pairs}: lower n_entries or raise cutoff_len"
        )
    return Selection([pair for _, pair in picked], pools, skipped)


def sampled_frame(selection: Selection) -> pd.DataFrame:
    """The SAMPLED rows of a selection: entry 2k is pair k's anchor, 2k+1 its hard negative."""
    records = []
    for entry_id, (name, row, template_id, _) in enumerate(selection.entries()):
        pool = selection.pools[name]
        j = pool.template_index(template_id)
        records.append(
            {
                "entry_id": entry_id,
                "dataset": name,
                "example_id": pool.example_ids[row],
                "template_id": template_id,
                "prompt": pool.prompt(row, j),
                "target": pool.target(row, j),
                "options": pool.options[row],
                "label": int(pool.row_labels[row]),
                "fields": pool.fields_text[row],
            }
        )
    return pd.DataFrame.from_records(records, columns=list(SAMPLED.columns))


__all__ = [
    "CHUNK",
    "DROP_REASONS",
    "DatasetPool",
    "LengthBudget",
    "Pair",
    "Selection",
    "dataset_rng",
    "interleave",
    "kept_templates",
    "memoized",
    "permutation",
    "round_robin",
    "round_robin_counts",
    "sampled_frame",
    "select_pairs",
    "text_key",
    "token_length_fn",
    "whitespace_length_fn",
]
