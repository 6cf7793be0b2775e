"""benchmarks/record.py: every benchmark's output is kept with the machine it ran on."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from record import cpu_facts, final_lines, recorded  # noqa: E402


def test_cpu_facts_reads_model_and_flags(monkeypatch):
    monkeypatch.setattr("platform.processor", lambda: "x86_64")
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse avx2 fma\n\nprocessor\t: 1\nflags\t: other\n"
    model, flags = cpu_facts(cpuinfo)
    assert model == "AMD EPYC 7B13"
    assert flags == {"avx2": True, "avx512f": False, "avx512_bf16": False, "amx_bf16": False, "amx_tile": False}


def test_final_lines_keeps_a_progress_bars_last_state():
    assert final_lines("start\n 10%|#\r 50%|###\r100%|#####\ndone\n") == "start\n100%|#####\ndone\n"


def test_recorded_writes_header_and_output(tmp_path, capsys):
    with recorded("benchmarks/example.py", out_dir=tmp_path):
        print("ratio 1.031")
        print("progress", file=sys.stderr)
    text = (tmp_path / "example.txt").read_text()
    head, body = text.split("\n\n", 1)
    assert [line.split(":", 1)[0] for line in head.splitlines()] == ["# date", "# command", "# commit", "# cpu", "# flags", "# torch"]
    assert "avx2 " in head and "avx512_bf16 " in head
    assert body == "ratio 1.031\nprogress\n"
    assert capsys.readouterr().out == "ratio 1.031\n"


def test_a_failed_benchmark_writes_nothing(tmp_path):
    try:
        with recorded("benchmarks/broken.py", out_dir=tmp_path):
            print("half")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert not (tmp_path / "broken.txt").exists()


def test_repro_timed_reads_each_stage_until_the_next_one_that_ran():
    from repro_timed import CACHED, STARTED, stage_times

    assert STARTED.search("Running stage 'train-cit':").group(1) == "train-cit"
    assert CACHED.search("Stage 'mirror' didn't change, skipping").group(1) == "mirror"
    events = [(0.0, "cached", "mirror"), (1.0, "ran", "train-cit"), (1.5, "cached", "prepare-eval"), (11.0, "ran", "report")]
    assert stage_times(events, 12.5) == [
        ("mirror", "cached", 0.0), ("train-cit", "ran", 10.0), ("prepare-eval", "cached", 0.0), ("report", "ran", 1.5),
    ]


def test_train_speed_multiply_add_bound_by_hand():
    from types import SimpleNamespace

    import torch
    from train_speed import multiply_add_bound, step_multiply_adds

    config = SimpleNamespace(hidden_size=4, intermediate_size=8, num_hidden_layers=2, vocab_size=10,
                             num_attention_heads=2, num_key_value_heads=1, head_dim=2)
    labels = torch.tensor([[-100, -100, 5], [-100, 7, 8]])  # next-token labels at (0, 1), (1, 0), (1, 1): M = 3
    batch = {"input_ids": torch.zeros(2, 3, dtype=torch.long), "labels": labels}
    # per token and layer: q 4x4 + k, v 2 x 4x2 + o 4x4 + MLP 3 x 4x8 = 144; attention 2 x 2 x 3^2 x 4 per layer
    assert step_multiply_adds(config, batch) == {"body": 2 * 3 * 2 * 144 + 2 * 2 * 2 * 9 * 4, "head_all": 240.0, "head_response": 120.0}
    assert step_multiply_adds(config, batch, lora_rank=1, lora_targets=4)["body"] == 2016 + 2 * 3 * 2 * 4 * 1 * 2 * 4
    bound, parts = multiply_add_bound(config, [batch, batch])
    assert bound == (2016 + 240) / (2016 + 120)
    assert parts["body"] == 2 * 2016 / 1e9
