"""The perturbations the search builds, from TextAttack's transformations and constraints (PromptBench's
recipes, prompt_attack/attack.py and transformations.py at the pinned commit).

deepwordbug (character): CompositeTransformation of neighbouring-character swap, random character
    substitution, deletion and insertion (one random edit of each kind per word); constraints
    RepeatModification, StopwordModification, LevenshteinEditDistance(perturb.levenshtein_limit)
    against the clean text, and label-word protection.
textfooler (word): WordSwapEmbedding(max_candidates=perturb.textfooler_candidates) with
    WordEmbeddingDistance(min_cos_sim=perturb.textfooler_min_cos), RepeatModification,
    StopwordModification, label-word protection and the optional sentence encoder. PromptBench's
    part-of-speech constraint needs NLTK's tagger (a download), so it is left out; the embedded
    synonym groups keep one part of speech per group instead.
textbugger (character and word): CompositeTransformation of one random space inserted inside a word,
    one random inner character deleted, one random inner neighbour swap (first and last character kept),
    homoglyph substitution (each letter of HOMOGLYPHS in turn; TextAttack's own homoglyph swap reads a
    data file its wheel does not ship), and WordSwapEmbedding(max_candidates=5) on perturb.embedding's vectors;
    constraints RepeatModification, StopwordModification, label-word protection and the optional
    sentence encoder (perturb.sentence_encoder, built as for textfooler). PromptBench's TextBugger also
    requires UniversalSentenceEncoder(threshold 0.8): with `none` that constraint is dropped.
bertattack (word): WordSwapMaskedLM(method="bert-attack", max_candidates=48) on perturb.masked_lm (the
    masked language model's top guesses at each word's own position, BERT-Attack's rule), with
    RepeatModification, StopwordModification, label-word protection, MaxWordsPerturbed(max_percent=1) (a
    bound that never binds, kept as PromptBench's recipe has it) and the optional sentence encoder.
    PromptBench's BertAttack also requires UniversalSentenceEncoder(threshold 0.8) against the original:
    with `none` that constraint is dropped.
checklist (sentence): a random 10-character alphanumeric sequence inserted at the end of the
    instruction, before its final punctuation; the adversarial search tries 50 of them, as PromptBench.
stresstest (sentence): PromptBench's three distractions, "and true is true", "and false is not true" and
    "and true is true" five times over, inserted at the same place; the adversarial search tries all
    three (a brute-force search, as PromptBench's), random mode draws one.
semantic: handled by coin.prompts.instructions.semantic_instructions (no transformation).

Stopwords are those of coin.prompts.textattack_env (matched case-sensitively, as TextAttack does);
label words are matched case-insensitively, as PromptBench's LabelConstraint, and are also never
introduced by a swap.
"""

from __future__ import annotations

import functools
import random
import string
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Optional

from coin.evaluation.glue import label_words
from coin.prompts.textattack_env import STOPWORDS

# Latin letters and the Cyrillic letters drawn the same (Unicode's confusables), for TextBugger's homoglyph swap
HOMOGLYPHS = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "i": "\u0456", "j": "\u0458", "o": "\u043e", "p": "\u0440",
    "s": "\u0455", "x": "\u0445", "y": "\u0443", "A": "\u0410", "B": "\u0412", "C": "\u0421", "E": "\u0415",
    "H": "\u041d", "K": "\u041a", "M": "\u041c", "O": "\u041e", "P": "\u0420", "T": "\u0422", "X": "\u0425",
}
STRESSTEST_DISTRACTIONS = ("and true is true", "and false is not true", " ".join(["and true is true"] * 5))
TEXTBUGGER_CANDIDATES = 5  # WordSwapEmbedding neighbours per word, as PromptBench's TextBugger
BERTATTACK_CANDIDATES = 48  # the masked LM's top guesses per word, as PromptBench's BertAttack
CHECKLIST_LENGTH = 10
CHECKLIST_CANDIDATES = 50
CHECKLIST_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits
FINAL_PUNCTUATION = ".?!:;,\u2026"


@dataclass
class Recipe:
    """A word-level perturbation: TextAttack transformation, its constraints, and a JSON description."""

    group: str
    transformation: Any
    pre_constraints: list[Any]
    constraints: list[Any]
    protected: frozenset[str]
    settings: dict[str, Any] = field(default_factory=dict)


def protected_words(task: str) -> frozenset[str]:
    """Lowercase words never modified in `task`'s instructions: its label words and their `_` parts."""
    words = set()
    for word in label_words(task):
        words.add(word.lower())
        words.update(part for part in word.lower().split("_") if part)
    return frozenset(words)


@functools.cache
def _label_constraint_class(ta: ModuleType) -> type:
    class LabelWordConstraint(ta.constraints.PreTransformationConstraint):
        """Words whose lowercase form is a protected label word, and `{placeholder}` words, may not be modified."""

        def __init__(self, words: frozenset[str]) -> None:
            self.words = frozenset(w.lower() for w in words)

        def _get_modifiable_indices(self, current_text: Any) -> set[int]:
            held = placeholder_indices(current_text.text, current_text.words)
            return {i for i, word in enumerate(current_text.words) if word.lower() not in self.words and i not in held}

        def check_compatibility(self, transformation: Any) -> bool:
            return True

    return LabelWordConstraint


