"""The embedded offline default: synthetic hub mirror, hub folder layout, templates, instructions."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from coin.data.hub_layout import frame_to_table, readme_text, split_file, write_hub_repo
from coin.data.registry import EVAL_TASKS, INSTRUCTION_TASKS, hub_splits
from coin.embedded.mirror import (
    MULTIRC_IDX,
    Event,
    build_mirror,
    label_plan,
    mirror_class_labels,
    nli_hypothesis,
    render_past,
    render_progressive,
    stsb_score,
)
from coin.errors import CoinError, DataError

ROOT = Path(__file__).resolve().parents[1]
GLUE = "nyu-mll/glue"
SG = "aps/super_glue"


@pytest.fixture(scope="module")
def mirror() -> dict:
    """The default-profile mirror (params.yaml: seed 42, 200 train rows, 120 eval rows)."""
    return build_mirror(42, 200, 120)


@pytest.fixture(scope="module")
def small() -> dict:
    return build_mirror(7, 40, 24)


# --- mirror: columns, dtypes, counts, labels -----------------------------------------------------


def test_every_registry_split_is_built_with_hub_columns_dtypes_and_row_counts(small):
    splits = hub_splits()
    assert set(small) == {(s.hub_id, s.config, s.split) for s in splits}
    assert len(small) == 33
    for s in splits:
        frame = small[(s.hub_id, s.config, s.split)]
        assert list(frame.columns) == list(s.columns), s
        assert len(frame) == (40 if s.split.startswith("train") else 24), s
        for column, dtype in s.columns.items():
            series = frame[column]
            if dtype == "string":
                assert pd.api.types.is_string_dtype(series) and series.map(type).eq(str).all(), (s, column)
            elif dtype == "struct":
                assert series.dtype == pd.ArrowDtype(MULTIRC_IDX), (s, column)
            else:
                assert series.dtype == np.dtype(dtype), (s, column, series.dtype)
        assert not frame.isna().any().any(), s


def test_labels_are_balanced_and_in_range(mirror):
    for s in hub_splits():
        frame = mirror[(s.hub_id, s.config, s.split)]
        labels = frame[s.label_column]
        key = (s.hub_id, s.config)
        if key == ("stanfordnlp/snli", "plain_text"):
            assert (labels == -1).sum() == 5  # 200 // 40: rows without annotator agreement, as on the hub
            assert labels[labels >= 0].value_counts().to_dict() == {0: 65, 1: 65, 2: 65}
        elif key == (SG, "multirc"):
            counts = labels.value_counts()
            assert set(counts.index) == {0, 1} and abs(counts[0] - counts[1]) <= 2
        elif s.config == "sentiment140":
            assert labels.value_counts().to_dict() == {0: 100, 4: 100}
        elif s.config == "stsb":
            assert labels.dtype == np.float32 and labels.min() == 0.0 and labels.max() == 5.0
            assert labels.nunique() >= 10  # spread over the scale, not two values
        else:
            counts = labels.value_counts()
            assert sorted(counts.index) == list(range(len(s.label_names))), s
            assert counts.max() - counts.min() <= 1, s


def test_trec_fine_labels_sit_inside_their_coarse_class_block(mirror):
    frame = mirror[("CogComp/trec", None, "train")]
    blocks = {0: range(0, 2), 1: range(2, 24), 2: range(24, 28), 3: range(28, 32), 4: range(32, 37), 5: range(37, 50)}
    assert all(fine in blocks[coarse] for coarse, fine in zip(frame.coarse_label, frame.fine_label))


def test_hub_text_quirks_are_reproduced(mirror):
    imdb = mirror[("stanfordnlp/imdb", "plain_text", "train")].text
    assert imdb.str.contains("<br /><br />", regex=False).all()
    yelp = mirror[("fancyzhx/yelp_polarity", "plain_text", "train")].text
    assert yelp.str.contains("\\n", regex=False).all()  # backslash + n, two characters
    assert yelp.str.contains('\\"', regex=False).any()
    assert not yelp.str.contains("\n", regex=False).any()  # no real newlines: the hub escapes them
    sst2 = mirror[(GLUE, "sst2", "train")].sentence
    assert sst2.str.endswith(" ").all() and (sst2 == sst2.str.lower()).all()
    assert mirror[("CogComp/trec", None, "train")].text.str.endswith(" ?").all()
    s140 = mirror[("stanfordnlp/sentiment140", "sentiment140", "train")]
    assert (s140["query"] == "NO_QUERY").all()
    assert s140.date.str.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d PDT 2009").all()
    anli = mirror[("facebook/anli", "plain_text", "train_r1")]
    assert anli.uid.str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").all()
    assert (anli.reason == "").any() and (anli.reason != "").any()
    paws = mirror[("google-research-datasets/paws", "labeled_final", "train")]
    assert paws.id.tolist() == list(range(1, 201))


def test_span_and_offset_columns_point_at_their_words(mirror):
    wsc = mirror[(SG, "wsc.fixed", "train")]
    for row in wsc.itertuples():
        words = row.text.split(" ")
        assert words[row.span2_index] == row.span2_text
        assert " ".join(words[row.span1_index : row.span1_index + 2]) == row.span1_text
    wic = mirror[(SG, "wic", "train")]
    for row in wic.itertuples():
        assert row.sentence1[row.start1 : row.end1].lower() == row.word
        assert row.sentence2[row.start2 : row.end2].lower() == row.word
    multirc = mirror[(SG, "multirc", "train")]
    first = multirc.idx.iloc[:3].tolist()
    assert first[0] == {"paragraph": 0, "question": 0, "answer": 0}
    assert [i["answer"] for i in multirc.idx] == list(range(200))


def test_validation_rows_never_repeat_training_rows(mirror):
    pairs = [
        ("sst2", ("sentence",)), ("cola", ("sentence",)), ("qqp", ("question1", "question2")),
        ("mrpc", ("sentence1", "sentence2")), ("qnli", ("question", "sentence")), ("wnli", ("sentence1", "sentence2")),
    ]
    for config, cols in pairs:
        train = set(map(tuple, mirror[(GLUE, config, "train")][list(cols)].to_numpy().tolist()))
        valid = set(map(tuple, mirror[(GLUE, config, "validation")][list(cols)].to_numpy().tolist()))
        assert not train & valid, config
        assert len(valid) == 120, config
    mnli = mirror[(GLUE, "mnli", "train")]
    for split in ("validation_matched", "validation_mismatched"):
        valid = mirror[(GLUE, "mnli", split)]
        assert not set(zip(mnli.premise, mnli.hypothesis)) & set(zip(valid.premise, valid.hypothesis))


def test_evaluation_rows_do_not_depend_on_train_rows(mirror):
    fewer = build_mirror(42, 30, 120)
    for s in hub_splits():
        if not s.split.startswith("train"):
            pd.testing.assert_frame_equal(mirror[(s.hub_id, s.config, s.split)], fewer[(s.hub_id, s.config, s.split)])


def test_a_used_up_family_repeats_training_rows_but_never_evaluation_rows():
    import random

    from coin.embedded.mirror import _draw

    rng = random.Random(0)
    seen = {("a",): "eval"}
    draws = [_draw(rng, lambda: {"t": rng.choice("abc")}, lambda r: (r["t"],), seen, "train", "toy")["t"] for _ in range(30)]
    assert set(draws) == {"b", "c"} and seen == {("a",): "eval", ("b",): "train", ("c",): "train"}
    with pytest.raises(CoinError, match=r"^toy: no new rows left after 200 tries: lower data.mirror_eval_rows \(evaluation rows must be unique and unseen in training\)$"):
        _draw(rng, lambda: {"t": rng.choice("abc")}, lambda r: (r["t"],), seen, "eval", "toy")


def test_same_seed_same_frames_other_seed_other_text():
    first, again, other = build_mirror(3, 12, 8), build_mirror(3, 12, 8), build_mirror(4, 12, 8)
    for key in first:
        pd.testing.assert_frame_equal(first[key], again[key])
    assert not first[(GLUE, "sst2", "train")].sentence.equals(other[(GLUE, "sst2", "train")].sentence)


def test_bad_row_counts_are_one_line_errors():
    with pytest.raises(CoinError, match=r"^mirror rows \(0, 8\) are not allowed: train_rows and eval_rows must be >= 1$"):
        build_mirror(1, 0, 8)


# --- the grammar: hand-checked sentences -----------------------------------------------------------


_EVENT = Event("farmer", False, "tired", "sell", "apple", "red", "market", "on monday")


def test_event_rendering():
    assert render_past(_EVENT) == "The tired farmer sold the red apple at the market on monday."
    assert render_progressive(_EVENT) == "A tired farmer is selling a red apple at the market."


def test_nli_hypotheses_follow_their_cues():
    import random

    seen: dict[str, set[str]] = {"entailment": set(), "contradiction": set(), "neutral": set()}
    for i in range(60):
        for label in seen:
            seen[label].add(nli_hypothesis(random.Random(i), _EVENT, label))
    assert "The farmer bought the apple." in seen["contradiction"]  # antonym verb
    assert "The farmer did not sell the apple." in seen["contradiction"]
    assert "The farmer sold the small apple." not in seen["contradiction"]  # red has no antonym
    assert "A person sold the apple." in seen["entailment"]  # hypernym for the doer
    assert "The farmer sold some fruit." in seen["entailment"]  # hypernym for the thing
    assert "The farmer was at the market." in seen["entailment"]
    assert all(h.startswith("The farmer sold the apple ") for h in seen["neutral"])  # an added detail
    with pytest.raises(CoinError, match=r"^NLI label 'maybe' is not allowed: use one of entailment, neutral, contradiction$"):
        nli_hypothesis(random.Random(0), _EVENT, "maybe")


def test_stsb_score_is_five_times_content_overlap():
    # content words {farmer, sell, apple, red, market, on monday}; a synonym counts as the same word
    same = Event("farmer", False, "", "buy", "apple", "big", "", "")
    reworded = Event("farmer", False, "", "purchase", "apple", "large", "", "")
    assert stsb_score(same, reworded) == 5.0
    assert stsb_score(_EVENT, Event("farmer", False, "", "sell", "apple", "red", "", "")) == pytest.approx(3.4)  # 4/6*5=3.33
    assert stsb_score(_EVENT, Event("nurse", False, "", "wash", "coat", "", "park", "at night")) == 0.0


def test_label_plan_cycles_then_shuffles():
    import random

    plan = label_plan(random.Random(0), ("a", "b", "c"), 8)
    assert sorted(plan) == ["a", "a", "a", "b", "b", "b", "c", "c"]


def test_sst2_bag_of_words_learns_the_sentiment_cue(mirror):
    """A crude learnability signal: a count-feature logistic regression transfers train -> validation."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    train, valid = mirror[(GLUE, "sst2", "train")], mirror[(GLUE, "sst2", "validation")]
    vectorizer = CountVectorizer()
    model = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(train.sentence), train.label)
    accuracy = (model.predict(vectorizer.transform(valid.sentence)) == valid.label).mean()
    assert accuracy >= 0.85
    news = mirror[("fancyzhx/ag_news", None, "train")]
    half = len(news) // 2
    vectorizer = CountVectorizer()
    model = LogisticRegression(max_iter=2000).fit(vectorizer.fit_transform(news.text[:half]), news.label[:half])
    assert (model.predict(vectorizer.transform(news.text[half:])) == news.label[half:]).mean() >= 0.9


