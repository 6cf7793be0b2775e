"""Data side at paper scale: extract + sample + augment to 52,002 entries on a synthetic hub mirror.

Builds, under a temporary folder, a mirror with every FLAN training split of the registry at FLAN's
sizes (capped datasets at 30k rows, SNLI at 550k, the small ones at their real train sizes), same
columns and label types as the hub; a PATTERNS module with 10 synthetic templates per FLAN key (8
classification, 2 inverted); and a byte-level BPE tokenizer trained on a slice of the mirror text. Then
runs the three stage functions as dvc would and prints wall seconds per step and the peak RSS.

    .venv/bin/python benchmarks/data_scale.py [--entries 52002] [--keep DIR]

Targets: extract + sample + augment under 2 minutes, peak RSS under 3 GB.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coin.data.examples import template_fields  # noqa: E402
from coin.data.hub_layout import write_registry_repo  # noqa: E402
from coin.data.registry import FLAN_DATASETS  # noqa: E402
from coin.embedded.mirror import mirror_class_labels  # noqa: E402

# rows per train split: FLAN's 30k cap for the large ones, the real train size for the small ones
ROWS = {
    "anli_r1": 16_946, "cb": 250, "rte": 2_490, "boolq": 9_427, "multirc": 27_243, "wic": 5_428, "wsc": 554,
    "wnli": 635, "mrpc": 3_668, "stsb": 5_749, "cola": 8_551, "imdb": 25_000, "trec": 5_452, "snli": 550_152,
}
LARGE = 30_000
WORDS = np.array(
    "the a river stone lamp window quiet bright early late green small heavy open closed market garden "
    "teacher pilot walks carries finds builds sees likes never often today yesterday under over near far "
    "because although while after before friendly tired happy sad busy north south city village".split()
)
LONG_TEXT = {"imdb", "yelp", "boolq", "multirc"}  # passages and reviews: long enough to hit cutoff_len


def _sentences(rng: np.random.Generator, n: int, low: int, high: int) -> list[str]:
    lengths = rng.integers(low, high, size=n)
    words = rng.integers(0, len(WORDS), size=int(lengths.sum()))
    ends = np.cumsum(lengths)
    flat = WORDS[words]
    return [" ".join(flat[e - k : e]) + "." for e, k in zip(ends, lengths)]


def _column(rng: np.random.Generator, name: str, column: str, kind: str, n: int, split) -> list | np.ndarray:
    if column == split.label_column:
        if kind.startswith("float"):
            return rng.uniform(0, 5, size=n).astype(np.float32)
        if name == "sentiment140":
            return rng.choice([0, 4], size=n).astype(np.int32)
        return rng.integers(0, len(split.label_names), size=n)
    if kind == "struct":  # MultiRC idx
        return [{"paragraph": i // 40, "question": i // 5, "answer": i} for i in range(n)]
    if column in ("idx", "id", "start1", "start2", "end1", "end2", "span1_index", "span2_index"):
        return np.arange(n, dtype=np.int32)
    if column == "uid":
        return [f"u{i:07d}" for i in range(n)]
    long = name in LONG_TEXT and column in ("text", "passage", "paragraph")
    return _sentences(rng, n, 80, 260) if long else _sentences(rng, n, 4, 24)


def build_mirror(root: Path, seed: int = 0) -> None:
    """Write every distinct FLAN train split of the registry in the hub layout."""
    rng = np.random.default_rng(seed)
    repos: dict[str, dict] = {}
    for name, dataset in FLAN_DATASETS.items():
        split = dataset.train
        key = (split.config, split.split)
        if key in repos.get(split.hub_id, {}):
            continue  # mnli_matched / mnli_mismatched share one split
        n = ROWS.get(name, LARGE)
        frame = pd.DataFrame({c: _column(rng, name, c, kind, n, split) for c, kind in split.columns.items()})
        repos.setdefault(split.hub_id, {})[key] = frame
    labels = mirror_class_labels()  # ClassLabel names per (config, label column), as the embedded mirror writes
    for hub_id, frames in repos.items():
        write_registry_repo(root, hub_id, frames, labels.get(hub_id))


def write_patterns(path: Path) -> None:
    """A PATTERNS module with our own synthetic wording: 8 classification + 2 inverted per key."""
    keys: dict[str, tuple[str, ...]] = {}
    for name, dataset in FLAN_DATASETS.items():
        keys.setdefault(dataset.flan_key, template_fields(name))
    lines = ["PATTERNS = {"]
    for key, fields in keys.items():
        target = "{answer_str}" if key == "stsb" else "{answer}"
        body = "\\n".join("{" + f + "}" for f in fields)
        items = [(f"Variant {i} of the {key} question.\\n{body}\\nPick one.\\n{{options_}}", target) for i in range(8)]
        items += [(f"Make up an input whose answer is {{answer}} ({key}).", "{" + fields[0] + "}")] * 2
        lines.append(f"    {key!r}: [")
        lines += [f'        ("{a}", "{b}"),' for a, b in items]
        lines.append("    ],")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def train_tokenizer(mirror: Path, out: Path) -> None:
    """A byte-level BPE tokenizer (vocab 4096) trained on 20k lines of mirror text."""
    import pyarrow.parquet as pq
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    lines: list[str] = []
    for path in sorted(mirror.rglob("*.parquet"))[:6]:
        table = pq.read_table(path)
        for column in table.column_names:
            if table.schema.field(column).type == "string":
                lines += table.column(column).to_pylist()[:2000]
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=4096, special_tokens=["<pad>", "<s>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(lines[:20000] + ["### Instruction:\nOPTIONS:\n- yes\n- no\n\n### Response:\n"] * 50, trainer=trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, pad_token="<pad>", bos_token="<s>", eos_token="</s>")
    tok.save_pretrained(str(out))


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=52_002)
    parser.add_argument("--keep", type=Path, default=None, help="build in this folder and keep it")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="coin-data-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        build_mirror(work / "mirror")
        write_patterns(work / "templates.py")
        train_tokenizer(work / "mirror", work / "tokenizer")
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        params["data"].update(
            source="embedded", flan_templates=str(work / "templates.py"), cache_dir=str(work / "cache"), max_train_examples=30_000
        )
        params["data"]["datasets"] = list(FLAN_DATASETS)
        params["sample"].update(n_entries=args.entries, cutoff_len=256)
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        print(f"setup (mirror, templates, tokenizer; not timed below): {time.perf_counter() - t0:.1f} s", flush=True)

        import pipeline.augment
        import pipeline.extract
        import pipeline.sample

        steps = (
            ("extract", lambda: pipeline.extract.extract(mirror=work / "mirror", out=work / "flan", params=work / "params.yaml")),
            (
                "sample",
                lambda: pipeline.sample.sample(
                    flan=work / "flan", tokenizer=work / "tokenizer", out=work / "sampled.parquet", params=work / "params.yaml"
                ),
            ),
            (
                "augment",
                lambda: pipeline.augment.augment(
                    flan=work / "flan", sampled=work / "sampled.parquet", tokenizer=work / "tokenizer",
                    out=work / "train.parquet", card=work / "card", params=work / "params.yaml",
                ),
            ),
        )
        total = 0.0
        rows = []
        for name, run in steps:
            start = time.perf_counter()
            run()
            seconds = time.perf_counter() - start
            total += seconds
            rows.append((name, seconds, peak_rss_gb()))
        print(f"{'step':<10}{'wall s':>10}{'peak RSS GB':>14}")
        for name, seconds, rss in rows:
            print(f"{name:<10}{seconds:>10.1f}{rss:>14.2f}")
        print(f"{'total':<10}{total:>10.1f}{peak_rss_gb():>14.2f}   (targets: < 120 s, < 3 GB)")
        train = pd.read_parquet(work / "train.parquet")
        print(f"train.parquet: {len(train)} entries, {train['dataset'].nunique()} datasets")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
