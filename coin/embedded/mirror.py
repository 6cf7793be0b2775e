"""The embedded mirror: a synthetic corpus in the exact columns of every hub split the project reads.

`build_mirror(seed, train_rows, eval_rows)` returns one DataFrame per split of
`coin.data.registry.hub_splits()`, keyed by (hub_id, config, split), with the registry's columns and
dtypes. All text comes from a small grammar over our own vocabulary (coin.embedded.vocabulary) so that
each label follows one consistent cue a tiny model can learn:

- sentiment (sst2, imdb, yelp, sentiment140): polar adjectives and verbs, some negated ("never dull");
- acceptability (cola): well-formed sentences vs one corruption (adjacent words swapped, agreement
  broken, wrong verb form, a word dropped);
- NLI (anli, cb, rte, mnli, snli): entailment generalises the premise (hypernym, dropped modifier,
  synonym), contradiction negates it or uses an antonym, neutral adds a detail the premise lacks;
- paraphrase (mrpc, qqp, paws, stsb): synonym swaps / reordering / voice change keep the meaning,
  a changed element or swapped roles break it; stsb scores word overlap on a 0-5 scale;
- qnli: the sentence contains the asked-for element (place, time, doer, thing) or not;
- wnli / wsc: the reason clause points the pronoun at the first or the second person, always the same
  way for the same clause;
- boolq / multirc: the answer follows from the passage; wic: polysemous words in sense-specific
  contexts; ag_news: topic vocabulary per class; trec: the question word gives the answer type.

Hub quirks are reproduced so preprocessing is exercised: imdb `<br /><br />`, yelp's literal `\\n` and
`\\"` escapes, sst2's lowercase with a trailing space, trec's space before `?`, snli's label -1 rows,
sentiment140 polarity 0/4 with date/user/query columns, multirc's struct idx, stsb float32 scores.

Labels are balanced per split (a split's labels cycle through the label names, then are shuffled).
Evaluation splits are drawn first and their rows are unique within the task family; training rows never
repeat an evaluation row, so evaluation rows are unseen in training and do not change with
`train_rows`. The same seed gives the same frames (and byte-identical Parquet via hub_layout).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from typing import Any, Callable

import pandas as pd
import pyarrow as pa

from coin.data.registry import HubSplit, hub_splits
from coin.embedded import vocabulary as V
from coin.errors import CoinError

SplitKey = tuple[str, str | None, str]
Row = dict[str, Any]

MULTIRC_IDX = pa.struct([("paragraph", pa.int32()), ("question", pa.int32()), ("answer", pa.int32())])
NLI3 = ("entailment", "neutral", "contradiction")
SENTIMENT140_POLARITY = {"negative": 0, "positive": 4}
SNLI_UNLABELLED_SHARE = 40  # one row in this many has label -1 (no annotator agreement), as on the hub


# --- small text helpers ------------------------------------------------------------------------


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _plural(noun: str) -> str:
    if noun in V.IRREGULAR_PLURALS:
        return V.IRREGULAR_PLURALS[noun]
    if noun.endswith(("s", "sh", "ch", "x")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _sentence(*parts: str) -> str:
    return _cap(_join(*parts)) + "."


def _past(verb: str) -> str:
    return V.VERBS[verb][0]


def _third(verb: str) -> str:
    return V.VERBS[verb][1]


def _gerund(verb: str) -> str:
    return V.VERBS[verb][2]


def _participle(verb: str) -> str:
    return V.VERBS[verb][3]


def _place_phrase(place: str) -> str:
    return f"{V.PLACES[place]} the {place}" if place else ""


def _category(noun: str) -> str:
    return next(c for c, nouns in V.OBJECTS.items() if noun in nouns)


# --- events: who did what to which thing, where and when ---------------------------------------


@dataclass(frozen=True)
class Event:
    """One scene of the grammar; every sentence family renders or edits one of these."""

    subject: str  # a person noun ("farmer") or a name ("Anna")
    named: bool
    subject_adj: str  # "" or a person adjective
    verb: str  # base form, a key of VERB_OBJECTS
    obj: str
    obj_adj: str  # "" or an object adjective
    place: str  # "" or a key of PLACES
    time: str  # "" or a time phrase


def random_event(rng: random.Random, *, named: bool = False, min_modifiers: int = 1, antonym_verbs: float = 0.0) -> Event:
    """A random event with at least `min_modifiers` of (subject adjective, object adjective, place, time)."""
    if rng.random() < antonym_verbs:
        verb = rng.choice(sorted(V.VERB_ANTONYMS))
    else:
        verb = rng.choice(sorted(V.VERB_OBJECTS))
    obj = rng.choice(V.OBJECTS[rng.choice(V.VERB_OBJECTS[verb])])
    subject = rng.choice(V.FEMALE_NAMES + V.MALE_NAMES) if named else rng.choice(V.PEOPLE)
    while True:
        mods = [rng.random() < 0.5 for _ in range(4)]
        if sum(mods) >= min_modifiers:
            break
    return Event(
        subject=subject,
        named=named,
        subject_adj=rng.choice(V.PERSON_ADJECTIVES) if mods[0] and not named else "",
        verb=verb,
        obj=obj,
        obj_adj=rng.choice(V.OBJECT_ADJECTIVES) if mods[1] else "",
        place=rng.choice(sorted(V.PLACES)) if mods[2] else "",
        time=rng.choice(V.TIMES) if mods[3] else "",
    )


def _subject_np(e: Event, definite: bool = True) -> str:
    if e.named:
        return e.subject
    head = _join(e.subject_adj, e.subject)
    return f"the {head}" if definite else f"{_article(head)} {head}"


def _object_np(e: Event, definite: bool = True) -> str:
    head = _join(e.obj_adj, e.obj)
    return f"the {head}" if definite else f"{_article(head)} {head}"


def render_past(e: Event) -> str:
    """'The tired farmer sold the red apple at the market on monday.'"""
    return _sentence(_subject_np(e), _past(e.verb), _object_np(e), _place_phrase(e.place), e.time)


def render_progressive(e: Event) -> str:
    """Caption style (snli): 'A tired farmer is selling a red apple at the market.'"""
    return _sentence(_subject_np(e, definite=False), "is", _gerund(e.verb), _object_np(e, definite=False), _place_phrase(e.place))


def _render(e: Event, progressive: bool) -> str:
    return render_progressive(e) if progressive else render_past(e)


def _bare(e: Event) -> Event:
    return replace(e, subject_adj="", obj_adj="", place="", time="")


# --- NLI hypotheses ------------------------------------------------------------------------------


def _predicate(e: Event, progressive: bool, negated: bool = False) -> str:
    if progressive:
        return _join("is", "not" if negated else "", _gerund(e.verb))
    return _join("did not", e.verb) if negated else _past(e.verb)


def nli_hypothesis(rng: random.Random, e: Event, label: str, progressive: bool = False) -> str:
    """A hypothesis for premise event `e` with the given label (entailment | neutral | contradiction).

    entailment: a hypernym for the doer or the thing, modifiers dropped, a verb synonym, or the place;
    contradiction: negation, an antonym verb or adjective, or 'nobody'; neutral: the bare event plus a
    reason, a beneficiary or a manner adverb the premise does not state.
    """
    bare = _bare(e)
    subj = _subject_np(bare, definite=not progressive)
    obj = _object_np(bare, definite=not progressive)
    if label == "entailment":
        options = ["drop", "person", "thing"]
        if e.verb in V.VERB_SYNONYMS:
            options.append("synonym")
        if e.place:
            options.append("place")
        kind = rng.choice(options)
        if kind == "drop":
            keep = rng.choice([m for m in ("place", "time", "") if m == "" or getattr(e, m)])
            kept = replace(bare, **({keep: getattr(e, keep)} if keep else {}))
            return _render(kept, progressive)
        if kind == "person":
            who = "someone" if e.named else f"a {V.PERSON_HYPERNYM}"
            return _sentence(who, _predicate(e, progressive), obj)
        if kind == "thing":
            return _sentence(subj, _predicate(e, progressive), V.HYPERNYM_PHRASES[_category(e.obj)])
        if kind == "synonym":
            synonym = replace(bare, verb=V.VERB_SYNONYMS[e.verb])
            return _render(synonym, progressive)
        return _sentence(subj, "is" if progressive else "was", _place_phrase(e.place))
    if label == "contradiction":
        options = ["negation", "nobody"]
        if e.verb in V.VERB_ANTONYMS:
            options += ["antonym", "antonym"]
        if e.obj_adj in V.OBJECT_ADJECTIVE_ANTONYMS:
            options.append("adjective")
        kind = rng.choice(options)
        if kind == "negation":
            return _sentence(subj, _predicate(e, progressive, negated=True), obj)
        if kind == "nobody":
            return _sentence("nobody", _predicate(e, progressive), obj)
        if kind == "antonym":
            return _render(replace(bare, verb=V.VERB_ANTONYMS[e.verb]), progressive)
        flipped = replace(bare, obj_adj=V.OBJECT_ADJECTIVE_ANTONYMS[e.obj_adj])
        return _render(flipped, progressive)
    if label == "neutral":
        kind = rng.choice(["reason", "beneficiary", "manner"])
        if kind == "reason":
            return _sentence(subj, _predicate(e, progressive), obj, rng.choice(V.REASONS))
        if kind == "beneficiary":
            other = rng.choice([p for p in V.PEOPLE if p != e.subject])
            return _sentence(subj, _predicate(e, progressive), obj, "for", _article(other), other)
        return _sentence(subj, _predicate(e, progressive), obj, rng.choice(V.MANNER_ADVERBS))
    raise CoinError(f"NLI label {label!r} is not allowed: use one of {', '.join(NLI3)}")


def _background(rng: random.Random) -> str:
    """An unrelated sentence that pads multi-sentence premises."""
    return render_past(random_event(rng, min_modifiers=1))


def _nli_pair(rng: random.Random, label: str, *, named: bool = False, progressive: bool = False, context: int = 0) -> tuple[str, str]:
    """(premise, hypothesis) for a 3-way label; `context` unrelated sentences are added around the premise."""
    e = random_event(rng, named=named, min_modifiers=2, antonym_verbs=0.6)
    premise = _render(e, progressive)
    for _ in range(context):
        premise = f"{premise} {_background(rng)}" if rng.random() < 0.5 else f"{_background(rng)} {premise}"
    return premise, nli_hypothesis(rng, e, label, progressive)


def _two_way(rng: random.Random, label: str) -> str:
    """Map entailment / not_entailment to a 3-way label (not_entailment: contradiction or neutral)."""
    if label == "entailment":
        return "entailment"
    if label == "not_entailment":
        return rng.choice(["contradiction", "neutral"])
    raise CoinError(f"two-way NLI label {label!r} is not allowed: use entailment or not_entailment")


_ANLI_REASONS = {
    "entailment": ("The statement keeps only part of what the text says.", "A more general word still fits the text."),
    "neutral": ("The text never gives this extra detail.", "Nothing in the text tells us why or how."),
    "contradiction": ("The text says the opposite.", "The statement denies what the text reports."),
}


def _hex_uid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def make_anli(rng: random.Random, label: str) -> Row:
    premise, hypothesis = _nli_pair(rng, label, context=rng.choice([1, 2]))
    reason = rng.choice(_ANLI_REASONS[label]) if rng.random() < 0.5 else ""
    return {"uid": _hex_uid(rng), "premise": premise, "hypothesis": hypothesis, "label": label, "reason": reason}


def make_cb(rng: random.Random, label: str) -> Row:
    """CommitmentBank style: a speaker's embedded claim, the hypothesis a lowercase clause."""
    e = random_event(rng, min_modifiers=2, antonym_verbs=0.6)
    speaker = rng.choice(V.FEMALE_NAMES + V.MALE_NAMES)
    verb = rng.choice(["said", "told me", "was sure", "mentioned"])
    claim = render_past(e)
    premise = f"{speaker} {verb} that {claim[0].lower()}{claim[1:]}"
    hypothesis = nli_hypothesis(rng, e, label).rstrip(".")
    return {"premise": premise, "hypothesis": hypothesis[0].lower() + hypothesis[1:], "label": label}


