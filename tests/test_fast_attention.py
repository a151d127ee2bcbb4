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
def test_same_outputs_as_sdpa(tiny_esm, bf16):
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


def test_gradients_flow_through_the_cast(tiny_esm):
    model, _ = _load(tiny_esm)
    model.train()
    ids, mask = _inputs()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(input_ids=ids, attention_mask=mask).last_hidden_state
    out.float().sum().backward()
    q = model.encoder.layer[0].attention.self.query.weight.grad
    assert q is not None and torch.isfinite(q).all() and q.abs().sum() > 0


@pytest.mark.parametrize("amx", [False, True])
def test_which_cpu_calls_get_float32(tiny_esm, monkeypatch, amx):
    """Under bf16 autocast the kernel gets float32 on CPUs without AMX, and on AMX CPUs where a
    backward pass follows (both measured slower in bf16); an AMX forward alone stays bf16."""
    from transformers.integrations import sdpa_attention

    seen = []
    kernel = sdpa_attention.sdpa_attention_forward

    def spy(module, query, *args, **kwargs):
        seen.append(query.dtype)
        return kernel(module, query, *args, **kwargs)

    monkeypatch.setattr(sdpa_attention, "sdpa_attention_forward", spy)
    monkeypatch.setattr(fast_attention, "cpu_has_amx", lambda: amx)
    model, _ = _load(tiny_esm)
    ids, mask = _inputs()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        model(input_ids=ids, attention_mask=mask)
    assert seen and set(seen) == {torch.bfloat16 if amx else torch.float32}
    seen.clear()
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model(input_ids=ids, attention_mask=mask).last_hidden_state.float().sum().backward()
    assert seen and set(seen) == {torch.float32}
