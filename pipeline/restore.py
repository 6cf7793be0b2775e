"""`restore` (`make restore`): back to the last commit after a failed or killed stage or experiment.

params.yaml, dvc.lock and reports/ (uncached, in git) come back from HEAD, then every output that
dvc.lock names is checked out from the DVC cache (`dvc checkout --force <outputs>`). Outputs whose
committed version this clone's cache lacks (a fresh clone, or a lock written on another machine) are
first fetched from the default DVC remote, when one is configured (`dvc remote add -d`; another clone
pushed them with `dvc push`). What is still missing is left as it is in the workspace, never deleted,
and named on one line with the command that recreates it; `dvc checkout --force` on its own would
delete it and stop with an error halfway.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import typer
import yaml

from coin.errors import CoinError
from pipeline.app import app, stage

FROM_GIT = ("params.yaml", "dvc.lock", "reports")


def lock_outputs(lock: dict) -> list[str]:
    """Every output path dvc.lock records, in stage order, each once."""
    paths = [out["path"] for entry in (lock.get("stages") or {}).values() for out in entry.get("outs", [])]
    return list(dict.fromkeys(paths))


def outputs_not_in_cache(outputs: list[str], not_in_cache: list[str]) -> list[str]:
    """The outputs that `dvc data status --granular` reports (whole, as `dir/`, or a file inside) as not in the cache."""
    missing = [entry.rstrip("/") for entry in not_in_cache]
    return [out for out in outputs if any(m == out or m.startswith(out.rstrip("/") + "/") for m in missing)]


def _run(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise CoinError(f"{' '.join(args)} failed: {lines[0] if lines else f'exit code {result.returncode}'}")
    return result


@app.command("restore")
@stage
def restore() -> None:
    """The last commit's params.yaml, dvc.lock and reports/, and every cached output to match; outputs the cache lacks are kept and named."""
    present = [name for name in FROM_GIT if _run("git", "ls-tree", "--name-only", "HEAD", name).stdout.strip()]
    _run("git", "checkout", "HEAD", "--", *present)
    lock = Path("dvc.lock")
    outputs = lock_outputs(yaml.safe_load(lock.read_text()) or {}) if lock.is_file() else []
    missing = _missing(outputs)
    remote = _run("dvc", "config", "core.remote").stdout.strip()
    if missing and remote:
        fetched = subprocess.run(["dvc", "fetch", *missing], capture_output=True, text=True)
        if fetched.returncode != 0:
            lines = (fetched.stderr or fetched.stdout).strip().splitlines()
            typer.echo(f"dvc fetch from remote {remote!r} failed: {lines[-1] if lines else fetched.returncode}", err=True)
        missing = _missing(outputs)
    restorable = [out for out in outputs if out not in missing]
    if restorable:
        _run("dvc", "checkout", "--force", *restorable)
    where = f"the DVC cache and remote {remote!r} hold" if remote else "the DVC cache holds"
    typer.echo(f"restored {', '.join(present)} from git and the outputs {where}", err=True)
    if missing:
        cache = f"this clone's DVC cache or remote {remote!r}" if remote else "this clone's DVC cache (no DVC remote is set)"
        typer.echo(f"not in {cache}, left as they are: {', '.join(missing)}; `dvc repro` recreates them", err=True)


def _missing(outputs: list[str]) -> list[str]:
    """The outputs whose committed version the DVC cache lacks."""
    status = json.loads(_run("dvc", "data", "status", "--granular", "--json").stdout or "{}")
    return outputs_not_in_cache(outputs, status.get("not_in_cache", []))
