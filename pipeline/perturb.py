"""Stage perturb: clean PromptBench instructions and their perturbed versions -> data/prompts.parquet.

mode adversarial: the reference model (models/cit) scores candidates on the first
perturb.n_attack_samples evaluation rows of each task (by idx); mode random: the same
transformations at perturb.edit_rate, no model; mode file: a user prompt set, checked and copied; mode
published: PromptBench's published adversarial prompts (perturb.published), the same for every model.
eval.processes = N > 1 reruns the command under `accelerate launch` (pipeline.launch): rank r searches
the instruction tasks r, r + N, ... (each row depends on the seed and its own identity only), rank 0
gathers them in task order and writes.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

import pandas as pd
import pyarrow as pa
import typer

from coin.data.registry import EVAL_TASKS, INSTRUCTION_TASKS
from coin.errors import CoinError, DataError
from coin.io import head_problem, read_parquet, write_parquet
from coin.params import load_params
from coin.schemas import EVAL_SET, PROMPTS
from pipeline.app import app, stage


def attack_rows(eval_rows: pd.DataFrame, n_samples: int) -> dict[str, tuple[str, pd.DataFrame]]:
    """For each instruction task with evaluation rows: (eval task used, its first `n_samples` rows by idx).

    An instruction task is served by the first of its eval tasks (registry order) present in the file,
    e.g. mnli by mnli, else mnli_m, else mnli_mm.
    """
    out: dict[str, tuple[str, pd.DataFrame]] = {}
    present = set(eval_rows["task"])
    for task in INSTRUCTION_TASKS:
        for name, spec in EVAL_TASKS.items():
            if spec.instruction_task == task and name in present:
                rows = eval_rows[eval_rows["task"] == name].sort_values("idx", kind="stable").head(n_samples)
                out[task] = (name, rows.reset_index(drop=True))
                break
    if not out:
        raise DataError(f"the evaluation rows name no known task: expected any of {', '.join(EVAL_TASKS)}")
    return out


def read_prompt_file(path: str) -> pd.DataFrame:
    """A user prompt set: Parquet, or JSON (a list of records), in the PROMPTS schema."""
    file = Path(path)
    if not file.is_file():
        raise CoinError(f"perturb.file = {path!r} does not exist: give a JSON or Parquet prompt set")
    problem = head_problem(file)
    if problem:
        raise DataError(f"perturb.file = {path!r} {problem}: give a JSON or Parquet prompt set")
    if file.suffix == ".parquet":
        try:
            frame = pd.read_parquet(file)
        except (pa.ArrowException, OSError) as exc:  # a damaged file whose ends look right
            raise DataError(f"perturb.file = {path!r} is not a readable Parquet file ({str(exc).strip().splitlines()[0]}): give a JSON or Parquet prompt set") from None
    elif file.suffix == ".json":
        try:
            records = json.loads(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise DataError(f"perturb.file = {path!r} is not JSON text (byte {exc.start} is not UTF-8): give a JSON or Parquet prompt set") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON (line {exc.lineno}): expected a list of prompt records") from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise DataError(f"{path}: expected a JSON list of records with {', '.join(PROMPTS.columns)}")
        frame = pd.DataFrame.from_records(records)
        if "details" in frame.columns:
            frame["details"] = [d if isinstance(d, str) else json.dumps(d, sort_keys=True, ensure_ascii=False) for d in frame["details"]]
    else:
        raise CoinError(f"perturb.file = {path!r} is not allowed: use a .json or .parquet file")
    return frame


@app.command("perturb")
@stage
def perturb(
    model: str = typer.Option(..., "--model", help="reference model folder (models/cit)"),
    eval_path: str = typer.Option(..., "--eval", help="evaluation rows (data/eval.parquet)"),
    out: str = typer.Option(..., "--out", help="prompt set to write (data/prompts.parquet)"),
    params_path: str = typer.Option("params.yaml", "--params", help="params file"),
) -> None:
    """Write the clean and perturbed instructions (PromptBench groups) as a Parquet prompt set."""
    from coin.prompts.instructions import check_prompt_set

    from pipeline.cores import fair_share
    from pipeline.launch import join_process_group, relaunch

    params = load_params(params_path)
    p = params.perturb
    stage_args = ["perturb", "--model", model, "--eval", eval_path, "--out", out, "--params", params_path]
    if p.mode in ("adversarial", "random") and relaunch(params.eval.processes, stage_args, "eval.processes"):
        return
    if p.mode in ("file", "published"):
        frame, said = fixed_prompt_set(params)
        write_parquet(frame, out, PROMPTS)
        typer.echo(f"perturb: {len(frame)} prompts from {said} -> {out}", err=True)
        return
    join_process_group()
    with fair_share():  # this process's share of the cores, kept fair while other stages come and go
        frame = build_prompt_set(params, model, read_parquet(eval_path, EVAL_SET))
    if frame is not None:  # rank 0 (the other ranks' rows were gathered there)
        write_parquet(check_prompt_set(frame, out), out, PROMPTS)


def fixed_prompt_set(params: Any) -> tuple[pd.DataFrame, str]:
    """The prompt set of modes file and published, checked against the PROMPTS contract, and where it came
    from. check-params builds it too, so a bad file stops the run before DVC deletes any output."""
    from coin.prompts.instructions import check_prompt_set
    from coin.prompts.published import published_rows, read_published
    from coin.report.tables import left_out_counts

    p = params.perturb
    if p.mode == "file":
        return check_prompt_set(read_prompt_file(p.file), p.file), p.file
    published = read_published(p.published, params.data.cache_dir)
    rows = published_rows(published, p.n_instructions, list(p.groups), list(p.languages))
    frame = pd.DataFrame(rows, columns=list(PROMPTS.columns))
    left_out = int(left_out_counts(frame, list(p.groups), len(p.languages))["n_left_out"].sum())  # as the report counts
    said = f"{published.name}.md (sha256 {published.sha256[:12]}; {left_out} perturbed prompts without a version in the file left out)"
    return check_prompt_set(frame, p.published), said


def build_prompt_set(params: Any, model_path: Optional[str], eval_rows: pd.DataFrame, log: Optional[list] = None) -> pd.DataFrame | None:
    """The prompt set of every instruction task with evaluation rows (modes adversarial and random).

    In a launched run each rank searches its tasks (every N-th); rank 0 returns the whole set, the
    other ranks None."""
    from tqdm import tqdm

    from coin.evaluation.precision import inference_precision
    from coin.prompts.attack import WORD_GROUPS, perturb_task
    from coin.prompts.instructions import SourceNotes, load_instruction_sets, source_label
    from coin.training.model import inference_device
    from pipeline.cores import rebalancing
    from pipeline.launch import gather_to_main, rank, world_size

    p = params.perturb
    cache_dir = Path(params.data.cache_dir)
    started = time.perf_counter()
    every = attack_rows(eval_rows, p.n_attack_samples)
    tasks = {task: v for i, (task, v) in enumerate(every.items()) if i % world_size() == rank()}  # this rank's share
    notes = SourceNotes()
    sets = load_instruction_sets(p.instructions, cache_dir, notes=notes)
    tools = make_tools(p, cache_dir) if set(WORD_GROUPS) & set(p.groups) else None
    scorers = make_scorers(params, model_path, tasks) if p.mode == "adversarial" or p.selection == "top" else {}

    steps = len(tasks) * p.n_instructions * len([g for g in p.groups if g != "semantic"])
    precision, _ = inference_precision(params.eval.precision, inference_device().type)
    with precision, tqdm(total=steps, desc="perturb", unit="instr", file=sys.stderr) as bar:

        advance = rebalancing(bar.update)

        def on_step(step: dict) -> None:
            advance(1)
            if log is not None:
                log.append(step)

        found = {
            task: perturb_task(task, sets[task], p, params.seed, source_label(p.instructions), tools, scorers.get(task), on_step)
            for task in tasks
        }
    counts = [sum(getattr(s, k) for s in scorers.values()) for k in ("hits", "requests", "evaluated")]
    parts = gather_to_main((found, counts))
    if parts is None:
        return None
    found = {task: task_rows for part, _ in parts for task, task_rows in part.items()}
    rows = [row for task in every for row in found[task]]  # attack_rows' task order, as in one process
    hits, requests, evaluated = (sum(c[i] for _, c in parts) for i in range(3))
    for row in rows:  # the source's input slot, repairs and skipped entries, on each clean row
        if row["group"] == "clean":
            details = json.loads(row["details"])
            note = notes.entries.get((row["task"], details["kind"], details["position"]))
            extra = {"source": note} if note else {}
            if notes.skipped.get(row["task"]):
                extra["source_skipped"] = notes.skipped[row["task"]]
            if extra:
                row["details"] = json.dumps({**details, **extra}, sort_keys=True, ensure_ascii=False)
    if p.mode == "adversarial" or p.selection == "top":
        typer.echo(
            f"perturb: {len(rows)} prompts, {evaluated} texts scored, cache hits {hits}/{requests}, "
            f"{time.perf_counter() - started:.1f}s",
            err=True,
        )
    return pd.DataFrame(rows, columns=list(PROMPTS.columns))


def make_tools(p: Any, cache_dir: Path) -> Any:
    """TextAttack (imported offline); for textfooler and textbugger the word embedding; for those and
    bertattack the sentence encoder; for bertattack the masked language model."""
    from coin.prompts.attack import AttackTools
    from coin.prompts.embeddings import resolve_embedding, resolve_sentence_encoder
    from coin.prompts.textattack_env import import_textattack

    ta = import_textattack(cache_dir / "textattack")
    tools = AttackTools(ta)
    if {"textfooler", "textbugger"} & set(p.groups):
        tools.embedding, tools.embedding_name = resolve_embedding(p.embedding, ta)
    if {"textfooler", "textbugger", "bertattack"} & set(p.groups):
        tools.encoder, tools.encoder_name = resolve_sentence_encoder(p.sentence_encoder, ta)
    if "bertattack" in p.groups:
        from coin.prompts.masked_lm import resolve_masked_lm

        tools.masked_lm, tools.lm_tokenizer, tools.lm_name = resolve_masked_lm(p.masked_lm)
    return tools


def make_scorers(params: Any, model_path: Optional[str], tasks: dict[str, tuple[str, pd.DataFrame]]) -> dict[str, Any]:
    """A cached accuracy scorer per instruction task, from the reference model at `model_path`."""
    from coin.hardware import choose_dtype, device_type
    from coin.training.model import load_model

    if not model_path or not Path(model_path).is_dir():
        raise CoinError(f"--model {model_path!r} is not a model folder: run the train-cit stage first (dvc repro)")
    dtype, said = choose_dtype(params.model.dtype, device_type())  # auto: bfloat16 only with bfloat16 units
    if said:
        typer.echo(said, err=True)
    model, tokenizer = load_model(model_path, dtype=dtype)
    return accuracy_scorers(params, model, tokenizer, tasks)


def accuracy_scorers(params: Any, model: Any, tokenizer: Any, tasks: dict[str, tuple[str, pd.DataFrame]]) -> dict[str, Any]:
    """A cached accuracy scorer per instruction task (`attack_rows` output), in the evaluation prompt format."""
    from coin.evaluation.scoring import make_accuracy_fn
    from coin.prompts.attack import CachedScorer
    from coin.prompts.format import prompt_format
    from pipeline.cores import rebalancing  # a search scores many candidate sets per attacked instruction

    render = prompt_format(params.model, tokenizer)
    return {
        task: CachedScorer(
            rebalancing(make_accuracy_fn(model, tokenizer, rows, eval_task, render, params.eval.prompt_format, params.eval.batch_size))
        )
        for task, (eval_task, rows) in tasks.items()
    }


__all__ = ["accuracy_scorers", "attack_rows", "build_prompt_set", "fixed_prompt_set", "make_scorers", "make_tools", "perturb", "read_prompt_file"]
