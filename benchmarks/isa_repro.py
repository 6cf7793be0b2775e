"""Which CPU settings change the trained bytes: the same CIT training run under different instruction-set
dispatch (ATen, MKL, oneDNN) and thread counts on this one machine, as a stand-in for two machines.

    flock /tmp/coin-heavy.lock .venv/bin/python benchmarks/isa_repro.py [--steps 4] [--size miniature]

Each setting runs in a fresh process (the variables are read when torch loads): pipeline.train.run_training
on data/train.parquet from models/base (after `make run`), `--steps` optimizer steps, the embedded
model (the default) or (--size miniature) one of hidden 32 and 1 layer with the same tokenizer. The last
setting is the only pin MKL documents for non-Intel CPUs too (MKL_CBWR=AVX2 is honoured on Intel CPUs
only) together with ATen's plain C++ kernels: what byte-identical runs across x86 vendors would cost. Prints
per setting: the sha256 of model.safetensors, whether it equals the first run's, the largest absolute
weight difference from it, and the wall time (seconds, and as a ratio to the first run; one run each,
so read the ratios loosely on a shared machine). The output goes to reports/benchmarks/isa_repro.txt under
benchmarks/record.py's header (the committed file predates that and carries its own first line).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SETTINGS = [  # (label, environment)
    ("this CPU's own dispatch", {}),
    ("the same, a second run", {}),
    ("ATen without vector kernels", {"ATEN_CPU_CAPABILITY": "default"}),
    ("MKL compatible (SSE2) path", {"MKL_CBWR": "COMPATIBLE"}),
    ("MKL pinned to its AVX2 path", {"MKL_CBWR": "AVX2"}),
    ("oneDNN capped at SSE4.1", {"ONEDNN_MAX_CPU_ISA": "SSE41"}),
    ("1 thread instead of 2", {"OMP_NUM_THREADS": "1"}),
    ("ATen AVX2 + MKL AVX2 pinned", {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}),
    ("ATen default + MKL compatible", {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}),
]


def child(args: argparse.Namespace) -> None:
    """One training run in this process; prints a JSON line (sha256, seconds, capability, threads)."""
    import dataclasses

    import torch

    from coin.params import load_params
    from coin.training.model import build_tiny_model, load_tokenizer, save_model_folder
    from pipeline.train import run_training

    params = load_params(ROOT / "params.yaml")
    base = Path(args.base)
    out = Path(args.out)
    if args.size == "miniature":
        tiny = dataclasses.replace(params.model.tiny, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
        tokenizer = load_tokenizer(base)
        base = out / "base"
        save_model_folder(build_tiny_model(tiny, tokenizer, params.seed), tokenizer, base, {"base": "embedded-tiny", "weights": "full"})
    start = time.perf_counter()
    run_training(params, "cit", base, Path(args.train), out / "cit", out / "ck", out / "live",
                 max_steps=args.steps, save_strategy="no", disable_tqdm=True)
    seconds = time.perf_counter() - start
    digest = hashlib.sha256((out / "cit" / "model.safetensors").read_bytes()).hexdigest()
    print(json.dumps({"sha256": digest, "seconds": seconds, "capability": torch.backends.cpu.get_cpu_capability(),
                      "threads": torch.get_num_threads()}))


def main() -> None:
    from record import machine_line

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=str(ROOT / "models" / "base"))
    parser.add_argument("--train", default=str(ROOT / "data" / "train.parquet"))
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per run")
    parser.add_argument("--size", choices=("miniature", "embedded"), default="embedded")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    import torch  # noqa: F401 (machine_line reports its thread count)
    from safetensors.torch import load_file

    print(machine_line())
    print(f"CIT training, {args.steps} optimizer steps, {args.size} model, data {Path(args.train).name}, base {Path(args.base).name}")
    print(f"{'setting':<30}{'environment':<44}{'ATen':>8}{'thr':>4}  {'sha256':<12}{'same':>6}{'max |dw|':>11}{'s':>7}{'ratio':>7}")
    first = None
    with tempfile.TemporaryDirectory() as tmp:
        for index, (label, env) in enumerate(SETTINGS):
            out = Path(tmp) / str(index)
            command = [sys.executable, __file__, "--child", "1", "--out", str(out), "--base", args.base,
                       "--train", args.train, "--steps", str(args.steps), "--size", args.size]
            done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, check=True)
            run = json.loads(done.stdout.strip().splitlines()[-1])
            weights = load_file(out / "cit" / "model.safetensors")
            if first is None:
                first = (run, weights)
            diff = max(float((weights[k].float() - first[1][k].float()).abs().max()) for k in weights)
            shown = " ".join(f"{k}={v}" for k, v in env.items()) or "(none)"
            print(f"{label:<30}{shown:<44}{run['capability']:>8}{run['threads']:>4}  {run['sha256'][:10]:<12}"
                  f"{'yes' if run['sha256'] == first[0]['sha256'] else 'no':>6}{diff:>11.2e}{run['seconds']:>7.1f}"
                  f"{run['seconds'] / first[0]['seconds']:>7.2f}", flush=True)


if __name__ == "__main__":
    if "--child" in sys.argv:  # one setting's run: its JSON line goes to the parent, not to a file
        main()
    else:
        from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

        with recorded(__file__):
            main()
