"""`smoke`: run a profile's exact code path on this machine in minutes, before renting GPUs.

In a throwaway git + DVC copy of the project (pipeline.project_copy; the working tree, params.yaml,
dvc.lock and DVC cache it was started from are never written), apply PROFILE, replace only what cannot
run here (coin.smoke.plan_smoke: each stand-in printed as one line), then `dvc repro`, `dvc exp run -S
loss.lambda=100` (only check-params, train-coin, evaluate@coin and report may rerun) and `dvc metrics
diff`. Prints PASS with the time, or the failing stage's one-line error and where its log is (exit 1);
a bad profile value is the usual one-line error, exit 2, before anything is copied.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import typer

from pipeline.app import app, stage

EXPECTED_RERUN = ("check-params", "train-coin", "evaluate@coin", "report")
NOT_EXERCISED = "the hub (downloads, pinned revisions and sha256 pins), the real weights, GPU kernels (CUDA, bitsandbytes, NCCL)"
FOLDER_LIMIT = 2 * 1024**3  # a local base folder with more weight bytes than this gets a tiny stand-in


def _gguf_architecture(path: str) -> Optional[str]:
    from gguf import GGUFReader
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    field = GGUFReader(path).fields.get("general.architecture")
    arch = field.contents() if field is not None else None
    return MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.get(arch) if arch else None


def _cached_hub_config(repo_id: str) -> Optional[dict[str, Any]]:
    """The hub model's config.json where it is in the local Hugging Face cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        path = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # noqa: BLE001 - any cache problem means "not cached"
        return None
    return json.loads(Path(path).read_text()) if isinstance(path, str) and Path(path).is_file() else None


def base_facts(base: str):
    """What model.base is, its architecture class and whether it runs here as it is (reads files only)."""
    from coin.smoke import BaseFacts, base_architecture
    from coin.training.base_sources import resolve_base_source
    from coin.training.model import EMBEDDED_TINY

    source = resolve_base_source(base, EMBEDDED_TINY)
    if source.kind == "embedded":
        return BaseFacts("embedded", None, "", True)
    if source.kind == "gguf":
        return BaseFacts("gguf", _gguf_architecture(source.path), "its GGUF metadata", True)
    if source.kind == "folder":
        folder = Path(source.path)
        config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else None
        arch, where = base_architecture(base, config)
        weights = sum(p.stat().st_size for p in folder.glob("*") if p.suffix in (".safetensors", ".bin", ".pt"))
        return BaseFacts("folder", arch, where, weights <= FOLDER_LIMIT)
    arch, where = base_architecture(base, _cached_hub_config(base))
    return BaseFacts("hub", arch, where, False)


def int8_unavailable() -> Optional[str]:
    """Why model.load_in_8bit cannot be exercised here (None where it can): bitsandbytes must be installed
    and quantise a probe layer to int8 and run it on this machine's device (0.50.2 does on an AVX2 CPU)."""
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        return "bitsandbytes is not installed (pip install bitsandbytes==0.50.2: it runs LLM.int8 on an x86-64 CPU)"
    import torch

    from coin.training.model import inference_device

    try:
        import bitsandbytes as bnb

        layer = bnb.nn.Linear8bitLt(16, 16, bias=False, has_fp16_weights=False).to(inference_device())
        layer(torch.randn(2, 16, dtype=torch.float16, device=inference_device()))
    except Exception as exc:  # noqa: BLE001 - any failure of the probe means "cannot run here"
        return f"bitsandbytes cannot run an 8-bit layer here ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    if layer.weight.dtype != torch.int8:
        return f"bitsandbytes left the layer's weights in {layer.weight.dtype}, not int8"
    return None


def build_tokenizer(kind: str, source: str):
    """A stand-in's tokenizer: the GGUF base's own (its special tokens fixed), else a byte-level BPE
    trained on the embedded templates and instructions (LLaMA's <s> / </s> conventions)."""
    from coin.training.base_sources import fix_special_tokens, gguf_token_facts, locate_named_base, NAMED_BASES
    from coin.training.tokenizer import literal_strings, train_tokenizer

    if kind == "gguf":
        from transformers import AutoTokenizer

        path = locate_named_base(source) if source in NAMED_BASES else Path(source)
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        fix_special_tokens(tokenizer, gguf_token_facts(path))
        tokenizer.padding_side = "left"
        return tokenizer
    embedded = Path(__file__).resolve().parents[1] / "coin" / "embedded"
    texts = literal_strings((embedded / "templates.py").read_text()) + literal_strings((embedded / "instructions.py").read_text())
    return train_tokenizer(texts, vocab_size=1024, model_max_length=2048)