def make_rte(rng: random.Random, label: str) -> Row:
    premise, hypothesis = _nli_pair(rng, _two_way(rng, label), context=1)
    return {"premise": premise, "hypothesis": hypothesis, "label": label}


def make_rte_glue(rng: random.Random, label: str) -> Row:
    row = make_rte(rng, label)
    return {"sentence1": row["premise"], "sentence2": row["hypothesis"], "label": label}


def make_mnli(rng: random.Random, label: str) -> Row:
    """Matched genre: mostly people nouns as doers (one in five a name)."""
    premise, hypothesis = _nli_pair(rng, label, named=rng.random() < 0.2)
    return {"premise": premise, "hypothesis": hypothesis, "label": label}


def make_mnli_mismatched(rng: random.Random, label: str) -> Row:
    """Mismatched genre: named people as doers ('someone' as their hypernym)."""
    premise, hypothesis = _nli_pair(rng, label, named=True)
    return {"premise": premise, "hypothesis": hypothesis, "label": label}


def make_snli(rng: random.Random, label: str) -> Row:
    shown = rng.choice(NLI3) if label == "-1" else label
    premise, hypothesis = _nli_pair(rng, shown, progressive=True)
    return {"premise": premise, "hypothesis": hypothesis, "label": label}


# --- qnli: does the sentence answer the question? ----------------------------------------------


