"""The activation part of the memory estimator: linear in a batch's tokens, by method and attention."""

from __future__ import annotations

import pytest

from venus_core import memory

ESM2_8M = dict(n_layers=6, hidden=320, intermediate=1280, n_heads=20)


def test_activations_grow_linearly_with_the_batch_tokens():
    one = memory.activation_bytes(2000, 250, **ESM2_8M, precision="bf16")
    assert memory.activation_bytes(16000, 250, **ESM2_8M, precision="bf16") == pytest.approx(8 * one)
    per_h, per_i = memory.PER_TOKEN_LAYER["bf16"]
    assert one == 2000 * 6 * (per_h * 320 + per_i * 1280)


def test_methods_and_attention_change_the_estimate():
    full = memory.activation_bytes(8000, 250, **ESM2_8M)
    assert memory.activation_bytes(8000, 250, **ESM2_8M, lora=True) > full
    assert memory.activation_bytes(8000, 250, **ESM2_8M, trains_backbone=False) == pytest.approx(full / 6)
    eager = memory.activation_bytes(8000, 250, **ESM2_8M, eager_attention=True)
    assert eager - full == pytest.approx(8000 * 6 * 12 * 20 * 250)  # heads x longest per token
    assert memory.activation_bytes(8000, 250, **ESM2_8M, precision="bf16") < full