def build_tiny_base(spec: dict[str, Any]) -> None:
    """A randomly initialised model of the architecture class in `spec`, saved as a hub-layout folder."""
    import torch
    import transformers
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    model_type = next(k for k, v in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.items() if v == spec["architecture"])
    tokenizer = build_tokenizer(spec["tokenizer"], spec["source"])
    config = AutoConfig.for_model(
        model_type, vocab_size=len(tokenizer), hidden_size=spec["hidden_size"], intermediate_size=spec["intermediate_size"],
        num_hidden_layers=spec["num_layers"], num_attention_heads=spec["num_heads"], num_key_value_heads=spec["num_heads"],
        max_position_embeddings=2048, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = getattr(transformers, spec["architecture"])(config)
    model.save_pretrained(spec["path"], safe_serialization=True)
    tokenizer.save_pretrained(spec["path"])


def _load_base(base: str):
    """The base model's weights (float32) from a stand-in or local folder, or a GGUF base."""
    from transformers import AutoModelForCausalLM

    from coin.training.base_sources import load_gguf, resolve_base_source
    from coin.training.model import EMBEDDED_TINY

    source = resolve_base_source(base, EMBEDDED_TINY)
    return load_gguf(source.path)[0] if source.kind == "gguf" else AutoModelForCausalLM.from_pretrained(source.path)


def build_adapter(spec: dict[str, Any], base: str) -> None:
    """A PEFT LoRA adapter of the given shape on `base`, its B matrices drawn small (not zero) so the
    adapter changes the base's outputs as a trained one does."""
    import torch
    from peft import LoraConfig, get_peft_model

    model = _load_base(base)
    config = LoraConfig(r=spec["r"], lora_alpha=spec["alpha"], lora_dropout=spec["dropout"],
                        target_modules=spec["target_modules"], bias="none", task_type="CAUSAL_LM")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        peft_model = get_peft_model(model, config)
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                torch.nn.init.normal_(param, std=0.02)
    peft_model.save_pretrained(spec["path"], safe_serialization=True)


def build_standins(plan, resolved: dict[str, Any]) -> None:
    """Write every stand-in the plan names (models, adapter, mirror, templates, instructions)."""
    from coin.params import params_from_dict
    from coin.prompts.instructions import EMBEDDED_INSTRUCTIONS, PROMPT_MODULES
    from pipeline.mirror import write_mirror

    builds = plan.builds
    if "base" in builds:
        build_tiny_base(builds["base"])
    if "adapter" in builds:
        build_adapter(builds["adapter"], plan.params["model"]["base"])
    if "mirror" in builds:
        write_mirror(params_from_dict({**plan.params, "data": {**plan.params["data"], "source": "embedded"}}), Path(builds["mirror"]["path"]))
    if "flan_templates" in builds:
        target = Path(builds["flan_templates"]["path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((Path(__file__).resolve().parents[1] / "coin" / "embedded" / "templates.py").read_text())
    if "instructions" in builds:
        spec = builds["instructions"]
        text = EMBEDDED_INSTRUCTIONS.read_text()
        for module in PROMPT_MODULES.values():
            target = Path(spec["path"]) / (module.path if spec["layout"] == "pinned" else module.current_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)


def run_logged(cwd: Path, log: Path, *args: str) -> tuple[int, str]:
    """Run a command in `cwd`, its output into `log`; each `Running stage` line echoed as it starts."""
    from pipeline.project_copy import command_env

    lines = []
    with log.open("a") as handle, subprocess.Popen(
        list(args), cwd=cwd, env=command_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        for line in proc.stdout:
            handle.write(line)
            handle.flush()
            lines.append(line)
            if line.startswith("Running stage"):
                typer.echo(f"  {line.rstrip()}")
    return proc.returncode, "".join(lines)


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def _fail(message: str, folder: Path) -> None:
    typer.echo(f"FAIL: {message}", err=True)
    typer.echo(f"the smoke project is kept in {folder}", err=True)
    raise typer.Exit(1)


def run_smoke(profile_path: Path, params_path: Path, folder: Path, size: str) -> float:
    """The whole smoke run in `folder` (stand-ins/, project/, logs/); returns the seconds it took."""
    from coin.hardware import cpu_has_bf16
    from coin.params import check_paths, params_from_dict
    from coin.smoke import experiment_lambda, failure_summary, plan_smoke
    from pipeline.profile import apply_profile
    from pipeline.project_copy import copy_project, run_in

    start = time.monotonic()
    resolved = apply_profile(profile_path, params_path)
    adapter = resolved["model"]["lora"]["init_adapter"]
    plan = plan_smoke(resolved, base_facts(resolved["model"]["base"]), bool(adapter and Path(adapter).is_dir()),
                      cpu_has_bf16(), int8_unavailable(), size, folder / "standins")
    typer.echo(f"smoke {profile_path} ({size} size) in {folder}; stand-ins:")
    for standin in plan.standins:
        typer.echo(f"  {standin.line()}")
    build_standins(plan, resolved)
    check_paths(params_from_dict(plan.params))
    project, logs = folder / "project", folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    copy_project(project, plan.params)

    typer.echo("dvc repro")
    code, output = run_logged(project, logs / "repro.log", "dvc", "repro")
    if code:
        stage_name, line = failure_summary(output)
        _fail(f"stage {stage_name}: {line} (log: {logs / 'repro.log'})", folder)
    run_in(project, "git", "add", "-A")
    run_in(project, "git", "commit", "-qm", "smoke baseline")

    lam = experiment_lambda(resolved)
    typer.echo(f"dvc exp run -S loss.lambda={lam}")
    code, output = run_logged(project, logs / "exp.log", "dvc", "exp", "run", "-S", f"loss.lambda={lam}")
    if code:
        stage_name, line = failure_summary(output)
        _fail(f"stage {stage_name}: {line} (log: {logs / 'exp.log'})", folder)
    ran = set(re.findall(r"Running stage '([^']+)'", output))
    extra = sorted(ran - set(EXPECTED_RERUN))
    if extra or "train-coin" not in ran:
        _fail(f"dvc exp run -S loss.lambda={lam} reran {sorted(ran)}: expected {', '.join(EXPECTED_RERUN)} only "
              f"(log: {logs / 'exp.log'})", folder)
    if "evaluate@coin" not in ran:
        typer.echo("  evaluate@coin: a cache hit (the new lambda left models/coin byte-identical)")

    diff = run_in(project, "dvc", "metrics", "diff", "--all", "--json", check=False)
    (logs / "metrics_diff.json").write_text(diff.stdout + diff.stderr)
    if diff.returncode:
        _fail(f"dvc metrics diff: {(diff.stderr.strip().splitlines() or ['exit ' + str(diff.returncode)])[-1]}", folder)
    metrics = json.loads(diff.stdout or "{}")
    n_values = sum(len(values) for values in metrics.values())
    changed = sum(1 for values in metrics.values() for v in values.values() if v.get("diff") not in (0, None))
    typer.echo(f"dvc metrics diff: {n_values} metrics in {len(metrics)} files, {changed} changed by loss.lambda={lam}")
    typer.echo(f"not checked here: {NOT_EXERCISED}" + "".join(f"; {item}" for item in plan.unchecked))
    return time.monotonic() - start


@app.command("smoke")
@stage
def smoke(
    profile_path: Path = typer.Argument(..., help="Profile YAML to prove, e.g. configs/paper.yaml."),
    keep: Optional[Path] = typer.Option(None, "--keep", help="Run in this new (or empty) folder and keep it; default: a temporary folder, removed after a pass."),
    size: str = typer.Option("default", "--size", help="default (a few minutes; a runnable real base is kept) | tiny (the tests': every base a tiny stand-in)."),
    params: Path = typer.Option(Path("params.yaml"), "--params", help="params.yaml the profile applies to (never written)."),
) -> None:
    """Apply PROFILE in a throwaway copy, stand in for what cannot run here, then dvc repro, exp run, metrics diff."""
    from coin.errors import ParamsError
    from pipeline.profile import apply_profile

    apply_profile(profile_path, params)  # a bad value: one line, exit 2, before anything is written
    if keep is not None and keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        raise ParamsError(f"--keep {keep} is not allowed: name a new or empty folder")
    folder = keep.resolve() if keep is not None else Path(tempfile.mkdtemp(prefix="coin-smoke-"))
    folder.mkdir(parents=True, exist_ok=True)
    seconds = run_smoke(profile_path, params, folder, size)
    if keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    where = f"kept in {folder}" if keep is not None else "temporary folder removed"
    typer.echo(f"PASS: {profile_path} in {_minutes(seconds)} ({seconds:.1f} s; {where})")
