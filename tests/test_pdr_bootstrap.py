"""COIN − CIT of the drop rate: observed values equal the metrics' PDR, and the bootstrap is paired."""

from __future__ import annotations

import pandas as pd
import pytest

from coin.evaluation.metrics import accuracy_by_prompt, pdr_table as metrics_pdr
from coin.report.pdr_bootstrap import pdr_table


def _frame(answers: dict[tuple[str, str, int], list[int]]) -> pd.DataFrame:
    """Predictions rows from {(task, group, prompt_id): [correct per row idx]}."""
    rows = [
        {"task": task, "group": group, "prompt_id": prompt_id, "idx": i, "correct": bool(c), "pred": int(c)}
        for (task, group, prompt_id), correct in answers.items()
        for i, c in enumerate(correct)
    ]
    return pd.DataFrame(rows)


CIT = {
    ("sst2", "clean", 0): [1, 1, 0, 0],  # acc 0.5
    ("sst2", "clean", 1): [1, 1, 1, 1],  # acc 1.0
    ("sst2", "deepwordbug", 0): [1, 0, 0, 0],  # 0.25: PDR 1 - 0.25 / 0.5 = 0.5
    ("sst2", "deepwordbug", 1): [1, 1, 1, 0],  # 0.75: PDR 0.25
    ("cola", "clean", 0): [0, 0, 0, 0],  # clean 0: undefined, left out
    ("cola", "clean", 1): [1, 0, 1, 0],  # 0.5
    ("cola", "deepwordbug", 0): [1, 1, 0, 0],
    ("cola", "deepwordbug", 1): [1, 0, 0, 0],  # 0.25: PDR 0.5
}
COIN = {**CIT, ("sst2", "deepwordbug", 0): [1, 1, 0, 0], ("sst2", "deepwordbug", 1): [1, 1, 1, 1]}  # sst2 PDR 0


def test_observed_pdr_is_the_metrics_pdr_and_the_hand_computed_one():
    cit, coin = _frame(CIT), _frame(COIN)
    table = pdr_table(cit, coin, ["sst2", "cola"], ["clean", "deepwordbug"], 200, 0.95, 0)
    assert table["metric"].tolist() == ["pdr", "pdr"] and table["group"].tolist() == ["deepwordbug", "perturbed"]
    row = table.iloc[0]
    # CIT: sst2 (0.5 + 0.25) / 2 = 0.375, cola 0.5 -> mean 0.4375; COIN: sst2 0, cola 0.5 -> 0.25
    assert (row["cit"], row["coin"], row["n_units"]) == (pytest.approx(0.4375), pytest.approx(0.25), 8)
    assert row["delta"] == pytest.approx(-0.1875)
    expected = metrics_pdr(accuracy_by_prompt(cit)).groupby("group")["pdr"].mean()["deepwordbug"]
    assert row["cit"] == pytest.approx(expected)
    assert row["ci_low"] <= row["delta"] <= row["ci_high"] and row["ci_high"] <= 0  # COIN never drops more here


def test_the_same_model_twice_gives_zero_with_p_one():
    cit = _frame(CIT)
    table = pdr_table(cit, cit.copy(), ["sst2", "cola"], ["clean", "deepwordbug"], 100, 0.95, 0)
    assert table["delta"].tolist() == [0.0, 0.0]
    assert table["ci_low"].tolist() == [0.0, 0.0] and table["ci_high"].tolist() == [0.0, 0.0]
    assert table["p_value"].tolist() == [1.0, 1.0]


def test_the_draws_are_seeded():
    cit, coin = _frame(CIT), _frame(COIN)
    args = (["sst2", "cola"], ["clean", "deepwordbug"], 100, 0.95)
    pd.testing.assert_frame_equal(pdr_table(cit, coin, *args, 3), pdr_table(cit, coin, *args, 3))
