"""The perturb stage: instruction sources, the four PromptBench groups, the search, the prompt-set file."""

from __future__ import annotations

import hashlib

import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from coin.data.registry import INSTRUCTION_TASKS
from coin.errors import CoinError, DataError
from coin.io import read_parquet, write_parquet
from coin.params import merge, params_from_dict
from coin.prompts import attack as atk
from coin.prompts import embeddings as emb
from coin.prompts import instructions as ins
from coin.prompts import transformations as tf
from coin.prompts.textattack_env import derive_seed, import_textattack, seed_everything
from coin.schemas import EVAL_SET, PROMPTS

ROOT = Path(__file__).resolve().parents[1]

LABELS = {
    "sst2": "positive or negative",
    "cola": "acceptable or unacceptable",
    "qqp": "equivalent or not_equivalent",
    "mrpc": "equivalent or not_equivalent",
    "mnli": "entailment, neutral or contradiction",
    "qnli": "entailment or not_entailment",
    "rte": "entailment or not_entailment",
    "wnli": "entailment or not_entailment",
}
TASK_LINES = [
    "Analyze the sentence and answer with {labels}.",
    "Examine the provided text carefully and reply with {labels}.",
    "Determine the relationship in the statement, answering {labels}.",
    "Evaluate the passage and classify it as {labels}.",
]
ROLE_LINES = [
    "As a careful analyst, classify the sentence as {labels}.",
    "Acting as an expert evaluator, judge the text and respond with {labels}.",
    "In the role of a skilled linguist, decide between {labels}.",
    "Serving as a precise classifier, label the passage {labels}.",
]
SEMANTIC_LINES = {
    "french": ["Read the text and tell me: {labels}?", "Say which fits the sentence: {labels}.", "Analyze the sentence and answer with {labels}."],
    "spanish": ["Look at the words and pick {labels}.", "Which describes the passage, {labels}?", "Give one answer, {labels}."],
}


def fixture_sets() -> dict:
    """Three PromptBench-shaped dicts (our own strings) covering every instruction task."""
    task = {t: [line.format(labels=LABELS[t]) for line in TASK_LINES] for t in INSTRUCTION_TASKS}
    role = {t: [line.format(labels=LABELS[t]) for line in ROLE_LINES] for t in INSTRUCTION_TASKS}
    sem = {t: {lang: [line.format(labels=LABELS[t]) for line in lines] for lang, lines in SEMANTIC_LINES.items()} for t in INSTRUCTION_TASKS}
    task["math"] = ["Solve it."]  # tasks outside ours are ignored
    return {"TASK_ORIENTED_PROMPT_SET": task, "ROLE_ORIENTED_PROMPT_SET": role, "SEMANTIC_ADV_PROMPT_SET": sem}


def module_text(variable: str, value: object) -> str:
    """A prompt module in PromptBench's shape: a docstring, then one dict assignment."""
    return f'"""Prompts written for the tests."""\n\nraise SystemExit("never executed")\n\n{variable} = {value!r}\n'


def write_prompt_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    sets = fixture_sets()
    for module in ins.PROMPT_MODULES.values():
        (folder / Path(module.path).name).write_text(module_text(module.variable, sets[module.variable]))
    return folder


# Our own sentences for the entries that are malformed in the current release: rte and wnli open with an
# instruction whose quoted label words hold the input slot, qqp with one that has no slot.
QUOTED = 'Reply "entailment" or "not_entailment", just one word.'
PLAIN_QQP = 'Say "equivalent" or "not_equivalent" for the pair.'
TASK_SLOT, ROLE_SLOT = "\nQuestion:{content}\nAnswer:", "\nQuestion: {content}\nAnswer:"


def paper_era_sets() -> dict:
    """fixture_sets plus the plain forms of the entries that are malformed in the current release."""
    sets = fixture_sets()
    for task in ("rte", "wnli"):
        sets["TASK_ORIENTED_PROMPT_SET"][task].insert(0, QUOTED)
    sets["TASK_ORIENTED_PROMPT_SET"]["qqp"].insert(0, PLAIN_QQP)
    return sets


