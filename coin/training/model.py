"""Model building and loading: the embedded tiny LLaMA, hub/local bases, LoRA adapters, dtypes.

Every model folder the pipeline writes holds a tokenizer and a `base.json` that says where the weights
are:

- `{"base": "embedded-tiny", "weights": "full", "params": ...}`: models/base, weights in the folder;
- `{"base": <hub id or local path>, "weights": "none"}`: models/base as a pointer (no weight copy);
- `{"base": <model folder relative to this one>, "weights": "full" | "lora", ...}`: a trained model,
  full weights in the folder, or a peft LoRA adapter on top of the named base folder;
- a base's `"adapter": <hub id or path>` (model.lora.init_adapter): the base is evaluated with that
  adapter applied, and training continues it;
- a converted GGUF base also records `"gguf": {file, sha256, package, origin}` and its tokenizer fixes.

`load_model` follows these pointers; a folder without `base.json` is read as a plain Hugging Face
model folder, and a string that is not a folder as a hub id.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from coin.errors import CoinError
from coin.params import LoraParams, ModelParams, TinyModelParams

BASE_FILE = "base.json"
EMBEDDED_TINY = "embedded-tiny"
WEIGHTS = ("full", "none", "lora")


def torch_dtype(name: str):
    """The torch dtype for a params name (float32 | bfloat16 | float16; `auto` is resolved before, by
    coin.hardware.choose_dtype)."""
    import torch

    table = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if name not in table:
        raise CoinError(f"model.dtype = {name!r} is not allowed: use one of {', '.join(table)}")
    return table[name]


def build_tiny_model(tiny: TinyModelParams, tokenizer, seed: int):
    """A randomly initialised `LlamaForCausalLM` sized by model.tiny, its vocabulary by the tokenizer.

    Initialisation draws from a forked torch RNG seeded with `seed` (the global RNG is untouched), so
    the same params give the same weights. Input and output embeddings are tied.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=tiny.hidden_size,
        intermediate_size=tiny.intermediate_size,
        num_hidden_layers=tiny.num_layers,
        num_attention_heads=tiny.num_heads,
        num_key_value_heads=tiny.num_heads,
        max_position_embeddings=tiny.max_position,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.eval()


def inference_device():
    """The device evaluation runs on: the first CUDA GPU where there is one, else the CPU."""
    import torch

    from coin.hardware import device_type

    return torch.device(device_type())


def ensure_pad_token(tokenizer):
    """Give a tokenizer without a pad token one (its unk token, else its eos token); pad on the left."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.unk_token if tokenizer.unk_token is not None else tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


def read_base_info(path: str | Path) -> dict[str, Any]:
    """The `base.json` of a model folder; a folder without one is a plain model folder (weights full)."""
    path = Path(path)
    info_path = path / BASE_FILE
    if not info_path.is_file():
        return {"base": str(path), "weights": "full"}
    info = json.loads(info_path.read_text())
    weights = info.get("weights", "full" if info.get("base") == EMBEDDED_TINY else "none")
    if weights not in WEIGHTS:
        raise CoinError(f"{info_path}: weights = {weights!r} is not allowed: use one of {', '.join(WEIGHTS)}")
    return {**info, "weights": weights}


def resolve_base(reference: str, folder: str | Path) -> str:
    """Where a `base.json` reference points: a folder relative to `folder`, a folder as given, or a hub id."""
    relative = Path(folder) / reference
    if relative.exists():
        return str(relative)
    return reference


def _needs_8bit() -> None:
    if importlib.util.find_spec("bitsandbytes") is None:
        raise CoinError("model.load_in_8bit = true needs bitsandbytes, which is not installed: pip install bitsandbytes or set it to false")


def _from_pretrained(source: str, dtype: str, load_in_8bit: bool):
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": torch_dtype(dtype)}
    if load_in_8bit:
        _needs_8bit()
        from transformers import BitsAndBytesConfig

        kwargs.update(quantization_config=BitsAndBytesConfig(load_in_8bit=True), device_map="auto")
    from safetensors import SafetensorError

    try:
        return AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except OSError as exc:
        raise CoinError(f"cannot load model {source!r}: {str(exc).splitlines()[0]}") from None
    except SafetensorError as exc:  # a cut-off or damaged weights file
        raise CoinError(unreadable_weights(source, exc)) from None


def unreadable_weights(folder: str | Path, exc: Exception) -> str:
    """The one line for a model folder whose safetensors file cannot be read (truncated, damaged)."""
    return f"cannot load model {str(folder)!r}: its weights are unreadable ({str(exc).splitlines()[0]}): rerun the stage that writes it (dvc repro -f -s <stage>)"


def load_tokenizer(path: str | Path):
    """The tokenizer saved in a model folder (or of a hub id), with a pad token and left padding."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
    except OSError as exc:
        raise CoinError(f"cannot load tokenizer {str(path)!r}: {str(exc).splitlines()[0]}") from None
    # how it was loaded (HF_HUB_OFFLINE=1 sets it True), not what it is: kept, a saved model folder's bytes
    # (and the DVC hash of every stage after it) would depend on the environment variable
    tokenizer.init_kwargs.pop("local_files_only", None)
    return ensure_pad_token(tokenizer)


