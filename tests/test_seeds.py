"""COIN − CIT across training seeds: the seed changes, the spread and the verdict, and the `seeds` command."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import pipeline.cli  # noqa: F401  (registers every command)
from coin.errors import DataError
from coin.io import write_parquet
from coin.report.seeds import ABOVE, BELOW, UNRESOLVED, seed_table, verdicts
from coin.schemas import PREDICTIONS
from pipeline.app import app

ROOT = Path(__file__).resolve().parents[1]
TASKS, GROUPS = ["sst2", "rte"], ["clean", "deepwordbug"]
# rows right out of 10 per (group): CIT and COIN of two seeds
RIGHT = {
    ("42", "cit"): {"clean": 5, "deepwordbug": 4},
    ("42", "coin"): {"clean": 7, "deepwordbug": 6},
    ("43", "cit"): {"clean": 6, "deepwordbug": 4},
    ("43", "coin"): {"clean": 8, "deepwordbug": 7},
}


def _predictions(run: str, model: str, idxs=range(10), right=RIGHT) -> pd.DataFrame:
    rows = []
    for task in TASKS:
        for group in GROUPS:
            for pid in (0, 1):
                for idx in idxs:
                    correct = idx < right[run, model][group]
                    aligned = model == "cit" or idx < 8  # COIN aligned on 8 rows of 10, CIT on all, in both seeds
                    rows.append({"model": model, "task": task, "prompt_id": pid, "group": group, "idx": idx, "output": "yes",
                                 "pred": int(correct), "label": 1, "correct": correct, "rank_pred": 1, "rank_correct": True,
                                 "align_hit": aligned, "centered_cosine": 0.5, "cosine_margin": 0.1, "group_hit": True})
    return pd.DataFrame(rows)


def _runs() -> dict:
    return {run: {model: _predictions(run, model) for model in ("cit", "coin")} for run in ("42", "43")}


def _row(table, comparison, run, measure, group):
    cell = table[(table["comparison"] == comparison) & (table["run"] == run) & (table["measure"] == measure) & (table["group"] == group)]
    assert len(cell) == 1
    return cell.iloc[0]


def test_seed_table_holds_each_runs_difference_and_each_models_seed_change():
    table = seed_table(_runs(), TASKS, GROUPS, 200, 0.95, 0)
    assert list(dict.fromkeys(table["comparison"])) == ["coin − cit", "cit", "coin"]
    assert _row(table, "coin − cit", "42", "accuracy", "clean")[["a", "b", "delta"]].tolist() == [50.0, 70.0, 20.0]
    assert _row(table, "coin − cit", "43", "accuracy", "deepwordbug")["delta"] == 30.0
    assert _row(table, "cit", "43", "accuracy", "clean")[["a", "b", "delta"]].tolist() == [50.0, 60.0, 10.0]
    assert _row(table, "coin", "43", "accuracy", "deepwordbug")["delta"] == 10.0
    assert _row(table, "cit", "43", "rank_accuracy", "perturbed")["delta"] == 0.0
    assert _row(table, "coin − cit", "42", "align_at_1", "perturbed")["delta"] == pytest.approx(-0.2)
    # PDR of CIT: 1 - 0.4 / 0.5 = 0.2 in both tasks; COIN: 1 - 0.6 / 0.7
    assert _row(table, "coin − cit", "42", "pdr", "perturbed")[["a", "b"]].tolist() == [pytest.approx(0.2), pytest.approx(1 - 6 / 7)]


def test_verdicts_need_every_interval_and_the_seed_spread():
    result = verdicts(seed_table(_runs(), TASKS, GROUPS, 200, 0.95, 0)).set_index(["measure", "group"])
    clean = result.loc["accuracy", "clean"]
    assert (clean["delta_42"], clean["delta_43"], clean["spread"], clean["verdict"]) == (20.0, 20.0, 10.0, ABOVE)
    assert result.loc["rank_accuracy", "clean"]["verdict"] == UNRESOLVED  # no difference at all
    assert result.loc["align_at_1", "perturbed"][["spread", "verdict"]].tolist() == [0.0, BELOW]


def test_the_spread_of_three_seeds_is_each_models_range():
    """CIT clean: 50 % (seed 42), 60 % (43), 40 % (44): its 43 and 44 lie 20 points apart, though neither
    is more than 10 from the first run, so the spread is 20 and COIN's +20 in every seed no longer clears it."""
    right = {**RIGHT, ("44", "cit"): {"clean": 4, "deepwordbug": 4}, ("44", "coin"): {"clean": 6, "deepwordbug": 6}}
    runs = {run: {model: _predictions(run, model, right=right) for model in ("cit", "coin")} for run in ("42", "43", "44")}
    table = seed_table(runs, TASKS, GROUPS, 200, 0.95, 0)
    assert _row(table, "cit", "44", "accuracy", "clean")["delta"] == -10.0
    clean = verdicts(table).set_index(["measure", "group"]).loc["accuracy", "clean"]
    assert (clean["delta_42"], clean["delta_43"], clean["delta_44"]) == (20.0, 20.0, 20.0)
    assert (clean["spread"], clean["verdict"]) == (20.0, UNRESOLVED)


