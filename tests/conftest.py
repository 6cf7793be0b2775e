"""Shared fixtures: everything offline, CPU only, small enough for seconds per test."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

_CORPUS = [
    "### Instruction:\nIs the sentiment positive or negative?\n\n### Input:\nThe film was great.\n\n### Response:\npositive",
    "### Instruction:\nIs this sentence acceptable or unacceptable?\n\n### Response:\nunacceptable",
    "Premise: a dog runs. Hypothesis: an animal moves. entailment neutral contradiction not_entailment",
    "Question 1: where is it? Question 2: where can it be? equivalent not_equivalent duplicate",
    "OPTIONS:\n- yes\n- no\n- it is not possible to tell",
]


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny models run fastest on one thread. The suite is a torch process of this project like any
    stage: registered (pipeline.cores), so a stage running beside `make test` makes room for it."""
    import torch

    from pipeline.cores import fair_share

    with fair_share():
        torch.set_num_threads(1)
        yield


@pytest.fixture(scope="session")
def tiny_lm():
    """A 2-layer LLaMA (hidden 32) with a byte-level BPE tokenizer trained on a few lines."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config).eval()
    return model, tokenizer


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: slow end-to-end runs, skipped unless `-m e2e` or COIN_E2E=1")


def pytest_collection_modifyitems(config, items):
    """Tests marked e2e (a whole smoke run each) run only when asked: `pytest -m e2e` or COIN_E2E=1."""
    if "e2e" in (config.option.markexpr or "") or os.environ.get("COIN_E2E") == "1":
        return
    skip = pytest.mark.skip(reason="e2e tier: run with `pytest -m e2e` or COIN_E2E=1")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)
