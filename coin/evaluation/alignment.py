"""Representation alignment: does a perturbed instruction leave a row's state where the clean one put it?

COIN's contrastive loss pulls the last-token state of (instruction wording A, input x) towards
(wording B, x) and away from (A, x'). These per-row scores measure that on the evaluation grid, from
the states `score_grid` returns, one value per row (unit) u = (task, group, prompt_id k, idx x) with
h_u its state and c_{k,x} the state of row x under the clean instruction k of the same task:

- align_hit[u] = [argmax_{x'} cos(h_u, c_{k,x'}) == x], the nearest clean state (cosine) among the
  task's rows under the same clean instruction k; ties go to the lowest idx. Its mean over units is
  align_at_1; chance is 1 / rows (the row count of the task).
- centered_cosine[u] = cos(h_u - m, c_{k,x} - m), m = the mean of all the task's states (every
  group, instruction and row), so the direction every state shares no longer dominates the cosine.
- cosine_margin[u] = centered_cosine[u] - mean_{x' != x} cos(h_u - m, c_{k,x'} - m): how much closer
  the state is to its own row's clean state than to the other rows' (0 with a single row).
- group_hit[u] = [the majority group of u's k = 5 nearest states (cosine of centered states, u itself
  left out, among all states of the task) == u's group]; a vote tie goes to the tied group whose
  member is nearest, a similarity tie to the lower position. Its mean is group_separability: the
  share of states whose perturbation group a nearest-neighbour classifier recovers (1/5 for a guess
  over 5 groups; lower means the groups mix, as Figure 4 of the paper shows under COIN).

For the clean group itself h_u = c_{k,x}, so align_hit = 1 and centered_cosine = 1.
cos(a, b) = a . b / max(|a| |b|, 1e-12). All arithmetic in float64.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coin.errors import DataError

CLEAN = "clean"
KNN_K = 5  # neighbours that vote in group_separability
UNIT_COLUMNS = ("align_hit", "centered_cosine", "cosine_margin", "group_hit")
_BLOCK = 2048  # rows of the similarity matrix computed at once (2048 x n float64)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (rows of length < 1e-12 become 0): (n, d)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(norms > 1e-12, x / np.maximum(norms, 1e-12), 0.0)


def knn_group_hits(states: np.ndarray, groups: np.ndarray, k: int = KNN_K) -> np.ndarray:
    """Leave-one-out k-nearest-neighbour vote on cosine similarity: (n,) bool, [vote == own group].

    Neighbours of row i are the other rows sorted by similarity (descending), ties by position; the
    predicted group is the one with most votes among the first min(k, n - 1), a vote tie going to the
    tied group that appears first in that order.
    """
    n = len(states)
    if len(groups) != n:
        raise DataError(f"knn_group_hits got {n} states and {len(groups)} groups: they must align")
    if n < 2:
        return np.zeros(n, dtype=bool)
    unit = _unit_rows(np.asarray(states, dtype=np.float64))
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    take = min(k, n - 1)
    hits = np.zeros(n, dtype=bool)
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        sims = unit[start:stop] @ unit.T  # (b, n)
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # leave each row out
        order = np.argsort(-sims, axis=1, kind="stable")[:, :take]  # (b, take): nearest first, ties by position
        for row, neighbours in enumerate(order):
            votes = codes[neighbours]  # (take,)
            counts = np.bincount(votes)
            best = counts.max()
            winner = next(v for v in votes if counts[v] == best)  # first in neighbour order among the tied
            hits[start + row] = winner == codes[start + row]
    return hits


def alignment_units(keys: pd.DataFrame, states: np.ndarray) -> pd.DataFrame:
    """Per row of `keys` (columns task, group, prompt_id, idx; aligned with `states` (n, d)): the
    UNIT_COLUMNS values defined in the module docstring, in the input order.

    Every row needs the clean row of the same task, prompt_id and idx (DataError otherwise).
    """
    if len(keys) != len(states):
        raise DataError(f"states has {len(states)} rows but keys has {len(keys)}: they must align")
    frame = keys[["task", "group", "prompt_id", "idx"]].reset_index(drop=True)
    out = {
        "align_hit": np.zeros(len(frame), dtype=bool),
        "centered_cosine": np.zeros(len(frame)),
        "cosine_margin": np.zeros(len(frame)),
        "group_hit": np.zeros(len(frame), dtype=bool),
    }
    for task, rows in frame.groupby("task", sort=True).indices.items():
        part = frame.iloc[rows]
        x = np.asarray(states[rows], dtype=np.float64)  # (r, d), one task at a time
        centered = x - x.mean(axis=0)  # (r, d)
        raw_unit = _unit_rows(x)
        cen_unit = _unit_rows(centered)
        out["group_hit"][rows] = knn_group_hits(centered, part["group"].to_numpy())
        is_clean = (part["group"] == CLEAN).to_numpy()
        for prompt_id, local in part.groupby("prompt_id", sort=True).indices.items():
            members = part.iloc[local]
            clean_local = local[is_clean[local]]
            clean_idx = part["idx"].to_numpy()[clean_local]
            order = np.argsort(clean_idx, kind="stable")
            clean_local, clean_idx = clean_local[order], clean_idx[order]  # ties go to the lowest idx
            position = {int(v): j for j, v in enumerate(clean_idx)}
            if len(position) != len(clean_idx):
                raise DataError(f"task {task!r} prompt_id {prompt_id} has a row twice in the clean group")
            want = np.array([position.get(int(v), -1) for v in members["idx"]])
            if (want < 0).any():
                miss = members.iloc[int(np.argmax(want < 0))]
                raise DataError(
                    f"no clean state for task {task!r} prompt_id {prompt_id} idx {miss['idx']}: "
                    "every perturbed prompt needs its clean version"
                )
            raw = raw_unit[local] @ raw_unit[clean_local].T  # (m, c)
            cen = cen_unit[local] @ cen_unit[clean_local].T  # (m, c)
            own = cen[np.arange(len(local)), want]
            others = len(clean_local) - 1
            rest = (cen.sum(axis=1) - own) / others if others else own
            target = rows[local]
            out["align_hit"][target] = raw.argmax(axis=1) == want
            out["centered_cosine"][target] = own
            out["cosine_margin"][target] = own - rest
    return frame.assign(**out)


__all__ = ["KNN_K", "UNIT_COLUMNS", "alignment_units", "knn_group_hits"]
