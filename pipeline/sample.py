"""Stage sample: round-robin, length-filtered anchor + hard-negative pairs (data/sampled.parquet)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer

from pipeline.app import app, stage

# files that define a tokenizer's behaviour (never the model weights beside them)
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "tokenizer.model", "vocab.json", "vocab.txt", "merges.txt",
)
LENGTH_RULE = "special-tokens+eos/v1"  # what token_length_fn counts; part of the memo's name


def tokenizer_fingerprint(folder: Path) -> str:
    """sha256 over the tokenizer files of `folder` (names and bytes) and the length rule."""
    digest = hashlib.sha256(LENGTH_RULE.encode())
    for name in TOKENIZER_FILES:
        path = Path(folder) / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class LengthMemo:
    """Token lengths already measured with one tokenizer, kept under data.cache_dir between stages.

    A cache only: the same texts give the same lengths with or without it (sample fills it, augment's
    re-derivation of the same selection then measures nothing twice).
    """

    def __init__(self, cache_dir: Path, fingerprint: str):
        self.path = Path(cache_dir) / "lengths" / f"{fingerprint}.npz"
        self.memo: dict[int, int] = {}
        if self.path.is_file():
            import numpy as np

            try:
                with np.load(self.path) as data:
                    self.memo = dict(zip(data["keys"].tolist(), data["lengths"].tolist()))
            except (OSError, ValueError, KeyError):
                self.memo = {}  # a damaged cache is rebuilt

    def save(self) -> None:
        """Write the memo (atomically) for the next stage or run."""
        import numpy as np

        from coin.io import atomic_path

        keys = np.fromiter(self.memo.keys(), dtype=np.int64, count=len(self.memo))
        lengths = np.fromiter(self.memo.values(), dtype=np.int64, count=len(self.memo))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=keys, lengths=lengths)


def load_budget(tokenizer: Path, p):
    """The length budget of sample and augment (the tokenizer at `tokenizer`, sample.cutoff_len, the
    model's prompt format), memoised under data.cache_dir; returns (budget, memo)."""
    from coin.data.sampling import LengthBudget, memoized, token_length_fn
    from coin.prompts.format import prompt_format
    from coin.errors import DataError

    if not Path(tokenizer).is_dir():
        raise DataError(f"{tokenizer} does not exist: run the base-model stage first (it writes the tokenizer)")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer))
    memo = LengthMemo(Path(p.data.cache_dir), tokenizer_fingerprint(Path(tokenizer)))
    length_fn = memoized(token_length_fn(tok), memo.memo)
    budget = LengthBudget(length_fn, p.sample.cutoff_len, prompt_format(p.model, tok))
    return budget, memo


def select(flan: Path, tokenizer: Path, p):
    """Read data/flan and run the pair selection with these params (shared by sample and augment)."""
    from coin.data.sampling import select_pairs
    from coin.io import read_parquet
    from coin.schemas import FLAN_EXAMPLES, FLAN_TEMPLATES

    examples = read_parquet(Path(flan) / "examples.parquet", FLAN_EXAMPLES)
    templates = read_parquet(Path(flan) / "templates.parquet", FLAN_TEMPLATES)
    budget, memo = load_budget(tokenizer, p)
    selection = select_pairs(examples, templates, p.data.datasets, p.sample.n_entries, p.seed, budget)
    memo.save()
    return selection, templates


@app.command("sample")
@stage
def sample(
    flan: Path = typer.Option(..., help="the extract stage's folder (examples.parquet, templates.parquet)"),
    tokenizer: Path = typer.Option(..., help="folder with the tokenizer that measures cutoff_len"),
    out: Path = typer.Option(..., help="the selected entries, SAMPLED schema (Parquet)"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    """Select sample.n_entries entries (n/2 pairs) round robin over data.datasets; write them."""
    from coin.data.sampling import sampled_frame
    from coin.io import write_parquet
    from coin.params import load_params
    from coin.schemas import SAMPLED

    p = load_params(params)
    selection, _ = select(flan, tokenizer, p)
    frame = sampled_frame(selection)
    write_parquet(frame, out, SAMPLED)
    counts = frame["dataset"].value_counts()
    typer.echo(f"sample: {len(frame)} entries from {len(counts)} datasets (min {counts.min()}, max {counts.max()})", err=True)
