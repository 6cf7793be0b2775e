"""Turn a generated answer into a label id.

Both parsers clean the output the way the COIN code and PromptBench do: lowercase, drop the "<pad>"
and "</s>" markers, then strip punctuation and whitespace from both ends. They return the index of the
matched word in `label_words`, or -1 (INVALID) when nothing matches; an invalid answer counts as wrong.
"""

from __future__ import annotations

import re
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


def _mention_pattern(word: str) -> re.Pattern[str]:
    """A label word as a whole word, case-insensitive; "_" or "-" in it also matches a space."""
    parts = [re.escape(p) for p in re.split(r"[_\- ]", word.lower()) if p]
    return re.compile(r"(?<![0-9a-z_])" + r"[ _\-]".join(parts) + r"(?![0-9a-z_])")


def parse_mention(output: str, label_words: list[str] | tuple[str, ...]) -> int:
    """Index of the label word the answer names first, as a whole word (for free-text answers), else -1.

    A real instruction-tuned model answers in sentences ("The sentiment is positive."), so the answer
    is searched, not just its start. Matching is case-insensitive and on whole words ("acceptable" is
    not found in "unacceptable"); "not entailment", "not-entailment" and "not_entailment" are one
    label. The earliest mention wins, and at the same start the longer label, so "not entailment" is
    never read as "entailment".
    """
    text = clean_output(output)
    best: tuple[int, int, int] | None = None  # (start, -length, index)
    for i, word in enumerate(label_words):
        found = _mention_pattern(word).search(text)
        if found and (best is None or (found.start(), -len(found.group())) < best[:2]):
            best = (found.start(), -len(found.group()), i)
    return INVALID if best is None else best[2]


PARSERS = {"prefix": parse_prefix, "last_word": parse_last_word, "mention": parse_mention}

__all__ = ["INVALID", "PARSERS", "STRIP_CHARS", "clean_output", "parse_last_word", "parse_mention", "parse_prefix"]
