"""venus_sdpa: transformers' SDPA attention with bf16 inputs cast to float32 on CPUs. It must give
what SDPA gives: exactly in float32 (the cast is skipped), to bf16 rounding under autocast."""

from __future__ import annotations

import pytest
import torch

from venus_core import backbones, fast_attention


def _load(tiny_esm):
    model, tok, _ = backbones.load_backbone(str(tiny_esm), False, None)
    return model.eval(), tok


def _inputs():
    torch.manual_seed(0)
    ids = torch.randint(4, 24, (3, 17))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0  # padding must stay masked
    mask[2, 4:] = 0
    return ids, mask


def test_a_loaded_esm_runs_venus_sdpa(tiny_esm):
    model, _ = _load(tiny_esm)
    assert model.config._attn_implementation == fast_attention.NAME


@pytest.mark.parametrize("bf16", [False, True])
def test_same_outputs_as_sdpa(tiny_esm, bf16, monkeypatch):
    monkeypatch.setattr(fast_attention, "upcast_on_cpu", lambda: True)
    model, _ = _load(tiny_esm)
    ids, mask = _inputs()
    outs = {}
    for impl in (fast_attention.NAME, "sdpa"):
        model.set_attn_implementation(impl)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            outs[impl] = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    a, b = outs[fast_attention.NAME], outs["sdpa"]
    if bf16:
        torch.testing.assert_close(a, b, atol=0.1, rtol=0.05)  # bf16 rounding of the attention
    else:
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_gradients_flow_through_the_cast(tiny_esm, monkeypatch):
    monkeypatch.setattr(fast_attention, "upcast_on_cpu", lambda: True)
    model, _ = _load(tiny_esm)
    model.train()
    ids, mask = _inputs()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(input_ids=ids, attention_mask=mask).last_hidden_state
    out.float().sum().backward()
    q = model.encoder.layer[0].attention.self.query.weight.grad
    assert q is not None and torch.isfinite(q).all() and q.abs().sum() > 0
