"""The machine's cores, shared fairly among this project's torch stages running at once.

Each torch stage (train, evaluate, perturb, answer-alignment; every rank of a multi-process run) runs
inside `fair_share()`: it enters a registry, one small file per process in a folder of the temporary
directory that all of the user's processes see, and sets torch's threads to

    threads = max(1, its cores // live registered processes whose cores overlap its own)

`rebalance()`, called between units of work (a training micro-batch, an evaluation chunk, an attacked
instruction), re-reads the registry at most every REBALANCE_S seconds, so a stage that started alone
gives up cores when a second one starts (a `dvc queue start -j 2` worker, a `make test`) and takes them
back when that one ends. Without it, two stages each ran one OpenMP thread per core: twice as many busy
threads as cores, each spinning at every parallel region's barrier for a partner that was not running,
so two runs at once took longer than the same two in a row (reports/benchmarks/concurrency.txt holds
the before and after).

OMP_NUM_THREADS set by the user (outside a multi-process launch, whose launcher sets it for each rank)
fixes the threads: the process still registers, so the others make room for it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

REBALANCE_S = 0.5  # the most often a stage re-reads the registry


def cpu_threads() -> int:
    """CPU cores this process may use (sched affinity), at least 1."""
    return max(1, len(_cores()))


def registry() -> Path:
    """The folder of live stage processes: one per user, in the temporary directory."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"coin-torch-stages-{uid}"


def _cores() -> set[int]:
    """The cores this process may run on (sched affinity; all of them where that is not known)."""
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return set(range(os.cpu_count() or 1))


def _started(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), which tells a live process from a later
    one with a reused pid; "" where /proc is absent and the process exists; None where it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2 :].split()[19]
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
    except (OSError, ValueError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ""


def user_threads() -> int | None:
    """OMP_NUM_THREADS where the user set it (not a multi-process launcher, which sets it per rank)."""
    omp = os.environ.get("OMP_NUM_THREADS", "")
    launched = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return int(omp) if omp.isdigit() and int(omp) > 0 and not launched else None


def live_sharers(folder: Path | None = None, cores: set[int] | None = None) -> int:
    """Registered processes that are alive and may run on one of `cores` (this process's, by default);
    entries of ended processes are removed on the way."""
    folder, cores = folder or registry(), _cores() if cores is None else cores
    count = 0
    entries = folder.glob("[0-9]*") if folder.is_dir() else []
    for entry in entries:
        try:
            started, _, listed = entry.read_text().partition("\n")
            pid = int(entry.name)
        except (OSError, ValueError):
            continue  # being written or removed
        now = _started(pid)
        if now is None or (now and started and now != started):
            with contextlib.suppress(OSError):
                entry.unlink(missing_ok=True)
            continue
        theirs = {int(c) for c in listed.split()} if listed.strip() else cores
        count += bool(theirs & cores)
    return count


class _Share:
    def __init__(self) -> None:
        self.depth = 0
        self.entry: Path | None = None
        self.checked = 0.0


_share = _Share()


def _set_threads() -> None:
    import torch

    wanted = user_threads() or max(1, cpu_threads() // max(1, live_sharers()))
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)
    _share.checked = time.monotonic()


def rebalance() -> None:
    """Inside `fair_share`: set this process's torch threads to its fair share again, at most every
    REBALANCE_S seconds (cheap to call at every unit of work). Outside: nothing."""
    if _share.depth and time.monotonic() - _share.checked >= REBALANCE_S:
        _set_threads()


def rebalancing(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` followed by `rebalance()`: for the callbacks a stage calls between units of work (a progress
    bar's update, a perturbation scorer)."""

    def called(*args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        rebalance()
        return result

    return called


@contextlib.contextmanager
def fair_share() -> Iterator[None]:
    """Register this process as a torch stage for the duration, and take its share of the cores."""
    if _share.depth == 0:
        entry = registry() / str(os.getpid())
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            entry.write_text(f"{_started(os.getpid()) or ''}\n{' '.join(map(str, sorted(_cores())))}\n")
            _share.entry = entry
        except OSError:  # no writable temporary directory: run unregistered (the others cannot see this one)
            _share.entry = None
    _share.depth += 1
    try:
        _set_threads()
        yield
    finally:
        _share.depth -= 1
        if _share.depth == 0 and _share.entry is not None:
            _share.entry.unlink(missing_ok=True)
            _share.entry = None


__all__ = ["REBALANCE_S", "cpu_threads", "fair_share", "live_sharers", "rebalance", "rebalancing", "registry", "user_threads"]