def write_current_folder(folder: Path, extra_sst2: tuple[str, ...] = ()) -> Path:
    """The same instructions in the current release's layout: package paths, *_PROMPTS names, input slots,
    rte/wnli's first entry with its slot inside the quotes, qqp's first without a slot."""
    sets = paper_era_sets()
    task = {t: [x + TASK_SLOT for x in v] for t, v in sets["TASK_ORIENTED_PROMPT_SET"].items()}
    role = {t: [x + ROLE_SLOT for x in v] for t, v in sets["ROLE_ORIENTED_PROMPT_SET"].items()}
    for t in ("rte", "wnli"):
        task[t][0] = QUOTED.replace('not_entailment"', "not_entailment" + TASK_SLOT + '"')
    task["qqp"][0] = PLAIN_QQP
    task["sst2"] += list(extra_sst2)
    values = {"task_oriented": task, "role_oriented": role, "semantic": sets["SEMANTIC_ADV_PROMPT_SET"]}
    for name, module in ins.PROMPT_MODULES.items():
        path = folder / module.current_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(module_text(module.current_variable, values[name]))
    return folder


def write_paper_era_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    sets = paper_era_sets()
    for module in ins.PROMPT_MODULES.values():
        (folder / module.path).parent.mkdir(parents=True, exist_ok=True)
        (folder / module.path).write_text(module_text(module.variable, sets[module.variable]))
    return folder


@pytest.fixture(scope="module")
def ta(tmp_path_factory):
    return import_textattack(tmp_path_factory.mktemp("cache") / "textattack")


def test_textattack_imports_without_flair(ta):
    """TextAttack is installed --no-deps without flair: stand-ins serve its import, then leave sys.modules."""
    import importlib.util
    import sys

    from coin.prompts.textattack_env import FLAIR_MODULES, FlairMissing

    assert importlib.util.find_spec("flair") is None  # make setup installs no flair
    assert [name for name in FLAIR_MODULES if name in sys.modules] == []
    text = ta.shared.AttackedText("The film was great.")
    assert text.words == ["The", "film", "was", "great"]  # what the recipes use works
    message = "flair is not installed: TextAttack's part-of-speech and named-entity tagging are not available"
    with pytest.raises(FlairMissing, match=f"^{message}$"):
        text.pos_of_word_index(1)  # flair's tagger: a path no recipe of ours takes
    with pytest.raises(FlairMissing, match=f"^{message}$"):
        text.ner_of_word_index(1)


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    folder = write_prompt_folder(tmp_path_factory.mktemp("prompts"))
    return ins.load_instruction_sets(str(folder), tmp_path_factory.mktemp("unused"))


@pytest.fixture(scope="module")
def embedding(ta):
    return emb.resolve_embedding("embedded", ta)


def perturb_params(**override):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    return params_from_dict(merge(raw, {"perturb": override}))


# --- instruction sources ------------------------------------------------------------------------


def test_parse_prompt_module_reads_the_literal_without_running_it():
    source = module_text("ROLE_ORIENTED_PROMPT_SET", {"sst2": ["Be a judge of tone."]})
    assert ins.parse_prompt_module(source, "ROLE_ORIENTED_PROMPT_SET", "role.py") == {"sst2": ["Be a judge of tone."]}
    with pytest.raises(DataError) as info:
        ins.parse_prompt_module(source, "TASK_ORIENTED_PROMPT_SET", "role.py")
    assert str(info.value) == "role.py: no top-level assignment to TASK_ORIENTED_PROMPT_SET: expected a PromptBench prompt module"
    with pytest.raises(DataError) as info:
        ins.parse_prompt_module("X = {'sst2': [open('f').read()]}\n", "X", "x.py")
    assert str(info.value) == "x.py: X is not a literal dict of strings"


def test_read_entry_rules():
    assert ins.read_entry("Pick one of the labels." + TASK_SLOT, True) == ("Pick one of the labels.", {"input_slot": TASK_SLOT})
    assert ins.read_entry("Pick one. " + ROLE_SLOT, True) == ("Pick one.", {"input_slot": ROLE_SLOT})
    mid = 'Answer "yes" or "no' + TASK_SLOT + '", one word.'
    assert ins.read_entry(mid, True) == ('Answer "yes" or "no", one word.', {"input_slot": TASK_SLOT, "repair": ins.REPAIR_MID_SLOT})
    assert ins.read_entry("Pick one.", True) == ("Pick one.", {"repair": ins.NO_SLOT})
    assert ins.read_entry("Pick one.", False) == ("Pick one.", {})
    assert ins.read_entry("Compare {content} with {content}.", True) == (
        None, {"reason": "2 {content} placeholder(s), not one input slot of the form \\n<label>:{content}\\n<label>:"}
    )
    assert ins.read_entry(TASK_SLOT, True) == (None, {"reason": "nothing but an input slot"})


