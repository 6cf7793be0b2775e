"""The adversarial search over instruction perturbations, and its random (model-free) counterpart.

Goal function: a candidate instruction's score is the reference model's accuracy on the attack rows
(`score: list[str] -> list[float]`, lower is better for the attacker). Every distinct text the search
asks about costs one query of `perturb.query_budget` (the clean text included, as in TextAttack); a
`CachedScorer` shared across a task answers repeated texts without running the model again.

Greedy word-importance search (TextAttack's GreedyWordSwapWIR with "delete", as PromptBench):
  1. acc0 = score(clean); importance(i) = acc0 - score(clean without word i) for each modifiable word
     (for the first words only when that would use more than half of the remaining budget; the
     others rank after them, in word order);
  2. in order of decreasing importance (ties: word order), generate the constrained candidates at
     word i of the current text, score them, and keep the lowest-scoring one if it lowers the current
     accuracy (ties: first candidate);
  3. stop when the budget is spent, the words run out, or the accuracy reaches 0.
If no candidate lowers the accuracy, the lowest-scoring candidate seen is returned (harmful = false),
so the perturbed text still differs from the clean one; the text equals the clean one only when no
candidate exists (status no_candidate).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from coin.errors import CoinError
from coin.prompts.instructions import Instruction, Scorer, select_instructions, semantic_instructions
from coin.prompts.textattack_env import derive_seed, seed_everything
from coin.prompts.transformations import (
    CHECKLIST_CANDIDATES,
    STRESSTEST_DISTRACTIONS,
    Recipe,
    bertattack_recipe,
    candidates,
    deepwordbug_recipe,
    insert_before_final_punctuation,
    modifiable_indices,
    random_sequences,
    textbugger_recipe,
    textfooler_recipe,
    word_edits,
)

# outcome statuses
HARMFUL = "harmful"  # the accuracy went down
NOT_HARMFUL = "not_harmful"  # candidates were scored, none lowered the accuracy; the lowest is kept
UNSCORED = "unscored"  # the budget ran out before a candidate was scored; the first candidate is kept
NO_CANDIDATE = "no_candidate"  # no word could be changed: the text is the clean text
RANDOM = "random"  # mode random: edits at the edit rate, no model


class CachedScorer:
    """Memoises a scorer: each distinct text goes to the model once; counts requests and cache hits."""

    def __init__(self, score: Scorer) -> None:
        self.score = score
        self.cache: dict[str, float] = {}
        self.requests = 0
        self.hits = 0
        self.model_calls = 0

    def __call__(self, texts: list[str]) -> list[float]:
        self.requests += len(texts)
        new = [t for t in dict.fromkeys(texts) if t not in self.cache]
        self.hits += len(texts) - len(new)
        if new:
            values = list(self.score(new))
            if len(values) != len(new):
                raise CoinError(f"the scorer returned {len(values)} accuracies for {len(new)} instructions: it must return one per text")
            self.cache.update(zip(new, (float(v) for v in values)))
            self.model_calls += 1
        return [self.cache[t] for t in texts]

    @property
    def evaluated(self) -> int:
        """Distinct texts the model has scored."""
        return len(self.cache)

    def stats(self) -> dict[str, Any]:
        """Requests, cache hits, hit rate, distinct texts scored and model calls."""
        rate = self.hits / self.requests if self.requests else 0.0
        return {"requests": self.requests, "hits": self.hits, "hit_rate": rate, "evaluated": self.evaluated, "model_calls": self.model_calls}


class QueryBudget:
    """The queries of one attacked instruction: each distinct text asked about costs one, up to `budget`."""

    def __init__(self, scorer: Scorer, budget: int) -> None:
        self.scorer = scorer
        self.budget = int(budget)
        self.asked: dict[str, float] = {}

    @property
    def used(self) -> int:
        """Queries spent: distinct texts asked about."""
        return len(self.asked)

    @property
    def left(self) -> int:
        """Queries still allowed."""
        return self.budget - self.used

    def score(self, texts: list[str]) -> list[Optional[float]]:
        """Accuracies of `texts`; None for the new texts past the budget (texts asked before are free)."""
        new = [t for t in dict.fromkeys(texts) if t not in self.asked][: max(self.left, 0)]
        if new:
            self.asked.update(zip(new, self.scorer(new)))
        return [self.asked.get(t) for t in texts]


@dataclass
class Outcome:
    """A perturbed instruction and how it was found (stored as the `details` JSON of its row)."""

    text: str
    status: str
    edits: list[dict[str, Any]] = field(default_factory=list)
    queries: int = 0
    accuracy_before: Optional[float] = None
    accuracy_after: Optional[float] = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def harmful(self) -> Optional[bool]:
        """True when the accuracy went down; None without a model (mode random)."""
        if self.accuracy_before is None or self.accuracy_after is None:
            return None if self.status == RANDOM else False
        return self.accuracy_after < self.accuracy_before

    def details(self) -> dict[str, Any]:
        """The JSON-ready details of this outcome."""
        return {
            "status": self.status,
            "edits": self.edits,
            "queries": self.queries,
            "accuracy_before": self.accuracy_before,
            "accuracy_after": self.accuracy_after,
            "harmful": self.harmful,
            **self.extra,
        }


def _clean_accuracy(clean: str, budget: QueryBudget) -> float:
    """The clean text's accuracy, the first query of every search."""
    (acc0,) = budget.score([clean])
    if acc0 is None:
        raise CoinError(f"perturb.query_budget = {budget.budget} is not allowed here: the clean text alone needs one query")
    return acc0


