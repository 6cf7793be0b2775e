"""What a smoke run of a profile replaces, and with what (`python -m pipeline smoke PROFILE`).

A smoke run applies a profile (e.g. configs/paper.yaml) and then replaces only what cannot run on this
machine in minutes, offline: a base model it cannot download or that is too large becomes a tiny model
of the same architecture class, saved as a hub-layout folder; an init adapter becomes a tiny PEFT
adapter of the profile's shape (r, alpha, dropout, target modules); hub or local data sources become
the embedded mirror (already in the hub layout) read as a local copy; pinned FLAN templates and
PromptBench instructions become the embedded ones written in the pinned layouts; an explicit bfloat16
becomes float32 on a CPU without bfloat16 units (`auto` stays: the stages resolve it); sizes (rows, entries, steps, attack budget) shrink. Every
other value stays as the profile sets it. `plan_smoke` decides all of that from the resolved params and
facts the caller gathered (no IO here); pipeline/smoke.py builds the stand-ins and runs DVC.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from coin.errors import ParamsError

# The architecture class of hub bases whose config a smoke run cannot read offline: the class named by
# the `architectures` field of each repository's config.json (all converted LLaMA checkpoints).
KNOWN_ARCHITECTURES = {
    "yahma/llama-7b-hf": "LlamaForCausalLM",  # configs/paper.yaml (the released code's base)
    "huggyllama/llama-7b": "LlamaForCausalLM",
    "decapoda-research/llama-7b-hf": "LlamaForCausalLM",  # the original Alpaca-LoRA base
}
# A tiny stand-in's size: enough layers for checkpointing and LoRA to wrap more than one block
TINY_MODEL = {"hidden_size": 64, "num_layers": 2, "num_heads": 4, "intermediate_size": 128}


@dataclass(frozen=True)
class Size:
    """How small a smoke run makes the work (each value only ever lowers the profile's)."""

    steps: int  # optimizer steps per training variant (sample.n_entries = steps x train.batch_size)
    mirror_train_rows: int  # data.mirror_train_rows
    mirror_eval_rows: int  # data.mirror_eval_rows
    eval_rows: int  # eval.n_samples
    n_instructions: int  # perturb.n_instructions
    attack_samples: int  # perturb.n_attack_samples
    query_budget: int  # perturb.query_budget
    bootstrap_samples: int  # report.bootstrap_samples
    real_gguf: bool  # keep a named GGUF base (e.g. SmolLM2) rather than a tiny stand-in


SIZES = {
    # the command's default: a few minutes on 2 CPU cores; a runnable real base (SmolLM2) is kept
    "default": Size(steps=2, mirror_train_rows=24, mirror_eval_rows=12, eval_rows=4, n_instructions=2,
                    attack_samples=2, query_budget=4, bootstrap_samples=100, real_gguf=True),
    # the test suite's: about a minute; every base becomes a tiny stand-in
    "tiny": Size(steps=1, mirror_train_rows=24, mirror_eval_rows=12, eval_rows=2, n_instructions=2,
                 attack_samples=1, query_budget=2, bootstrap_samples=100, real_gguf=False),
}


@dataclass(frozen=True)
class BaseFacts:
    """What the caller found out about model.base (pipeline/smoke.py reads files; this module does not)."""

    kind: str  # embedded | gguf | folder | hub (coin.training.base_sources.BaseSource.kind)
    architecture: Optional[str]  # the model class (config.json `architectures`, GGUF metadata), None if unknown
    where: str  # where the architecture was read, for the printed line
    runnable: bool  # small enough to run here as it is (a named GGUF base, a folder under the size limit)


@dataclass(frozen=True)
class StandIn:
    """One replaced value: its params key, the profile's value, the value the smoke run uses, and why."""

    key: str
    was: Any
    now: Any
    why: str

    def line(self) -> str:
        return f"{self.key}: {self.was} -> {self.now} ({self.why})"


@dataclass
class SmokePlan:
    """The params the smoke run writes, the stand-ins it prints, what it must build, what it cannot check."""

    params: dict[str, Any]
    standins: list[StandIn] = field(default_factory=list)
    builds: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> what pipeline/smoke.py builds
    unchecked: list[str] = field(default_factory=list)  # what this machine cannot exercise

    def replace(self, key: str, now: Any, why: str) -> None:
        section = self.params
        *parents, last = key.split(".")
        for name in parents:
            section = section[name]
        self.standins.append(StandIn(key, section[last], now, why))
        section[last] = now


def base_architecture(base: str, config: Optional[dict[str, Any]]) -> tuple[Optional[str], str]:
    """The model class of a hub base: its config.json's when the caller found one locally, else the
    KNOWN_ARCHITECTURES table's; (None, ...) when neither knows it."""
    if config and config.get("architectures"):
        return str(config["architectures"][0]), "its config.json"
    if base in KNOWN_ARCHITECTURES:
        return KNOWN_ARCHITECTURES[base], "coin.smoke.KNOWN_ARCHITECTURES"
    return None, ""


def _shrink(plan: SmokePlan, key: str, low: int | float) -> None:
    section = plan.params
    *parents, last = key.split(".")
    for name in parents:
        section = section[name]
    if section[last] > low:
        plan.replace(key, low, "size")


def _replace_base(plan: SmokePlan, base: BaseFacts, size: Size, standin_dir: Path) -> bool:
    """model.base: keep it when it runs here, else a tiny model of its architecture class. True if replaced."""
    model = plan.params["model"]
    if base.kind == "embedded" or (base.runnable and (base.kind != "gguf" or size.real_gguf)):
        return False
    if base.architecture is None:
        raise ParamsError(
            f"model.base = {model['base']!r}: the smoke run cannot tell its architecture offline: add it to "
            "coin.smoke.KNOWN_ARCHITECTURES or put its config.json in a local folder and name that folder"
        )
    path = standin_dir / "base"
    dims = ", ".join(f"{k.replace('_size', '').replace('num_', '')} {v}" for k, v in TINY_MODEL.items())
    why = f"tiny {base.architecture}, the same architecture class ({base.where}): {dims}; hub-layout folder"
    plan.builds["base"] = {"path": str(path), "architecture": base.architecture, "tokenizer": base.kind, "source": model["base"], **TINY_MODEL}
    plan.replace("model.base", str(path), why)
    return True


def _replace_adapter(plan: SmokePlan, base_replaced: bool, adapter_is_folder: bool, standin_dir: Path) -> None:
    lora = plan.params["model"]["lora"]
    if not lora["init_adapter"] or (adapter_is_folder and not base_replaced):
        return
    path = standin_dir / "adapter"
    targets = ", ".join(lora["target_modules"])
    why = f"tiny PEFT LoRA adapter of the profile's shape: r {lora['r']}, alpha {lora['alpha']}, on {targets}"
    plan.builds["adapter"] = {"path": str(path), "r": lora["r"], "alpha": lora["alpha"], "dropout": lora["dropout"],
                              "target_modules": list(lora["target_modules"])}
    plan.replace("model.lora.init_adapter", str(path), why)


def _replace_sources(plan: SmokePlan, standin_dir: Path) -> None:
    data, perturb = plan.params["data"], plan.params["perturb"]
    if data["source"] in ("hub", "local"):
        path = standin_dir / "mirror"
        plan.builds["mirror"] = {"path": str(path)}
        if data["source"] == "hub":
            plan.replace("data.source", "local", "the embedded mirror, in the hub layout, read as a local copy")
        plan.replace("data.local_dir", str(path), "the embedded mirror: one folder per hub id, as `hf download` leaves it")
    if data["flan_templates"] == "pinned":
        path = standin_dir / "flan" / "flan" / "templates.py"
        plan.builds["flan_templates"] = {"path": str(path)}
        plan.replace("data.flan_templates", str(path), "the embedded templates, as FLAN's flan/templates.py (PATTERNS)")
    if perturb["mode"] != "file" and perturb["instructions"] in ("pinned", "pinned-current"):
        path = standin_dir / "promptbench"
        layout = "paper-era repository" if perturb["instructions"] == "pinned" else "current release package"
        plan.builds["instructions"] = {"path": str(path), "layout": perturb["instructions"]}
        plan.replace("perturb.instructions", str(path), f"the embedded instructions at PromptBench's {layout} paths")
    if perturb["embedding"] == "textattack":
        plan.replace("perturb.embedding", "embedded", "TextAttack's counter-fitted embedding is a download")
    if perturb["sentence_encoder"] == "use":
        plan.replace("perturb.sentence_encoder", "none", "the Universal Sentence Encoder is a download")


def _replace_precision(plan: SmokePlan, cpu_bf16: bool, int8_reason: Optional[str]) -> None:
    model, evaluation = plan.params["model"], plan.params["eval"]
    if not cpu_bf16:
        why = "this CPU has no bfloat16 units (avx512_bf16 / amx_bf16): emulated bfloat16 is several times slower"
        if model["dtype"] == "bfloat16":
            plan.replace("model.dtype", "float32", why)
            plan.unchecked.append("bfloat16 weights (model.dtype): run the smoke on a CPU with avx512_bf16 or amx_bf16")
        elif model["dtype"] == "auto":  # kept: the stages resolve it (coin.hardware), to float32 here
            plan.unchecked.append("bfloat16 weights (model.dtype auto runs float32 here): run the smoke on a CPU with avx512_bf16 or amx_bf16")
        if evaluation["precision"] == "bfloat16":
            plan.replace("eval.precision", "float32", why)
    if model["load_in_8bit"] and int8_reason:
        plan.replace("model.load_in_8bit", False, f"cannot check it here: {int8_reason}")
        plan.unchecked.append(f"model.load_in_8bit: {int8_reason}")


def mirror_rows(source: str, size: Size) -> int:
    """Train rows per mirror split: the size's; read as a local copy (a hub or local profile), FLAN's
    largest train/validation hold-out (coin.data.examples, e.g. 200 trailing rte rows) more, so every
    dataset keeps the size's rows after the split real data gets."""
    from coin.data.examples import FORMATS

    holdout = max(f.flan_holdout for f in FORMATS.values()) if source != "embedded" else 0  # 200
    return holdout + size.mirror_train_rows


def _shrink_sizes(plan: SmokePlan, size: Size) -> None:
    p = plan.params
    rows = mirror_rows(p["data"]["source"], size)
    if p["data"]["source"] == "embedded":
        _shrink(plan, "data.mirror_train_rows", rows)
    elif p["data"]["mirror_train_rows"] != rows:  # more rows than params.yaml's 200 where FLAN holds 200 out
        plan.replace("data.mirror_train_rows", rows, f"size: FLAN's largest hold-out, {rows - size.mirror_train_rows} trailing rows, + {size.mirror_train_rows}")
    _shrink(plan, "data.mirror_eval_rows", size.mirror_eval_rows)
    _shrink(plan, "train.epochs", 1)
    entries = size.steps * p["train"]["batch_size"]
    _shrink(plan, "sample.n_entries", entries + entries % 2)
    _shrink(plan, "train.save_steps", 1)  # every step: the checkpoint save runs too
    _shrink(plan, "train.logging_steps", 1)
    _shrink(plan, "eval.n_samples", size.eval_rows)
    _shrink(plan, "perturb.n_instructions", size.n_instructions)
    _shrink(plan, "perturb.n_attack_samples", size.attack_samples)
    _shrink(plan, "perturb.query_budget", size.query_budget)
    _shrink(plan, "report.bootstrap_samples", size.bootstrap_samples)


def plan_smoke(
    resolved: dict[str, Any],
    base: BaseFacts,
    adapter_is_folder: bool,
    cpu_bf16: bool,
    int8_reason: Optional[str],
    size: str,
    standin_dir: Path,
) -> SmokePlan:
    """The smoke run's params and stand-ins for `resolved` (params.yaml with the profile applied,
    already validated). `int8_reason`: why 8-bit cannot run here (None: it can). Raises ParamsError
    for a base whose architecture is unknown offline."""
    if size not in SIZES:
        raise ParamsError(f"--size = {size!r} is not allowed: use one of {', '.join(SIZES)}")
    plan = SmokePlan(copy.deepcopy(resolved))
    replaced = _replace_base(plan, base, SIZES[size], standin_dir)
    _replace_adapter(plan, replaced, adapter_is_folder, standin_dir)
    _replace_sources(plan, standin_dir)
    _replace_precision(plan, cpu_bf16, int8_reason)
    _shrink_sizes(plan, SIZES[size])
    return plan


_FAILED_STAGE = re.compile(r"failed to reproduce '([^']+)'")
_ERROR_LINE = re.compile(r"^(error: .+|[A-Za-z_][\w.]*(Error|Exception|Interrupt)(: .*)?)$")


def failure_summary(output: str) -> tuple[str, str]:
    """(failing stage, its one-line error) from the output of `dvc repro` / `dvc exp run`.

    The stage is the one DVC names in `failed to reproduce '<stage>'` (else the last `Running stage`);
    the line is the stage's last `error: ...` line (a CoinError), else the last line of its traceback
    (`SomeError: message`), else DVC's own ERROR line."""
    lines = [line.rstrip() for line in output.splitlines()]
    failed = _FAILED_STAGE.findall(output) or re.findall(r"Running stage '([^']+)'", output) or ["?"]
    errors = [line for line in lines if _ERROR_LINE.match(line)]
    dvc_errors = [line for line in lines if line.startswith("ERROR:")]
    line = errors[-1] if errors else dvc_errors[-1] if dvc_errors else (lines[-1] if lines else "no output")
    return failed[-1], line


def experiment_lambda(resolved: dict[str, Any]) -> int:
    """The loss.lambda the smoke's `dvc exp run -S` sets: 100, or 10 where the profile already has 100."""
    return 10 if resolved["loss"]["lambda"] == 100 else 100


__all__ = ["KNOWN_ARCHITECTURES", "SIZES", "TINY_MODEL", "BaseFacts", "Size", "SmokePlan", "StandIn",
           "base_architecture", "experiment_lambda", "failure_summary", "plan_smoke"]
