"""`train`: instruction-tune the base model, as CIT (L_gen only) or COIN (L_gen + w * L_ctr).

Checkpoints go to --checkpoints every train.save_steps optimizer steps; a rerun of the same run (same
params, data and base) resumes from the last one, so `dvc repro` after a kill continues. A checkpoint
folder left by a different run is cleared first. Metrics stream to --live (DVCLive: plots/metrics/*.tsv
per optimizer step, one row per step, metrics.json). Only complete checkpoints are resumed (a folder
cut off by a kill during a save, or whose trainer_state.json the Trainer cannot load at the folder's
step, is removed); their files are 0644 like every other output; train.resume = never starts from scratch. The final model is written
atomically to --out with its tokenizer, base.json and the resolved params (params.json).
train.processes = N > 1 reruns the command under `accelerate launch` (pipeline.launch): DDP over N ranks,
each taking whole micro-batches of the PairSampler order in turn (accelerate's batch sharding: rank r
gets micro-batches r, r + N, ...), accumulation batch_size / (micro_batch_size x N); rank 0 alone
picks or clears the checkpoint, writes DVCLive files and the final model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Sequence

import typer

from pipeline.app import app, stage

VARIANTS = ("cit", "coin")
RUN_FILE = "run.json"
TRAINER_STATE = "trainer_state.json"  # transformers.trainer.TRAINER_STATE_NAME


def resolved_params(params, variant: str) -> dict[str, Any]:
    """The params a variant's result depends on: seed, model, train (but train.resume and train.processes),
    sample.cutoff_len (the collator truncates to it), and loss for coin."""
    raw = params.to_dict()
    # how to start and how many processes, not what is trained (N processes give the 1-process result)
    train = {k: v for k, v in raw["train"].items() if k not in ("resume", "processes")}
    if train["seed"] is None:  # the global seed (kept above): the same run, and the same params.json, as before train.seed
        del train["seed"]
    out = {"variant": variant, "seed": raw["seed"], "model": raw["model"], "train": train,
           "sample": {"cutoff_len": raw["sample"]["cutoff_len"]}}
    if variant == "coin":
        out["loss"] = raw["loss"]
    return out


def _sha256_files(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def run_fingerprint(resolved: dict[str, Any], base: Path, train: Path) -> dict[str, str]:
    """What identifies a training run: its params, the base folder's files and the training data."""
    params_text = json.dumps(resolved, sort_keys=True)
    base_files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []
    return {
        "params": hashlib.sha256(params_text.encode()).hexdigest(),
        "base": _sha256_files(base_files),
        "train": _sha256_files([train]),
    }


def is_complete_checkpoint(folder: Path) -> bool:
    """True for a `checkpoint-N` folder the Trainer finished saving: it writes trainer_state.json last,
    so a folder without one the Trainer can load at step N (trainer_state_problem) was cut off by a kill
    during the save, or is not the Trainer's."""
    step = folder.name.removeprefix("checkpoint-")
    try:
        data = json.loads((folder / TRAINER_STATE).read_text())
    except (OSError, ValueError):
        return False
    return step.isdigit() and trainer_state_problem(data, int(step)) is None


# TrainerState's numeric fields, used in arithmetic on resume (eval_steps may be null)
_STATE_NUMBERS = ("epoch", "max_steps", "logging_steps", "eval_steps", "save_steps", "num_train_epochs",
                  "num_input_tokens_seen", "total_flos")


