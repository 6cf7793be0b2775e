"""The COIN loss parts against values worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from coin.training.losses import coin_loss, coin_weight, info_nce, response_ce

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
