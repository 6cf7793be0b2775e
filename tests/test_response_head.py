"""Logits only at the response positions (coin.training.head) against the full-logit computation, and
the length-grouped pair order (coin.training.collator.group_by_length)."""

from __future__ import annotations

import copy

import pytest
import torch

from coin.errors import CoinError
from coin.params import LoraParams
from coin.prompts.format import PromptFormat
from coin.training.collator import CoinCollator, PairSampler, group_by_length, pair_order
from coin.training.losses import generation_loss, response_ce, response_ce_at, response_positions

FORMAT = PromptFormat("alpaca")
ENTRIES = [
    {"prompt": "Is the sentiment positive or negative?", "positive_prompt": "positive or negative", "target": "positive", "pair_id": 0},
    {"prompt": "Premise: a dog runs. Hypothesis: an animal moves.", "positive_prompt": "a dog", "target": "neutral entailment", "pair_id": 0},
    {"prompt": "Question 1: where is it?", "positive_prompt": "Where can it be? Question 2: where is it?", "target": "duplicate", "pair_id": 1},
    {"prompt": "OPTIONS: yes no", "positive_prompt": "Is this sentence acceptable or unacceptable? OPTIONS: yes no", "target": "no", "pair_id": 1},
]
OBJECTIVES = {
    "cit": dict(contrastive=False),
    "coin_last_tokens": dict(contrastive=True, lam=1000.0, temperature=0.05, negatives="pair", pooling="last"),
    "coin_prompt_tokens": dict(contrastive=True, lam=1000.0, temperature=0.05, negatives="pair", pooling="prompt"),
    "coin_mean_views": dict(contrastive=True, lam=0.5, temperature=0.05, negatives="batch", pooling="mean", gen_reduction="views"),
}


def test_response_positions_and_ce_at_equal_the_full_logit_loss():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 7)
    labels = torch.tensor([[-100, -100, 1, 2, -100], [-100, 4, 5, 6, 0], [-100] * 5])
    positions, targets = response_positions(labels)
    assert positions.tolist() == [1, 2, 5 + 0, 5 + 1, 5 + 2, 5 + 3]  # i * T + t predicts y_{i,t+1}
    assert targets.tolist() == [1, 2, 4, 5, 6, 0]
    rows = logits.reshape(-1, 7)[positions]  # (6, 7)
    assert response_ce_at(rows, targets).item() == pytest.approx(response_ce(logits, labels).item(), rel=1e-6)
    empty = response_ce_at(torch.zeros(0, 7, requires_grad=True), torch.zeros(0, dtype=torch.long))
    assert empty.item() == 0.0 and torch.isfinite(empty)


def _lora_model(base, seed: int = 0):
    from coin.training.model import add_lora

    torch.manual_seed(seed)
    model = add_lora(copy.deepcopy(base), LoraParams(True, 4, 8, 0.0, ["q_proj", "v_proj"], None))
    with torch.no_grad():  # B starts at 0: give it values so that every LoRA gradient is non-zero
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    return model.train()


def _trainer(model, objective: dict, tmp_path):
    from coin.training.trainer import CoinTrainer, Objective
    from transformers import TrainingArguments

    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True, disable_tqdm=True)
    return CoinTrainer(model=model, args=args, objective=Objective(**objective))


def _loss_and_grads(trainer, model, batch, full: bool):
    trainer.full_logits = full
    model.zero_grad(set_to_none=True)
    loss = trainer.compute_loss(model, dict(batch))
    loss.backward()
    sums = {k: v.item() for k, v in trainer._sums.items()}
    trainer._sums, trainer._count = {}, 0
    return loss.item(), sums, {k: p.grad.clone() for k, p in model.named_parameters() if p.requires_grad}


