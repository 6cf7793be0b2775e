"""Read one hub split as a DataFrame, from the hub, a local copy or the embedded mirror.

All three go through `datasets.load_dataset` (never with remote code): "hub" loads the hub id itself,
"local" and "embedded" load the folder <local_dir or mirror_dir>/<owner>/<name>, a hub Parquet repo
(README.md `configs` plus Parquet files, see coin.data.hub_layout), so one code path reads all three.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from coin.data.registry import HubSplit
from coin.errors import DataError

SOURCES = ("embedded", "hub", "local")


def dataset_path(hub_id: str, source: str, local_dir: Path | str | None, mirror_dir: Path | str | None) -> str:
    """What `load_dataset` is given: the hub id ("hub") or the folder of its hub-layout copy."""
    if source == "hub":
        return hub_id
    if source == "local":
        base, what = local_dir, "data.local_dir"
    elif source == "embedded":
        base, what = mirror_dir, "the mirror folder (--mirror)"
    else:
        raise DataError(f"data.source = {source!r} is not allowed: use one of {', '.join(SOURCES)}")
    if not base:
        raise DataError(f"data.source = {source!r} needs {what}, which is not set")
    folder = Path(base).joinpath(*hub_id.split("/"))
    if not folder.is_dir():
        raise DataError(f"{folder} does not exist: data.source = {source!r} expects a copy of hub dataset {hub_id} there")
    return str(folder)


def _where(split: HubSplit) -> str:
    return f"{split.hub_id} ({split.config or 'default'}) split {split.split!r}"


def load_split(
    split: HubSplit,
    source: str,
    local_dir: Path | str | None,
    mirror_dir: Path | str | None,
    cache_dir: Path | str | None = None,
    columns: Sequence[str] | None = None,
    max_rows: int | None = None,
) -> pd.DataFrame:
    """One split as a DataFrame with the registry's columns (or `columns`), in hub row order.

    Only the needed columns are read; `max_rows` reads the first rows only (datasets' `split[:n]`).
    Errors (one line): a missing dataset folder, config or split, or a missing column, each naming what
    was expected. `cache_dir` is datasets' cache (default: its own).
    """
    import datasets

    wanted = list(columns) if columns is not None else list(split.columns)
    path = dataset_path(split.hub_id, source, local_dir, mirror_dir)
    split_arg = split.split if max_rows is None else f"{split.split}[:{int(max_rows)}]"
    kwargs = {"cache_dir": str(cache_dir) if cache_dir else None}

    def load(cols: list[str] | None):
        extra = {"columns": cols} if cols is not None else {}
        return datasets.load_dataset(path, split.config, split=split_arg, **kwargs, **extra)

    try:
        try:
            ds = load(wanted)
        except (datasets.exceptions.DatasetGenerationError, TypeError, ValueError):
            # a column is missing, or the builder cannot select columns: read all, check below
            ds = load(None)
    except (ValueError, FileNotFoundError, datasets.exceptions.DatasetNotFoundError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"cannot read {_where(split)} from {path}: {first}") from None
    present = list(ds.column_names)
    missing = [c for c in wanted if c not in present]
    if missing:
        raise DataError(f"{_where(split)} has no column {missing[0]!r} (it has {', '.join(present)})")
    if present != wanted:
        ds = ds.select_columns(wanted)
    return ds.to_pandas()


__all__ = ["SOURCES", "dataset_path", "load_split"]
