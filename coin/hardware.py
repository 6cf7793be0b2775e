"""What the device can do: the one bfloat16 detection that training, evaluation, perturbation and the
benchmarks share, and the dtype / precision choices made from it.

A device "has bfloat16 units" when it multiplies bfloat16 natively: a CUDA GPU that reports bfloat16
support, or a CPU whose /proc/cpuinfo flags list AVX-512 BF16 or AMX BF16. Elsewhere bfloat16 runs
emulated: on the AVX2-only AMD EPYC this project was tested on, a SmolLM2-135M forward pass is
several times slower in bfloat16 than in float32 (BF16_EMULATED_COST, reports/benchmarks/bf16_cost.txt).

This module sits at the bottom of the package (it imports only coin.errors), so coin/params,
coin/training and coin/evaluation all import it without importing each other.
"""

from __future__ import annotations

from pathlib import Path

DTYPES = ("auto", "float32", "bfloat16", "float16")  # model.dtype
PRECISIONS = ("auto", "float32", "bfloat16")  # eval.precision
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
# measured by benchmarks/bf16_cost.py on the AVX2-only AMD EPYC (reports/benchmarks/bf16_cost.txt)
BF16_EMULATED_COST = "a SmolLM2-135M forward pass over 8 x 96 tokens took 10.65 s in bfloat16 against 1.43 s in float32 (7.47x) on an AVX2-only AMD EPYC (reports/benchmarks/bf16_cost.txt)"


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU's feature flags (the `flags` lines of /proc/cpuinfo, where there is one)."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.is_file() else ""
    return {word for line in cpuinfo.splitlines() if line.startswith("flags") for word in line.split()}


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU has bfloat16 matmul units (AVX-512 BF16 or AMX BF16)."""
    flags = cpu_flags(cpuinfo)
    return any(flag in flags for flag in CPU_BF16_FLAGS)


def device_type() -> str:
    """Where the stages run: "cuda" where a GPU is visible, else "cpu"."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def bf16_units(device: str) -> tuple[bool, str]:
    """(whether `device` has bfloat16 units, why, in a few words): the one detection every stage uses."""
    if device == "cuda":
        import torch

        supported = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
        return supported, "this GPU supports bfloat16" if supported else "this GPU has no bfloat16 support"
    if device == "cpu":
        if cpu_has_bf16():
            return True, f"this CPU has {' / '.join(sorted(set(CPU_BF16_FLAGS) & cpu_flags()))}"
        return False, f"this CPU has no bfloat16 units: neither {' nor '.join(CPU_BF16_FLAGS)} in /proc/cpuinfo"
    return False, f"{device} is not a CPU or CUDA GPU"


def choose_dtype(requested: str, device: str) -> tuple[str, str | None]:
    """(the weights' dtype to use for model.dtype = `requested` on `device`, a line to print or None).

    auto: bfloat16 where the device has bfloat16 units, else float32, and one line saying which and why.
    bfloat16 on a device without them: kept (the user asked for it), with one warning line naming the
    measured cost. float32 / float16 / bfloat16 with units: kept silently.
    """
    from coin.errors import CoinError

    if requested not in DTYPES:
        raise CoinError(f"model.dtype = {requested!r} is not allowed: use one of {', '.join(DTYPES)}")
    if requested not in ("auto", "bfloat16"):
        return requested, None
    has_units, why = bf16_units(device)
    if requested == "auto":
        chosen = "bfloat16" if has_units else "float32"
        return chosen, f"model.dtype = auto: {chosen} ({why})"
    if has_units:
        return "bfloat16", None
    return "bfloat16", f"warning: model.dtype = bfloat16 but {why}, so bfloat16 is emulated: {BF16_EMULATED_COST}; model.dtype: auto picks float32 here"


__all__ = ["BF16_EMULATED_COST", "CPU_BF16_FLAGS", "DTYPES", "PRECISIONS", "bf16_units", "choose_dtype", "cpu_flags", "cpu_has_bf16", "device_type"]
