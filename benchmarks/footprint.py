"""Disk taken by the set-up and by the embedded run: `python benchmarks/footprint.py`.

Prints the size of the virtual environment `make setup` builds (.venv, and its largest packages), the
torch build installed there, and the sum of the output sizes dvc.lock records (the workspace's data/,
models/ and reports/ outputs of the committed run; the DVC cache holds them once more). Reads files
only: no stage, no training. Output committed as reports/benchmarks/footprint.txt.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def folder_bytes(folder: Path) -> int:
    """Bytes of every regular file under `folder` (links not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def lock_output_bytes(lock: dict) -> int:
    """The sum of the `size` dvc.lock records for every stage output."""
    return sum(out.get("size", 0) for entry in (lock.get("stages") or {}).values() for out in entry.get("outs", []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", default=str(ROOT / ".venv"))
    parser.add_argument("--top", type=int, default=5, help="how many of the largest packages to list")
    args = parser.parse_args()
    venv = Path(args.venv)
    site = next(venv.glob("lib/python*/site-packages"))
    packages = sorted(((folder_bytes(p), p.name) for p in site.iterdir() if p.is_dir()), reverse=True)
    torch_dist = sorted(site.glob("torch-*.dist-info"))
    print(f".venv: {folder_bytes(venv) / 1e9:.2f} GB ({sys.version.split()[0]}; "
          f"torch {torch_dist[0].name.removeprefix('torch-').removesuffix('.dist-info') if torch_dist else 'not installed'})")
    for size, name in packages[: args.top]:
        print(f"  {name:<28}{size / 1e6:>10.0f} MB")
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())
    print(f"outputs dvc.lock records: {lock_output_bytes(lock) / 1e6:.1f} MB ({lock_output_bytes(lock)} bytes)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from record import recorded  # benchmarks/record.py: the output, kept in reports/benchmarks/

    with recorded(__file__):
        main()
