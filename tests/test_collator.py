"""Training batches: exact masks, pooled index and positions for both padding sides; pair batching."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import torch

from coin.errors import CoinError
from coin.prompts.format import PromptFormat
from coin.training.collator import CoinCollator, EntryDataset, PairSampler, join_truncated, pair_order
from coin.training.tokenizer import train_tokenizer

ROOT = Path(__file__).resolve().parents[1]

TEMPLATE = "Q: {instruction}\nIn: {input}\nA: "
TEMPLATE_NO_INPUT = "Q: {instruction}\nA: "
FORMAT = PromptFormat("alpaca", TEMPLATE, TEMPLATE_NO_INPUT)
_TEXTS = [
    "Q: Is the review glad or sad?\nA: glad",
    "Q: Tell if the two lines mean the same.\nA: same different",
    "The cat sat by the warm stove. Does it rest? yes no",
]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(_TEXTS * 3, vocab_size=300)


ENTRIES = [
    {"prompt": "Is the review glad or sad? It was fun.", "positive_prompt": "Glad or sad: it was fun.", "target": "glad", "pair_id": 5},
    {"prompt": "Is the review glad or sad? Dull.", "positive_prompt": "Glad or sad: dull.", "target": "sad", "pair_id": 5},
]


def test_tokenizer_adds_bos_and_round_trips(tokenizer):
    ids = tokenizer("glad ✓ 日本").input_ids
    assert ids[0] == tokenizer.bos_token_id == 1
    assert tokenizer.decode(ids, skip_special_tokens=True) == "glad ✓ 日本"
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.padding_side) == (0, 2, "left")


def test_join_truncated_cuts_the_prompt_after_bos():
    prompt, response = [1, 10, 11, 12, 13], [20, 21, 2]
    assert join_truncated(prompt, response, 8) == (prompt, response)
    assert join_truncated(prompt, response, 6) == ([1, 12, 13], [20, 21, 2])
    assert join_truncated(prompt, response, 4) == ([1], [20, 21, 2])
    assert join_truncated(prompt, response, 3) == ([1], [20, 21])  # the response never vanishes
    assert join_truncated(prompt, response, 2) == ([1], [20])
    with pytest.raises(CoinError, match=r"^cutoff_len = 1 is not allowed: must be >= 2$"):
        join_truncated(prompt, response, 1)


@pytest.mark.parametrize("side", ["right", "left"])
def test_batch_layout_masks_and_positions(tokenizer, side):
    collate = CoinCollator(tokenizer, FORMAT, cutoff_len=256, padding_side=side)
    batch = collate(ENTRIES)
    ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
    assert ids.shape[0] == 4  # [orig_1, orig_2, pos_1, pos_2]
    assert batch["groups"].tolist() == [5, 5]
    prompts = [e["prompt"] for e in ENTRIES] + [e["positive_prompt"] for e in ENTRIES]
    targets = [e["target"] for e in ENTRIES] * 2
    for i, (prompt, target) in enumerate(zip(prompts, targets)):
        prompt_ids = tokenizer("Q: " + prompt + "\nA: ").input_ids  # <s> + prompt
        response_ids = tokenizer(target, add_special_tokens=False).input_ids + [2]  # + </s>
        real = prompt_ids + response_ids
        pad = ids.shape[1] - len(real)
        start = pad if side == "left" else 0
        assert ids[i, start : start + len(real)].tolist() == real
        assert mask[i].tolist() == ([0] * pad + [1] * len(real) if side == "left" else [1] * len(real) + [0] * pad)
        expected_labels = [-100] * len(prompt_ids) + response_ids
        padding = [-100] * pad
        assert labels[i].tolist() == (padding + expected_labels if side == "left" else expected_labels + padding)
        assert batch["pool_index"][i].item() == start + len(real) - 1  # the eos, the last real token
        prompt_end = batch["prompt_index"][i].item()
        assert prompt_end == start + len(prompt_ids) - 1  # the last prompt token ...
        assert labels[i, prompt_end + 1].item() == response_ids[0]  # ... predicts the response's first token
        positions = batch["position_ids"][i, start : start + len(real)].tolist()
        assert positions == list(range(len(real)))
    assert (ids[torch.arange(4), batch["pool_index"]] == 2).all()


def test_cutoff_applies_per_sequence(tokenizer):
    collate = CoinCollator(tokenizer, FORMAT, cutoff_len=6, padding_side="right")
    batch = collate(ENTRIES)
    assert batch["input_ids"].shape[1] == 6
    response = tokenizer("glad", add_special_tokens=False).input_ids + [2]
    assert batch["input_ids"][0, 0].item() == 1  # <s> kept
    assert batch["labels"][0, 6 - len(response) :].tolist() == response


def test_a_response_that_fills_the_cutoff_leaves_the_first_token_as_prompt_end(tokenizer):
    """join_truncated keeps one prompt token: a response of cutoff_len - 1 tokens or more cuts the whole
    instruction, and the prompt end (loss.pooling prompt) is then <s>, whose label is the response's first token."""
    long_target = " ".join(["glad"] * 12)
    collate = CoinCollator(tokenizer, FORMAT, cutoff_len=6, padding_side="left")
    entries = [{**ENTRIES[0], "target": long_target}, ENTRIES[1]]
    batch = collate(entries)
    response = tokenizer(long_target, add_special_tokens=False).input_ids[:5]
    assert batch["input_ids"][0].tolist() == [1, *response]  # <s> + the first 5 response tokens
    assert batch["prompt_index"][0].item() == 0
    assert batch["labels"][0, 1].item() == response[0]


