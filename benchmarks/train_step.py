"""Per-step cost of the COIN loss over the CIT loss, and of the response-only output layer over the
full-logit path (`CoinTrainer.full_logits`, the computation before it): same model, same batches, one run.

Each measured step is a forward + backward pass of one micro-batch (2k sequences) through
`CoinTrainer.training_step`; the four configurations (cit, coin) x (new, old) alternate (the order flips
every step) and each reports the median of N steps. The model is the embedded tiny LLaMA sized by params.yaml (model.tiny), or the
folder given with --base; the batches come from --train (data/train.parquet) or from synthetic entries
written here. Target: coin / cit <= 1.05; new / old >= 1 (the embedded default no slower). With
--windows, the padding share of an epoch's micro-batches per train.group_by_length window.

    .venv/bin/python benchmarks/train_step.py [--steps 12] [--base models/base --train data/train.parquet]
    .venv/bin/python benchmarks/train_step.py --threads 1 --clock cpu   # on a busy machine
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_WORDS = (
    "river stone quiet lamp orange seven market window travel garden answer simple paper moving "
    "bright kettle winter signal copper island letter morning careful number silver forest button"
).split()


def synthetic_entries(n_pairs: int, seed: int):
    """Training rows in the TRAIN columns the collator needs: prompts of 40-70 words, short targets."""
    import pandas as pd

    rng = random.Random(seed)

    def sentence(n: int) -> str:
        return " ".join(rng.choice(_WORDS) for _ in range(n)).capitalize() + "."

    rows = []
    for pair in range(n_pairs):
        for role in ("anchor", "negative"):
            body = f"{sentence(rng.randint(25, 45))}\n{sentence(rng.randint(8, 15))}"
            options = "OPTIONS:\n- yes\n- no"
            rows.append(
                {
                    "entry_id": len(rows),
                    "pair_id": pair,
                    "role": role,
                    "prompt": f"Decide whether the second line agrees with the first.\n\n{body}\n\n{options}",
                    "positive_prompt": f"{body}\n\nIs the second line supported by the first?\n{options}",
                    "target": rng.choice(["yes", "no"]),
                }
            )
    return pd.DataFrame(rows)


NAMES = ["cit_new", "coin_new", "cit_old", "coin_old"]


def padding_shares(params: Any, base: Any, frame: Any, windows: list[int]) -> dict[int, float]:
    """{window: padding share of epoch 0's micro-batches in the PairSampler order with that length window}."""
    from coin.prompts.format import prompt_format
    from coin.training.collator import CoinCollator, EntryDataset
    from coin.training.model import load_tokenizer
    from train_speed import ordered_batches, padding_share

    tokenizer = load_tokenizer(base)
    dataset = EntryDataset(frame)
    collator = CoinCollator(tokenizer, prompt_format(params.model, tokenizer), params.sample.cutoff_len)
    micro = params.train.micro_batch_size
    return {window: padding_share(ordered_batches(dataset, collator, micro, params.seed, window)) for window in windows}


def with_resolved_dtype(params: Any) -> Any:
    """params with model.dtype resolved as the train stage resolves it (auto -> bfloat16 | float32), said on one line."""
    import dataclasses

    from coin.hardware import choose_dtype, device_type

    dtype, said = choose_dtype(params.model.dtype, device_type())
    if said:
        print(said)
    return dataclasses.replace(params, model=dataclasses.replace(params.model, dtype=dtype))


def order_times(params: Any, base: Any, frame: Any, window: int, steps: int, repeats: int, clock: str = "wall") -> dict[str, Any]:
    """Seconds for the first `steps` micro-batches of epoch 0 (coin, the default path) in the plain pair order
    and in the length-grouped order of `window` (train.group_by_length); with steps a multiple of window both
    hold the same entries, so the time ratio is the speed-up. {"plain": [s per repeat], "grouped": [...], "padding"}."""
    from coin.prompts.format import prompt_format
    from coin.training.collator import CoinCollator, EntryDataset
    from coin.training.model import model_for_training
    from coin.training.trainer import CoinTrainer, Objective, training_arguments
    from train_speed import ordered_batches, padding_share

    params = with_resolved_dtype(params)
    model, tokenizer = model_for_training(base, params.model, params.seed)
    dataset = EntryDataset(frame)
    collator = CoinCollator(tokenizer, prompt_format(params.model, tokenizer), params.sample.cutoff_len)
    micro = params.train.micro_batch_size
    batches = {name: ordered_batches(dataset, collator, micro, params.seed, w)[:steps] for name, w in (("plain", 0), ("grouped", window))}
    with tempfile.TemporaryDirectory() as tmp:
        args = training_arguments(params.train, params.seed, str(Path(tmp) / "ckpt"), params.model.dtype, disable_tqdm=True)
        trainer = CoinTrainer(model=model, args=args, objective=Objective.for_variant("coin", params.loss))
        trainer.current_gradient_accumulation_steps = args.gradient_accumulation_steps
        timer = time.perf_counter if clock == "wall" else time.process_time
        times: dict[str, list[float]] = {"plain": [], "grouped": []}
        for repeat in range(repeats + 1):
            for name in (("plain", "grouped") if repeat % 2 == 0 else ("grouped", "plain")):
                start = timer()
                for batch in batches[name]:
                    trainer.training_step(model, dict(batch))
                    model.zero_grad(set_to_none=True)
                if repeat:  # the first round warms up
                    times[name].append(timer() - start)
    return {**times, "padding": {name: padding_share(bs) for name, bs in batches.items()}}


def step_times(params: Any, base: Any, frame: Any, steps: int, warmup: int, clock: str = "wall") -> dict[str, Any]:
    """Median-ready step times on the same batches: {"cit_new", "coin_new", "cit_old", "coin_old" (the
    full-logit path): [s], "cit" / "coin": the new path's, "tokens",
    "shape", "n_params"}. `base` is a model folder, or None for the tiny model built from params."""
    import torch

    from coin.prompts.format import prompt_format
    from coin.training.collator import CoinCollator, EntryDataset
    from coin.training.model import build_tiny_model, model_for_training, save_model_folder
    from coin.training.tokenizer import train_tokenizer
    from coin.training.trainer import CoinTrainer, Objective, training_arguments

    params = with_resolved_dtype(params)
    with tempfile.TemporaryDirectory() as tmp:
        if base is None:
            texts = list(frame["prompt"]) + list(frame["positive_prompt"])
            tokenizer = train_tokenizer(texts, params.model.tiny.vocab_size, params.model.tiny.max_position)
            base = Path(tmp) / "base"
            save_model_folder(build_tiny_model(params.model.tiny, tokenizer, params.seed), tokenizer, base, {"base": "embedded-tiny"})
        model, tokenizer = model_for_training(base, params.model, params.seed)
        dataset = EntryDataset(frame)
        collator = CoinCollator(tokenizer, prompt_format(params.model, tokenizer), params.sample.cutoff_len)
        micro = params.train.micro_batch_size
        batches = [collator(dataset.rows[b * micro : (b + 1) * micro]) for b in range(steps + warmup)]
        train_args = training_arguments(params.train, params.seed, str(Path(tmp) / "ckpt"), params.model.dtype, disable_tqdm=True)
        trainers = {}
        for name in NAMES:
            variant, path = name.split("_")
            trainers[name] = CoinTrainer(model=model, args=train_args, objective=Objective.for_variant(variant, params.loss))
            trainers[name].full_logits = path == "old"
            trainers[name].current_gradient_accumulation_steps = train_args.gradient_accumulation_steps  # set by train()
        timer = time.perf_counter if clock == "wall" else time.process_time
        times: dict[str, list[float]] = {name: [] for name in NAMES}
        for step, batch in enumerate(batches):
            for name in (NAMES if step % 2 == 0 else NAMES[::-1]):
                start = timer()
                trainers[name].training_step(model, dict(batch))
                elapsed = timer() - start
                model.zero_grad(set_to_none=True)
                if step >= warmup:
                    times[name].append(elapsed)
    return {
        **times,
        "cit": times["cit_new"],  # the default path under the names benchmarks/smollm2.py reads
        "coin": times["coin_new"],
        "tokens": sum(int(b["attention_mask"].sum()) for b in batches[warmup:]) / steps,
        "shape": tuple(batches[warmup]["input_ids"].shape),
        "n_params": sum(p.numel() for p in model.parameters()),
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    parser.add_argument("--base", default=None, help="model folder (default: a tiny model built from params)")
    parser.add_argument("--train", default=None, help="data/train.parquet (default: synthetic entries)")
    parser.add_argument("--steps", type=int, default=12, help="measured steps per variant")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: the cores this process may use)")
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall",
        help="wall: elapsed time; cpu: this process's CPU time (with --threads 1, robust to other load on the cores)",
    )
    parser.add_argument("--window", type=int, default=0, help="also time the first --order-steps micro-batches in the plain vs this length-grouped order")
    parser.add_argument("--order-steps", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the order timing (median)")
    parser.add_argument("--windows", type=int, nargs="*", default=[], help="train.group_by_length windows to report the padding share of (needs --base)")
    args = parser.parse_args()

    import torch

    from coin.io import read_parquet
    from coin.params import load_params
    from coin.schemas import TRAIN
    from pipeline.cores import cpu_threads


    from record import machine_line

    params = load_params(args.params)
    torch.set_num_threads(args.threads or cpu_threads())
    print(machine_line())
    frame = read_parquet(args.train, TRAIN) if args.train else synthetic_entries(200, params.seed)
    result = step_times(params, args.base, frame, args.steps, args.warmup, args.clock)
    micro, tokens = params.train.micro_batch_size, result["tokens"]
    print(
        f"model {result['n_params']:,} params, micro-batch {micro} entries -> {2 * micro} sequences "
        f"(e.g. {result['shape']}), {tokens:.0f} real tokens/step, {result['threads']} threads, {args.clock} clock, median of {args.steps}"
    )
    print(f"{'variant':<8}{'path':<6}{'s/step':>10}{'tokens/s':>12}{'vs cit':>9}{'new/old':>9}")
    med = {name: statistics.median(result[name]) for name in NAMES}
    for name in NAMES:
        variant, path = name.split("_")
        print(f"{variant:<8}{path:<6}{med[name]:>10.4f}{tokens / med[name]:>12.0f}{med[name] / med['cit_' + path]:>8.3f}x"
              f"{med[variant + '_old'] / med[name]:>8.2f}x")
    ratio = med["coin_new"] / med["cit_new"]
    print(f"coin/cit = {ratio:.3f} (target <= 1.05): {'ok' if ratio <= 1.05 else 'over target'}")
    if args.windows:
        base = args.base
        if base is None:
            print("padding shares need --base (the tokenizer of the model folder)")
        else:
            shares = padding_shares(params, base, frame, [0, *args.windows])
            print("padding share of epoch 0's micro-batches: " + ", ".join(
                f"group_by_length {w}: {s:.3f}" for w, s in shares.items()))
    if args.window:
        if args.base is None:
            print("--window needs --base")
        else:
            order = order_times(params, args.base, frame, args.window, args.order_steps, args.repeats, args.clock)
            plain, grouped = statistics.median(order["plain"]), statistics.median(order["grouped"])
            print(f"coin, first {args.order_steps} micro-batches of epoch 0 (the same entries), median of {args.repeats}: plain order "
                  f"{plain:.2f} s (padding {order['padding']['plain']:.3f}), group_by_length {args.window} {grouped:.2f} s "
                  f"(padding {order['padding']['grouped']:.3f}): grouped speed-up {plain / grouped:.2f}x")
    print(f"cit_new_over_old={med['cit_old'] / med['cit_new']:.2f} coin_new_over_old={med['coin_old'] / med['coin_new']:.2f} "
          f"coin_over_cit={ratio:.2f}")


if __name__ == "__main__":
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
