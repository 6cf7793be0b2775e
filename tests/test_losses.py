"""The COIN loss parts against values worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from coin.training.losses import coin_loss, coin_weight, generation_loss, info_nce, pool_states, response_ce

ROOT = Path(__file__).resolve().parents[1]

E = torch.eye(3)


def _close(value: torch.Tensor, expected: float) -> None:
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_info_nce_2x2_identity():
    # S = I / 1; each row: -log(e^1 / (e^1 + e^0)) = log(1 + e^-1), in both directions
    _close(info_nce(E[:2], E[:2], temperature=1.0), math.log(1 + math.exp(-1)))


def test_info_nce_2x2_asymmetric_with_temperature():
    z_orig = torch.tensor([[3.0, 0.0], [0.0, 2.0]])  # norms do not matter: cosine similarity
    z_pos = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    # cos = [[1, 0], [1/sqrt2, 1/sqrt2]]; / 0.5 -> S = [[2, 0], [r, r]], r = sqrt 2
    r = math.sqrt(2)
    rows = (math.log(1 + math.exp(-2)) + math.log(2)) / 2  # CE(S): row 0 target 0, row 1 target 1
    cols = (math.log(1 + math.exp(r - 2)) + math.log(1 + math.exp(-r))) / 2  # CE(S^T)
    _close(info_nce(z_orig, z_pos, temperature=0.5), (rows + cols) / 2)


def test_info_nce_3x3_whole_batch_and_groups():
    # S = I: each row -log(e / (e + 2)) = log(1 + 2/e)
    _close(info_nce(E, E, temperature=1.0), math.log(1 + 2 * math.exp(-1)))
    # groups [0, 0, 1]: rows 0 and 1 see 2 candidates, row 2 only itself (loss 0)
    groups = torch.tensor([0, 0, 1])
    _close(info_nce(E, E, temperature=1.0, groups=groups), 2 / 3 * math.log(1 + math.exp(-1)))
    # temperature 0.1: rows 0, 1: log(1 + e^-10)
    _close(info_nce(E, E, temperature=0.1, groups=groups), 2 / 3 * math.log(1 + math.exp(-10)))


def test_info_nce_3x3_mixed_similarities():
    z_orig = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    z_pos = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    # S = [[1, 0, 0], [0, 1, 1], [1, 0, 0]] (tau 1)
    a = math.log(1 + 2 * math.exp(-1))  # a row [1, 0, 0] with target the 1
    row_ce = (a + math.log(math.exp(1) + math.exp(1) + 1) - 1 + math.log(2 + math.exp(1))) / 3
    # S^T = [[1, 0, 1], [0, 1, 0], [0, 1, 0]]
    col_ce = (math.log(2 * math.exp(1) + 1) - 1 + a + math.log(2 + math.exp(1)) - 0) / 3
    _close(info_nce(z_orig, z_pos, temperature=1.0), (row_ce + col_ce) / 2)


def test_info_nce_identical_embeddings():
    same = torch.ones(3, 4)
    # every similarity equal: CE = log(number of candidates)
    _close(info_nce(same, same, temperature=0.05), math.log(3))
    _close(info_nce(same, same, temperature=0.05, groups=torch.tensor([7, 7, 9])), 2 / 3 * math.log(2))


def test_info_nce_gradient_reaches_both_views():
    z_orig = torch.randn(4, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    z_pos = torch.randn(4, 8, generator=torch.Generator().manual_seed(1), requires_grad=True)
    info_nce(z_orig, z_pos, 0.05, torch.tensor([0, 0, 1, 1])).backward()
    assert z_orig.grad.abs().sum() > 0 and z_pos.grad.abs().sum() > 0


def test_coin_weight_values_and_guards():
    _close(coin_weight(torch.tensor(2.0), torch.tensor(0.5), lam=1000), 4.0)
    _close(coin_weight(torch.tensor(2.0), torch.tensor(0.5), lam=3), 3.0)
    _close(coin_weight(torch.tensor(0.0), torch.tensor(0.5), lam=3), 0.0)
    for l_gen, l_ctr in ((2.0, 0.0), (0.0, 0.0), (2.0, 1e-12), (2.0, float("nan"))):
        weight = coin_weight(torch.tensor(l_gen), torch.tensor(l_ctr), lam=10)
        assert weight.item() == 10.0, (l_gen, l_ctr)


def test_coin_weight_carries_no_gradient():
    l_gen = torch.tensor(2.0, requires_grad=True)
    l_ctr = torch.tensor(0.5, requires_grad=True)
    weight = coin_weight(l_gen, l_ctr, lam=1000)
    assert not weight.requires_grad
    (l_gen + weight * l_ctr).backward()
    assert l_gen.grad.item() == 1.0 and l_ctr.grad.item() == 4.0  # d/dl_ctr = w, not w + l_ctr dw/dl_ctr


def test_response_ce_hand_values_and_empty_rows():
    logits = torch.zeros(2, 3, 2)
    logits[0, 0] = torch.tensor([0.0, math.log(3)])  # p(token 1 | position 0) = 3/4
    logits[0, 1] = torch.tensor([math.log(4), 0.0])  # p(token 1 | position 1) = 1/5
    labels = torch.tensor([[-100, 1, 1], [-100, -100, -100]])  # row 1 has no response token
    expected = (-math.log(3 / 4) - math.log(1 / 5)) / 2  # mean over the batch's 2 response tokens
    _close(response_ce(logits, labels), expected)


def test_response_ce_without_any_response_token_is_zero_and_finite():
    logits = torch.randn(2, 4, 5, requires_grad=True)
    loss = response_ce(logits, torch.full((2, 4), -100))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_coin_loss_is_gen_plus_weighted_ctr():
    logits = torch.zeros(2, 2, 2)
    labels = torch.tensor([[-100, 0], [-100, 1]])  # uniform logits: L_gen = log 2
    parts = coin_loss(logits, labels, E[:1], E[1:2], lam=1000, temperature=1.0)
    # one row, one candidate: L_ctr = 0 -> weight lambda, total = L_gen
    _close(parts.gen, math.log(2))
    _close(parts.ctr, 0.0)
    _close(parts.weight, 1000.0)
    _close(parts.total, math.log(2))
    parts = coin_loss(logits, labels, E[:2], E[:2], lam=1000, temperature=1.0)
    ctr = math.log(1 + math.exp(-1))
    _close(parts.ctr, ctr)
    _close(parts.weight, math.log(2) / ctr)
    _close(parts.total, 2 * math.log(2))  # L_gen + (L_gen / L_ctr) * L_ctr


# --- loss.pooling --------------------------------------------------------------------------------

# two sequences of 4 positions, d = 2; 99 marks padding states, which must never show up
HIDDEN = torch.tensor(
    [
        [[1.0, -2.0], [3.0, 0.0], [-1.0, 4.0], [99.0, 99.0]],  # right padding: 3 real tokens
        [[99.0, 99.0], [99.0, 99.0], [2.0, -6.0], [0.0, 2.0]],  # left padding: 2 real tokens
    ]
)
MASK = torch.tensor([[1, 1, 1, 0], [0, 0, 1, 1]])
LAST = torch.tensor([2, 3])  # the collator's pool_index for these rows


def test_pool_last_takes_the_last_real_token():
    assert pool_states(HIDDEN, MASK, LAST, "last").tolist() == [[-1.0, 4.0], [0.0, 2.0]]


def test_pool_mean_counts_only_real_tokens_on_both_padding_sides():
    # row 0: ((1 + 3 - 1) / 3, (-2 + 0 + 4) / 3) = (1, 2/3); row 1: ((2 + 0) / 2, (-6 + 2) / 2) = (1, -2)
    pooled = pool_states(HIDDEN, MASK, LAST, "mean")
    assert pooled.flatten().tolist() == pytest.approx([1.0, 2 / 3, 1.0, -2.0])


def test_pool_max_ignores_padding_even_when_it_is_largest():
    # row 0: (max(1, 3, -1), max(-2, 0, 4)) = (3, 4); row 1: (max(2, 0), max(-6, 2)) = (2, 2)
    assert pool_states(HIDDEN, MASK, LAST, "max").tolist() == [[3.0, 4.0], [2.0, 2.0]]


def test_pool_mean_and_max_are_the_same_for_left_and_right_padding():
    # row 1's real tokens right-padded instead of left-padded
    right_hidden = torch.cat([HIDDEN[1:, 2:], HIDDEN[1:, :2]], dim=1)
    right_mask = torch.tensor([[1, 1, 0, 0]])
    for kind, expected in (("mean", [[1.0, -2.0]]), ("max", [[2.0, 2.0]]), ("last", [[0.0, 2.0]])):
        right = pool_states(right_hidden, right_mask, torch.tensor([1]), kind)
        left = pool_states(HIDDEN[1:], MASK[1:], torch.tensor([3]), kind)
        assert right.tolist() == left.tolist() == expected, kind


def test_pool_prompt_takes_each_rows_last_prompt_token():
    # row 0 (right padding): prompt = positions 0-1, response = 2; row 1 (left padding): prompt = 2, response = 3
    prompt_end = torch.tensor([1, 2])
    assert pool_states(HIDDEN, MASK, LAST, "prompt", prompt_end).tolist() == [[3.0, 0.0], [2.0, -6.0]]
    with pytest.raises(ValueError, match="loss.pooling = 'prompt' needs each sequence's prompt_index"):
        pool_states(HIDDEN, MASK, LAST, "prompt")


def test_pool_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="loss.pooling = 'sum' is not allowed: use one of last, mean, max, prompt"):
        pool_states(HIDDEN, MASK, LAST, "sum")


# --- loss.gen_reduction ----------------------------------------------------------------------------


def _two_view_batch():
    """k = 1 entry: the original view has 1 response token, the positive view 2 (hand-set probabilities)."""
    logits = torch.zeros(2, 3, 2)
    logits[0, 1] = torch.tensor([0.0, math.log(3)])  # orig: p(1) = 3/4 at position 1
    logits[1, 0] = torch.tensor([math.log(4), 0.0])  # pos: p(1) = 1/5 at position 0
    logits[1, 1] = torch.tensor([0.0, 0.0])  # pos: p(1) = 1/2 at position 1
    labels = torch.tensor([[-100, -100, 1], [-100, 1, 1]])
    return logits, labels


def test_gen_reduction_tokens_is_the_mean_over_both_views_tokens():
    logits, labels = _two_view_batch()
    expected = (-math.log(3 / 4) - math.log(1 / 5) - math.log(1 / 2)) / 3
    _close(generation_loss(logits, labels, "tokens"), expected)
    _close(generation_loss(logits, labels, "tokens"), response_ce(logits, labels).item())


def test_gen_reduction_views_is_the_sum_of_each_views_mean():
    logits, labels = _two_view_batch()
    expected = -math.log(3 / 4) + (-math.log(1 / 5) - math.log(1 / 2)) / 2
    _close(generation_loss(logits, labels, "views"), expected)


def test_gen_reduction_views_enters_the_weight():
    logits = torch.zeros(2, 2, 2)
    labels = torch.tensor([[-100, 0], [-100, 1]])  # uniform: each view's mean log 2
    parts = coin_loss(logits, labels, E[:2], E[:2], lam=1000, temperature=1.0, gen_reduction="views")
    ctr = math.log(1 + math.exp(-1))
    _close(parts.gen, 2 * math.log(2))
    _close(parts.weight, 2 * math.log(2) / ctr)
    _close(parts.total, 4 * math.log(2))
    capped = coin_loss(logits, labels, E[:2], E[:2], lam=1.0, temperature=1.0, gen_reduction="views")
    _close(capped.total, 2 * math.log(2) + ctr)  # w = lambda: the contrastive pull halves relative to L_gen