def test_both_promptbench_layouts_read_to_the_same_clean_instructions(tmp_path):
    paper_notes, current_notes = ins.SourceNotes(), ins.SourceNotes()
    paper = ins.load_instruction_sets(str(write_paper_era_folder(tmp_path / "paper")), tmp_path, notes=paper_notes)
    current = ins.load_instruction_sets(
        str(write_current_folder(tmp_path / "current", ("Compare {content} and {content}.",))), tmp_path, notes=current_notes
    )
    assert current == paper
    assert paper["rte"]["task_oriented"][0] == QUOTED and paper["qqp"]["task_oriented"][0] == PLAIN_QQP
    assert (paper_notes.entries, paper_notes.skipped) == ({}, {})
    assert current_notes.entries[("rte", "task_oriented", 0)] == {"source_position": 0, "input_slot": TASK_SLOT, "repair": ins.REPAIR_MID_SLOT}
    assert current_notes.entries[("qqp", "task_oriented", 0)] == {"source_position": 0, "repair": ins.NO_SLOT}
    assert current_notes.entries[("sst2", "role_oriented", 1)] == {"source_position": 1, "input_slot": ROLE_SLOT}
    assert current_notes.skipped == {
        "sst2": [{"kind": "task_oriented", "source_position": 4, "reason": "2 {content} placeholder(s), not one input slot of the form \\n<label>:{content}\\n<label>:"}]
    }


def test_a_folder_with_neither_layouts_names_is_one_line(tmp_path):
    folder = write_prompt_folder(tmp_path / "p")
    (folder / "task_oriented.py").write_text(module_text("PROMPTS", {}))
    with pytest.raises(DataError) as info:
        ins.load_instruction_sets(str(folder), tmp_path)
    assert str(info.value) == (
        f"{folder / 'task_oriented.py'}: no top-level assignment to TASK_ORIENTED_PROMPT_SET (paper-era PromptBench) or "
        "TASK_ORIENTED_PROMPTS (current release): expected a PromptBench prompt module"
    )


def test_pinned_current_release_reads_the_modules_inside_its_checked_wheel(tmp_path, monkeypatch):
    import dataclasses
    import hashlib
    import io
    import zipfile

    source = write_current_folder(tmp_path / "current")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for module in ins.PROMPT_MODULES.values():
            archive.write(source / module.current_path, module.current_path)
    wheel = buffer.getvalue()
    with pytest.raises(DataError) as info:  # the real pins refuse our stand-in wheel
        ins.load_instruction_sets("pinned-current", tmp_path / "cache", download=lambda url: wheel)
    got = hashlib.sha256(wheel).hexdigest()
    assert str(info.value) == f"{ins.PROMPTBENCH_WHEEL}: sha256 {got} does not match the pinned {ins.PROMPTBENCH_WHEEL_SHA256}"
    monkeypatch.setattr(ins, "PROMPTBENCH_WHEEL_SHA256", got)
    pins = {
        n: dataclasses.replace(m, current_sha256=hashlib.sha256((source / m.current_path).read_bytes()).hexdigest())
        for n, m in ins.PROMPT_MODULES.items()
    }
    monkeypatch.setattr(ins, "PROMPT_MODULES", pins)
    urls = []
    sets = ins.load_instruction_sets("pinned-current", tmp_path / "cache", download=lambda url: urls.append(url) or wheel)
    assert sets == ins.load_instruction_sets(str(write_paper_era_folder(tmp_path / "paper")), tmp_path)
    assert urls == [ins.PROMPTBENCH_WHEEL]
    assert ins.source_label("pinned-current") == "pinned-current"


def test_folder_sets_have_both_kinds_and_each_language(sets):
    assert sorted(sets) == sorted(INSTRUCTION_TASKS)
    assert sets["cola"]["task_oriented"][0] == "Analyze the sentence and answer with acceptable or unacceptable."
    assert sets["mnli"]["role_oriented"][2] == "In the role of a skilled linguist, decide between entailment, neutral or contradiction."
    assert sorted(sets["rte"]) == ["role_oriented", "semantic:french", "semantic:spanish", "task_oriented"]


