"""Atomic, deterministic file writes and schema-checked reads.

Every write goes to a temporary name in the destination folder (`.<name>.<random>.tmp`) and is renamed
into place, so a killed stage leaves the previous file or nothing; a temporary left by a kill is removed
by the next write to the same path (and git-ignored). Files and folders get the usual permissions
(0644 / 0755 under the default umask), not mkstemp's 0600, and so does every file a library writes
into an atomic_dir (safetensors writes model.safetensors 0600). A full disk (ENOSPC, EDQUOT) during
any atomic write is a one-line MachineError naming the output, and the temporary is removed. Parquet files carry no pandas index and are written with
fixed settings, so the same frame gives the same bytes.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from coin.errors import DataError, MachineError
from coin.schemas import TableSchema


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Delete the `.<name>.<random>.tmp` files and folders a killed write to `path` left beside it."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}\.tmp")
    stale = [p for p in path.parent.glob(f".{path.name}.*.tmp") if pattern.fullmatch(p.name)] if path.parent.is_dir() else []
    for leftover in stale:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return stale


_OUT_OF_SPACE = (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def _space_checked(path: Path) -> Iterator[None]:
    """Turn a full disk (ENOSPC / EDQUOT, also from a nested atomic write) into one MachineError naming `path`."""
    try:
        yield
    except MachineError:
        raise MachineError(_no_space(path), path) from None
    except Exception as exc:
        if not out_of_space(exc):
            raise
        raise MachineError(_no_space(path), path) from None


@contextmanager
def after_writing(*written: str | Path) -> Iterator[None]:
    """For a stage's later outputs: `written` are in place, so a full disk in the block says they were
    written and the output being written was not (not "nothing was written")."""
    try:
        yield
    except MachineError as exc:
        if exc.path is None:
            raise
        raise MachineError(_no_space(Path(exc.path), [Path(w) for w in written]), exc.path) from None


def out_of_space(exc: BaseException) -> bool:
    """A full disk or quota: an OSError with ENOSPC / EDQUOT, or a library's error that wraps one (pyarrow's
    IOError may lack the errno; safetensors raises SafetensorError naming StorageFull)."""
    if isinstance(exc, OSError) and exc.errno in _OUT_OF_SPACE:
        return True
    return any(mark in str(exc) for mark in ("No space left on device", "StorageFull", "Disk quota exceeded"))


def _no_space(path: Path, written: list[Path] | None = None) -> str:
    if written:
        done = f"{', '.join(map(str, written))} {'was' if len(written) == 1 else 'were'} written, {path} was not"
    else:
        done = "nothing was written"
    return f"no space left on the device while writing {path}: {done}; free space there and rerun the stage"


def usual_permissions(folder: Path) -> None:
    """chmod every file under `folder` to 0666 and every folder to 0777, less the umask (0644 / 0755)."""
    mask = _umask()
    for child in folder.rglob("*"):
        if not child.is_symlink():
            os.chmod(child, (0o777 if child.is_dir() else 0o666) & ~mask)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    with _space_checked(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        try:
            yield tmp_path
            os.replace(tmp_path, path)
        finally:
            tmp_path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `path`; swap it in for `path` only if the block succeeds.
    Whatever the block wrote gets the usual permissions (0644 files, 0755 folders under umask 022)."""
    path = Path(path)
    with _space_checked(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        try:
            yield tmp
            usual_permissions(tmp)
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder the usual permissions
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
    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        reason = re.sub(r"^Could not open Parquet input source '.*?': ", "", _first_line(exc))
        raise DataError(f"{path} is not a readable Parquet file ({reason}): rerun the stage that writes it (dvc repro -f -s <stage>)") from None
    schema.check(frame, source=str(path))
    return frame


PARQUET_MAGIC = b"PAR1"  # a Parquet file starts and ends with it
HEAD_BYTES = 4096


def head_problem(path: str | Path) -> str | None:
    """Why the file at `path` cannot be what its suffix says, from its head (and a Parquet file's last 4
    bytes), or None: .parquet needs PAR1 at both ends; .json must start as UTF-8 text with `[` or `{`.
    Other suffixes are not checked. Cheap enough for check-params on a file of any size."""
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
        if path.suffix == ".parquet":
            handle.seek(max(0, path.stat().st_size - len(PARQUET_MAGIC)))
            tail = handle.read()
    if path.suffix == ".parquet" and not (head.startswith(PARQUET_MAGIC) and tail == PARQUET_MAGIC and len(head) >= 8):
        return "is not a Parquet file (it does not start and end with PAR1)"
    if path.suffix == ".json":
        try:
            text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at the end is fine
        except UnicodeDecodeError as exc:
            return f"is not JSON text (byte {exc.start} is not UTF-8)"
        if not text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{"):
            return "is not JSON text (it does not start with [ or {)"
    return None


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
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not readable JSON ({_first_line(exc)}): rerun the stage that writes it") from None


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


__all__ = ["after_writing", "atomic_dir", "atomic_path", "head_problem", "usual_permissions", "http_get", "read_json", "read_pinned", "read_parquet", "remove_stale_temporaries", "write_json", "write_parquet", "write_text"]
