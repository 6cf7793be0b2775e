"""Hub rows -> FLAN examples: the template fields, options and answer FLAN's preprocessors produce.

One `FlanFormat` per dataset states, as facts read from FLAN's flan/tasks.py at the pinned commit: which
hub column fills each template field, the options in FLAN's order, the option of each hub label (by
label *name*, so a hub that orders its classes differently still maps right), FLAN's text clean-ups,
rows FLAN filters out, and how many trailing train rows FLAN held out as its own validation split.

Row selection (documented choice): like FLAN's `train[:30000]`, the cap `data.max_train_examples`
keeps the FIRST rows in hub order, not a random sample; the FLAN hold-out (when asked for) removes the
last rows first, as FLAN's `train[:-200]`; filters (SNLI's -1, Sentiment140's neutral) apply after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from coin.data.registry import FlanDataset
from coin.errors import DataError
from coin.schemas import FLAN_EXAMPLES

_NLI_YES_MAYBE_NO = ("yes", "it is not possible to tell", "no")  # FLAN's MNLI and SNLI options
_YES_NO = ("yes", "no")
_NO_YES = ("no", "yes")
_SENTIMENT = ("negative", "positive")
_BOOL = {"False": "no", "True": "yes"}


def _unescape_yelp(text: pd.Series) -> pd.Series:
    # FLAN: regex \\"" -> " and \\n -> space; the hub's CSV parse leaves \" for a quote, so both forms
    return (
        text.str.replace('\\""', '"', regex=False)
        .str.replace('\\"', '"', regex=False)
        .str.replace("\\n", " ", regex=False)
    )


@dataclass(frozen=True)
class FlanFormat:
    """How FLAN turns one row of a dataset into template fields, options and an answer."""

    fields: Mapping[str, str]  # template field -> hub column
    options: tuple[str, ...]  # FLAN's options, in FLAN's order
    answers: Mapping[object, str]  # hub label name (or raw value when the hub has no names) -> option
    id_column: str | None = None  # hub id column; None: the row number in the hub split
    clean: Mapping[str, Callable[[pd.Series], pd.Series]] = field(default_factory=dict)  # per template field
    drop: Mapping[object, str] = field(default_factory=dict)  # raw label value -> why FLAN drops the row
    flan_holdout: int = 0  # trailing train rows FLAN kept for validation (train[:-k])
    score_options: bool = False  # STS-B: the answer is the score rounded to an integer, as text


FORMATS: dict[str, FlanFormat] = {
    **{
        name: FlanFormat(
            {"context": "premise", "hypothesis": "hypothesis"},
            ("Yes", "It's impossible to say", "No"),
            {"entailment": "Yes", "neutral": "It's impossible to say", "contradiction": "No"},
            id_column="uid",
        )
        for name in ("anli_r1", "anli_r2", "anli_r3")
    },
    "cb": FlanFormat(
        {"premise": "premise", "hypothesis": "hypothesis"},
        ("Yes", "No", "It's impossible to say"),
        {"entailment": "Yes", "contradiction": "No", "neutral": "It's impossible to say"},
        id_column="idx",
        flan_holdout=50,
    ),
    "rte": FlanFormat(
        {"premise": "premise", "hypothesis": "hypothesis"}, _YES_NO, {"entailment": "yes", "not_entailment": "no"},
        id_column="idx", flan_holdout=200,
    ),
    "boolq": FlanFormat({"text": "passage", "question": "question"}, _NO_YES, _BOOL, id_column="idx", flan_holdout=200),
    "multirc": FlanFormat(
        {"paragraph": "paragraph", "question": "question", "response": "answer"}, _NO_YES, _BOOL,
        id_column="idx", flan_holdout=200,
    ),
    "wic": FlanFormat(
        {"sentence1": "sentence1", "sentence2": "sentence2", "word": "word"},
        ("different meanings", "the same meaning"),
        {"False": "different meanings", "True": "the same meaning"},
        id_column="idx",
        flan_holdout=200,
    ),
    "wsc": FlanFormat(
        {"context": "text", "text1": "span1_text", "text2": "span2_text"}, _NO_YES, _BOOL, id_column="idx", flan_holdout=50
    ),
    **{
        name: FlanFormat(
            {"premise": "premise", "hypothesis": "hypothesis"},
            _NLI_YES_MAYBE_NO,
            {"entailment": "yes", "neutral": "it is not possible to tell", "contradiction": "no"},
            id_column="idx",
        )
        for name in ("mnli_matched", "mnli_mismatched")
    },
    "qnli": FlanFormat(
        {"sentence": "sentence", "question": "question"}, _YES_NO, {"entailment": "yes", "not_entailment": "no"}, id_column="idx"
    ),
    "wnli": FlanFormat(
        {"sentence1": "sentence1", "sentence2": "sentence2"}, _NO_YES, {"not_entailment": "no", "entailment": "yes"},
        id_column="idx", flan_holdout=30,
    ),
    "sst2": FlanFormat({"sentence": "sentence"}, _SENTIMENT, {"negative": "negative", "positive": "positive"}, id_column="idx"),
    "mrpc": FlanFormat(
        {"sentence1": "sentence1", "sentence2": "sentence2"}, _NO_YES, {"not_equivalent": "no", "equivalent": "yes"},
        id_column="idx", flan_holdout=200,
    ),
    "qqp": FlanFormat(
        {"question1": "question1", "question2": "question2"}, _NO_YES, {"not_duplicate": "no", "duplicate": "yes"},
        id_column="idx",
        clean={  # FLAN: a doubled quote "" becomes '
            "question1": lambda s: s.str.replace('""', "'", regex=False),
            "question2": lambda s: s.str.replace('""', "'", regex=False),
        },
    ),
    "stsb": FlanFormat(
        {"sentence1": "sentence1", "sentence2": "sentence2"}, ("0", "1", "2", "3", "4", "5"), {},
        id_column="idx", flan_holdout=100, score_options=True,
    ),
    "cola": FlanFormat(
        {"sentence": "sentence"}, ("unacceptable", "acceptable"),
        {"unacceptable": "unacceptable", "acceptable": "acceptable"}, id_column="idx", flan_holdout=200,
    ),
    "snli": FlanFormat(
        {"premise": "premise", "hypothesis": "hypothesis"},
        _NLI_YES_MAYBE_NO,
        {"entailment": "yes", "neutral": "it is not possible to tell", "contradiction": "no"},
        drop={-1: "label -1 (no gold label)"},
    ),
    "imdb": FlanFormat(
        {"text": "text"}, _SENTIMENT, {"neg": "negative", "pos": "positive"},
        clean={"text": lambda s: s.str.replace("<br />", "\n", regex=False)}, flan_holdout=200,
    ),
    "sentiment140": FlanFormat(  # FLAN: polarity 0, 1 negative; 3, 4 positive; train has 0 and 4 only
        {"text": "text"}, _SENTIMENT, {0: "negative", 1: "negative", 3: "positive", 4: "positive"},
        drop={2: "polarity 2 (neutral)"},
    ),
    "yelp": FlanFormat(
        {"text": "text"}, _SENTIMENT, {"1": "negative", "2": "positive"}, clean={"text": _unescape_yelp}
    ),
    "paws": FlanFormat({"sentence1": "sentence1", "sentence2": "sentence2"}, _NO_YES, {"0": "no", "1": "yes"}, id_column="id"),
    "ag_news": FlanFormat(  # FLAN also had the TFDS title; the hub's text is title + description in one
        {"text": "text"}, ("World", "Sports", "Business", "Science/Tech"),
        {"World": "World", "Sports": "Sports", "Business": "Business", "Sci/Tech": "Science/Tech"},
    ),
    "trec": FlanFormat(  # FLAN's option order follows TFDS's classes; mapped here by name
        {"text": "text"},
        ("description", "entity", "abbreviation", "human", "numeric", "location"),
        {"ABBR": "abbreviation", "ENTY": "entity", "DESC": "description", "HUM": "human", "LOC": "location", "NUM": "numeric"},
        flan_holdout=200,
    ),
}


def template_fields(name: str) -> tuple[str, ...]:
    """The template fields a dataset's examples carry (what its kept templates may use)."""
    return tuple(FORMATS[name].fields)


