"""SES-Adapter: structure encoding, padding invariance, gradients, and that fusion does something."""

from __future__ import annotations

import pytest
import torch

from venus_core import vocab
from venus_core.ses_adapter import (
    STRUCTURE_ALPHABETS,
    SesAdapter,
    encode_structure,
    sinusoidal_positions,
    vocab_size,
)

H = 24
KIND_SETS = [("foldseek_seq",), ("ss8_seq",), ("foldseek_seq", "ss8_seq")]


def _tokens(kind: str, batch: int, length: int, gen: torch.Generator) -> torch.Tensor:
    return torch.randint(1, vocab_size(kind), (batch, length), generator=gen)


def _adapter(kinds: tuple[str, ...], seed: int = 0) -> SesAdapter:
    torch.manual_seed(seed)
    return SesAdapter(H, kinds, num_heads=8, dropout=0.1)


def test_alphabets_cover_vocab() -> None:
    assert set(STRUCTURE_ALPHABETS) == set(vocab.STRUCTURE_SEQS)


def test_encode_structure() -> None:
    assert encode_structure("ss8_seq", "HGIEBTSL") == list(range(2, 10))
    assert encode_structure("ss8_seq", "hC-. L") == [2, 9, 9, 9, 9, 9]
    assert encode_structure("ss8_seq", "X?") == [1, 1]
    assert encode_structure("foldseek_seq", "acY") == [2, 3, 21]
    assert encode_structure("foldseek_seq", "B#") == [1, 1]
    assert vocab_size("foldseek_seq") == 22 and vocab_size("ss8_seq") == 10
    with pytest.raises(ValueError):
        encode_structure("dssp3", "HHH")


def test_num_heads_divides_hidden_size() -> None:
    assert SesAdapter(24, ["ss8_seq"], num_heads=8).num_heads == 8
    assert SesAdapter(20, ["ss8_seq"], num_heads=8).num_heads == 4
    assert SesAdapter(6, ["ss8_seq"], num_heads=8).num_heads == 2
    assert SesAdapter(7, ["ss8_seq"], num_heads=8).num_heads == 1
    assert SesAdapter(24, ["ss8_seq"], num_heads=4).num_heads == 4


def test_positions_are_distinct() -> None:
    pe = sinusoidal_positions(10, 7)
    assert pe.shape == (10, 7) and torch.unique(pe, dim=0).shape[0] == 10


@pytest.mark.parametrize("kinds", KIND_SETS)
def test_padding_invariance(kinds: tuple[str, ...]) -> None:
    adapter = _adapter(kinds).eval()
    gen = torch.Generator().manual_seed(3)
    n_short, n_long = 6, 15
    short = torch.randn(1, n_short, H, generator=gen)
    short_tok = {k: _tokens(k, 1, n_short, gen) for k in kinds}
    alone = adapter(short, torch.ones(1, n_short, dtype=torch.bool), short_tok)

    states = 1e4 * torch.randn(2, n_long, H, generator=gen)  # garbage in the padding
    states[0, :n_short] = short[0]
    mask = torch.ones(2, n_long, dtype=torch.bool)
    mask[0, n_short:] = False
    tokens = {k: _tokens(k, 2, n_long, gen) for k in kinds}  # garbage tokens in the padding too
    for k in kinds:
        tokens[k][0, :n_short] = short_tok[k][0]
    fused = adapter(states, mask, tokens)
    assert fused.shape == (2, n_long, H)
    torch.testing.assert_close(fused[0:1, :n_short], alone, atol=1e-5, rtol=1e-5)
    assert torch.all(fused[0, n_short:] == 0)


@pytest.mark.parametrize("kinds", KIND_SETS)
def test_gradients_reach_embeddings_at_batch_size_one(kinds: tuple[str, ...]) -> None:
    adapter = _adapter(kinds).train()
    gen = torch.Generator().manual_seed(4)
    states = torch.randn(1, 9, H, generator=gen, requires_grad=True)
    mask = torch.ones(1, 9, dtype=torch.bool)
    mask[0, 7:] = False
    out = adapter(states, mask, {k: _tokens(k, 1, 9, gen) for k in kinds})
    (out * torch.randn_like(out)).sum().backward()
    for kind in kinds:
        grad = adapter.embeddings[kind].weight.grad
        assert grad is not None and grad.abs().sum() > 0
        assert torch.all(grad[0] == 0)  # the padding embedding is never trained
    for name, param in adapter.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize("kinds", KIND_SETS)
def test_structure_changes_the_output(kinds: tuple[str, ...]) -> None:
    adapter = _adapter(kinds).eval()
    gen = torch.Generator().manual_seed(5)
    states = torch.randn(2, 10, H, generator=gen)
    mask = torch.ones(2, 10, dtype=torch.bool)
    tokens = {k: _tokens(k, 2, 10, gen) for k in kinds}
    base = adapter(states, mask, tokens)
    for k in kinds:
        other = dict(tokens)
        other[k] = (tokens[k] - 1 + 3) % (vocab_size(k) - 1) + 1  # a different valid letter everywhere
        assert not torch.allclose(adapter(states, mask, other), base, atol=1e-4)
    # The same letters in another order differ too: keys carry their position.
    shuffled = {k: t.flip(-1) for k, t in tokens.items()}
    assert not torch.allclose(adapter(states, mask, shuffled), base, atol=1e-4)


def test_bf16_autocast_and_bf16_states() -> None:
    adapter = _adapter(("foldseek_seq", "ss8_seq")).train()
    gen = torch.Generator().manual_seed(6)
    states = torch.randn(2, 8, H, generator=gen)
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[1, 3:] = False
    tokens = {k: _tokens(k, 2, 8, gen) for k in adapter.structure_kinds}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = adapter(states, mask, tokens)
    assert torch.isfinite(out.float()).all()
    out_bf16 = adapter.eval()(states.bfloat16(), mask, tokens)
    assert out_bf16.dtype == torch.float32 and torch.isfinite(out_bf16).all()


def test_bad_inputs_raise() -> None:
    adapter = _adapter(("foldseek_seq", "ss8_seq"))
    states, mask = torch.randn(1, 5, H), torch.ones(1, 5, dtype=torch.bool)
    with pytest.raises(ValueError, match="missing"):
        adapter(states, mask, {"foldseek_seq": torch.ones(1, 5, dtype=torch.long)})
    with pytest.raises(ValueError, match="shape"):
        adapter(states, mask, {k: torch.ones(1, 4, dtype=torch.long) for k in adapter.structure_kinds})
    with pytest.raises(ValueError):
        SesAdapter(H, [])
    with pytest.raises(ValueError):
        SesAdapter(H, ["dssp3"])
