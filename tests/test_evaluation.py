"""Evaluation: PromptBench facts, the eval sample, answer parsing, batched scoring, metrics, stages."""

from __future__ import annotations

import json
import math
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from coin.data.registry import EVAL_TASKS
from coin.errors import DataError
from coin.evaluation import glue, metrics, parsing, scoring
from coin.prompts.format import PromptFormat

ROOT = Path(__file__).resolve().parents[1]

SST2 = ("negative", "positive")
COLA = ("unacceptable", "acceptable")
EQUIV = ("not_equivalent", "equivalent")
ENTAIL = ("entailment", "not_entailment")
MNLI = ("entailment", "neutral", "contradiction")
TEMPLATE = "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
TEMPLATE_NO_INPUT = "### Instruction:\n{instruction}\n\n### Response:\n"


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("output", "words", "expected"),
    [
        ("Not_entailment.", ENTAIL, 1),
        (" entailment, since the premise says so", ENTAIL, 0),
        ("'Unacceptable'", COLA, 0),
        ("acceptable", COLA, 1),
        ("not_equivalent</s>", EQUIV, 0),
        ("Equivalent", EQUIV, 1),
        ("<pad> Positive!!", SST2, 1),
        ("neutral-ish", MNLI, 1),
        ("I think positive", SST2, -1),
        ("not entailment", ENTAIL, -1),
        ("", SST2, -1),
        ("...", SST2, -1),
        ("acceptable_ish", ("accept", "acceptable"), 1),  # longest word first
        ("\u200bcontradiction\n", MNLI, 2),
    ],
)
def test_parse_prefix(output, words, expected):
    assert parsing.parse_prefix(output, words) == expected


@pytest.mark.parametrize(
    ("output", "words", "expected"),
    [
        ("The answer is positive.", SST2, 1),
        ("positive or negative", SST2, 0),
        ("positives", SST2, -1),
        ("Answer: 'not_entailment'", ENTAIL, 1),
        ("entailment\n", ENTAIL, 0),
        ("the label is not_equivalent", EQUIV, 0),
        ("Unacceptable", COLA, 0),
        ("positive then nothing", SST2, -1),
        ("", SST2, -1),
    ],
)
def test_parse_last_word(output, words, expected):
    assert parsing.parse_last_word(output, words) == expected


@pytest.mark.parametrize(
    ("output", "words", "expected"),
    [
        ("The sentiment of this review is positive.", SST2, 1),
        ("NEGATIVE", SST2, 0),
        ("It is not positive, it is negative.", SST2, 1),  # the first mention wins
        ("The premise does not support it: not entailment.", ENTAIL, 1),
        ("not_entailment", ENTAIL, 1),
        ("Not-entailment, I think", ENTAIL, 1),
        ("entailment", ENTAIL, 0),
        ("This is entailment, not not_entailment", ENTAIL, 0),
        ("The questions are not equivalent.", EQUIV, 0),
        ("They are equivalent", EQUIV, 1),
        ("The sentence is unacceptable.", COLA, 0),  # "acceptable" is not a whole word here
        ("The sentence is grammatically acceptable", COLA, 1),
        ("The sentence is grammatically correct.", COLA, -1),
        ("positives and negatives", SST2, -1),
        ("neutral", MNLI, 1),
        ("", SST2, -1),
    ],
)
def test_parse_mention(output, words, expected):
    assert parsing.parse_mention(output, words) == expected


# ---------------------------------------------------------------- glue facts and the sample


def test_promptbench_label_words_follow_hub_label_ids():
    assert glue.label_words("wnli") == ("not_entailment", "entailment")
    assert glue.label_words("rte") == ("entailment", "not_entailment")
    assert glue.label_words("qqp") == ("not_equivalent", "equivalent")
    assert glue.label_words("mnli_mm") == MNLI
    for name, task in EVAL_TASKS.items():  # same count and order as the hub's ClassLabel
        assert len(glue.label_words(name)) == len(task.splits[0].label_names)
    with pytest.raises(DataError, match=r"^task 'boolq' has no label words: use one of sst2, cola"):
        glue.label_words("boolq")


