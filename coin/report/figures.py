"""The paper's Figure 3 (accuracy and spread per perturbation group) and Figure 4 (map of last-token states).

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot state, no display) with
fixed sizes and dpi, so the same numbers give the same PNG bytes. Each figure also has plain data
frames that the pipeline writes as CSV for `dvc plots`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from coin.errors import DataError

PLOT_GROUP_LABELS = {
    "clean": "Clean",
    "deepwordbug": "DeepWordBug",
    "textfooler": "TextFooler",
    "checklist": "CheckList",
    "semantic": "Semantic",
    "textbugger": "TextBugger",
    "bertattack": "BertAttack",
    "stresstest": "StressTest",
}
MODEL_COLORS = {"base": "#9e9e9e", "cit": "#4c72b0", "coin": "#dd8452"}
GROUP_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#64b5cd")
DPI = 120


def new_figure(width: float, height: float):
    """A matplotlib Figure bound to the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def save_png(figure, path: Path) -> None:
    """Write a PNG without the matplotlib version in its metadata (stable bytes across versions)."""
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})


def group_summary(frame: pd.DataFrame, groups: Sequence[str], models: Sequence[str]) -> pd.DataFrame:
    """Figure 3 data: per model and group, acc_mean = mean_t(acc_mean[t]) and acc_std = mean_t(acc_std[t]).

    `frame` is `coin.report.tables.metrics_frame` output; t runs over its tasks. Columns: model, group,
    acc_mean, acc_std; rows in the order models x groups.
    """
    rows = []
    for model in models:
        for group in groups:
            cells = frame[(frame["model"] == model) & (frame["group"] == group)]
            if cells.empty:
                raise DataError(f"metrics of {model} have no {group} cells: Figure 3 needs every group")
            rows.append({"model": model, "group": group, "acc_mean": float(cells["acc_mean"].mean()),
                         "acc_std": float(cells["acc_std"].mean())})
    return pd.DataFrame(rows, columns=["model", "group", "acc_mean", "acc_std"])


def plot_figure3(summary: pd.DataFrame, path: str | Path, model_labels: Mapping[str, str]) -> None:
    """Grouped bars per perturbation group: (a) mean accuracy with ±std error bars, (b) the std itself."""
    models = list(dict.fromkeys(summary["model"]))
    groups = list(dict.fromkeys(summary["group"]))
    figure = new_figure(11.0, 4.0)
    ax_acc, ax_std = figure.subplots(1, 2)
    positions = np.arange(len(groups), dtype=float)  # (G,) one slot per group
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        rows = summary[summary["model"] == model].set_index("group").loc[groups]
        offset = positions + (i - (len(models) - 1) / 2) * width
        color = MODEL_COLORS.get(model, GROUP_COLORS[i % len(GROUP_COLORS)])
        label = model_labels.get(model, model)
        ax_acc.bar(offset, rows["acc_mean"], width, yerr=rows["acc_std"], capsize=3, color=color, label=label)
        ax_std.bar(offset, rows["acc_std"], width, color=color, label=label)
    for ax, title, ylabel in (
        (ax_acc, "(a) accuracy over instructions", "accuracy (%)"),
        (ax_std, "(b) spread over instructions", "std of accuracy (points)"),
    ):
        ax.set_xticks(positions)
        ax.set_xticklabels([PLOT_GROUP_LABELS.get(g, g) for g in groups], rotation=20)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
    ax_acc.set_ylim(0, 100)
    ax_acc.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    save_png(figure, Path(path))


