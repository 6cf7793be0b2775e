"""Inference precision (eval.precision): bfloat16 autocast where the device has bfloat16 units.

On a CPU with AVX-512 BF16 or AMX, or a CUDA GPU with bfloat16 support, `auto` runs the forward passes
under `torch.autocast(dtype=bfloat16)` (matmuls in bfloat16, about 2.5x float32 on such a CPU);
elsewhere it falls back to float32 and says so. Logits are read back in float32 for argmax and
log-softmax either way.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, ContextManager

from coin.errors import CoinError

PRECISIONS = ("auto", "float32", "bfloat16")
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU has bfloat16 matmul units (the flags of /proc/cpuinfo, where there is one)."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.is_file() else ""
    flags = {word for line in cpuinfo.splitlines() if line.startswith("flags") for word in line.split()}
    return any(flag in flags for flag in CPU_BF16_FLAGS)


def bf16_supported(device_type: str) -> bool:
    import torch

    if device_type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return device_type == "cpu" and cpu_has_bf16()


def inference_precision(precision: str, device_type: str) -> tuple[ContextManager[Any], str]:
    """(context to run the forward passes in, a line saying what runs) for eval.precision."""
    import torch

    if precision not in PRECISIONS:
        raise CoinError(f"eval.precision = {precision!r} is not allowed: use one of {', '.join(PRECISIONS)}")
    if precision == "float32":
        return contextlib.nullcontext(), "float32"
    if precision == "auto" and not bf16_supported(device_type):
        return contextlib.nullcontext(), f"float32 (this {device_type} has no bfloat16 units, so eval.precision = auto falls back)"
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16), f"bfloat16 autocast on {device_type}"


__all__ = ["PRECISIONS", "bf16_supported", "cpu_has_bf16", "inference_precision"]
