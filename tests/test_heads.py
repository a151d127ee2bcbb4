"""Pooling heads: padding-invariant, train at batch size 1, gradients everywhere, bf16-safe."""

from __future__ import annotations

import pytest
import torch

from venus_core import vocab
from venus_core.heads import POOLING_HEADS, build_head

H, OUT = 16, 3
NAMES = list(POOLING_HEADS)


def _head(name: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return POOLING_HEADS[name](H, OUT, dropout=0.1)


def test_registry_matches_vocab() -> None:
    assert tuple(POOLING_HEADS) == vocab.POOLING_METHODS
    assert POOLING_HEADS["mean"].pool_has_parameters is False
    assert POOLING_HEADS["attention1d"].pool_has_parameters is True
    assert POOLING_HEADS["light_attention"].pool_has_parameters is True
    with pytest.raises(ValueError):
        build_head("max", H, OUT)


@pytest.mark.parametrize("name", NAMES)
def test_padding_invariance(name: str) -> None:
    head = _head(name).eval()
    gen = torch.Generator().manual_seed(1)
    short_len, long_len = 7, 19
    short = torch.randn(1, short_len, H, generator=gen)
    long = torch.randn(1, long_len, H, generator=gen)
    alone = head(short, torch.ones(1, short_len, dtype=torch.bool))

    batch = torch.empty(2, long_len, H)
    batch[0, :short_len] = short[0]
    batch[0, short_len:] = 1e4 * torch.randn(long_len - short_len, H, generator=gen)  # garbage
    batch[1] = long[0]
    mask = torch.zeros(2, long_len, dtype=torch.bool)
    mask[0, :short_len] = True
    mask[1] = True
    batched = head(batch, mask)
    torch.testing.assert_close(batched[0:1], alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(batched[1:2], head(long, torch.ones(1, long_len, dtype=torch.bool)))
    # Pooled vectors too (what the trainer caches for frozen backbones).
    pooled = head.pool(batch, mask)
    assert pooled.shape == (2, head.output_dim)
    torch.testing.assert_close(pooled[0:1], head.pool(short, torch.ones(1, short_len, dtype=torch.bool)))


@pytest.mark.parametrize("name", NAMES)
def test_batch_of_one_trains_and_every_parameter_gets_a_gradient(name: str) -> None:
    head = _head(name).train()
    hidden = torch.randn(1, 11, H, requires_grad=True)
    mask = torch.ones(1, 11, dtype=torch.bool)
    mask[0, 9:] = False
    logits = head(hidden, mask)
    assert logits.shape == (1, OUT)
    logits.square().sum().backward()
    for pname, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, pname
    # Padding positions receive no gradient: they never influence the result.
    assert torch.all(hidden.grad[0, 9:] == 0)


@pytest.mark.parametrize("name", NAMES)
def test_all_ones_mask(name: str) -> None:
    head = _head(name).eval()
    hidden = torch.randn(4, 10, H)
    logits = head(hidden, torch.ones(4, 10, dtype=torch.bool))
    assert logits.shape == (4, OUT) and torch.isfinite(logits).all()
    # Mean pooling on a full mask is the plain mean.
    if name == "mean":
        torch.testing.assert_close(head.pool(hidden, torch.ones(4, 10, dtype=torch.bool)), hidden.mean(1))


@pytest.mark.parametrize("name", NAMES)
def test_bf16_autocast_with_padding_has_no_nan(name: str) -> None:
    head = _head(name).train()
    hidden = torch.randn(3, 12, H)
    mask = torch.ones(3, 12, dtype=torch.bool)
    mask[0, 4:] = False
    mask[1, 8:] = False
    hidden[~mask] = 3e4  # large padding values, beyond what a bf16 product tolerates well
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = head(hidden, mask)
    assert torch.isfinite(logits.float()).all()
    logits.float().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)


def test_mean_pool_ignores_padding_in_count() -> None:
    head = _head("mean")
    hidden = torch.tensor([[[1.0] * H, [3.0] * H, [100.0] * H]])
    mask = torch.tensor([[True, True, False]])
    torch.testing.assert_close(head.pool(hidden, mask), torch.full((1, H), 2.0))


def test_light_attention_shape() -> None:
    head = _head("light_attention")
    assert head.output_dim == 2 * H
    assert head.classifier[1].out_features == 32
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in head.modules())


@pytest.mark.parametrize("name", NAMES)
def test_bf16_hidden_states_into_float32_head(name: str) -> None:
    # A bf16 backbone feeding a float32 head, without autocast.
    head = _head(name).eval()
    logits = head(torch.randn(2, 6, H).bfloat16(), torch.ones(2, 6, dtype=torch.bool))
    assert logits.dtype == torch.float32 and torch.isfinite(logits).all()