def test_vocabulary_stays_small(mirror):
    words = set()
    for frame in mirror.values():
        for column in frame.columns:
            if column in ("uid", "user", "date", "query") or not pd.api.types.is_string_dtype(frame[column]):
                continue
            for text in frame[column]:
                words.update(w.lower() for w in re.findall(r"[A-Za-z]+", text.replace("<br />", " ")) if not w.isupper())
    assert 300 <= len(words) <= 900  # word forms (inflections counted separately)


# --- hub layout ------------------------------------------------------------------------------------


def test_split_file_layout():
    assert split_file(Path("/r"), "nyu-mll/glue", "cola", "train") == Path("/r/nyu-mll/glue/cola/train-00000-of-00001.parquet")
    assert split_file(Path("/r"), "fancyzhx/ag_news", None, "test") == Path("/r/fancyzhx/ag_news/default/test-00000-of-00001.parquet")
    with pytest.raises(DataError, match=r"^hub id '\.\./x' is not allowed: use owner/name \(no '\.\.', no leading '/'\)$"):
        split_file(Path("/r"), "../x", None, "train")


def _tiny() -> pd.DataFrame:
    return pd.DataFrame({"sentence": pd.Series(["one two", "three"], dtype=str), "label": np.array([1, 0], dtype=np.int64)})


