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
    per_h, per_i = memory.PER_TOKEN_LAYER["bf16"]  # each precision its own measured coefficients
    bf16 = 8000 * 6 * (per_h * 320 + per_i * 1280)
    assert memory.activation_bytes(8000, 250, **ESM2_8M, precision="bf16") == pytest.approx(bf16)
    assert bf16 != pytest.approx(full)


# Peak RSS of whole float32 ``full`` runs of the ESM2-8M shape (MiB), measured by
# ``python -m bench.token_batches [--long]`` on a 2-core AVX2 AMD EPYC (float32 there), 2026-12-03:
# (batch tokens, peak) at two token budgets, short (50-250) and long (300-1000) proteins.
FP32_FULL_PEAKS = {"short": ((2000, 1356), (16000, 4065)), "long": ((1984, 1343), (15960, 4171))}


@pytest.mark.parametrize("lengths", sorted(FP32_FULL_PEAKS))
def test_the_float32_estimate_grows_like_the_measured_peak(lengths):
    # Until 2026-12-03 the float32 coefficients were the bf16 ones scaled by a guess, and the
    # estimate grew 1.85x faster than the measured peak (16000 tokens: estimate 6.4 GB, peak 4.1 GB).
    (t0, p0), (t1, p1) = FP32_FULL_PEAKS[lengths]
    grew = memory.activation_bytes(t1, 250, **ESM2_8M) - memory.activation_bytes(t0, 250, **ESM2_8M)
    assert 1 / 1.25 <= grew / 2**20 / (p1 - p0) <= 1.25


def test_the_model_page_counts_the_largest_piece_a_cpu_step_runs(tiny_esm, monkeypatch):
    """On a CPU a step runs a big token batch in pieces (batching.CPU_PIECE_ELEMENTS), so the Model
    page's activations are the piece's, and it says which batch they stand for; on a GPU, the batch's."""
    import torch
    from transformers import AutoConfig

    from venus_core import batching, devices
    from venus_core.config import RunConfig
    from venus_core.modeling import model_stats_preview

    width = AutoConfig.from_pretrained(tiny_esm).hidden_size
    piece = batching.piece_tokens("cpu", width)

    def estimate(batch_token: int) -> dict:
        cfg = RunConfig().with_values(
            plm_model=str(tiny_esm),
            training_method="full",
            batch_mode="token",
            batch_token=batch_token,
            device="cpu",
        )
        return model_stats_preview(cfg)["memory_bytes"]

    big = estimate(4 * piece)
    assert (big["activation_tokens"], big["batch_tokens"]) == (piece, 4 * piece)
    assert big["activations"] == pytest.approx(estimate(piece)["activations"])
    monkeypatch.setattr(devices, "pick_device", lambda name: torch.device("cuda"))
    monkeypatch.setattr(devices, "autocast_dtype", lambda device, mixed: None)
    on_gpu = estimate(4 * piece)
    assert on_gpu["activation_tokens"] == 4 * piece
    assert on_gpu["activations"] == pytest.approx(4 * big["activations"])
