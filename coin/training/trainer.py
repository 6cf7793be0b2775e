"""`CoinTrainer`: the Hugging Face Trainer with the COIN loss, and its live-metrics callback.

One forward pass per micro-batch over the 2k sequences [orig_1..orig_k, pos_1..pos_k] (see
coin.training.collator). With the contrastive term on, the final hidden states (after the final norm)
are pooled per sequence (loss.pooling: the last real token, the last prompt token, or the mean / max over the real tokens)
and L2-normalised, and
    L = L_gen + w * L_ctr,  w = min(lambda, sg(L_gen) / sg(L_ctr))
with L_gen reduced by loss.gen_reduction (coin.training.losses). With it off (the CIT baseline) the
loss is exactly L_gen (token mean). The output layer runs only at the response positions
(coin.training.head), and its input, the final hidden states, is what L_ctr pools: no per-layer hidden
states are requested and no (N, T, V) logits are built.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.integrations import DVCLiveCallback

from coin.errors import CoinError
from coin.params import LossParams, TrainParams
from coin.training.collator import PairSampler
from coin.training.head import ResponseHead
from coin.training.losses import combine_losses, generation_loss, generation_loss_at, pool_states, response_ce, response_positions

# Trainer log keys kept out of the DVCLive metrics: timings vary from run to run, and train_loss (the
# whole-run mean) is wrong after a resume (the Trainer does not restore its running sum)
_SKIPPED_KEYS = ("runtime", "per_second", "flos", "train_loss")


@dataclass(frozen=True)
class Objective:
    """What the trainer optimises: L_gen alone (contrastive False) or the COIN loss."""

    contrastive: bool
    lam: float = 0.0
    temperature: float = 1.0
    negatives: str = "pair"  # pair: candidates within a pair | batch: the whole micro-batch
    pooling: str = "last"  # last | prompt | mean | max (coin.training.losses.pool_states)
    gen_reduction: str = "tokens"  # tokens | views (coin.training.losses.generation_loss)

    @classmethod
    def for_variant(cls, variant: str, loss: LossParams | None) -> "Objective":
        """cit -> L_gen only (loss params unused); coin -> loss.* (L_gen only if loss.contrastive is false)."""
        if variant == "cit" or loss is None or not loss.contrastive:
            return cls(contrastive=False)
        return cls(
            contrastive=True,
            lam=loss.lam,
            temperature=loss.temperature,
            negatives=loss.negatives,
            pooling=loss.pooling,
            gen_reduction=loss.gen_reduction,
        )


def pool_last_token(hidden: torch.Tensor, pool_index: torch.Tensor) -> torch.Tensor:
    """hidden (N, T, d), pool_index (N,) -> the L2-normalised float32 state at each row's index (N, d)."""
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    return F.normalize(hidden[rows, pool_index].float(), dim=-1)  # (N, d)