def make_qnli(rng: random.Random, label: str) -> Row:
    """Where/when questions need the place/time in the sentence; who/what need the same verb and thing."""
    if label not in ("entailment", "not_entailment"):
        raise CoinError(f"qnli label {label!r} is not allowed: use entailment or not_entailment")
    e = random_event(rng, min_modifiers=1)
    e = replace(e, place=e.place or rng.choice(sorted(V.PLACES)), time=e.time or rng.choice(V.TIMES))
    kind = rng.choice(["where", "when", "who", "what"])
    subj = _subject_np(_bare(e))
    if kind == "where":
        question = f"Where did {subj} {e.verb} the {e.obj}?"
        answer = e if label == "entailment" else replace(e, place="")
    elif kind == "when":
        question = f"When did {subj} {e.verb} the {e.obj}?"
        answer = e if label == "entailment" else replace(e, time="")
    elif kind == "who":
        question = f"Who {_past(e.verb)} the {e.obj}?"
        other_verbs = [v for v in sorted(V.VERB_OBJECTS) if v != e.verb and _category(e.obj) in V.VERB_OBJECTS[v]]
        answer = e if label == "entailment" else replace(e, verb=rng.choice(other_verbs))
    else:
        question = f"What did {subj} {e.verb}?"
        answer = e if label == "entailment" else replace(e, verb=V.VERB_ANTONYMS.get(e.verb, "carry" if e.verb != "carry" else "find"))
    if kind in ("where", "when") and rng.random() < 0.5:
        answer = replace(answer, subject_adj="", obj_adj="")
    return {"question": question, "sentence": render_past(answer), "label": label}


# --- wnli / wsc: pronoun resolution ----------------------------------------------------------------


def _pronoun_scene(rng: random.Random) -> tuple[str, str, str, str, str, str]:
    """(sentence, x, y, pronoun, clause, referent) with two different people and one reason clause."""
    x, y = rng.sample(V.PEOPLE, 2)
    verb, clause, referent = rng.choice(V.PRONOUN_FRAMES)
    pronoun = rng.choice(["he", "she"])
    sentence = f"The {x} {verb} the {y} because {pronoun} {clause}."
    return sentence, x, y, pronoun, clause, referent


def make_wnli(rng: random.Random, label: str) -> Row:
    sentence, x, y, _, clause, referent = _pronoun_scene(rng)
    right, wrong = (x, y) if referent == "X" else (y, x)
    candidate = right if label == "entailment" else wrong
    if label not in ("entailment", "not_entailment"):
        raise CoinError(f"wnli label {label!r} is not allowed: use entailment or not_entailment")
    return {"sentence1": sentence, "sentence2": f"The {candidate} {clause}.", "label": label}


def make_wsc(rng: random.Random, label: str) -> Row:
    sentence, x, y, pronoun, _, referent = _pronoun_scene(rng)
    right, wrong = (x, y) if referent == "X" else (y, x)
    candidate = right if label == "True" else wrong
    words = sentence.split(" ")
    span1_index = 0 if candidate == x else words.index(y) - 1  # the determiner before the noun
    span1_text = f"{words[span1_index]} {candidate}"
    return {
        "text": sentence,
        "span1_index": span1_index,
        "span2_index": words.index(pronoun),
        "span1_text": span1_text,
        "span2_text": pronoun,
        "label": label,
    }


# --- paraphrase: mrpc, qqp, paws, stsb ----------------------------------------------------------


_REPORTERS = ("officials", "witnesses", "police", "neighbors", "a spokesman")


def _news_sentence(e: Event, reporter: str, time_first: bool, reporter_first: bool) -> str:
    core = _join(_subject_np(e), _past(e.verb), _object_np(e), _place_phrase(e.place))
    if time_first and e.time:
        core = f"{e.time}, {core}"
    elif e.time:
        core = f"{core} {e.time}"
    if reporter_first:
        return _cap(f"according to {reporter}, {core}") + "."
    return _cap(f"{core}, {reporter} said") + "."


def _synonym_swap(e: Event) -> Event:
    """The same event in other words: verb and adjectives replaced by their synonyms where we have one."""
    return replace(
        e,
        verb=V.VERB_SYNONYMS.get(e.verb, e.verb),
        obj_adj=V.ADJECTIVE_SYNONYMS.get(e.obj_adj, e.obj_adj),
        subject_adj=V.ADJECTIVE_SYNONYMS.get(e.subject_adj, e.subject_adj),
    )


def _change_one(rng: random.Random, e: Event) -> Event:
    """The event with one core element changed (thing, place, doer or verb), sharing the other words."""
    kind = rng.choice(["obj", "place", "subject", "verb"])
    if kind == "obj":
        return replace(e, obj=rng.choice([o for o in V.OBJECTS[_category(e.obj)] if o != e.obj]))
    if kind == "place":
        return replace(e, place=rng.choice([p for p in sorted(V.PLACES) if p != e.place]))
    if kind == "subject":
        pool = (V.FEMALE_NAMES + V.MALE_NAMES) if e.named else V.PEOPLE
        return replace(e, subject=rng.choice([s for s in pool if s != e.subject]))
    return replace(e, verb=V.VERB_ANTONYMS.get(e.verb) or rng.choice([v for v in ("carry", "find", "lose") if v != e.verb]))


def make_mrpc(rng: random.Random, label: str) -> Row:
    """equivalent: synonyms and reordering only; not_equivalent: one element changed, also reworded."""
    e = random_event(rng, named=rng.random() < 0.5, min_modifiers=2)
    e = replace(e, time=e.time or rng.choice(V.TIMES))
    reporter = rng.choice(_REPORTERS)
    first = _news_sentence(e, reporter, time_first=False, reporter_first=False)
    other = e if label == "equivalent" else _change_one(rng, e)
    if label not in ("equivalent", "not_equivalent"):
        raise CoinError(f"mrpc label {label!r} is not allowed: use equivalent or not_equivalent")
    if rng.random() < 0.6:
        other = _synonym_swap(other)
    second = _news_sentence(other, reporter, time_first=rng.random() < 0.5, reporter_first=rng.random() < 0.5)
    if second == first:
        second = _news_sentence(other, reporter, time_first=True, reporter_first=True)
    return {"sentence1": first, "sentence2": second, "label": label}


def _fix_articles(text: str) -> str:
    """'a apple' -> 'an apple' after filling a frame."""
    return re.sub(r"\b([Aa]) ([aeiou])", lambda m: f"{m.group(1)}n {m.group(2)}", text)


