"""Loading hub splits (embedded / local folders), FLAN normalisation per dataset, and the extract stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from coin.data.examples import FORMATS, hub_columns, normalise, normalise_with_stats, template_fields
from coin.data.hub_layout import write_hub_repo, write_registry_repo
from coin.data.registry import FLAN_DATASETS
from coin.data.sources import load_split
from coin.errors import DataError
from coin.schemas import FLAN_EXAMPLES

ROOT = Path(__file__).resolve().parents[1]

SST2 = FLAN_DATASETS["sst2"].train


def sst2_frame(n: int = 4, with_idx: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "sentence": [f"the {i}th little film was {'fine' if i % 2 else 'dull'} ." for i in range(n)],
            "label": [i % 2 for i in range(n)],
            "idx": np.arange(100, 100 + n, dtype=np.int32),
        }
    )
    return frame if with_idx else frame.drop(columns=["idx"])


def write_glue(root: Path, frame: pd.DataFrame) -> None:
    write_hub_repo(root, "nyu-mll/glue", {("sst2", "train"): frame}, {("sst2", "label"): ("negative", "positive")})


# ---------------------------------------------------------------- load_split


def test_load_split_from_embedded_mirror(tmp_path):
    write_glue(tmp_path / "mirror", sst2_frame())
    frame = load_split(SST2, "embedded", None, tmp_path / "mirror", cache_dir=tmp_path / "cache")
    assert list(frame.columns) == ["sentence", "label", "idx"]
    assert frame["sentence"].tolist()[1] == "the 1th little film was fine ."
    assert frame["label"].tolist() == [0, 1, 0, 1]
    assert frame["idx"].tolist() == [100, 101, 102, 103]


def test_load_split_local_columns_and_first_rows(tmp_path):
    write_glue(tmp_path / "copies", sst2_frame(6))
    frame = load_split(SST2, "local", str(tmp_path / "copies"), None, cache_dir=tmp_path / "cache", columns=["label", "sentence"], max_rows=3)
    assert list(frame.columns) == ["label", "sentence"]
    assert frame["label"].tolist() == [0, 1, 0]


def test_load_split_missing_dataset_folder(tmp_path):
    (tmp_path / "mirror").mkdir()
    with pytest.raises(DataError) as info:
        load_split(SST2, "embedded", None, tmp_path / "mirror", cache_dir=tmp_path / "cache")
    folder = tmp_path / "mirror" / "nyu-mll" / "glue"
    assert str(info.value) == f"{folder} does not exist: data.source = 'embedded' expects a copy of hub dataset nyu-mll/glue there"


def test_load_split_missing_column(tmp_path):
    write_glue(tmp_path / "mirror", sst2_frame(with_idx=False))
    with pytest.raises(DataError) as info:
        load_split(SST2, "embedded", None, tmp_path / "mirror", cache_dir=tmp_path / "cache")
    assert str(info.value) == "nyu-mll/glue (sst2) split 'train' has no column 'idx' (it has sentence, label)"


def test_load_split_missing_config(tmp_path):
    write_glue(tmp_path / "mirror", sst2_frame())
    folder = tmp_path / "mirror" / "nyu-mll" / "glue"
    with pytest.raises(DataError) as info:
        load_split(FLAN_DATASETS["cola"].train, "embedded", None, tmp_path / "mirror", cache_dir=tmp_path / "cache", name="cola")
    assert str(info.value) == (
        f"cola: {folder} has no cola/train-*.parquet for nyu-mll/glue (cola) split 'train' (it holds README.md, sst2/): "
        f"get it with `hf download --repo-type dataset nyu-mll/glue --local-dir {folder}`"
    )


# ---------------------------------------------------------------- today's hub layouts (fixtures written by us)

TREC = FLAN_DATASETS["trec"].train
S140 = FLAN_DATASETS["sentiment140"].train
TREC_ROWS = pd.DataFrame({"text": ["Who built the mill?", "How far is the pier?"], "coarse_label": [3, 5], "fine_label": [29, 40]})


def write_script_only(folder: Path, script: str, extra: tuple[str, ...] = ()) -> None:
    """A repo's main branch as the hub has it for trec and sentiment140: a loading script, no data."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / script).write_text("# a loading script (never run)\n")
    (folder / "README.md").write_text("# a dataset card without configs\n")
    for name in extra:
        (folder / name).write_text("{}\n")