def test_content_strings_are_promptbench_formats():
    assert glue.render_content("sst2", {"sentence": "A calm lake."}) == "A calm lake."
    assert glue.render_content("qqp", {"question1": "Why?", "question2": "How?"}) == "Question 1: Why? Question 2: How?"
    assert glue.render_content("mnli_m", {"premise": "P.", "hypothesis": "H."}) == "Premise: P. Hypothesis: H."
    assert glue.render_content("qnli", {"question": "Q?", "sentence": "S."}) == "Question: Q? Context: S."
    assert glue.render_content("wnli", {"sentence1": "A.", "sentence2": "B."}) == "Sentence 1: A. Sentence 2: B."


def _nli_frame(prefix: str, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "premise": [f"{prefix} premise {i}." for i in range(n)],
            "hypothesis": [f"{prefix} hypothesis {i}." for i in range(n)],
            "label": [i % 3 for i in range(n)],
            "idx": list(range(n)),
        }
    )


def _pair_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"sentence1": [f"first {i}." for i in range(n)], "sentence2": [f"second {i}." for i in range(n)], "label": [i % 2 for i in range(n)], "idx": list(range(n))}
    )


def test_eval_rows_sample_is_fixed_per_seed_and_spans_both_mnli_splits():
    frames = [_nli_frame("matched", 30), _nli_frame("mismatched", 30)]
    first = glue.eval_rows(EVAL_TASKS["mnli"], frames, n_samples=8, seed=1)
    again = glue.eval_rows(EVAL_TASKS["mnli"], frames, n_samples=8, seed=1)
    other = glue.eval_rows(EVAL_TASKS["mnli"], frames, n_samples=8, seed=2)
    pd.testing.assert_frame_equal(first, again)
    assert list(first["idx"]) == glue.sample_positions(60, 8, 1, "mnli")
    assert list(first["idx"]) != list(other["idx"])
    assert first["idx"].is_unique and list(first.columns) == ["task", "idx", "content", "label", "label_word"]
    for row in first.itertuples():  # idx >= 30 are validation_mismatched rows
        split, i = ("mismatched", row.idx - 30) if row.idx >= 30 else ("matched", row.idx)
        assert row.content == f"Premise: {split} premise {i}. Hypothesis: {split} hypothesis {i}."
        assert row.label == i % 3 and row.label_word == MNLI[i % 3]
    # a task's sample does not depend on the other tasks evaluated alongside it
    both = glue.eval_set({"rte": [_pair_frame(5)], "mnli": frames}, n_samples=8, seed=1)
    pd.testing.assert_frame_equal(both[both["task"] == "mnli"].reset_index(drop=True), first)
    assert list(both.loc[both["task"] == "rte", "idx"]) == [0, 1, 2, 3, 4]  # fewer rows than n_samples: all


def test_eval_rows_rejects_a_label_outside_the_task():
    frame = _pair_frame(4)
    frame.loc[2, "label"] = -1  # GLUE test splits carry -1
    with pytest.raises(DataError, match=r"^nyu-mll/glue/rte/validation: label -1 is not allowed: use 0\.\.1 \(entailment, not_entailment\)$"):
        glue.eval_rows(EVAL_TASKS["rte"], [frame], n_samples=2, seed=0)


def _prompt_set(tasks=("sst2", "rte"), groups=("clean", "deepwordbug"), n=2) -> pd.DataFrame:
    rows = []
    for task in tasks:
        for group in groups:
            for k in range(n):
                clean = f"Decide the {task} label, variant {k}."
                text = clean if group == "clean" else clean.replace("Decide", "Decdie")
                rows.append({"task": task, "prompt_id": k, "group": group, "text": text, "clean_text": clean, "origin": "test", "details": "{}"})
    return pd.DataFrame(rows)


