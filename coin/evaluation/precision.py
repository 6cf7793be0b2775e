"""Inference precision (eval.precision): bfloat16 autocast where the device has bfloat16 units.

On a CPU with AVX-512 BF16 or AMX, or a CUDA GPU with bfloat16 support, `auto` runs the forward passes
under `torch.autocast(dtype=bfloat16)` (matmuls in bfloat16, about 2.5x float32 on such a CPU);
elsewhere it falls back to float32 and says so. Logits are read back in float32 for argmax and
log-softmax either way. Whether the device has the units is coin.hardware.bf16_units, the detection
model.dtype uses too.
"""

from __future__ import annotations

import contextlib
from typing import Any, ContextManager

from coin import hardware
from coin.errors import CoinError
from coin.hardware import PRECISIONS


def inference_precision(precision: str, device_type: str) -> tuple[ContextManager[Any], str]:
    """(context to run the forward passes in, a line saying what runs) for eval.precision."""
    import torch

    if precision not in PRECISIONS:
        raise CoinError(f"eval.precision = {precision!r} is not allowed: use one of {', '.join(PRECISIONS)}")
    if precision == "float32":
        return contextlib.nullcontext(), "float32"
    if precision == "auto" and not hardware.bf16_units(device_type)[0]:
        return contextlib.nullcontext(), f"float32 (this {device_type} has no bfloat16 units, so eval.precision = auto falls back)"
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16), f"bfloat16 autocast on {device_type}"


__all__ = ["PRECISIONS", "inference_precision"]
