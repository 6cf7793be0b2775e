"""Run by tests/test_multiprocess.py under `accelerate launch`: pipeline.train.run_training with a
callback that records each micro-batch's (pair_id, role) on this rank, and optionally a kill of every
rank right after the checkpoint of step --kill-after is saved.

    python tests/multiprocess_train.py PARAMS BASE TRAIN OUT CHECKPOINTS LIVE RECORD [--kill-after N]
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from transformers import TrainerCallback


class RecordPairs(TrainerCallback):
    """Wraps the train dataloader's collate_fn: every micro-batch this rank draws is appended to
    `record` (one JSON list of [pair_id, role] per line), before it is collated."""

    def __init__(self, record: Path):
        self.record = record

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        loader = getattr(train_dataloader, "base_dataloader", train_dataloader)  # accelerate's adapter delegates
        collate = loader.collate_fn

        def recording(entries):
            with self.record.open("a") as handle:
                handle.write(json.dumps([[e["pair_id"], e["role"]] for e in entries]) + "\n")
            return collate(entries)

        loader.collate_fn = recording


class KillAfterSave(TrainerCallback):
    """SIGKILL on every rank once all ranks have saved the checkpoint of `step` (a barrier first)."""

    def __init__(self, step: int):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.barrier()
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> None:
    from coin.params import load_params
    from pipeline.launch import rank
    from pipeline.train import run_training

    params, base, train, out, checkpoints, live, record = map(Path, argv[:7])
    callbacks = [RecordPairs(record / f"rank{rank()}.jsonl")]
    if "--kill-after" in argv:
        callbacks.append(KillAfterSave(int(argv[argv.index("--kill-after") + 1])))
    summary = run_training(load_params(params), "coin", base, train, out, checkpoints, live, callbacks=callbacks, disable_tqdm=True)
    if rank() == 0:
        (record / "summary.json").write_text(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1:])