def _eval_set() -> pd.DataFrame:
    sst2 = pd.DataFrame({"task": "sst2", "idx": [3, 7, 9], "content": ["A bright day.", "A dull film.", "Fine."], "label": [1, 0, 1]})
    rte = pd.DataFrame({"task": "rte", "idx": [0, 4], "content": ["Sentence 1: It rains. Sentence 2: It is wet.", "Sentence 1: A. Sentence 2: B."], "label": [0, 1]})
    frame = pd.concat([sst2, rte], ignore_index=True)
    frame["label_word"] = [glue.label_words(t)[label] for t, label in zip(frame["task"], frame["label"])]
    return frame


def test_prompt_grid_gives_every_instruction_the_same_rows():
    grid = glue.prompt_grid(_prompt_set(), _eval_set(), ["sst2", "rte"], PromptFormat("alpaca", TEMPLATE, TEMPLATE_NO_INPUT), "input")
    assert len(grid) == 3 * 4 + 2 * 4
    for (_task, _group, _pid), part in grid.groupby(["task", "group", "prompt_id"]):
        assert list(part["idx"]) == ([3, 7, 9] if _task == "sst2" else [0, 4])
    first = grid.iloc[0]
    assert (first["task"], first["group"], first["prompt_id"], first["idx"]) == ("sst2", "clean", 0, 3)
    assert first["prompt"] == "### Instruction:\nDecide the sst2 label, variant 0.\n\n### Input:\nA bright day.\n\n### Response:\n"
    with pytest.raises(DataError, match=r"^the prompt set has no instructions for 'mnli' \(used by 'mnli_m'\): rerun perturb$"):
        glue.prompt_grid(_prompt_set(), pd.concat([_eval_set(), _eval_set().assign(task="mnli_m")]), ["mnli_m"], PromptFormat("alpaca", TEMPLATE, TEMPLATE_NO_INPUT), "input")


# ---------------------------------------------------------------- scoring on a model with known logits


class _Cache:
    """Stands in for a KV cache: the bigram model below needs no past."""

    def batch_select_indices(self, indices):
        pass

    def batch_repeat_interleave(self, repeats):
        pass


class BigramLM:
    """A causal LM whose next-token distribution depends only on the current token: logits = log P[token]."""

    def __init__(self, probs: np.ndarray):
        import torch

        self.table = torch.log(torch.tensor(probs, dtype=torch.float32))
        self.device = torch.device("cpu")
        self.config = SimpleNamespace(hidden_size=2)

    def eval(self):
        return self

    def forward(self, input_ids, attention_mask=None, position_ids=None, cache=None, use_cache=False, output_hidden_states=False, logits_to_keep=0):
        logits = self.table[input_ids]  # (B, T, V)
        if logits_to_keep:
            logits = logits[:, -logits_to_keep:, :]
        hidden = (logits[..., :2],) if output_hidden_states else None
        return SimpleNamespace(logits=logits, cache=_Cache(), hidden_states=hidden)

    __call__ = forward


def _word_tokenizer(words):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["<pad>", "<s>", "</s>", *words])}
    word_level = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    word_level.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=word_level, pad_token="<pad>", bos_token="<s>", eos_token="</s>"), vocab


def _bigram(vocab, rows: dict[str, dict[str, float]]) -> BigramLM:
    """Rows sum to 1: the mass not given to the listed words is spread evenly over the others."""
    probs = np.full((len(vocab), len(vocab)), 1.0 / len(vocab))
    for current, nxt in rows.items():
        rest = (1.0 - sum(nxt.values())) / (len(vocab) - len(nxt))
        probs[vocab[current]] = rest
        for word, p in nxt.items():
            probs[vocab[current], vocab[word]] = p
    return BigramLM(probs)