def write_trec_convert(folder: Path) -> None:
    """trec at refs/convert/parquet: default/train/0000.parquet, no README."""
    (folder / "default" / "train").mkdir(parents=True, exist_ok=True)
    TREC_ROWS.to_parquet(folder / "default" / "train" / "0000.parquet", index=False)


def test_registry_pins_the_parquet_revisions_and_paths():
    assert (TREC.revision, TREC.file) == ("refs/convert/parquet", "default/train/0000.parquet")
    assert (S140.revision, S140.file) == ("refs/pr/6", "sentiment140/train-00000-of-00001.parquet")
    assert FLAN_DATASETS["ag_news"].train.file == "data/train-00000-of-00001.parquet"
    assert FLAN_DATASETS["anli_r2"].train.file == "plain_text/train_r2-00000-of-00001.parquet"
    assert FLAN_DATASETS["wsc"].train.file == "wsc.fixed/train-00000-of-00001.parquet"
    assert TREC.download_command("/m/CogComp/trec") == (
        "hf download --repo-type dataset CogComp/trec --revision refs/convert/parquet --local-dir /m/CogComp/trec"
    )


def test_script_only_folder_is_one_line_with_the_download_command(tmp_path):
    folder = tmp_path / "copies" / "CogComp" / "trec"
    write_script_only(folder, "trec.py", ("dataset_infos.json",))
    with pytest.raises(DataError) as info:
        load_split(TREC, "local", str(tmp_path / "copies"), None, cache_dir=tmp_path / "cache", name="trec")
    assert str(info.value) == (
        f"trec: {folder} holds only a loading script (README.md, dataset_infos.json, trec.py), which datasets no "
        "longer runs, not default/train/0000.parquet: get the Parquet files with "
        f"`hf download --repo-type dataset CogComp/trec --revision refs/convert/parquet --local-dir {folder}`"
    )


@pytest.mark.parametrize("with_main", [False, True])
def test_trec_convert_revision_reads_alone_or_beside_main(tmp_path, with_main):
    folder = tmp_path / "copies" / "CogComp" / "trec"
    if with_main:
        write_script_only(folder, "trec.py", ("dataset_infos.json",))
    write_trec_convert(folder)
    frame = load_split(TREC, "local", str(tmp_path / "copies"), None, cache_dir=tmp_path / "cache")
    assert frame.to_dict("list") == {"text": ["Who built the mill?", "How far is the pier?"], "coarse_label": [3, 5], "fine_label": [29, 40]}


def test_sentiment140_pr_revision_and_ag_news_data_folder(tmp_path):
    root = tmp_path / "copies"
    write_script_only(root / "stanfordnlp" / "sentiment140", "sentiment140.py")
    tweets = pd.DataFrame(
        {"text": ["rainy again", "sunny at last"], "date": ["Mon Apr 06", "Tue Apr 07"], "user": ["a", "b"],
         "sentiment": np.array([0, 4], dtype=np.int32), "query": ["NO_QUERY", "NO_QUERY"]}
    )
    write_registry_repo(root, "stanfordnlp/sentiment140", {("sentiment140", "train"): tweets})
    (root / "stanfordnlp" / "sentiment140" / "sentiment140.py").write_text("# main's script, beside the PR files\n")
    news = pd.DataFrame({"text": ["Rates rise.", "Team wins."], "label": [2, 1]})
    write_registry_repo(root, "fancyzhx/ag_news", {(None, "train"): news})
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet")) == [
        "fancyzhx/ag_news/data/train-00000-of-00001.parquet",
        "stanfordnlp/sentiment140/sentiment140/train-00000-of-00001.parquet",
    ]
    got = load_split(S140, "local", str(root), None, cache_dir=tmp_path / "cache", columns=["text", "sentiment"])
    assert got.to_dict("list") == {"text": ["rainy again", "sunny at last"], "sentiment": [0, 4]}
    got = load_split(FLAN_DATASETS["ag_news"].train, "local", str(root), None, cache_dir=tmp_path / "cache")
    assert got["label"].tolist() == [2, 1]


