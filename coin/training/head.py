"""The output layer on the response positions only, inside the wrapped model's own forward.

A causal LM's forward ends with `logits = lm_head(final_hidden_states)`: (N, T, d) -> (N, T, V), V the
vocabulary (49,152 for SmolLM2), while L_gen reads only the M response positions (M << N * T).
`ResponseHead` hooks the output layer (`get_output_embeddings()`, tied to the input embeddings or not)
for one forward: the hook keeps the final hidden states (N, T, d) for L_ctr's pooling and hands the
output layer only the rows at `positions`, so the model returns logits (M, V). The forward still runs
through every wrapper (PEFT, DDP, FSDP, DeepSpeed, gradient checkpointing), which keeps their gradient
synchronisation and parameter gathering as they are; no per-layer hidden states are requested.
"""

from __future__ import annotations

from typing import Any

import torch

from coin.errors import CoinError


def output_layer(model: Any) -> torch.nn.Module:
    """The output layer (lm_head) of a model, under PEFT and the training wrappers (DDP, FSDP, DeepSpeed
    keep the inner model as `.module`)."""
    inner = model
    while hasattr(inner, "module") and isinstance(inner.module, torch.nn.Module):
        inner = inner.module
    head = inner.get_output_embeddings() if hasattr(inner, "get_output_embeddings") else None
    if head is None:
        raise CoinError(f"{type(inner).__name__} has no output layer (get_output_embeddings() is None): training needs a causal LM")
    return head


class ResponseHead:
    """Context manager: while open, the model's output layer computes logits at `positions` only.

    positions (M,): flat indices i * T + t into the (N, T) batch (coin.training.losses.response_positions).
    After the forward, `hidden` holds the final hidden states (N, T, d), the output layer's input (after
    the final norm); the model's `logits` are (M, V), row m the logits at positions[m].
    """

    def __init__(self, model: Any, positions: torch.Tensor, shape: tuple[int, int]):
        self.head = output_layer(model)
        self.positions = positions
        self.shape = tuple(shape)
        self.hidden: torch.Tensor | None = None
        self._handle = None

    def _gather(self, module: torch.nn.Module, args: tuple) -> tuple:
        hidden = args[0]  # (N, T, d)
        if tuple(hidden.shape[:2]) != self.shape:
            raise CoinError(
                f"the output layer got states of shape {tuple(hidden.shape)}, not the batch's {self.shape}: "
                "the model must apply it to every position (logits_to_keep = 0)"
            )
        self.hidden = hidden
        rows = hidden.reshape(-1, hidden.shape[-1]).index_select(0, self.positions.to(hidden.device))  # (M, d)
        return (rows, *args[1:])

    def __enter__(self) -> "ResponseHead":
        self._handle = self.head.register_forward_pre_hook(self._gather)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._handle.remove()
        self._handle = None


__all__ = ["ResponseHead", "output_layer"]