def test_readme_front_matter_lists_configs_and_features():
    text = readme_text("owner/name", {(None, "train"): frame_to_table(_tiny()).schema}, {(None, "label"): ("neg", "pos")})
    assert text == (
        "---\n"
        "configs:\n"
        "- config_name: default\n"
        "  data_files:\n"
        "  - split: train\n"
        "    path: default/train-00000-of-00001.parquet\n"
        "dataset_info:\n"
        "- config_name: default\n"
        "  features:\n"
        "  - name: sentence\n"
        "    dtype: string\n"
        "  - name: label\n"
        "    dtype:\n"
        "      class_label:\n"
        "        names:\n"
        "          '0': neg\n"
        "          '1': pos\n"
        "---\n\n"
        "# owner/name\n\n"
        "Parquet files in the hub's layout, one folder per config.\n"
    )


def test_write_hub_repo_replaces_the_repo_as_a_whole(tmp_path):
    stale = tmp_path / "owner" / "name" / "old" / "train-00000-of-00001.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_text("stale")
    repo = write_hub_repo(tmp_path, "owner/name", {(None, "train"): _tiny()})
    assert repo == tmp_path / "owner" / "name"
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file()) == [
        "README.md", "default/train-00000-of-00001.parquet",
    ]
    table = pq.read_table(split_file(tmp_path, "owner/name", None, "train"))
    assert table.schema.field("sentence").type == pa.string()  # the hub's type, not large_string
    assert b"pandas" not in (table.schema.metadata or {})
    assert table.to_pydict() == {"sentence": ["one two", "three"], "label": [1, 0]}
    assert [p.name for p in (tmp_path / "owner").iterdir()] == ["name"]  # no temp folder left behind
    with pytest.raises(DataError, match=r"^owner/name: config None and config 'default' would share the folder 'default': use one of them$"):
        write_hub_repo(tmp_path, "owner/name", {(None, "train"): _tiny(), ("default", "test"): _tiny()})