def placeholder_indices(text: str, words: list[str]) -> set[int]:
    """Indices of the words that stand alone inside braces, such as `content` in `{content}`: an input
    slot of a prompt template, never edited."""
    held, position = set(), 0
    for i, word in enumerate(words):
        start = text.find(word, position)
        if start < 0:
            continue
        end = start + len(word)
        if text[start - 1 : start] == "{" and text[end : end + 1] == "}":
            held.add(i)
        position = end
    return held


def label_constraint(ta: ModuleType, words: frozenset[str]) -> Any:
    """A TextAttack pre-transformation constraint protecting `words` (case-insensitive)."""
    return _label_constraint_class(ta)(words)


def _pre_constraints(ta: ModuleType, protected: frozenset[str]) -> list[Any]:
    """The pre-transformation constraints of both word-level groups: no word twice, no stopword, no label word."""
    c = ta.constraints.pre_transformation
    return [c.RepeatModification(), c.StopwordModification(stopwords=set(STOPWORDS)), label_constraint(ta, protected)]


def deepwordbug_recipe(ta: ModuleType, task: str, levenshtein_limit: int, protected: Optional[frozenset[str]] = None) -> Recipe:
    """PromptBench's DeepWordBug: four character edits, Levenshtein distance <= limit from the clean text.
    `protected` (lowercase words) replaces the task's label words (training positives protect their options)."""
    t = ta.transformations
    protected = protected_words(task) if protected is None else frozenset(protected)
    transformation = t.CompositeTransformation(
        [
            t.WordSwapNeighboringCharacterSwap(),
            t.WordSwapRandomCharacterSubstitution(),
            t.WordSwapRandomCharacterDeletion(),
            t.WordSwapRandomCharacterInsertion(),
        ]
    )
    pre = _pre_constraints(ta, protected)
    post = [ta.constraints.overlap.LevenshteinEditDistance(int(levenshtein_limit))]
    return Recipe("deepwordbug", transformation, pre, post, protected, {"levenshtein_limit": int(levenshtein_limit)})


def textfooler_recipe(
    ta: ModuleType,
    task: str,
    embedding: Any,
    embedding_name: str,
    max_candidates: int,
    min_cos: float,
    sentence_encoder: Optional[Any] = None,
    encoder_name: str = "none",
    protected: Optional[frozenset[str]] = None,
) -> Recipe:
    """PromptBench's TextFooler: embedding neighbours with cosine >= min_cos (and the sentence encoder, if any).
    `protected` replaces the task's label words, as in deepwordbug_recipe."""
    protected = protected_words(task) if protected is None else frozenset(protected)
    transformation = ta.transformations.WordSwapEmbedding(max_candidates=int(max_candidates), embedding=embedding)
    pre = _pre_constraints(ta, protected)
    post = [ta.constraints.semantics.WordEmbeddingDistance(embedding=embedding, min_cos_sim=float(min_cos))]
    if sentence_encoder is not None:
        post.append(sentence_encoder)
    settings = {
        "embedding": embedding_name,
        "max_candidates": int(max_candidates),
        "min_cos_sim": float(min_cos),
        "sentence_encoder": encoder_name,
    }
    return Recipe("textfooler", transformation, pre, post, protected, settings)


@functools.cache
def _homoglyph_swap_class(ta: ModuleType) -> type:
    class HomoglyphSwap(ta.transformations.WordSwap):
        """Every word with one letter replaced by its homoglyph (HOMOGLYPHS), one candidate per such letter."""

        def _get_replacement_words(self, word: str) -> list[str]:
            return [word[:i] + HOMOGLYPHS[c] + word[i + 1 :] for i, c in enumerate(word) if c in HOMOGLYPHS]

        @property
        def deterministic(self) -> bool:
            return True

    return HomoglyphSwap


def textbugger_recipe(
    ta: ModuleType,
    task: str,
    embedding: Any,
    embedding_name: str,
    sentence_encoder: Optional[Any] = None,
    encoder_name: str = "none",
    protected: Optional[frozenset[str]] = None,
) -> Recipe:
    """PromptBench's TextBugger: three one-character edits inside a word, homoglyphs and 5 embedding
    neighbours per word (and the sentence encoder, if any). `protected` as in deepwordbug_recipe."""
    t = ta.transformations
    protected = protected_words(task) if protected is None else frozenset(protected)
    inner = dict(random_one=True, skip_first_char=True, skip_last_char=True)
    transformation = t.CompositeTransformation(
        [
            t.WordSwapRandomCharacterInsertion(letters_to_insert=" ", **inner),
            t.WordSwapRandomCharacterDeletion(**inner),
            t.WordSwapNeighboringCharacterSwap(**inner),
            _homoglyph_swap_class(ta)(),
            t.WordSwapEmbedding(max_candidates=TEXTBUGGER_CANDIDATES, embedding=embedding),
        ]
    )
    post = [sentence_encoder] if sentence_encoder is not None else []
    settings = {"embedding": embedding_name, "max_candidates": TEXTBUGGER_CANDIDATES, "sentence_encoder": encoder_name}
    return Recipe("textbugger", transformation, _pre_constraints(ta, protected), post, protected, settings)