def _load_weights(path: str | Path, dtype: str, for_training: bool, load_in_8bit: bool, with_adapter: bool = True):
    path = Path(path)
    if not path.exists():  # a hub id
        return _from_pretrained(str(path), dtype, load_in_8bit)
    info = read_base_info(path)
    if info["weights"] == "lora":
        from peft import PeftModel
        from safetensors import SafetensorError

        # the trained adapter continues any init adapter of its base: load the bare base under it
        base = _load_weights(resolve_base(info["base"], path), dtype, for_training, load_in_8bit, with_adapter=False)
        try:
            return PeftModel.from_pretrained(base, str(path), is_trainable=for_training)
        except SafetensorError as exc:
            raise CoinError(unreadable_weights(path, exc)) from None
    model = _from_pretrained(str(path) if info["weights"] == "full" else info["base"], dtype, load_in_8bit)
    if with_adapter and info.get("adapter"):
        from peft import PeftModel

        try:
            model = PeftModel.from_pretrained(model, info["adapter"], is_trainable=False)
        except (OSError, ValueError) as exc:
            raise CoinError(f"{path / BASE_FILE}: adapter {info['adapter']!r} cannot be loaded: {str(exc).splitlines()[0]}") from None
    return model


def load_model(
    path: str | Path, dtype: str = "float32", for_training: bool = False, load_in_8bit: bool = False, with_adapter: bool = True
):
    """Load `(model, tokenizer)` from a pipeline model folder (models/base, models/cit, models/coin).

    Follows `base.json`: tiny or trained full weights in the folder; a pointer to a hub id or local path;
    or a LoRA adapter on its base folder (returned as a `PeftModel`, trainable when `for_training`).
    A base whose base.json names an `adapter` (model.lora.init_adapter) is returned with that adapter
    applied (the paper's Alpaca = LLaMA + Alpaca-LoRA), unless `with_adapter` is false (training, which
    continues the adapter itself). `dtype` is float32 | bfloat16 | float16; `load_in_8bit` needs
    bitsandbytes. The model is in eval mode unless `for_training`. The tokenizer is the folder's own
    (pad token set, left padding).
    """
    if not Path(path).is_dir():
        raise CoinError(f"{path} is not a model folder: give models/base, models/cit or models/coin")
    model = _load_weights(path, dtype, for_training, load_in_8bit, with_adapter)
    tokenizer = load_tokenizer(path)
    if getattr(model.generation_config, "pad_token_id", None) is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    if for_training:  # the Trainer places it
        return model.train(), tokenizer
    if not load_in_8bit:  # 8-bit weights are placed by device_map
        model = model.to(inference_device())
    return model.eval(), tokenizer


def add_lora(model, lora: LoraParams, for_training: bool = True):
    """Wrap `model` with a peft LoRA adapter: a fresh one (r, alpha, dropout, target_modules), or the
    adapter at `lora.init_adapter` (hub id or path) to continue training it, as the paper did."""
    from peft import LoraConfig, PeftModel, get_peft_model

    if lora.init_adapter:
        try:
            return PeftModel.from_pretrained(model, lora.init_adapter, is_trainable=for_training)
        except (OSError, ValueError) as exc:
            raise CoinError(f"model.lora.init_adapter = {lora.init_adapter!r} cannot be loaded: {str(exc).splitlines()[0]}") from None
    config = LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, config)
    except ValueError as exc:
        raise CoinError(
            f"model.lora.target_modules = {list(lora.target_modules)} does not fit the model: {str(exc).splitlines()[0]}"
        ) from None


def model_for_training(base: str | Path, params: ModelParams, seed: int):
    """Load the base folder for training and apply params.model: dtype, 8-bit, LoRA, checkpointing.

    Full fine-tuning in float16 is refused (its optimizer steps underflow); LoRA keeps its adapter in
    float32 over a half-precision base. The LoRA initialisation draws from torch's RNG seeded by `seed`.
    """
    import torch

    if params.dtype == "float16" and not params.lora.enabled:
        raise CoinError("model.dtype = 'float16' cannot train full weights: use bfloat16 or float32, or enable model.lora")
    model, tokenizer = load_model(base, params.dtype, for_training=True, load_in_8bit=params.load_in_8bit, with_adapter=False)
    if params.load_in_8bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=params.gradient_checkpointing)
    if params.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
    if params.lora.enabled:
        if params.gradient_checkpointing:
            model.enable_input_require_grads()
        torch.manual_seed(seed)
        model = add_lora(model, params.lora)
    return model.train(), tokenizer


def save_model_folder(model, tokenizer, folder: str | Path, info: dict[str, Any], state_dict=None) -> None:
    """Write weights (safetensors; the adapter alone for a `PeftModel`), tokenizer and `base.json`.
    `state_dict`: the whole model's weights gathered from a sharded run (else the model's own)."""
    from coin.io import write_json

    folder = Path(folder)
    # a copy: transformers 5's save_pretrained pops every tensor from the dict it is given
    weights = None if state_dict is None else dict(state_dict)
    model.save_pretrained(str(folder), safe_serialization=True, state_dict=weights)
    tokenizer.save_pretrained(str(folder))
    write_json(info, folder / BASE_FILE)


def relative_reference(target: str | Path, folder: str | Path) -> str:
    """`target` as a path relative to `folder` (what a trained model's base.json stores)."""
    return os.path.relpath(Path(target).resolve(), Path(folder).resolve())


__all__ = [
    "BASE_FILE",
    "EMBEDDED_TINY",
    "add_lora",
    "build_tiny_model",
    "ensure_pad_token",
    "inference_device",
    "load_model",
    "load_tokenizer",
    "model_for_training",
    "read_base_info",
    "relative_reference",
    "resolve_base",
    "save_model_folder",
    "torch_dtype",
]
