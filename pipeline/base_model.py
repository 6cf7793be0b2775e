"""`base-model`: the model every variant starts from (models/base).

model.base = embedded-tiny: train a byte-level BPE tokenizer on data/flan and the embedded evaluation
instructions, build the tiny LLaMA from model.tiny, save weights + tokenizer + base.json.
A named base (smollm2-135m-instruct) or a .gguf file: convert it once into models/base.
Otherwise (hub id or local folder): save that model's tokenizer and a base.json pointing at it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.app import app, stage

INSTRUCTIONS_MODULE = Path(__file__).resolve().parents[1] / "coin" / "embedded" / "instructions.py"


def tokenizer_corpus(flan: Path, instructions_source: str | None) -> list[str]:
    """The tiny tokenizer's training texts: rendered data/flan examples, then the embedded instructions."""
    from coin.io import read_parquet
    from coin.schemas import FLAN_EXAMPLES, FLAN_TEMPLATES
    from coin.training.tokenizer import flan_corpus, literal_strings

    examples = read_parquet(flan / "examples.parquet", FLAN_EXAMPLES)
    templates = read_parquet(flan / "templates.parquet", FLAN_TEMPLATES)
    texts = list(flan_corpus(examples, templates))
    if instructions_source is not None:
        texts += literal_strings(instructions_source)
    return texts


def build_base(flan: Path, out: Path, params, instructions_source: str | None) -> str:
    """Write models/base for `params` atomically; returns a one-line summary.

    embedded-tiny: tokenizer trained on data/flan + the tiny model. A named base or .gguf file: the
    dequantised model (safetensors) with its tokenizer fixed from the GGUF metadata. A folder or hub id:
    its tokenizer and a pointer. With model.lora.init_adapter, base.json names the adapter too, so the
    evaluated base is base + adapter (the paper's Alpaca), while training continues that adapter.
    """
    from coin.io import atomic_dir, sha256_file, write_json
    from coin.training.base_sources import NAMED_BASES, load_gguf, resolve_base_source
    from coin.training.model import BASE_FILE, EMBEDDED_TINY, build_tiny_model, load_tokenizer, save_model_folder
    from coin.training.tokenizer import train_tokenizer

    model_params = params.model
    source = resolve_base_source(model_params.base, EMBEDDED_TINY)
    adapter = {"adapter": model_params.lora.init_adapter} if model_params.lora.init_adapter else {}
    with_adapter = f" + adapter {model_params.lora.init_adapter}" if adapter else ""
    if source.kind == "embedded":
        tiny = model_params.tiny
        texts = tokenizer_corpus(flan, instructions_source)
        tokenizer = train_tokenizer(texts, tiny.vocab_size, model_max_length=tiny.max_position)
        model = build_tiny_model(tiny, tokenizer, params.seed)
        info = {"base": EMBEDDED_TINY, "weights": "full", "params": {"seed": params.seed, "model.tiny": params.to_dict()["model"]["tiny"]}}
        with atomic_dir(out) as tmp:
            save_model_folder(model, tokenizer, tmp, {**info, **adapter})
        n_params = sum(p.numel() for p in model.parameters())
        return f"{out}: {EMBEDDED_TINY}{with_adapter} ({n_params:,} parameters, {len(tokenizer)} tokens, tokenizer from {len(texts)} texts)"
    if source.kind == "gguf":
        model, tokenizer, fixes = load_gguf(source.path)
        gguf = {"file": Path(source.path).name, "sha256": sha256_file(source.path)}
        if source.named:
            named = NAMED_BASES[source.named]
            gguf.update(package=f"{named.package}=={named.version}", origin=named.origin)
        info = {"base": model_params.base, "weights": "full", "gguf": gguf, "tokenizer_fixes": fixes, **adapter}
        with atomic_dir(out) as tmp:
            save_model_folder(model, tokenizer, tmp, info)
        n_params = sum(p.numel() for p in model.parameters())
        fixed = f"; tokenizer fixed: {', '.join(fixes)}" if fixes else ""
        return f"{out}: {model_params.base}{with_adapter} converted from GGUF ({n_params:,} parameters{fixed})"
    tokenizer = load_tokenizer(source.path)
    with atomic_dir(out) as tmp:
        tokenizer.save_pretrained(str(tmp))
        write_json({"base": source.path, "weights": "none", **adapter}, tmp / BASE_FILE)
    return f"{out}: pointer to {source.path}{with_adapter} (tokenizer saved, weights loaded from the source)"


@app.command("base-model")
@stage
def base_model(
    flan: Path = typer.Option(..., help="data/flan folder (examples.parquet, templates.parquet)."),
    out: Path = typer.Option(..., help="Output model folder (models/base)."),
    params: Path = typer.Option(Path("params.yaml"), help="params.yaml to read."),
) -> None:
    """Build the tiny model and its tokenizer, or point at a hub/local base model."""
    from coin.params import load_params

    resolved = load_params(params)
    source = INSTRUCTIONS_MODULE.read_text() if INSTRUCTIONS_MODULE.is_file() else None
    typer.echo(build_base(flan, out, resolved, source))
