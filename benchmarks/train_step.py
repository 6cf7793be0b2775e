"""Per-step cost of the COIN loss over the CIT loss: same model, same batches, one run.

Each measured step is a forward + backward pass of one micro-batch (2k sequences) through
`CoinTrainer.training_step`; cit and coin steps alternate (the order flips every step) and each reports
the median of N steps. The model is the embedded tiny LLaMA sized by params.yaml (model.tiny), or the
folder given with --base; the batches come from --train (data/train.parquet) or from synthetic entries
written here. Target: coin / cit <= 1.05.

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


def step_times(params: Any, base: Any, frame: Any, steps: int, warmup: int, clock: str = "wall") -> dict[str, Any]:
    """Median-ready step times of cit and coin on the same batches: {"cit": [s], "coin": [s], "tokens",
    "shape", "n_params"}. `base` is a model folder, or None for the tiny model built from params."""
    import dataclasses

    import torch

    from coin.hardware import choose_dtype, device_type
    from coin.prompts.format import prompt_format
    from coin.training.collator import CoinCollator, EntryDataset
    from coin.training.model import build_tiny_model, model_for_training, save_model_folder
    from coin.training.tokenizer import train_tokenizer
    from coin.training.trainer import CoinTrainer, Objective, training_arguments

    dtype, said = choose_dtype(params.model.dtype, device_type())  # model.dtype auto, as the train stage resolves it
    if said:
        print(said)
    params = dataclasses.replace(params, model=dataclasses.replace(params.model, dtype=dtype))
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
        train_args = training_arguments(params.train, params.seed, str(Path(tmp) / "ckpt"), dtype, disable_tqdm=True)
        trainers = {v: CoinTrainer(model=model, args=train_args, objective=Objective.for_variant(v, params.loss)) for v in ("cit", "coin")}
        for trainer in trainers.values():
            trainer.current_gradient_accumulation_steps = train_args.gradient_accumulation_steps  # set by train()
        timer = time.perf_counter if clock == "wall" else time.process_time
        times: dict[str, list[float]] = {"cit": [], "coin": []}
        for step, batch in enumerate(batches):
            for name in (["cit", "coin"] if step % 2 == 0 else ["coin", "cit"]):
                start = timer()
                trainers[name].training_step(model, dict(batch))
                elapsed = timer() - start
                model.zero_grad(set_to_none=True)
                if step >= warmup:
                    times[name].append(elapsed)
    return {
        **times,
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
    args = parser.parse_args()

    import torch

    from coin.io import read_parquet
    from coin.params import load_params
    from coin.schemas import TRAIN
    from pipeline.train import cpu_threads

    params = load_params(args.params)
    torch.set_num_threads(args.threads or cpu_threads())
    frame = read_parquet(args.train, TRAIN) if args.train else synthetic_entries(200, params.seed)
    result = step_times(params, args.base, frame, args.steps, args.warmup, args.clock)
    micro, tokens = params.train.micro_batch_size, result["tokens"]
    print(
        f"model {result['n_params']:,} params, micro-batch {micro} entries -> {2 * micro} sequences "
        f"(e.g. {result['shape']}), {tokens:.0f} real tokens/step, {result['threads']} threads, {args.clock} clock, median of {args.steps}"
    )
    print(f"{'variant':<8}{'s/step':>10}{'tokens/s':>12}{'vs cit':>9}")
    cit = statistics.median(result["cit"])
    for name in ("cit", "coin"):
        med = statistics.median(result[name])
        print(f"{name:<8}{med:>10.4f}{tokens / med:>12.0f}{med / cit:>8.3f}x")
    ratio = statistics.median(result["coin"]) / cit
    print(f"coin/cit = {ratio:.3f} (target <= 1.05): {'ok' if ratio <= 1.05 else 'over target'}")


if __name__ == "__main__":
    main()