def _qqp_slots(rng: random.Random) -> dict[str, str]:
    verb = rng.choice(["buy", "repair", "clean", "paint", "sell", "find"])
    obj = rng.choice(V.OBJECTS[rng.choice([c for c in V.VERB_OBJECTS[verb] if c != "document"] or ["tool"])])
    return {"v": verb, "o": obj, "a": rng.choice(["dirty", "heavy", "expensive", "wet", "old"]), "p": rng.choice(V.PEOPLE)}


def make_qqp(rng: random.Random, label: str) -> Row:
    """duplicate: two frames of one intent with the same slots; not_duplicate: another slot or intent."""
    intent = rng.choice(sorted(V.QUESTION_INTENTS))
    frames = V.QUESTION_INTENTS[intent]
    slots = _qqp_slots(rng)
    first_frame, second_frame = rng.sample(frames, 2)
    first = _fix_articles(first_frame.format(**slots))
    if label == "duplicate":
        second_slots = dict(slots, v=V.VERB_SYNONYMS.get(slots["v"], slots["v"]) if rng.random() < 0.5 else slots["v"])
        second = second_frame.format(**second_slots)
    elif label == "not_duplicate":
        if rng.random() < 0.6:
            key = {"how": "o", "where": "o", "why": "a", "which": "p"}[intent] if rng.random() < 0.5 else "o"
            pool = {"o": [o for c in ("tool", "vehicle", "furniture", "clothing") for o in V.OBJECTS[c]],
                    "a": ["dirty", "heavy", "expensive", "wet", "old"], "p": list(V.PEOPLE)}[key]
            changed = dict(slots, **{key: rng.choice([w for w in pool if w != slots[key]])})
            second = second_frame.format(**changed)
        else:
            other_intent = rng.choice([i for i in sorted(V.QUESTION_INTENTS) if i != intent])
            second = rng.choice(V.QUESTION_INTENTS[other_intent]).format(**slots)
    else:
        raise CoinError(f"qqp label {label!r} is not allowed: use duplicate or not_duplicate")
    return {"question1": first, "question2": _fix_articles(second), "label": label}


def make_paws(rng: random.Random, label: str) -> Row:
    """Word-swap pairs: '1' keeps who did what (voice change / moved time), '0' swaps the two people."""
    x, y = rng.sample(V.PEOPLE, 2)
    verb = rng.choice(V.PEOPLE_VERBS)
    place = rng.choice(sorted(V.PLACES))
    time = rng.choice(V.TIMES)
    first = _sentence(f"the {x}", _past(verb), f"the {y}", _place_phrase(place), time)
    style = rng.choice(["passive", "time"])
    if label == "1":
        if style == "passive":
            second = _sentence(f"the {y} was", _participle(verb), f"by the {x}", _place_phrase(place), time)
        else:
            second = _cap(f"{time}, the {x} {_past(verb)} the {y} {_place_phrase(place)}") + "."
    elif label == "0":
        if style == "passive":
            second = _sentence(f"the {x} was", _participle(verb), f"by the {y}", _place_phrase(place), time)
        else:
            second = _sentence(f"the {y}", _past(verb), f"the {x}", _place_phrase(place), time)
    else:
        raise CoinError(f"paws label {label!r} is not allowed: use '0' or '1'")
    return {"sentence1": first, "sentence2": second, "label": label}


def _content(e: Event) -> set[str]:
    """Canonical content words of an event (synonyms map to one word) for the stsb overlap score."""
    back = {v: k for k, v in V.VERB_SYNONYMS.items()} | {v: k for k, v in V.ADJECTIVE_SYNONYMS.items()}
    words = {e.subject, back.get(e.verb, e.verb), e.obj, back.get(e.obj_adj, e.obj_adj), e.place, e.time}
    return {w for w in words if w}


def stsb_score(first: Event, second: Event) -> float:
    """score = 5 * |C1 & C2| / |C1 | C2| over canonical content words, rounded to a step of 0.2."""
    a, b = _content(first), _content(second)
    return round(5 * len(a & b) / len(a | b) * 5) / 5


def make_stsb(rng: random.Random, label: str) -> Row:
    e = random_event(rng, min_modifiers=2)
    changes = int(label)  # 0..5 elements changed, drawn evenly; the score follows the overlap
    other = e
    for _ in range(changes):
        other = _change_one(rng, other)
    if changes >= 4:
        other = random_event(rng, min_modifiers=2)
    if rng.random() < 0.5:
        other = _synonym_swap(other)
    return {"sentence1": render_past(e), "sentence2": render_past(other), "label": stsb_score(e, other)}


# --- acceptability: cola --------------------------------------------------------------------------


def _cola_words(rng: random.Random) -> tuple[list[str], str]:
    """A well-formed sentence as words (no final period) and its structure name."""
    e = random_event(rng, min_modifiers=0)
    place = _place_phrase(e.place).split() if e.place else []
    kind = rng.choice(["past", "present_one", "present_many", "modal", "negated"])
    subj = _subject_np(e).split()
    obj = _object_np(e).split()
    if kind == "past":
        return subj + [_past(e.verb)] + obj + place, kind
    if kind == "present_one":
        return subj + [_third(e.verb)] + obj + place, kind
    if kind == "present_many":
        return subj[:-1] + [_plural(e.subject), e.verb] + obj + place, kind
    if kind == "modal":
        return subj + [rng.choice(["will", "can", "should"]), e.verb] + obj + place, kind
    return subj + ["did", "not", e.verb] + obj + place, kind


def _corrupt(rng: random.Random, words: list[str], kind: str) -> list[str]:
    """One corruption: agreement broken, wrong verb form, two adjacent words swapped, or a word dropped."""
    options = ["swap", "drop"]
    if kind in ("present_one", "present_many"):
        options += ["agreement", "agreement"]
    if kind in ("modal", "negated"):
        options += ["form", "form"]
    choice = rng.choice(options)
    out = list(words)
    if choice == "agreement":
        for i, w in enumerate(out):
            verb = next((v for v, forms in V.VERBS.items() if w in (v, forms[1]) and v in V.VERB_OBJECTS), None)
            if verb and i > 0:
                out[i] = verb if w == _third(verb) else _third(verb)
                return out
    if choice == "form":
        for i, w in enumerate(out):
            if w in V.VERB_OBJECTS and i > 0:
                out[i] = _past(w) if _past(w) != w else _gerund(w)
                return out
    if choice == "swap":
        candidates = [i for i in range(len(out) - 1) if out[i] != out[i + 1]]
        i = rng.choice(candidates)
        out[i], out[i + 1] = out[i + 1], out[i]
        return out
    droppable = [i for i, w in enumerate(out) if i > 0 and (w in ("the", "at", "in", "on", "near") or w in V.VERBS or w in _VERB_FORMS)]
    del out[rng.choice(droppable)]
    return out


_VERB_FORMS = {form for forms in V.VERBS.values() for form in forms}


