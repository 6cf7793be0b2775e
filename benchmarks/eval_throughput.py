"""Evaluation throughput: `python benchmarks/eval_throughput.py [--prompts N] [--repeats R]`.

Builds the embedded tiny LLaMA from params.yaml (model.tiny, random weights) with a byte-level BPE
tokenizer trained on synthetic sentences, renders N prompts shaped like the eval prompts (instruction
+ "Premise: .. Hypothesis: .." content) and times, R times each, in the same run:

- transformers `generate`, one prompt at a time (the released harness's mode: batch 1, no padding)
- transformers `generate`, batched (eval.batch_size, left padding, length-sorted, no prefix sharing)
- coin `generate`, batched (shared instruction prefixes computed once, greedy loop on the KV cache)
- coin `generate_with_states` (what `evaluate` runs: outputs and last-token states in one pass)
- coin `rank` (label-word log-likelihood over the 3 MNLI words; what `perturb` runs)
- coin `last_token_states`

and prints a markdown table of median examples/s and the speed-up over one-at-a-time generation.
Random weights rarely emit EOS, so every generation runs the full eval.max_new_tokens (worst case).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
ROWS_PER_INSTRUCTION = 40  # eval.n_samples of the embedded profile
sys.path.insert(0, str(ROOT))

_WORDS = (
    "the a small large red blue river town market teacher student farmer bird window garden road "
    "walks sees builds carries finds paints reads opens closes quickly slowly today yesterday near "
    "under over because while never always some many every one two three old new quiet loud bright"
).split()


def synthetic_sentence(rng: random.Random, low: int = 6, high: int = 14) -> str:
    """A random sentence over a small vocabulary of our own."""
    words = [rng.choice(_WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


def build_model(params: Any, seed: int) -> tuple[Any, Any]:
    """The model.tiny LLaMA with random weights and a BPE tokenizer of model.tiny.vocab_size."""
    from coin.training.model import build_tiny_model
    from coin.training.tokenizer import train_tokenizer

    rng = random.Random(seed)
    corpus = [synthetic_sentence(rng) for _ in range(2000)] + ["entailment neutral contradiction not_entailment"]
    tokenizer = train_tokenizer(corpus, params.model.tiny.vocab_size)
    return build_tiny_model(params.model.tiny, tokenizer, seed).eval(), tokenizer


def synthetic_prompts(params: Any, n: int, seed: int) -> list[str]:
    """N eval-shaped prompts: blocks of ROWS_PER_INSTRUCTION contents under one instruction each."""
    from coin.prompts.format import prompt_format

    rng = random.Random(seed + 1)
    instructions = [synthetic_sentence(rng, 14, 24) for _ in range(-(-n // ROWS_PER_INSTRUCTION))]
    prompts = []
    for i in range(n):
        content = f"Premise: {synthetic_sentence(rng)} Hypothesis: {synthetic_sentence(rng, 4, 9)}"
        prompts.append(prompt_format(params.model).render(instructions[i // ROWS_PER_INSTRUCTION], content))
    return prompts


def hf_generate(model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int, batch_size: int) -> list[str]:
    """transformers' own greedy `generate` on left-padded, length-sorted batches (new tokens only)."""
    import torch
    from transformers import GenerationConfig

    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
    )
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    texts = [""] * len(prompts)
    tokenizer.padding_side = "left"
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            enc = tokenizer([prompts[i] for i in rows], return_tensors="pt", padding=True)
            out = model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], generation_config=config)
            for row, i in enumerate(rows):
                texts[i] = tokenizer.decode(out[row, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return texts


def median_rates(fn: Callable[[], Any], n: int, repeats: int) -> tuple[float, float]:
    """Median examples per wall-clock second and per CPU second (all threads) of `fn` over `repeats` runs.

    CPU seconds are less sensitive than wall time to other processes sharing the cores.
    """
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return n / statistics.median(wall), n / statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=128, help="prompts per measurement")
    parser.add_argument("--single", type=int, default=32, help="prompts for the one-at-a-time baseline")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    args = parser.parse_args()

    import torch

    from coin.evaluation import scoring
    from coin.params import load_params

    params = load_params(args.params)
    model, tokenizer = build_model(params, params.seed)
    prompts = synthetic_prompts(params, args.prompts, params.seed)
    ev = params.eval
    words = ["entailment", "neutral", "contradiction"]
    n_params = sum(p.numel() for p in model.parameters())
    mean_len = statistics.mean(len(tokenizer(p)["input_ids"]) for p in prompts)
    print(
        f"model {n_params / 1e6:.1f}M params, {args.prompts} prompts of {mean_len:.0f} tokens on average, "
        f"max_new_tokens {ev.max_new_tokens}, batch {ev.batch_size}, torch threads {torch.get_num_threads()}, "
        f"median of {args.repeats}",
        file=sys.stderr,
    )
    few = prompts[: args.single]
    cases: list[tuple[str, int, Callable[[], Any]]] = [
        ("transformers generate, one at a time (released harness)", len(few), lambda: hf_generate(model, tokenizer, few, ev.max_new_tokens, 1)),
        ("transformers generate, batched", len(prompts), lambda: hf_generate(model, tokenizer, prompts, ev.max_new_tokens, ev.batch_size)),
        ("coin generate, batched", len(prompts), lambda: scoring.generate(model, tokenizer, prompts, ev.max_new_tokens, ev.batch_size)),
        ("coin generate_with_states, batched", len(prompts), lambda: scoring.generate_with_states(model, tokenizer, prompts, ev.max_new_tokens, ev.batch_size)),
        ("coin rank (3 labels), batched", len(prompts), lambda: scoring.rank(model, tokenizer, prompts, words, ev.batch_size)),
        ("coin last_token_states, batched", len(prompts), lambda: scoring.last_token_states(model, tokenizer, prompts, ev.batch_size)),
    ]
    rates = []
    for label, n, fn in cases:
        wall, cpu = median_rates(fn, n, args.repeats)
        rates.append((label, wall, cpu))
        print(f"{label:<58} {wall:8.1f} examples/s  {cpu:8.1f} examples/CPU-s", file=sys.stderr, flush=True)
    base_wall, base_cpu = rates[0][1], rates[0][2]
    print("\n| mode | examples/s | x one-at-a-time | examples/CPU-s | x one-at-a-time |\n|---|---:|---:|---:|---:|")
    for label, wall, cpu in rates:
        print(f"| {label} | {wall:.1f} | {wall / base_wall:.1f} | {cpu:.1f} | {cpu / base_cpu:.1f} |")


if __name__ == "__main__":
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