def greedy_attack(clean: str, recipe: Recipe, budget: QueryBudget, ta: Any) -> Outcome:
    """Greedy word-importance search (module docstring) for the lowest-accuracy perturbation of `clean`."""
    original = ta.shared.AttackedText(clean)
    acc0 = _clean_accuracy(clean, budget)
    indices = modifiable_indices(recipe, original)
    ranked = indices[: budget.left // 2]  # importance may use at most half of what is left
    deleted = budget.score([original.delete_word_at_index(i).text for i in ranked])
    importance = {i: float("-inf") for i in indices}
    importance.update({i: acc0 - acc for i, acc in zip(ranked, deleted) if acc is not None})
    order = sorted(indices, key=lambda i: (-importance[i], i))

    current, current_acc = original, acc0
    lowest: Optional[tuple[Any, float]] = None
    first_unscored: Optional[Any] = None
    for index in order:
        if current_acc <= 0:
            break
        if budget.left <= 0 and (lowest is not None or first_unscored is not None):
            break
        texts = candidates(recipe, current, original, [index])
        if not texts:
            continue
        scores = budget.score([t.text for t in texts])
        scored = [(acc, k) for k, acc in enumerate(scores) if acc is not None]
        if not scored:
            if first_unscored is None:
                first_unscored = texts[0]
            continue
        acc, k = min(scored)
        if lowest is None or acc < lowest[1]:
            lowest = (texts[k], acc)
        if acc < current_acc:
            current, current_acc = texts[k], acc

    def outcome(text: Any, status: str, acc: Optional[float]) -> Outcome:
        return Outcome(text.text, status, word_edits(original.words, text.words), budget.used, acc0, acc)

    if current is not original:
        return outcome(current, HARMFUL, current_acc)
    if lowest is not None:
        return outcome(lowest[0], NOT_HARMFUL, lowest[1])
    if first_unscored is not None:
        return outcome(first_unscored, UNSCORED, None)
    return Outcome(clean, NO_CANDIDATE, [], budget.used, acc0, acc0)


def checklist_attack(clean: str, sequences: list[str], budget: QueryBudget) -> Outcome:
    """PromptBench's CheckList (and StressTest) search: insert each sequence, keep the lowest accuracy
    (ties: first)."""
    acc0 = _clean_accuracy(clean, budget)
    texts = [insert_before_final_punctuation(clean, s) for s in sequences[:CHECKLIST_CANDIDATES]]
    scores = budget.score(texts)
    scored = [(acc, k) for k, acc in enumerate(scores) if acc is not None]
    if not scored:
        return Outcome(texts[0], UNSCORED, [{"inserted": sequences[0]}], budget.used, acc0, None)
    acc, k = min(scored)
    status = HARMFUL if acc < acc0 else NOT_HARMFUL
    return Outcome(texts[k], status, [{"inserted": sequences[k]}], budget.used, acc0, acc, {"candidates": len(scored)})


def random_word_edits(clean: str, recipe: Recipe, rng: random.Random, edit_rate: float, ta: Any) -> Outcome:
    """Mode random: edit round(edit_rate * modifiable words) words (at least one), each with a random
    constrained candidate, visiting words in an order drawn from `rng`."""
    original = ta.shared.AttackedText(clean)
    indices = modifiable_indices(recipe, original)
    wanted = max(1, round(edit_rate * len(indices)))
    current = original
    done = 0
    for index in rng.sample(indices, len(indices)):
        if done == wanted:
            break
        texts = candidates(recipe, current, original, [index])
        if texts:
            current = texts[rng.randrange(len(texts))]
            done += 1
    if done == 0:
        return Outcome(clean, NO_CANDIDATE)
    return Outcome(current.text, RANDOM, word_edits(original.words, current.words))


def random_checklist(clean: str, rng: random.Random, choices: Optional[list[str]] = None) -> Outcome:
    """Mode random: one random sequence (or one of `choices`, StressTest's) inserted before the final punctuation."""
    (sequence,) = random_sequences(rng, 1) if choices is None else (rng.choice(choices),)
    return Outcome(insert_before_final_punctuation(clean, sequence), RANDOM, [{"inserted": sequence}])


def checklist_sequences(seed: int) -> list[str]:
    """The run's CheckList candidates: 50 sequences from random.Random(seed), shared by every instruction."""
    return random_sequences(random.Random(seed), CHECKLIST_CANDIDATES)


# --- one task's rows of the prompt set ----------------------------------------------------------


@dataclass
class AttackTools:
    """What the word-level groups need: the TextAttack module, the word embedding and sentence encoder
    (textfooler, textbugger) and the masked language model (bertattack)."""

    ta: Any
    embedding: Any = None
    embedding_name: str = ""
    encoder: Any = None
    encoder_name: str = "none"
    masked_lm: Any = None
    lm_tokenizer: Any = None
    lm_name: str = ""


WORD_GROUPS = ("deepwordbug", "textbugger", "textfooler", "bertattack")  # greedy word-importance search over a Recipe


def _recipe(group: str, task: str, params: Any, tools: AttackTools) -> Recipe:
    if group == "deepwordbug":
        return deepwordbug_recipe(tools.ta, task, params.levenshtein_limit)
    if group == "textbugger":
        return textbugger_recipe(tools.ta, task, tools.embedding, tools.embedding_name, tools.encoder, tools.encoder_name)
    if group == "bertattack":
        return bertattack_recipe(tools.ta, task, tools.masked_lm, tools.lm_tokenizer, tools.lm_name, tools.encoder, tools.encoder_name)
    return textfooler_recipe(
        tools.ta,
        task,
        tools.embedding,
        tools.embedding_name,
        params.textfooler_candidates,
        params.textfooler_min_cos,
        tools.encoder,
        tools.encoder_name,
    )


def perturb_task(
    task: str,
    sets: dict[str, list[str]],
    params: Any,
    seed: int,
    source: str,
    tools: Optional[AttackTools] = None,
    scorer: Optional[CachedScorer] = None,
    on_step: Optional[Callable[[dict[str, Any]], None]] = None,
) -> list[dict[str, Any]]:
    """The prompt-set rows of one task: its clean instructions, then each group of `params.groups`.

    `params` is a PerturbParams. Adversarial mode (and selection top) needs `scorer`; deepwordbug
    and textfooler need `tools`. Before each perturbed instruction the global random and numpy
    generators are seeded with derive_seed(seed, task, prompt_id, group), so every row depends on
    the seed and its own identity only. `on_step` gets {task, group, prompt_id, queries, seconds}.
    """
    adversarial = params.mode == "adversarial"
    if (adversarial or params.selection == "top") and scorer is None:
        raise CoinError(f"perturb.mode = {params.mode!r} with selection {params.selection!r} needs the reference model's scorer")
    clean = select_instructions(task, sets, params.n_instructions, params.selection, seed, scorer)

    def row(group: str, inst: Instruction, text: str, clean_text: str, details: dict[str, Any]) -> dict[str, Any]:
        if group != "clean" and text == clean_text and details.get("status") != NO_CANDIDATE:
            raise CoinError(f"{task} {group} prompt {inst.prompt_id}: the perturbed text equals the clean text (status {details.get('status')})")
        return {
            "task": task,
            "prompt_id": inst.prompt_id,
            "group": group,
            "text": text,
            "clean_text": clean_text,
            "origin": f"{source}:{inst.kind}",
            "details": json.dumps(details, sort_keys=True, ensure_ascii=False, allow_nan=False),
        }

    perturbed: list[dict[str, Any]] = []
    sequences = checklist_sequences(derive_seed(seed, "checklist")) if adversarial else []
    for group in params.groups:
        if group == "semantic":
            for inst, language in semantic_instructions(task, sets, params.languages, clean, seed):
                details = {"status": "selected", "language": language, "position": inst.position, "mode": params.mode}
                perturbed.append(row(group, inst, inst.text, clean[inst.prompt_id].text, details))
            continue
        recipe = None
        inserted = list(STRESSTEST_DISTRACTIONS) if group == "stresstest" else sequences
        if group in WORD_GROUPS:
            if tools is None:
                raise CoinError(f"perturb.groups has {group!r}, which needs the TextAttack tools")
            recipe = _recipe(group, task, params, tools)
        for inst in clean:
            instance_seed = derive_seed(seed, task, inst.prompt_id, group)
            seed_everything(instance_seed)
            start = time.perf_counter()
            if adversarial:
                budget = QueryBudget(scorer, params.query_budget)
                if recipe is not None:
                    outcome = greedy_attack(inst.text, recipe, budget, tools.ta)
                else:
                    outcome = checklist_attack(inst.text, inserted, budget)
            else:
                rng = random.Random(instance_seed)
                if recipe is not None:
                    outcome = random_word_edits(inst.text, recipe, rng, params.edit_rate, tools.ta)
                else:
                    outcome = random_checklist(inst.text, rng, inserted if group == "stresstest" else None)
            seconds = time.perf_counter() - start
            details = {**outcome.details(), "mode": params.mode, **(recipe.settings if recipe else {})}
            perturbed.append(row(group, inst, outcome.text, inst.text, details))
            if on_step:
                on_step({"task": task, "group": group, "prompt_id": inst.prompt_id, "queries": outcome.queries, "seconds": seconds})

    cache = scorer.cache if scorer is not None else {}
    clean_rows = [
        row("clean", inst, inst.text, inst.text, {"kind": inst.kind, "position": inst.position, "accuracy": cache.get(inst.text)})
        for inst in clean
    ]
    return clean_rows + perturbed


__all__ = [
    "AttackTools",
    "CachedScorer",
    "HARMFUL",
    "WORD_GROUPS",
    "NOT_HARMFUL",
    "NO_CANDIDATE",
    "Outcome",
    "QueryBudget",
    "RANDOM",
    "UNSCORED",
    "checklist_attack",
    "checklist_sequences",
    "greedy_attack",
    "perturb_task",
    "random_checklist",
    "random_word_edits",
]
