"""pipeline.cores: torch stages running at once share the cores (threads = cores // live stages)."""

from __future__ import annotations

import subprocess
import sys
import tempfile

import pytest

from pipeline import cores


@pytest.fixture()
def fresh(tmp_path, monkeypatch):
    """An empty registry of this test's own, and this process outside any share."""
    import torch

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(cores, "_share", cores._Share())
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    threads = torch.get_num_threads()
    yield cores.registry()
    torch.set_num_threads(threads)


def sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def register(folder, pid: int, started: str | None = None, listed: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(pid)).write_text(f"{cores._started(pid) if started is None else started}\n{listed}\n")


def test_the_registry_is_one_folder_per_user_in_the_temporary_directory(fresh, tmp_path):
    assert fresh.parent == tmp_path and fresh.name.startswith("coin-torch-stages-")


def test_a_stage_alone_takes_every_core_and_leaves_no_entry(fresh):
    import torch

    with cores.fair_share():
        assert sorted(p.name for p in fresh.iterdir()) == [str(__import__("os").getpid())]
        assert cores.live_sharers() == 1
        assert torch.get_num_threads() == cores.cpu_threads()
    assert list(fresh.iterdir()) == []


def test_two_live_stages_split_the_cores_and_the_survivor_takes_them_back(fresh, monkeypatch):
    import torch

    other = sleeper()
    try:
        register(fresh, other.pid)
        with cores.fair_share():
            assert cores.live_sharers() == 2
            assert torch.get_num_threads() == max(1, cores.cpu_threads() // 2)
            other.kill()
            other.wait()
            cores.rebalance()  # within REBALANCE_S of the last look: nothing re-read yet
            assert torch.get_num_threads() == max(1, cores.cpu_threads() // 2)
            monkeypatch.setattr(cores, "REBALANCE_S", 0.0)
            cores.rebalance()
            assert torch.get_num_threads() == cores.cpu_threads()
            assert sorted(p.name for p in fresh.iterdir()) == [str(__import__("os").getpid())]  # the ended one's entry is gone
    finally:
        other.kill()
        other.wait()


def test_entries_of_ended_processes_reused_pids_and_other_cores_are_not_counted(fresh):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    register(fresh, ended.pid, started="1")
    other = sleeper()
    try:
        register(fresh, other.pid, started="1")  # a live pid whose start time is not the entry's: reused
        mine = sorted(cores._cores())
        register(fresh, __import__("os").getppid(), listed=str(max(mine) + 1))  # runs on a core not ours
        assert cores.live_sharers() == 0
        assert [p.name for p in fresh.iterdir()] == [str(__import__("os").getppid())]
    finally:
        other.kill()
        other.wait()


def test_the_users_omp_num_threads_fixes_the_threads_but_not_a_launchers(fresh, monkeypatch):
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cores.user_threads() == 1
    with cores.fair_share():
        assert torch.get_num_threads() == 1
        assert cores.live_sharers() == 1  # still registered: the others make room for it
    monkeypatch.setenv("WORLD_SIZE", "2")  # accelerate launch sets OMP_NUM_THREADS per rank
    assert cores.user_threads() is None
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    assert cores.user_threads() is None


def test_nested_shares_keep_one_entry_until_the_outer_one_ends(fresh):
    with cores.fair_share():
        with cores.fair_share():
            assert len(list(fresh.iterdir())) == 1
        assert len(list(fresh.iterdir())) == 1
    assert list(fresh.iterdir()) == []


def test_rebalance_outside_a_share_changes_nothing(fresh):
    import torch

    torch.set_num_threads(1)
    cores.rebalance()
    assert torch.get_num_threads() == 1 and not fresh.exists()


def test_without_a_writable_temporary_directory_the_stage_runs_unregistered(fresh, tmp_path, monkeypatch):
    import torch

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))  # the registry's parent is a file: mkdir fails
    with cores.fair_share():
        assert torch.get_num_threads() == cores.cpu_threads() and cores.live_sharers() == 0
