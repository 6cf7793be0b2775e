"""The Typer app every stage command registers on, and the error handling they share."""

from __future__ import annotations

import functools
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


def stage(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a `CoinError` into one line on stderr and exit code 2 (no traceback for bad input), and a
    `MachineError` (a full disk) into one line and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
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
