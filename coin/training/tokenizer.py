"""The embedded model's tokenizer: byte-level BPE trained on the pipeline's own texts.

Byte-level BPE encodes any string (no unknown token), so perturbed instructions with odd characters
still tokenize. Special tokens: `<pad>` (id 0), `<s>` (id 1, prepended to every encoded text, as LLaMA
tokenizers do) and `</s>` (id 2, appended to responses by the training collator).

Also builds the tokenizer's training corpus from data/flan (examples rendered with their dataset's kept
FLAN templates) and from the embedded evaluation instructions (string literals read with `ast`).
"""

from __future__ import annotations

import ast
import json
from typing import Any, Iterable, Iterator

import pandas as pd

PAD, BOS, EOS = "<pad>", "<s>", "</s>"
SPECIAL_TOKENS = (PAD, BOS, EOS)


def train_tokenizer(texts: Iterable[str], vocab_size: int, model_max_length: int = 512):
    """Train a byte-level BPE tokenizer on `texts` and wrap it as a `PreTrainedTokenizerFast`.

    Deterministic for the same texts in the same order. Encoding prepends `<s>` (post-processor);
    padding is on the left (batched generation); the vocabulary holds at most `vocab_size` tokens.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(texts), trainer=trainer)
    bos_id = bpe.token_to_id(BOS)
    bpe.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B:1", special_tokens=[(BOS, bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        padding_side="left",
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,
    )


def _simple_render(fields: dict[str, Any], options: list[str]) -> str:
    """Field values one per line, then the options (for a dataset without kept templates)."""
    lines = [str(v) for v in fields.values()]
    return "\n".join(lines + ["OPTIONS:"] + [f"- {o}" for o in options])


def flan_corpus(examples: pd.DataFrame, templates: pd.DataFrame) -> Iterator[str]:
    """Texts of data/flan for the tokenizer: each example rendered with one kept template of its dataset.

    Example i of a dataset uses that dataset's kept templates in turn (i mod n_kept), so every template's
    wording is in the corpus; the answer follows on a new line. Rendering is
    `coin.data.flan_templates.render`; a dataset without kept templates gets its field values and
    options, one per line. Rows are visited in (dataset, example_id) order, so the corpus does not
    depend on the file's row order.
    """
    from coin.data.flan_templates import render
    from coin.data.registry import FLAN_DATASETS

    kept = templates[templates["kept"]].sort_values(["flan_key", "template_id"])
    by_key = {key: list(group["input_template"]) for key, group in kept.groupby("flan_key", sort=True)}
    ordered = examples.sort_values(["dataset", "example_id"], kind="stable")
    for dataset, rows in ordered.groupby("dataset", sort=True):
        flan_key = FLAN_DATASETS[dataset].flan_key if dataset in FLAN_DATASETS else dataset
        inputs = by_key.get(flan_key, [])
        for i, (fields_json, options, answer) in enumerate(zip(rows["fields"], rows["options"], rows["answer"])):
            fields = json.loads(fields_json)
            options = [str(o) for o in options]
            if inputs:
                prompt = render(inputs[i % len(inputs)], fields, options)
            else:
                prompt = _simple_render(fields, options)
            yield f"{prompt}\n{answer}"


def literal_strings(source: str) -> list[str]:
    """Every string inside the literal values assigned at the top level of a Python module's source.

    The module is parsed with `ast` and each assigned value read with `ast.literal_eval` (never executed);
    nested dicts, lists and tuples are walked in order; values that are not literals are skipped.
    """
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value if not isinstance(value, (set, frozenset)) else sorted(value, key=str):
                walk(item)

    for node in ast.parse(source).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            try:
                walk(ast.literal_eval(node.value))
            except ValueError:
                continue
    return out


__all__ = ["BOS", "EOS", "PAD", "SPECIAL_TOKENS", "flan_corpus", "literal_strings", "train_tokenizer"]
