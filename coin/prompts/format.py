"""The one prompt format shared by training, the length filter, perturbation search and evaluation.

`PromptFormat.render(instruction, input_text)` is the only place an instruction becomes prompt text.
model.prompt_format picks the style:

- alpaca: model.prompt_template (with {instruction} and {input}) or model.prompt_template_no_input;
- chat: the tokenizer's chat template with one user turn (the instruction, then a blank line and the
  input when there is one) and the generation prompt of the assistant turn. Training appends the
  response and the tokenizer's eos token, which for a chat model is its end-of-turn token.

A chat template is rendered once around a probe message and kept as the text before and after the
message (`chat_head`, `chat_tail`), so formatting 50,000 prompts costs two string joins each; templates
that transform the message are refused (`chat_parts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coin.errors import CoinError

PROMPT_FORMATS = ("alpaca", "chat")
EVAL_FORMATS = ("trained", "input")
_PROBES = ("\x00probe one\x00", "\x00a second, longer probe\x00")


def chat_parts(tokenizer: Any) -> tuple[str, str]:
    """(head, tail) with head + message + tail = the tokenizer's chat rendering of one user turn.

    The rendering is `apply_chat_template([{"role": "user", "content": message}], tokenize=False,
    add_generation_prompt=True)`; two probe messages check that the template inserts the message as
    it is.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise CoinError("model.prompt_format = 'chat' needs a tokenizer with a chat template: this one has none, use alpaca")

    def render(message: str) -> str:
        turn = [{"role": "user", "content": message}]
        return tokenizer.apply_chat_template(turn, tokenize=False, add_generation_prompt=True)

    head, _, tail = render(_PROBES[0]).partition(_PROBES[0])
    if render(_PROBES[1]) != head + _PROBES[1] + tail:
        raise CoinError("the tokenizer's chat template changes the user message it renders: use model.prompt_format = 'alpaca'")
    return head, tail


@dataclass(frozen=True)
class PromptFormat:
    """How an instruction (and its input) becomes the model's prompt; the response follows it."""

    style: str  # alpaca | chat
    template: str = "{instruction}\n\n{input}"  # alpaca, with an input
    template_no_input: str = "{instruction}"  # alpaca, without one
    chat_head: str = ""  # chat: rendered text before the user message (system turn, user header)
    chat_tail: str = ""  # chat: rendered text after it (end of turn, assistant header)

    def __post_init__(self) -> None:
        if self.style not in PROMPT_FORMATS:
            raise CoinError(f"model.prompt_format = {self.style!r} is not allowed: use one of {', '.join(PROMPT_FORMATS)}")

    def render(self, instruction: str, input_text: str = "") -> str:
        """The prompt text for an instruction and an optional input.

        Uses `str.replace`, not `str.format`, so braces inside the instruction or input stay text.
        """
        if self.style == "chat":
            message = f"{instruction}\n\n{input_text}" if input_text else instruction
            return self.chat_head + message + self.chat_tail
        if input_text:
            return self.template.replace("{instruction}", instruction).replace("{input}", input_text)
        return self.template_no_input.replace("{instruction}", instruction)

    def render_eval(self, instruction: str, content: str, layout: str) -> str:
        """An evaluation prompt: a PromptBench instruction and a task row's content (eval.prompt_format).

        trained: the layout the model was trained with. Training renders a whole FLAN prompt (question
            and instance interleaved) as the instruction with no input, so the instruction and the
            content go together, a blank line apart, in the instruction slot.
        input: the content in the input slot (the released COIN evaluation's Alpaca layout). For chat
            both layouts give the same user turn.
        """
        if layout == "trained":
            return self.render(f"{instruction}\n\n{content}")
        if layout == "input":
            return self.render(instruction, content)
        raise CoinError(f"eval.prompt_format = {layout!r} is not allowed: use one of {', '.join(EVAL_FORMATS)}")


def prompt_format(model_params: Any, tokenizer: Any = None) -> PromptFormat:
    """The PromptFormat of params.model (style and alpaca templates); chat reads the tokenizer's template."""
    style = model_params.prompt_format
    head, tail = chat_parts(tokenizer) if style == "chat" else ("", "")
    return PromptFormat(style, model_params.prompt_template, model_params.prompt_template_no_input, head, tail)


__all__ = ["EVAL_FORMATS", "PROMPT_FORMATS", "PromptFormat", "chat_parts", "prompt_format"]