def test_load_dataset_reads_written_repos_offline(small, tmp_path, monkeypatch):
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    datasets.disable_progress_bars()
    labels = mirror_class_labels()
    wanted = [(SG, "multirc", "train"), (SG, "wsc.fixed", "train"), (GLUE, "mnli", "validation_mismatched"),
              (GLUE, "stsb", "train"), ("CogComp/trec", None, "train"), ("stanfordnlp/imdb", "plain_text", "train")]
    for hub_id in sorted({w[0] for w in wanted}):
        frames = {(c, s): f for (h, c, s), f in small.items() if h == hub_id}
        write_hub_repo(tmp_path / "mirror", hub_id, frames, labels.get(hub_id))
    for hub_id, config, split in wanted:
        loaded = datasets.load_dataset(str(tmp_path / "mirror" / hub_id), config, split=split, cache_dir=str(tmp_path / "cache"))
        expected = small[(hub_id, config, split)]
        got = loaded.to_pandas()
        assert list(got.columns) == list(expected.columns)
        for column in expected.columns:
            assert got[column].tolist() == expected[column].tolist(), (hub_id, config, split, column)
    multirc = datasets.load_dataset(str(tmp_path / "mirror" / SG), "multirc", split="train", cache_dir=str(tmp_path / "cache"))
    assert multirc.features["label"].names == ["False", "True"]
    assert multirc.features["idx"]["paragraph"].dtype == "int32"


# --- the mirror stage -------------------------------------------------------------------------------


def _params(tmp_path: Path, train_rows: int, eval_rows: int) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"]["mirror_train_rows"], raw["data"]["mirror_eval_rows"] = train_rows, eval_rows
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _run_mirror(args: list[str]):
    from typer.testing import CliRunner

    import pipeline.mirror  # noqa: F401  (registers the command)
    from pipeline.app import app

    return CliRunner().invoke(app, ["mirror", *args])


