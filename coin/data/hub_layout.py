"""Read/write helpers for the folder layout of a Parquet dataset repo on the Hugging Face hub.

`hf download --repo-type dataset <owner>/<name>` of a Parquet repo leaves, per config, files such as
`<config>/<split>-00000-of-00001.parquet` and a README.md whose YAML front matter lists the configs and
their `data_files`. `datasets.load_dataset(folder, config, split=...)` reads such a folder offline. The
embedded mirror, local copies and test fixtures all use this one layout, so one loader serves all three.
A repo without configs uses the folder and config name `default` (load it with config None). A split
may sit at another path (`paths`): ag_news keeps its files under `data/`, and the hub's Parquet
conversion branch (trec) holds `default/<split>/0000.parquet` and no README (`readme=False`).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Mapping, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from coin.errors import DataError
from coin.io import atomic_dir

DEFAULT_CONFIG = "default"

# Arrow type -> the `dtype` name of a datasets.Value in dataset_info features
_VALUE_DTYPES = {
    pa.string(): "string",
    pa.int8(): "int8",
    pa.int16(): "int16",
    pa.int32(): "int32",
    pa.int64(): "int64",
    pa.float32(): "float32",
    pa.float64(): "float64",
    pa.bool_(): "bool",
}


def config_dir_name(config: str | None) -> str:
    """The folder (and README config_name) of a config: its name, or `default` for None."""
    return DEFAULT_CONFIG if config is None else config


def repo_dir(root: Path, hub_id: str) -> Path:
    """root/<hub_id> (hub ids are `owner/name`); refuses ids that would leave `root`."""
    parts = PurePosixPath(hub_id).parts
    if not hub_id or hub_id.startswith("/") or any(p in ("..", ".") for p in parts) or "\\" in hub_id:
        raise DataError(f"hub id {hub_id!r} is not allowed: use owner/name (no '..', no leading '/')")
    return Path(root).joinpath(*parts)


def split_relpath(config: str | None, split: str) -> str:
    """Path of a split's Parquet file inside its repo folder, e.g. `cola/train-00000-of-00001.parquet`."""
    if not split or "/" in split:
        raise DataError(f"split name {split!r} is not allowed: use a plain name such as train or validation")
    return f"{config_dir_name(config)}/{split}-00000-of-00001.parquet"


def split_file(root: Path, hub_id: str, config: str | None, split: str) -> Path:
    """root/<hub_id>/<config or "default">/<split>-00000-of-00001.parquet."""
    return repo_dir(root, hub_id) / split_relpath(config, split)


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table as the hub stores it: `string` (not large_string), no pandas metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for field in table.schema:
        kind = field.type
        if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            kind = pa.string()
        fields.append(pa.field(field.name, kind))
    return table.cast(pa.schema(fields)).replace_schema_metadata(None)


def _feature(name: str, kind: pa.DataType, class_names: Sequence[str] | None) -> dict:
    """One dataset_info feature (datasets' YAML form) for an Arrow field."""
    if class_names is not None:
        if not pa.types.is_integer(kind):
            raise DataError(f"column {name!r} has class label names but type {kind}: class labels must be integers")
        return {"name": name, "dtype": {"class_label": {"names": {str(i): n for i, n in enumerate(class_names)}}}}
    if pa.types.is_struct(kind):
        return {"name": name, "struct": [_feature(kind.field(i).name, kind.field(i).type, None) for i in range(kind.num_fields)]}
    if kind in _VALUE_DTYPES:
        return {"name": name, "dtype": _VALUE_DTYPES[kind]}
    raise DataError(f"column {name!r} has type {kind}, which the hub layout writer does not support: use {', '.join(_VALUE_DTYPES.values())} or a struct of them")