def test_rank_sums_label_token_logprobs_on_known_logits():
    tokenizer, vocab = _word_tokenizer(["a", "b", "yes", "no", "maybe"])
    model = _bigram(vocab, {"b": {"yes": 0.5, "no": 0.4, "maybe": 0.1}, "a": {"yes": 0.1, "no": 0.7, "maybe": 0.2}, "no": {"maybe": 0.5}})
    prompts = ["a b ", "b a ", "a a b a "]
    scores = scoring.rank(model, tokenizer, prompts, ["yes", "no", "no maybe"], batch_size=2)
    expected = np.log([[0.5, 0.4, 0.2], [0.1, 0.7, 0.35], [0.1, 0.7, 0.35]])
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert list(scores.argmax(axis=1)) == [0, 1, 1]


def test_make_accuracy_fn_scores_each_instruction_on_the_rows():
    tokenizer, vocab = _word_tokenizer(["a", "b", "c", "negative", "positive"])
    model = _bigram(vocab, {"a": {"positive": 0.7, "negative": 0.2}, "b": {"negative": 0.8, "positive": 0.1}})
    rows = pd.DataFrame({"content": ["c", "c", "c"], "label": [1, 0, 0]})
    # the instruction is the prompt's last token, so it alone decides the prediction
    accuracy = scoring.make_accuracy_fn(model, tokenizer, rows, "sst2", PromptFormat("alpaca", "{input} {instruction} ", "{instruction} "), "input", batch_size=2)
    assert accuracy(["a", "b"]) == pytest.approx([1 / 3, 2 / 3])
    assert accuracy([]) == []


# ---------------------------------------------------------------- scoring on the tiny LLaMA


def _tiny_prompts() -> list[str]:
    instructions = ["Is the sentiment positive or negative?", "Is this sentence acceptable or unacceptable?"]
    contents = ["The film was great.", "a dog runs.", "Question 1: where is it? Question 2: where can it be?", "x"]
    prompts = [TEMPLATE.replace("{instruction}", i).replace("{input}", c) for i in instructions for c in contents]
    return prompts + ["Premise: a dog runs.", "OPTIONS:\n- yes"]


def test_plan_batches_shares_the_instruction_prefix(tiny_lm):
    _, tokenizer = tiny_lm
    encoded = scoring._encode(tokenizer, _tiny_prompts())
    plan = scoring.plan_batches(encoded, batch_size=3)
    assert sorted(r for b in plan for r in b.rows) == list(range(10))
    shared = {r: k for b in plan for r, k in zip(b.rows, b.shared)}
    # rows 0-3 and 4-7 share "### Instruction:\n<their instruction>\n\n### Input:\n", the last two nothing
    heads = [len(tokenizer(p.split("\n\n### Input:\n")[0] + "\n\n### Input:\n")["input_ids"]) for p in _tiny_prompts()[:8]]
    assert [shared[r] for r in range(10)] == heads + [0, 0]
    assert heads[0] == 22 and heads[4] == 19
    assert all(len(b.rows) <= 3 for b in plan)
    unshared = scoring.plan_batches(encoded, batch_size=3, share_prefix=False)
    assert [b.rows for b in unshared] == [b.rows for b in plan] and all(k == 0 for b in unshared for k in b.shared)
    model, _ = tiny_lm
    prompts = _tiny_prompts()
    assert scoring.generate(model, tokenizer, prompts, 4, 3) == scoring.generate(model, tokenizer, prompts, 4, 3, share_prefix=False)


def test_generate_batched_equals_one_at_a_time_and_transformers(tiny_lm):
    import torch
    from transformers import GenerationConfig

    model, tokenizer = tiny_lm
    prompts = _tiny_prompts()
    batched = scoring.generate(model, tokenizer, prompts, max_new_tokens=6, batch_size=3)
    single = [scoring.generate(model, tokenizer, [p], max_new_tokens=6, batch_size=1)[0] for p in prompts]
    assert batched == single
    config = GenerationConfig(max_new_tokens=6, do_sample=False, pad_token_id=0, eos_token_id=tokenizer.eos_token_id, bos_token_id=1)
    for prompt, text in zip(prompts, single):
        ids = tokenizer(prompt, return_tensors="pt").input_ids
        with torch.inference_mode():
            new = model.generate(ids, generation_config=config)[0, ids.shape[1] :].tolist()
        if tokenizer.eos_token_id in new:
            new = new[: new.index(tokenizer.eos_token_id)]
        assert text == tokenizer.decode(new, skip_special_tokens=True)