def test_pinned_module_downloads_once_and_checks_sha256_on_every_read(tmp_path):
    text = module_text("TASK_ORIENTED_PROMPT_SET", {"sst2": ["Rate the tone."]}).encode()
    module = dataclasses.replace(ins.PROMPT_MODULES["task_oriented"], sha256=_sha256(text))
    urls = []

    def download(url):
        urls.append(url)
        return text

    assert ins.read_pinned_module(module, tmp_path, download) == text.decode()
    assert ins.read_pinned_module(module, tmp_path, download) == text.decode()
    assert urls == [f"https://raw.githubusercontent.com/microsoft/promptbench/{ins.PROMPTBENCH_COMMIT}/prompts/zero_shot/task_oriented.py"]
    cached = tmp_path / "promptbench" / ins.PROMPTBENCH_COMMIT / "prompts/zero_shot/task_oriented.py"
    cached.write_bytes(b"TASK_ORIENTED_PROMPT_SET = {}\n")
    with pytest.raises(DataError) as info:
        ins.read_pinned_module(module, tmp_path, download)
    got = _sha256(b"TASK_ORIENTED_PROMPT_SET = {}\n")
    assert str(info.value) == f"{cached} (delete it to download again): sha256 {got} does not match the pinned {module.sha256}"


def test_pinned_download_with_a_wrong_checksum_is_refused_and_not_cached(tmp_path):
    module = ins.PROMPT_MODULES["semantic"]
    with pytest.raises(DataError) as info:
        ins.load_instruction_sets("pinned", tmp_path, download=lambda url: b"SEMANTIC_ADV_PROMPT_SET = {}\n")
    first = ins.PROMPT_MODULES["task_oriented"]
    url = f"https://raw.githubusercontent.com/microsoft/promptbench/{ins.PROMPTBENCH_COMMIT}/{first.path}"
    got = _sha256(b"SEMANTIC_ADV_PROMPT_SET = {}\n")
    assert str(info.value) == f"{url}: sha256 {got} does not match the pinned {first.sha256}"
    assert module.sha256 == "0d88a6aff65a6109506f17276b6821fa9fb8cd0845306598568b28a214af8d6c"
    assert not (tmp_path / "promptbench").exists()


def test_selection_first_random_and_top(sets):
    first = ins.select_instructions("sst2", sets["sst2"], 5, "first", 42)
    assert [(i.prompt_id, i.kind, i.position) for i in first] == [
        (0, "task_oriented", 0), (1, "task_oriented", 1), (2, "task_oriented", 2), (3, "role_oriented", 0), (4, "role_oriented", 1),
    ]
    chosen = ins.select_instructions("sst2", sets["sst2"], 4, "random", 42)
    assert [(i.kind, i.position) for i in chosen] == [("task_oriented", 1), ("task_oriented", 3), ("role_oriented", 1), ("role_oriented", 3)]

    def score(texts):  # longer instructions score higher
        return [len(t) / 100 for t in texts]

    top = ins.select_instructions("sst2", sets["sst2"], 2, "top", 42, score)
    assert [(i.kind, i.position) for i in top] == [("task_oriented", 2), ("role_oriented", 1)]
    with pytest.raises(DataError) as info:
        ins.select_instructions("sst2", sets["sst2"], 10, "first", 42)
    assert str(info.value) == "perturb.n_instructions = 10 needs 5 task_oriented instructions for sst2; the set has 4"


def test_semantic_pairs_by_position_and_never_repeats_a_clean_text(sets):
    clean = ins.select_instructions("sst2", sets["sst2"], 6, "first", 42)
    picked = ins.semantic_instructions("sst2", sets["sst2"], ["french", "spanish"], clean, 42)
    assert [(i.prompt_id, lang, i.position) for i, lang in picked] == [(0, "french", 0), (1, "spanish", 0)]
    assert picked[0][0].text == "Read the text and tell me: positive or negative?"
    # the third French line equals a clean instruction, so it is never chosen
    assert all(i.text not in {c.text for c in clean} for i, _ in picked)
    one = ins.select_instructions("sst2", sets["sst2"], 1, "first", 42)
    assert len(ins.semantic_instructions("sst2", sets["sst2"], ["french", "spanish"], one, 42)) == 1
    with pytest.raises(DataError) as info:
        ins.semantic_instructions("sst2", sets["sst2"], ["korean"], clean, 42)
    assert str(info.value) == "the instruction sets have no 'korean' semantic prompts for sst2: perturb.languages allows only languages they list"


# --- transformations ------------------------------------------------------------------------------


def test_checklist_sequence_goes_before_the_final_punctuation():
    assert tf.insert_before_final_punctuation("Classify the sentence.", "Ab3") == "Classify the sentence Ab3."
    assert tf.insert_before_final_punctuation("Reply 'yes' or 'no':  ", "Ab3") == "Reply 'yes' or 'no' Ab3:"
    assert tf.insert_before_final_punctuation("Is it so?!", "Ab3") == "Is it so Ab3?!"
    assert tf.insert_before_final_punctuation("No punctuation here", "Ab3") == "No punctuation here Ab3"
    assert tf.random_sequences(random.Random(7), 2) == ["UJoEhWDfCa", "EFazHNm6jY"]


