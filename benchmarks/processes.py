"""Wall time of the train and evaluate stage commands on 1 vs N processes (train.processes, eval.processes).

Runs `python -m pipeline train --variant coin` and `python -m pipeline evaluate` as the dvc.yaml stages
do, once per process count, on the embedded tiny LLaMA (params.yaml's model.tiny) with synthetic
training entries and evaluation rows written here, and prints seconds and the ratio t(1) / t(N)
(> 1: N processes are faster), the median of --repeats runs (the process counts alternate). Each process count starts its processes afresh, so the launch cost
(N interpreters importing torch and transformers) is inside the figure. On a 2-core CPU expect little
gain; on a machine with N GPUs the same command runs one process per GPU (NCCL).

    PYTHONPATH=. .venv/bin/python benchmarks/processes.py [--processes 2] [--pairs 256] [--rows 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from train_step import synthetic_entries  # noqa: E402  (benchmarks/train_step.py)

TASKS = ["sst2", "rte"]
GROUPS = ["clean", "deepwordbug"]


def build_inputs(folder: Path, pairs: int, rows: int, seed: int) -> dict[str, Path]:
    """Base model, training entries, prompt set and evaluation rows under `folder`."""
    import pandas as pd

    from coin.evaluation import glue
    from coin.io import write_parquet
    from coin.params import load_params
    from coin.schemas import EVAL_SET, PROMPTS, TRAIN
    from coin.training.model import build_tiny_model, save_model_folder
    from coin.training.tokenizer import train_tokenizer

    params = load_params(ROOT / "params.yaml")
    entries = synthetic_entries(pairs, seed)
    entries = entries.assign(dataset="rte", example_id=entries["entry_id"].astype(str), template_id=0,
                             positive_template_id=1, label=(entries["target"] == "yes").astype("int64"))
    texts = list(entries["prompt"]) + list(entries["positive_prompt"]) + ["yes no positive negative"] * 10
    tokenizer = train_tokenizer(texts, params.model.tiny.vocab_size, params.model.tiny.max_position)
    base = folder / "base"
    save_model_folder(build_tiny_model(params.model.tiny, tokenizer, seed), tokenizer, base, {"base": "embedded-tiny", "weights": "full"})
    write_parquet(entries, folder / "train.parquet", TRAIN)
    eval_rows = pd.DataFrame(
        [{"task": t, "idx": i, "content": " ".join(entries["prompt"][(i * 7) % len(entries)].split()[:20]), "label": i % 2}
         for t in TASKS for i in range(rows)]
    )
    eval_rows["label_word"] = [glue.label_words(t)[label] for t, label in zip(eval_rows["task"], eval_rows["label"])]
    write_parquet(eval_rows, folder / "eval.parquet", EVAL_SET)
    prompts = pd.DataFrame(
        [{"task": t, "prompt_id": k, "group": g, "text": f"Decide the label of this text, way {k}." if g == "clean" else f"Decdie the label of tihs text, way {k}.",
          "clean_text": f"Decide the label of this text, way {k}.", "origin": "benchmark", "details": "{}"}
         for t in TASKS for g in GROUPS for k in range(3)]
    )
    write_parquet(prompts, folder / "prompts.parquet", PROMPTS)
    return {"base": base, "train": folder / "train.parquet", "eval": folder / "eval.parquet", "prompts": folder / "prompts.parquet"}


def params_file(folder: Path, processes: int) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["train"].update({"processes": processes, "batch_size": 16, "micro_batch_size": 4, "epochs": 1, "save_steps": 1000})
    raw["eval"].update({"processes": processes, "tasks": TASKS, "states_task": "sst2", "batch_size": 16})
    path = folder / f"params{processes}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def timed(command: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=256, help="training pairs (2 entries each)")
    parser.add_argument("--rows", type=int, default=100, help="evaluation rows per task")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = build_inputs(folder, args.pairs, args.rows, args.seed)
        seconds: dict[str, dict[int, list[float]]] = {"train": {}, "evaluate": {}}
        for repeat in range(args.repeats):
            order = (1, args.processes) if repeat % 2 == 0 else (args.processes, 1)
            for n in order:
                run = folder / f"run{n}-{repeat}"
                params = params_file(folder, n)
                seconds["train"].setdefault(n, []).append(timed([
                    sys.executable, "-m", "pipeline", "train", "--variant", "coin", "--base", str(inputs["base"]),
                    "--train", str(inputs["train"]), "--out", str(run / "model"), "--checkpoints", str(run / "ck"),
                    "--live", str(run / "live"), "--params", str(params)]))
                seconds["evaluate"].setdefault(n, []).append(timed([
                    sys.executable, "-m", "pipeline", "evaluate", "--name", "coin", "--model", str(run / "model"),
                    "--prompts", str(inputs["prompts"]), "--eval", str(inputs["eval"]),
                    "--predictions", str(run / "pred.parquet"), "--states", str(run / "states.npz"),
                    "--metrics", str(run / "metrics.json"), "--summary", str(run / "summary.json"),
                    "--params", str(params)]))
    grid = len(TASKS) * len(GROUPS) * 3 * args.rows
    print(f"cores {os.cpu_count()}, {args.pairs * 2} training entries (1 epoch, batch 16), {grid} evaluation prompts, "
          f"median of {args.repeats}")
    for stage, times in seconds.items():
        one, many = statistics.median(times[1]), statistics.median(times[args.processes])
        print(f"{stage:9s} 1 process {one:6.1f} s | {args.processes} processes {many:6.1f} s | ratio t(1)/t({args.processes}) {one / many:.2f}")


if __name__ == "__main__":
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
