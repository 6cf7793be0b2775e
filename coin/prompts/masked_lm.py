"""bertattack's masked language model (`perturb.masked_lm`): a model folder, a hub id, or the embedded one.

PromptBench's BertAttack asks bert-base-uncased. Here the model is whatever `perturb.masked_lm` names:
- a folder holding an AutoModelForMaskedLM and its tokenizer (`hf download bert-base-uncased --local-dir D`);
- a hub id, optionally pinned as `id@revision` (downloaded into the Hugging Face cache; offline it must
  be there already);
- `embedded`: a tiny BERT with random weights over the embedded word vectors' vocabulary (with the
  stopwords and punctuation, so an instruction's every word has a token), built here
  from a fixed seed. It runs the bertattack search offline end to end; its guesses are arbitrary words
  of that vocabulary, not a language model's, so its prompts say nothing about BERT-Attack's strength.
"""

from __future__ import annotations

from typing import Any

from coin.errors import CoinError

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
EMBEDDED_SEED = 20240217
EMBEDDED_SIZE = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
MAX_LENGTH = 512  # TextAttack pads every text to the masked LM's 512 positions


def word_tokenizer(words: list[str]) -> Any:
    """A lowercasing whitespace-and-punctuation word-level tokenizer over SPECIALS + `words` (ids in that order)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(dict.fromkeys([*SPECIALS, *(w.lower() for w in words)]))}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    core.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=MAX_LENGTH,
    )


def tiny_masked_lm(words: list[str], seed: int) -> tuple[Any, Any]:
    """(BertForMaskedLM with random weights from `seed`, its word tokenizer): the special tokens are never
    guessed (their output bias is -1e4)."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    tokenizer = word_tokenizer(words)
    config = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=MAX_LENGTH, pad_token_id=0, **EMBEDDED_SIZE)
    with torch.random.fork_rng(devices=[]):  # the caller's random state stays as it was
        torch.manual_seed(seed)
        model = BertForMaskedLM(config).eval()
    with torch.no_grad():
        model.cls.predictions.bias[: len(SPECIALS)] = -1e4
    return model, tokenizer


def resolve_masked_lm(spec: str) -> tuple[Any, Any, str]:
    """(model, tokenizer, description) for `perturb.masked_lm`."""
    from pathlib import Path

    if spec == "embedded":
        import string

        from coin.prompts.embeddings import EMBEDDED_VECTORS, read_word_vectors
        from coin.prompts.textattack_env import STOPWORDS

        words = sorted({*read_word_vectors(EMBEDDED_VECTORS).words, *STOPWORDS, *string.punctuation})
        model, tokenizer = tiny_masked_lm(words, EMBEDDED_SEED)
        return model, tokenizer, f"embedded:tiny-bert-random-weights,seed={EMBEDDED_SEED},words={len(words)}"
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    folder = Path(spec).expanduser()
    name, _, revision = (str(folder), "", "") if folder.is_dir() else spec.partition("@")
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, revision=revision or None)
        model = AutoModelForMaskedLM.from_pretrained(name, revision=revision or None).eval()
    except (OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CoinError(
            f"perturb.masked_lm = {spec!r} could not be loaded ({reason}): give a folder holding a masked language "
            "model and its tokenizer, a hub id this machine can download or has cached, or embedded"
        ) from None
    if tokenizer.mask_token is None:
        raise CoinError(f"perturb.masked_lm = {spec!r} has no mask token: bertattack needs a masked language model")
    return model, tokenizer, f"{'folder' if folder.is_dir() else 'hub'}:{spec}"


__all__ = ["EMBEDDED_SEED", "SPECIALS", "resolve_masked_lm", "tiny_masked_lm", "word_tokenizer"]
