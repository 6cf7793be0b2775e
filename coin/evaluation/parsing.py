"""Turn a generated answer into a label id.

Both parsers clean the output the way the COIN code and PromptBench do: lowercase, drop the "<pad>"
and "</s>" markers, then strip punctuation and whitespace from both ends. They return the index of the
matched word in `label_words`, or -1 (INVALID) when nothing matches; an invalid answer counts as wrong.
"""

from __future__ import annotations

import string

INVALID = -1

# characters stripped from both ends: ASCII punctuation (the COIN code's set plus * ; ~), whitespace and
# the zero-width space
STRIP_CHARS = string.punctuation + string.whitespace + "\u200b"


def clean_output(output: str) -> str:
    """Lowercase, remove "<pad>" and "</s>", strip punctuation and whitespace from both ends."""
    return output.lower().replace("<pad>", "").replace("</s>", "").strip(STRIP_CHARS)


def parse_prefix(output: str, label_words: list[str] | tuple[str, ...]) -> int:
    """Index of the label word the cleaned output starts with (the COIN code's rule), else -1.

    Words are tried longest first, so "not_entailment ..." is never read as a shorter word that it
    happens to start with. "entailment" does not match "not_entailment" (prefix, not substring).
    """
    text = clean_output(output)
    for i in sorted(range(len(label_words)), key=lambda i: -len(label_words[i])):
        if text.startswith(label_words[i].lower()):
            return i
    return INVALID


def parse_last_word(output: str, label_words: list[str] | tuple[str, ...]) -> int:
    """Index of the label word equal to the cleaned output's last word (PromptBench's `cls`), else -1.

    The last whitespace-separated word is stripped of punctuation once more, so a quoted answer
    ("... is 'positive'") still matches; the match is exact, so "positives" does not.
    """
    words = clean_output(output).split()
    if not words:
        return INVALID
    last = words[-1].strip(STRIP_CHARS)
    for i, word in enumerate(label_words):
        if last == word.lower():
            return i
    return INVALID


PARSERS = {"prefix": parse_prefix, "last_word": parse_last_word}

__all__ = ["INVALID", "PARSERS", "STRIP_CHARS", "clean_output", "parse_last_word", "parse_prefix"]