def _cell(deltas, lows, highs, changes) -> pd.DataFrame:
    rows = [{"comparison": "coin − cit", "run": run, "measure": "accuracy", "group": "clean", "a": 0.0, "b": d, "delta": d,
             "ci_low": lo, "ci_high": hi, "p_value": 0.01} for run, d, lo, hi in zip(("42", "43"), deltas, lows, highs)]
    rows += [{"comparison": model, "run": "43", "measure": "accuracy", "group": "clean", "a": 0.0, "b": c, "delta": c,
              "ci_low": c, "ci_high": c, "p_value": 0.01} for model, c in zip(("cit", "coin"), changes)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "deltas, lows, highs, changes, verdict",
    [
        ((3.0, 2.5), (1.0, 0.5), (5.0, 4.5), (1.0, -2.0), ABOVE),  # both intervals above 0, both beyond the spread 2
        ((3.0, 1.5), (1.0, 0.5), (5.0, 2.5), (1.0, -2.0), UNRESOLVED),  # seed 43's +1.5 is within the spread 2
        ((3.0, 2.5), (1.0, -0.5), (5.0, 4.5), (0.5, 0.5), UNRESOLVED),  # seed 43's interval holds 0
        ((-3.0, -2.5), (-5.0, -4.5), (-1.0, -0.5), (0.5, 1.0), BELOW),
        ((3.0, -3.0), (1.0, -5.0), (5.0, -1.0), (0.5, 0.5), UNRESOLVED),  # the seeds disagree
    ],
)
def test_verdict_rule_by_hand(deltas, lows, highs, changes, verdict):
    row = verdicts(_cell(deltas, lows, highs, changes)).iloc[0]
    assert row["spread"] == max(abs(c) for c in changes)
    assert row["verdict"] == verdict


def test_runs_scored_on_other_rows_are_refused():
    runs = _runs()
    runs["43"] = {model: _predictions("43", model, idxs=range(9)) for model in ("cit", "coin")}
    with pytest.raises(DataError) as info:
        seed_table(runs, TASKS, GROUPS, 50, 0.95, 0)
    assert str(info.value).startswith("cit of runs 42 and 43 were not scored on the same rows (")
    assert str(info.value).endswith("score every run on one prompt set (perturb.mode file with the first run's prompts.parquet)")


def _write_runs(tmp_path: Path) -> list[str]:
    specs = []
    for run, models in _runs().items():
        folder = tmp_path / f"seed{run}"
        folder.mkdir()
        for model, frame in models.items():
            write_parquet(frame, folder / f"{model}.parquet", PREDICTIONS)
        specs += ["--run", f"{run}={folder}"]
    return specs


