"""The CPU dropout with a cheap mask: the distribution it promises, its gradient, reproducibility,
and that a built model's dropouts (the adapters' ones included) use it."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import make_cfg, write_toy_dataset
from torch import nn

from venus_core.fast_dropout import FastDropout, dropout, keep_probability, use_fast_dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keeps_each_element_with_the_stated_probability_and_preserves_the_mean(p: float) -> None:
    torch.manual_seed(0)
    x = torch.rand(1000, 1000) + 1.0  # positive: a kept element is never 0
    y = dropout(x, p)
    kept = y != 0
    q = keep_probability(p)
    assert abs(q - (1 - p)) <= 0.5 / 2**16  # 16-bit threshold
    n = x.numel()
    # Within 5 standard deviations of the binomial: fails for a biased or a constant mask.
    assert abs(kept.sum().item() - n * q) <= 5 * math.sqrt(n * q * (1 - q))
    torch.testing.assert_close(y[kept], x[kept] / q)  # kept elements scaled so E[y] = x
    # No pattern along rows or columns (a mask reused or strided across the tensor would show one).
    for axis in (0, 1):
        share = kept.float().mean(axis)
        assert (share - q).abs().max() <= 6 * math.sqrt(q * (1 - q) / 1000)


def test_gradient_is_the_same_mask_and_scale() -> None:
    torch.manual_seed(1)
    x = torch.randn(64, 48, requires_grad=True)
    y = dropout(x, 0.3)
    g = torch.randn_like(y)
    y.backward(g)
    keep = (y != 0).float()
    torch.testing.assert_close(x.grad, g * keep / keep_probability(0.3))


def test_masks_follow_torch_seed() -> None:
    x = torch.ones(300, 200)
    torch.manual_seed(7)
    a, b = dropout(x, 0.2), dropout(x, 0.2)
    torch.manual_seed(7)
    a2 = dropout(x, 0.2)
    assert torch.equal(a, a2)  # a seeded (or resumed: torch's generator restored) run repeats
    assert not torch.equal(a, b)  # each call a fresh mask


def test_module_falls_back_to_torch_where_the_fast_mask_does_not_apply() -> None:
    x = torch.randn(50, 40)
    layer = FastDropout(0.25)
    assert torch.equal(layer.eval()(x), x)
    layer.train()
    for p in (0.0, 0.001, 1.0):  # 16 bits too coarse, or nothing to draw: torch's own dropout
        layer.p = p
        torch.manual_seed(3)
        expected = F.dropout(x, p, training=True)
        torch.manual_seed(3)
        assert torch.equal(layer(x), expected)
    inplace = FastDropout(0.25, inplace=True).train()
    torch.manual_seed(3)
    expected = F.dropout(x.clone(), 0.25, training=True)
    torch.manual_seed(3)
    assert torch.equal(inplace(x.clone()), expected)


def test_swap_covers_plain_dropouts_only() -> None:
    class Custom(nn.Dropout):
        pass

    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1), nn.Dropout(0.0), Custom(0.2), nn.Dropout(0.5))
    assert use_fast_dropout(model) == 2
    assert [type(m).__name__ for m in model] == ["Linear", "FastDropout", "Dropout", "Custom", "FastDropout"]
    assert use_fast_dropout(model) == 0
    assert isinstance(model[1], nn.Dropout) and model[1].p == 0.1


def test_built_lora_model_drops_adapter_inputs_with_the_fast_mask(tiny_esm, tmp_path) -> None:
    from venus_core.modeling import build_model

    data = write_toy_dataset(tmp_path / "data", "single_label_classification", 8, 4)
    cfg = make_cfg(tiny_esm, data, "single_label_classification", tmp_path / "runs")
    cfg = cfg.with_values(training_method="plm-lora", lora_dropout=0.1)
    model = build_model(cfg, torch.device("cpu"), total_steps=1).model
    adapters = [m for n, m in model.named_modules() if "lora_dropout" in n and isinstance(m, nn.Dropout)]
    assert adapters and all(type(m) is FastDropout and m.p == 0.1 for m in adapters)
    assert not [m for m in model.modules() if type(m) is nn.Dropout and m.p > 0]
