"""Atomic, deterministic file writes and schema-checked reads.

Every write goes to a temporary name in the destination folder and is renamed into place, so a killed
stage leaves the previous file or nothing. Parquet files carry no pandas index and are written with
fixed settings, so the same frame gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd
import pyarrow.parquet as pq

from coin.errors import DataError
from coin.schemas import TableSchema


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `path`; swap it in for `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder the usual permissions
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_parquet(frame: pd.DataFrame, path: str | Path, schema: TableSchema) -> None:
    """Check `frame` against `schema`, then write it atomically with its columns in schema order."""
    table = schema.to_arrow(frame, source=str(path))
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=False, store_schema=False)


def read_parquet(path: str | Path, schema: TableSchema) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist: run the stage that writes it first (dvc repro)")
    frame = pq.read_table(path).to_pandas()
    schema.check(frame, source=str(path))
    return frame


def write_json(obj: Any, path: str | Path) -> None:
    """Write `obj` as indented JSON with sorted keys, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def http_get(url: str) -> bytes:
    """Fetch `url` (the project's only network access: pinned files of other projects)."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (pinned https URLs)
        return response.read()


def read_pinned(url: str, sha256: str, cached: Path, download: Callable[[str], bytes], offline_hint: str) -> bytes:
    """The bytes of a pinned file: downloaded once into `cached`, checked against `sha256` after the
    download and on every later read. A mismatch is a DataError, never silently refetched."""
    cached = Path(cached)
    if not cached.is_file():
        try:
            data = download(url)
        except OSError as exc:  # urllib's URLError is an OSError
            raise DataError(f"could not download {url}: {getattr(exc, 'reason', exc)}; {offline_hint}") from None
        _check_sha256(data, sha256, url)
        with atomic_path(cached) as tmp:
            tmp.write_bytes(data)
    data = cached.read_bytes()
    _check_sha256(data, sha256, f"{cached} (delete it to download again)")
    return data


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_sha256(data: bytes, expected: str, where: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise DataError(f"{where}: sha256 {digest} does not match the pinned {expected}")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist: run the stage that writes it first (dvc repro)")
    return json.loads(path.read_text())


__all__ = ["atomic_dir", "atomic_path", "http_get", "read_json", "read_pinned", "read_parquet", "write_json", "write_parquet", "write_text"]
