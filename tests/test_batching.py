"""Batching: every index once per epoch, budgets kept, bucketing, reproducible per (seed, epoch)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from venus_core.batching import (
    MEGA_BATCH,
    PAD_MULTIPLE,
    accumulation_group_sizes,
    make_batches,
    micro_batches,
    padded_fraction,
    padded_lengths,
    shard_batches,
    split_batch,
)


def _random_case(rng: random.Random) -> tuple[list[int], dict]:
    n = rng.choice([0, 1, 2, 7, 50, 333, 1200])
    spread = rng.choice([5, 50, 1000])
    lengths = [rng.randint(1, spread) for _ in range(n)]
    kwargs = dict(
        mode=rng.choice(["size", "token"]),
        batch_size=rng.randint(1, 40),
        batch_token=rng.randint(1, 3000),
        shuffle=rng.random() < 0.5,
        seed=rng.randint(0, 10**6),
        epoch=rng.randint(0, 50),
    )
    return lengths, kwargs


def _check_invariants(lengths: list[int], batches: list[list[int]], kw: dict) -> None:
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths))), "every index exactly once"
    assert all(b for b in batches), "no empty batch"
    for b in batches:
        if kw["mode"] == "size":
            assert len(b) <= kw["batch_size"]
        else:
            padded = max(lengths[i] for i in b) * len(b)
            # over budget only as a single sequence longer than the budget
            assert padded <= kw["batch_token"] or len(b) == 1


def test_random_inputs_every_index_once_and_budgets_kept():
    rng = random.Random(1234)
    for _ in range(300):
        lengths, kw = _random_case(rng)
        _check_invariants(lengths, make_batches(lengths, **kw), kw)


@pytest.mark.parametrize("mode", ["size", "token"])
def test_same_seed_and_epoch_give_the_same_batches(mode):
    lengths = list(np.random.default_rng(0).integers(5, 500, size=2000))
    kw = dict(mode=mode, batch_size=8, batch_token=2000, shuffle=True, seed=7)
    assert make_batches(lengths, **kw, epoch=3) == make_batches(lengths, **kw, epoch=3)


@pytest.mark.parametrize("mode", ["size", "token"])
def test_epochs_differ_in_order_and_composition(mode):
    lengths = list(np.random.default_rng(0).integers(5, 500, size=2000))
    kw = dict(mode=mode, batch_size=8, batch_token=2000, shuffle=True, seed=7)
    e1, e2 = make_batches(lengths, **kw, epoch=1), make_batches(lengths, **kw, epoch=2)
    assert e1 != e2
    assert {tuple(sorted(b)) for b in e1} != {tuple(sorted(b)) for b in e2}, "not just reordered"
    other_seed = make_batches(lengths, **{**kw, "seed": 8}, epoch=1)
    assert other_seed != e1


def test_long_sequence_gets_its_own_batch_and_is_never_dropped():
    lengths = [10, 5000, 12, 11, 9000, 10]
    for shuffle in (True, False):
        batches = make_batches(lengths, mode="token", batch_size=1, batch_token=100, shuffle=shuffle)
        assert [1] in batches and [4] in batches
        assert sorted(i for b in batches for i in b) == list(range(6))


def test_token_budget_counts_padding():
    # 3 x 40 = 120 > 100: the third sequence of length 40 starts a new batch
    batches = make_batches([40, 40, 40], mode="token", batch_size=1, batch_token=100, shuffle=False)
    assert sorted(map(len, batches)) == [1, 2]


def test_evaluation_batches_are_sorted_longest_first():
    lengths = [3, 9, 1, 7, 5, 8]
    batches = make_batches(lengths, mode="size", batch_size=2, batch_token=1, shuffle=False)
    assert batches == [[1, 5], [3, 4], [0, 2]]
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat, reverse=True)


def test_bucketing_keeps_padding_small():
    lengths = list(np.random.default_rng(1).integers(20, 1000, size=5000))
    bucketed = make_batches(lengths, mode="size", batch_size=16, batch_token=1, shuffle=True, seed=0)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(lengths)).tolist()
    unbucketed = [perm[i : i + 16] for i in range(0, len(perm), 16)]
    assert padded_fraction(bucketed, lengths) < 0.1 < padded_fraction(unbucketed, lengths)


def test_shuffled_batches_mix_lengths_across_the_epoch():
    # bucketing is within mega-batches: short and long batches alternate, not one sorted sweep
    n = MEGA_BATCH * 4 * 10
    lengths = list(np.random.default_rng(2).integers(1, 1000, size=n))
    batches = make_batches(lengths, mode="size", batch_size=4, batch_token=1, shuffle=True, seed=0)
    maxima = [max(lengths[i] for i in b) for b in batches]
    assert maxima != sorted(maxima) and maxima != sorted(maxima, reverse=True)


def test_padded_fraction_exact():
    lengths = [2, 4, 4, 1]
    # batch [0, 1]: 2 x 4 = 8 tokens, 6 real; batch [2, 3]: 8 tokens, 5 real
    assert padded_fraction([[0, 1], [2, 3]], lengths) == pytest.approx(5 / 16)
    assert padded_fraction([], lengths) == 0.0


def test_batches_are_padded_to_a_multiple_and_budgets_count_it(tiny_models):
    """A batch's width is its longest sequence rounded up to PAD_MULTIPLE (fewer matmul shapes),
    and a token budget holds the padded batch, not only its longest sequence."""
    import pandas as pd

    from venus_core.backbones import load_backbone
    from venus_core.config import RunConfig
    from venus_core.pipeline import batch_width, collate, encode_frame, train_batches

    assert padded_lengths(np.array([0, 1, 8, 9, 17])).tolist() == [0, 8, 8, 16, 24]
    assert padded_fraction([[0, 1]], [3, 5], multiple=8) == (16 - 8) / 16
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), int(n))) for n in rng.integers(5, 60, 80)]
    cfg = RunConfig().with_values(plm_model=str(tiny_models["esm"]), batch_mode="token", batch_token=200)
    split = encode_frame(
        pd.DataFrame({"aa_seq": seqs}), load_backbone(cfg.model.plm_model)[1], cfg, targets=None
    )
    batches = train_batches(split, cfg, epoch=1)
    assert sorted(i for b in batches for i in b) == list(range(len(seqs)))
    for idx in batches:
        width = batch_width(split, idx)
        assert width % PAD_MULTIPLE == 0 and 0 <= width - split.lengths[idx].max() < PAD_MULTIPLE
        assert collate(split, idx)["input_ids"].shape == (len(idx), width)
        assert len(idx) == 1 or len(idx) * width <= 200


def test_empty_split_and_bad_arguments():
    assert make_batches([], mode="size", batch_size=4, batch_token=10, shuffle=True) == []
    with pytest.raises(ValueError, match="mode"):
        make_batches([1], mode="tokens", batch_size=4, batch_token=10, shuffle=True)
    with pytest.raises(ValueError):
        make_batches([1], mode="size", batch_size=0, batch_token=10, shuffle=True)


@pytest.mark.parametrize("n_batches", [0, 1, 5, 8, 13])
@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_shard_training_pads_to_equal_counts(n_batches, world_size):
    batches = [[i] for i in range(n_batches)]
    shards = [shard_batches(batches, r, world_size, pad=True) for r in range(world_size)]
    assert len({len(s) for s in shards}) == 1, "same number of batches on every rank"
    seen = {i for s in shards for b in s for i in b}
    assert seen == set(range(n_batches)), "nothing dropped"
    assert sum(map(len, shards)) - n_batches < world_size, "padding only fills the last round"


@pytest.mark.parametrize("world_size", [1, 2, 3, 5])
def test_shard_evaluation_is_disjoint_and_complete(world_size):
    lengths = list(np.random.default_rng(3).integers(1, 300, size=101))
    batches = make_batches(lengths, mode="token", batch_size=1, batch_token=900, shuffle=False)
    shards = [shard_batches(batches, r, world_size, pad=False) for r in range(world_size)]
    flat = [i for s in shards for b in s for i in b]
    assert sorted(flat) == list(range(101))
    with pytest.raises(ValueError):
        shard_batches(batches, world_size, world_size, pad=False)


def test_a_batch_is_cut_into_consecutive_pieces_within_the_budget():
    lengths = np.array([8, 8, 16, 16, 16, 24, 40, 64])
    pieces = split_batch(list(range(8)), lengths, 48)
    assert [i for p in pieces for i in p] == list(range(8))  # in order, every index once
    assert all(lengths[p].max() * len(p) <= 48 or len(p) == 1 for p in pieces)
    assert pieces == [[0, 1], [2, 3], [4, 5], [6], [7]]  # 64 > 48 is a piece of its own
    # Just over the budget: two equal halves, not a full piece and a one-sequence remainder.
    assert split_batch([0, 1, 2, 3, 4], np.full(5, 10), 40) == [[0, 1, 2], [3, 4]]
    assert split_batch([3, 1], np.full(5, 10), 40) == [[3, 1]]  # within the budget: whole


def test_micro_batches_weigh_examples_and_mark_each_steps_end():
    lengths = np.full(10, 16)
    batches = [[0, 1, 2, 3], [4, 5], [6, 7, 8, 9]]
    totals = accumulation_group_sizes([len(b) for b in batches], 2)  # [6, 4]
    micro = micro_batches(batches, lengths, 2, totals, piece_tokens=32)  # 2 sequences a piece
    assert micro.indices == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    assert micro.weights == pytest.approx([2 / 6, 2 / 6, 2 / 6, 2 / 4, 2 / 4])
    assert micro.ends_step == [False, False, True, False, True]
    assert micro.per_step == [3, 3, 3, 2, 2]
    whole = micro_batches(batches, lengths, 2, totals)  # no budget: the batches themselves
    assert whole.indices == batches and whole.weights == pytest.approx([4 / 6, 2 / 6, 1.0])
    assert micro_batches([], lengths, 2, []).indices == []


def test_pieces_are_for_a_cpu_and_shrink_as_the_model_widens():
    from venus_core.batching import CPU_PIECE_ELEMENTS, MIN_PIECE_TOKENS, piece_tokens

    assert piece_tokens("cpu", 320) == CPU_PIECE_ELEMENTS // 320 == 1024  # ESM2-8M: measured best
    assert piece_tokens("cpu", 1280) == 256  # ESM2-650M: the same activation bytes per piece
    assert piece_tokens("cpu", 10**6) == MIN_PIECE_TOKENS
    assert piece_tokens("cuda", 320) is None  # GPUs want big batches