def test_last_token_states_are_post_norm_and_match_generation(tiny_lm):
    import torch

    model, tokenizer = tiny_lm
    prompts = _tiny_prompts()
    states = scoring.last_token_states(model, tokenizer, prompts, batch_size=4)
    _, from_generation = scoring.generate_with_states(model, tokenizer, prompts, max_new_tokens=2, batch_size=3)
    assert states.shape == (10, 32) and states.dtype == np.float32
    np.testing.assert_allclose(from_generation, states, atol=1e-5)
    for i in (0, 5, 9):
        ids = tokenizer(prompts[i], return_tensors="pt").input_ids
        with torch.inference_mode():
            logits = model(ids).logits[0, -1]
            np.testing.assert_allclose(model.lm_head(torch.from_numpy(states[i])).numpy(), logits.numpy(), atol=1e-4)


def test_rank_on_tiny_lm_equals_unbatched_log_likelihood(tiny_lm):
    import torch

    model, tokenizer = tiny_lm
    prompts = _tiny_prompts() + ["The answer is posit"]  # "posit" + "ive" merges into one token
    words = ["positive", "not_entailment", "equivalent", "ive"]
    assert len(tokenizer(prompts[-1] + "ive")["input_ids"]) < len(tokenizer(prompts[-1])["input_ids"]) + 1
    scores, states = scoring.rank_with_states(model, tokenizer, prompts, words, batch_size=3)
    np.testing.assert_allclose(scoring.rank(model, tokenizer, prompts, words, batch_size=4), scores, atol=1e-4)
    np.testing.assert_allclose(states, scoring.last_token_states(model, tokenizer, prompts, batch_size=3), atol=1e-5)
    for i, prompt in enumerate(prompts):
        for j, word in enumerate(words):
            full = tokenizer(prompt + word)["input_ids"]
            start = scoring._common_prefix(full, tokenizer(prompt)["input_ids"])
            with torch.inference_mode():
                logprobs = torch.log_softmax(model(torch.tensor([full])).logits[0], dim=-1)
            assert scores[i, j] == pytest.approx(sum(logprobs[t - 1, full[t]].item() for t in range(start, len(full))), abs=1e-4)


# ---------------------------------------------------------------- metrics


def _hand_predictions() -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    labels = [1, 0, 1, 1]
    preds = {
        ("sst2", "clean", 0): [1, 0, 0, 1],  # 75 %
        ("sst2", "clean", 1): [1, 1, 0, 1],  # 50 %
        ("sst2", "deepwordbug", 0): [1, 1, 0, 0],  # 25 %
        ("sst2", "deepwordbug", 1): [-1, -1, 0, 0],  # 0 %, two invalid
        ("rte", "clean", 0): [1, 0, 1, 1],  # 100 %
        ("rte", "clean", 1): [1, 0, 1, 1],  # 100 %
        ("rte", "deepwordbug", 0): [1, 0, 0, 0],  # 50 %
        ("rte", "deepwordbug", 1): [0, 1, 1, 1],  # 50 %
    }
    rows = []
    for (task, group, pid), values in preds.items():
        for idx, (pred, label) in enumerate(zip(values, labels)):
            rows.append({"model": "m", "task": task, "prompt_id": pid, "group": group, "idx": idx, "output": "", "pred": pred, "label": label, "correct": pred == label})
    frame = pd.DataFrame(rows)
    # states: clean (1, 0); deepwordbug prompt 0 (0, 1) -> cos 0; prompt 1 (1, 1) -> cos 1/sqrt(2)
    states = np.array(
        [[1.0, 0.0] if g == "clean" else ([0.0, 1.0] if p == 0 else [1.0, 1.0]) for g, p in zip(frame["group"], frame["prompt_id"])]
    )
    return frame, frame[["task", "group", "prompt_id", "idx"]], states


