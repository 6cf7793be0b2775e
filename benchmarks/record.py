"""Every benchmark's full output, kept: `reports/benchmarks/<script>.txt`, with a header saying where it ran.

Each script in benchmarks/ runs its `main` inside `recorded(__file__)`: what it prints (stdout and
stderr) still goes to the terminal and, when the script finishes without an error, is written
atomically to reports/benchmarks/<script>.txt after a header: the date (UTC), the command, the git
commit, the CPU model, the instruction-set flags that decide the speed of float32 / bfloat16 work on
a CPU (avx2, avx512f, avx512_bf16, amx_bf16), the cores, the torch version and torch's thread count.
Paths of the machine are written relative (`machine_free`): installed packages' as `<site-packages>/...`,
the project's relative to the project, the temporary folder's as `$TMPDIR/...`, the home folder's as
`~/...`, so a committed output names no folder of the machine that wrote it. The docs quote only
figures such a file holds (tests/test_readme_figures.py checks it).
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import platform
import re
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Iterator, TextIO

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "reports" / "benchmarks"
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def _swap(text: str, prefix: str, name: str) -> str:
    """`prefix` and `prefix/...` as `name` and `name/...` (an empty name: relative, `.` for the prefix
    alone); a longer folder name that merely starts with the prefix is left alone."""
    prefix = prefix.rstrip("/")
    if not prefix:
        return text
    pattern = re.compile(re.escape(prefix) + r"(/|(?![\w.-]))")
    return pattern.sub(lambda m: (f"{name}/" if name else "") if m.group(1) == "/" else (name or "."), text)


def machine_free(text: str, root: Path | None = None) -> str:
    """`text` with the machine's absolute paths made relative: an installed package's files as
    `<site-packages>/...`, the project's relative to the project, the temporary folder's as
    `$TMPDIR/...`, the home folder's as `~/...` (the longest matching folder wins)."""
    root = Path(root or ROOT)
    places = [(str(root.resolve()), ""), (str(root), "")]
    places += [(sysconfig.get_paths()[key], "<site-packages>") for key in ("purelib", "platlib")]
    places += [(tempfile.gettempdir(), "$TMPDIR"), ("/tmp", "$TMPDIR"), (str(Path.home()), "~")]
    for prefix, name in sorted(dict(places).items(), key=lambda item: -len(item[0])):
        text = _swap(text, prefix, name)
    return text


def cpu_facts(cpuinfo: str) -> tuple[str, dict[str, bool]]:
    """The CPU model name and, per flag of FLAGS, whether /proc/cpuinfo's text lists it."""
    model, flags = platform.processor() or "unknown", set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model in ("", "unknown", platform.machine()):
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return model, {flag: flag in flags for flag in FLAGS}


def machine_line() -> str:
    """One line for a benchmark to print: the CPU model, its FLAGS present and torch's thread count."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model, flags = cpu_facts(cpuinfo)
    present = " ".join(flag for flag, has in flags.items() if has) or "none of " + ", ".join(FLAGS)
    torch = sys.modules.get("torch")
    threads = f"{torch.get_num_threads()} torch threads" if torch else "torch not imported"
    return f"CPU {model}; instruction set: {present}; {threads}"


def header(command: list[str]) -> str:
    """The lines that say when, from which commit and on which machine a benchmark ran."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model, flags = cpu_facts(cpuinfo)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    torch = sys.modules.get("torch")
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    lines = [
        f"# date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"# command: {' '.join(command)}",
        f"# commit: {commit or 'unknown'}{' (with uncommitted changes)' if dirty else ''}",
        f"# cpu: {model}; {cores} cores usable",
        "# flags: " + ", ".join(f"{flag} {'yes' if present else 'no'}" for flag, present in flags.items()),
        f"# torch: {torch.__version__ if torch else 'not imported'}, {torch.get_num_threads() if torch else '-'} threads",
    ]
    return "\n".join(lines) + "\n\n"


def final_lines(text: str) -> str:
    """What a terminal would show at the end: a progress bar's carriage-return updates keep their last state."""
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))


class _Tee(io.TextIOBase):
    def __init__(self, stream: TextIO, copy: io.StringIO):
        self.stream, self.copy = stream, copy

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


@contextlib.contextmanager
def recorded(script: str, out_dir: Path = OUT_DIR) -> Iterator[None]:
    """Run the body with stdout and stderr copied; on success write header + output to
    `<out_dir>/<script stem>.txt` (a failed run writes nothing)."""
    copy = io.StringIO()
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Tee(out, copy), _Tee(err, copy)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
    sys.path.insert(0, str(ROOT))
    from coin.io import write_text

    path = Path(out_dir) / f"{Path(script).stem}.txt"
    command = [Path(sys.executable).name, os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]
    write_text(machine_free(header(command) + final_lines(copy.getvalue())), path)
    print(f"output written to {os.path.relpath(path, ROOT)}", file=sys.stderr)