def trainer_state_problem(data: Any, step: int) -> str | None:
    """Why a parsed trainer_state.json is not one the Trainer resumes from at optimizer step `step`, or None.

    What a resume reads: every key a TrainerState field (load_from_json passes them all on), global_step
    the folder's step, train_batch_size a positive int (compared with the run's), log_history a list of
    logs each at a step up to global_step (the live metrics replay it), the numbers numbers, the
    callback states a mapping of objects, best_model_checkpoint a path or null."""
    from transformers.trainer_callback import TrainerState

    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not isinstance(data, dict):
        return "not a JSON object"
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(TrainerState)})
    if unknown:
        return f"{unknown[0]!r} is no TrainerState field"
    if not whole(data.get("global_step")) or data["global_step"] != step:
        return f"global_step {data.get('global_step')!r} is not the folder's step {step}"
    if not whole(data.get("train_batch_size")) or data["train_batch_size"] < 1:
        return f"train_batch_size {data.get('train_batch_size')!r} is not a positive whole number"
    history = data.get("log_history", [])
    if not isinstance(history, list) or not all(isinstance(e, dict) and whole(e.get("step")) and 0 <= e["step"] <= step for e in history):
        return f"log_history is not a list of logs at steps 0..{step}"
    for name in _STATE_NUMBERS:
        value = data.get(name, 0)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"{name} {value!r} is not a number"
    callbacks = data.get("stateful_callbacks") or {}
    if not isinstance(callbacks, dict) or not all(
        isinstance(v, dict) or (isinstance(v, list) and all(isinstance(i, dict) for i in v)) for v in callbacks.values()
    ):
        return "stateful_callbacks is not a mapping of callback states"
    if not isinstance(data.get("best_model_checkpoint"), (str, type(None))):
        return "best_model_checkpoint is not a path"
    try:
        TrainerState(**data)
    except (TypeError, ValueError) as exc:
        return f"TrainerState refuses it ({exc})"
    return None


def checkpoint_to_resume(checkpoints: Path, fingerprint: dict[str, str], resume: str = "auto") -> str | None:
    """The last complete checkpoint of this same run, or None.

    A folder from another run, or any folder when `resume` is never, is emptied; incomplete
    `checkpoint-N` folders (a kill during a save) are removed, so the previous complete one is resumed.
    """
    from coin.io import usual_permissions, write_json

    run_file = checkpoints / RUN_FILE
    if checkpoints.is_dir():
        same = resume == "auto" and run_file.is_file() and _read_run_file(run_file) == fingerprint
        if same:
            steps = {}
            for folder in checkpoints.glob("checkpoint-*"):
                suffix = folder.name.removeprefix("checkpoint-")
                if not (folder.is_dir() and suffix.isdigit()):
                    continue
                if is_complete_checkpoint(folder):
                    usual_permissions(folder)  # a kill right after the save left the Trainer's 0600 files
                    steps[int(suffix)] = folder
                else:
                    typer.echo(
                        f"removing incomplete checkpoint {folder} (no {TRAINER_STATE} the Trainer can load at step {suffix}: "
                        "cut off during a save)",
                        err=True,
                    )
                    shutil.rmtree(folder)
            return str(steps[max(steps)]) if steps else None
        shutil.rmtree(checkpoints)
    checkpoints.mkdir(parents=True, exist_ok=True)
    write_json(fingerprint, run_file)
    return None


def _read_run_file(run_file: Path) -> Any:
    try:
        return json.loads(run_file.read_text())
    except ValueError:  # cut off by a kill: another run's folder as far as we can tell
        return None