def _small_llama(tied: bool, vocab: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(1)
    config = LlamaConfig(vocab_size=vocab, hidden_size=48, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
                         num_key_value_heads=2, max_position_embeddings=256, tie_word_embeddings=tied, pad_token_id=0)
    return LlamaForCausalLM(config)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("name", sorted(OBJECTIVES))
@pytest.mark.parametrize("which", ["tiny_lm", "small_llama_tied", "small_llama_untied_checkpointed"])
def test_response_head_equals_full_logits_in_loss_and_lora_gradients(tiny_lm, which, name, side, tmp_path):
    base, tok = tiny_lm
    if which != "tiny_lm":
        base = _small_llama(tied=which == "small_llama_tied", vocab=len(tok))
        if "checkpointed" in which:
            base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            base.enable_input_require_grads()
    model = _lora_model(base)
    trainer = _trainer(model, OBJECTIVES[name], tmp_path)
    batch = CoinCollator(copy.deepcopy(tok), FORMAT, 256, padding_side=side)(ENTRIES)
    old_loss, old_parts, old_grads = _loss_and_grads(trainer, model, batch, full=True)
    new_loss, new_parts, new_grads = _loss_and_grads(trainer, model, batch, full=False)
    assert new_loss == pytest.approx(old_loss, rel=1e-6)
    assert new_parts.keys() == old_parts.keys()
    for key in old_parts:
        assert new_parts[key] == pytest.approx(old_parts[key], rel=1e-6)
    assert sorted(new_grads) == sorted(old_grads) and any("lora_A" in k for k in new_grads)
    for key, grad in old_grads.items():
        assert grad.abs().max() > 0
        torch.testing.assert_close(new_grads[key], grad, rtol=1e-5, atol=1e-5 * grad.abs().max().item())


def test_the_output_layer_sees_only_the_response_rows_and_no_layer_states_are_kept(tiny_lm, tmp_path):
    base, tok = tiny_lm
    model = _lora_model(base)
    trainer = _trainer(model, OBJECTIVES["coin_last_tokens"], tmp_path)
    batch = CoinCollator(copy.deepcopy(tok), FORMAT, 256)(ENTRIES)
    seen = {}
    head = model.get_output_embeddings()
    handles = [
        head.register_forward_hook(lambda m, i, o: seen.update(logits=tuple(o.shape))),
        model.base_model.model.register_forward_pre_hook(lambda m, a, kw: seen.update(kwargs=dict(kw)), with_kwargs=True),
    ]
    try:
        _, outputs = trainer.compute_loss(model, dict(batch), return_outputs=True)
    finally:
        for handle in handles:
            handle.remove()
    m = int((batch["labels"][:, 1:] != -100).sum())
    assert seen["logits"] == (m, len(tok)) == tuple(outputs.logits.shape)
    assert not seen["kwargs"].get("output_hidden_states") and outputs.hidden_states is None
    assert head._forward_pre_hooks == {}  # the hook is removed after the forward


def test_response_head_refuses_a_model_that_keeps_only_some_positions(tiny_lm):
    from coin.training.head import ResponseHead

    base, tok = tiny_lm
    batch = CoinCollator(copy.deepcopy(tok), FORMAT, 256)(ENTRIES)
    positions, _ = response_positions(batch["labels"])
    with pytest.raises(CoinError, match="must apply it to every position"):
        with ResponseHead(base, positions, tuple(batch["labels"].shape)), torch.no_grad():
            base(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=1)


def test_generation_loss_views_on_rows_equals_the_full_logit_views():
    from coin.training.losses import generation_loss_at

    torch.manual_seed(0)
    logits = torch.randn(4, 6, 9)
    labels = torch.full((4, 6), -100)
    labels[0, 4:] = torch.tensor([1, 2])
    labels[1, 5] = 3
    labels[2, 2:] = torch.tensor([4, 5, 6, 7])
    labels[3, 5] = 8
    positions, targets = response_positions(labels)
    rows = logits.reshape(-1, 9)[positions]
    for reduction in ("tokens", "views"):
        expected = generation_loss(logits, labels, reduction).item()
        assert generation_loss_at(rows, targets, positions, (4, 6), reduction).item() == pytest.approx(expected, rel=1e-6)


# --- length-grouped pair order ---

PAIR_IDS = [p for p in range(11) for _ in range(2)]  # 11 pairs: 22 entries
ROLES = ["anchor", "negative"] * 11
LENGTHS = [(7 * i) % 23 + 3 for i in range(22)]


def _batches(order, size):
    return [order[i : i + size] for i in range(0, len(order), size)]


def test_group_by_length_keeps_pairs_and_micro_batches_whole_and_sorts_within_windows():
    base = pair_order(PAIR_IDS, ROLES, seed=3, epoch=1)
    order = group_by_length(base, PAIR_IDS, LENGTHS, pairs_per_batch=2, window=2, seed=3, epoch=1)
    assert sorted(order) == list(range(22))  # every entry once
    for a, b in _batches(order, 2):  # pairs adjacent, anchor first
        assert PAIR_IDS[a] == PAIR_IDS[b] and ROLES[a] == "anchor"
    pair_len = {PAIR_IDS[r]: max(LENGTHS[r], LENGTHS[r ^ 1]) for r in range(22)}
    base_pairs = [PAIR_IDS[r] for r in base[::2]]
    new_pairs = [PAIR_IDS[r] for r in order[::2]]
    for start in range(0, 11, 4):  # windows of 2 micro-batches x 2 pairs: the same pairs, re-ordered
        assert sorted(new_pairs[start : start + 4]) == sorted(base_pairs[start : start + 4])
        batches = _batches(new_pairs[start : start + 4], 2)
        ranges = sorted((min(pair_len[p] for p in b), max(pair_len[p] for p in b)) for b in batches if len(b) == 2)
        assert all(hi <= lo2 for (_, hi), (lo2, _) in zip(ranges, ranges[1:]))  # micro-batches do not interleave
    assert new_pairs[-1] == base_pairs[-1]  # 11 = 2 windows of 4 + 3: the last, partial micro-batch stays last
    assert group_by_length(base, PAIR_IDS, LENGTHS, 2, 2, seed=3, epoch=1) == order  # deterministic
    assert group_by_length(base, PAIR_IDS, LENGTHS, 2, 0, seed=3, epoch=1) == base  # window 0: off
    assert group_by_length(base, PAIR_IDS, LENGTHS, 1, 4, seed=3, epoch=1) == base  # one pair per micro-batch: nothing to group


def test_pair_sampler_with_a_window_pads_less_and_without_is_unchanged():
    def padding(order):
        widths = [max(LENGTHS[r] for r in b) for b in _batches(order, 4)]
        return sum(w * len(b) for w, b in zip(widths, _batches(order, 4))) - sum(LENGTHS)

    plain = PairSampler(PAIR_IDS, ROLES, seed=3)
    plain.set_epoch(2)
    assert list(plain) == pair_order(PAIR_IDS, ROLES, 3, 2)
    grouped = PairSampler(PAIR_IDS, ROLES, seed=3, lengths=LENGTHS, micro_batch_size=4, window=100)
    grouped.set_epoch(2)
    assert sorted(grouped) == list(range(22)) and len(grouped) == 22
    assert padding(list(grouped)) < padding(list(plain))
    with pytest.raises(CoinError, match="one length per entry"):
        PairSampler(PAIR_IDS, ROLES, seed=3, lengths=None, micro_batch_size=4, window=2)


def test_collator_entry_lengths_are_each_entrys_longer_view(tiny_lm):
    _, tok = tiny_lm
    collate = CoinCollator(copy.deepcopy(tok), FORMAT, 256)
    batch = collate(ENTRIES[:1])  # 2 sequences: original, positive
    real = batch["attention_mask"].sum(dim=1).tolist()
    assert collate.entry_lengths(ENTRIES[:1]) == [max(real)]