def _tree_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_mirror_stage_writes_every_repo_deterministically(tmp_path):
    params = _params(tmp_path, 8, 4)
    first = _run_mirror(["--out", str(tmp_path / "a"), "--params", str(params)])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == f"mirror: 10 repos, 33 splits, 228 rows -> {tmp_path / 'a'}"  # 24*8 + 9*4
    second = _run_mirror(["--out", str(tmp_path / "b"), "--params", str(params)])
    assert second.exit_code == 0, second.output
    a, b = _tree_bytes(tmp_path / "a"), _tree_bytes(tmp_path / "b")
    assert a == b  # byte-identical Parquet and README files
    assert len([name for name in a if name.endswith(".parquet")]) == 33
    assert len([name for name in a if name.endswith("README.md")]) == 9  # trec's Parquet conversion has none
    assert "nyu-mll/glue/mnli/validation_mismatched-00000-of-00001.parquet" in a
    # each repo in its real layout: ag_news under data/, trec and sentiment140 as their Parquet revisions
    assert [n for n in a if n.startswith(("CogComp/", "fancyzhx/ag_news/", "stanfordnlp/sentiment140/"))] == [
        "CogComp/trec/default/train/0000.parquet",
        "fancyzhx/ag_news/README.md",
        "fancyzhx/ag_news/data/train-00000-of-00001.parquet",
        "stanfordnlp/sentiment140/README.md",
        "stanfordnlp/sentiment140/sentiment140/train-00000-of-00001.parquet",
    ]
    readme = yaml.safe_load(a["fancyzhx/ag_news/README.md"].decode().split("---")[1])
    assert readme["configs"] == [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-00000-of-00001.parquet"}]}]


def test_mirror_stage_refuses_bad_params_without_writing(tmp_path):
    params = _params(tmp_path, 2, 4)
    result = _run_mirror(["--out", str(tmp_path / "out"), "--params", str(params)])
    assert result.exit_code == 2
    assert "error: data.mirror_train_rows = 2 is not allowed: must be >= 4" in result.output
    assert not (tmp_path / "out").exists()


# --- templates.py ------------------------------------------------------------------------------------

PLACEHOLDERS = {
    "anli": {"context", "hypothesis"}, "cb": {"premise", "hypothesis"}, "rte": {"premise", "hypothesis"},
    "mnli": {"premise", "hypothesis"}, "snli": {"premise", "hypothesis"}, "qnli": {"question", "sentence"},
    "wnli": {"sentence1", "sentence2"}, "glue_mrpc": {"sentence1", "sentence2"}, "paws_wiki": {"sentence1", "sentence2"},
    "stsb": {"sentence1", "sentence2"}, "imdb_reviews": {"text"}, "sentiment140": {"text"},
    "yelp_polarity_reviews": {"text"}, "trec": {"text"}, "sst2": {"sentence"}, "cola": {"sentence"},
    "glue_qqp": {"question1", "question2"}, "bool_q": {"title", "text", "question"},
    "multirc": {"paragraph", "question", "response"}, "wsc": {"context", "text1", "text2"},
    "ag_news_subset": {"title", "text"}, "wic": {"sentence1", "sentence2", "word"},
}


def _literal_assignments(path: Path) -> tuple[ast.Module, dict[str, object]]:
    tree = ast.parse(path.read_text())
    return tree, {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)}


def _fields(text: str) -> set[str]:
    return set(re.findall(r"\{([a-z_0-9]+)\}", text))


def test_templates_module_is_one_literal_patterns_dict():
    tree, values = _literal_assignments(ROOT / "coin" / "embedded" / "templates.py")
    assert isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant)  # docstring
    assert len(tree.body) == 2 and list(values) == ["PATTERNS"]
    assert set(values["PATTERNS"]) == set(PLACEHOLDERS)


