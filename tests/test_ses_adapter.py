"""SES-Adapter: structure encoding, the published design (structure queries, rotary, chained kinds),
padding invariance, gradients, and a toy task that only aligned structure can solve."""

from __future__ import annotations

import random

import pandas as pd
import pytest
import torch

from venus_core import vocab
from venus_core.config import RunConfig
from venus_core.heads import POOLING_HEADS
from venus_core.methods.ses_adapter.model import (
    STRUCTURE_ALPHABETS,
    SesAdapter,
    encode_structure,
    rotary,
    vocab_size,
)
from venus_core.train import train

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


def test_rotary_scores_depend_on_relative_position_only() -> None:
    gen = torch.Generator().manual_seed(1)
    q, k = torch.randn(8, generator=gen), torch.randn(8, generator=gen)
    rq, rk = rotary(q.expand(12, 8)), rotary(k.expand(12, 8))  # the same vectors at positions 0..11
    scores = rq @ rk.T
    for offset in (-3, 0, 2):
        diagonal = torch.diagonal(scores, offset)
        torch.testing.assert_close(diagonal, diagonal[:1].expand_as(diagonal), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(scores[5, 5], scores[5, 7])  # but relative position matters
    torch.testing.assert_close(rotary(q.expand(3, 8))[0], q)  # position 0 is not rotated
    odd = torch.randn(4, 7, generator=gen)
    assert torch.equal(rotary(odd)[:, 6], odd[:, 6])  # an odd last channel is left as it is


def test_kinds_chain_foldseek_then_ss8() -> None:
    adapter = SesAdapter(H, ["ss8_seq", "foldseek_seq"]).eval()
    assert adapter.structure_kinds == ("foldseek_seq", "ss8_seq")
    seen: dict[str, torch.Tensor] = {}
    adapter.norms["foldseek_seq"].register_forward_hook(lambda m, i, o: seen.update(fused=o))
    adapter.attentions["ss8_seq"].register_forward_hook(lambda m, i, o: seen.update(keys=i[1]))
    gen = torch.Generator().manual_seed(2)
    mask = torch.ones(2, 7, dtype=torch.bool)
    adapter(torch.randn(2, 7, H, generator=gen), mask, {k: _tokens(k, 2, 7, gen) for k in KIND_SETS[2]})
    assert torch.equal(seen["keys"], seen["fused"])  # ss8 attends to the foldseek-fused states


@pytest.mark.parametrize("kind", ["foldseek_seq", "ss8_seq"])
def test_structure_letters_are_the_queries(kind: str) -> None:
    """A structure letter is a query: it changes its own position's output only (as keys and values,
    it would change every position's)."""
    adapter = _adapter((kind,)).eval()
    gen = torch.Generator().manual_seed(3)
    states, mask = torch.randn(1, 9, H, generator=gen), torch.ones(1, 9, dtype=torch.bool)
    tokens = _tokens(kind, 1, 9, gen)
    other = tokens.clone()
    other[0, 4] = tokens[0, 4] % (vocab_size(kind) - 2) + 2  # another letter at position 4 only
    changed = (adapter(states, mask, {kind: other}) - adapter(states, mask, {kind: tokens})).abs().amax(-1)
    assert changed[0, 4] > 1e-3
    assert torch.all(torch.cat([changed[0, :4], changed[0, 5:]]) < 1e-6)


def test_parameter_count() -> None:
    """Per kind: the letter embeddings, query/key/value projections and a LayerNorm."""
    for hidden in (320, 1280):  # ESM2-8M, ESM2-650M
        adapter = SesAdapter(hidden, vocab.STRUCTURE_SEQS)
        projections = 3 * (hidden * hidden + hidden)
        expected = sum(vocab_size(k) * hidden + projections + 2 * hidden for k in vocab.STRUCTURE_SEQS)
        assert sum(p.numel() for p in adapter.parameters()) == expected
    assert expected == 9_884_160


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
    # The same letters in another order differ too: rotary encoding places them.
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


def _aligned_toy(n: int, length: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Residues 0..18 with one marker residue (19) per sequence; ss8 half H, half E, shuffled, so its
    composition never changes; foldseek random. Label: is the marker's ss8 letter H? Only a model
    that aligns each structure letter with its residue can do better than chance."""
    residues = torch.randint(0, 19, (n, length), generator=gen)
    marker = torch.randint(0, length, (n,), generator=gen)
    residues[torch.arange(n), marker] = 19
    helix = torch.stack([torch.randperm(length, generator=gen) < length // 2 for _ in range(n)])
    ss8 = torch.where(helix, encode_structure("ss8_seq", "H")[0], encode_structure("ss8_seq", "E")[0])
    foldseek = torch.randint(2, vocab_size("foldseek_seq"), (n, length), generator=gen)
    return residues, ss8, foldseek, helix[torch.arange(n), marker].long()


def test_adapter_aligns_structure_with_residues() -> None:
    """The toy task of issue 13: the adapter before it (PLM states as queries, structure + a
    sinusoidal code as keys) stayed at chance here (validation accuracy 0.51)."""
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    hidden = 32  # 4 heads of 8 channels: 4 rotary frequencies per head
    residue_states = torch.randn(20, hidden, generator=gen)  # a frozen "PLM": one state per residue
    train, valid = _aligned_toy(512, 12, gen), _aligned_toy(256, 12, gen)
    adapter = SesAdapter(hidden, vocab.STRUCTURE_SEQS, num_heads=4, dropout=0.0)
    head = POOLING_HEADS["attention1d"](hidden, 2, 0.0)
    optimizer = torch.optim.AdamW([*adapter.parameters(), *head.parameters()], lr=3e-3)

    def logits(data: tuple[torch.Tensor, ...], idx: torch.Tensor) -> torch.Tensor:
        residues, ss8, foldseek, _ = data
        mask = torch.ones(len(idx), residues.shape[1], dtype=torch.bool)
        fused = adapter(
            residue_states[residues[idx]], mask, {"ss8_seq": ss8[idx], "foldseek_seq": foldseek[idx]}
        )
        return head(fused, mask)

    for _ in range(300):
        idx = torch.randint(0, 512, (64,), generator=gen)
        loss = torch.nn.functional.cross_entropy(logits(train, idx), train[3][idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (logits(valid, torch.arange(256)).argmax(-1) == valid[3]).float().mean().item()
    assert accuracy > 0.9


def _aligned_rows(n: int, seed: int, length: int = 14) -> list[dict]:
    """The same toy task as rows of a dataset: marker residue W, ss8 half H / half E."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        seq = [rng.choice("ACDEFGHIKLMNPQRSTVY") for _ in range(length)]
        marker = rng.randrange(length)
        seq[marker] = "W"
        ss8 = ["H"] * (length // 2) + ["E"] * (length - length // 2)
        rng.shuffle(ss8)
        foldseek = "".join(rng.choice(STRUCTURE_ALPHABETS["foldseek_seq"]) for _ in range(length))
        label = int(ss8[marker] == "H")
        rows.append(
            {"aa_seq": "".join(seq), "foldseek_seq": foldseek, "ss8_seq": "".join(ss8), "label": label}
        )
    return rows


def test_training_run_learns_the_aligned_toy_task(tiny_esm, tmp_path) -> None:
    """Through the whole pipeline (structure tokens aligned with model tokens, the frozen-embedding
    cache, residue masking): the adapter before issue 13 stayed at chance here too."""
    for i, (split, n) in enumerate((("train", 512), ("validation", 128), ("test", 128))):
        pd.DataFrame(_aligned_rows(n, seed=i)).to_csv(tmp_path / f"{split}.csv", index=False)
    cfg = RunConfig().with_values(
        plm_model=str(tiny_esm),
        dataset=str(tmp_path),
        problem_type="single_label_classification",
        num_labels=2,
        training_method="ses-adapter",
        pooling_method="attention1d",
        num_epochs=8,
        batch_size=32,
        learning_rate=5e-3,
        num_workers=0,
        output_dir=str(tmp_path / "runs"),
        seed=0,
    )
    result = train(cfg, emit=lambda event: None)
    assert result.status == "completed", result.message
    assert result.test_metrics["accuracy"] > 0.9


def test_checkpoint_of_the_earlier_adapter_design_is_refused_with_a_reason(tiny_esm, tmp_path) -> None:
    from safetensors.torch import save_file

    from venus_core.errors import VenusError
    from venus_core.modeling import build_model, load_trainable, trainable_state

    cfg = RunConfig().with_values(
        plm_model=str(tiny_esm), problem_type="single_label_classification", num_labels=2
    )
    built = build_model(cfg.with_values(training_method="ses-adapter"), torch.device("cpu"), 1)
    state = {k: v for k, v in trainable_state(built.model).items() if not k.startswith("fusion.")}
    state["ses.out_norm.weight"] = torch.ones(64)  # a tensor only the earlier design had
    save_file(state, str(tmp_path / "old.safetensors"), metadata={"format": "pt", "method": "ses-adapter"})
    with pytest.raises(VenusError, match="ses-adapter model of another design"):
        load_trainable(built.model, tmp_path / "old.safetensors")
    # A checkpoint of another method is still told apart from an earlier adapter.
    frozen = build_model(cfg.with_values(training_method="freeze"), torch.device("cpu"), 1)
    save_file(trainable_state(frozen.model), str(tmp_path / "freeze.safetensors"))
    with pytest.raises(VenusError, match="another model or method"):
        load_trainable(built.model, tmp_path / "freeze.safetensors")
