"""Dropout whose random mask is cheap on the CPU.

PyTorch draws a CPU dropout mask with ``bernoulli_``, one element at a time on one thread (~9 ms
for a 5,200 x 320 activation on this project's 2-core machine), then divides it and multiplies. The
mask here is numpy's PCG64 raw output, 16 random bits per element (~0.7 ms for that tensor),
compared with a threshold. Adapters
that drop their input (PEFT's LoRA, DoRA and AdaLoRA: one dropout per adapted projection and
layer) spent ~9% of a float32 training step drawing masks on long proteins (torch.profiler).

The mask keeps each element with probability ``1 - t / 2**16``, ``t = round(p * 2**16)`` (p = 0.1:
0.8999939 instead of 0.9), and scales kept elements by the inverse of that probability, so the
output's expectation is its input exactly, as with ``nn.Dropout``. Each mask's seed is drawn from
torch's CPU generator, so a seeded run is reproducible and a resumed run (which restores torch's
generator) draws the same masks. Other devices, evaluation, in-place dropout and ``p`` outside
[0.01, 0.99] (where 16 bits are too coarse) keep torch's own path.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

_LEVELS = 1 << 16


def _drop_threshold(p: float) -> int:
    """Masks are 16-bit: an element is dropped when its value is below this (of 2**16)."""
    return round(p * _LEVELS)


def fast_enough(p: float) -> bool:
    """Whether 16 bits hold ``p`` closely (within 0.08% of itself); other values keep torch's path."""
    return 0.01 <= p <= 0.99


def keep_probability(p: float) -> float:
    """The probability that an element is kept, for dropout probability ``p``."""
    return 1.0 - _drop_threshold(p) / _LEVELS


def keep_mask(shape: torch.Size, p: float) -> torch.Tensor:
    """A boolean mask of ``shape``, True where an element is kept (probability ``keep_probability``)."""
    n = shape.numel()
    seed = int(torch.randint(0, 1 << 62, (1,)).item())
    raw = np.random.PCG64(seed).random_raw((n + 3) // 4).view(np.int16)[:n]
    # int16 spans -2**15 .. 2**15 - 1 uniformly: value >= t - 2**15 has probability 1 - t / 2**16.
    return torch.from_numpy(raw).view(shape) >= _drop_threshold(p) - (_LEVELS >> 1)


class _MaskedScale(torch.autograd.Function):
    """x * mask * scale, saving the boolean mask for the backward: 1 byte per element, where torch's
    CPU dropout keeps its float mask (4 bytes in float32)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, keep: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return torch.addcmul(x.new_zeros(()), x, keep.to(x.dtype), value=scale)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (keep,) = ctx.saved_tensors
        return torch.addcmul(grad.new_zeros(()), grad, keep.to(grad.dtype), value=ctx.scale), None, None


def dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Training-mode dropout of a CPU tensor with the fast mask."""
    return _MaskedScale.apply(x, keep_mask(x.shape, p), 1.0 / keep_probability(p))


class FastDropout(nn.Dropout):
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        cpu = input.device.type == "cpu"
        if not (self.training and cpu and fast_enough(self.p)) or self.inplace or input.numel() == 0:
            return super().forward(input)
        return dropout(input, self.p)


def use_fast_dropout(model: nn.Module) -> int:
    """Swap every plain ``nn.Dropout`` with ``p > 0`` for ``FastDropout``, in place (the class
    only: state and ``isinstance`` checks are untouched); returns how many were swapped."""
    swapped = 0
    for module in model.modules():
        if type(module) is nn.Dropout and module.p > 0:
            module.__class__ = FastDropout
            swapped += 1
    return swapped