def make_cola(rng: random.Random, label: str) -> Row:
    words, kind = _cola_words(rng)
    if label == "unacceptable":
        words = _corrupt(rng, words, kind)
    elif label != "acceptable":
        raise CoinError(f"cola label {label!r} is not allowed: use acceptable or unacceptable")
    return {"sentence": _cap(" ".join(words)) + ".", "label": label}


# --- sentiment ---------------------------------------------------------------------------------------


def _polar(rng: random.Random, positive: bool) -> str:
    return rng.choice(V.POSITIVE_ADJECTIVES if positive else V.NEGATIVE_ADJECTIVES)


def _opinion_clause(rng: random.Random, positive: bool, aspects: tuple[str, ...]) -> str:
    """'the plot is truly gripping' / 'the music is never dull' (negated opposite) / 'i loved the cast'."""
    aspect = rng.choice(aspects)
    kind = rng.random()
    if kind < 0.15:  # negated opposite adjective
        return f"the {aspect} is {'never' if positive else 'not at all'} {_polar(rng, not positive)}"
    if kind < 0.35:
        verbs = V.POSITIVE_VERBS if positive else V.NEGATIVE_VERBS
        return f"i {rng.choice(verbs)} the {aspect}"
    intens = rng.choice(V.INTENSIFIERS) if rng.random() < 0.5 else ""
    return _join(f"the {aspect} is", intens, _polar(rng, positive))


def make_sst2(rng: random.Random, label: str) -> Row:
    """Lowercase phrases with a trailing space, as the hub's sst2 sentences are."""
    positive = label == "positive"
    if label not in ("positive", "negative"):
        raise CoinError(f"sst2 label {label!r} is not allowed: use positive or negative")
    kind = rng.random()
    if kind < 0.3:
        intens = rng.choice(V.INTENSIFIERS)
        text = _join(_article(intens), intens, _polar(rng, positive), rng.choice(V.FILM_WORDS))
    elif kind < 0.75:
        text = _opinion_clause(rng, positive, V.FILM_ASPECTS)
    else:
        first = _opinion_clause(rng, positive, V.FILM_ASPECTS)
        second = first
        while second.split()[:2] == first.split()[:2]:  # another aspect, not the same clause twice
            second = _opinion_clause(rng, positive, V.FILM_ASPECTS)
        text = f"{first} and {second}"
    return {"sentence": text + " ", "label": label}


def _review_sentences(rng: random.Random, positive: bool, aspects: tuple[str, ...]) -> list[str]:
    count = rng.randint(1, 2)
    return [_cap(_opinion_clause(rng, positive, aspects)) + "." for _ in range(count)]


_IMDB_OPENERS = ("I watched this {f} {t}.", "My friends took me to see this {f}.", "I finally saw this {f} {t}.")
_IMDB_CLOSERS = {
    True: ("I would gladly watch it again.", "Go and see it.", "It earns a place on my shelf."),
    False: ("I want those two hours back.", "Skip this one.", "I left before the end."),
}


def make_imdb(rng: random.Random, label: str) -> Row:
    """2-4 sentences; paragraphs separated by `<br /><br />` as in the hub's imdb text."""
    positive = label == "pos"
    opener = rng.choice(_IMDB_OPENERS).format(f=rng.choice(V.FILM_WORDS), t=rng.choice(V.TIMES))
    body = _review_sentences(rng, positive, V.FILM_ASPECTS)
    closer = rng.choice(_IMDB_CLOSERS[positive])
    paragraphs = [_join(opener, *body[:1]), _join(*body[1:], closer)]
    return {"text": "<br /><br />".join(p for p in paragraphs if p), "label": label}


_YELP_QUOTES = {True: ("come back soon", "enjoy your meal"), False: ("wait your turn", "we are busy")}


def make_yelp(rng: random.Random, label: str) -> Row:
    """2-4 sentences with the hub's literal backslash escapes: `\\n` between lines, `\\"` around quotes."""
    positive = label == "2"
    opener = f"We came here for {rng.choice(V.MEALS)} on {rng.choice(V.DAYS)}."
    body = _review_sentences(rng, positive, V.FOOD_ASPECTS)
    quote = f'The waiter said \\"{rng.choice(_YELP_QUOTES[positive])}\\" to us.'
    lines = [opener, " ".join(body)]
    if rng.random() < 0.6:
        lines.append(quote)
    return {"text": "\\n\\n".join(lines) if rng.random() < 0.5 else "\\n".join(lines), "label": label}


_TWEETS = {
    True: ("what a {a} {t} !!", "just had the most {a} {t}", "the {t} was {i} {a} today :)", "loving this {a} {t}", "yay {t} was {a}"),
    False: ("ugh the {t} was {a} again", "the {t} is so {a} today :(", "worst {t} ever, totally {a}", "cannot believe how {a} the {t} was", "sigh another {a} {t}"),
}
_MONTHS = ("Apr", "May", "Jun")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def make_sentiment140(rng: random.Random, label: str) -> Row:
    positive = label == "positive"
    body = rng.choice(_TWEETS[positive]).format(a=_polar(rng, positive), t=rng.choice(V.TWEET_TOPICS), i=rng.choice(V.INTENSIFIERS))
    if rng.random() < 0.4:
        body = f"@{rng.choice(V.FEMALE_NAMES + V.MALE_NAMES).lower()}{rng.randint(1, 99)} {body}"
    user = f"{rng.choice(V.FEMALE_NAMES + V.MALE_NAMES).lower()}_{rng.choice(V.PEOPLE)}{rng.randint(1, 999)}"
    date = (
        f"{rng.choice(_WEEKDAYS)} {rng.choice(_MONTHS)} {rng.randint(1, 28):02d} "
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} PDT 2009"
    )
    return {"text": body, "date": date, "user": user, "sentiment": SENTIMENT140_POLARITY[label], "query": "NO_QUERY"}


# --- reading: boolq, multirc, wic -------------------------------------------------------------------


def _distinct_events(rng: random.Random, count: int) -> list[Event]:
    """Events with different doers, things and places, so each question has one answer."""
    subjects = rng.sample(V.PEOPLE, count)
    places = rng.sample(sorted(V.PLACES), count)
    events, objs = [], set()
    for subject, place in zip(subjects, places):
        while True:
            e = replace(random_event(rng, min_modifiers=0), subject=subject, place=place, subject_adj="")
            if e.obj not in objs:
                objs.add(e.obj)
                events.append(e)
                break
    return events


def _passage(rng: random.Random, events: list[Event]) -> str:
    town = rng.choice(V.CITIES)
    intro = f"{town} is a small town near the river."
    return " ".join([intro] + [render_past(e) for e in events])


