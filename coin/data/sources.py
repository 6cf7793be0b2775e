"""Read one hub split as a DataFrame, from the hub, a local copy or the embedded mirror.

All three go through `datasets.load_dataset` (never with remote code): "hub" loads the hub id at the
registry's pinned revision, "local" and "embedded" read the split's Parquet files in the folder
<local_dir or mirror_dir>/<owner>/<name>, a repo as `hf download` leaves it (main, or the revision that
holds the Parquet files where main holds only a loading script; see coin.data.hub_layout).
"""

from __future__ import annotations

import re
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
    at = f" at revision {split.revision}" if split.revision else ""
    return f"{split.hub_id} ({split.config or 'default'}) split {split.split!r}{at}"


def shard_glob(path: str) -> str:
    """A split file's name with its shard number as a wildcard: `x/train-*.parquet`, `x/train/*.parquet`."""
    return re.sub(r"(?<=-)\d{5}-of-\d{5}(?=\.parquet$)|(?<=/)\d{4}(?=\.parquet$)", "*", path)


def _listing(folder: Path, limit: int = 8) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "") if names else "nothing"


def split_files(split: HubSplit, folder: Path) -> list[Path]:
    """The split's Parquet files in a local repo folder (main or `split.revision`, as `hf download` leaves it).

    A folder that holds only a loading script (the hub's main for trec and sentiment140), or lacks the
    split's file, is a one-line error naming what it holds and the download command that fixes it.
    """
    files = sorted(folder.glob(shard_glob(split.file)))
    if files:
        return files
    fix = split.download_command(str(folder))
    scripts = sorted(p.name for p in folder.glob("*.py"))
    if scripts and not any(folder.rglob("*.parquet")):
        raise DataError(
            f"{folder} holds only a loading script ({_listing(folder)}), which datasets no longer runs, "
            f"not {split.file}: get the Parquet files with `{fix}`"
        )
    raise DataError(f"{folder} has no {shard_glob(split.file)} for {_where(split)} (it holds {_listing(folder)}): get it with `{fix}`")


def check_local_copy(wanted: Sequence[tuple[str, HubSplit, Sequence[str]]], local_dir: Path | str, key: str) -> None:
    """Each (name, split, columns) is in the local copy under `local_dir` as the loader reads it: the repo
    folder, the split's Parquet files, readable, with those columns. The first gap is one DataError naming
    the dataset, `key` (the param that names the folder), the folder and the `hf download` that fills it.
    check-params runs it before DVC deletes any output; prepare-eval and extract before reading a split."""
    for name, split, columns in wanted:
        folder = Path(local_dir).joinpath(*split.hub_id.split("/"))
        prefix = f"{name}: {key} = {str(local_dir)!r}"
        if not folder.is_dir():
            raise DataError(
                f"{prefix} holds no copy of {split.hub_id} ({folder} does not exist; the folder holds one copy per hub id, "
                f"owner/name): get it with `{split.download_command(str(folder))}`"
            )
        try:
            present = _local_columns(split_files(split, folder), split)
        except DataError as exc:
            raise DataError(f"{prefix}: {exc}") from None
        missing = [c for c in columns if c not in present]
        if missing:
            raise DataError(f"{prefix}: {_where(split)} has no column {missing[0]!r} (it has {', '.join(present)}): download it again")


def eval_wanted(tasks: Sequence[str]) -> list[tuple[str, HubSplit, Sequence[str]]]:
    """What prepare-eval reads for `tasks` (eval.tasks): each task's validation splits and their columns."""
    from coin.data.registry import EVAL_TASKS

    return [(name, split, list(split.columns)) for name in tasks for split in EVAL_TASKS[name].splits]


