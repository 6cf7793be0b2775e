"""The Typer app every stage command registers on, and the error handling they share."""

from __future__ import annotations

import functools
import os
import signal
import sys
from typing import Any, Callable

import typer

from coin.errors import CoinError, MachineError

app = typer.Typer(
    name="pipeline",
    help="COIN pipeline stages. Each command reads and writes the paths dvc.yaml gives it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Have Linux send `sig` to this process when the process that started it ends (prctl
    PR_SET_PDEATHSIG; it survives exec). False where there is no such request (not Linux, no libc)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    parent = os.getppid()
    try:
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the parent ended before the request took hold
        os.kill(os.getpid(), sig)
    return True


def stage(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a `CoinError` into one line on stderr and exit code 2 (no traceback for bad input), and a
    `MachineError` (a full disk) into one line and exit code 1.

    Under DVC (DVC_STAGE is set for every stage command, and inherited by the processes it launches) the
    stage ends with SIGTERM when its parent ends, so a killed `dvc repro` leaves no stage writing beside
    the next one. Only there: a stage run by hand under nohup or disown outlives the shell that started it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if os.environ.get("DVC_STAGE"):
            die_with_parent()
        try:
            return fn(*args, **kwargs)
        except CoinError as exc:
            typer.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except MachineError as exc:
            typer.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper


@app.callback()
def main() -> None:
    """COIN pipeline stages. Each command reads and writes the paths dvc.yaml gives it."""
