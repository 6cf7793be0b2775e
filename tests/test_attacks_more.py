"""The search's TextBugger (character and word), BertAttack (word) and StressTest (sentence) groups:
candidates on fixed instructions, label words never edited, the query budget, the outcome details,
random mode per seed."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from coin.prompts import attack as atk
from coin.prompts import embeddings as emb
from coin.prompts import instructions as ins
from coin.prompts import transformations as tf
from coin.prompts.textattack_env import import_textattack, seed_everything
from tests.test_perturb import perturb_params, write_prompt_folder

TEXT = "Analyze the sentence and answer with positive or negative."


@pytest.fixture(scope="module")
def ta(tmp_path_factory):
    return import_textattack(tmp_path_factory.mktemp("cache") / "textattack")


@pytest.fixture(scope="module")
def embedding(ta):
    return emb.resolve_embedding("embedded", ta)


def test_stresstest_candidates_are_promptbenchs_three_distractions():
    assert tf.STRESSTEST_DISTRACTIONS == (
        "and true is true", "and false is not true",
        "and true is true and true is true and true is true and true is true and true is true")
    asked = []

    def score(texts):
        asked.extend(texts)
        return [0.2 if "false" in t else 0.6 for t in texts]

    outcome = atk.checklist_attack("Reply 'positive' or 'negative':", list(tf.STRESSTEST_DISTRACTIONS), atk.QueryBudget(atk.CachedScorer(score), 8))
    assert asked == [
        "Reply 'positive' or 'negative':",
        "Reply 'positive' or 'negative' and true is true:",
        "Reply 'positive' or 'negative' and false is not true:",
        "Reply 'positive' or 'negative' and true is true and true is true and true is true and true is true and true is true:",
    ]
    assert outcome.text == "Reply 'positive' or 'negative' and false is not true:"
    assert outcome.details() == {"status": "harmful", "edits": [{"inserted": "and false is not true"}], "queries": 4,
                                 "accuracy_before": 0.6, "accuracy_after": 0.2, "harmful": True, "candidates": 3}


def test_stresstest_respects_the_budget_and_random_mode_is_seeded():
    scorer = atk.CachedScorer(lambda texts: [0.5] * len(texts))
    outcome = atk.checklist_attack("Is it positive?", list(tf.STRESSTEST_DISTRACTIONS), atk.QueryBudget(scorer, 2))
    assert (outcome.queries, outcome.text, outcome.status) == (2, "Is it positive and true is true?", "not_harmful")
    draws = [atk.random_checklist("Is it positive?", random.Random(seed), list(tf.STRESSTEST_DISTRACTIONS)).text for seed in (1, 1, 0)]
    assert draws[0] == draws[1] and all(d.startswith("Is it positive and ") and d.endswith("?") for d in draws)
    assert draws[0] == "Is it positive and true is true?" and draws[2] == "Is it positive and false is not true?"


def test_textbugger_candidates_at_one_word(ta, embedding):
    recipe = tf.textbugger_recipe(ta, "sst2", *embedding)
    original = ta.shared.AttackedText(TEXT)
    assert tf.modifiable_indices(recipe, original) == [0, 2, 4]  # Analyze, sentence, answer
    seed_everything(3)
    texts = [t.text.split()[2] for t in tf.candidates(recipe, original, original, [2])]
    # one space inserted, one inner letter deleted, one inner neighbour swap (first and last letters kept;
    # drawn from the seeded generators), one candidate per letter with a Cyrillic homoglyph, then the
    # embedding's 5 nearest neighbours (no cosine bound in TextBugger)
    cyrillic_s, cyrillic_e, cyrillic_c = "\u0455", "\u0435", "\u0441"
    assert texts == [
        "sen", "sntence", "setnence",
        f"{cyrillic_s}entence", f"s{cyrillic_e}ntence", f"sent{cyrillic_e}nce", f"senten{cyrillic_c}e", f"sentenc{cyrillic_e}",
        "statement", "phrase", "utterance", "clause", "curator",
    ]
    assert recipe.settings == {"embedding": "embedded:coin/embedded/word_vectors.txt", "max_candidates": 5, "sentence_encoder": "none"}


def assert_label_words_and_placeholders_kept(recipe, ta, seeds: int) -> None:
    """Every word edited where allowed (edit rate 1), and the label words and `{content}` untouched."""
    text = "Classify the review {content} as Positive or 'negative', answer with positive."
    for seed in range(seeds):
        seed_everything(seed)
        outcome = atk.random_word_edits(text, recipe, random.Random(seed), 1.0, ta)
        assert outcome.text != text and "{content}" in outcome.text
        assert outcome.text.count("Positive") == 1 and "'negative'" in outcome.text and outcome.text.endswith("with positive.")


def assert_greedy_search_finds_reply(recipe, ta) -> None:
    """"answer" matters (deleting it costs accuracy) and "reply" in its place hurts most: the search finds
    that swap within a budget of 30 queries, and a budget of 2 is kept."""
    scorer = atk.CachedScorer(lambda texts: [0.25 if "reply" in t else 0.5 if "answer" not in t else 0.75 for t in texts])
    seed_everything(0)
    outcome = atk.greedy_attack(TEXT, recipe, atk.QueryBudget(scorer, 30), ta)
    assert outcome.text == "Analyze the sentence and reply with positive or negative."
    assert (outcome.status, outcome.accuracy_before, outcome.accuracy_after) == ("harmful", 0.75, 0.25)
    assert outcome.edits == [{"index": 4, "from": "answer", "to": "reply"}] and outcome.queries <= 30
    assert atk.greedy_attack(TEXT, recipe, atk.QueryBudget(scorer, 2), ta).queries <= 2


def test_textbugger_never_edits_label_words_or_placeholders(ta, embedding):
    assert_label_words_and_placeholders_kept(tf.textbugger_recipe(ta, "sst2", *embedding), ta, seeds=6)


def test_textbugger_greedy_search_within_the_budget(ta, embedding):
    assert_greedy_search_finds_reply(tf.textbugger_recipe(ta, "sst2", *embedding), ta)


def test_perturb_task_serves_the_new_groups_in_both_modes(ta, embedding, ranked_lm, tmp_path):
    sets = ins.load_instruction_sets(str(write_prompt_folder(tmp_path / "prompts")), tmp_path / "unused")
    groups = ["deepwordbug", "textbugger", "textfooler", "bertattack", "checklist", "stresstest", "semantic"]
    tools = atk.AttackTools(ta, *embedding, masked_lm=ranked_lm[0], lm_tokenizer=ranked_lm[1], lm_name="test:ranked")
    params = perturb_params(n_instructions=2, query_budget=10, groups=groups, languages=["french", "spanish"], masked_lm="embedded").perturb
    scorer = atk.CachedScorer(lambda texts: [0.3 if "false" in t else 0.6 for t in texts])
    frame = ins.check_prompt_set(pd.DataFrame(atk.perturb_task("sst2", sets["sst2"], params, 42, "local", tools, scorer)), "rows")
    assert frame["group"].tolist() == ["clean"] * 2 + [g for g in groups for _ in range(2)]
    stress = frame[frame["group"] == "stresstest"]
    assert stress["text"].str.contains("and false is not true").all()
    details = [json.loads(d) for d in stress["details"]]
    assert all(d["harmful"] and d["queries"] == 4 and d["mode"] == "adversarial" for d in details)
    bugged = [json.loads(d) for d in frame[frame["group"] == "textbugger"]["details"]]
    assert all(d["queries"] <= 10 and d["max_candidates"] == 5 for d in bugged)
    masked = [json.loads(d) for d in frame[frame["group"] == "bertattack"]["details"]]
    assert all(d["queries"] <= 10 and d["max_candidates"] == 48 and d["masked_lm"] == "test:ranked" for d in masked)
    random_params = perturb_params(mode="random", n_instructions=2, groups=groups, languages=["french", "spanish"], masked_lm="embedded").perturb
    once = atk.perturb_task("sst2", sets["sst2"], random_params, 7, "local", tools)
    again = atk.perturb_task("sst2", sets["sst2"], random_params, 7, "local", tools)
    other = atk.perturb_task("sst2", sets["sst2"], random_params, 8, "local", tools)
    assert once == again and once != other


# --- bertattack: a masked LM the tests build (our vocabulary), its guesses fixed by its output bias -----------------

WORDS = ["analyze", "the", "sentence", "and", "answer", "with", "positive", "or", "negative", "reply", "respond",
         "classify", "review", "as", "content", "text", "label", "decide", *(f"filler{i}" for i in range(30))]
RANKED = {"reply": 5.0, "positive": 4.0, "respond": 3.0}  # the guesses at every position, best first


@pytest.fixture(scope="module")
def ranked_lm():
    """A tiny BERT whose guesses at every position are RANKED's words in that order (its hidden state
    before the output layer is zeroed, so the logits are the output bias alone)."""
    import torch

    from coin.prompts.masked_lm import tiny_masked_lm

    model, tokenizer = tiny_masked_lm(WORDS, seed=0)
    head = model.cls.predictions
    with torch.no_grad():
        head.transform.dense.weight.zero_()
        head.transform.dense.bias.zero_()
        head.transform.LayerNorm.bias.zero_()
        head.bias[5:] = -1.0  # SPECIALS keep -1e4
        for word, logit in RANKED.items():
            head.bias[tokenizer.convert_tokens_to_ids(word)] = logit
    return model, tokenizer


def test_bertattack_candidates_at_one_word_are_the_masked_lms_guesses_without_label_words(ta, ranked_lm):
    recipe = tf.bertattack_recipe(ta, "sst2", *ranked_lm, "test:ranked", max_candidates=3)
    original = ta.shared.AttackedText(TEXT)
    assert tf.modifiable_indices(recipe, original) == [0, 2, 4]  # Analyze, sentence, answer
    # the top 3 guesses are reply, positive, respond: "positive" is a label word, so never introduced
    assert [t.text for t in tf.candidates(recipe, original, original, [2])] == [
        "Analyze the reply and answer with positive or negative.",
        "Analyze the respond and answer with positive or negative.",
    ]
    assert [t.text.split()[4] for t in tf.candidates(recipe, original, original, [4])] == ["reply", "respond"]
    assert recipe.settings == {"masked_lm": "test:ranked", "max_candidates": 3, "sentence_encoder": "none"}
    assert tf.bertattack_recipe(ta, "sst2", *ranked_lm, "test:ranked").settings["max_candidates"] == 48  # PromptBench's


def test_bertattack_never_edits_label_words_or_placeholders(ta, ranked_lm):
    assert_label_words_and_placeholders_kept(tf.bertattack_recipe(ta, "sst2", *ranked_lm, "test:ranked", max_candidates=3), ta, seeds=4)


def test_bertattack_greedy_search_within_the_budget(ta, ranked_lm):
    assert_greedy_search_finds_reply(tf.bertattack_recipe(ta, "sst2", *ranked_lm, "test:ranked", max_candidates=3), ta)


def test_the_masked_lm_comes_from_a_folder_or_embedded_and_an_unreachable_hub_id_is_one_line(tmp_path, ranked_lm):
    from coin.errors import CoinError
    from coin.prompts.masked_lm import resolve_masked_lm

    model, tokenizer = ranked_lm
    model.save_pretrained(tmp_path / "mlm")
    tokenizer.save_pretrained(tmp_path / "mlm")
    loaded, loaded_tokenizer, name = resolve_masked_lm(str(tmp_path / "mlm"))
    assert name == f"folder:{tmp_path / 'mlm'}" and loaded_tokenizer.mask_token == "[MASK]"
    assert loaded_tokenizer.convert_ids_to_tokens(loaded.cls.predictions.bias.topk(3).indices.tolist()) == list(RANKED)
    _, embedded_tokenizer, embedded = resolve_masked_lm("embedded")
    assert embedded.startswith("embedded:tiny-bert-random-weights,seed=20240217,words=")
    assert embedded_tokenizer.tokenize("Analyze the sentence.") == ["analyze", "the", "sentence", "."]
    with pytest.raises(CoinError) as info:
        resolve_masked_lm("no-such-owner/no-such-model@main")
    message = str(info.value)
    assert message.startswith("perturb.masked_lm = 'no-such-owner/no-such-model@main' could not be loaded (") and "\n" not in message
    assert message.endswith("give a folder holding a masked language model and its tokenizer, a hub id this machine can download or has cached, or embedded")
