"""The GLUE evaluation rows: PromptBench's input strings, label words and the fixed sample per task.

Facts taken from PromptBench (microsoft/promptbench, config.py and dataload.py, as vendored by the
COIN code): each task's label words and label ids, and how an example is rendered into the content
string that follows the instruction. The label ids are those of the hub's GLUE validation splits, so
a row's label is the hub label unchanged (wnli: not_entailment 0, entailment 1; qqp: not_duplicate 0 is
PromptBench's not_equivalent).
"""

from __future__ import annotations

import random
from typing import Callable

import pandas as pd

from coin.data.registry import EVAL_TASKS, EvalTask
from coin.errors import DataError
from coin.prompts.format import PromptFormat

# label words by label id (PromptBench's ID_TO_LABEL), keyed by eval task and by instruction task
LABEL_WORDS: dict[str, tuple[str, ...]] = {
    "sst2": ("negative", "positive"),
    "cola": ("unacceptable", "acceptable"),
    "qqp": ("not_equivalent", "equivalent"),
    "mrpc": ("not_equivalent", "equivalent"),
    "mnli": ("entailment", "neutral", "contradiction"),
    "mnli_m": ("entailment", "neutral", "contradiction"),
    "mnli_mm": ("entailment", "neutral", "contradiction"),
    "qnli": ("entailment", "not_entailment"),
    "rte": ("entailment", "not_entailment"),
    "wnli": ("not_entailment", "entailment"),
}


def _single(row: dict) -> str:
    return row["sentence"]


def _pair(first_name: str, first: str, second_name: str, second: str) -> Callable[[dict], str]:
    def render(row: dict) -> str:
        return f"{first_name}: {row[first]} {second_name}: {row[second]}"

    return render


# PromptBench's content string per task: sst2 and cola pass the bare sentence, pairs are "A: .. B: .."
CONTENT: dict[str, Callable[[dict], str]] = {
    "sst2": _single,
    "cola": _single,
    "qqp": _pair("Question 1", "question1", "Question 2", "question2"),
    "mrpc": _pair("Sentence 1", "sentence1", "Sentence 2", "sentence2"),
    "mnli": _pair("Premise", "premise", "Hypothesis", "hypothesis"),
    "mnli_m": _pair("Premise", "premise", "Hypothesis", "hypothesis"),
    "mnli_mm": _pair("Premise", "premise", "Hypothesis", "hypothesis"),
    "qnli": _pair("Question", "question", "Context", "sentence"),
    "rte": _pair("Sentence 1", "sentence1", "Sentence 2", "sentence2"),
    "wnli": _pair("Sentence 1", "sentence1", "Sentence 2", "sentence2"),
}


def label_words(task: str) -> tuple[str, ...]:
    """The label words of an eval or instruction task, indexed by label id."""
    if task not in LABEL_WORDS:
        raise DataError(f"task {task!r} has no label words: use one of {', '.join(LABEL_WORDS)}")
    return LABEL_WORDS[task]


def render_content(task: str, row: dict) -> str:
    """PromptBench's content string of one example, e.g. "Premise: <p> Hypothesis: <h>" for mnli."""
    if task not in CONTENT:
        raise DataError(f"task {task!r} has no content format: use one of {', '.join(CONTENT)}")
    return CONTENT[task](row)


def sample_positions(n_rows: int, n_samples: int, seed: int, task: str) -> list[int]:
    """Positions drawn once for (seed, task), sorted; all positions when n_rows <= n_samples.

    The generator is seeded with the string "<seed>/<task>", so a task's sample depends on nothing but
    the seed, its name and its row count (not on which other tasks are evaluated).
    """
    if n_rows <= n_samples:
        return list(range(n_rows))
    return sorted(random.Random(f"{seed}/{task}").sample(range(n_rows), n_samples))