def hub_columns(dataset: FlanDataset) -> list[str]:
    """The hub columns normalisation reads, in registry order."""
    fmt = FORMATS[dataset.name]
    needed = set(fmt.fields.values()) | {dataset.train.label_column} | ({fmt.id_column} if fmt.id_column else set())
    return [c for c in dataset.train.columns if c in needed]


def rows_to_read(dataset: FlanDataset, max_rows: int, flan_holdout: bool) -> int | None:
    """How many leading hub rows normalisation can use: the cap, or None (all) when FLAN held out a tail."""
    return None if flan_holdout and FORMATS[dataset.name].flan_holdout else max_rows


def _example_ids(fmt: FlanFormat, frame: pd.DataFrame) -> pd.Series:
    if fmt.id_column is None:
        return pd.Series([str(i) for i in range(len(frame))], index=frame.index)
    ids = frame[fmt.id_column]
    if len(ids) and isinstance(ids.iloc[0], dict):  # MultiRC: idx = {paragraph, question, answer}
        return ids.map(lambda d: f"{d['paragraph']}-{d['question']}-{d['answer']}")
    return ids.astype(str)


def _plain(value: object) -> object:
    """A numpy scalar as the Python value (for messages)."""
    return value.item() if hasattr(value, "item") else value


def _answers(dataset: FlanDataset, fmt: FlanFormat, labels: pd.Series) -> pd.Series:
    """Option text per row, from the hub label (by class name when the hub names its classes)."""
    if fmt.score_options:
        values = labels.astype("float64")
        bad = values[(values < 0) | (values > 5) | values.isna()]
        if len(bad):
            raise DataError(f"{dataset.name}: score {_plain(bad.iloc[0])!r} (row {bad.index[0]}) is outside 0..5")
        return values.map(lambda v: "%.0f" % v)  # FLAN: tf.strings.as_string(label, precision=0)
    names = dataset.train.label_names
    if names:
        lookup = {i: fmt.answers[n] for i, n in enumerate(names) if n in fmt.answers}
        allowed = f"0..{len(names) - 1} ({', '.join(names)})"
    else:
        lookup = dict(fmt.answers)
        allowed = ", ".join(str(k) for k in lookup)
    answers = labels.map(lookup)
    bad = answers[answers.isna()]
    if len(bad):
        raise DataError(f"{dataset.name}: label {_plain(labels[bad.index[0]])!r} (row {bad.index[0]}) is not one of {allowed}")
    return answers