class CoinTrainer(Trainer):
    """Trainer whose `compute_loss` is the COIN objective; it also logs L_gen, L_ctr and the weight.

    Batches come from `CoinCollator` (input_ids, attention_mask, position_ids, labels, pool_index,
    groups); the train sampler is a `PairSampler`, so anchors and negatives share micro-batches, and with
    `length_window` (train.group_by_length) > 0 a micro-batch holds pairs of similar length.
    """

    full_logits = False  # benchmark switch (benchmarks/train_speed.py): logits at every position, as before

    def __init__(self, *args: Any, objective: Objective, seed: int = 0, length_window: int = 0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.objective = objective
        self.pair_seed = seed
        self.length_window = length_window  # train.group_by_length
        self.model_accepts_loss_kwargs = False  # our loss is a mean per micro-batch: the Trainer averages
        self._sums: dict[str, torch.Tensor] = {}
        self._count = 0

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        lengths = self.data_collator.entry_lengths(dataset.rows) if self.length_window else None
        return PairSampler(
            dataset.pair_ids, dataset.roles, self.pair_seed, lengths, self.args.per_device_train_batch_size, self.length_window
        )

    def _load_optimizer_and_scheduler(self, checkpoint):
        """As the Trainer's, except on several CPU processes: there it maps the optimizer state to
        `args.device`, which is `cpu:<rank>`, a location torch.load cannot restore; load it to `cpu`."""
        plain = self.args.world_size == 1 or self.args.device.type != "cpu"
        if checkpoint is None or plain or self.is_deepspeed_enabled or self.is_fsdp_enabled:
            return super()._load_optimizer_and_scheduler(checkpoint)
        optimizer, scheduler = (os.path.join(checkpoint, name) for name in ("optimizer.pt", "scheduler.pt"))
        if os.path.isfile(optimizer) and os.path.isfile(scheduler):
            self.optimizer.load_state_dict(torch.load(optimizer, map_location="cpu", weights_only=True))
            self.lr_scheduler.load_state_dict(torch.load(scheduler, weights_only=True))

    def gathered_state_dict(self) -> dict[str, torch.Tensor] | None:
        """The whole model's weights when FSDP or DeepSpeed ZeRO-3 shards them over the ranks (rank 0 gets
        them; call it on every rank: it is a collective), else None: `self.model` is whole (DDP, ZeRO-2)."""
        sharded = self.is_fsdp_enabled or (
            self.is_deepspeed_enabled and self.accelerator.state.deepspeed_plugin.zero_stage == 3
        )
        return self.accelerator.get_state_dict(self.model_wrapped) if sharded else None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """One forward pass over both views; L_gen (cit) or L_gen + w * L_ctr (coin).

        The output layer runs at the response positions only (coin.training.head.ResponseHead), inside
        the wrapped model's forward; its input, the final hidden states, also feeds L_ctr's pooling.
        `full_logits` (a benchmark switch, not a param) computes the logits at every position instead.
        """
        if self.full_logits:
            return self._full_logit_loss(model, inputs, return_outputs)
        forward = {k: inputs[k] for k in ("input_ids", "attention_mask", "position_ids")}
        positions, targets = response_positions(inputs["labels"])  # (M,), (M,)
        shape = tuple(inputs["labels"].shape)  # (2k, T)
        with ResponseHead(model, positions, shape) as head:
            outputs = model(**forward, use_cache=False)
        gen = generation_loss_at(outputs.logits, targets.to(outputs.logits.device), positions, shape,
                                 self.objective.gen_reduction if self.objective.contrastive else "tokens")
        if not self.objective.contrastive:
            loss, parts = gen, {"loss_gen": gen}
        else:
            pooled = pool_states(head.hidden, inputs["attention_mask"], inputs["pool_index"], self.objective.pooling,
                                 inputs.get("prompt_index"))  # (2k, d)
            loss, parts = self._with_contrastive(gen, pooled, inputs)
        return self._record(loss, outputs, parts, model, return_outputs)

    def _with_contrastive(self, gen: torch.Tensor, pooled: torch.Tensor, inputs) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """L_gen + w * L_ctr over the pooled states (2k, d) of [orig_1..orig_k, pos_1..pos_k]."""
        z = F.normalize(pooled, dim=-1)
        k = z.shape[0] // 2
        groups = inputs["groups"] if self.objective.negatives == "pair" else None
        result = combine_losses(gen, z[:k], z[k:], self.objective.lam, self.objective.temperature, groups)
        return result.total, {"loss_gen": result.gen, "loss_ctr": result.ctr, "ctr_weight": result.weight}

    def _full_logit_loss(self, model, inputs, return_outputs):
        """The loss from logits at every position (N, T, V) and, for COIN, every layer's hidden states:
        the computation before the response-only output layer, kept to benchmark against."""
        forward = {k: inputs[k] for k in ("input_ids", "attention_mask", "position_ids")}
        labels = inputs["labels"]
        if not self.objective.contrastive:
            outputs = model(**forward, use_cache=False)
            loss = response_ce(outputs.logits, labels)
            parts = {"loss_gen": loss}
        else:
            outputs = model(**forward, use_cache=False, output_hidden_states=True)
            pooled = pool_states(outputs.hidden_states[-1], inputs["attention_mask"], inputs["pool_index"], self.objective.pooling,
                                 inputs.get("prompt_index"))
            gen = generation_loss(outputs.logits, labels, self.objective.gen_reduction)
            loss, parts = self._with_contrastive(gen, pooled, inputs)
        return self._record(loss, outputs, parts, model, return_outputs)

    def _record(self, loss, outputs, parts, model, return_outputs):
        """Add the loss parts to the running sums (training only); the Trainer's return value."""
        if model.training:
            for key, value in parts.items():
                self._sums[key] = self._sums.get(key, 0) + value.detach().float()
            self._count += 1
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the means of L_gen, L_ctr and the weight since the last log to the training logs."""
        if isinstance(logs.get("loss"), float):  # 4 decimals, as transformers 4.57 logged it (5 does not round)
            logs["loss"] = round(logs["loss"], 4)
        if "loss" in logs and self._count:
            keys = sorted(self._sums)
            # (len(keys) + 1,): the sums and the micro-batch count, summed over the ranks (one rank: as is)
            totals = torch.stack([self._sums[k].to(self.args.device) for k in keys] + [torch.tensor(float(self._count), device=self.args.device)])
            if self.args.world_size > 1:
                totals = self.accelerator.reduce(totals, reduction="sum")
            for key, total in zip(keys, totals[:-1].tolist()):
                logs[key] = round(total / totals[-1].item(), 6)
            self._sums, self._count = {}, 0
        super().log(logs, start_time)


class LiveMetrics(DVCLiveCallback):
    """transformers' DVCLive callback, stepped by the optimizer step and deterministic.

    Each log is written at `state.global_step` (not a log counter); timings are left out; the
    run's TrainingArguments are not logged (they hold machine paths). On a resumed run the checkpoint's
    log history is written again first, so the plots continue without gaps or duplicates.
    """

    def setup(self, args, state, model):
        self._initialized = True

    def _write(self, step: int, logs: dict[str, Any]) -> None:
        from dvclive.plots import Metric
        from dvclive.utils import standardize_metric_name

        self.live.step = step
        # sorted, so metrics.json has the same key order whether the run was resumed or not
        for key, value in sorted(logs.items()):
            if key == "step" or any(t in key for t in _SKIPPED_KEYS) or not Metric.could_log(value):
                continue
            name = standardize_metric_name(key, "dvclive.huggingface")
            # a step is written once: rows at or after it (a resumed Live, another writer) go first
            drop_steps_from(Path(self.live.plots_dir) / Metric.subfolder / f"{name}.tsv", step)
            self.live.log_metric(name, value)
        self.live.make_summary()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        super().on_train_begin(args, state, control, model=model, **kwargs)
        if state.is_world_process_zero:
            for entry in state.log_history:
                self._write(entry["step"], entry)

    def on_log(self, args, state, control, model=None, logs=None, **kwargs):
        if not self._initialized:
            self.setup(args, state, model)
        if state.is_world_process_zero and logs:
            self._write(state.global_step, logs)


def drop_steps_from(tsv: Path, step: int) -> None:
    """Remove the rows of a DVCLive metric file (tab-separated, with a `step` column) at `step` or later,
    and any row cut off by a kill, so the row about to be appended is the only one of its step and the
    steps stay ascending."""
    if not tsv.is_file():
        return
    lines = tsv.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split("\t") if lines else []
    if "step" not in header:
        return
    column, width = header.index("step"), len(header)

    def before(line: str) -> bool:
        cells = line.rstrip("\r\n").split("\t")
        return line.endswith("\n") and len(cells) == width and cells[column].isdigit() and int(cells[column]) < step

    kept = [lines[0], *filter(before, lines[1:])]
    if len(kept) < len(lines):
        from coin.io import write_text

        write_text("".join(kept), tsv)


class BetweenMicroBatches(TrainerCallback):
    """Calls `fn()` before each step and after each of its micro-batches: the stage's hook for work
    between them (pipeline.cores.rebalance)."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn

    def on_step_begin(self, args, state, control, **kwargs):
        self.fn()

    def on_substep_end(self, args, state, control, **kwargs):
        self.fn()


class UsualPermissions(TrainerCallback):
    """Checkpoint files get the usual permissions (0644 / 0755 under umask 022) like every other output:
    safetensors writes model.safetensors 0600, and the Trainer, not coin.io, writes checkpoints."""

    def on_save(self, args, state, control, **kwargs):
        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

        from coin.io import usual_permissions

        folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        if state.is_world_process_zero and folder.is_dir():
            usual_permissions(folder)


def warmup_steps(ratio: float) -> float:
    """TrainingArguments.warmup_steps for a warmup fraction in [0, 1] of the optimizer steps.

    transformers 5 has no `warmup_ratio`: `warmup_steps` below 1 is the fraction, ceil(steps * value)
    (4.57's rule for warmup_ratio), and 1 or more is a step count; a ratio of exactly 1 (every step)
    goes in as the largest float below 1, whose ceil(steps * value) is `steps` (any run under 2^53 steps).
    """
    return math.nextafter(1.0, 0.0) if ratio >= 1 else float(ratio)


def training_arguments(
    train: TrainParams, seed: int, output_dir: str, dtype: str = "float32", processes: int = 1, **overrides: Any
) -> TrainingArguments:
    """TrainingArguments from params.train: micro-batches of entries, accumulation to batch_size over
    `processes` ranks (batch_size = micro_batch_size x accumulation x processes, so the optimizer step and
    the LR schedule are the single-process run's), AdamW, linear schedule with warmup, checkpoints every
    save_steps in `output_dir` (the last 2 kept), no reporting integrations (the DVCLive callback is added
    explicitly). `overrides` win (tests)."""
    if train.batch_size % (train.micro_batch_size * processes):
        raise CoinError(
            f"train.batch_size = {train.batch_size} is not allowed on {processes} processes: must be a multiple of "
            f"micro_batch_size x processes ({train.micro_batch_size * processes})"
        )
    kwargs: dict[str, Any] = dict(
        output_dir=output_dir,
        per_device_train_batch_size=train.micro_batch_size,
        gradient_accumulation_steps=train.batch_size // (train.micro_batch_size * processes),
        learning_rate=train.learning_rate,
        num_train_epochs=train.epochs,
        lr_scheduler_type="linear",
        warmup_steps=warmup_steps(train.warmup_ratio),
        optim="adamw_torch",
        weight_decay=train.weight_decay,
        max_grad_norm=train.max_grad_norm,
        seed=seed,
        data_seed=seed,
        logging_steps=train.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=train.save_steps,
        save_total_limit=2,
        report_to="none",
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=False,
        bf16=dtype == "bfloat16" and torch.cuda.is_available(),  # autocast on GPU; CPU keeps the weights' dtype
        fp16=dtype == "float16" and torch.cuda.is_available(),  # float16 bases train a float32 LoRA adapter
        use_cpu=not torch.cuda.is_available(),
    )
    kwargs.update(overrides)
    return TrainingArguments(**kwargs)


__all__ = ["BetweenMicroBatches", "CoinTrainer", "LiveMetrics", "Objective", "UsualPermissions", "drop_steps_from", "pool_last_token", "training_arguments", "warmup_steps"]