def make_boolq(rng: random.Random, label: str) -> Row:
    """Lowercase question without '?' (as the hub's); True iff verb, thing and place match the passage."""
    events = _distinct_events(rng, rng.randint(2, 3))
    target = rng.choice(events)
    asked = target
    if label == "False":
        kind = rng.choice(["verb", "obj", "place"])
        if kind == "verb":
            asked = replace(target, verb=V.VERB_ANTONYMS.get(target.verb) or ("lose" if target.verb != "lose" else "find"))
        elif kind == "obj":
            used = {e.obj for e in events}
            asked = replace(target, obj=rng.choice([o for o in V.OBJECTS[_category(target.obj)] if o not in used]))
        else:
            used = {e.place for e in events}
            asked = replace(target, place=rng.choice([p for p in sorted(V.PLACES) if p not in used]))
    elif label != "True":
        raise CoinError(f"boolq label {label!r} is not allowed: use 'False' or 'True'")
    question = _join("did the", asked.subject, asked.verb, "the", asked.obj, _place_phrase(asked.place))
    return {"question": question, "passage": _passage(rng, events), "label": label}


def multirc_group(rng: random.Random, paragraph_id: int, first_question: int, first_answer: int) -> list[Row]:
    """One paragraph with 2 questions, each with 2 or 4 candidate answers, half of them true."""
    events = _distinct_events(rng, 3)
    paragraph = _passage(rng, events)
    rows: list[Row] = []
    answer_id = first_answer
    for q in range(2):
        target = events[q]
        others = [e for e in events if e is not target]
        kind = rng.choice(["what", "where", "who"])
        if kind == "what":
            question = f"What did the {target.subject} {target.verb}?"
            right = [f"The {target.obj}", f"{_cap(_article(target.obj))} {target.obj}"]
            wrong = [f"The {e.obj}" for e in others]
        elif kind == "where":
            question = f"Where did the {target.subject} {target.verb} the {target.obj}?"
            right = [_cap(_place_phrase(target.place)), f"The {target.place}"]
            wrong = [_cap(_place_phrase(e.place)) for e in others]
        else:
            question = f"Who {_past(target.verb)} the {target.obj}?"
            right = [f"The {target.subject}", f"{_cap(_article(target.subject))} {target.subject}"]
            wrong = [f"The {e.subject}" for e in others]
        per_side = rng.choice([1, 2])
        answers = [(a, "True") for a in right[:per_side]] + [(a, "False") for a in wrong[:per_side]]
        rng.shuffle(answers)
        for text, label in answers:
            idx = {"paragraph": paragraph_id, "question": first_question + q, "answer": answer_id}
            rows.append({"paragraph": paragraph, "question": question, "answer": text, "idx": idx, "label": label})
            answer_id += 1
    return rows


def make_wic(rng: random.Random, label: str) -> Row:
    """True: two contexts of the same sense of the word; False: one context of each sense."""
    word = rng.choice(sorted(V.POLYSEMOUS))
    senses = V.POLYSEMOUS[word]
    if label == "True":
        sense = rng.choice([0, 1])
        first, second = rng.sample(senses[sense], 2)
    elif label == "False":
        order = rng.sample([0, 1], 2)
        first, second = rng.choice(senses[order[0]]), rng.choice(senses[order[1]])
    else:
        raise CoinError(f"wic label {label!r} is not allowed: use 'False' or 'True'")
    s1 = first.format(p=rng.choice(V.PEOPLE))
    s2 = second.format(p=rng.choice(V.PEOPLE))
    start1 = _word_start(s1, word)
    start2 = _word_start(s2, word)
    return {
        "word": word, "sentence1": s1, "sentence2": s2, "start1": start1, "start2": start2,
        "end1": start1 + len(word), "end2": start2 + len(word), "label": label,
    }


def _word_start(sentence: str, word: str) -> int:
    """Character offset of `word` as a whole word (case-insensitive) in `sentence`."""
    lowered = sentence.lower()
    at = 0
    while True:
        at = lowered.index(word, at)
        before = lowered[at - 1] if at else " "
        after = lowered[at + len(word)] if at + len(word) < len(lowered) else " "
        if not before.isalpha() and not after.isalpha():
            return at
        at += 1


# --- topics: ag_news, trec --------------------------------------------------------------------------


def make_ag_news(rng: random.Random, label: str) -> Row:
    """'Headline (Agency) Agency - body', the hub's ag_news text layout, with topic words per class."""
    words = V.TOPIC_WORDS[label]
    actor, action, thing = rng.choice(words["actors"]), rng.choice(words["actions"]), rng.choice(words["objects"])
    agency = rng.choice(V.AGENCIES)
    place = rng.choice(V.COUNTRIES + V.CITIES)
    headline = " ".join(w.capitalize() for w in f"{place} {actor.removeprefix('the ')} {action}".split())
    body = f"The {actor.removeprefix('the ')} in {place} {action} on {rng.choice(V.DAYS)}, {rng.choice(_REPORTERS)} said."
    extra = f" The news is expected to affect {thing}." if rng.random() < 0.7 else f" Talks about {thing} continue."
    return {"text": f"{headline} ({agency}) {agency} - {body}{extra}", "label": label}


_TREC_QUESTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "ABBR": (("ABBR:exp", "What does {acr} stand for ?"), ("ABBR:abb", "What is the abbreviation of the {org} ?"), ("ABBR:exp", "What is the full form of {acr} ?")),
    "ENTY": (
        ("ENTY:animal", "What animal lives near the {place} ?"), ("ENTY:color", "What color is the {o} in the {place} ?"),
        ("ENTY:food", "What fruit does the {p} like best ?"), ("ENTY:sport", "What sport does the {p} play {t} ?"),
        ("ENTY:veh", "What vehicle did the {p} drive to the {place} ?"),
    ),
    "DESC": (("DESC:reason", "Why did the {p} {v} the {o} ?"), ("DESC:manner", "How does a {p} {v} a {o} ?"), ("DESC:def", "What is a {o} ?")),
    "HUM": (("HUM:ind", "Who {vpast} the {o} {pp} ?"), ("HUM:gr", "What team won the {sport} final ?"), ("HUM:ind", "Which {p} {vpast} the {o} ?")),
    "LOC": (("LOC:other", "Where did the {p} {v} the {o} ?"), ("LOC:city", "What city is the {place} in ?"), ("LOC:country", "What country is {city} in ?")),
    "NUM": (
        ("NUM:count", "How many {pl} did the {p} {v} ?"), ("NUM:date", "When did the {p} {v} the {o} ?"),
        ("NUM:money", "How much does a {o} cost in {city} ?"), ("NUM:dist", "How far is the {place} from the {place2} ?"),
        ("NUM:period", "How long did the {p} stay at the {place} ?"),
    ),
}


