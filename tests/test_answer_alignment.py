"""`answer-alignment`: the states at the end of prompt + gold answer are the ones L_ctr pools in training,
the prompt position reproduces the evaluation's alignment scores, and the command's bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import pipeline.cli  # noqa: F401  (registers every command)
from coin.evaluation.glue import label_words, prompt_grid
from coin.io import write_parquet
from coin.params import load_params
from coin.prompts.format import prompt_format
from coin.schemas import EVAL_SET, PROMPTS
from pipeline.answer_alignment import position_states
from pipeline.app import app
from tests.test_evaluation import _eval_set, _prompt_set

ROOT = Path(__file__).resolve().parents[1]


def _params(tmp_path: Path) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["eval"].update({"tasks": ["sst2", "rte"], "batch_size": 3})
    raw["perturb"]["groups"] = ["deepwordbug"]
    raw["report"]["bootstrap_samples"] = 100
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _grid(tokenizer, params) -> pd.DataFrame:
    return prompt_grid(_prompt_set(), _eval_set(), ["sst2", "rte"], prompt_format(params.model, tokenizer), params.eval.prompt_format)


def test_answer_states_are_the_states_l_ctr_pools(tiny_lm, tmp_path):
    """Each row's state at the answer end equals the training batch's pooled state (loss.pooling last) of
    the same prompt with its gold label word as the response: CoinCollator's sequence, L_ctr's index."""
    import torch

    from coin.training.collator import CoinCollator
    from coin.training.losses import pool_states

    model, tokenizer = tiny_lm
    params = load_params(_params(tmp_path))
    grid = _grid(tokenizer, params)
    states = position_states(model, tokenizer, grid, params, "answer")
    assert states.shape == (len(grid), 32) and states.dtype == np.float32
    collator = CoinCollator(tokenizer, prompt_format(params.model, tokenizer), params.sample.cutoff_len)
    targets = [label_words(t)[label] for t, label in zip(grid["task"], grid["label"])]
    pieces = collator.encode_rendered(grid["prompt"].tolist(), targets)
    assert all(response[-1] == tokenizer.eos_token_id for _, response in pieces)
    assert tokenizer.decode(pieces[0][1][:-1]) == "positive"  # sst2 idx 3, label 1
    batch = collator.pad(pieces)
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"],
                    output_hidden_states=True)
    pooled = pool_states(out.hidden_states[-1], batch["attention_mask"], batch["pool_index"], "last").numpy()
    np.testing.assert_allclose(states, pooled, atol=1e-5)
    prompt_end = position_states(model, tokenizer, grid, params, "prompt")
    assert not np.allclose(states, prompt_end, atol=1e-3)  # another position, another state


def _invoke(tmp_path: Path, *args: str):
    write_parquet(_prompt_set(), tmp_path / "prompts.parquet", PROMPTS)
    write_parquet(_eval_set(), tmp_path / "eval.parquet", EVAL_SET)
    for name in ("cit", "coin"):
        (tmp_path / name).mkdir(exist_ok=True)
    return CliRunner().invoke(app, ["answer-alignment", "--cit", str(tmp_path / "cit"), "--coin", str(tmp_path / "coin"),
                                    "--prompts", str(tmp_path / "prompts.parquet"), "--eval", str(tmp_path / "eval.parquet"),
                                    "--out", str(tmp_path / "out"), "--params", str(_params(tmp_path)), *args])


def test_prompt_position_gives_the_evaluations_alignment(tiny_lm, tmp_path, monkeypatch):
    """--at prompt recomputes what the evaluate stage writes per row (align_hit, the cosines), and one model
    against itself differs by 0 with p 1."""
    from coin.evaluation.alignment import alignment_units
    from coin.evaluation.scoring import score_grid

    model, tokenizer = tiny_lm
    monkeypatch.setattr("pipeline.evaluate._load_model", lambda path, dtype: tiny_lm)
    result = _invoke(tmp_path, "--at", "prompt")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "answer_alignment.csv")
    params = load_params(tmp_path / "params.yaml")
    scored, states = score_grid(model, tokenizer, _grid(tokenizer, params), "generate", "prefix", 3, 3)
    evaluated = alignment_units(scored, states)
    perturbed = (scored["group"] != "clean").to_numpy()
    row = table[(table["metric"] == "align_at_1") & (table["group"] == "perturbed")].iloc[0]
    assert row["cit"] == pytest.approx(evaluated["align_hit"][perturbed].mean()) and row["delta"] == 0.0
    margin = table[(table["metric"] == "cosine_margin") & (table["group"] == "perturbed")].iloc[0]
    assert margin["cit"] == pytest.approx(evaluated["cosine_margin"][perturbed].mean(), abs=1e-4)  # the csv keeps 4 decimals
    assert set(table["position"]) == {"prompt"} and (table["p_value"] == 1.0).all()
    assert result.stdout.strip() == (
        f"answer-alignment: {tmp_path / 'out' / 'answer_alignment.md'} (align@1 at the prompt end, all perturbed: "
        f"CIT {row['cit']:.3f}, COIN {row['coin']:.3f}, COIN − CIT +0.000)")
    assert "# Alignment at the prompt end" in (tmp_path / "out" / "answer_alignment.md").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--at", "middle"], "error: --at = 'middle' is not allowed: use one of answer, prompt"),
        (["--coin", "nowhere"], "error: nowhere is not a model folder: --coin needs the trained model (models/coin)"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = _invoke(tmp_path, *args)
    assert result.exit_code == 2
    assert result.output.strip() == message
    assert not (tmp_path / "out").exists()


CHAT_TEMPLATE = (
    "{% for m in messages %}<s>user: {{ m['content'] }}</s>{% endfor %}{% if add_generation_prompt %}<s>assistant: {% endif %}"
)


@pytest.fixture(scope="module")
def embedded_tiny(tmp_path_factory):
    """The project's own tiny model (coin.training.model.build_tiny_model) and tokenizer (train_tokenizer)."""
    from coin.training.model import build_tiny_model
    from coin.training.tokenizer import train_tokenizer

    params = load_params(_params(tmp_path_factory.mktemp("tiny")))
    texts = ["Is the review positive or negative? The film was great.", "Does the first sentence entail the second?"] * 8
    tokenizer = train_tokenizer(texts, 400, params.model.tiny.max_position)
    tiny = type(params.model.tiny)(**{**params.model.tiny.__dict__, "vocab_size": 400, "hidden_size": 32, "num_layers": 2,
                                      "num_heads": 2, "intermediate_size": 64})
    return build_tiny_model(tiny, tokenizer, 0).eval(), tokenizer


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("style", ["alpaca", "chat"])
@pytest.mark.parametrize("which", ["llama", "embedded"])
def test_prompt_pooling_is_the_state_the_evaluation_reads(tiny_lm, embedded_tiny, tmp_path, which, style, side):
    """loss.pooling prompt: a training batch's pooled state at each sequence's prompt end equals the evaluate
    stage's last-token state of the same rendered prompt (answer-alignment --at prompt), both formats and
    both padding sides, on a small LLaMA and on the project's tiny model."""
    import copy

    import torch

    from coin.training.collator import CoinCollator
    from coin.training.losses import pool_states

    model, tokenizer = tiny_lm if which == "llama" else embedded_tiny
    tokenizer = copy.deepcopy(tokenizer)
    tokenizer.chat_template = CHAT_TEMPLATE
    params = load_params(_params(tmp_path))
    params = type(params)(**{**params.__dict__, "model": type(params.model)(**{**params.model.__dict__, "prompt_format": style})})
    grid = _grid(tokenizer, params)
    if style == "chat":
        assert grid["prompt"].iloc[0].startswith("<s>user: ")
    evaluated = position_states(model, tokenizer, grid, params, "prompt")
    collator = CoinCollator(tokenizer, prompt_format(params.model, tokenizer), params.sample.cutoff_len, padding_side=side)
    targets = [label_words(t)[label] for t, label in zip(grid["task"], grid["label"])]
    batch = collator.pad(collator.encode_rendered(grid["prompt"].tolist(), targets))
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"],
                    output_hidden_states=True)
    pooled = pool_states(out.hidden_states[-1], batch["attention_mask"], batch["pool_index"], "prompt", batch["prompt_index"])
    np.testing.assert_allclose(pooled.numpy(), evaluated, atol=1e-5)
    last = pool_states(out.hidden_states[-1], batch["attention_mask"], batch["pool_index"], "last").numpy()
    assert not np.allclose(last, evaluated, atol=1e-3)  # the answer end is another state
