"""The prompt format shared by training and evaluation (model.prompt_template*)."""

from __future__ import annotations


def format_prompt(template: str, template_no_input: str, instruction: str, input_text: str = "") -> str:
    """Render an instruction (and its input, if any) into the model's prompt.

    Uses `str.replace`, not `str.format`, so braces inside the instruction or input are kept as text.
    """
    if input_text:
        return template.replace("{instruction}", instruction).replace("{input}", input_text)
    return template_no_input.replace("{instruction}", instruction)


EVAL_FORMATS = ("trained", "input")


def eval_template(template: str, template_no_input: str, style: str) -> str:
    """The template (with {instruction} and {input}) that evaluation renders instruction + content with.

    trained: the layout the model was trained with. Training renders a whole FLAN prompt (question and
        instance interleaved) as the instruction with no input section, so evaluation puts the
        instruction and the content together in the instruction slot of the no-input template.
    input: the instruction in the instruction slot and the content in the input slot of the template
        with an input section (the released COIN evaluation's Alpaca layout).
    """
    if style == "input":
        return template
    if style == "trained":
        return template_no_input.replace("{instruction}", "{instruction}\n\n{input}")
    raise ValueError(f"unknown evaluation prompt format {style!r}: use one of {', '.join(EVAL_FORMATS)}")