def make_trec(rng: random.Random, label: str) -> Row:
    """Questions whose wording (who/where/how many/why/what animal/stand for) gives the answer type."""
    fine, pattern = rng.choice(_TREC_QUESTIONS[label])
    verb = rng.choice(sorted(V.VERB_OBJECTS))
    obj = rng.choice(V.OBJECTS[rng.choice(V.VERB_OBJECTS[verb])])
    place, place2 = rng.sample(sorted(V.PLACES), 2)
    slots = {
        "acr": "".join(rng.choice("ABCDEFGHKLMNPRSTV") for _ in range(3)), "org": rng.choice(V.ORGANIZATIONS),
        "place": place, "place2": place2, "o": obj, "pl": _plural(obj), "p": rng.choice(V.PEOPLE), "t": rng.choice(V.TIMES),
        "v": verb, "vpast": _past(verb), "pp": _place_phrase(place), "sport": rng.choice(V.SPORTS), "city": rng.choice(V.CITIES),
    }
    return {"text": pattern.format(**slots), "coarse_label": label, "fine_label": V.TREC_FINE_IDS[fine]}


# --- assembly: recipes per split, balanced labels, unique rows, hub dtypes --------------------------


@dataclass(frozen=True)
class Recipe:
    """How one hub split is generated: row maker, uniqueness family, label plan and label column."""

    make: Callable[[random.Random, str], Row]
    family: str  # rows are unique within a family across all its splits
    labels: tuple[str, ...]  # label names to balance over (for stsb: change counts)
    text_columns: tuple[str, ...]  # the columns that make a row's identity


def _recipe(make: Callable[[random.Random, str], Row], family: str, labels: tuple[str, ...], *text: str) -> Recipe:
    return Recipe(make, family, labels, text)


_ENT2 = ("entailment", "not_entailment")
_BOOL = ("False", "True")


def _in_groups(rng: random.Random, label: str) -> Row:
    """multirc rows are drawn a paragraph at a time (multirc_group), never one by one."""
    raise CoinError("multirc rows come in paragraph groups: build them with multirc_group")


RECIPES: dict[tuple[str, str | None], Recipe] = {
    ("facebook/anli", "plain_text"): _recipe(make_anli, "anli", NLI3, "premise", "hypothesis"),
    ("aps/super_glue", "cb"): _recipe(make_cb, "cb", NLI3, "premise", "hypothesis"),
    ("aps/super_glue", "rte"): _recipe(make_rte, "rte", _ENT2, "premise", "hypothesis"),
    ("aps/super_glue", "boolq"): _recipe(make_boolq, "boolq", _BOOL, "question", "passage"),
    ("aps/super_glue", "multirc"): _recipe(_in_groups, "multirc", _BOOL, "paragraph", "question", "answer"),
    ("aps/super_glue", "wic"): _recipe(make_wic, "wic", _BOOL, "sentence1", "sentence2"),
    ("aps/super_glue", "wsc.fixed"): _recipe(make_wsc, "wsc", _BOOL, "text", "span1_text"),
    ("nyu-mll/glue", "mnli"): _recipe(make_mnli, "mnli", NLI3, "premise", "hypothesis"),
    ("nyu-mll/glue", "qnli"): _recipe(make_qnli, "qnli", _ENT2, "question", "sentence"),
    ("nyu-mll/glue", "wnli"): _recipe(make_wnli, "wnli", _ENT2, "sentence1", "sentence2"),
    ("nyu-mll/glue", "sst2"): _recipe(make_sst2, "sst2", ("negative", "positive"), "sentence"),
    ("nyu-mll/glue", "mrpc"): _recipe(make_mrpc, "mrpc", ("not_equivalent", "equivalent"), "sentence1", "sentence2"),
    ("nyu-mll/glue", "qqp"): _recipe(make_qqp, "qqp", ("not_duplicate", "duplicate"), "question1", "question2"),
    ("nyu-mll/glue", "stsb"): _recipe(make_stsb, "stsb", ("0", "1", "2", "3", "4", "5"), "sentence1", "sentence2"),
    ("nyu-mll/glue", "cola"): _recipe(make_cola, "cola", ("unacceptable", "acceptable"), "sentence"),
    ("nyu-mll/glue", "rte"): _recipe(make_rte_glue, "rte", _ENT2, "sentence1", "sentence2"),
    ("stanfordnlp/snli", "plain_text"): _recipe(make_snli, "snli", NLI3, "premise", "hypothesis"),
    ("stanfordnlp/imdb", "plain_text"): _recipe(make_imdb, "imdb", ("neg", "pos"), "text"),
    ("stanfordnlp/sentiment140", "sentiment140"): _recipe(make_sentiment140, "sentiment140", ("negative", "positive"), "text"),
    ("fancyzhx/yelp_polarity", "plain_text"): _recipe(make_yelp, "yelp", ("1", "2"), "text"),
    ("google-research-datasets/paws", "labeled_final"): _recipe(make_paws, "paws", ("0", "1"), "sentence1", "sentence2"),
    ("fancyzhx/ag_news", None): _recipe(make_ag_news, "ag_news", ("World", "Sports", "Business", "Sci/Tech"), "text"),
    ("CogComp/trec", None): _recipe(make_trec, "trec", ("ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"), "text"),
}

# splits whose generator differs from their config's recipe
SPLIT_RECIPES: dict[SplitKey, Recipe] = {
    ("nyu-mll/glue", "mnli", "validation_mismatched"): _recipe(make_mnli_mismatched, "mnli", NLI3, "premise", "hypothesis"),
}

_MAX_TRIES = 200


def recipe_for(split: HubSplit) -> Recipe | None:
    """The recipe that generates `split` (a split-specific one first, else its config's)."""
    return SPLIT_RECIPES.get((split.hub_id, split.config, split.split)) or RECIPES.get((split.hub_id, split.config))


def split_rng(seed: int, split: HubSplit) -> random.Random:
    """The split's own generator: seeded by the global seed and the split's identity (not by order)."""
    return random.Random(f"coin-mirror:{seed}:{split.hub_id}:{split.config}:{split.split}")


def label_plan(rng: random.Random, labels: tuple[str, ...], n: int) -> list[str]:
    """n labels cycling through `labels` (counts differ by at most one), in a seeded random order."""
    plan = [labels[i % len(labels)] for i in range(n)]
    rng.shuffle(plan)
    return plan


def _is_train(split: HubSplit) -> bool:
    return split.split.startswith("train")