def test_protected_words_are_label_words_and_their_parts():
    assert tf.protected_words("qnli") == frozenset({"entailment", "not_entailment", "not"})
    assert tf.protected_words("sst2") == frozenset({"negative", "positive"})


def test_deepwordbug_random_edit_on_a_fixed_seed(ta):
    recipe = tf.deepwordbug_recipe(ta, "sst2", 30)
    text = "Analyze the sentence and answer with Positive or 'negative'."
    seed_everything(5)
    outcome = atk.random_word_edits(text, recipe, random.Random(5), 0.5, ta)
    assert outcome.text == "Analyze the sentenwce and ansewr with Positive or 'negative'."
    assert outcome.edits == [{"index": 2, "from": "sentence", "to": "sentenwce"}, {"index": 4, "from": "answer", "to": "ansewr"}]
    assert outcome.status == "random" and outcome.harmful is None


def test_textfooler_random_edit_on_a_fixed_seed(ta, embedding):
    recipe = tf.textfooler_recipe(ta, "sst2", *embedding, 50, 0.6)
    text = "Analyze the sentence and answer with positive or negative."
    seed_everything(5)
    outcome = atk.random_word_edits(text, recipe, random.Random(5), 1.0, ta)
    assert outcome.text == "Investigate the clause and reply with positive or negative."
    assert outcome.edits == [
        {"index": 0, "from": "Analyze", "to": "Investigate"},
        {"index": 2, "from": "sentence", "to": "clause"},
        {"index": 4, "from": "answer", "to": "reply"},
    ]


def test_checklist_random_on_a_fixed_seed():
    outcome = atk.random_checklist("Decide whether the text is positive or negative.", random.Random(3))
    assert outcome.text == "Decide whether the text is positive or negative OhWlmEAzQO."
    assert outcome.edits == [{"inserted": "OhWlmEAzQO"}]


def test_label_words_and_stopwords_survive_every_edit(ta, embedding):
    text = "Classify the review as Positive or 'negative', answer with positive."
    for recipe in (tf.deepwordbug_recipe(ta, "sst2", 30), tf.textfooler_recipe(ta, "sst2", *embedding, 50, 0.6)):
        original = ta.shared.AttackedText(text)
        assert tf.modifiable_indices(recipe, original) == [0, 2, 7]  # Classify, review, answer
        for seed in range(5):
            seed_everything(seed)
            outcome = atk.random_word_edits(text, recipe, random.Random(seed), 1.0, ta)
            words = ta.shared.AttackedText(outcome.text).words
            assert [words[i] for i in (1, 3, 4, 5, 6, 8, 9)] == ["the", "as", "Positive", "or", "negative", "with", "positive"]
            assert outcome.text != text