def normalise_with_stats(
    dataset: FlanDataset, frame: pd.DataFrame, max_rows: int | None = None, flan_holdout: bool = False
) -> tuple[pd.DataFrame, dict[str, int]]:
    """`normalise`, plus counts: rows read, held out, capped away, dropped per reason, kept."""
    fmt = FORMATS[dataset.name]
    stats: dict[str, int] = {"rows_read": len(frame)}
    frame = frame.reset_index(drop=True)
    ids = _example_ids(fmt, frame)  # before any slicing: the row number is the hub row number
    if flan_holdout and fmt.flan_holdout:
        keep = max(len(frame) - fmt.flan_holdout, 0)
        stats["flan_holdout"] = len(frame) - keep
        frame, ids = frame.iloc[:keep], ids.iloc[:keep]
    if max_rows is not None and len(frame) > max_rows:
        stats["over_cap"] = len(frame) - max_rows
        frame, ids = frame.iloc[:max_rows], ids.iloc[:max_rows]
    labels = frame[dataset.train.label_column]
    for value, reason in fmt.drop.items():
        hit = labels == value
        if hit.any():
            stats[f"dropped: {reason}"] = int(hit.sum())
            frame, ids, labels = frame[~hit], ids[~hit], labels[~hit]
    answers = _answers(dataset, fmt, labels)
    columns = {}
    for name, column in fmt.fields.items():
        values = frame[column].fillna("").astype(str)
        if name in fmt.clean:
            values = fmt.clean[name](values)
        columns[name] = values.tolist()
    names = sorted(columns)
    fields = [json.dumps(dict(zip(names, row)), ensure_ascii=False, sort_keys=True) for row in zip(*(columns[n] for n in names))]
    position = {o: i for i, o in enumerate(fmt.options)}
    out = pd.DataFrame(
        {
            "dataset": dataset.name,
            "example_id": ids.tolist(),
            "fields": fields if len(frame) else [],
            "options": [list(fmt.options)] * len(frame),
            "answer": answers.tolist(),
            "label": np.array([position[a] for a in answers], dtype=np.int64),
        },
        columns=list(FLAN_EXAMPLES.columns),
    )
    stats["rows_kept"] = len(out)
    return out, stats


def normalise(dataset: FlanDataset, frame: pd.DataFrame, max_rows: int | None = None, flan_holdout: bool = False) -> pd.DataFrame:
    """Hub rows of `dataset` -> FLAN_EXAMPLES rows (dataset, example_id, fields, options, answer, label).

    `fields` is the JSON of the template fields FLAN's preprocessor builds; `options` FLAN's options;
    `answer` the correct option's text; `label` its index in `options`. `max_rows` keeps the first rows
    in hub order; `flan_holdout` first drops the trailing rows FLAN used as validation.
    """
    return normalise_with_stats(dataset, frame, max_rows, flan_holdout)[0]


__all__ = [
    "FORMATS",
    "FlanFormat",
    "hub_columns",
    "normalise",
    "normalise_with_stats",
    "rows_to_read",
    "template_fields",
]