def run_training(
    params,
    variant: str,
    base: Path,
    train: Path,
    out: Path,
    checkpoints: Path,
    live: Path,
    callbacks: Sequence[Any] = (),
    **arg_overrides: Any,
) -> dict[str, Any]:
    """Train one variant end to end; returns a summary (global steps, resumed-from, final loss parts).

    `callbacks` and `arg_overrides` (TrainingArguments keys) are for tests and benchmarks.
    """
    from dvclive import Live
    from transformers import set_seed

    from coin.errors import CoinError
    from coin.hardware import choose_dtype, device_type
    from coin.io import atomic_dir, read_parquet, write_json
    from coin.params import train_seed
    from coin.prompts.format import prompt_format
    from coin.schemas import TRAIN
    from coin.training.collator import CoinCollator, EntryDataset
    from coin.training.model import model_for_training, relative_reference, save_model_folder
    from coin.training.trainer import BetweenMicroBatches, CoinTrainer, LiveMetrics, Objective, UsualPermissions, training_arguments
    from pipeline.cores import rebalance
    from pipeline.launch import join_process_group, rank, world_size

    if variant not in VARIANTS:
        raise CoinError(f"--variant {variant!r} is not allowed: use one of {', '.join(VARIANTS)}")
    objective = Objective.for_variant(variant, params.loss)
    resolved = resolved_params(params, variant)
    processes, main = world_size(), rank() == 0
    dtype, said = choose_dtype(params.model.dtype, device_type())  # model.dtype auto -> bfloat16 | float32
    if said and main:
        typer.echo(said, err=True)
    model_params = dataclasses.replace(params.model, dtype=dtype)
    resolved["model"] = {**resolved["model"], "dtype": dtype}  # params.json and the resume fingerprint: what trains

    rows = read_parquet(train, TRAIN)
    dataset = EntryDataset(rows)
    fingerprint = run_fingerprint(resolved, base, train)
    resume = checkpoint_to_resume(checkpoints, fingerprint, params.train.resume) if main else None
    if processes > 1:  # rank 0 alone clears or picks the checkpoint; the others are told which
        from accelerate.utils import broadcast_object_list

        join_process_group()
        resume = broadcast_object_list([resume])[0]
    seed = train_seed(params)
    set_seed(seed)
    model, tokenizer = model_for_training(base, model_params, seed)
    collator = CoinCollator(tokenizer, prompt_format(params.model, tokenizer), params.sample.cutoff_len)
    args = training_arguments(params.train, seed, str(checkpoints), dtype, processes, **arg_overrides)
    # rank 0 alone writes DVCLive files (the Trainer already saves checkpoints from rank 0 only)
    live_metrics = [LiveMetrics(live=Live(dir=str(live), save_dvc_exp=False, dvcyaml=None))] if main else []
    trainer = CoinTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[*live_metrics, UsualPermissions(), BetweenMicroBatches(rebalance), *callbacks],
        objective=objective,
        seed=seed,
        length_window=params.train.group_by_length,
    )
    if resume and main:
        typer.echo(
            f"resuming from {resume} (same params, data and base); to retrain from scratch: "
            "dvc exp run -S train.resume=never (or set train.resume: never in params.yaml)",
            err=True,
        )
    trainer.train(resume_from_checkpoint=resume)

    lora = params.model.lora.enabled
    info = {"base": relative_reference(base, out), "weights": "lora" if lora else "full", "variant": variant}
    state_dict = trainer.gathered_state_dict()  # FSDP / ZeRO-3: every rank takes part in the gather
    if main:  # trainer.model is the plain model (the DDP wrapper is trainer.model_wrapped)
        with atomic_dir(out) as tmp:
            save_model_folder(trainer.model, tokenizer, tmp, info, state_dict)
            write_json(resolved, tmp / "params.json")
    trainer.accelerator.wait_for_everyone()
    last = next((e for e in reversed(trainer.state.log_history) if "loss_gen" in e), {})
    return {
        "global_step": trainer.state.global_step,
        "resumed_from": resume,
        **{k: last[k] for k in ("loss", "loss_gen", "loss_ctr", "ctr_weight") if k in last},
    }


@app.command("train")
@stage
def train_command(
    variant: str = typer.Option(..., help="cit (cross-entropy only) | coin (with the contrastive term)."),
    base: Path = typer.Option(..., help="Base model folder (models/base)."),
    train: Path = typer.Option(..., help="Training entries (data/train.parquet)."),
    out: Path = typer.Option(..., help="Output model folder (models/cit or models/coin)."),
    checkpoints: Path = typer.Option(..., help="Checkpoint folder (persists across runs for resuming)."),
    live: Path = typer.Option(..., help="DVCLive folder for metrics.json and plots."),
    params: Path = typer.Option(Path("params.yaml"), help="params.yaml to read."),
) -> None:
    """Train the CIT or COIN model from the base model on data/train.parquet."""
    from coin.params import load_params
    from pipeline.cores import fair_share
    from pipeline.launch import rank, relaunch

    p = load_params(params)
    stage_args = ["train", "--variant", variant, "--base", base, "--train", train, "--out", out,
                  "--checkpoints", checkpoints, "--live", live, "--params", params]
    if relaunch(p.train.processes, stage_args, "train.processes"):
        return
    with fair_share():  # this process's share of the cores, kept fair while other stages come and go
        summary = run_training(p, variant, base, train, out, checkpoints, live)
    if rank():
        return
    parts = ", ".join(f"{k} {v}" for k, v in summary.items() if k != "resumed_from")
    typer.echo(f"{out}: {variant} trained ({parts})")