def readme_text(
    hub_id: str,
    schemas: Mapping[tuple[str | None, str], pa.Schema],
    class_labels: Mapping[tuple[str | None, str], Sequence[str]] | None = None,
    paths: Mapping[tuple[str | None, str], str] | None = None,
) -> str:
    """README.md with YAML front matter: `configs` (config_name, data_files) and `dataset_info` features.

    `schemas` maps (config, split) to its Arrow schema; `class_labels` maps (config, column) to the
    label names of a class-label column; `paths` (config, split) to a file other than split_relpath.
    Configs and splits are listed in sorted order.
    """
    class_labels = class_labels or {}
    paths = paths or {}
    configs: dict[str, list[str]] = {}
    schema_of: dict[str, pa.Schema] = {}
    for (config, split), schema in sorted(schemas.items(), key=lambda kv: (config_dir_name(kv[0][0]), kv[0][1])):
        name = config_dir_name(config)
        configs.setdefault(name, []).append(split)
        if name in schema_of and not schema_of[name].equals(schema):
            raise DataError(f"{hub_id} config {name!r}: split {split!r} has columns {schema.names} unlike its other splits {schema_of[name].names}")
        schema_of.setdefault(name, schema)
    meta = {
        "configs": [
            {"config_name": name, "data_files": [{"split": s, "path": _path(paths, name, s)} for s in splits]}
            for name, splits in configs.items()
        ],
        "dataset_info": [
            {
                "config_name": name,
                "features": [
                    _feature(f.name, f.type, _class_names(class_labels, name, f.name)) for f in schema_of[name]
                ],
            }
            for name in configs
        ],
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return f"---\n{front}---\n\n# {hub_id}\n\nParquet files in the hub's layout, one folder per config.\n"


def _path(paths: Mapping[tuple[str | None, str], str], config_name: str, split: str) -> str:
    for (config, s), path in paths.items():
        if config_dir_name(config) == config_name and s == split:
            return path
    return split_relpath(None if config_name == DEFAULT_CONFIG else config_name, split)


def _class_names(class_labels: Mapping[tuple[str | None, str], Sequence[str]], config_name: str, column: str) -> Sequence[str] | None:
    for (config, col), names in class_labels.items():
        if config_dir_name(config) == config_name and col == column and names:
            return names
    return None


def write_hub_repo(
    root: Path,
    hub_id: str,
    frames: Mapping[tuple[str | None, str], pd.DataFrame],
    class_labels: Mapping[tuple[str | None, str], Sequence[str]] | None = None,
    paths: Mapping[tuple[str | None, str], str] | None = None,
    readme: bool = True,
) -> Path:
    """Write root/<hub_id>/ as a hub Parquet repo: one file per (config, split) plus README.md.

    The repo folder is replaced as a whole (coin.io.atomic_dir), so a reader sees the old repo or the
    new one. Files are written with fixed settings: the same frames give the same bytes. Returns the
    repo folder. `class_labels` ((config, column) -> names) makes those columns ClassLabel features;
    `paths` ((config, split) -> file in the repo) overrides split_relpath; `readme=False` writes none.
    """
    if not frames:
        raise DataError(f"{hub_id}: no splits to write (frames is empty)")
    seen: dict[str, str | None] = {}
    for config, _ in frames:
        name = config_dir_name(config)
        if name in seen and seen[name] != config:
            raise DataError(f"{hub_id}: config None and config 'default' would share the folder 'default': use one of them")
        seen[name] = config
    target = repo_dir(root, hub_id)
    tables = {key: frame_to_table(frame) for key, frame in frames.items()}
    relpath = {key: (paths or {}).get(key) or split_relpath(*key) for key in tables}
    for rel in relpath.values():
        if PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts or not rel.endswith(".parquet"):
            raise DataError(f"{hub_id}: file path {rel!r} is not allowed: use a relative path ending in .parquet, without '..'")
    with atomic_dir(target) as tmp:
        for key, table in sorted(tables.items(), key=lambda kv: relpath[kv[0]]):
            path = tmp / relpath[key]
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, compression="zstd", write_statistics=False)
        if readme:
            schemas = {k: t.schema for k, t in tables.items()}
            (tmp / "README.md").write_text(readme_text(hub_id, schemas, class_labels, relpath))
    return target


def write_registry_repo(
    root: Path,
    hub_id: str,
    frames: Mapping[tuple[str | None, str], pd.DataFrame],
    class_labels: Mapping[tuple[str | None, str], Sequence[str]] | None = None,
) -> Path:
    """write_hub_repo in the layout the registry records for these splits: each file at its path in the
    revision that holds the Parquet files, and no README for the hub's Parquet conversion branch."""
    from coin.data.registry import PARQUET_CONVERT, hub_splits

    known = {(s.hub_id, s.config, s.split): s for s in hub_splits()}
    splits = [known.get((hub_id, config, split)) for config, split in frames]
    paths = {(s.config, s.split): s.file for s in splits if s is not None}
    readme = all(s is None or s.revision != PARQUET_CONVERT for s in splits)
    return write_hub_repo(root, hub_id, frames, class_labels, paths, readme)


__all__ = [
    "DEFAULT_CONFIG",
    "config_dir_name",
    "frame_to_table",
    "readme_text",
    "repo_dir",
    "split_file",
    "split_relpath",
    "write_hub_repo",
    "write_registry_repo",
]