def test_metrics_against_hand_computed_values():
    predictions, keys, states = _hand_predictions()
    cosines = metrics.clean_cosines(keys, states)
    assert len(cosines) == 16
    doc = metrics.summarize(predictions, "m", cosines)
    half = round(1 / math.sqrt(2) / 2, 4)  # mean of four 0s and four 0.7071s
    assert doc["sst2"]["clean"] == {"acc_mean": 62.5, "acc_std": 12.5, "invalid_rate": 0.0, "consistency": 0.75, "clean_cosine": 1.0, "pdr": None}
    assert doc["sst2"]["deepwordbug"] == {"acc_mean": 12.5, "acc_std": 12.5, "invalid_rate": 0.25, "consistency": 0.5, "clean_cosine": half, "pdr": 0.8333}
    assert doc["rte"]["clean"] == {"acc_mean": 100.0, "acc_std": 0.0, "invalid_rate": 0.0, "consistency": 1.0, "clean_cosine": 1.0, "pdr": None}
    assert doc["rte"]["deepwordbug"] == {"acc_mean": 50.0, "acc_std": 0.0, "invalid_rate": 0.0, "consistency": 0.0, "clean_cosine": half, "pdr": 0.5}
    assert doc["average"]["clean"] == {"acc_mean": 81.25, "acc_std": 6.25, "invalid_rate": 0.0, "consistency": 0.875, "clean_cosine": 1.0, "pdr": None}
    assert doc["average"]["deepwordbug"] == {"acc_mean": 31.25, "acc_std": 6.25, "invalid_rate": 0.125, "consistency": 0.25, "clean_cosine": half, "pdr": 0.6667}  # PDR: (2/3 + 1) / 2 and 1/2
    assert doc["average"]["overall"] == {"acc_mean": 56.25, "acc_std": 6.25, "invalid_rate": 0.0625, "consistency": 0.5625, "clean_cosine": round((1 + 1 / math.sqrt(2) / 2) / 2, 4), "pdr": 0.6667}
    assert doc["model"] == "m"
    json.dumps(doc, allow_nan=False)


def test_cosine_needs_the_clean_counterpart():
    _, keys, states = _hand_predictions()
    keep = ~((keys["group"] == "clean") & (keys["prompt_id"] == 1) & (keys["task"] == "rte") & (keys["idx"] == 2))
    with pytest.raises(DataError, match=r"^no clean state for task 'rte' prompt_id 1 idx 2: every perturbed prompt needs its clean version$"):
        metrics.clean_cosines(keys[keep], states[keep.to_numpy()])


# ---------------------------------------------------------------- stages


def _write_params(tmp_path: Path, **eval_overrides) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["eval"].update({"tasks": ["sst2", "rte"], "n_samples": 3, "max_new_tokens": 3, "batch_size": 4, "states_task": "sst2"})
    raw["eval"].update(eval_overrides)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _cli():
    from typer.testing import CliRunner

    import pipeline.evaluate  # noqa: F401  (registers the commands)
    import pipeline.prepare_eval  # noqa: F401
    from pipeline.app import app

    return CliRunner(), app


