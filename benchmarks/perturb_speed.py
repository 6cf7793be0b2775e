"""Speed of the adversarial perturbation search: `python benchmarks/perturb_speed.py [--tasks sst2,mnli]`.

Attacks the clean instructions of a few tasks with the reference model and prints, per group, the
queries and seconds per attacked instruction, the scorer's cache hit rate, and the full stage time
projected for every instruction task. Baseline, measured in the same run: seconds per query when the
clean instructions are scored without the search (one batched call), so `search / baseline` is the
cost per query inside the search relative to plain batched scoring.

Uses models/cit and data/eval.parquet when they exist; otherwise a model of `model.tiny`'s size
(random weights, tokenizer trained on the instructions) and synthetic rows, so the timing reflects
the embedded profile's model size either way.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from coin.data.registry import INSTRUCTION_TASKS  # noqa: E402
from coin.evaluation.glue import label_words  # noqa: E402
from coin.params import load_params  # noqa: E402

BUDGET_SECONDS = 180.0  # the embedded profile's target for the whole stage


def synthetic_rows(tasks: list[str], n: int) -> pd.DataFrame:
    """`n` made-up evaluation rows per task (our own sentences), labels cycling over the label words."""
    rows = []
    for task in tasks:
        words = label_words(task)
        for idx in range(n):
            content = f"Sentence 1: The {idx} red boxes stood near the old mill. Sentence 2: Some boxes were red."
            rows.append({"task": task, "idx": idx, "content": content, "label": idx % len(words), "label_word": words[idx % len(words)]})
    return pd.DataFrame(rows)


def load_reference(params, model_path: Path, sets: dict):
    """(model, tokenizer, source): the trained reference model, or a random one of model.tiny's size."""
    from coin.hardware import choose_dtype, device_type
    from coin.training.model import build_tiny_model, load_model
    from coin.training.tokenizer import train_tokenizer

    if model_path.is_dir():
        dtype, said = choose_dtype(params.model.dtype, device_type())  # the stages' choice, said the same way
        if said:
            print(said)
        model, tokenizer = load_model(model_path, dtype=dtype)
        return model, tokenizer, str(model_path)
    texts = [t for task in sets.values() for kind in task.values() for t in kind] * 4
    tokenizer = train_tokenizer(texts, params.model.tiny.vocab_size)
    return build_tiny_model(params.model.tiny, tokenizer, params.seed), tokenizer, "random model.tiny"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default=str(ROOT / "params.yaml"))
    parser.add_argument("--tasks", default="sst2,mnli", help="instruction tasks to attack (comma separated)")
    parser.add_argument("--groups", default="deepwordbug,textbugger,textfooler,bertattack,checklist,stresstest")
    parser.add_argument("--masked-lm", default=None, help="bertattack's masked LM (default: perturb.masked_lm, else embedded)")
    parser.add_argument("--model", default=str(ROOT / "models" / "cit"))
    parser.add_argument("--eval", default=str(ROOT / "data" / "eval.parquet"))
    parser.add_argument("--instructions", type=int, default=2, help="attacked instructions per task (projection uses all)")
    parser.add_argument("--samples", type=int, default=None, help="override perturb.n_attack_samples")
    parser.add_argument("--budget", type=int, default=None, help="override perturb.query_budget")
    args = parser.parse_args()

    from coin.io import read_parquet
    from coin.prompts.attack import CachedScorer, perturb_task
    from coin.prompts.instructions import load_instruction_sets, select_instructions, source_label
    from coin.schemas import EVAL_SET
    from pipeline.perturb import accuracy_scorers, attack_rows, make_tools

    params = load_params(args.params)
    p = dataclasses.replace(
        params.perturb,
        n_attack_samples=args.samples or params.perturb.n_attack_samples,
        query_budget=args.budget or params.perturb.query_budget,
        masked_lm=args.masked_lm or params.perturb.masked_lm or "embedded",
    )
    tasks = [t for t in args.tasks.split(",") if t]
    groups = [g for g in args.groups.split(",") if g]
    for task in tasks:
        if task not in INSTRUCTION_TASKS:
            sys.exit(f"error: --tasks has {task!r}: use any of {', '.join(INSTRUCTION_TASKS)}")
    cache_dir = ROOT / params.data.cache_dir
    sets = load_instruction_sets(p.instructions, cache_dir)
    model, tokenizer, model_source = load_reference(params, Path(args.model), sets)
    eval_path = Path(args.eval)
    eval_rows = read_parquet(eval_path, EVAL_SET) if eval_path.is_file() else synthetic_rows(tasks, p.n_attack_samples)
    rows = {t: r for t, r in attack_rows(eval_rows, p.n_attack_samples).items() if t in tasks}
    run = dataclasses.replace(p, groups=groups, mode="adversarial", n_instructions=min(args.instructions, p.n_instructions))
    tools = make_tools(run, cache_dir)

    def scorer_for(task: str) -> CachedScorer:
        """A fresh (empty-cache) scorer of `task`, as the perturb stage builds it."""
        return accuracy_scorers(params, model, tokenizer, {task: rows[task]})[task]

    # baseline: the clean instructions of each task scored in one batched call
    base_seconds, base_queries = 0.0, 0
    for task in rows:
        clean = [i.text for i in select_instructions(task, sets[task], p.n_instructions, "first", params.seed)]
        scorer = scorer_for(task)
        scorer(clean[:1])  # warm-up, not timed
        clean = clean[1:]
        start = time.perf_counter()
        scorer(clean)
        base_seconds += time.perf_counter() - start
        base_queries += len(clean)
    per_query = base_seconds / base_queries

    log: list[dict] = []
    hits = requests = 0
    start = time.perf_counter()
    for task in rows:
        scorer = scorer_for(task)
        perturb_task(task, sets[task], run, params.seed, source_label(p.instructions), tools, scorer, log.append)
        hits, requests = hits + scorer.hits, requests + scorer.requests
    total = time.perf_counter() - start

    print(f"model: {model_source}; rows per query: {p.n_attack_samples}; query budget: {p.query_budget}; tasks: {', '.join(rows)}")
    if "bertattack" in groups:
        print(f"bertattack's masked LM: {tools.lm_name}")
    print(f"baseline: {per_query:.3f} s per query (clean instructions, one batched call per task)\n")
    print("| group | instructions | queries / instr | s / instr | s / query | vs baseline |")
    print("|---|---:|---:|---:|---:|---:|")
    projected = 0.0
    for group in groups:
        steps = [s for s in log if s["group"] == group]
        if not steps:
            continue
        queries = statistics.mean(s["queries"] for s in steps)
        seconds = statistics.mean(s["seconds"] for s in steps)
        per = sum(s["seconds"] for s in steps) / max(1, sum(s["queries"] for s in steps))
        print(f"| {group} | {len(steps)} | {queries:.1f} | {seconds:.2f} | {per:.3f} | {per / per_query:.2f}x |")
        projected += seconds * len(INSTRUCTION_TASKS) * p.n_instructions
    rate = hits / requests if requests else 0.0
    print(f"\ncache hit rate: {hits}/{requests} = {rate:.1%}; measured {total:.1f} s for {len(log)} attacked instructions")
    print(f"projected stage ({len(INSTRUCTION_TASKS)} tasks x {p.n_instructions} instructions): {projected:.0f} s "
          f"({projected / BUDGET_SECONDS:.1f}x the {BUDGET_SECONDS:.0f} s budget)")


if __name__ == "__main__":
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