def train_wanted(names: Sequence[str]) -> list[tuple[str, HubSplit, Sequence[str]]]:
    """What extract reads for `names` (data.datasets): each dataset's train split and the columns it normalises."""
    from coin.data.examples import hub_columns
    from coin.data.registry import FLAN_DATASETS

    return [(name, FLAN_DATASETS[name].train, hub_columns(FLAN_DATASETS[name])) for name in names]


def _local_columns(files: list[Path], split: HubSplit) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names: list[str] | None = None
    for file in files:
        try:
            schema = pq.read_schema(file)
        except (pa.ArrowException, OSError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataError(f"{file} is not a readable Parquet file ({first}): download {_where(split)} again") from None
        names = names or list(schema.names)
    return names or []


def load_split(
    split: HubSplit,
    source: str,
    local_dir: Path | str | None,
    mirror_dir: Path | str | None,
    cache_dir: Path | str | None = None,
    columns: Sequence[str] | None = None,
    max_rows: int | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """One split as a DataFrame with the registry's columns (or `columns`), in hub row order.

    "hub" loads the id at `split.revision`; "local" and "embedded" read the split's Parquet files in the
    repo folder (split_files) with datasets' Parquet builder, so a folder holding main, a revision or both
    reads the same. Only the needed columns are read; `max_rows` reads the first rows only (datasets'
    `split[:n]`). Every failure (a missing folder, script-only repo, config, split, column or file, a file
    that is not Parquet) is one DataError line, prefixed with `name` (the dataset) when given.
    `cache_dir` is datasets' cache (default: its own).
    """
    try:
        return _load(split, source, local_dir, mirror_dir, cache_dir, columns, max_rows)
    except DataError as exc:
        if name is None:
            raise
        raise DataError(f"{name}: {exc}") from None


def _load(split, source, local_dir, mirror_dir, cache_dir, columns, max_rows) -> pd.DataFrame:
    import datasets
    import pyarrow as pa

    wanted = list(columns) if columns is not None else list(split.columns)
    path = dataset_path(split.hub_id, source, local_dir, mirror_dir)
    split_arg = split.split if max_rows is None else f"{split.split}[:{int(max_rows)}]"
    kwargs = {"cache_dir": str(cache_dir) if cache_dir else None}
    failures = (
        ValueError, OSError, RuntimeError, pa.ArrowException,
        datasets.exceptions.DatasetGenerationError, datasets.exceptions.DatasetNotFoundError,
    )

    def fail(exc: Exception) -> DataError:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return DataError(f"cannot read {_where(split)} from {path}: {first}")

    if source != "hub":
        files = split_files(split, Path(path))
        present = _local_columns(files, split)
        missing = [c for c in wanted if c not in present]
        if missing:
            raise DataError(f"{_where(split)} has no column {missing[0]!r} (it has {', '.join(present)})")
        try:
            ds = datasets.load_dataset("parquet", data_files={split.split: [str(f) for f in files]}, split=split_arg, columns=wanted, **kwargs)
        except failures as exc:
            raise fail(exc) from None
        return (ds if list(ds.column_names) == wanted else ds.select_columns(wanted)).to_pandas()

    def load(cols: list[str] | None):
        extra = {"columns": cols} if cols is not None else {}
        return datasets.load_dataset(path, split.config, split=split_arg, revision=split.revision, **kwargs, **extra)

    try:
        try:
            ds = load(wanted)
        except (datasets.exceptions.DatasetGenerationError, TypeError, ValueError):
            # a column is missing, or the builder cannot select columns: read all, check below
            ds = load(None)
    except failures as exc:
        raise fail(exc) from None
    present = list(ds.column_names)
    missing = [c for c in wanted if c not in present]
    if missing:
        raise DataError(f"{_where(split)} has no column {missing[0]!r} (it has {', '.join(present)})")
    if present != wanted:
        ds = ds.select_columns(wanted)
    return ds.to_pandas()


__all__ = ["SOURCES", "check_local_copy", "dataset_path", "eval_wanted", "load_split", "shard_glob", "split_files", "train_wanted"]
