"""Issue 18, works on any machine: model.dtype auto from the one bfloat16 detection (mocked both ways),
`restore` on a clone whose cache lacks committed outputs, one line for a truncated model, a garbage
perturb.file and a full disk, and model files 0644."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

import pipeline.cli  # noqa: F401  (registers every command)
from coin import hardware
from coin.errors import MachineError
from coin.io import atomic_dir, write_json, write_parquet
from coin.schemas import EVAL_SET, PROMPTS, TRAIN
from pipeline.app import app
from tests.miniature import run_in
from tests.test_training import base_dir, make_params, train_frame  # noqa: F401  (base_dir is a fixture)

ROOT = Path(__file__).resolve().parents[1]
NO_UNITS = "this CPU has no bfloat16 units: neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo"
COST = hardware.BF16_EMULATED_COST


@pytest.fixture
def avx2_cpu(monkeypatch):
    """This machine's case: an x86 CPU with AVX2 and no bfloat16 units, no GPU."""
    monkeypatch.setattr(hardware, "cpu_flags", lambda cpuinfo=None: {"fpu", "sse2", "avx2", "fma"})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def bf16_cpu(monkeypatch):
    """A CPU with AVX-512 BF16 and AMX (a Sapphire Rapids Xeon), no GPU."""
    monkeypatch.setattr(hardware, "cpu_flags", lambda cpuinfo=None: {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"})
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_cpu_flags_are_read_from_cpuinfo_lines():
    cpuinfo = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\nbugs\t\t: spectre_v1\n"
    assert hardware.cpu_flags(cpuinfo) == {"flags", ":", "fpu", "sse", "avx2", "avx512f", "avx512_bf16"}
    assert hardware.cpu_has_bf16(cpuinfo) and not hardware.cpu_has_bf16("flags\t\t: fpu sse avx2 amx_tile\n")


def test_auto_is_float32_without_bfloat16_units_and_says_why(avx2_cpu):
    assert hardware.device_type() == "cpu"
    assert hardware.bf16_units("cpu") == (False, NO_UNITS)
    assert hardware.choose_dtype("auto", "cpu") == ("float32", f"model.dtype = auto: float32 ({NO_UNITS})")
    assert hardware.choose_dtype("bfloat16", "cpu") == (
        "bfloat16", f"warning: model.dtype = bfloat16 but {NO_UNITS}, so bfloat16 is emulated: {COST}; model.dtype: auto picks float32 here"
    )
    assert hardware.choose_dtype("float32", "cpu") == ("float32", None)
    assert hardware.choose_dtype("float16", "cpu") == ("float16", None)


def test_auto_is_bfloat16_with_bfloat16_units(bf16_cpu, monkeypatch):
    assert hardware.choose_dtype("auto", "cpu") == ("bfloat16", "model.dtype = auto: bfloat16 (this CPU has amx_bf16 / avx512_bf16)")
    assert hardware.choose_dtype("bfloat16", "cpu") == ("bfloat16", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert hardware.choose_dtype("auto", "cuda") == ("bfloat16", "model.dtype = auto: bfloat16 (this GPU supports bfloat16)")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert hardware.choose_dtype("auto", "cuda") == ("float32", "model.dtype = auto: float32 (this GPU has no bfloat16 support)")


def test_the_profiles_that_wanted_bfloat16_say_auto_and_the_warning_names_the_committed_cost():
    for profile in ("smollm2.yaml", "paper.yaml"):
        assert yaml.safe_load((ROOT / "configs" / profile).read_text())["model"]["dtype"] == "auto", profile
    assert COST == ("a SmolLM2-135M forward pass over 8 x 96 tokens took 10.65 s in bfloat16 against 1.43 s in float32 (7.47x) "
                    "on an AVX2-only AMD EPYC (reports/benchmarks/bf16_cost.txt)")
    report = (ROOT / "reports" / "benchmarks" / "bf16_cost.txt").read_text()  # the figure the warning quotes
    assert "float32       1.43" in report and "bfloat16     10.65" in report and "bfloat16 / float32 time: 7.47x" in report
    assert "10.65 s in bfloat16 against 1.43 s in float32 (7.47x" in " ".join((ROOT / "README.md").read_text().split())


@pytest.mark.parametrize(("cpu", "dtype", "line"), [
    ("avx2_cpu", torch.float32, f"model.dtype = auto: float32 ({NO_UNITS})"),
    ("bf16_cpu", torch.bfloat16, "model.dtype = auto: bfloat16 (this CPU has amx_bf16 / avx512_bf16)"),
])
def test_train_and_evaluate_resolve_auto_with_the_same_detection(base_dir, tmp_path, capsys, request, cpu, dtype, line):  # noqa: F811
    from safetensors.torch import load_file

    from pipeline.evaluate import _load_model
    from pipeline.train import run_training

    request.getfixturevalue(cpu)
    params = make_params(model={"dtype": "auto"}, train={"epochs": 1})
    train = tmp_path / "train.parquet"
    write_parquet(train_frame(), train, TRAIN)
    run_training(params, "cit", base_dir, train, tmp_path / "cit", tmp_path / "ck", tmp_path / "live", disable_tqdm=True)
    assert line in capsys.readouterr().err.splitlines()
    weights = load_file(tmp_path / "cit" / "model.safetensors")
    assert {t.dtype for t in weights.values()} == {dtype}
    assert json.loads((tmp_path / "cit" / "params.json").read_text())["model"]["dtype"] == str(dtype).removeprefix("torch.")
    model, _ = _load_model(tmp_path / "cit", "auto")
    err = capsys.readouterr().err.splitlines()  # transformers 5 also draws a "Loading weights" bar
    assert model.dtype == dtype and [said for said in err if said.startswith("model.dtype")] == [line]


def test_model_files_are_0644_like_every_other_output(base_dir, tmp_path):  # noqa: F811
    from coin.training.model import load_model, save_model_folder

    model, tokenizer = load_model(base_dir)
    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "models" / "cit") as tmp:
            save_model_folder(model, tokenizer, tmp, {"base": "embedded-tiny", "weights": "full"})
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "models" / "cit").iterdir()}
    assert "model.safetensors" in modes and set(modes.values()) == {0o644}, modes
    assert stat.S_IMODE((tmp_path / "models" / "cit").stat().st_mode) == 0o755


