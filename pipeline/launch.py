"""Running a stage command on N processes: re-execute it under `accelerate launch`, and the rank helpers.

`train.processes` / `eval.processes` = 1 is the plain single-process path. For N > 1 the stage command
calls `relaunch`, which runs the same stage command (its own options, rebuilt by the command) as
`python -m accelerate.commands.launch --multi_gpu --num_processes N ... -m pipeline <stage> ...` and exits
with its status. `--multi_gpu` selects accelerate's torchrun launcher: on N CUDA devices one process per
device (NCCL), on a machine without CUDA N CPU processes (gloo), each starting with cores // N threads (then
pipeline.cores keeps every rank's share fair).
Inside the launched processes WORLD_SIZE is set, so `relaunch` is not entered again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import typer


def world_size() -> int:
    """Processes of the current distributed run (WORLD_SIZE, set by the launcher); 1 outside one."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's global rank (RANK, set by the launcher); 0 outside a distributed run."""
    return int(os.environ.get("RANK", "0"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accelerate_command(processes: int, target: Sequence[str], cores: int) -> list[str]:
    """The `accelerate launch` command line that runs `python <target>` (e.g. `-m pipeline train ...`)
    on `processes` processes with cores // processes threads each."""
    return [
        sys.executable, "-m", "accelerate.commands.launch",
        "--multi_gpu", "--num_processes", str(processes), "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(_free_port()),
        "--num_cpu_threads_per_process", str(max(1, cores // processes)),
        *target,
    ]


def relaunch(processes: int, stage_args: Sequence[str], key: str = "processes") -> bool:
    """Run the stage on `processes` processes and exit with its status; False (do nothing) when the
    stage should run here: one process, or already inside a launched run. `key` names the param in
    errors. With CUDA each process needs a device of its own."""
    if processes <= 1 or world_size() > 1:
        return False
    import torch

    from coin.errors import CoinError
    from pipeline.cores import cpu_threads

    devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if 0 < devices < processes:
        raise CoinError(f"{key} = {processes} is not allowed: this machine has {devices} CUDA device(s), one per process (use at most {devices})")

    command = accelerate_command(processes, ["-m", "pipeline", *map(str, stage_args)], cpu_threads())
    typer.echo(f"launching {processes} processes: accelerate launch --num_processes {processes} -m pipeline {stage_args[0]}", err=True)
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    with _terminate_on_sigterm(process):
        errors = _relay_stderr(process.stderr)
        status = process.wait()
    if status and errors:  # a rank's one-line error (bad input): that line once, not torchrun's report
        for line in dict.fromkeys(errors):
            typer.echo(line, err=True)
        sys.exit(2)
    if status:
        typer.echo(f"error: {stage_args[0]} failed on one of its {processes} processes (exit status {status})", err=True)
        sys.exit(status)
    return True


@contextmanager
def _terminate_on_sigterm(process: subprocess.Popen) -> Iterator[None]:
    """While waiting on the launcher: a SIGTERM to this process (its DVC process ended) ends the launcher
    and, through it, every rank, then this process (exit status 143)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def end_launcher(signum: int, frame: Any) -> None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        sys.exit(128 + signum)

    previous = signal.signal(signal.SIGTERM, end_launcher)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _relay_stderr(stream: Any) -> list[str]:
    """Copy the launched processes' stderr to ours as it comes, until a line starting `error: ` (a
    rank's CoinError); from there hold it back and return its `error: ` lines (the rest is torchrun's
    failure report). Progress bars (\r updates) pass through unbuffered."""
    out = sys.stderr.buffer
    held = bytearray()
    line_start = True  # the next byte begins a line
    for chunk in iter(lambda: stream.read1(1 << 16), b""):
        if held:
            held += chunk
            continue
        for i in range(len(chunk)):
            if line_start and chunk.startswith(b"error: ", i):
                out.write(chunk[:i])
                held += chunk[i:]
                break
            line_start = chunk[i : i + 1] in (b"\n", b"\r")
        else:
            out.write(chunk)
        out.flush()
    if not held:
        return []
    lines = held.decode(errors="replace").splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    if not errors:
        out.write(bytes(held))
    return errors


def join_process_group() -> None:
    """Inside a launched run: join the process group (gloo on CPU, NCCL on GPU, one device per local
    rank); outside one: nothing."""
    if world_size() == 1:
        return
    import torch
    from accelerate import PartialState

    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))  # "cuda" below means this rank's GPU
    PartialState(cpu=not torch.cuda.is_available())


def shard_bounds(n: int, processes: int, index: int) -> tuple[int, int]:
    """The contiguous share [start, stop) of n items for process `index` of `processes`: sizes differ by
    at most one, earlier ranks take the extra ones, and the shares in rank order are 0..n."""
    return n * index // processes, n * (index + 1) // processes


def gather_to_main(part: Any) -> list[Any] | None:
    """Every rank's `part` (any picklable object), in rank order, on rank 0; None on the other ranks.
    One process: [part]."""
    if world_size() == 1:
        return [part]
    import torch.distributed as dist

    parts: list[Any] | None = [None] * world_size() if rank() == 0 else None
    dist.gather_object(part, parts, dst=0)
    return parts


__all__ = ["accelerate_command", "gather_to_main", "join_process_group", "rank", "relaunch", "shard_bounds", "world_size"]
