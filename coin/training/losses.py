"""The COIN objective (arXiv 2402.11138, section 3.3) as pure tensor functions.

L = L_gen + w * L_ctr, w = min(lambda, sg(L_gen) / sg(L_ctr)), where sg stops the gradient.
The states fed to L_ctr are pooled by `pool_states` (loss.pooling) and L_gen is reduced by
`generation_loss` (loss.gen_reduction).

Training computes logits only where L_gen reads them: `response_positions` names the M positions whose
next-token label is not masked, the output layer runs on those M final hidden states only
(coin.training.head), and `generation_loss_at` / `response_ce_at` take those (M, V) rows. `response_ce`,
`generation_loss` and `coin_loss` take the full (N, T, V) logits: the same values, kept as the reference
(tests) and as the benchmark's old path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from coin.training.collator import IGNORE_INDEX

# below this the contrastive loss counts as zero: the weight falls back to lambda
CTR_EPS = 1e-8
POOLINGS = ("last", "mean", "max", "prompt")
GEN_REDUCTIONS = ("tokens", "views")


def pool_states(
    hidden: torch.Tensor,
    attention_mask: torch.Tensor,
    pool_index: torch.Tensor,
    pooling: str = "last",
    prompt_index: torch.Tensor | None = None,
) -> torch.Tensor:
    """One state per sequence for L_ctr, float32 (not normalised; info_nce normalises).

    hidden (N, T, d): the final-layer (post-norm) states; attention_mask (N, T): 1 on the real tokens
    of prompt + response, 0 on padding (either side); pool_index (N,): each row's last real token;
    prompt_index (N,): each row's last prompt token (pooling prompt only).
        last:   h_i = hidden[i, pool_index_i]                        (the paper; footnote 1 of 3.3)
        prompt: h_i = hidden[i, prompt_index_i]                      (the state the first answer token is
                generated from and the evaluation reads; its next-token label is the response's first token)
        mean:   h_i = sum_t m_it * hidden[i, t] / sum_t m_it          (padding never counted)
        max:    h_i[c] = max_{t: m_it = 1} hidden[i, t, c]            (padding never a candidate)
    The released code's average also counts padding tokens; here padding never enters a mean or a max.
    """
    hidden = hidden.float()
    if pooling in ("last", "prompt"):
        index = pool_index if pooling == "last" else prompt_index
        if index is None:
            raise ValueError("loss.pooling = 'prompt' needs each sequence's prompt_index (CoinCollator's batch)")
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        return hidden[rows, index.to(hidden.device)]  # (N, d)
    mask = attention_mask.to(hidden.device).bool().unsqueeze(-1)  # (N, T, 1)
    if pooling == "mean":
        count = mask.sum(dim=1).clamp(min=1).float()  # (N, 1)
        return (hidden * mask).sum(dim=1) / count  # (N, d)
    if pooling == "max":
        return hidden.masked_fill(~mask, float("-inf")).amax(dim=1)  # (N, d)
    raise ValueError(f"loss.pooling = {pooling!r} is not allowed: use one of {', '.join(POOLINGS)}")


def info_nce(z_orig: torch.Tensor, z_pos: torch.Tensor, temperature: float, groups: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE between the rows of two views.

    z_orig, z_pos: (B, d), row i of both the same instance; they are L2-normalised here (in float32).
        S_ij = cos(z_orig_i, z_pos_j) / temperature                                   (B, B)
        L_ctr = (CE(S, arange B) + CE(S^T, arange B)) / 2,  CE(S, y) = mean_i -log softmax(S_i)_{y_i}
    With `groups` (B,) ints, S_ij = -inf where groups_i != groups_j: a row's candidates are only the
    columns of its own group (an anchor and its hard negative form a group of 2). Without, every
    column of the batch is a candidate.
    """
    z_orig = F.normalize(z_orig.float(), dim=-1)
    z_pos = F.normalize(z_pos.float(), dim=-1)
    sim = z_orig @ z_pos.T / temperature  # (B, B)
    if groups is not None:
        other = groups.view(-1, 1) != groups.view(1, -1)  # (B, B), the diagonal is always False
        sim = sim.masked_fill(other, float("-inf"))
    target = torch.arange(sim.shape[0], device=sim.device)
    return (F.cross_entropy(sim, target) + F.cross_entropy(sim.T, target)) / 2


def coin_weight(l_gen: torch.Tensor, l_ctr: torch.Tensor, lam: float) -> torch.Tensor:
    """w = min(lam, sg(l_gen) / sg(l_ctr)); w = lam when l_ctr <= 1e-8 (no inf or NaN). Scalar tensor.

    The weight scales the contrastive term to the size of the generation loss, capped at lambda;
    neither loss receives a gradient through it.
    """
    gen = l_gen.detach().float()
    ctr = l_ctr.detach().float()
    lam_t = torch.tensor(float(lam), device=gen.device)
    safe = ctr > CTR_EPS
    ratio = gen / torch.where(safe, ctr, torch.ones_like(ctr))
    return torch.where(safe & torch.isfinite(ratio), torch.minimum(lam_t, ratio), lam_t)


def response_ce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Token cross-entropy over response tokens, next-token shifted.

    logits (N, T, V), labels (N, T) with -100 on prompt and padding:
        L_gen = sum_{i,t: y_{i,t+1} != -100} -log softmax(logits_{i,t})_{y_{i,t+1}} / #{response tokens}
    the mean over every response token of the batch (long responses weigh more, as in HF's causal LM
    loss). A sequence without response tokens adds nothing; a batch without any gives 0 (no NaN).
    """
    shift_logits = logits[:, :-1, :].reshape(-1, logits.shape[-1]).float()  # (N * (T-1), V)
    shift_labels = labels[:, 1:].reshape(-1)  # (N * (T-1),)
    total = F.cross_entropy(shift_logits, shift_labels, ignore_index=IGNORE_INDEX, reduction="sum")
    count = (shift_labels != IGNORE_INDEX).sum()
    return total / count.clamp(min=1)


def response_positions(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Where L_gen reads logits: labels (N, T) with -100 on prompt and padding ->
    (positions (M,), targets (M,)), one entry per (i, t) with y_{i,t+1} != -100, row-major:
        positions = i * T + t   (an index into the (N * T, ...) flattened final hidden states)
        targets   = y_{i,t+1}
    """
    shifted = labels[:, 1:]  # (N, T-1): position t predicts token t+1
    rows, cols = (shifted != IGNORE_INDEX).nonzero(as_tuple=True)  # (M,), (M,)
    return rows * labels.shape[1] + cols, shifted[rows, cols]


def response_ce_at(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """response_ce on the response positions only: logits (M, V) at `response_positions`, targets (M,):
        L_gen = sum_m -log softmax(logits_m)_{targets_m} / M      (float32; M = 0 gives 0, no NaN)
    equal to response_ce(full logits, labels) up to float32 summation order."""
    total = F.cross_entropy(logits.float(), targets, reduction="sum")
    return total / max(targets.shape[0], 1)


def generation_loss_at(
    logits: torch.Tensor, targets: torch.Tensor, positions: torch.Tensor, shape: tuple[int, int], reduction: str = "tokens"
) -> torch.Tensor:
    """generation_loss on the response positions only: logits (M, V) and targets (M,) at `positions`
    (M,) of the (N, T) = `shape` batch [orig_1..orig_k, pos_1..pos_k].
        tokens: response_ce_at(logits, targets)
        views:  response_ce_at over the rows of sequences i < k + the same over i >= k  (k = N / 2)
    """
    if reduction == "tokens":
        return response_ce_at(logits, targets)
    if reduction == "views":
        n, t = shape
        first = positions < (n // 2) * t  # (M,): the row belongs to an original-view sequence
        return response_ce_at(logits[first], targets[first]) + response_ce_at(logits[~first], targets[~first])
    raise ValueError(f"loss.gen_reduction = {reduction!r} is not allowed: use one of {', '.join(GEN_REDUCTIONS)}")


def generation_loss(logits: torch.Tensor, labels: torch.Tensor, reduction: str = "tokens") -> torch.Tensor:
    """L_gen over the 2k sequences [orig_1..orig_k, pos_1..pos_k] of a micro-batch.

    tokens (default): L_gen = response_ce(logits, labels), the mean over every response token of both
        views (HF's causal LM loss on the whole batch).
    views (the released code): L_gen = response_ce(logits[:k], labels[:k]) + response_ce(logits[k:], labels[k:]),
        the original view's token mean plus the paraphrased view's: a sum of two means, about twice
        the tokens value. It is also the L_gen of the weight min(lambda, L_gen / L_ctr).
    """
    if reduction == "tokens":
        return response_ce(logits, labels)
    if reduction == "views":
        k = logits.shape[0] // 2
        return response_ce(logits[:k], labels[:k]) + response_ce(logits[k:], labels[k:])
    raise ValueError(f"loss.gen_reduction = {reduction!r} is not allowed: use one of {', '.join(GEN_REDUCTIONS)}")


@dataclass(frozen=True)
class LossParts:
    """The total loss and its parts (scalar tensors; total carries the gradient)."""

    total: torch.Tensor
    gen: torch.Tensor
    ctr: torch.Tensor
    weight: torch.Tensor


def coin_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    z_orig: torch.Tensor,
    z_pos: torch.Tensor,
    lam: float,
    temperature: float,
    groups: torch.Tensor | None = None,
    gen_reduction: str = "tokens",
) -> LossParts:
    """L = L_gen + w * L_ctr with L_gen = generation_loss(logits, labels, gen_reduction) over both views
    (full logits (N, T, V)); the rest as `combine_losses`."""
    return combine_losses(generation_loss(logits, labels, gen_reduction), z_orig, z_pos, lam, temperature, groups)


def combine_losses(
    gen: torch.Tensor, z_orig: torch.Tensor, z_pos: torch.Tensor, lam: float, temperature: float, groups: torch.Tensor | None = None
) -> LossParts:
    """L = L_gen + w * L_ctr for a computed L_gen (scalar), with L_ctr = info_nce(z_orig, z_pos, temperature,
    groups) and w = coin_weight(L_gen, L_ctr, lam)."""
    ctr = info_nce(z_orig, z_pos, temperature, groups)
    weight = coin_weight(gen, ctr, lam)
    return LossParts(total=gen + weight * ctr, gen=gen, ctr=ctr, weight=weight)


__all__ = [
    "CTR_EPS",
    "GEN_REDUCTIONS",
    "POOLINGS",
    "LossParts",
    "coin_loss",
    "coin_weight",
    "combine_losses",
    "generation_loss",
    "generation_loss_at",
    "info_nce",
    "pool_states",
    "response_ce",
    "response_ce_at",
    "response_positions",
]