def test_left_and_right_padding_give_the_same_loss_and_states(tiny_lm):
    from coin.training.losses import response_ce
    from coin.training.trainer import pool_last_token

    model, tok = tiny_lm
    tok = copy.deepcopy(tok)
    entries = [
        {"prompt": "Is the sentiment positive or negative?", "positive_prompt": "positive or negative", "target": "positive", "pair_id": 0},
        {"prompt": "Premise: a dog runs. Hypothesis: an animal moves.", "positive_prompt": "a dog", "target": "neutral", "pair_id": 0},
    ]
    results = {}
    for side in ("left", "right"):
        batch = CoinCollator(tok, FORMAT, 256, padding_side=side)(entries)
        with torch.no_grad():
            out = model(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                position_ids=batch["position_ids"],
                output_hidden_states=True,
            )
        results[side] = (response_ce(out.logits, batch["labels"]), pool_last_token(out.hidden_states[-1], batch["pool_index"]))
    assert torch.isfinite(results["left"][0])
    assert results["left"][0].item() == pytest.approx(results["right"][0].item(), abs=1e-5)
    assert torch.allclose(results["left"][1], results["right"][1], atol=1e-5)


def test_pair_order_keeps_pairs_adjacent_anchor_first():
    pair_ids = [3, 1, 3, 2, 1, 2, 0, 0]
    roles = ["negative", "anchor", "anchor", "negative", "negative", "anchor", "anchor", "negative"]
    order = pair_order(pair_ids, roles, seed=42)
    assert sorted(order) == list(range(8))
    for k in range(0, 8, 2):  # every aligned slot of 2 is one pair, anchor first
        a, b = order[k], order[k + 1]
        assert pair_ids[a] == pair_ids[b] and roles[a] == "anchor" and roles[b] == "negative"
    assert pair_order(pair_ids, roles, seed=42) == order  # deterministic
    orders = {tuple(pair_order(pair_ids, roles, seed=42, epoch=e)) for e in range(6)}
    assert len(orders) > 1  # reshuffled per epoch
    sampler = PairSampler(pair_ids, roles, seed=42)
    sampler.set_epoch(3)
    assert list(sampler) == pair_order(pair_ids, roles, 42, 3) and len(sampler) == 8


def test_entry_dataset_rejects_a_split_pair():
    frame = pd.DataFrame(
        {
            "entry_id": [0, 1, 2],
            "pair_id": [0, 0, 1],
            "role": ["anchor", "negative", "anchor"],
            "prompt": ["a", "b", "c"],
            "positive_prompt": ["a2", "b2", "c2"],
            "target": ["x", "y", "x"],
        }
    )
    with pytest.raises(CoinError, match=r"^pair_id 1 has 1 entries: every pair needs exactly 2 \(anchor \+ negative\)$"):
        EntryDataset(frame)
    data = EntryDataset(frame.iloc[:2])
    assert data.pair_ids == [0, 0] and data.roles == ["anchor", "negative"] and data[1]["positive_prompt"] == "b2"
