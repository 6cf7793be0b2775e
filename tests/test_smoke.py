"""`python -m pipeline smoke PROFILE`: the stand-in plan (what is replaced, what stays), the failure
summary, a broken profile (one line, exit 2), and the tiny smoke of both shipped profiles end to end,
which must leave the tree it ran from (params.yaml, dvc.lock, git status, DVC cache) byte-identical."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from coin.errors import ParamsError
from coin.params import merge, params_from_dict
from coin.smoke import BaseFacts, experiment_lambda, failure_summary, plan_smoke

ROOT = Path(__file__).resolve().parents[1]
STANDINS = Path("/s")
LLAMA_HUB = BaseFacts("hub", "LlamaForCausalLM", "coin.smoke.KNOWN_ARCHITECTURES", False)


def _resolved(profile: str) -> dict:
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    merged = merge(base, yaml.safe_load((ROOT / "configs" / profile).read_text()))
    params_from_dict(merged)
    return merged


def _flat(doc: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in doc.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def test_paper_plan_replaces_only_what_cannot_run_here():
    resolved = _resolved("paper.yaml")
    plan = plan_smoke(resolved, LLAMA_HUB, False, cpu_bf16=False, int8_reason=None, size="default", standin_dir=STANDINS)
    now = {s.key: s.now for s in plan.standins}
    assert now == {
        "model.base": "/s/base",
        "model.lora.init_adapter": "/s/adapter",
        "data.source": "local",
        "data.local_dir": "/s/mirror",
        "data.flan_templates": "/s/flan/flan/templates.py",
        "perturb.instructions": "/s/promptbench",
        "data.mirror_train_rows": 224,  # FLAN holds the last 200 train rows of rte (and others) out, then 24
        "data.mirror_eval_rows": 12,
        "sample.n_entries": 128,  # 2 optimizer steps of the profile's batch of 64
        "train.save_steps": 1,
        "train.logging_steps": 1,
        "eval.n_samples": 4,
        "perturb.n_instructions": 2,
        "perturb.n_attack_samples": 2,
        "perturb.query_budget": 4,
        "report.bootstrap_samples": 100,
    }
    lines = [s.line() for s in plan.standins]
    assert lines[0] == ("model.base: yahma/llama-7b-hf -> /s/base (tiny LlamaForCausalLM, the same architecture class "
                        "(coin.smoke.KNOWN_ARCHITECTURES): hidden 64, layers 2, heads 4, intermediate 128; hub-layout folder)")
    assert "model.lora.init_adapter: tloen/alpaca-lora-7b -> /s/adapter (tiny PEFT LoRA adapter of the profile's shape: r 16, alpha 16, on q_proj, k_proj, v_proj, o_proj)" in lines
    # every other value as the profile sets it: checkpointing, LoRA shape, scoring, micro-batch / accumulation
    before, after = _flat(resolved), _flat(plan.params)
    assert {k for k in before if before[k] != after[k]} == set(now)
    assert after["model.gradient_checkpointing"] is True and after["eval.scoring"] == "generate"
    assert (after["train.batch_size"], after["train.micro_batch_size"], after["eval.max_new_tokens"]) == (64, 2, 7)
    assert plan.builds["adapter"] == {"path": "/s/adapter", "r": 16, "alpha": 16, "dropout": 0.05,
                                      "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}
    assert after["model.dtype"] == "auto" and plan.unchecked[0].startswith("bfloat16 weights (model.dtype auto runs float32 here)")
    assert resolved["model"]["base"] == "yahma/llama-7b-hf"  # the input is not modified


def test_bfloat16_stays_on_a_cpu_with_bfloat16_units_and_8bit_says_why():
    resolved = merge(_resolved("paper.yaml"), {"model": {"load_in_8bit": True}})
    plan = plan_smoke(resolved, LLAMA_HUB, False, cpu_bf16=True, int8_reason="needs a CUDA GPU", size="default", standin_dir=STANDINS)
    now = {s.key: s for s in plan.standins}
    assert plan.params["model"]["dtype"] == "auto" and "model.dtype" not in now  # auto: bfloat16 on this CPU
    assert now["model.load_in_8bit"].line() == "model.load_in_8bit: True -> False (cannot check it here: needs a CUDA GPU)"
    assert plan.unchecked == ["model.load_in_8bit: needs a CUDA GPU"]


def test_smollm2_keeps_the_real_base_by_default_and_a_tiny_one_in_tiny_size():
    resolved = _resolved("smollm2.yaml")
    gguf = BaseFacts("gguf", "LlamaForCausalLM", "its GGUF metadata", True)
    default = plan_smoke(resolved, gguf, False, cpu_bf16=False, int8_reason=None, size="default", standin_dir=STANDINS)
    assert default.params["model"]["base"] == "smollm2-135m-instruct" and "base" not in default.builds
    assert default.params["sample"]["n_entries"] == 32 and default.params["model"]["prompt_format"] == "chat"
    tiny = plan_smoke(resolved, gguf, False, cpu_bf16=False, int8_reason=None, size="tiny", standin_dir=STANDINS)
    assert tiny.builds["base"]["tokenizer"] == "gguf" and tiny.params["sample"]["n_entries"] == 16
    assert tiny.params["eval"]["precision"] == "auto"  # auto decides by itself


def test_unknown_hub_architecture_is_one_line():
    resolved = merge(_resolved("paper.yaml"), {"model": {"base": "someone/unknown-7b"}})
    unknown = BaseFacts("hub", None, "", False)
    with pytest.raises(ParamsError, match=r"^model.base = 'someone/unknown-7b': the smoke run cannot tell its architecture offline"):
        plan_smoke(resolved, unknown, False, cpu_bf16=False, int8_reason=None, size="default", standin_dir=STANDINS)
    with pytest.raises(ParamsError, match=r"^--size = 'huge' is not allowed: use one of default, tiny$"):
        plan_smoke(resolved, LLAMA_HUB, False, cpu_bf16=False, int8_reason=None, size="huge", standin_dir=STANDINS)


def test_failure_summary_names_the_stage_and_its_error():
    coin_error = "Running stage 'extract':\n> python -m pipeline extract\nerror: rte: no such file\nERROR: failed to reproduce 'extract': failed to run: python -m pipeline extract, exited with 2\n"
    assert failure_summary(coin_error) == ("extract", "error: rte: no such file")
    traceback = ("Running stage 'train-coin':\nTraceback (most recent call last):\n  File \"x.py\", line 1\n"
                 "RuntimeError: element 0 of tensors does not require grad\nERROR: failed to reproduce 'train-coin': exited with 1\n")
    assert failure_summary(traceback) == ("train-coin", "RuntimeError: element 0 of tensors does not require grad")
    assert experiment_lambda({"loss": {"lambda": 1000.0}}) == 100 and experiment_lambda({"loss": {"lambda": 100}}) == 10


def _smoke(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", "smoke", *args], cwd=cwd, capture_output=True, text=True)


def test_broken_profile_is_one_line_exit_2(tmp_path):
    profile = tmp_path / "broken.yaml"
    profile.write_text(yaml.safe_dump({"train": {"batch_size": 63, "micro_batch_size": 2}}))
    result = _smoke(str(profile), "--keep", str(tmp_path / "kept"))
    assert result.returncode == 2
    assert result.stderr == "error: train.batch_size = 63 is not allowed: must be a multiple of micro_batch_size (2)\n"
    assert not (tmp_path / "kept").exists()  # nothing written


def _tree_state() -> dict[str, str]:
    """What the smoke must leave as it was: params.yaml, dvc.lock, git status and the DVC cache's listing."""
    status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    cache = ROOT / ".dvc" / "cache"
    listing = sorted(f"{p.relative_to(cache)} {p.stat().st_size} {p.stat().st_mtime_ns}" for p in cache.rglob("*")) if cache.is_dir() else []
    digest = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()  # noqa: E731
    return {"params.yaml": digest(ROOT / "params.yaml"), "dvc.lock": digest(ROOT / "dvc.lock"),
            "status": status, "cache": "\n".join(listing)}


