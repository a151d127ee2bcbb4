"""Length-bucketed batches, by sequence count or by token budget, re-drawn every epoch.

Three defects of the reference implementation shaped this module: its token batches were formed
once (every epoch saw the same batches in the same order), sequences longer than the budget were
silently dropped (from the test set too), and there was no length bucketing (much padding).

Here every index appears exactly once per epoch; training batches are re-drawn from
``(seed, epoch)`` (so a resumed run sees the same batches) and bucketed by length within
"mega-batches" of about ``MEGA_BATCH`` batches, which keeps padding small while still mixing
lengths across the epoch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MEGA_BATCH = 50  # batches' worth of sequences sorted together when shuffling


# Every batch is padded to a multiple of this many tokens. The CPU backend (oneDNN) builds and
# caches a kernel per matmul shape (up to 1,024), and with batch widths of every value a run keeps
# adding them: in a fresh process `full` at batch size 8 peaked at 1.83x the memory estimate.
# Rounding widths up to a multiple of 8 cuts the shapes 8-fold for at most 7 padding tokens per
# sequence. Measured (bench/README.md, Token budgets, padding) at 8 sequences: peak 2.09 -> 1.43 GB
# and 5,047 -> 5,752 residues/s (`full`), 3,710 -> 4,644 (`plm-lora`); every row there.
# Multiples of 8 are also what GPU tensor cores want.
PAD_MULTIPLE = 8


def padded_lengths(lengths: np.ndarray, multiple: int | None = None) -> np.ndarray:
    """Token counts rounded up to the padded width they take in a batch (``multiple``: default
    ``PAD_MULTIPLE``, read at the call)."""
    multiple = multiple or PAD_MULTIPLE
    return -(-np.asarray(lengths, dtype=np.int64) // multiple) * multiple


def make_batches(
    lengths: Sequence[int],
    *,
    mode: str,
    batch_size: int,
    batch_token: int,
    shuffle: bool,
    seed: int = 0,
    epoch: int = 0,
) -> list[list[int]]:
    """Group the indices of a split into batches.

    ``lengths`` are token counts per sequence (the caller adds special tokens and truncation).
    ``mode="size"``: ``batch_size`` sequences per batch. ``mode="token"``: the padded size
    ``max length in batch * batch length`` stays within ``batch_token``; a sequence longer than
    the budget gets a batch of its own (never dropped).

    ``shuffle=True`` (training): a permutation from ``default_rng((seed, epoch))`` is cut into
    mega-batches, each sorted by length and cut into batches, and the batch order is shuffled.
    ``shuffle=False`` (evaluation): all indices sorted by length, longest first (an
    out-of-memory error then shows on the first batch, not the last); the caller restores the
    original order from the indices.
    """
    if mode not in ("size", "token"):
        raise ValueError(f"batch mode must be 'size' or 'token', got {mode!r}")
    if batch_size < 1 or batch_token < 1:
        raise ValueError("batch_size and batch_token must be at least 1")
    lens = np.asarray(lengths, dtype=np.int64).reshape(-1)
    n = len(lens)
    if n == 0:
        return []

    if not shuffle:
        order = np.argsort(-lens, kind="stable")
        return _cut(order, lens, mode, batch_size, batch_token)

    rng = np.random.default_rng((seed, epoch))
    perm = rng.permutation(n)
    batches: list[list[int]] = []
    for chunk in _mega_batches(perm, lens, mode, batch_size, batch_token):
        ordered = chunk[np.argsort(lens[chunk], kind="stable")]
        batches.extend(_cut(ordered, lens, mode, batch_size, batch_token))
    return [batches[i] for i in rng.permutation(len(batches))]


def padded_fraction(batches: Sequence[Sequence[int]], lengths: Sequence[int], multiple: int = 1) -> float:
    """Padding tokens / all tokens, when each batch is padded to its longest sequence rounded up
    to ``multiple``."""
    lens = np.asarray(lengths, dtype=np.int64)
    total = real = 0
    for batch in batches:
        if len(batch):
            b = lens[np.asarray(batch)]
            total += int(padded_lengths(b.max(), multiple)) * len(b)
            real += int(b.sum())
    return 0.0 if total == 0 else (total - real) / total


def accumulation_group_sizes(batch_sizes: Sequence[int], accum: int) -> list[int]:
    """Examples in each gradient-accumulation group: batches ``0..accum-1``, ``accum..``, ...
    (the last group may have fewer batches)."""
    return [sum(batch_sizes[g : g + accum]) for g in range(0, len(batch_sizes), accum)]


def accumulation_weights(
    batch_sizes: Sequence[int], accum: int, group_totals: Sequence[float], world_size: int = 1
) -> list[float]:
    """The factor of each micro-batch's mean loss that makes an accumulation group's summed
    gradient the gradient of one batch of all the group's examples: ``n_batch / n_group``.

    Dividing by the number of micro-batches instead weighs a batch of 2 like a batch of 6 (token
    batching makes them uneven). ``group_totals`` are the groups' example counts over every
    data-parallel process (the sum of each process's ``accumulation_group_sizes``); DDP then
    averages the processes' gradients, hence the factor ``world_size``.
    """
    return [world_size * n / group_totals[i // accum] for i, n in enumerate(batch_sizes)]


# On a CPU a training step over a large batch runs slower per token than the same examples run in
# pieces: at 16,000 tokens every activation (16,000 x 1,280 floats in ESM2-8M's feed-forward, 82 MB)
# streams through memory, while a piece of a few hundred tokens stays in the caches. Measured on a
# 2-core AVX2 EPYC (1 MB L2 per core, 32 MB L3), `full`, float32, one optimizer step
# (/tmp probe, not committed; the committed A/B is `python -m bench.token_batches --piece-elements 0`):
#   ESM2-8M shape (width 320), 96 x 168 tokens: 864 tokens/s in one pass, 1,776 in pieces of 2,016
#     tokens, 1,901 of 1,344, 1,762 of 672, 1,574 of 336; 16 x 1,000 tokens: 587 in one pass,
#     1,063 one sequence at a time;
#   ESM2-35M shape (width 480), 24 x 168: 252 in one pass, 315 / 379 / 434 in pieces of
#     2,016 / 1,008 / 504 tokens.
# The best piece shrinks as the model widens, so the budget is in activation elements (tokens x
# width): about a thousand tokens at width 320. A step runs its batch as such pieces, each backward
# weighted by its share of the examples: the same gradient as one pass (up to float rounding;
# dropout draws its masks per piece) in a fraction of the activation memory. GPUs are left alone:
# they want big batches.
CPU_PIECE_ELEMENTS = 1024 * 320
MIN_PIECE_TOKENS = 64  # below this, per-piece overhead outweighs what the caches give


def piece_tokens(device_type: str, width: int) -> int | None:
    """The most padded tokens a training step runs at once on this kind of device, for a model of
    hidden size ``width`` (None: the whole batch)."""
    if device_type != "cpu":
        return None
    return max(MIN_PIECE_TOKENS, CPU_PIECE_ELEMENTS // max(width, 1))


def split_batch(batch: Sequence[int], lengths: np.ndarray, budget: int) -> list[list[int]]:
    """``batch`` cut into the fewest consecutive pieces of near-equal size whose padded size
    (longest x count, ``lengths`` already padded) stays within ``budget`` tokens; a sequence longer
    than the budget is a piece of its own. Equal pieces, not greedy ones: a batch just over the
    budget becomes two halves, not a full piece and a one-sequence remainder (a small matmul).
    Batches come length-sorted from ``make_batches``, so neighbours have similar widths."""
    idx = np.asarray(batch, dtype=np.int64)
    widths = np.asarray(lengths, dtype=np.int64)[idx]
    k = max(1, -(-int(widths.sum()) // budget))  # no fewer pieces than the real tokens need
    while True:
        parts = np.array_split(np.arange(len(idx)), k)
        if all(len(p) == 1 or int(widths[p].max()) * len(p) <= budget for p in parts):
            return [idx[p].tolist() for p in parts]
        k += 1


@dataclass
class MicroBatches:
    """What one epoch's steps run: the micro-batches in order, the weight of each one's mean loss,
    whether it ends an optimizer step, and how many micro-batches that step has."""

    indices: list[list[int]] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    ends_step: list[bool] = field(default_factory=list)
    per_step: list[int] = field(default_factory=list)


def micro_batches(
    batches: Sequence[Sequence[int]],
    lengths: np.ndarray,
    accum: int,
    group_totals: Sequence[float],
    world_size: int = 1,
    piece_tokens: int | None = None,
) -> MicroBatches:
    """Every batch of an epoch (``accum`` batches per optimizer step), each cut into pieces of at
    most ``piece_tokens`` padded tokens (``None``: whole). A piece's weight is its batch's
    ``accumulation_weights`` share times its fraction of the batch's examples, so a step's summed
    gradient is the same however its batches are cut."""
    batch_weights = accumulation_weights([len(b) for b in batches], accum, group_totals, world_size)
    out, groups = MicroBatches(), []
    for b, batch in enumerate(batches):
        pieces = [list(batch)] if piece_tokens is None else split_batch(batch, lengths, piece_tokens)
        for piece in pieces:
            out.indices.append(piece)
            out.weights.append(batch_weights[b] * len(piece) / len(batch))
            groups.append(b // accum)
    counts = np.bincount(groups) if groups else np.zeros(0, dtype=np.int64)
    out.ends_step = [i + 1 == len(groups) or groups[i + 1] != g for i, g in enumerate(groups)]
    out.per_step = [int(counts[g]) for g in groups]
    return out


def shard_batches(batches: Sequence[list[int]], rank: int, world_size: int, *, pad: bool) -> list[list[int]]:
    """The batches of one data-parallel rank (rank ``r`` takes batches ``r, r + W, ...``).

    ``pad=True`` (training): every rank gets the same number of batches, by repeating batches
    from the start of the list (so collective steps stay in lockstep); nothing is dropped.
    ``pad=False`` (evaluation): ranks get disjoint batches that together cover every index
    exactly once (counts may differ by one).
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
    items = list(batches)
    if pad and items:
        target = math.ceil(len(items) / world_size) * world_size
        items += [items[i % len(items)] for i in range(target - len(items))]
    return [list(b) for b in items[rank::world_size]]


def _mega_batches(
    perm: np.ndarray, lens: np.ndarray, mode: str, batch_size: int, batch_token: int
) -> list[np.ndarray]:
    """Cut a permutation into chunks of about ``MEGA_BATCH`` batches each."""
    if mode == "size":
        step = MEGA_BATCH * batch_size
        return [perm[i : i + step] for i in range(0, len(perm), step)]
    # Token mode: a chunk holds about MEGA_BATCH budgets of real tokens.
    cum = np.cumsum(lens[perm])
    bounds = np.searchsorted(cum, np.arange(MEGA_BATCH * batch_token, int(cum[-1]), MEGA_BATCH * batch_token))
    return [c for c in np.split(perm, np.unique(bounds)) if len(c)]


def _cut(
    order: np.ndarray, lens: np.ndarray, mode: str, batch_size: int, batch_token: int
) -> list[list[int]]:
    """Consecutive batches of ``order`` (already sorted by length within the run)."""
    if mode == "size":
        return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for idx in order.tolist():
        n = int(lens[idx])
        new_longest = max(longest, n)
        if current and new_longest * (len(current) + 1) > batch_token:
            batches.append(current)
            current, new_longest = [], n
        current.append(idx)
        longest = new_longest
    if current:
        batches.append(current)
    return batches
