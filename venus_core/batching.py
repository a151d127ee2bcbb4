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
