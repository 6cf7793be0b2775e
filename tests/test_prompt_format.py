"""The one prompt format (alpaca | chat) and what training learns from it: the response and its eos only."""

from __future__ import annotations

import copy

import pytest

from coin.errors import CoinError
from coin.prompts.format import PromptFormat, chat_parts
from coin.training.collator import IGNORE_INDEX, CoinCollator

# our own chat template in the usual shape: a default system turn, then role-tagged turns
CHAT_TEMPLATE = (
    "{% for m in messages %}{% if loop.first and m['role'] != 'system' %}{{ '<s>system\nBe brief.</s>\n' }}{% endif %}"
    "{{ '<s>' + m['role'] + '\n' + m['content'] + '</s>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<s>assistant\n' }}{% endif %}"
)


@pytest.fixture
def chat_tokenizer(tiny_lm):
    tokenizer = copy.deepcopy(tiny_lm[1])
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def test_chat_format_renders_one_user_turn_and_the_assistant_header(chat_tokenizer):
    head, tail = chat_parts(chat_tokenizer)
    assert (head, tail) == ("<s>system\nBe brief.</s>\n<s>user\n", "</s>\n<s>assistant\n")
    chat = PromptFormat("chat", chat_head=head, chat_tail=tail)
    assert chat.render("Is it positive?") == "<s>system\nBe brief.</s>\n<s>user\nIs it positive?</s>\n<s>assistant\n"
    assert chat.render("Is it positive?", "Great {film}.") == (
        "<s>system\nBe brief.</s>\n<s>user\nIs it positive?\n\nGreat {film}.</s>\n<s>assistant\n"
    )
    turn = [{"role": "user", "content": "Is it positive?\n\nGreat film."}]
    assert chat.render("Is it positive?", "Great film.") == chat_tokenizer.apply_chat_template(turn, tokenize=False, add_generation_prompt=True)
    # both evaluation layouts give the same user turn for chat
    assert chat.render_eval("Classify:", "Sentence: ok", "trained") == chat.render_eval("Classify:", "Sentence: ok", "input")


def test_alpaca_format_and_eval_layouts():
    alpaca = PromptFormat("alpaca", "I: {instruction}\nIn: {input}\nA: ", "I: {instruction}\nA: ")
    assert alpaca.render("Say {x}") == "I: Say {x}\nA: "
    assert alpaca.render("Say", "{input} here") == "I: Say\nIn: {input} here\nA: "
    assert alpaca.render_eval("Classify:", "Sentence: ok", "trained") == "I: Classify:\n\nSentence: ok\nA: "
    assert alpaca.render_eval("Classify:", "Sentence: ok", "input") == "I: Classify:\nIn: Sentence: ok\nA: "
    with pytest.raises(CoinError) as info:
        alpaca.render_eval("a", "b", "inline")
    assert str(info.value) == "eval.prompt_format = 'inline' is not allowed: use one of trained, input"
    with pytest.raises(CoinError) as info:
        PromptFormat("markdown")
    assert str(info.value) == "model.prompt_format = 'markdown' is not allowed: use one of alpaca, chat"


def test_chat_format_needs_a_template_that_keeps_the_message(tiny_lm, chat_tokenizer):
    plain = copy.deepcopy(tiny_lm[1])
    plain.chat_template = None
    with pytest.raises(CoinError) as info:
        chat_parts(plain)
    assert str(info.value) == "model.prompt_format = 'chat' needs a tokenizer with a chat template: this one has none, use alpaca"
    chat_tokenizer.chat_template = "{% for m in messages %}{{ m['content'] | upper }}{% endfor %}"
    with pytest.raises(CoinError) as info:
        chat_parts(chat_tokenizer)
    assert str(info.value) == "the tokenizer's chat template changes the user message it renders: use model.prompt_format = 'alpaca'"


def test_chat_training_loss_is_on_the_assistant_response_and_eos_only(chat_tokenizer):
    chat = PromptFormat("chat", chat_head=chat_parts(chat_tokenizer)[0], chat_tail=chat_parts(chat_tokenizer)[1])
    collate = CoinCollator(chat_tokenizer, chat, cutoff_len=256, padding_side="right")
    entry = {"prompt": "Is the film good?", "positive_prompt": "Rate the film.", "target": "positive", "pair_id": 0}
    batch = collate([entry, {**entry, "pair_id": 0}])
    tok = chat_tokenizer
    response = tok("positive", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    prompt = tok(chat.render("Is the film good?"))["input_ids"]
    row = batch["input_ids"][0].tolist()
    assert row[: len(prompt) + len(response)] == prompt + response
    labels = batch["labels"][0].tolist()
    assert labels[: len(prompt)] == [IGNORE_INDEX] * len(prompt)  # system, user turn and assistant header
    assert [t for t in labels if t != IGNORE_INDEX] == response  # the answer and its end-of-turn token
