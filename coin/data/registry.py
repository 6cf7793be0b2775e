"""Facts about the datasets: hub ids, configs, splits, columns and label names.

The 25 FLAN training datasets of the COIN paper (Table 2) and the 10 GLUE evaluation columns. Column
names and label orders are those of the Hugging Face hub datasets; the embedded mirror writes the same
columns so one loader serves the hub, a local mirror and the embedded default.
"""

from __future__ import annotations

from dataclasses import dataclass


# The hub's automatic Parquet conversion branch: it holds the Parquet files and no README
PARQUET_CONVERT = "refs/convert/parquet"


@dataclass(frozen=True)
class HubSplit:
    """One split of one hub dataset config, with its columns (name -> dtype) and label names.

    `revision` is the hub revision that holds the split as Parquet (None: main) and `path` the file in
    the repo at that revision (None: `<config or default>/<split>-00000-of-00001.parquet`).
    """

    hub_id: str
    config: str | None  # None: the repo's only config, named `default`
    split: str
    columns: dict[str, str]
    label_column: str
    label_names: tuple[str, ...]  # index -> name, as the hub's ClassLabel; () for non-class labels
    revision: str | None = None
    path: str | None = None

    @property
    def file(self) -> str:
        """The split's Parquet file inside the repo folder at `revision`."""
        return self.path or f"{self.config or 'default'}/{self.split}-00000-of-00001.parquet"

    def download_command(self, local_dir: str) -> str:
        """The `hf download` command that leaves this split's files in `local_dir`."""
        revision = f" --revision {self.revision}" if self.revision else ""
        return f"hf download --repo-type dataset {self.hub_id}{revision} --local-dir {local_dir}"


@dataclass(frozen=True)
class FlanDataset:
    """A FLAN training dataset: where its train split lives and which FLAN template key renders it."""

    name: str
    flan_key: str  # key of FLAN's templates.PATTERNS
    train: HubSplit


@dataclass(frozen=True)
class EvalTask:
    """A GLUE evaluation column: its validation split(s) and the instruction set it uses."""

    name: str
    instruction_task: str  # PromptBench task key of its instructions (mnli_m and mnli_mm use mnli)
    splits: tuple[HubSplit, ...]  # concatenated in this order


_NLI3 = ("entailment", "neutral", "contradiction")
_ENT2 = ("entailment", "not_entailment")
_BOOL = ("False", "True")

_ANLI = {"uid": "string", "premise": "string", "hypothesis": "string", "label": "int64", "reason": "string"}
_SG_PH = {"premise": "string", "hypothesis": "string", "idx": "int32", "label": "int64"}
_GLUE_S = {"sentence": "string", "label": "int64", "idx": "int32"}
_GLUE_S12 = {"sentence1": "string", "sentence2": "string", "label": "int64", "idx": "int32"}

# GLUE config -> (columns, label names), the same for every split of the config
_GLUE_CONFIGS: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "mnli": ({"premise": "string", "hypothesis": "string", "label": "int64", "idx": "int32"}, _NLI3),
    "qnli": ({"question": "string", "sentence": "string", "label": "int64", "idx": "int32"}, _ENT2),
    "rte": (_GLUE_S12, _ENT2),
    "wnli": (_GLUE_S12, ("not_entailment", "entailment")),
    "sst2": (_GLUE_S, ("negative", "positive")),
    "mrpc": (_GLUE_S12, ("not_equivalent", "equivalent")),
    "qqp": ({"question1": "string", "question2": "string", "label": "int64", "idx": "int32"}, ("not_duplicate", "duplicate")),
    "stsb": ({**_GLUE_S12, "label": "float32"}, ()),
    "cola": (_GLUE_S, ("unacceptable", "acceptable")),
}


def _glue(config: str, split: str) -> HubSplit:
    columns, labels = _GLUE_CONFIGS[config]
    return HubSplit("nyu-mll/glue", config, split, columns, "label", labels)


