"""The data contracts between stages: one `TableSchema` per Parquet file the pipeline writes.

A column type is an Arrow type name; `json` columns hold a JSON document as a string. Reads and writes
both check the schema, so a stage fails on the file it was given, not three stages later.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from coin.errors import DataError

_ARROW = {
    "string": pa.string(),
    "json": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "list<string>": pa.list_(pa.string()),
}


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (messages show 1, not np.int64(1))."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: dict[str, str]  # column -> type name in _ARROW, in file order
    key: tuple[str, ...] = ()  # columns that identify a row; duplicates are an error

    def arrow(self) -> pa.Schema:
        return pa.schema([pa.field(c, _ARROW[t], nullable=False) for c, t in self.columns.items()])

    def check(self, frame: pd.DataFrame, source: str) -> None:
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError(f"{source}: missing column {missing[0]!r} ({self.name} needs {', '.join(self.columns)})")
        nulls = [c for c in self.columns if frame[c].isna().any()]
        if nulls:
            raise DataError(f"{source}: column {nulls[0]!r} has missing values ({self.name} allows none)")
        if self.key and frame.duplicated(list(self.key)).any():
            row = frame[frame.duplicated(list(self.key))].iloc[0]
            key = ", ".join(f"{k}={_plain(row[k])!r}" for k in self.key)
            raise DataError(f"{source}: duplicate row for {key} ({self.name} rows are unique by {', '.join(self.key)})")

    def to_arrow(self, frame: pd.DataFrame, source: str) -> pa.Table:
        self.check(frame, source)
        try:
            return pa.Table.from_pandas(frame[list(self.columns)], schema=self.arrow(), preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(f"{source}: does not match {self.name}: {str(exc).splitlines()[0]}") from None


# data/flan/examples.parquet: every usable train row of every dataset, normalised for FLAN's templates
FLAN_EXAMPLES = TableSchema(
    "flan examples",
    {
        "dataset": "string",  # name in coin.data.registry.FLAN_DATASETS
        "example_id": "string",  # stable id within the dataset (hub idx / uid / row number)
        "fields": "json",  # the template fields, e.g. {"premise": ..., "hypothesis": ...}
        "options": "list<string>",  # answer options in FLAN's order
        "answer": "string",  # the correct option's text
        "label": "int64",  # index of `answer` in `options`
    },
    key=("dataset", "example_id"),
)

# data/flan/templates.parquet: every FLAN pattern of the chosen datasets, kept or dropped with a reason
FLAN_TEMPLATES = TableSchema(
    "flan templates",
    {
        "flan_key": "string",
        "template_id": "int64",  # position in FLAN's PATTERNS[flan_key]
        "input_template": "string",
        "target_template": "string",
        "kept": "bool",
        "drop_reason": "string",  # "" when kept; else e.g. "inverted", "duplicate", "needs field title"
    },
    key=("flan_key", "template_id"),
)

# data/sampled.parquet: the round-robin selection, one row per entry, rendered with one template
SAMPLED = TableSchema(
    "sampled entries",
    {
        "entry_id": "int64",
        "dataset": "string",
        "example_id": "string",
        "template_id": "int64",
        "prompt": "string",  # FLAN input template rendered (options included)
        "target": "string",
        "options": "list<string>",
        "label": "int64",
        "fields": "json",
    },
    key=("entry_id",),
)

# data/train.parquet: anchors and their hard negatives, each with its positive (another template)
TRAIN = TableSchema(
    "training entries",
    {
        "entry_id": "int64",
        "pair_id": "int64",
        "role": "string",  # anchor | negative
        "dataset": "string",
        "example_id": "string",
        "template_id": "int64",
        "positive_template_id": "int64",
        "prompt": "string",
        "positive_prompt": "string",
        "target": "string",
        "label": "int64",
    },
    key=("entry_id",),
)

# data/eval.parquet: the evaluation rows, drawn once per seed, shared by every instruction and model
EVAL_SET = TableSchema(
    "evaluation rows",
    {
        "task": "string",  # name in coin.data.registry.EVAL_TASKS
        "idx": "int64",  # row id within the task (unique per task)
        "content": "string",  # PromptBench's input string, e.g. "Premise: ... Hypothesis: ..."
        "label": "int64",
        "label_word": "string",
    },
    key=("task", "idx"),
)

# data/prompts.parquet: clean instructions and their perturbed versions
PROMPTS = TableSchema(
    "prompt set",
    {
        "task": "string",  # instruction task (coin.data.registry.INSTRUCTION_TASKS)
        "prompt_id": "int64",  # k-th clean instruction; its perturbed versions share k
        "group": "string",  # clean | deepwordbug | textbugger | textfooler | bertattack | checklist | stresstest | semantic
        "text": "string",
        "clean_text": "string",
        "origin": "string",  # where the text came from, e.g. embedded:task_oriented, semantic:french
        "details": "json",  # edits, queries used, accuracy before/after, harmful
    },
    key=("task", "group", "prompt_id"),
)

# data/predictions/<model>.parquet: one row per (task, group, prompt, example)
PREDICTIONS = TableSchema(
    "predictions",
    {
        "model": "string",
        "task": "string",
        "prompt_id": "int64",
        "group": "string",
        "idx": "int64",
        "output": "string",
        "pred": "int64",  # label index; -1 when the output matches no label word
        "label": "int64",
        "correct": "bool",
        "rank_pred": "int64",  # likeliest label word (eval.scoring rank or both); -1 when not ranked (generate)
        "rank_correct": "bool",
        "align_hit": "bool",  # coin.evaluation.alignment: nearest clean state (same instruction) is this row's
        "centered_cosine": "float64",  # cosine to this row's clean state after subtracting the task's mean state
        "cosine_margin": "float64",  # centered_cosine minus the mean centered cosine to other rows' clean states
        "group_hit": "bool",  # the 5 nearest states' majority group is this row's group
    },
    key=("task", "group", "prompt_id", "idx"),
)
