"""The single-kernel GELU swap: same outputs and gradients as transformers' own layers."""

from __future__ import annotations

import copy

import pytest
import torch

from venus_core import backbones
from venus_core.fast_layers import use_fast_layers


def _encoder(kind: str, folder):
    from transformers import EsmModel, T5EncoderModel

    if kind == "esm":
        return EsmModel.from_pretrained(str(folder), add_pooling_layer=False)
    return T5EncoderModel.from_pretrained(str(folder))


@pytest.mark.parametrize("kind", ["esm", "t5"])
def test_swap_keeps_outputs_gradients_and_weights(tiny_models, kind):
    original = _encoder(kind, tiny_models[kind]).eval()  # eval: T5's dropout would differ
    fast = copy.deepcopy(original)
    assert use_fast_layers(fast) == 2  # one GELU per layer, two layers
    assert use_fast_layers(fast) == 0  # already swapped: nothing left to do
    assert fast.state_dict().keys() == original.state_dict().keys()
    swapped = [m for m in fast.modules() if type(m).__name__.startswith("Fast")]
    assert len(swapped) == 2 and all(isinstance(m, type(m).__mro__[1]) for m in swapped)
    # One kernel: the activation's output comes straight from GELU's backward node, not a product.
    x = torch.randn(2, 5, swapped[0].dense.in_features if kind == "esm" else 8, requires_grad=True)
    assert swapped[0](x).grad_fn.name() == "GeluBackward0"

    torch.manual_seed(0)
    ids = torch.randint(4, 20, (3, 17))
    mask = torch.ones_like(ids)
    mask[0, -5:] = 0
    # A random projection: a sum of squares of layer-normed states would be nearly constant.
    weight = torch.randn(original.config.hidden_size if kind == "esm" else original.config.d_model)
    outs = []
    for model in (original, fast):
        states = model(input_ids=ids, attention_mask=mask).last_hidden_state
        (states * mask.unsqueeze(-1) * weight).sum().backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        outs.append((states.detach(), grads))
    (s0, g0), (s1, g1) = outs
    torch.testing.assert_close(s1, s0, rtol=1e-5, atol=1e-6)
    assert g1.keys() == g0.keys()
    for name in g0:  # summed over tokens, so compare against the gradient's own size
        assert (g1[name] - g0[name]).norm() <= 1e-5 * g0[name].norm(), name


def test_bert_has_nothing_to_swap(tiny_models):
    from transformers import BertModel

    # BERT's GELU is already F.gelu: the swap must leave it alone.
    assert use_fast_layers(BertModel.from_pretrained(str(tiny_models["bert"]))) == 0


def test_load_backbone_swaps(tiny_models):
    model, _, _ = backbones.load_backbone(str(tiny_models["esm"]))
    assert [type(m).__name__ for m in model.modules() if "Intermediate" in type(m).__name__] == [
        "FastEsmIntermediate",
        "FastEsmIntermediate",
    ]