def _super_glue(config: str, columns: dict[str, str], labels: tuple[str, ...]) -> HubSplit:
    return HubSplit("aps/super_glue", config, "train", columns, "label", labels)


_MNLI_TRAIN = _glue("mnli", "train")

FLAN_DATASETS: dict[str, FlanDataset] = {
    d.name: d
    for d in (
        FlanDataset("anli_r1", "anli", HubSplit("facebook/anli", "plain_text", "train_r1", _ANLI, "label", _NLI3)),
        FlanDataset("anli_r2", "anli", HubSplit("facebook/anli", "plain_text", "train_r2", _ANLI, "label", _NLI3)),
        FlanDataset("anli_r3", "anli", HubSplit("facebook/anli", "plain_text", "train_r3", _ANLI, "label", _NLI3)),
        FlanDataset("cb", "cb", _super_glue("cb", _SG_PH, ("entailment", "contradiction", "neutral"))),
        FlanDataset("rte", "rte", _super_glue("rte", _SG_PH, _ENT2)),
        FlanDataset(
            "boolq",
            "bool_q",
            _super_glue("boolq", {"question": "string", "passage": "string", "idx": "int32", "label": "int64"}, _BOOL),
        ),
        FlanDataset(
            "multirc",
            "multirc",
            _super_glue(
                "multirc",
                {"paragraph": "string", "question": "string", "answer": "string", "idx": "struct", "label": "int64"},
                _BOOL,
            ),
        ),
        FlanDataset(
            "wic",
            "wic",
            _super_glue(
                "wic",
                {
                    "word": "string", "sentence1": "string", "sentence2": "string", "start1": "int32",
                    "start2": "int32", "end1": "int32", "end2": "int32", "idx": "int32", "label": "int64",
                },
                _BOOL,
            ),
        ),
        FlanDataset(
            "wsc",
            "wsc",
            _super_glue(
                "wsc.fixed",
                {
                    "text": "string", "span1_index": "int32", "span2_index": "int32", "span1_text": "string",
                    "span2_text": "string", "idx": "int32", "label": "int64",
                },
                _BOOL,
            ),
        ),
        FlanDataset("mnli_matched", "mnli", _MNLI_TRAIN),
        FlanDataset("mnli_mismatched", "mnli", _MNLI_TRAIN),
        FlanDataset("qnli", "qnli", _glue("qnli", "train")),
        FlanDataset("wnli", "wnli", _glue("wnli", "train")),
        FlanDataset("sst2", "sst2", _glue("sst2", "train")),
        FlanDataset("mrpc", "glue_mrpc", _glue("mrpc", "train")),
        FlanDataset("qqp", "glue_qqp", _glue("qqp", "train")),
        FlanDataset("stsb", "stsb", _glue("stsb", "train")),
        FlanDataset("cola", "cola", _glue("cola", "train")),
        FlanDataset(
            "snli",
            "snli",
            HubSplit("stanfordnlp/snli", "plain_text", "train", {"premise": "string", "hypothesis": "string", "label": "int64"}, "label", _NLI3),
        ),
        FlanDataset("imdb", "imdb_reviews", HubSplit("stanfordnlp/imdb", "plain_text", "train", {"text": "string", "label": "int64"}, "label", ("neg", "pos"))),
        FlanDataset(
            "sentiment140",
            "sentiment140",
            HubSplit(
                "stanfordnlp/sentiment140",
                "sentiment140",
                "train",
                {"text": "string", "date": "string", "user": "string", "sentiment": "int32", "query": "string"},
                "sentiment",
                (),  # polarity 0 (negative) / 4 (positive); 2 (neutral) appears only in test
                # main holds only sentiment140.py; the open "Convert dataset to Parquet" pull request holds
                # the data (pinned by its ref: the hub gives no commit for it offline)
                revision="refs/pr/6",
            ),
        ),
        FlanDataset("yelp", "yelp_polarity_reviews", HubSplit("fancyzhx/yelp_polarity", "plain_text", "train", {"label": "int64", "text": "string"}, "label", ("1", "2"))),
        FlanDataset(
            "paws",
            "paws_wiki",
            HubSplit(
                "google-research-datasets/paws",
                "labeled_final",
                "train",
                {"id": "int32", "sentence1": "string", "sentence2": "string", "label": "int64"},
                "label",
                ("0", "1"),
            ),
        ),
        FlanDataset(
            "ag_news",
            "ag_news_subset",
            HubSplit(
                "fancyzhx/ag_news", None, "train", {"text": "string", "label": "int64"}, "label",
                ("World", "Sports", "Business", "Sci/Tech"), path="data/train-00000-of-00001.parquet",
            ),
        ),
        FlanDataset(
            "trec",
            "trec",
            HubSplit(
                "CogComp/trec",
                None,
                "train",
                {"text": "string", "coarse_label": "int64", "fine_label": "int64"},
                "coarse_label",
                ("ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"),
                # main holds only trec.py; the hub's Parquet conversion holds the data, without a README
                revision=PARQUET_CONVERT,
                path="default/train/0000.parquet",
            ),
        ),
    )
}