def test_a_file_that_is_not_parquet_is_one_line(tmp_path):
    folder = tmp_path / "copies" / "CogComp" / "trec"
    write_trec_convert(folder)
    file = folder / "default" / "train" / "0000.parquet"
    file.write_bytes(file.read_bytes()[:40])  # truncated download
    with pytest.raises(DataError) as info:
        load_split(TREC, "local", str(tmp_path / "copies"), None, cache_dir=tmp_path / "cache", name="trec")
    message = str(info.value)
    assert message.startswith(f"trec: {file} is not a readable Parquet file (")
    assert message.endswith("): download CogComp/trec (default) split 'train' at revision refs/convert/parquet again")
    assert "\n" not in message


def test_hub_source_passes_the_pinned_revision_and_reports_failures_in_one_line(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(path, config, split, revision=None, cache_dir=None, columns=None):
        calls.append((path, config, split, revision, columns))
        if path == "stanfordnlp/sentiment140":
            raise RuntimeError("Dataset scripts are no longer supported, but found sentiment140.py\nmore")
        return datasets.Dataset.from_pandas(TREC_ROWS[columns] if columns else TREC_ROWS)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    frame = load_split(TREC, "hub", None, None, columns=["text", "coarse_label"], max_rows=2)
    assert calls == [("CogComp/trec", None, "train[:2]", "refs/convert/parquet", ["text", "coarse_label"])]
    assert frame["coarse_label"].tolist() == [3, 5]
    with pytest.raises(DataError) as info:
        load_split(S140, "hub", None, None, name="sentiment140")
    assert str(info.value) == (
        "sentiment140: cannot read stanfordnlp/sentiment140 (sentiment140) split 'train' at revision refs/pr/6 from "
        "stanfordnlp/sentiment140: Dataset scripts are no longer supported, but found sentiment140.py"
    )


def test_load_split_local_needs_local_dir():
    with pytest.raises(DataError) as info:
        load_split(SST2, "local", None, None)
    assert str(info.value) == "data.source = 'local' needs data.local_dir, which is not set"


# ---------------------------------------------------------------- normalisation, one case per dataset

NLI_COLUMNS = {"premise": ["A man sings.", "A cat naps.", "Rain falls."], "hypothesis": ["Someone sings.", "A dog barks.", "It is dry."]}

# dataset -> (hub rows, expected [(example_id, fields, answer, label)])
CASES = {
    "anli_r1": (
        {"uid": ["u7", "u8", "u9"], **NLI_COLUMNS, "label": [0, 1, 2], "reason": ["", "", ""]},
        [
            ("u7", {"context": "A man sings.", "hypothesis": "Someone sings."}, "Yes", 0),
            ("u8", {"context": "A cat naps.", "hypothesis": "A dog barks."}, "It's impossible to say", 1),
            ("u9", {"context": "Rain falls.", "hypothesis": "It is dry."}, "No", 2),
        ],
    ),
    "cb": (
        {**NLI_COLUMNS, "idx": [4, 5, 6], "label": [0, 1, 2]},
        [
            ("4", {"premise": "A man sings.", "hypothesis": "Someone sings."}, "Yes", 0),
            ("5", {"premise": "A cat naps.", "hypothesis": "A dog barks."}, "No", 1),
            ("6", {"premise": "Rain falls.", "hypothesis": "It is dry."}, "It's impossible to say", 2),
        ],
    ),
    "rte": (
        {"premise": ["P1.", "P2."], "hypothesis": ["H1.", "H2."], "idx": [0, 1], "label": [0, 1]},
        [("0", {"premise": "P1.", "hypothesis": "H1."}, "yes", 0), ("1", {"premise": "P2.", "hypothesis": "H2."}, "no", 1)],
    ),
    "boolq": (
        {"question": ["is the lake deep", "is it open"], "passage": ["The lake is deep.", "It is shut."], "idx": [3, 4], "label": [1, 0]},
        [
            ("3", {"question": "is the lake deep", "text": "The lake is deep."}, "yes", 1),
            ("4", {"question": "is it open", "text": "It is shut."}, "no", 0),
        ],
    ),
    "multirc": (
        {
            "paragraph": ["Ann fed two goats."],
            "question": ["How many goats?"],
            "answer": ["Two"],
            "idx": [{"paragraph": 3, "question": 7, "answer": 21}],
            "label": [1],
        },
        [("3-7-21", {"paragraph": "Ann fed two goats.", "question": "How many goats?", "response": "Two"}, "yes", 1)],
    ),
    "wic": (
        {
            "word": ["bank", "run"], "sentence1": ["A river bank.", "I run."], "sentence2": ["A bank loan.", "They run."],
            "start1": [2, 2], "start2": [2, 5], "end1": [6, 5], "end2": [6, 8], "idx": [0, 1], "label": [0, 1],
        },
        [
            ("0", {"sentence1": "A river bank.", "sentence2": "A bank loan.", "word": "bank"}, "different meanings", 0),
            ("1", {"sentence1": "I run.", "sentence2": "They run.", "word": "run"}, "the same meaning", 1),
        ],
    ),
    "wsc": (
        {
            "text": ["Mia thanked Lea because she helped."], "span1_index": [2], "span2_index": [4],
            "span1_text": ["Lea"], "span2_text": ["she"], "idx": [9], "label": [1],
        },
        [("9", {"context": "Mia thanked Lea because she helped.", "text1": "Lea", "text2": "she"}, "yes", 1)],
    ),
    "mnli_matched": (
        {**NLI_COLUMNS, "label": [0, 1, 2], "idx": [0, 1, 2]},
        [
            ("0", {"premise": "A man sings.", "hypothesis": "Someone sings."}, "yes", 0),
            ("1", {"premise": "A cat naps.", "hypothesis": "A dog barks."}, "it is not possible to tell", 1),
            ("2", {"premise": "Rain falls.", "hypothesis": "It is dry."}, "no", 2),
        ],
    ),
    "qnli": (
        {"question": ["Where is it?", "Who came?"], "sentence": ["It is here.", "Rain fell."], "label": [0, 1], "idx": [0, 1]},
        [("0", {"question": "Where is it?", "sentence": "It is here."}, "yes", 0), ("1", {"question": "Who came?", "sentence": "Rain fell."}, "no", 1)],
    ),
    "wnli": (
        {"sentence1": ["S1.", "S3."], "sentence2": ["S2.", "S4."], "label": [0, 1], "idx": [0, 1]},
        [("0", {"sentence1": "S1.", "sentence2": "S2."}, "no", 0), ("1", {"sentence1": "S3.", "sentence2": "S4."}, "yes", 1)],
    ),
    "sst2": (
        {"sentence": ["a dull film", "a bright film"], "label": [0, 1], "idx": [5, 6]},
        [("5", {"sentence": "a dull film"}, "negative", 0), ("6", {"sentence": "a bright film"}, "positive", 1)],
    ),
    "mrpc": (
        {"sentence1": ["A.", "B."], "sentence2": ["A!", "C."], "label": [1, 0], "idx": [0, 1]},
        [("0", {"sentence1": "A.", "sentence2": "A!"}, "yes", 1), ("1", {"sentence1": "B.", "sentence2": "C."}, "no", 0)],
    ),
    "qqp": (
        {"question1": ['What is ""tea""?'], "question2": ["Which drink is tea?"], "label": [1], "idx": [0]},
        [("0", {"question1": "What is 'tea'?", "question2": "Which drink is tea?"}, "yes", 1)],
    ),
    "stsb": (
        {"sentence1": ["a", "b", "c", "d"], "sentence2": ["e", "f", "g", "h"], "label": np.array([2.5, 3.5, 4.8, 0.2], dtype=np.float32), "idx": [0, 1, 2, 3]},
        [
            ("0", {"sentence1": "a", "sentence2": "e"}, "2", 2),  # printf-style rounding: half to even
            ("1", {"sentence1": "b", "sentence2": "f"}, "4", 4),
            ("2", {"sentence1": "c", "sentence2": "g"}, "5", 5),
            ("3", {"sentence1": "d", "sentence2": "h"}, "0", 0),
        ],
    ),
    "cola": (
        {"sentence": ["Him went.", "She left."], "label": [0, 1], "idx": [0, 1]},
        [("0", {"sentence": "Him went."}, "unacceptable", 0), ("1", {"sentence": "She left."}, "acceptable", 1)],
    ),
    "snli": (
        {"premise": ["P0.", "P1.", "P2."], "hypothesis": ["H0.", "H1.", "H2."], "label": [2, -1, 1]},
        [("0", {"premise": "P0.", "hypothesis": "H0."}, "no", 2), ("2", {"premise": "P2.", "hypothesis": "H2."}, "it is not possible to tell", 1)],
    ),
    "imdb": (
        {"text": ["Good start.<br /><br />Weak end."], "label": [1]},
        [("0", {"text": "Good start.\n\nWeak end."}, "positive", 1)],
    ),
    "sentiment140": (
        {
            "text": ["so sad today", "meh", "great day"], "date": ["d"] * 3, "user": ["u"] * 3,
            "sentiment": [0, 2, 4], "query": ["NO_QUERY"] * 3,
        },
        [("0", {"text": "so sad today"}, "negative", 0), ("2", {"text": "great day"}, "positive", 1)],
    ),
    "yelp": (
        {"label": [0, 1], "text": ['Cold \\"fresh\\" fish.\\nNever again.', 'Nice \\""patio\\"".']},
        [("0", {"text": 'Cold "fresh" fish. Never again.'}, "negative", 0), ("1", {"text": 'Nice "patio".'}, "positive", 1)],
    ),
    "paws": (
        {"id": [11, 12], "sentence1": ["X.", "Y."], "sentence2": ["X!", "Z."], "label": [1, 0]},
        [("11", {"sentence1": "X.", "sentence2": "X!"}, "yes", 1), ("12", {"sentence1": "Y.", "sentence2": "Z."}, "no", 0)],
    ),
    "ag_news": (
        {"text": ["Chip maker ships new part.", "Team wins cup."], "label": [3, 1]},
        [("0", {"text": "Chip maker ships new part."}, "Science/Tech", 3), ("1", {"text": "Team wins cup."}, "Sports", 1)],
    ),
    "trec": (
        {"text": ["What does CPU stand for?", "Why is snow white?", "Where is Rome?", "How far is it?"], "coarse_label": [0, 2, 4, 5], "fine_label": [1, 5, 33, 39]},
        [
            ("0", {"text": "What does CPU stand for?"}, "abbreviation", 2),
            ("1", {"text": "Why is snow white?"}, "description", 0),
            ("2", {"text": "Where is Rome?"}, "location", 5),
            ("3", {"text": "How far is it?"}, "numeric", 4),
        ],
    ),
}
CASES["anli_r2"] = CASES["anli_r3"] = CASES["anli_r1"]
CASES["mnli_mismatched"] = CASES["mnli_matched"]


def test_every_registry_dataset_has_a_format_and_a_case():
    assert set(FORMATS) == set(FLAN_DATASETS) == set(CASES)
    for name, fmt in FORMATS.items():
        assert set(fmt.answers.values()) <= set(fmt.options), name


@pytest.mark.parametrize("name", sorted(CASES))
def test_normalise(name):
    hub, expected = CASES[name]
    dataset = FLAN_DATASETS[name]
    out = normalise(dataset, pd.DataFrame(hub))
    FLAN_EXAMPLES.check(out, name)
    got = [(r.example_id, json.loads(r.fields), r.answer, r.label) for r in out.itertuples()]
    assert got == expected
    assert (out["dataset"] == name).all()
    for options, answer, label in zip(out["options"], out["answer"], out["label"]):
        assert list(options) == list(FORMATS[name].options) and options[label] == answer
    assert set(template_fields(name)) == set(expected[0][1])


def test_flan_options_order():
    assert FORMATS["mnli_matched"].options == ("yes", "it is not possible to tell", "no")
    assert FORMATS["trec"].options == ("description", "entity", "abbreviation", "human", "numeric", "location")
    assert FORMATS["stsb"].options == ("0", "1", "2", "3", "4", "5")
    assert hub_columns(FLAN_DATASETS["sentiment140"]) == ["text", "sentiment"]
    assert hub_columns(FLAN_DATASETS["anli_r1"]) == ["uid", "premise", "hypothesis", "label"]


def test_cap_keeps_first_rows_and_holdout_drops_flans_tail():
    rows = pd.DataFrame({"premise": [f"p{i}" for i in range(260)], "hypothesis": ["h"] * 260, "idx": range(260), "label": [0, 1] * 130})
    out, stats = normalise_with_stats(FLAN_DATASETS["cb"], rows, max_rows=5)
    assert out["example_id"].tolist() == ["0", "1", "2", "3", "4"]
    assert stats == {"rows_read": 260, "over_cap": 255, "rows_kept": 5}
    out, stats = normalise_with_stats(FLAN_DATASETS["cb"], rows, max_rows=300, flan_holdout=True)
    assert out["example_id"].tolist()[-1] == "209"  # FLAN: cb train[:-50]
    assert stats == {"rows_read": 260, "flan_holdout": 50, "rows_kept": 210}


def test_drop_counts():
    hub, _ = CASES["snli"]
    _, stats = normalise_with_stats(FLAN_DATASETS["snli"], pd.DataFrame(hub))
    assert stats == {"rows_read": 3, "dropped: label -1 (no gold label)": 1, "rows_kept": 2}


def test_unknown_label_and_bad_score():
    with pytest.raises(DataError) as info:
        normalise(FLAN_DATASETS["sst2"], pd.DataFrame({"sentence": ["x"], "label": [5], "idx": [0]}))
    assert str(info.value) == "sst2: label 5 (row 0) is not one of 0..1 (negative, positive)"
    with pytest.raises(DataError) as info:
        normalise(FLAN_DATASETS["sentiment140"], pd.DataFrame({"text": ["x"], "sentiment": [7]}))
    assert str(info.value) == "sentiment140: label 7 (row 0) is not one of 0, 1, 3, 4"
    with pytest.raises(DataError) as info:
        normalise(FLAN_DATASETS["stsb"], pd.DataFrame({"sentence1": ["a"], "sentence2": ["b"], "label": [7.0], "idx": [0]}))
    assert str(info.value) == "stsb: score 7.0 (row 0) is outside 0..5"


# ---------------------------------------------------------------- the extract stage

PATTERNS_FIXTURE = '''PATTERNS = {
    "sst2": [
        ("Line: {sentence}\\nTone?\\n{options_}", "{answer}"),
        ("{sentence}\\n\\nWhich tone fits?\\n{options_}", "{answer}"),
        ("Write something {answer}.", "{sentence}"),
    ],
    "trec": [
        ("Question: {text}\\nKind?\\n{options_}", "{answer}"),
        ("{title} {text}\\n{options_}", "{answer}"),
        ("Question: {text}\\nKind?\\n{options_}", "{answer}"),
    ],
}
'''


def write_params(tmp_path: Path, **data) -> Path:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update({"datasets": ["sst2", "trec"], "flan_templates": str(tmp_path / "templates.py"), "cache_dir": str(tmp_path / "cache"), **data})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    (tmp_path / "templates.py").write_text(PATTERNS_FIXTURE)
    return path


def write_mirror(root: Path) -> None:
    write_glue(root, sst2_frame(5))
    trec = pd.DataFrame(
        {"text": ["Who wrote it?", "When did it end?", "What is a lute?"], "coarse_label": [3, 5, 1], "fine_label": [30, 40, 9]}
    )
    write_registry_repo(root, "CogComp/trec", {(None, "train"): trec}, {(None, "coarse_label"): ("ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM")})


def test_extract_stage(tmp_path):
    from pipeline.extract import extract

    write_mirror(tmp_path / "mirror")
    params = write_params(tmp_path, max_train_examples=4)
    extract(mirror=tmp_path / "mirror", out=tmp_path / "flan", params=params)
    examples = pd.read_parquet(tmp_path / "flan" / "examples.parquet")
    assert examples["dataset"].tolist() == ["sst2"] * 4 + ["trec"] * 3
    assert examples["example_id"].tolist() == ["100", "101", "102", "103", "0", "1", "2"]
    assert examples["answer"].tolist()[4:] == ["human", "numeric", "entity"]
    templates = pd.read_parquet(tmp_path / "flan" / "templates.parquet")
    assert templates[["flan_key", "template_id", "kept", "drop_reason"]].values.tolist() == [
        ["sst2", 0, True, ""],
        ["sst2", 1, True, ""],
        ["sst2", 2, False, "inverted"],
        ["trec", 0, True, ""],
        ["trec", 1, False, "needs field title"],
        ["trec", 2, False, "duplicate"],
    ]
    info = json.loads((tmp_path / "flan" / "extract.json").read_text())
    assert info["datasets"]["sst2"] == {"hub_id": "nyu-mll/glue", "config": "sst2", "split": "train", "rows_read": 4, "rows_kept": 4}
    assert info["templates_kept"] == {"sst2": [0, 1], "trec": [0]}
    assert info["templates"]["sha256"] == __import__("hashlib").sha256(PATTERNS_FIXTURE.encode()).hexdigest()
    assert info["flan_holdout"] is False and info["source"] == "embedded" and info["examples"] == 7

    first = (tmp_path / "flan" / "examples.parquet").read_bytes()
    extract(mirror=tmp_path / "mirror", out=tmp_path / "flan", params=params)
    assert (tmp_path / "flan" / "examples.parquet").read_bytes() == first  # same params, same bytes


def test_extract_stage_reports_a_missing_dataset_in_one_line(tmp_path, capsys):
    from pipeline.extract import extract

    write_glue(tmp_path / "mirror", sst2_frame(3))  # no CogComp/trec
    params = write_params(tmp_path)
    with pytest.raises(SystemExit) as info:
        extract(mirror=tmp_path / "mirror", out=tmp_path / "flan", params=params)
    assert info.value.code == 2
    folder = tmp_path / "mirror" / "CogComp" / "trec"
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: trec: {folder} does not exist: data.source = 'embedded' expects a copy of hub dataset CogComp/trec there"
    )
    assert not (tmp_path / "flan").exists()


