"""Import TextAttack offline, without side effects on the rest of the process.

What `import textattack` (0.3.11) does, and what this module does about it:

* `textattack.shared.utils.install` sets `TOKENIZERS_PARALLELISM=True`, replaces the logging
  configuration with `logging.config.dictConfig` (which may disable loggers that already exist) and,
  unless the marker file `<TEXTATTACK_CACHE_DIR>/post_install_check_3` exists, calls `nltk.download`
  six times (network). `TEXTATTACK_CACHE_DIR` is `$TA_CACHE_DIR` or `~/.cache/textattack`; setting
  `TA_CACHE_DIR` would also rewrite `HF_HOME`, `XDG_CACHE_HOME`, `TFHUB_CACHE_DIR` and
  `PYTORCH_TRANSFORMERS_CACHE`, so we never set it. We create the (empty) marker where TextAttack
  looks for it and, in case that folder is not writable, replace `nltk.download` with a no-op for the
  duration of the import. The environment variable and logger states are restored afterwards.
* `textattack.augmentation.recipes` builds a `StopwordModification()` at import time, which reads
  NLTK's English stopwords corpus. We write our own stopword list as that corpus under
  `<cache_dir>/nltk_data` and put the folder on `NLTK_DATA` / `nltk.data.path`.
* Character transformations draw from the global `random` and `numpy.random` generators:
  `seed_everything` seeds both before each attacked instruction.
* TextAttack declares flair, and flair 0.15.1 requires transformers < 5, so the project installs
  TextAttack without its declared dependencies and without flair. Three of its modules import flair
  at import time (`shared/attacked_text.py`, `shared/utils/strings.py`,
  `constraints/grammaticality/part_of_speech.py`: `flair.data.Sentence`, `flair.data.Tokenizer`,
  `flair.models.SequenceTagger`, `flair.device`) but call it only for part-of-speech and named-entity
  tagging (`AttackedText.pos_of_word_index` / `ner_of_word_index`, the `PartOfSpeech` constraint with
  its flair tagger, the name and location swaps), which no recipe of ours reaches. When flair is not
  installed, stand-in `flair`, `flair.data` and `flair.models` modules are put in `sys.modules` for the
  duration of the import only; building a flair `Sentence` or loading a tagger raises `FlairMissing`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from coin.io import write_text

# Our own list of English function words: articles, pronouns, prepositions, conjunctions, auxiliaries
# and frequent adverbs. It is the NLTK "english" stopwords corpus TextAttack needs at import, and the
# words the word-level attacks leave alone (PromptBench protects stopwords in both searches).
STOPWORDS: tuple[str, ...] = (
    "a", "an", "the", "this", "that", "these", "those", "some", "any", "each", "every", "either",
    "neither", "both", "all", "no", "none", "such", "same", "other", "another", "own",
    "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves", "you", "your", "yours",
    "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it",
    "its", "itself", "they", "them", "their", "theirs", "themselves", "who", "whom", "whose", "which",
    "what", "whatever", "whoever",
    "about", "above", "across", "after", "against", "along", "among", "around", "as", "at", "before",
    "behind", "below", "beneath", "beside", "between", "beyond", "by", "down", "during", "except",
    "for", "from", "in", "inside", "into", "near", "of", "off", "on", "onto", "out", "outside", "over",
    "past", "per", "since", "through", "throughout", "till", "to", "toward", "towards", "under",
    "until", "up", "upon", "via", "with", "within", "without",
    "and", "but", "or", "nor", "so", "yet", "if", "then", "than", "because", "although", "though",
    "unless", "whereas", "while", "whether", "once", "when", "whenever", "where", "wherever", "why",
    "how",
    "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do",
    "does", "did", "doing", "can", "could", "may", "might", "must", "shall", "should", "will", "would",
    "isn't", "aren't", "wasn't", "weren't", "don't", "doesn't", "didn't", "can't", "cannot", "couldn't",
    "won't", "wouldn't", "shouldn't", "hasn't", "haven't", "hadn't", "it's", "that's", "there's",
    "not", "also", "again", "already", "even", "ever", "here", "there", "just", "only", "more", "most",
    "much", "many", "very", "too", "now", "still", "quite", "rather", "almost", "else", "further",
    "hence", "thus", "therefore", "however", "otherwise", "instead", "together", "few",
    "s", "t", "d", "ll", "m", "re", "ve", "o", "y",
)

STOPWORDS_FILE = Path("nltk_data") / "corpora" / "stopwords" / "english"
TEXTATTACK_MARKER = "post_install_check_3"


def stopword_set() -> frozenset[str]:
    """The distinct stopwords (lowercase)."""
    return frozenset(STOPWORDS)


def textattack_cache_dir() -> Path:
    """Where TextAttack looks for its marker and downloads: $TA_CACHE_DIR or ~/.cache/textattack."""
    return Path(os.environ.get("TA_CACHE_DIR", os.path.expanduser("~/.cache/textattack")))


def prepare_offline(cache_dir: str | Path) -> Path:
    """Write our stopwords corpus under `cache_dir`, put it on NLTK's path, create TextAttack's marker.

    Returns the NLTK data folder. Idempotent; the corpus is rewritten only when its content differs.
    """
    nltk_dir = Path(cache_dir) / "nltk_data"
    corpus = Path(cache_dir) / STOPWORDS_FILE
    content = "\n".join(sorted(stopword_set())) + "\n"
    if not corpus.is_file() or corpus.read_text() != content:
        write_text(content, corpus)
    known = os.environ.get("NLTK_DATA", "")
    parts = [p for p in known.split(os.pathsep) if p]
    if str(nltk_dir) not in parts:
        os.environ["NLTK_DATA"] = os.pathsep.join([str(nltk_dir), *parts])
    if "nltk.data" in sys.modules:  # NLTK read NLTK_DATA when it was imported
        paths = sys.modules["nltk.data"].path
        if str(nltk_dir) not in paths:
            paths.insert(0, str(nltk_dir))
    marker = textattack_cache_dir() / TEXTATTACK_MARKER
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch(exist_ok=True)
    except OSError:
        pass  # import_textattack stubs nltk.download, so TextAttack's post-install stays offline
    return nltk_dir


class FlairMissing(RuntimeError):
    """A TextAttack path that needs flair (part-of-speech / named-entity tagging) was reached."""


FLAIR_MODULES = ("flair", "flair.data", "flair.models")


def _flair_missing(*_: Any, **__: Any) -> Any:
    raise FlairMissing("flair is not installed: TextAttack's part-of-speech and named-entity tagging are not available")


def flair_stand_ins() -> dict[str, ModuleType]:
    """Stand-in modules with the names TextAttack 0.3.11 takes from flair at import time."""
    flair = ModuleType("flair")
    data = ModuleType("flair.data")
    models = ModuleType("flair.models")
    data.Tokenizer = type("Tokenizer", (), {"tokenize": _flair_missing})  # TextAttack subclasses it
    data.Sentence = type("Sentence", (), {"__init__": _flair_missing})
    models.SequenceTagger = type("SequenceTagger", (), {"load": staticmethod(_flair_missing)})
    flair.data, flair.models, flair.device = data, models, None
    return {"flair": flair, "flair.data": data, "flair.models": models}


def import_textattack(cache_dir: str | Path) -> ModuleType:
    """Import and return `textattack` with no network access and no lasting global side effects."""
    if "textattack" in sys.modules:
        return sys.modules["textattack"]
    prepare_offline(cache_dir)
    import nltk

    saved_env = {key: os.environ.get(key) for key in ("TOKENIZERS_PARALLELISM",)}
    manager = logging.Logger.manager
    saved_disabled = {
        name: logger.disabled for name, logger in manager.loggerDict.items() if isinstance(logger, logging.Logger)
    }
    real_download = nltk.download

    def offline_download(*_: Any, **__: Any) -> bool:
        return False

    nltk.download = offline_download
    stand_ins = flair_stand_ins() if importlib.util.find_spec("flair") is None else {}
    sys.modules.update(stand_ins)
    try:
        import textattack
    finally:
        for name in stand_ins:
            sys.modules.pop(name, None)
        nltk.download = real_download
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for name, disabled in saved_disabled.items():
            logger = manager.loggerDict.get(name)
            if isinstance(logger, logging.Logger):
                logger.disabled = disabled
    return textattack


def derive_seed(seed: int, *parts: object) -> int:
    """A 32-bit seed from `seed` and names (sha256 of their text), independent of processing order."""
    text = "/".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def seed_everything(seed: int) -> None:
    """Seed the global `random` and `numpy.random` generators TextAttack's transformations use."""
    random.seed(seed)
    np.random.seed(seed)


__all__ = [
    "FLAIR_MODULES",
    "STOPWORDS",
    "FlairMissing",
    "derive_seed",
    "flair_stand_ins",
    "import_textattack",
    "prepare_offline",
    "seed_everything",
    "stopword_set",
    "textattack_cache_dir",
]