def bertattack_recipe(
    ta: ModuleType,
    task: str,
    masked_lm: Any,
    lm_tokenizer: Any,
    lm_name: str,
    sentence_encoder: Optional[Any] = None,
    encoder_name: str = "none",
    protected: Optional[frozenset[str]] = None,
    max_candidates: int = BERTATTACK_CANDIDATES,
) -> Recipe:
    """PromptBench's BertAttack: a word for one of the masked LM's `max_candidates` top guesses at its
    position (and the sentence encoder, if any). `protected` as in deepwordbug_recipe."""
    protected = protected_words(task) if protected is None else frozenset(protected)
    max_candidates = min(int(max_candidates), len(lm_tokenizer))  # a vocabulary smaller than that: every word
    transformation = ta.transformations.WordSwapMaskedLM(
        method="bert-attack", masked_language_model=masked_lm, tokenizer=lm_tokenizer, max_candidates=max_candidates
    )
    post = [ta.constraints.overlap.MaxWordsPerturbed(max_percent=1)]
    if sentence_encoder is not None:
        post.append(sentence_encoder)
    settings = {"masked_lm": lm_name, "max_candidates": max_candidates, "sentence_encoder": encoder_name}
    return Recipe("bertattack", transformation, _pre_constraints(ta, protected), post, protected, settings)


def modifiable_indices(recipe: Recipe, text: Any) -> list[int]:
    """Word indices of `text` (an AttackedText) that the recipe's pre-transformation constraints allow."""
    return sorted(recipe.transformation(text, recipe.pre_constraints, return_indices=True))


def candidates(recipe: Recipe, current: Any, original: Any, indices: list[int]) -> list[Any]:
    """Transformations of `current` at `indices` that pass every constraint, in TextAttack's order.

    A constraint with compare_against_original checks against `original`, else against `current`;
    a swap that introduces a protected label word is dropped.
    """
    texts = recipe.transformation(current, recipe.pre_constraints, indices_to_modify=list(indices))
    for constraint in recipe.constraints:
        if not texts:
            break
        reference = original if constraint.compare_against_original else current
        texts = constraint.call_many(texts, reference)
    kept = []
    for text in texts:
        new = text.attack_attrs.get("newly_modified_indices", set())
        if any(text.words[i].lower() in recipe.protected for i in new if i < len(text.words)):
            continue
        kept.append(text)
    return kept


def word_edits(clean_words: list[str], words: list[str]) -> list[dict[str, Any]]:
    """Changed words by position: [{"index", "from", "to"}]; one whole-text entry if the lengths differ."""
    if len(clean_words) != len(words):
        return [{"index": -1, "from": " ".join(clean_words), "to": " ".join(words)}]
    return [{"index": i, "from": a, "to": b} for i, (a, b) in enumerate(zip(clean_words, words)) if a != b]


def random_sequences(rng: random.Random, n: int, length: int = CHECKLIST_LENGTH) -> list[str]:
    """`n` random alphanumeric sequences of `length` characters drawn from `rng`."""
    return ["".join(rng.choices(CHECKLIST_ALPHABET, k=length)) for _ in range(n)]


def insert_before_final_punctuation(text: str, sequence: str) -> str:
    """`text` with " <sequence>" after its last word, before trailing sentence punctuation.

    "Classify the sentence." -> "Classify the sentence <sequence>."; quotes around a last word stay
    with the word: "Reply 'yes' or 'no':" -> "Reply 'yes' or 'no' <sequence>:".
    """
    body = text.rstrip()
    end = len(body)
    while end > 0 and (body[end - 1] in FINAL_PUNCTUATION or body[end - 1].isspace()):
        end -= 1
    head, tail = body[:end], body[end:].lstrip()
    if not head:
        return f"{sequence}{tail}" if tail else sequence
    return f"{head} {sequence}{tail}"


__all__ = [
    "BERTATTACK_CANDIDATES",
    "CHECKLIST_CANDIDATES",
    "CHECKLIST_LENGTH",
    "HOMOGLYPHS",
    "Recipe",
    "STRESSTEST_DISTRACTIONS",
    "TEXTBUGGER_CANDIDATES",
    "bertattack_recipe",
    "candidates",
    "deepwordbug_recipe",
    "insert_before_final_punctuation",
    "label_constraint",
    "placeholder_indices",
    "modifiable_indices",
    "protected_words",
    "random_sequences",
    "textbugger_recipe",
    "textfooler_recipe",
    "word_edits",
]