def test_evaluate_stage_writes_predictions_states_and_metrics(tmp_path, tiny_lm, monkeypatch):
    from coin.io import read_parquet, write_parquet
    from coin.schemas import EVAL_SET, PREDICTIONS, PROMPTS

    write_parquet(_prompt_set(), tmp_path / "prompts.parquet", PROMPTS)
    write_parquet(_eval_set(), tmp_path / "eval.parquet", EVAL_SET)
    params = _write_params(tmp_path)
    monkeypatch.setattr("pipeline.evaluate._load_model", lambda path, dtype: tiny_lm)
    runner, app = _cli()
    outputs = {}
    for run in ("a", "b"):
        out = tmp_path / run
        args = ["evaluate", "--name", "cit", "--model", str(tmp_path / "model"), "--prompts", str(tmp_path / "prompts.parquet"),
                "--eval", str(tmp_path / "eval.parquet"), "--predictions", str(out / "pred.parquet"),
                "--states", str(out / "states.npz"), "--metrics", str(out / "metrics.json"), "--summary", str(out / "summary.json"),
                "--params", str(params)]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        outputs[run] = {name: (out / name).read_bytes() for name in ("pred.parquet", "states.npz", "metrics.json")}
    assert outputs["a"] == outputs["b"]  # byte-identical reruns
    pred = read_parquet(tmp_path / "a" / "pred.parquet", PREDICTIONS)
    assert len(pred) == 2 * 2 * 3 + 2 * 2 * 2 and set(pred["model"]) == {"cit"}
    assert (pred["correct"] == (pred["pred"] == pred["label"])).all()
    doc = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert set(doc) == {"sst2", "rte", "average", "model"} and set(doc["average"]) == {"clean", "deepwordbug", "overall"}
    assert set(doc["rte"]["deepwordbug"]) == set(metrics.METRIC_KEYS)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())  # the dvc metric: average, renamed
    names = {"acc_mean": "acc", "acc_std": "std", "pdr": "pdr", "align_at_1": "align_at_1"}
    overall = {**names, "centered_cosine": "centered_cosine", "cosine_margin": "cosine_margin", "group_separability": "separability"}
    assert summary == {"cit": {**{g: {s: v[k] for k, s in (overall if g == "overall" else names).items() if v[k] is not None}
                                  for g, v in doc["average"].items()},
                               "invalid_rate": doc["average"]["overall"]["invalid_rate"]}}
    assert set(summary["cit"]["deepwordbug"]) == set(names.values()) and set(summary["cit"]["clean"]) == {"acc", "std"}
    assert 0 <= summary["cit"]["deepwordbug"]["align_at_1"] <= 1 and set(summary["cit"]["overall"]) == set(overall.values())
    with np.load(tmp_path / "a" / "states.npz") as npz:  # every task's states, float16
        assert sorted(npz.files) == ["group", "idx", "label", "prompt_id", "states", "task"]
        assert npz["states"].shape == (20, 32) and npz["states"].dtype == np.float16
        assert set(npz["task"]) == {"sst2", "rte"} and set(npz["group"]) == {"clean", "deepwordbug"}
        sst2 = npz["task"] == "sst2"
        assert list(npz["idx"][sst2][:3]) == [3, 7, 9]


def test_evaluate_model_with_rank_scoring_predicts_label_words(tmp_path, tiny_lm):
    from coin.params import load_params
    from pipeline.evaluate import evaluate_model

    model, tokenizer = tiny_lm
    params = load_params(_write_params(tmp_path, scoring="rank"))
    pred, arrays, doc = evaluate_model(model, tokenizer, "base", _prompt_set(), _eval_set(), params)
    assert (pred["pred"] >= 0).all() and doc["average"]["overall"]["invalid_rate"] == 0.0
    assert set(pred.loc[pred["task"] == "rte", "output"]) <= set(ENTAIL)
    assert arrays["states"].shape == (20, 32)
    assert (pred["rank_pred"] == pred["pred"]).all() and doc["rte"]["clean"]["rank_acc_mean"] == doc["rte"]["clean"]["acc_mean"]