# Rows of each dataset's hub train split, from its dataset card (the pool the paper sampled from)
HUB_TRAIN_ROWS: dict[str, int] = {
    "anli_r1": 16946, "anli_r2": 45460, "anli_r3": 100459,
    "cb": 250, "rte": 2490, "boolq": 9427, "multirc": 27243, "wic": 5428, "wsc": 554,
    "mnli_matched": 392702, "mnli_mismatched": 392702, "qnli": 104743, "wnli": 635, "sst2": 67349,
    "mrpc": 3668, "qqp": 363846, "stsb": 5749, "cola": 8551,
    "snli": 550152, "imdb": 25000, "sentiment140": 1600000, "yelp": 560000, "paws": 49401,
    "ag_news": 120000, "trec": 5452,
}


EVAL_TASKS: dict[str, EvalTask] = {
    t.name: t
    for t in (
        EvalTask("sst2", "sst2", (_glue("sst2", "validation"),)),
        EvalTask("cola", "cola", (_glue("cola", "validation"),)),
        EvalTask("qqp", "qqp", (_glue("qqp", "validation"),)),
        EvalTask("mrpc", "mrpc", (_glue("mrpc", "validation"),)),
        EvalTask("mnli", "mnli", (_glue("mnli", "validation_matched"), _glue("mnli", "validation_mismatched"))),
        EvalTask("mnli_m", "mnli", (_glue("mnli", "validation_matched"),)),
        EvalTask("mnli_mm", "mnli", (_glue("mnli", "validation_mismatched"),)),
        EvalTask("qnli", "qnli", (_glue("qnli", "validation"),)),
        EvalTask("rte", "rte", (_glue("rte", "validation"),)),
        EvalTask("wnli", "wnli", (_glue("wnli", "validation"),)),
    )
}

# PromptBench's instruction tasks for the GLUE columns (mnli_m and mnli_mm share mnli's instructions)
INSTRUCTION_TASKS: tuple[str, ...] = ("sst2", "cola", "qqp", "mrpc", "mnli", "qnli", "rte", "wnli")


def hub_splits() -> list[HubSplit]:
    """Every distinct hub split the project reads (training and evaluation), in a fixed order."""
    seen: dict[tuple[str, str | None, str], HubSplit] = {}
    for dataset in FLAN_DATASETS.values():
        seen.setdefault((dataset.train.hub_id, dataset.train.config, dataset.train.split), dataset.train)
    for task in EVAL_TASKS.values():
        for split in task.splits:
            seen.setdefault((split.hub_id, split.config, split.split), split)
    return list(seen.values())