@pytest.mark.parametrize("profile", [
    "paper.yaml",  # the switches that meet only in the paper profile: in every suite run
    pytest.param("smollm2.yaml", marks=pytest.mark.e2e),  # the e2e tier: converts SmolLM2's GGUF tokenizer
    pytest.param("paper-8bit", marks=pytest.mark.e2e),  # and needs bitsandbytes, which is not in constraints.txt
])
def test_tiny_smoke_passes_and_leaves_the_tree_byte_identical(tmp_path, profile):
    path = f"configs/{profile}"
    if profile == "paper-8bit":  # the third case: only where bitsandbytes is installed (it runs int8 on a CPU)
        pytest.importorskip("bitsandbytes")
        path = str(tmp_path / "paper-8bit.yaml")
        Path(path).write_text(yaml.safe_dump(merge(yaml.safe_load((ROOT / "configs" / "paper.yaml").read_text()),
                                                   {"model": {"load_in_8bit": True}})))
    before = _tree_state()
    result = _smoke(path, "--size", "tiny", "--keep", str(tmp_path / "smoke"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "  model.base: " in out and "(tiny LlamaForCausalLM, the same architecture class" in out
    assert "Running stage 'train-coin'" in out and f"PASS: {path} in " in out
    assert _tree_state() == before
    kept = yaml.safe_load((tmp_path / "smoke" / "project" / "params.yaml").read_text())
    assert kept["model"]["lora"]["enabled"] is True and kept["loss"]["lambda"] == 100
    assert kept["model"]["load_in_8bit"] is (profile == "paper-8bit")


def test_keep_must_name_a_new_or_empty_folder(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    result = _smoke("configs/paper.yaml", "--keep", str(tmp_path / "full"))
    assert (result.returncode, result.stderr) == (2, f"error: --keep {tmp_path / 'full'} is not allowed: name a new or empty folder\n")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_paper_switches_meet_checkpointing_lora_init_adapter_dtype(tmp_path, dtype):
    """The paper's model switches together on the smoke's stand-ins: gradient checkpointing, LoRA
    continuing an init adapter, the dtype; one COIN-style forward (hidden states) and backward reach
    every adapter weight, then the evaluated base (base + adapter) generates."""
    import json

    import torch

    from coin.training.model import load_model, model_for_training
    from pipeline.smoke import build_adapter, build_tiny_base

    base, adapter = tmp_path / "hub-base", tmp_path / "adapter"
    build_tiny_base({"path": str(base), "architecture": "LlamaForCausalLM", "tokenizer": "hub", "source": "x",
                     "hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64})
    build_adapter({"path": str(adapter), "r": 4, "alpha": 8, "dropout": 0.05, "target_modules": ["q_proj", "v_proj"]}, str(base))
    folder = tmp_path / "models-base"  # what the base-model stage writes for a hub id: tokenizer + pointer
    folder.mkdir()
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(str(base)).save_pretrained(str(folder))
    (folder / "base.json").write_text(json.dumps({"base": str(base), "weights": "none", "adapter": str(adapter)}))
    profile = merge(_resolved("paper.yaml"), {"model": {"base": str(base), "dtype": dtype, "lora": {"init_adapter": str(adapter)}}})
    params = params_from_dict(profile)
    model, _ = model_for_training(folder, params.model, seed=0)
    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in name and p.dtype == torch.float32 for name, p in trainable.items())
    ids = torch.randint(3, 100, (4, 10))
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False, output_hidden_states=True)
    (out.logits.float().logsumexp(-1).mean() + out.hidden_states[-1].float().pow(2).mean()).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in trainable.values())
    evaluated, _ = load_model(folder, dtype)
    assert type(evaluated).__name__ == "PeftModelForCausalLM"
    assert evaluated.generate(input_ids=ids[:, :4], max_new_tokens=3, do_sample=False).shape == (4, 7)