def test_a_truncated_model_safetensors_is_one_line_and_exit_2(base_dir, tmp_path):  # noqa: F811
    import shutil

    model = tmp_path / "cit"
    shutil.copytree(base_dir, model)
    weights = model / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)
    prompts, rows = tmp_path / "prompts.parquet", tmp_path / "eval.parquet"
    write_parquet(pd.DataFrame({c: [] for c in PROMPTS.columns}), prompts, PROMPTS)
    write_parquet(pd.DataFrame({c: [] for c in EVAL_SET.columns}), rows, EVAL_SET)
    out = tmp_path / "out"
    args = ["evaluate", "--name", "cit", "--model", str(model), "--prompts", str(prompts), "--eval", str(rows),
            "--predictions", str(out / "p.parquet"), "--states", str(out / "s.npz"), "--metrics", str(out / "m.json"),
            "--summary", str(out / "s.json"), "--params", str(ROOT / "params.yaml")]
    line = (f"error: cannot load model {str(model)!r}: its weights are unreadable (Error while deserializing header: incomplete "
            "metadata, file not fully covered): rerun the stage that writes it (dvc repro -f -s <stage>)\n")
    result = CliRunner().invoke(app, args)
    assert (result.exit_code, result.output) == (2, line)
    assert not out.exists()


@pytest.mark.parametrize(("suffix", "problem"), [
    (".parquet", "is not a Parquet file (it does not start and end with PAR1)"),
    (".json", "is not JSON text (byte 0 is not UTF-8)"),
])
def test_a_perturb_file_of_random_bytes_is_refused_by_check_params_and_perturb(tmp_path, suffix, problem):
    garbage = tmp_path / f"g{suffix}"
    garbage.write_bytes(b"\xff\xfe\x00\x81" + bytes(range(256)) * 16)  # 4,100 bytes, neither Parquet nor UTF-8
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["perturb"].update(mode="file", file=str(garbage))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    line = f"error: perturb.file = '{garbage}' {problem}: give a JSON or Parquet prompt set\n"
    marker, out = tmp_path / "params.checked", tmp_path / "prompts.parquet"
    result = CliRunner().invoke(app, ["check-params", "--out", str(marker), "--params", str(params)])
    assert (result.exit_code, result.output, marker.exists()) == (2, line, False)
    result = CliRunner().invoke(app, ["perturb", "--model", str(tmp_path), "--eval", str(tmp_path), "--out", str(out), "--params", str(params)])
    assert (result.exit_code, result.output, out.exists()) == (2, line, False)


def test_a_json_perturb_file_that_is_text_but_not_a_list_still_gets_its_own_line(tmp_path):
    from pipeline.perturb import read_prompt_file

    damaged = tmp_path / "p.parquet"
    damaged.write_bytes(b"PAR1" + b"\x00" * 64 + b"PAR1")  # the right ends, nothing readable between
    from coin.errors import DataError

    with pytest.raises(DataError, match=rf"^perturb.file = '{damaged}' is not a readable Parquet file \(.+\): give a JSON or Parquet prompt set$"):
        read_prompt_file(str(damaged))


