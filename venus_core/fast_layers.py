"""Single-kernel GELUs for backbones that spell the activation out in Python.

transformers' ESM computes GELU as ``x * 0.5 * (1 + erf(x / sqrt(2)))`` and T5's "gated-gelu"
(Ankh) as ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))``: five to eight
element-wise kernels forward, more backward, and as many saved activations. ``F.gelu`` computes the
same functions (``approximate="none"`` is the erf form, ``"tanh"`` the tanh form) in one kernel
each way. Alternating float32 ``full`` runs of an ESM2-8M-shaped model on CPU went from ~1,445 to
~1,750 residues/s with the swap (``python -m bench.fast_layers``; bench/README.md).

The swap changes each module's class to a subclass whose ``forward`` differs, so parameters,
state-dict keys, ``isinstance`` checks and PEFT's wrapping of the inner linear layers are
untouched; outputs agree with the originals to float rounding (tests/test_fast_layers.py).
Remote-code models (ProSST, ProPrime) are left as they are.
"""

from __future__ import annotations

from functools import cache

import torch
from torch import nn


@cache
def _replacements() -> dict[type, type]:
    """{original class: fast subclass}, built on first use (importing transformers is slow)."""
    from transformers.activations import NewGELUActivation
    from transformers.models.esm.modeling_esm import EsmIntermediate

    class FastEsmIntermediate(EsmIntermediate):
        def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
            return nn.functional.gelu(self.dense(hidden_states))

    class FastTanhGELU(NewGELUActivation):
        def forward(self, input: torch.Tensor) -> torch.Tensor:
            return nn.functional.gelu(input, approximate="tanh")

    return {EsmIntermediate: FastEsmIntermediate, NewGELUActivation: FastTanhGELU}


def use_fast_layers(model: nn.Module) -> int:
    """Swap in the single-kernel GELUs, in place; returns how many modules were swapped."""
    table = _replacements()
    swapped = 0
    for module in model.modules():
        fast = table.get(type(module))  # exact type: a subclass may have its own forward
        if fast is not None:
            module.__class__ = fast
            swapped += 1
    return swapped