def test_templates_use_flan_placeholders_and_structure():
    patterns = _literal_assignments(ROOT / "coin" / "embedded" / "templates.py")[1]["PATTERNS"]
    for key, templates in patterns.items():
        answer = "{answer_str}" if key == "stsb" else "{answer}"
        classification = [(i, t) for i, t in templates if i.endswith("{options_}") and t == answer]
        inverted = [(i, t) for i, t in templates if "{options_}" not in i]
        assert len(templates) == 6 and len(classification) == 5 and len(inverted) == 1, key
        used = set()
        for input_template, _ in classification:
            fields = _fields(input_template)
            assert fields <= PLACEHOLDERS[key] | {"options_"}, (key, fields)
            used |= fields
        assert used == PLACEHOLDERS[key] | {"options_"}, key
        assert _fields(inverted[0][1]) <= PLACEHOLDERS[key], key  # target of the inverted one is a field
        if key != "cola":
            assert len({i for i, _ in classification}) == 5, key
    cola = [i for i, _ in patterns["cola"]]
    assert len(cola) - len(set(cola)) == 1  # one verbatim duplicate, as FLAN's cola has
    for key in ("bool_q", "ag_news_subset"):
        assert sum("{title}" in i for i, t in patterns[key] if t == "{answer}") == 2, key


# --- instructions.py ---------------------------------------------------------------------------------

LABEL_WORDS = {
    "sst2": ("positive", "negative"), "cola": ("acceptable", "unacceptable"),
    "qqp": ("equivalent", "not_equivalent"), "mrpc": ("equivalent", "not_equivalent"),
    "mnli": ("entailment", "neutral", "contradiction"), "qnli": ("entailment", "not_entailment"),
    "rte": ("entailment", "not_entailment"), "wnli": ("entailment", "not_entailment"),
}
LANGUAGES = ("chinese", "french", "arabic", "spanish", "japanese", "korean")


def test_instruction_sets_cover_every_task_with_label_words():
    tree, sets = _literal_assignments(ROOT / "coin" / "embedded" / "instructions.py")
    assert list(sets) == ["TASK_ORIENTED_PROMPT_SET", "ROLE_ORIENTED_PROMPT_SET", "SEMANTIC_ADV_PROMPT_SET"]
    assert len(tree.body) == 4  # docstring + three literal dicts
    assert set(INSTRUCTION_TASKS) == set(LABEL_WORDS) == {t.instruction_task for t in EVAL_TASKS.values()}
    clean: set[str] = set()
    for kind in ("TASK_ORIENTED_PROMPT_SET", "ROLE_ORIENTED_PROMPT_SET"):
        assert set(sets[kind]) == set(LABEL_WORDS)
        for task, texts in sets[kind].items():
            assert len(texts) == 5 and len(set(texts)) == 5, (kind, task)
            clean.update(texts)
    for task, texts in sets["ROLE_ORIENTED_PROMPT_SET"].items():
        assert all(t.startswith(("As a", "As an", "Acting as", "You are")) for t in texts), task
    for task, languages in sets["SEMANTIC_ADV_PROMPT_SET"].items():
        assert tuple(languages) == LANGUAGES, task
        assert all(len(texts) == 4 for texts in languages.values()), task
    every = [
        (task, text)
        for kind in ("TASK_ORIENTED_PROMPT_SET", "ROLE_ORIENTED_PROMPT_SET")
        for task, texts in sets[kind].items()
        for text in texts
    ] + [(task, text) for task, langs in sets["SEMANTIC_ADV_PROMPT_SET"].items() for texts in langs.values() for text in texts]
    assert len(every) == 8 * (5 + 5 + 6 * 4)
    for task, text in every:
        quoted = set(re.findall(r"'([a-z_]+)'", text))
        assert quoted == set(LABEL_WORDS[task]), (task, text)
        assert "{" not in text and "}" not in text, text
        assert 8 <= len(text.split()) <= 30, text
    semantic = {text for task, langs in sets["SEMANTIC_ADV_PROMPT_SET"].items() for texts in langs.values() for text in texts}
    assert not semantic & clean


def test_embedded_data_modules_are_never_imported_for_data():
    """templates.py and instructions.py hold only literals: parsing them needs no import (and no exec)."""
    for name in ("templates.py", "instructions.py"):
        tree = ast.parse((ROOT / "coin" / "embedded" / name).read_text())
        assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom, ast.Call, ast.FunctionDef))], name