def test_extract_all_25_datasets_from_todays_hub_layouts_and_stop_on_script_only(tmp_path, capsys):
    """A local copy as `hf download` leaves it today: trec and sentiment140 hold main's script beside their
    Parquet revisions. Extract reads all 25 datasets; with main alone it stops in one line."""
    from coin.embedded.mirror import build_mirror, mirror_class_labels
    from pipeline.extract import extract

    root = tmp_path / "copies"
    frames = build_mirror(0, 6, 2)
    labels = mirror_class_labels()
    for hub_id in sorted({h for h, _, _ in frames}):
        write_registry_repo(root, hub_id, {(c, s): f for (h, c, s), f in frames.items() if h == hub_id}, labels.get(hub_id))
    write_script_only(root / "CogComp" / "trec", "trec.py", ("dataset_infos.json",))
    write_script_only(root / "stanfordnlp" / "sentiment140", "sentiment140.py")
    default_templates = yaml.safe_load((ROOT / "params.yaml").read_text())["data"]["flan_templates"]
    params = write_params(
        tmp_path, source="local", local_dir=str(root), datasets=list(FLAN_DATASETS), max_train_examples=6, flan_templates=default_templates
    )
    extract(mirror=tmp_path / "unused", out=tmp_path / "flan", params=params)
    info = json.loads((tmp_path / "flan" / "extract.json").read_text())
    assert sorted(info["datasets"]) == sorted(FLAN_DATASETS)
    assert info["datasets"]["trec"] == {
        "hub_id": "CogComp/trec", "config": None, "split": "train", "rows_read": 6, "rows_kept": 0, "flan_holdout": 6,
    }  # 6 rows read; FLAN's held-out tail of trec takes all 6 of this tiny copy
    assert info["datasets"]["sentiment140"] == {
        "hub_id": "stanfordnlp/sentiment140", "config": "sentiment140", "split": "train", "rows_read": 6, "rows_kept": 6,
    }

    (root / "CogComp" / "trec" / "default" / "train" / "0000.parquet").unlink()
    (root / "CogComp" / "trec" / "default" / "train").rmdir()
    (root / "CogComp" / "trec" / "default").rmdir()
    with pytest.raises(SystemExit) as exit_info:
        extract(mirror=tmp_path / "unused", out=tmp_path / "flan2", params=params)
    assert exit_info.value.code == 2
    folder = root / "CogComp" / "trec"
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: trec: data.local_dir = '{root}': {folder} holds only a loading script (README.md, dataset_infos.json, trec.py), which datasets "
        "no longer runs, not default/train/0000.parquet: get the Parquet files with "
        f"`hf download --repo-type dataset CogComp/trec --revision refs/convert/parquet --local-dir {folder}`"
    )
    assert not (tmp_path / "flan2").exists()
