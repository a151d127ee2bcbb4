"""Tokenising whole splits at memory speed: a residue-byte -> token-id table per tokenizer.

Every supported protein tokenizer maps a residue to one token whatever its neighbours (ESM: one
vocabulary entry per letter; ProtBert/ProtT5: one word per space-separated letter; Ankh: one
pre-split word per letter). So a split is tokenised by looking each residue byte up in a 256-entry
table and adding the special tokens around each sequence: numpy over one flat byte array, no
Python per residue (the Hugging Face tokenizer costs ~5 us per residue; this ~10 ns).

The model's own tokenizer stays the reference. The table is derived from it (each letter A-Z
alone) and then checked against it on a sequence that holds every ordered triple of those
letters; a tokenizer whose output depended on the neighbours would fail that check and keep using
the reference path for everything. Sequences with any character outside the table (lower case,
digits, punctuation, non-ASCII) are tokenised by the reference one by one. So the ids are always
exactly what the tokenizer gives (tests/test_tokens.py checks every family's vocabulary).

A split's tokens are kept flat: ``tokens`` (all sequences' ids, specials included, back to back,
in the smallest integer type that holds the vocabulary) and ``offsets`` (``N + 1`` starts), which
is also the layout of the embedding cache's per-token states.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # what the table covers; the data layer upper-cases residues
_CHECK_ORDER = 3  # the check sequence holds every run of this many letters


@dataclass(frozen=True)
class TokenArrays:
    """Token ids of several sequences, flat: sequence ``i`` is ``tokens[offsets[i]:offsets[i + 1]]``."""

    tokens: np.ndarray  # (total,) uint8/int16/int32
    offsets: np.ndarray  # (N + 1,) int64, offsets[0] == 0

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i] : self.offsets[i + 1]]

    def to_lists(self) -> list[list[int]]:
        return [self.row(i).tolist() for i in range(len(self))]

    @classmethod
    def from_lists(cls, rows: Sequence[Sequence[int]]) -> TokenArrays:
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=int(lengths.sum()))
        return cls(flat.astype(id_dtype(int(flat.max(initial=0)))), _offsets(lengths))


@dataclass(frozen=True)
class ResidueTable:
    """Byte -> token id (-1: not covered) and the special tokens around every sequence."""

    lut: np.ndarray  # (256,) int64
    prefix: np.ndarray  # (n_prefix,) int64
    suffix: np.ndarray  # (n_suffix,) int64
    dtype: np.dtype  # the smallest type holding every id

    @property
    def ids(self) -> np.ndarray:
        """The table in ``dtype`` (0 where not covered): a lookup moves 1-4 bytes per residue."""
        return np.where(self.lut < 0, 0, self.lut).astype(self.dtype)

    @property
    def covered(self) -> np.ndarray:
        return self.lut >= 0


def id_dtype(max_id: int) -> np.dtype:
    for t in (np.uint8, np.int16, np.int32):
        if max_id <= np.iinfo(t).max:
            return np.dtype(t)
    return np.dtype(np.int64)


def _offsets(lengths: np.ndarray) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def de_bruijn(alphabet: str, n: int) -> str:
    """A cyclic sequence holding every length-``n`` word over ``alphabet`` exactly once (the
    first ``n - 1`` letters are repeated at the end, so the words are all in the linear string)."""
    k = len(alphabet)
    a = [0] * k * n
    out: list[int] = []

    def db(t: int, p: int) -> None:
        if t > n:
            if n % p == 0:
                out.extend(a[1 : p + 1])
        else:
            a[t] = a[t - p]
            db(t + 1, p)
            for j in range(a[t - p] + 1, k):
                a[t] = j
                db(t + 1, t)

    db(1, 1)
    out += out[: n - 1]
    return "".join(alphabet[i] for i in out)


def build_table(
    encode_one: Any, n_prefix: int, n_suffix: int, pad_id: int, unk_id: int | None
) -> ResidueTable | None:
    """The table of a tokenizer, from ``encode_one(seq) -> ids`` (the reference: format + Hugging
    Face tokenizer, specials included); None when the tokenizer's output is not a per-letter map.

    Letters the tokenizer does not know are left out: it gives them the unknown token, and some
    tokenizers (ESM's) give a run of unknown letters a single one, so they are not per-letter."""
    lut = np.full(256, -1, dtype=np.int64)
    specials: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    for letter in LETTERS:
        try:
            ids = list(encode_one(letter))
        except Exception:  # noqa: BLE001 - a letter the tokenizer cannot take stays uncovered
            continue
        if len(ids) != n_prefix + 1 + n_suffix or ids[n_prefix] == unk_id:
            continue  # not one known token for this letter: sequences holding it use the reference
        lut[ord(letter)] = ids[n_prefix]
        specials.add((tuple(ids[:n_prefix]), tuple(ids[n_prefix + 1 :])))
    if len(specials) != 1:
        return None  # no letter covered, or special tokens that depend on the letter
    prefix, suffix = (np.array(s, dtype=np.int64) for s in specials.pop())
    covered = "".join(c for c in LETTERS if lut[ord(c)] >= 0)
    max_id = max(int(lut.max()), int(prefix.max(initial=0)), int(suffix.max(initial=0)), pad_id)
    table = ResidueTable(lut, prefix, suffix, id_dtype(max_id))
    probe = de_bruijn(covered, _CHECK_ORDER) if len(covered) > 1 else covered
    fast, slow = encode_with_table(table, [probe], None)
    if slow.size or fast.row(0).tolist() != list(encode_one(probe)):
        return None  # the ids depend on the neighbours: not a per-residue table
    return table


def encode_with_table(
    table: ResidueTable, seqs: Sequence[str], limit: int | None
) -> tuple[TokenArrays, np.ndarray]:
    """Token ids of ``seqs`` (each cut to ``limit`` residues first), and the indices of the
    sequences the table does not cover: their rows are laid out (``len + specials`` long) but
    not filled, for the caller to fill from the reference tokenizer."""
    n = len(seqs)
    lens = np.fromiter(map(len, seqs), dtype=np.int64, count=n)
    ascii_ok = np.fromiter((s.isascii() for s in seqs), dtype=bool, count=n)
    if not ascii_ok.all():  # rare: leave non-ASCII sequences to the reference, keep the layout
        seqs = [s if ok else "" for s, ok in zip(seqs, ascii_ok, strict=True)]
    src_lens = np.where(ascii_ok, lens, 0)
    kept = np.minimum(lens, limit) if limit else lens
    n_pre, n_suf = len(table.prefix), len(table.suffix)
    offsets = _offsets(kept + n_pre + n_suf)

    raw = np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)
    src_start = _offsets(src_lens)
    if limit and (src_lens > limit).any():
        raw = raw[_truncation_mask(src_start, src_lens, limit)]
        src_start = _offsets(np.minimum(src_lens, limit))
    ids = table.ids[raw]
    bad = ~ascii_ok
    uncovered = ~table.covered
    if uncovered[raw].any():
        missing = np.flatnonzero(uncovered[raw])
        bad[np.searchsorted(src_start, missing, side="right") - 1] = True

    tokens = np.empty(int(offsets[-1]), dtype=table.dtype)
    content = np.ones(len(tokens), dtype=bool)
    starts, ends = offsets[:-1], offsets[1:]
    for j, t in enumerate(table.prefix):
        tokens[starts + j] = t
        content[starts + j] = False
    for j, t in enumerate(table.suffix):
        tokens[ends - n_suf + j] = t
        content[ends - n_suf + j] = False
    if not ascii_ok.all():  # rows of non-ASCII sequences get no content from ``raw``
        content[_rows_mask(offsets, ~ascii_ok)] = False
    tokens[content] = ids
    return TokenArrays(tokens, offsets), np.flatnonzero(bad)