def _draw(rng: random.Random, make: Callable[[], Row], key: Callable[[Row], tuple[str, ...]], seen: dict, owner: str, name: str) -> Row:
    """A row whose key is new to the family (`seen`: key -> "eval" | "train"), recorded as `owner`.

    When a small family has no new rows left, a training split may repeat one of its own training rows
    (large hub splits have near-duplicates too); it never takes an evaluation row. An evaluation split
    that runs out stops with an error.
    """
    for _ in range(_MAX_TRIES):
        row = make()
        if key(row) not in seen:
            seen[key(row)] = owner
            return row
    if owner == "train":
        for _ in range(_MAX_TRIES):
            row = make()
            if seen.get(key(row), "train") == "train":
                seen[key(row)] = "train"
                return row
    raise CoinError(
        f"{name}: no new rows left after {_MAX_TRIES} tries: lower data.mirror_eval_rows "
        "(evaluation rows must be unique and unseen in training)"
    )


def _unique_rows(rng: random.Random, recipe: Recipe, plan: list[str], seen: dict, owner: str, name: str) -> list[Row]:
    """One row per planned label, each new to the family (see `_draw`)."""
    def key(row: Row) -> tuple[str, ...]:
        return tuple(str(row[c]) for c in recipe.text_columns)

    return [_draw(rng, lambda: recipe.make(rng, label), key, seen, owner, name) for label in plan]


def _multirc_rows(rng: random.Random, n: int, seen: dict, owner: str, name: str) -> list[Row]:
    """Paragraph groups (2 questions x 2-4 answers) until n rows; ids count up from 0 within the split."""
    rows: list[Row] = []
    paragraph = question = answer = 0
    while len(rows) < n:
        group = _draw(rng, lambda: multirc_group(rng, paragraph, question, answer), lambda g: (g[0]["paragraph"],), seen, owner, name)
        rows.extend(group[: n - len(rows)])
        paragraph += 1
        question += 2
        answer += len(group)
    return rows


def _snli_plan(rng: random.Random, n: int) -> list[str]:
    unlabelled = max(1, n // SNLI_UNLABELLED_SHARE)
    plan = [NLI3[i % 3] for i in range(n - unlabelled)] + ["-1"] * unlabelled
    rng.shuffle(plan)
    return plan


def _label_value(split: HubSplit, value: Any) -> Any:
    """A generated label name -> the hub's stored value (class index, float score, or polarity)."""
    if split.label_names:
        if value == "-1":
            return -1
        if value not in split.label_names:
            raise CoinError(f"{split.hub_id}/{split.config}/{split.split}: label {value!r} is not one of {', '.join(split.label_names)}")
        return split.label_names.index(value)
    return value


def _column_series(values: list[Any], dtype: str, column: str, split: HubSplit) -> pd.Series:
    if dtype == "string":
        return pd.Series(values, dtype=str, name=column)
    if dtype in ("int32", "int64", "float32", "float64"):
        return pd.Series(values, dtype=dtype, name=column)
    if dtype == "struct" and column == "idx":
        return pd.Series(values, dtype=pd.ArrowDtype(MULTIRC_IDX), name=column)
    raise CoinError(f"{split.hub_id}/{split.split}: column {column!r} has dtype {dtype!r}, which the mirror cannot write: use string, int32, int64, float32, float64 or struct")


def split_frame(split: HubSplit, rows: list[Row]) -> pd.DataFrame:
    """Rows (label names) -> a frame with exactly the split's columns, in its order and dtypes."""
    data = {}
    for column, dtype in split.columns.items():
        if column == split.label_column:
            values = [_label_value(split, r.get(column, r.get("label"))) for r in rows]
        elif column in ("idx", "id") and column not in rows[0]:
            values = list(range(1 if column == "id" else 0, len(rows) + (1 if column == "id" else 0)))
        elif column in rows[0]:
            values = [r[column] for r in rows]
        else:
            raise CoinError(f"{split.hub_id}/{split.split}: the mirror has no column {column!r} (it writes {', '.join(rows[0])})")
        data[column] = _column_series(values, dtype, column, split)
    return pd.DataFrame(data)


def build_split(seed: int, split: HubSplit, n: int, seen: dict[tuple[str, ...], str]) -> pd.DataFrame:
    """n rows of one split; `seen` maps the row keys already used in the split's family to "eval" or
    "train" and is updated (see `_draw`)."""
    recipe = recipe_for(split)
    name = f"{split.hub_id}/{split.config}/{split.split}"
    if recipe is None:
        raise CoinError(f"{name} has no embedded mirror recipe: the mirror covers {', '.join(f'{h}/{c}' for h, c in RECIPES)}")
    rng = split_rng(seed, split)
    owner = "train" if _is_train(split) else "eval"
    if recipe.family == "multirc":
        rows = _multirc_rows(rng, n, seen, owner, name)
    else:
        plan = _snli_plan(rng, n) if recipe.family == "snli" else label_plan(rng, recipe.labels, n)
        rows = _unique_rows(rng, recipe, plan, seen, owner, name)
    return split_frame(split, rows)


def build_mirror(seed: int, train_rows: int, eval_rows: int) -> dict[SplitKey, pd.DataFrame]:
    """Every split of `hub_splits()` -> its frame: train splits get `train_rows` rows, others `eval_rows`.

    Evaluation splits are built first, then training splits, each from its own seeded generator, so
    evaluation rows depend on (seed, eval_rows) only and no training row repeats an evaluation row of
    its family. The result is keyed in registry order.
    """
    if train_rows < 1 or eval_rows < 1:
        raise CoinError(f"mirror rows ({train_rows}, {eval_rows}) are not allowed: train_rows and eval_rows must be >= 1")
    splits = hub_splits()
    seen: dict[str, dict[tuple[str, ...], str]] = {}
    built: dict[SplitKey, pd.DataFrame] = {}
    for split in sorted(splits, key=_is_train):  # stable: evaluation splits first, registry order within
        recipe = recipe_for(split)
        family = recipe.family if recipe else split.hub_id
        n = train_rows if _is_train(split) else eval_rows
        built[(split.hub_id, split.config, split.split)] = build_split(seed, split, n, seen.setdefault(family, {}))
    return {(s.hub_id, s.config, s.split): built[(s.hub_id, s.config, s.split)] for s in splits}


def mirror_class_labels() -> dict[str, dict[tuple[str | None, str], tuple[str, ...]]]:
    """hub_id -> {(config, label column): label names}, for the README's ClassLabel features."""
    out: dict[str, dict[tuple[str | None, str], tuple[str, ...]]] = {}
    for split in hub_splits():
        if split.label_names:
            out.setdefault(split.hub_id, {})[(split.config, split.label_column)] = split.label_names
    return out


__all__ = [
    "Event",
    "MULTIRC_IDX",
    "RECIPES",
    "Recipe",
    "build_mirror",
    "build_split",
    "label_plan",
    "mirror_class_labels",
    "nli_hypothesis",
    "random_event",
    "render_past",
    "recipe_for",
    "render_progressive",
    "split_frame",
    "split_rng",
    "stsb_score",
]