def test_both_scoring_equals_generate_and_rank(tmp_path, tiny_lm):
    """eval.scoring both: the generation predictions of `generate` and the ranking predictions of `rank`."""
    from coin.params import load_params
    from pipeline.evaluate import evaluate_model

    model, tokenizer = tiny_lm
    runs = {}
    for scoring in ("generate", "rank", "both"):
        params = load_params(_write_params(tmp_path, scoring=scoring, parse="mention"))
        runs[scoring] = evaluate_model(model, tokenizer, "m", _prompt_set(), _eval_set(), params)
    both, generated, ranked = runs["both"][0], runs["generate"][0], runs["rank"][0]
    assert both["output"].tolist() == generated["output"].tolist()
    assert both["pred"].tolist() == generated["pred"].tolist()
    assert both["rank_pred"].tolist() == ranked["pred"].tolist()
    assert (generated["rank_pred"] == -1).all()
    np.testing.assert_array_equal(runs["both"][1]["states"], runs["generate"][1]["states"])
    doc = runs["both"][2]
    assert doc["sst2"]["clean"]["acc_mean"] == runs["generate"][2]["sst2"]["clean"]["acc_mean"]
    assert doc["sst2"]["clean"]["rank_acc_mean"] == runs["rank"][2]["sst2"]["clean"]["acc_mean"]
    assert doc["rte"]["deepwordbug"]["rank_pdr"] == runs["rank"][2]["rte"]["deepwordbug"]["pdr"]


def test_generate_and_rank_scores_match_rank(tiny_lm):
    model, tokenizer = tiny_lm
    prompts = ["Is this good? Text: a fine day. Answer:", "Is this good? Text: a sad day. Answer:", "Judge: ok"]
    words = [ENTAIL, ENTAIL, ("negative", "positive")]
    texts, scores, states = scoring.generate_and_rank(model, tokenizer, prompts, words, 3, 2)
    assert texts == scoring.generate(model, tokenizer, prompts, 3, 2)
    for i, prompt in enumerate(prompts):
        expected = scoring.rank(model, tokenizer, [prompt], list(words[i]), 1)[0]
        np.testing.assert_allclose(scores[i], expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(states, scoring.last_token_states(model, tokenizer, prompts, 2), atol=1e-4)


def test_prepare_eval_stage_samples_each_task_once(tmp_path, monkeypatch):
    from coin.io import read_parquet
    from coin.schemas import EVAL_SET

    fake = types.ModuleType("coin.data.sources")
    calls = []

    def load_split(split, source, local_dir, mirror_dir, cache_dir, name):
        calls.append((split.config, split.split, source))
        if split.config == "sst2":
            return pd.DataFrame({"sentence": [f"Sentence {i}." for i in range(10)], "label": [i % 2 for i in range(10)], "idx": list(range(10))})
        return _pair_frame(2)

    fake.load_split = load_split
    monkeypatch.setitem(sys.modules, "coin.data.sources", fake)
    params = _write_params(tmp_path)
    runner, app = _cli()
    result = runner.invoke(app, ["prepare-eval", "--mirror", str(tmp_path / "mirror"), "--out", str(tmp_path / "eval.parquet"), "--params", str(params)])
    assert result.exit_code == 0, result.output
    rows = read_parquet(tmp_path / "eval.parquet", EVAL_SET)
    assert calls == [("sst2", "validation", "embedded"), ("rte", "validation", "embedded")]
    assert list(rows.loc[rows["task"] == "sst2", "idx"]) == glue.sample_positions(10, 3, 42, "sst2")
    assert list(rows.loc[rows["task"] == "rte", "content"]) == ["Sentence 1: first 0. Sentence 2: second 0.", "Sentence 1: first 1. Sentence 2: second 1."]


def test_the_llama_forward_still_takes_logits_to_keep(tiny_lm):
    """transformers 5 keeps `logits_to_keep` on the LLaMA forward, so scoring's last-position path stays on."""
    import torch

    from coin.evaluation.scoring import _accepts_logits_to_keep

    model, _ = tiny_lm
    assert _accepts_logits_to_keep(model)
    ids = torch.tensor([[1, 5, 6, 7]])
    with torch.no_grad():
        full, last = model(input_ids=ids).logits, model(input_ids=ids, logits_to_keep=1).logits
    assert last.shape == (1, 1, model.config.vocab_size) and torch.allclose(last[0, 0], full[0, -1], atol=1e-6)