def _truncation_mask(starts: np.ndarray, lens: np.ndarray, limit: int) -> np.ndarray:
    """True for the first ``limit`` bytes of each sequence in a flat buffer."""
    cut = np.flatnonzero(lens > limit)
    step = np.zeros(int(starts[-1]) + 1, dtype=np.int32)
    step[starts[cut] + limit] += 1  # each index array has no repeats: fancy += is exact
    step[starts[cut] + lens[cut]] -= 1
    return np.cumsum(step[:-1], dtype=np.int32) == 0


def _rows_mask(offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """True at every position of the chosen rows (a boolean per row) of a flat layout."""
    step = np.zeros(int(offsets[-1]) + 1, dtype=np.int32)
    idx = np.flatnonzero(rows)
    step[offsets[idx]] += 1
    step[offsets[idx + 1]] -= 1
    return np.cumsum(step[:-1], dtype=np.int32) > 0


def hash_rows(h: Any, arrays: TokenArrays, chunk_tokens: int = 1 << 23) -> None:
    """Feed ``h`` each row's ids as little-endian int32 bytes followed by ``b"|"``: the same bytes
    as hashing row by row, without a Python loop per row (the embedding cache's fingerprint)."""
    n = len(arrays)
    start = 0
    while start < n:
        base = arrays.offsets[start]
        end = int(np.searchsorted(arrays.offsets, base + chunk_tokens, side="right")) - 1
        end = min(max(end, start + 1), n)
        ids = arrays.tokens[base : arrays.offsets[end]].astype("<i4").view(np.uint8)
        sep = 4 * (arrays.offsets[start + 1 : end + 1] - base) + np.arange(end - start)
        buf = np.full(len(ids) + (end - start), ord("|"), dtype=np.uint8)
        keep = np.ones(len(buf), dtype=bool)
        keep[sep] = False
        buf[keep] = ids
        h.update(buf.tobytes())
        start = end


def hash_rows_reference(h: Any, rows: Sequence[Sequence[int]]) -> None:
    """What ``hash_rows`` must equal (the fingerprint's original row-by-row form)."""
    for ids in rows:
        h.update(np.asarray(ids, dtype=np.int32).tobytes())
        h.update(b"|")


def sha256_of_rows(arrays: TokenArrays) -> str:
    h = hashlib.sha256()
    hash_rows(h, arrays)
    return h.hexdigest()
