"""The prompt format shared by training and evaluation (model.prompt_template*)."""

from __future__ import annotations


def format_prompt(template: str, template_no_input: str, instruction: str, input_text: str = "") -> str:
    """Render an instruction (and its input, if any) into the model's prompt.

    Uses `str.replace`, not `str.format`, so braces inside the instruction or input are kept as text.
    """
    if input_text:
        return template.replace("{instruction}", instruction).replace("{input}", input_text)
    return template_no_input.replace("{instruction}", instruction)