def eval_rows(task: EvalTask, frames: list[pd.DataFrame], n_samples: int, seed: int) -> pd.DataFrame:
    """The EVAL_SET rows of one task: its splits concatenated in registry order, then sampled.

    `frames` holds one frame per `task.splits` (mnli: validation_matched then validation_mismatched).
    `idx` is the row's position in the concatenation, so it is unique within the task and names the
    same hub row for every seed. Returns columns task, idx, content, label, label_word, sorted by idx.
    """
    if len(frames) != len(task.splits):
        raise DataError(f"task {task.name!r} got {len(frames)} frames: it needs {len(task.splits)}, one per split")
    words = label_words(task.name)
    for split, frame in zip(task.splits, frames):
        where = f"{split.hub_id}/{split.config}/{split.split}"
        missing = [c for c in split.columns if c not in frame.columns]
        if missing:
            raise DataError(f"{where}: missing column {missing[0]!r} (needs {', '.join(split.columns)})")
        bad = frame.loc[~frame[split.label_column].isin(range(len(words))), split.label_column]
        if len(bad):
            raise DataError(f"{where}: label {bad.tolist()[0]!r} is not allowed: use 0..{len(words) - 1} ({', '.join(words)})")
    rows = pd.concat([f.reset_index(drop=True) for f in frames], ignore_index=True)
    if rows.empty:
        raise DataError(f"task {task.name!r} has no validation rows: its splits are empty")
    positions = sample_positions(len(rows), n_samples, seed, task.name)
    records = rows.iloc[positions].to_dict("records")
    labels = [int(r["label"]) for r in records]
    return pd.DataFrame(
        {
            "task": [task.name] * len(records),
            "idx": pd.array(positions, dtype="int64"),
            "content": [render_content(task.name, r) for r in records],
            "label": pd.array(labels, dtype="int64"),
            "label_word": [words[label] for label in labels],
        }
    )


def eval_set(frames_by_task: dict[str, list[pd.DataFrame]], n_samples: int, seed: int) -> pd.DataFrame:
    """Rows of several tasks (EVAL_SET), in the order the dict gives them."""
    parts = [eval_rows(EVAL_TASKS[name], frames, n_samples, seed) for name, frames in frames_by_task.items()]
    return pd.concat(parts, ignore_index=True)


def prompt_grid(
    prompts: pd.DataFrame,
    rows: pd.DataFrame,
    tasks: list[str],
    prompt_format: PromptFormat,
    layout: str,
) -> pd.DataFrame:
    """Every (eval task, instruction, row) to score, with its prompt `prompt_format.render_eval(
    instruction, content, layout)` (layout = eval.prompt_format: trained | input).

    `prompts` is a PROMPTS frame (instructions keyed by instruction task), `rows` an EVAL_SET frame.
    Each eval task uses the instructions of its instruction task (mnli_m and mnli_mm use mnli's).
    Returns columns task, group, prompt_id, idx, label, prompt: tasks in the given order, then group,
    prompt_id and idx ascending.
    """
    if rows.empty:
        raise DataError("the eval rows are empty (no row for any task): rerun prepare-eval (dvc repro -f prepare-eval)")
    parts = []
    for name in tasks:
        if name not in EVAL_TASKS:
            raise DataError(f"eval task {name!r} is unknown: use one of {', '.join(EVAL_TASKS)}")
        source = EVAL_TASKS[name].instruction_task
        task_rows = rows[rows["task"] == name].sort_values("idx")
        if task_rows.empty:
            raise DataError(f"the eval rows have no task {name!r}: rerun prepare-eval with it in eval.tasks")
        instructions = prompts[prompts["task"] == source].sort_values(["group", "prompt_id"])
        if instructions.empty:
            raise DataError(f"the prompt set has no instructions for {source!r} (used by {name!r}): rerun perturb")
        for ins in instructions.itertuples(index=False):
            parts.append(
                pd.DataFrame(
                    {
                        "task": name,
                        "group": ins.group,
                        "prompt_id": int(ins.prompt_id),
                        "idx": task_rows["idx"].to_numpy(),
                        "label": task_rows["label"].to_numpy(),
                        "prompt": [
                            prompt_format.render_eval(ins.text, c, layout)
                            for c in task_rows["content"]
                        ],
                    }
                )
            )
    grid = pd.concat(parts, ignore_index=True)
    return grid.astype({"prompt_id": "int64", "idx": "int64", "label": "int64"})


__all__ = [
    "CONTENT",
    "LABEL_WORDS",
    "eval_rows",
    "eval_set",
    "label_words",
    "prompt_grid",
    "render_content",
    "sample_positions",
]