def project_2d(states: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    """Map (n, d) states to (n, 2): UMAP when the `umap` package is importable, else PCA.

    Rows are first L2-normalised (the contrastive loss compares directions). PCA: X_c = X - mean(X),
    X_c = U S V^T, coordinates X_c V[:, :2]; each component's sign is fixed so that its largest-|.|
    loading is positive, which makes the map deterministic. Returns (coordinates, "UMAP" or "PCA").
    """
    x = np.asarray(states, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise DataError(f"states have shape {x.shape}: Figure 4 needs an (n, d) array with n >= 2")
    norms = np.linalg.norm(x, axis=1, keepdims=True)  # (n, 1)
    x = x / np.where(norms > 0, norms, 1.0)
    if importlib.util.find_spec("umap") is not None and x.shape[0] > 3:
        import umap

        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, x.shape[0] - 1), random_state=seed)
        return np.asarray(reducer.fit_transform(x), dtype=np.float64), "UMAP"
    centred = x - x.mean(axis=0, keepdims=True)  # (n, d)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)  # vt: (min(n, d), d)
    components = vt[:2]  # (k, d), k <= 2
    signs = np.sign(components[np.arange(components.shape[0]), np.abs(components).argmax(axis=1)])
    components = components * np.where(signs == 0, 1.0, signs)[:, None]
    coords = centred @ components.T  # (n, k)
    if coords.shape[1] < 2:  # d == 1: pad the second axis
        coords = np.hstack([coords, np.zeros((coords.shape[0], 2 - coords.shape[1]))])
    return coords, "PCA"


def states_points(states: Mapping[str, Mapping[str, np.ndarray]], seed: int) -> pd.DataFrame:
    """Figure 4 data: each model's states projected to 2-D, one row per state.

    `states` maps a model name to the arrays of its `data/states/<model>.npz` (`states` (n, d), `group`,
    `prompt_id`, `idx` (n,)). Columns: model, group, prompt_id, idx, x, y, method.
    """
    parts = []
    for model, arrays in states.items():
        for name in ("states", "group", "prompt_id", "idx"):
            if name not in arrays:
                raise DataError(f"states of {model} lack the array {name!r}: need states, group, prompt_id, idx")
        matrix = np.asarray(arrays["states"])
        n = matrix.shape[0]
        for name in ("group", "prompt_id", "idx"):
            if np.asarray(arrays[name]).shape != (n,):
                raise DataError(f"states of {model}: {name} has shape {np.asarray(arrays[name]).shape}, states has {n} rows")
        coords, method = project_2d(matrix, seed)
        parts.append(
            pd.DataFrame(
                {
                    "model": model,
                    "group": np.asarray(arrays["group"]).astype(str),
                    "prompt_id": np.asarray(arrays["prompt_id"]).astype(np.int64),
                    "idx": np.asarray(arrays["idx"]).astype(np.int64),
                    "x": coords[:, 0],
                    "y": coords[:, 1],
                    "method": method,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def plot_figure4(
    points: pd.DataFrame, path: str | Path, groups: Sequence[str], model_labels: Mapping[str, str], task_label: str
) -> None:
    """One scatter panel per model (side by side), points coloured by perturbation group."""
    models = list(dict.fromkeys(points["model"]))
    figure = new_figure(5.0 * len(models), 4.6)
    axes = np.atleast_1d(figure.subplots(1, len(models)))
    for ax, model in zip(axes, models):
        rows = points[points["model"] == model]
        for i, group in enumerate(groups):
            chosen = rows[rows["group"] == group]
            if chosen.empty:
                continue
            ax.scatter(chosen["x"], chosen["y"], s=10, alpha=0.7, color=GROUP_COLORS[i % len(GROUP_COLORS)],
                       label=PLOT_GROUP_LABELS.get(group, group), linewidths=0)
        method = rows["method"].iloc[0]
        ax.set_title(f"{model_labels.get(model, model)}: {task_label} last-token states ({method})")
        ax.set_xlabel(f"{method} 1")
        ax.set_ylabel(f"{method} 2")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="best", fontsize="small", markerscale=1.5)
    figure.tight_layout()
    save_png(figure, Path(path))


__all__ = ["group_summary", "new_figure", "save_png", "plot_figure3", "plot_figure4", "project_2d", "states_points"]