def test_a_swap_never_introduces_a_label_word(ta, tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("judge 1.0 0.0\nentailment 0.9 0.1\nassess 0.95 0.05\n")
    embedding = emb.to_textattack(emb.read_word_vectors(vectors), ta)
    recipe = tf.textfooler_recipe(ta, "rte", embedding, "file", 50, 0.6)
    original = ta.shared.AttackedText("Judge it")
    assert [t.text for t in tf.candidates(recipe, original, original, [0])] == ["Assess it"]


# --- the search -----------------------------------------------------------------------------------


def stub_scorer(harmful_word: str, base: float = 0.75):
    """Accuracy 0.25 for texts containing `harmful_word`, 0.5 when a word was deleted, else `base`."""
    asked = []

    def score(texts):
        asked.extend(texts)
        return [0.25 if harmful_word in t else base for t in texts]

    return score, asked


def test_greedy_search_picks_the_harmful_swap_and_scores_no_text_twice(ta, embedding):
    recipe = tf.textfooler_recipe(ta, "sst2", *embedding, 50, 0.6)
    score, asked = stub_scorer("Examine")
    scorer = atk.CachedScorer(score)
    clean = "Analyze the sentence and answer with positive or negative."
    outcome = atk.greedy_attack(clean, recipe, atk.QueryBudget(scorer, 40), ta)
    assert outcome.text == "Examine the sentence and answer with positive or negative."
    assert outcome.status == "harmful" and outcome.harmful is True
    assert (outcome.accuracy_before, outcome.accuracy_after) == (0.75, 0.25)
    assert outcome.edits == [{"index": 0, "from": "Analyze", "to": "Examine"}]
    assert len(asked) == len(set(asked)) == outcome.queries <= 40
    again = atk.greedy_attack(clean, recipe, atk.QueryBudget(scorer, 40), ta)
    assert again.text == outcome.text and scorer.hits == outcome.queries and len(asked) == outcome.queries


def test_greedy_search_keeps_the_lowest_candidate_when_nothing_helps(ta):
    recipe = tf.deepwordbug_recipe(ta, "sst2", 30)
    scorer = atk.CachedScorer(lambda texts: [0.5] * len(texts))
    seed_everything(11)
    clean = "Analyze the sentence and answer with positive or negative."
    outcome = atk.greedy_attack(clean, recipe, atk.QueryBudget(scorer, 12), ta)
    assert outcome.status == "not_harmful" and outcome.harmful is False
    assert outcome.text == "Aanlyze the sentence and answer with positive or negative."
    assert outcome.queries == 12 and (outcome.accuracy_before, outcome.accuracy_after) == (0.5, 0.5)


def test_no_candidate_keeps_the_clean_text(ta):
    recipe = tf.deepwordbug_recipe(ta, "sst2", 30)
    scorer = atk.CachedScorer(lambda texts: [0.5] * len(texts))
    outcome = atk.greedy_attack("is it positive or negative?", recipe, atk.QueryBudget(scorer, 10), ta)
    assert (outcome.text, outcome.status, outcome.queries) == ("is it positive or negative?", "no_candidate", 1)
    # stopwords match case-sensitively, as in TextAttack: a capitalised "Is" may be edited
    assert tf.modifiable_indices(recipe, ta.shared.AttackedText("Is it positive or negative?")) == [0]


def test_checklist_search_picks_the_most_harmful_sequence():
    sequences = atk.checklist_sequences(derive_seed(42, "checklist"))
    assert len(sequences) == 50 and all(len(s) == 10 and s.isalnum() for s in sequences)
    target = sequences[7]
    scorer = atk.CachedScorer(lambda texts: [0.1 if target in t else 0.6 for t in texts])
    outcome = atk.checklist_attack("Is the text positive or negative?", sequences, atk.QueryBudget(scorer, 40))
    assert outcome.text == f"Is the text positive or negative {target}?"
    assert (outcome.status, outcome.queries, outcome.details()["candidates"]) == ("harmful", 40, 39)


# --- embeddings -----------------------------------------------------------------------------------


def test_embedded_vectors_are_regenerated_byte_for_byte():
    vectors = emb.generate_word_vectors(emb.read_synonym_groups())
    assert emb.format_word_vectors(vectors) == emb.EMBEDDED_VECTORS.read_text()
    loaded = emb.read_word_vectors(emb.EMBEDDED_VECTORS)
    index = {w: i for i, w in enumerate(loaded.words)}
    sims = loaded.matrix @ loaded.matrix.T
    assert sims[index["classify"], index["categorize"]] >= 0.6
    assert sims[index["classify"], index["sentence"]] < 0.6


def test_word2vec_header_and_missing_embedding_file(tmp_path):
    path = tmp_path / "w2v.txt"
    path.write_text("2 2\nrate 3 4\nscore 4 3\n")
    vectors = emb.read_word_vectors(path)
    assert vectors.words == ["rate", "score"]
    np.testing.assert_allclose(vectors.matrix, [[0.6, 0.8], [0.8, 0.6]])
    with pytest.raises(CoinError) as info:
        emb.read_word_vectors(tmp_path / "glove.txt")
    assert str(info.value) == f"perturb.embedding = '{tmp_path / 'glove.txt'}' is not a file: use embedded, textattack or a path to a word2vec/GloVe text file"


def test_sentence_encoder_choices(ta, tmp_path):
    assert emb.resolve_sentence_encoder("none", ta) == (None, "none")
    with pytest.raises(CoinError) as info:
        emb.resolve_sentence_encoder(str(tmp_path / "nope"), ta)
    assert str(info.value) == f"perturb.sentence_encoder = '{tmp_path / 'nope'}' is not allowed: use none, use or an existing encoder folder"


# --- the prompt set and the stage -----------------------------------------------------------------


def eval_frame() -> pd.DataFrame:
    rows = []
    for task, words in (("sst2", ("negative", "positive")), ("mnli_m", ("entailment", "neutral", "contradiction"))):
        for idx in range(6):
            rows.append({"task": task, "idx": 10 - idx, "content": f"Made-up example number {idx}.", "label": idx % len(words), "label_word": words[idx % len(words)]})
    return pd.DataFrame(rows)


def test_perturb_task_adversarial_rows_with_a_stub_scorer(ta, embedding, sets):
    params = perturb_params(n_instructions=2, query_budget=12, languages=["french", "spanish"]).perturb
    tools = atk.AttackTools(ta, *embedding)
    scorer = atk.CachedScorer(lambda texts: [0.2 if "Examine" in t else 0.6 for t in texts])
    rows = atk.perturb_task("sst2", sets["sst2"], params, 42, "local", tools, scorer)
    frame = ins.check_prompt_set(pd.DataFrame(rows), "rows")
    assert list(zip(frame["group"], frame["prompt_id"])) == [
        ("clean", 0), ("clean", 1), ("deepwordbug", 0), ("deepwordbug", 1), ("textfooler", 0), ("textfooler", 1),
        ("checklist", 0), ("checklist", 1), ("semantic", 0), ("semantic", 1),
    ]
    details = [json.loads(d) for d in frame["details"]]
    assert details[0] == {"accuracy": 0.6, "kind": "task_oriented", "position": 0}
    assert frame["text"][4] == "Examine the sentence and answer with positive or negative."
    assert details[4]["harmful"] is True and details[4]["embedding"] == "embedded:coin/embedded/word_vectors.txt"
    assert all(d["queries"] <= 12 for d in details[2:8])
    assert frame["origin"].tolist()[8:] == ["local:semantic:french", "local:semantic:spanish"]


def write_stage_inputs(tmp_path: Path, **perturb) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw = merge(raw, {"data": {"cache_dir": str(tmp_path / "cache")}, "perturb": perturb})
    params_from_dict(raw)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    write_parquet(eval_frame(), tmp_path / "eval.parquet", EVAL_SET)
    return tmp_path / "params.yaml"


def run_stage(tmp_path: Path, params: Path, out: Path) -> None:
    from pipeline.perturb import perturb

    perturb(model=str(tmp_path / "no-model"), eval_path=str(tmp_path / "eval.parquet"), out=str(out), params_path=str(params))


def test_stage_random_mode_is_deterministic(ta, tmp_path):
    folder = write_prompt_folder(tmp_path / "prompts")
    params = write_stage_inputs(tmp_path, mode="random", instructions=str(folder), n_instructions=2, languages=["spanish", "french"])
    run_stage(tmp_path, params, tmp_path / "a.parquet")
    run_stage(tmp_path, params, tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    frame = read_parquet(tmp_path / "a.parquet", PROMPTS)
    assert sorted(set(frame["task"])) == ["mnli", "sst2"]
    assert len(frame) == 2 * 2 * 5
    perturbed = frame[frame["group"] != "clean"]
    assert (perturbed["text"] != perturbed["clean_text"]).all()
    mnli = frame[(frame["task"] == "mnli") & (frame["group"] == "checklist")]
    assert mnli["text"].tolist() == [
        "Analyze the sentence and answer with entailment, neutral or contradiction OLl6Sv25mW.",
        "As a careful analyst, classify the sentence as entailment, neutral or contradiction 8dCeRN1pZM.",
    ]
    textfooler = frame[frame["group"] == "textfooler"]["text"].tolist()
    assert textfooler[0] == "Analyze the statement and answer with positive or negative."
    assert textfooler[3] == "As a careful analyst, categorize the sentence as entailment, neutral or contradiction."


def test_stage_records_the_current_layouts_slots_and_skipped_entries(tmp_path):
    skipped = "Compare {content} and {content}."
    folder = write_current_folder(tmp_path / "current", (skipped,))
    params = write_stage_inputs(tmp_path, mode="random", instructions=str(folder), n_instructions=2, groups=["checklist"])
    run_stage(tmp_path, params, tmp_path / "current.parquet")
    current = read_parquet(tmp_path / "current.parquet", PROMPTS)
    params = write_stage_inputs(tmp_path, mode="random", instructions=str(write_paper_era_folder(tmp_path / "paper")), n_instructions=2, groups=["checklist"])
    run_stage(tmp_path, params, tmp_path / "paper.parquet")
    paper = read_parquet(tmp_path / "paper.parquet", PROMPTS)
    assert current["text"].tolist() == paper["text"].tolist()  # same clean instructions, same perturbations
    sst2 = [json.loads(d) for d in current[(current["task"] == "sst2") & (current["group"] == "clean")]["details"]]
    assert sst2[0]["source"] == {"source_position": 0, "input_slot": TASK_SLOT}
    assert sst2[1]["source"] == {"source_position": 0, "input_slot": ROLE_SLOT}
    assert sst2[0]["source_skipped"] == [{"kind": "task_oriented", "source_position": 4, "reason": ins.read_entry(skipped, True)[1]["reason"]}]
    assert "source" not in json.loads(paper["details"].iloc[0])


def test_file_mode_round_trips_json_and_parquet(tmp_path):
    records = [
        {"task": "rte", "prompt_id": 0, "group": "clean", "text": "Say if one follows.", "clean_text": "Say if one follows.", "origin": "mine", "details": {}},
        {"task": "rte", "prompt_id": 0, "group": "checklist", "text": "Say if one follows zz.", "clean_text": "Say if one follows.", "origin": "mine", "details": {"status": "manual"}},
    ]
    source = tmp_path / "set.json"
    source.write_text(json.dumps(records))
    params = write_stage_inputs(tmp_path, mode="file", file=str(source))
    run_stage(tmp_path, params, tmp_path / "out.parquet")
    frame = read_parquet(tmp_path / "out.parquet", PROMPTS)
    assert frame["text"].tolist() == ["Say if one follows.", "Say if one follows zz."]
    assert frame["details"].tolist() == ["{}", '{"status": "manual"}']
    params = write_stage_inputs(tmp_path, mode="file", file=str(tmp_path / "out.parquet"))
    run_stage(tmp_path, params, tmp_path / "again.parquet")
    assert (tmp_path / "again.parquet").read_bytes() == (tmp_path / "out.parquet").read_bytes()


def test_prompt_set_errors_are_one_line(tmp_path):
    from pipeline.perturb import read_prompt_file

    good = {"task": "rte", "prompt_id": 0, "group": "clean", "text": "Say.", "clean_text": "Say.", "origin": "mine", "details": "{}"}
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps([{k: v for k, v in good.items() if k != "origin"}]))
    with pytest.raises(DataError) as info:
        ins.check_prompt_set(read_prompt_file(str(missing)), str(missing))
    assert str(info.value) == f"{missing}: missing column 'origin' (prompt set needs task, prompt_id, group, text, clean_text, origin, details)"
    with pytest.raises(DataError) as info:
        ins.check_prompt_set(pd.DataFrame([good, {**good, "group": "typos", "text": "Sya."}]), "set.json")
    assert str(info.value) == "set.json: row 1 (rte, typos, prompt 0) has group 'typos': use one of clean, deepwordbug, textbugger, textfooler, bertattack, checklist, stresstest, semantic"
    with pytest.raises(DataError) as info:
        ins.check_prompt_set(pd.DataFrame([good, {**good, "group": "semantic"}]), "set.json")
    assert str(info.value) == "set.json: row 1 (rte, semantic, prompt 0): the perturbed text equals its clean_text (allowed only with details status no_candidate)"
    with pytest.raises(CoinError) as info:
        read_prompt_file(str(tmp_path / "set.csv"))
    assert str(info.value) == f"perturb.file = '{tmp_path / 'set.csv'}' does not exist: give a JSON or Parquet prompt set"


@pytest.fixture
def one_torch_thread():
    """One intra-op thread: tiny matrices gain nothing from more, and a shared CPU makes them slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_stage_adversarial_with_the_tiny_model(ta, tiny_lm, tmp_path, one_torch_thread):
    model, tokenizer = tiny_lm
    model.save_pretrained(str(tmp_path / "model"))
    tokenizer.save_pretrained(str(tmp_path / "model"))
    folder = write_prompt_folder(tmp_path / "prompts")
    params = write_stage_inputs(
        tmp_path, instructions=str(folder), n_instructions=2, n_attack_samples=2, query_budget=4, languages=["french", "spanish"]
    )
    from pipeline.perturb import perturb

    for name in ("a", "b"):
        perturb(model=str(tmp_path / "model"), eval_path=str(tmp_path / "eval.parquet"), out=str(tmp_path / f"{name}.parquet"), params_path=str(params))
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    frame = read_parquet(tmp_path / "a.parquet", PROMPTS)
    assert len(frame) == 2 * 2 * 5
    details = [json.loads(d) for d in frame["details"]]
    searched = [d for d, g in zip(details, frame["group"]) if g in ("deepwordbug", "textfooler", "checklist")]
    assert len(searched) == 12 and all(1 <= d["queries"] <= 4 for d in searched)
    assert {d["accuracy_before"] for d in searched} <= {0.0, 0.5, 1.0}
    assert all(d["harmful"] == (d["accuracy_after"] < d["accuracy_before"]) for d in searched if d["accuracy_after"] is not None)
    clean = [d for d, g in zip(details, frame["group"]) if g == "clean"]
    assert all(d["accuracy"] in (0.0, 0.5, 1.0) for d in clean)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
