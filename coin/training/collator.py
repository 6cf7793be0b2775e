"""Training batches: two views per entry in one padded batch, and a sampler that keeps pairs together.

An entry (a row of data/train.parquet) gives two sequences that share the response:
original = render(row.prompt) + target + eos, positive = render(row.positive_prompt) + target + eos,
with render = PromptFormat.render (coin.prompts.format: alpaca templates or the chat template, whose
eos is the end-of-turn token). A micro-batch of k entries becomes 2k sequences [orig_1..orig_k, pos_1..pos_k].
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from coin.errors import CoinError
from coin.prompts.format import PromptFormat

IGNORE_INDEX = -100
PADDING_SIDES = ("left", "right")


def join_truncated(prompt_ids: list[int], response_ids: list[int], cutoff_len: int) -> tuple[list[int], list[int]]:
    """Cut prompt + response to at most `cutoff_len` tokens, from the prompt side.

    The prompt keeps its first token (`<s>`) and loses tokens just after it; the response is kept whole
    unless it alone is too long, then it keeps its first `cutoff_len - 1` tokens (one prompt token always
    stays, so the first response token has a position that predicts it).
    """
    if cutoff_len < 2:
        raise CoinError(f"cutoff_len = {cutoff_len} is not allowed: must be >= 2")
    if len(prompt_ids) + len(response_ids) <= cutoff_len:
        return prompt_ids, response_ids
    response_ids = response_ids[: cutoff_len - 1]
    room = cutoff_len - len(response_ids)  # >= 1
    prompt_ids = prompt_ids[:1] + prompt_ids[len(prompt_ids) - room + 1 :] if room > 1 else prompt_ids[:1]
    return prompt_ids, response_ids


@dataclass
class CoinCollator:
    """Tokenize and pad training entries; see the module docstring for the batch layout.

    Prompt and response are tokenized separately (prompt with the tokenizer's special tokens, i.e. `<s>`
    for LLaMA; response without, plus eos) and concatenated, so labels mask exactly the prompt: the
    loss is on the response (the assistant's turn, for chat) and its eos only.
    Returns tensors: input_ids, attention_mask, position_ids, labels (2k, T); pool_index (2k,): the
    last non-padding token of each sequence; prompt_index (2k,): the last prompt token of each sequence,
    the position whose next-token label is the response's first token; groups (k,): each entry's pair_id.
    join_truncated always keeps a prompt's first token, so every sequence has a prompt end: when the
    response alone fills cutoff_len - 1 tokens, it is that first token (the instruction was cut out).
    """

    tokenizer: Any
    prompt_format: PromptFormat
    cutoff_len: int
    padding_side: str | None = None  # None: the tokenizer's own

    def __post_init__(self) -> None:
        side = self.padding_side or self.tokenizer.padding_side
        if side not in PADDING_SIDES:
            raise CoinError(f"padding_side = {side!r} is not allowed: use one of {', '.join(PADDING_SIDES)}")
        self.padding_side = side
        if self.tokenizer.eos_token_id is None or self.tokenizer.pad_token_id is None:
            raise CoinError("the tokenizer lacks an eos or pad token: training needs both")

    def encode(self, prompts: Sequence[str], targets: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        """(prompt ids, response ids) per formatted prompt and target, truncated to cutoff_len."""
        return self.encode_rendered([self.prompt_format.render(p) for p in prompts], targets)

    def encode_rendered(self, rendered: Sequence[str], targets: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        """`encode` of prompts already rendered (e.g. evaluation prompts, PromptFormat.render_eval)."""
        tok = self.tokenizer
        prompt_ids = tok(list(rendered), add_special_tokens=True)["input_ids"]
        response_ids = tok(list(targets), add_special_tokens=False)["input_ids"]
        eos = tok.eos_token_id
        return [join_truncated(list(p), list(r) + [eos], self.cutoff_len) for p, r in zip(prompt_ids, response_ids)]

    def pad(self, pieces: Sequence[tuple[list[int], list[int]]]) -> dict[str, Any]:
        """Pad (prompt, response) id lists into one batch with labels, position ids, pool and prompt index."""
        import torch

        n = len(pieces)
        width = max(len(p) + len(r) for p, r in pieces)
        input_ids = torch.full((n, width), self.tokenizer.pad_token_id, dtype=torch.long)
        labels = torch.full((n, width), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((n, width), dtype=torch.long)
        prompt_index = torch.zeros(n, dtype=torch.long)
        for i, (prompt, response) in enumerate(pieces):
            length = len(prompt) + len(response)
            start = width - length if self.padding_side == "left" else 0
            prompt_index[i] = start + len(prompt) - 1
            input_ids[i, start : start + length] = torch.tensor(prompt + response)
            labels[i, start + len(prompt) : start + length] = torch.tensor(response)
            attention_mask[i, start : start + length] = 1
        # position of each real token among the real tokens of its row; padding gets 0
        position_ids = (attention_mask.cumsum(dim=1) - 1).clamp(min=0) * attention_mask
        # last real token: the right end (left padding) or the last 1 of the mask (right padding)
        pool_index = attention_mask.sum(dim=1) - 1 if self.padding_side == "right" else torch.full((n,), width - 1)
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "position_ids": position_ids,
            "labels": labels,
            "pool_index": pool_index.long(),
            "prompt_index": prompt_index,
        }

    def entry_lengths(self, entries: Sequence[Mapping[str, Any]]) -> list[int]:
        """Tokens of each entry's longer view (prompt + response + eos, truncated): its padded width alone."""
        targets = [e["target"] for e in entries]
        prompts = [e["prompt"] for e in entries] + [e["positive_prompt"] for e in entries]
        sizes = [len(p) + len(r) for p, r in self.encode(prompts, targets + targets)]  # (2n,): originals, then positives
        n = len(entries)
        return [max(a, b) for a, b in zip(sizes[:n], sizes[n:])]

    def __call__(self, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """k entries (prompt, positive_prompt, target, pair_id) -> the 2k-sequence batch."""
        import torch

        targets = [e["target"] for e in entries]
        prompts = [e["prompt"] for e in entries] + [e["positive_prompt"] for e in entries]
        batch = self.pad(self.encode(prompts, targets + targets))
        batch["groups"] = torch.tensor([int(e["pair_id"]) for e in entries], dtype=torch.long)
        return batch


def pair_order(pair_ids: Sequence[int], roles: Sequence[str], seed: int, epoch: int = 0) -> list[int]:
    """Row indices with pairs shuffled (seeded by seed and epoch) and kept adjacent, anchor first.

    Pairs are ordered by a permutation drawn from numpy's default_rng((seed, epoch)); inside a pair,
    the anchor comes before its negative. With even micro-batches no pair is ever split.
    """
    pair_ids = np.asarray(pair_ids)
    unique = np.unique(pair_ids)  # sorted: the order before shuffling never depends on row order
    perm = np.random.default_rng((seed, epoch)).permutation(len(unique))
    rank = np.empty(len(unique), dtype=np.int64)
    rank[perm] = np.arange(len(unique))
    pair_rank = rank[np.searchsorted(unique, pair_ids)]
    role_rank = np.array([0 if r == "anchor" else 1 for r in roles])
    return np.lexsort((np.arange(len(pair_ids)), role_rank, pair_rank)).tolist()


def group_by_length(
    order: Sequence[int], pair_ids: Sequence[int], lengths: Sequence[int], pairs_per_batch: int, window: int, seed: int, epoch: int = 0
) -> list[int]:
    """`order` (pairs adjacent, as pair_order) re-ordered so a micro-batch holds pairs of similar length.

    The pairs are cut, in `order`, into windows of `window` micro-batches (window x pairs_per_batch pairs);
    inside a window the pairs are sorted by length (a pair's length: its longest entry's `lengths`, longest
    first, ties kept in order), cut into micro-batches of `pairs_per_batch` pairs, and the whole
    micro-batches shuffled by default_rng((seed, epoch, 1)); a last, partial micro-batch stays last. Every
    pair appears once, whole; the same arguments give the same order. window = 0, or one pair per
    micro-batch (the paper's micro-batch of 2 entries: nothing to group), returns `order` as is.
    """
    if window == 0 or pairs_per_batch == 1:  # a micro-batch of one pair has nothing to group
        return list(order)
    pairs: list[list[int]] = []  # row indices of each pair, in order
    for row in order:
        if pairs and pair_ids[pairs[-1][0]] == pair_ids[row]:
            pairs[-1].append(row)
        else:
            pairs.append([row])
    rng = np.random.default_rng((seed, epoch, 1))
    span = window * pairs_per_batch
    result: list[int] = []
    for start in range(0, len(pairs), span):
        chunk = pairs[start : start + span]
        longest = np.array([max(lengths[r] for r in pair) for pair in chunk])
        chunk = [chunk[i] for i in np.argsort(-longest, kind="stable")]
        batches = [chunk[i : i + pairs_per_batch] for i in range(0, len(chunk), pairs_per_batch)]
        whole = [b for b in batches if len(b) == pairs_per_batch]
        batches = [whole[i] for i in rng.permutation(len(whole))] + batches[len(whole) :]
        result.extend(row for batch in batches for pair in batch for row in pair)
    return result


class PairSampler:
    """A torch sampler over entries: pairs shuffled per epoch by the seed, anchor then negative; with a
    length window (train.group_by_length), micro-batches of similar-length pairs (`group_by_length`).

    Exposes `set_epoch`, which the Trainer calls each epoch (also when resuming), so a resumed run
    sees the same order as an uninterrupted one.
    """

    def __init__(
        self,
        pair_ids: Sequence[int],
        roles: Sequence[str],
        seed: int,
        lengths: Sequence[int] | None = None,
        micro_batch_size: int = 2,
        window: int = 0,
    ):
        if window and (lengths is None or len(lengths) != len(pair_ids)):
            raise CoinError("PairSampler: a length window needs one length per entry")
        self.pair_ids = list(pair_ids)
        self.roles = list(roles)
        self.seed = seed
        self.lengths = list(lengths) if lengths is not None else None
        self.pairs_per_batch = max(micro_batch_size // 2, 1)
        self.window = window
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the order of `epoch` for the next iteration."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        order = pair_order(self.pair_ids, self.roles, self.seed, self.epoch)
        if self.window:
            order = group_by_length(order, self.pair_ids, self.lengths, self.pairs_per_batch, self.window, self.seed, self.epoch)
        return iter(order)

    def __len__(self) -> int:
        return len(self.pair_ids)


class EntryDataset:
    """The training rows as a map-style dataset of dicts (prompt, positive_prompt, target, pair_id)."""

    COLUMNS = ("prompt", "positive_prompt", "target", "pair_id", "role")

    def __init__(self, frame):
        missing = [c for c in self.COLUMNS if c not in frame.columns]
        if missing:
            raise CoinError(f"training rows lack column {missing[0]!r}: need {', '.join(self.COLUMNS)}")
        frame = frame.sort_values("entry_id", kind="stable") if "entry_id" in frame.columns else frame
        self.rows = [
            {"prompt": p, "positive_prompt": q, "target": t, "pair_id": int(i), "role": r}
            for p, q, t, i, r in zip(*(frame[c] for c in self.COLUMNS))
        ]
        counts = Counter(row["pair_id"] for row in self.rows)
        odd = [pid for pid, c in counts.items() if c != 2]
        if odd:
            raise CoinError(f"pair_id {odd[0]} has {counts[odd[0]]} entries: every pair needs exactly 2 (anchor + negative)")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    @property
    def pair_ids(self) -> list[int]:
        """pair_id of each row, in dataset order."""
        return [r["pair_id"] for r in self.rows]

    @property
    def roles(self) -> list[str]:
        """role (anchor | negative) of each row, in dataset order."""
        return [r["role"] for r in self.rows]


__all__ = [
    "IGNORE_INDEX",
    "CoinCollator",
    "EntryDataset",
    "PairSampler",
    "group_by_length",
    "join_truncated",
    "pair_order",
]