def test_seeds_command_writes_the_table(tmp_path):
    out = tmp_path / "seeds"
    result = CliRunner().invoke(app, ["seeds", *_write_runs(tmp_path), "--out", str(out), "--params", str(ROOT / "params.yaml")])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"seeds: {out / 'seeds.md'} (2 runs)"
    text = (out / "seeds.md").read_text()
    assert "| accuracy (generation, %) | Clean | +20.00 ([" in text and "| +10.00 | +10.00 | 10.00 | COIN above CIT |" in text
    assert set(pd.read_csv(out / "seeds.csv")["comparison"]) == {"coin − cit", "cit", "coin"}


def test_seeds_command_compares_two_other_models_of_each_run(tmp_path):
    """--models a,b: e.g. COIN with loss.pooling prompt against COIN with last, each run's files renamed."""
    specs = _write_runs(tmp_path)
    for seed in ("42", "43"):
        folder = tmp_path / f"seed{seed}"
        (folder / "cit.parquet").rename(folder / "coin_last.parquet")
        (folder / "coin.parquet").rename(folder / "coin_prompt.parquet")
    out = tmp_path / "pooling"
    result = CliRunner().invoke(app, ["seeds", *specs, "--models", "coin_last,coin_prompt", "--out", str(out),
                                      "--params", str(ROOT / "params.yaml")])
    assert result.exit_code == 0, result.output
    text = (out / "seeds.md").read_text()
    assert text.startswith("# COIN_PROMPT − COIN_LAST across training seeds\n")
    assert "| COIN_PROMPT − COIN_LAST, run 42 (95% CI, p) |" in text and "| COIN_LAST 43 − 42 | COIN_PROMPT 43 − 42 |" in text
    assert "| +10.00 | +10.00 | 10.00 | COIN_PROMPT above COIN_LAST |" in text
    assert set(pd.read_csv(out / "seeds.csv")["comparison"]) == {"coin_prompt − coin_last", "coin_last", "coin_prompt"}
    bad = CliRunner().invoke(app, ["seeds", *specs, "--models", "coin", "--out", str(tmp_path / "bad")])
    assert (bad.exit_code, bad.output) == (2, "error: --models 'coin' is not allowed: write two different prediction-file names A,B, e.g. cit,coin\n")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--run", "42"], "error: --run '42' is not allowed: write LABEL=FOLDER, e.g. 42=data/predictions"),
        (["--run", "42=a"], "error: --run is given 1 time(s): compare at least two runs (--run 42=DIR --run 43=DIR)"),
        (["--run", "42=a", "--run", "42=b"], "error: --run label '42' is given twice: every run needs its own label"),
        (["--run", "42=nowhere", "--run", "43=elsewhere"],
         "error: nowhere/cit.parquet does not exist: --run 42=nowhere needs cit.parquet (evaluate@cit's predictions)"),
        (["--run", "42=a", "--run", "43=./a/"],
         "error: --run 43=./a/ names the folder of --run 42=a: every run needs its own predictions "
         "(train and score CIT and COIN again with another train.seed)"),
    ],
)
def test_seeds_command_bad_input(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["seeds", *args, "--out", "out", "--params", str(ROOT / "params.yaml")])
    assert result.exit_code == 2
    assert result.output.strip() == message
    assert not (tmp_path / "out").exists()


def test_seeds_command_refuses_a_copy_of_another_runs_predictions(tmp_path):
    specs = _write_runs(tmp_path)
    copy = tmp_path / "seed43" / "coin.parquet"
    copy.write_bytes((tmp_path / "seed42" / "coin.parquet").read_bytes())  # seed 43's COIN is seed 42's, copied
    result = CliRunner().invoke(app, ["seeds", *specs, "--out", str(tmp_path / "out"), "--params", str(ROOT / "params.yaml")])
    assert (result.exit_code, result.output) == (2, (
        f"error: {copy} (--run 43) is byte-identical to {tmp_path / 'seed42' / 'coin.parquet'} (--run 42): every run needs "
        "its own predictions (train and score CIT and COIN again with another train.seed)\n"
    ))
    assert not (tmp_path / "out").exists()