def test_a_full_disk_is_one_line_naming_the_output_and_leaves_nothing(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    import coin.io

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / "data" / "sampled.parquet"
    line = f"no space left on the device while writing {out}: nothing was written; free space there and rerun the stage"
    monkeypatch.setattr(coin.io.pq, "write_table", no_space)
    frame = pd.DataFrame({c: [] for c in PROMPTS.columns})
    with pytest.raises(MachineError) as info:
        write_parquet(frame, out, PROMPTS)
    assert str(info.value) == line and list(out.parent.iterdir()) == []
    monkeypatch.setattr(pq, "write_table", pq.write_table)

    folder = tmp_path / "models" / "base"  # a nested write (base.json inside an atomic_dir) names the folder
    monkeypatch.setattr(Path, "write_text", no_space)
    with pytest.raises(MachineError) as info, atomic_dir(folder) as tmp:
        write_json({"base": "embedded-tiny"}, tmp / "base.json")
    assert str(info.value) == line.replace(str(out), str(folder)) and list(folder.parent.iterdir()) == []

    marker = tmp_path / "params.checked"  # through a stage: exit 1 (the machine, not the input), one line
    result = CliRunner().invoke(app, ["check-params", "--out", str(marker), "--params", str(ROOT / "params.yaml")])
    assert (result.exit_code, result.output) == (1, f"error: {line.replace(str(out), str(marker))}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "models"]


def _tiny_dvc_project(path: Path) -> Path:
    """Two stages: models/a.txt (a file) and out/ (a folder) plus an uncached report, committed."""
    (path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {
        "a": {"cmd": "mkdir -p models && echo one > models/a.txt", "outs": ["models/a.txt"]},
        "b": {"cmd": "mkdir -p out reports && echo two > out/b.txt && echo r > reports/r.txt", "deps": ["models/a.txt"],
              "outs": ["out", {"reports/r.txt": {"cache": False}}]},
    }}))
    (path / "params.yaml").write_text("seed: 1\n")
    for args in (["git", "init", "-q"], ["dvc", "init", "-q"], ["dvc", "repro", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "run"]):
        run_in(path, *args)
    return path


def test_restore_keeps_outputs_the_cache_lacks_and_names_the_command(tmp_path):
    project = _tiny_dvc_project(tmp_path)
    cache = project / ".dvc" / "cache" / "files" / "md5"
    a_md5 = yaml.safe_load((project / "dvc.lock").read_text())["stages"]["a"]["outs"][0]["md5"]
    (cache / a_md5[:2] / a_md5[2:]).unlink()  # a clone whose cache lacks models/a.txt (written on another machine)
    (project / "models" / "a.txt").write_text("trained here\n")  # this machine's version of it
    (project / "out" / "b.txt").write_text("half\n")  # a killed stage's leftover
    (project / "reports" / "r.txt").write_text("changed\n")
    (project / "params.yaml").write_text("seed: 2\n")
    result = run_in(project, "python", "-m", "pipeline", "restore", check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-2:] == [
        "restored params.yaml, dvc.lock, reports from git and the outputs the DVC cache holds",
        "not in this clone's DVC cache (no DVC remote is set), left as they are: models/a.txt; `dvc repro` recreates them",
    ]
    assert (project / "models" / "a.txt").read_text() == "trained here\n"  # kept, not deleted
    assert (project / "out" / "b.txt").read_text() == "two\n"
    assert (project / "reports" / "r.txt").read_text() == "r\n" and (project / "params.yaml").read_text() == "seed: 1\n"
    assert run_in(project, "git", "status", "--porcelain").stdout == ""


def _restore_in_a_fresh_clone(project: Path, clone: Path) -> tuple[Path, str]:
    """`git clone` of `project`, then `python -m pipeline restore` there (exit 0): the clone and restore's last line."""
    run_in(clone.parent, "git", "clone", "-q", str(project), str(clone))
    result = run_in(clone, "python", "-m", "pipeline", "restore", check=False)
    assert result.returncode == 0, result.stderr
    return clone, result.stderr.splitlines()[-1]


def test_restore_fetches_what_the_cache_lacks_from_the_default_remote(tmp_path):
    """`dvc push` on the machine that ran, then in a fresh clone `make restore` (or `dvc pull`): every output
    comes from the remote, `dvc status` is clean and `dvc repro` reruns nothing."""
    (tmp_path / "first").mkdir()
    project = _tiny_dvc_project(tmp_path / "first")
    run_in(project, "dvc", "remote", "add", "-d", "store", str(tmp_path / "store"))
    run_in(project, "git", "commit", "-qam", "a DVC remote")
    run_in(project, "dvc", "push", "-q")
    clone, last_line = _restore_in_a_fresh_clone(project, tmp_path / "second")
    assert last_line == (
        "restored params.yaml, dvc.lock, reports from git and the outputs the DVC cache and remote 'store' hold")
    assert (clone / "models" / "a.txt").read_text() == "one\n" and (clone / "out" / "b.txt").read_text() == "two\n"
    assert "up to date" in run_in(clone, "dvc", "status").stdout
    assert "Running stage" not in run_in(clone, "dvc", "repro").stdout

    (tmp_path / "store").rename(tmp_path / "gone")  # the remote unreachable: the outputs stay, named
    _, last_line = _restore_in_a_fresh_clone(project, tmp_path / "third")
    assert last_line == (
        "not in this clone's DVC cache or remote 'store', left as they are: models/a.txt, out; `dvc repro` recreates them")
