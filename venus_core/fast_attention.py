"""Attention that keeps up on CPUs in bf16: SDPA's CPU flash kernel, fed float32.

Under bf16 autocast, transformers' SDPA attention runs torch's CPU flash-attention kernel in bf16.
With the narrow heads of protein LMs (ESM2: 16 dimensions per head) that kernel is slow, worst in
the backward pass and for many short sequences: an ESM2-8M-shaped ``full`` step on 32 x 152 tokens
spent 54% of its time in attention (whose FLOPs are 7% of the step), its backward at ~15-18
GFLOP/s. The same kernel in float32 runs 2.5-3x faster there, as fast at 1000 tokens, and never
slower (``python -m bench.attention``). So on a CPU, bf16 queries, keys and values are cast to
float32 for the attention kernel alone and its output cast back; matmuls stay in bf16.

CPUs with AMX tiles differ in the forward pass only (Intel Xeon, 2 cores, 2026-12-02; 20 heads x
16 dimensions; ``python -m bench.attention``): forward and backward took 1.3-3.7x as long in bf16
as cast to float32, but a forward alone (inference mode) 0.70-0.90x. So there the cast is made
only where a backward pass will follow (gradients on, inputs that need them); an embedding pass or
a frozen backbone keeps bf16 attention. GPUs are untouched.

Installed as an attention implementation of transformers (``AttentionInterface``) named
``venus_sdpa``: the model's own SDPA path (masks, scaling, dropout) with this one cast around it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch
from torch import nn

NAME = "venus_sdpa"


@cache
def cpu_has_amx() -> bool:
    return torch.cpu._is_amx_tile_supported()


def upcast(query: torch.Tensor) -> bool:
    """Whether this CPU attention call runs in float32: always without AMX; with AMX only when a
    backward pass goes through it (bf16 is faster there for a forward alone)."""
    return not cpu_has_amx() or (torch.is_grad_enabled() and query.requires_grad)


def sdpa_float32_on_cpu(module: nn.Module, query, key, value, attention_mask, **kwargs) -> tuple[Any, Any]:
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if query.device.type != "cpu" or query.dtype != torch.bfloat16 or not upcast(query):
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    with torch.autocast("cpu", enabled=False):  # autocast would cast the inputs back to bf16
        out, weights = sdpa_attention_forward(
            module, query.float(), key.float(), value.float(), attention_mask, **kwargs
        )
    return out.to(query.dtype), weights


@cache
def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, sdpa_float32_on_cpu)
    AttentionMaskInterface.register(NAME, sdpa_mask)  # the same masks as "sdpa"


def use_fast_attention(model: nn.Module) -> bool:
    """Switch a model that runs transformers' SDPA attention to ``venus_sdpa``; True if it did."""
    config = getattr(model, "config", None)
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    if not hasattr(model, "set_attn_implementation"):
        return False
    if not type(model).__module__.startswith("transformers."):
        return False  # remote code (ProSST, ProPrime) keeps its own attention
    _register()
    model.set_attn_implementation(NAME)
    return True
