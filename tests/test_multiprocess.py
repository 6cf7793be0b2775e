"""Training and evaluation on 2 CPU processes (accelerate launch, gloo) against the 1-process run.

The 1-process run's micro-batches M_0, M_1, ... (the PairSampler order cut into micro-batches) are
recorded; on 2 processes rank r must draw exactly M_r, M_{r+2}, ... (accelerate shards whole
micro-batches), so every optimizer step sees the same 8 entries; losses and weights then agree up to
float32 reduction order (DDP averages the two ranks' gradients): weights within 1e-5, logged values
within 1e-5 or 1e-4 relative (the contrastive weight L_gen / L_ctr can be ~1e3).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from coin.io import write_parquet
from coin.schemas import TRAIN
from tests.multiprocess_train import RecordPairs
from tests.test_perturb import ta  # noqa: F401  (a fixture)
from tests.test_training import base_dir, make_params, train_frame  # noqa: F401  (base_dir: a fixture)

ROOT = Path(__file__).resolve().parents[1]
HELPER = ROOT / "tests" / "multiprocess_train.py"
TRAIN_KEYS = {"batch_size": 8, "micro_batch_size": 2, "epochs": 2, "save_steps": 2, "logging_steps": 1}
ATOL, RTOL = 1e-5, 1e-4  # weights: absolute; logged losses, grad norm and weight: either


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false"}


def _params_file(folder: Path, processes: int) -> Path:
    path = folder / f"params{processes}.yaml"
    # loss.pooling prompt: each sequence's prompt_index travels with its rows to every rank (the pooled state
    # of 'last' comes the same way, as pool_index)
    path.write_text(yaml.safe_dump(make_params(train={**TRAIN_KEYS, "processes": processes}, loss={"pooling": "prompt"}).to_dict()))
    return path


def _records(path: Path) -> list[list[list]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _flat(doc, prefix=""):
    if isinstance(doc, dict):
        return {k: v for key, value in doc.items() for k, v in _flat(value, f"{prefix}{key}/").items()}
    return {prefix.rstrip("/"): doc}


def test_processes_params_are_validated():
    from coin.errors import ParamsError

    assert make_params(train={"processes": 2}).train.processes == 2  # batch 4 = micro 2 x accumulation 1 x 2
    with pytest.raises(ParamsError, match=r"^train.processes = 0 is not allowed: must be >= 1$"):
        make_params(train={"processes": 0})
    with pytest.raises(ParamsError, match=r"^train.processes = 3 is not allowed: batch_size \(4\) must be a multiple of micro_batch_size x processes \(6\)$"):
        make_params(train={"processes": 3})
    with pytest.raises(ParamsError, match=r"^eval.processes = 0 is not allowed: must be >= 1$"):
        make_params(eval={"processes": 0})


def test_accumulation_keeps_the_global_batch():
    from coin.training.trainer import training_arguments

    train = make_params(train={"batch_size": 8, "micro_batch_size": 2}).train
    steps = [training_arguments(train, 0, "ck", processes=n).gradient_accumulation_steps for n in (1, 2, 4)]
    assert steps == [4, 2, 1]  # 8 entries = 2 x 4 x 1 = 2 x 2 x 2 = 2 x 1 x 4


def test_shards_and_launch_command():
    from pipeline.launch import accelerate_command, gather_to_main, relaunch, shard_bounds

    assert [shard_bounds(20, 2, r) for r in (0, 1)] == [(0, 10), (10, 20)]
    assert [shard_bounds(5, 3, r) for r in (0, 1, 2)] == [(0, 1), (1, 3), (3, 5)]
    assert [shard_bounds(1, 2, r) for r in (0, 1)] == [(0, 0), (0, 1)]
    command = accelerate_command(2, ["-m", "pipeline", "train"], cores=4)
    assert command[1:5] == ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes"] and command[5] == "2"
    assert command[-5:] == ["--num_cpu_threads_per_process", "2", "-m", "pipeline", "train"]
    assert relaunch(1, ["train"]) is False and gather_to_main("x") == ["x"]  # one process: today's path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mp")
    train = folder / "train.parquet"
    write_parquet(train_frame(8), train, TRAIN)  # 16 entries: 8 micro-batches of one pair per epoch
    return folder, train


@pytest.fixture(scope="module")
def single(data, base_dir):  # noqa: F811
    """The 1-process run: summary, recorded micro-batches, final weights, DVCLive metrics."""
    from coin.params import load_params
    from pipeline.train import run_training

    folder, train = data
    run = folder / "single"
    run.mkdir()
    summary = run_training(
        load_params(_params_file(folder, 1)), "coin", base_dir, train, run / "model", run / "ck", run / "live",
        callbacks=[RecordPairs(run / "rank0.jsonl")], disable_tqdm=True,
    )
    metrics = _flat(json.loads((run / "live" / "metrics.json").read_text()))
    return summary, _records(run / "rank0.jsonl"), _weights(run / "model"), metrics


def _assert_weights_close(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst <= ATOL, f"largest weight difference {worst}"


def test_train_stage_on_two_processes_matches_one(data, base_dir, single):  # noqa: F811
    folder, train = data
    summary, _, weights, metrics = single
    assert summary["global_step"] == 4  # 2 epochs x 16 entries / batch 8
    run = folder / "cli"
    out, ck, live = run / "models" / "coin", run / "checkpoints", run / "live"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "train", "--variant", "coin", "--base", str(base_dir), "--train", str(train),
         "--out", str(out), "--checkpoints", str(ck), "--live", str(live), "--params", str(_params_file(folder, 2))],
        env=_env(), capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "launching 2 processes" in done.stderr
    assert done.stdout.count("coin trained (global_step 4,") == 1  # rank 0 alone reports
    _assert_weights_close(_weights(out), weights)
    assert sorted(p.name for p in out.parent.iterdir()) == ["coin"]  # one final model, no temp left
    assert sorted(p.name for p in ck.iterdir()) == ["checkpoint-2", "checkpoint-4", "run.json"]
    last = ck / "checkpoint-4"
    assert json.loads((last / "trainer_state.json").read_text())["global_step"] == 4
    assert {"rng_state_0.pth", "rng_state_1.pth"} <= {p.name for p in last.iterdir()}  # each rank's RNG
    two = _flat(json.loads((live / "metrics.json").read_text()))
    assert sorted(two) == sorted(metrics)
    for key, value in metrics.items():
        assert two[key] == pytest.approx(value, rel=RTOL, abs=ATOL), key


def test_bad_input_on_two_processes_is_one_line(data, base_dir):  # noqa: F811
    folder, _ = data
    broken = folder / "broken.parquet"
    broken.write_text("not parquet")
    run = folder / "broken"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "train", "--variant", "coin", "--base", str(base_dir), "--train", str(broken),
         "--out", str(run / "model"), "--checkpoints", str(run / "ck"), "--live", str(run / "live"),
         "--params", str(_params_file(folder, 2))],
        env=_env(), capture_output=True, text=True, timeout=180,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert (done.returncode, len(errors)) == (2, 1), done.stderr[-3000:]
    assert str(broken) in errors[0] and "Traceback" not in done.stderr
    assert not (run / "model").exists()


def test_two_ranks_draw_whole_pairs_and_a_killed_run_resumes(data, base_dir, single):  # noqa: F811
    from pipeline.launch import accelerate_command

    folder, train = data
    _, micro, weights, _ = single
    assert len(micro) == 16 and all(b == [[b[0][0], "anchor"], [b[0][0], "negative"]] for b in micro)
    run = folder / "killed"
    paths = [_params_file(folder, 2), base_dir, train, run / "model", run / "ck", run / "live"]
    records = []
    for attempt, extra in enumerate((["--kill-after", "2"], [])):
        record = run / f"record{attempt}"
        record.mkdir(parents=True)
        command = accelerate_command(2, [str(HELPER), *map(str, paths), str(record), *extra], cores=2)
        done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=180)
        assert (done.returncode != 0) == bool(extra), done.stderr[-3000:]
        assert (run / "model").is_dir() == (not extra)  # the killed run wrote no model
        records.append([_records(record / f"rank{r}.jsonl") for r in (0, 1)])
    assert sorted(p.name for p in (run / "ck").iterdir()) == ["checkpoint-2", "checkpoint-4", "run.json"]
    summary = json.loads((run / "record1" / "summary.json").read_text())
    assert summary["global_step"] == 4 and summary["resumed_from"].endswith("checkpoint-2")
    killed, resumed = records
    for r in (0, 1):
        # step 1-2: 2 accumulation micro-batches per rank per step; a prefetched one may follow before the kill
        assert killed[r][:4] == micro[r:8:2]
        assert resumed[r] == micro[8 + r :: 2]  # steps 3-4 after the resume: M_{8+r}, M_{10+r}, ...
    _assert_weights_close(_weights(run / "model"), weights)


def test_evaluate_on_two_processes_writes_what_one_process_writes(tmp_path, tiny_lm):
    from coin.io import read_parquet, write_parquet
    from coin.schemas import EVAL_SET, PREDICTIONS, PROMPTS
    from coin.training.model import save_model_folder
    from tests.test_evaluation import _eval_set, _prompt_set, _write_params

    model, tokenizer = tiny_lm
    save_model_folder(model, tokenizer, tmp_path / "model", {"base": "embedded-tiny", "weights": "full"})
    write_parquet(_prompt_set(), tmp_path / "prompts.parquet", PROMPTS)
    write_parquet(_eval_set(), tmp_path / "eval.parquet", EVAL_SET)
    written = {}
    for processes in (1, 2):
        out = tmp_path / str(processes)
        out.mkdir()
        params = _write_params(out, processes=processes)
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", "evaluate", "--name", "cit", "--model", str(tmp_path / "model"),
             "--prompts", str(tmp_path / "prompts.parquet"), "--eval", str(tmp_path / "eval.parquet"),
             "--predictions", str(out / "pred.parquet"), "--states", str(out / "states.npz"),
             "--metrics", str(out / "metrics.json"), "--summary", str(out / "summary.json"), "--params", str(params)],
            env=_env(), capture_output=True, text=True, timeout=180,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        written[processes] = out
    assert "rank 1: rows 10-19" in done.stderr  # 20 prompts: rank 0 scores rows 0-9, rank 1 rows 10-19
    one, two = (read_parquet(written[n] / "pred.parquet", PREDICTIONS) for n in (1, 2))
    assert len(one) == 20
    pd.testing.assert_frame_equal(one, two)  # value for value, in the same row order
    for name in ("metrics.json", "summary.json"):
        assert (written[1] / name).read_text() == (written[2] / name).read_text()
    with np.load(written[1] / "states.npz") as a, np.load(written[2] / "states.npz") as b:
        assert a.files == b.files
        for key in a.files:
            np.testing.assert_allclose(a[key], b[key], atol=1e-6) if key == "states" else np.testing.assert_array_equal(a[key], b[key])


def test_accelerate_configs_load_for_two_processes():
    """ddp.yaml launches as train.processes: 2 does (mixed_precision no: the weights' dtype is model.dtype);
    the sharded configs keep bf16 mixed precision for the paper profile."""
    from accelerate.commands.config.config_args import load_config_from_file

    kinds = {}
    for name in ("ddp", "fsdp", "zero2", "zero3"):
        config = load_config_from_file(str(ROOT / "configs" / "accelerate" / f"{name}.yaml"))
        precision = "no" if name == "ddp" else "bf16"
        assert (config.num_processes, config.num_machines, config.mixed_precision) == (2, 1, precision), name
        kinds[name] = (config.distributed_type.value, (config.deepspeed_config or {}).get("zero_stage"),
                       (config.fsdp_config or {}).get("fsdp_sharding_strategy"))
    assert kinds == {"ddp": ("MULTI_GPU", None, None), "fsdp": ("FSDP", None, "FULL_SHARD"),
                     "zero2": ("DEEPSPEED", 2, None), "zero3": ("DEEPSPEED", 3, None)}


def test_perturbation_search_split_by_task_gathers_the_one_process_set(ta, tmp_path, monkeypatch):
    """Both ranks of a 2-process search run here in turn (rank and gather stubbed): rank r searches
    the instruction tasks r, r + 2, ...; rank 0's gathered set equals the 1-process set."""
    import pipeline.launch as launch
    from coin.params import load_params
    from pipeline.perturb import build_prompt_set
    from tests.test_perturb import eval_frame, write_prompt_folder, write_stage_inputs

    folder = write_prompt_folder(tmp_path / "prompts")
    params = load_params(write_stage_inputs(tmp_path, mode="random", instructions=str(folder), n_instructions=2, languages=["spanish", "french"]))
    whole = build_prompt_set(params, None, eval_frame())
    parts: dict[int, object] = {}
    current = {"rank": 1}

    def gather(part):
        parts[current["rank"]] = part
        return [parts[0], parts[1]] if current["rank"] == 0 else None

    monkeypatch.setattr(launch, "world_size", lambda: 2)
    monkeypatch.setattr(launch, "rank", lambda: current["rank"])
    monkeypatch.setattr(launch, "gather_to_main", gather)
    assert build_prompt_set(params, None, eval_frame()) is None  # rank 1
    current["rank"] = 0
    sharded = build_prompt_set(params, None, eval_frame())
    assert [sorted(parts[r][0]) for r in (0, 1)] == [["sst2"], ["mnli"]]  # INSTRUCTION_TASKS order (sst2 first), strided
    pd.testing.assert_frame_equal(sharded, whole)


def test_relayed_stderr_holds_back_everything_from_a_ranks_error_line(capsysbinary):
    import io

    from pipeline.launch import _relay_stderr

    stream = io.BytesIO(b"train 10%\rtrain 50%\rdone\nerror: bad input\nerror: bad input\nTraceback (most recent call last):\n  torchrun\n")
    assert _relay_stderr(stream) == ["error: bad input", "error: bad input"]
    assert capsysbinary.readouterr().err == b"train 10%\rtrain 50%\rdone\n"
    assert _relay_stderr(io.BytesIO(b"no error: here\nTraceback: a bug\n")) == []
    assert capsysbinary.readouterr().err == b"no error: here\nTraceback: a bug\n"


def test_more_processes_than_cuda_devices_is_one_line(monkeypatch):
    from coin.errors import CoinError
    from pipeline.launch import relaunch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(CoinError) as info:
        relaunch(2, ["train"], "train.processes")
    assert str(info.value) == "train.processes = 2 is not allowed: this machine has 1 CUDA device(s), one per process (use at most 1)"


@pytest.mark.parametrize(
    "fsdp, zero_stage, gathers",
    [(True, None, True), (False, 3, True), (False, 2, False), (False, None, False)],
)
def test_sharded_runs_save_the_weights_gathered_from_every_rank(tmp_path, tiny_lm, fsdp, zero_stage, gathers):
    """FSDP and ZeRO-3 keep a shard per rank: the final save writes the gathered whole (DDP, ZeRO-2: the
    model as it is). The gather itself needs GPUs (FSDP on CPU/gloo crashes here), so accelerate's
    get_state_dict is stood in for by one that records its argument and returns known weights."""
    from types import SimpleNamespace

    from safetensors.torch import load_file

    from coin.training.model import save_model_folder
    from coin.training.trainer import CoinTrainer

    model, tokenizer = tiny_lm
    whole = {name: torch.full_like(value, 0.25) for name, value in model.state_dict().items()}
    asked = []
    plugin = SimpleNamespace(zero_stage=zero_stage)
    trainer = SimpleNamespace(
        is_fsdp_enabled=fsdp,
        is_deepspeed_enabled=zero_stage is not None,
        model_wrapped="the wrapped model",
        accelerator=SimpleNamespace(
            state=SimpleNamespace(deepspeed_plugin=plugin), get_state_dict=lambda m: asked.append(m) or whole
        ),
    )
    gathered = CoinTrainer.gathered_state_dict(trainer)
    assert asked == (["the wrapped model"] if gathers else []) and (gathered is whole) == gathers
    save_model_folder(model, tokenizer, tmp_path, {"base": "embedded-tiny", "weights": "full"}, gathered)
    assert len(whole) == len(model.state_dict())  # the caller's dict is left whole (transformers 5 empties the one it saves)
    saved = load_file(tmp_path / "model.safetensors")
    expected = whole if gathers else model.state_dict()
    assert saved.keys() <= expected.keys() and len(saved) >= len(expected) - 1  # a tied lm_head may be left out
    for name, value in saved.items():
        assert torch.equal(value, expected[name]), name
