"""Alignment scores and PromptBench's drop rate on hand-built states and predictions (exact values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coin.errors import DataError
from coin.evaluation.alignment import alignment_units, knn_group_hits
from coin.evaluation.metrics import headline, performance_drop_rate, summarize

GROUPS = ["clean", "checklist", "deepwordbug", "semantic", "textfooler"]


def _keys(task: str, groups: list[str], prompts: int, rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        [{"task": task, "group": g, "prompt_id": k, "idx": x} for g in groups for k in range(prompts) for x in range(rows)]
    )


def test_perturbation_that_moves_nothing_aligns_perfectly():
    keys = _keys("t", ["clean", "checklist"], 1, 3)
    clean = np.eye(3)  # c_x = e_x
    states = np.vstack([clean, clean])  # perturbed state = its clean state
    units = alignment_units(keys, states)
    assert units["align_hit"].tolist() == [True] * 6
    assert units["centered_cosine"].to_numpy() == pytest.approx(np.ones(6), abs=1e-12)
    # m = (1, 1, 1) / 3; cos(e_x - m, e_y - m) = (-2/9 - 2/9 + 1/9) / (6/9) = -1/2 for x != y
    assert units["cosine_margin"].to_numpy() == pytest.approx(np.full(6, 1.5), abs=1e-12)


def test_identical_states_give_chance_alignment():
    rows = 4
    keys = _keys("t", ["clean", "checklist"], 2, rows)
    states = np.ones((len(keys), 3))
    units = alignment_units(keys, states)
    perturbed = units[units["group"] == "checklist"]
    # every clean state ties: the lowest idx wins, so one row in `rows` is its own nearest
    assert perturbed["align_hit"].mean() == pytest.approx(1 / rows)
    assert perturbed["align_hit"].tolist() == [True, False, False, False] * 2
    # centred states are all zero: no alignment left to measure
    assert perturbed["centered_cosine"].tolist() == [0.0] * 8
    assert perturbed["cosine_margin"].tolist() == [0.0] * 8


def test_missing_clean_state_is_one_line():
    keys = pd.DataFrame([{"task": "t", "group": "checklist", "prompt_id": 0, "idx": 0}])
    with pytest.raises(DataError, match="no clean state for task 't' prompt_id 0 idx 0"):
        alignment_units(keys, np.ones((1, 2)))


def test_separable_groups_are_recovered_by_every_vote():
    per_group = 6
    groups = np.repeat(np.arange(5), per_group)
    states = np.zeros((len(groups), 11))
    states[np.arange(len(groups)), groups] = 10.0  # a direction per group
    states[np.arange(len(groups)), 5 + np.tile(np.arange(per_group), 5)] = 0.1  # small row noise
    assert knn_group_hits(states, groups).all()


def test_unmoved_states_leave_no_group_to_recover():
    # every row's state is the same under all 5 groups: its 4 nearest neighbours are its own copies in the
    # other groups, so the vote never names its own group
    rows = 3
    keys = _keys("t", GROUPS, 1, rows)
    per_row = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    states = np.vstack([per_row] * len(GROUPS))
    units = alignment_units(keys, states)
    assert units["group_hit"].sum() == 0


def test_pdr_leaves_out_zero_clean_accuracy():
    # instruction 1 has clean accuracy 0: its drop is undefined and left out
    assert performance_drop_rate(np.array([50.0, 0.0, 100.0]), np.array([25.0, 50.0, 100.0])) == pytest.approx(0.25)
    assert performance_drop_rate(np.array([0.0, 0.0]), np.array([10.0, 0.0])) is None
    assert performance_drop_rate(np.array([40.0]), np.array([60.0])) == pytest.approx(-0.5)  # a gain is a negative drop


def _predictions() -> pd.DataFrame:
    rows = []
    # task a: instruction 0 clean 2/2, perturbed 1/2; instruction 1 clean 1/2, perturbed 0/2 -> PDR mean(0.5, 1) = 0.75
    # task b: clean 0/2 under its one instruction -> PDR undefined (null)
    correct = {("a", "clean", 0): [1, 1], ("a", "clean", 1): [1, 0], ("a", "checklist", 0): [1, 0],
               ("a", "checklist", 1): [0, 0], ("b", "clean", 0): [0, 0], ("b", "checklist", 0): [1, 0]}
    ranked = {("a", "clean", 0): [1, 1], ("a", "clean", 1): [1, 1], ("a", "checklist", 0): [1, 1],
              ("a", "checklist", 1): [1, 0], ("b", "clean", 0): [1, 0], ("b", "checklist", 0): [1, 0]}
    for (task, group, pid), marks in correct.items():
        for idx, ok in enumerate(marks):
            rank_ok = ranked[(task, group, pid)][idx]
            rows.append({"model": "m", "task": task, "prompt_id": pid, "group": group, "idx": idx, "output": "",
                         "pred": 1 if ok else 0, "label": 1, "correct": bool(ok),
                         "rank_pred": 1 if rank_ok else 0, "rank_correct": bool(rank_ok),
                         "align_hit": idx == 0, "centered_cosine": 0.5, "cosine_margin": 0.25, "group_hit": group == "clean"})
    return pd.DataFrame(rows)


def test_summary_carries_pdr_rank_accuracy_and_alignment():
    doc = summarize(_predictions(), "m")
    a, b = doc["a"]["checklist"], doc["b"]["checklist"]
    assert a["pdr"] == 0.75
    assert b["pdr"] is None  # clean accuracy 0: undefined, never divided
    # rank: a clean 100/100, checklist 100/50 -> PDR mean(0, 0.5) = 0.25; b clean 50, checklist 50 -> 0
    assert a["rank_pdr"] == 0.25 and b["rank_pdr"] == 0.0
    assert a["rank_acc_mean"] == 75.0 and doc["a"]["clean"]["rank_acc_mean"] == 100.0
    assert a["align_at_1"] == 0.5 and a["centered_cosine"] == 0.5 and a["cosine_margin"] == 0.25
    assert a["group_separability"] == 0.0 and doc["a"]["clean"]["group_separability"] == 1.0
    assert doc["a"]["clean"]["pdr"] is None and doc["a"]["clean"]["align_at_1"] is None
    # averages leave nulls out: checklist pdr over tasks = task a's only
    assert doc["average"]["checklist"]["pdr"] == 0.75
    assert doc["average"]["overall"]["pdr"] == 0.75
    short = headline(doc, with_rank=True)["m"]
    assert short["checklist"] == {"acc": 37.5, "std": 12.5, "rank_acc": 62.5, "pdr": 0.75, "rank_pdr": 0.125, "align_at_1": 0.5}
    # clean: a 100 and 50 (mean 75, std 25), b 0; ranked a 100, b 50
    assert short["clean"] == {"acc": 37.5, "std": 12.5, "rank_acc": 75.0}
    assert short["overall"] == {"acc": 37.5, "std": 12.5, "rank_acc": 68.75, "pdr": 0.75, "rank_pdr": 0.125, "align_at_1": 0.5,
                                "centered_cosine": 0.5, "cosine_margin": 0.25, "separability": 0.5}
    assert set(headline(doc)["m"]["checklist"]) == {"acc", "std", "pdr", "align_at_1"}  # not scoring both: no rank keys


def test_summary_without_ranking_has_no_rank_keys():
    frame = _predictions().assign(rank_pred=-1, rank_correct=False)
    doc = summarize(frame, "m")
    assert "rank_acc_mean" not in doc["a"]["clean"] and "rank_pdr" not in doc["a"]["checklist"]
