"""Sequence identity between proteins: the search behind the leakage report and the homology split.

Identity of two proteins (what every number of this module means): the identical positions of
their best local alignment (Smith-Waterman, BLOSUM62, gap open 11, extend 1: BLAST's protein
defaults) divided by the length of the shorter sequence. This is CD-HIT's definition: symmetric, in
[0, 1], a fragment contained in a longer protein is 100% identical to it, and a short local match
cannot inflate it (identical positions / alignment length, MMseqs2's default, gives 100% to any
shared 5-mer).

A pair counts as related only when its alignment could not be chance: E-value <= ``EVALUE``
(Karlin-Altschul statistics, with the shorter sequence as query and the database size fixed at
``DB_RESIDUES`` like BLAST's ``-dbsize``, so that whether two proteins are related depends on them
alone, never on the dataset around them), or identity >= ``HIGH_IDENTITY`` (near-identical peptides
too short for any score to be significant). Unrelated pairs have no identity (0): the best of
~15,000 random local alignments reaches 30-40% identity by chance, so without this rule every
protein would look 35% identical to the training set, and a 30% homology split would be one
cluster.

Search: below ``EXHAUSTIVE_CELLS`` every query is aligned to every target (exact). Above it, a seed
prefilter (four 5-residue seed patterns, FASTA/SWORD-style diagonal counting) keeps the
``MAX_CANDIDATES`` best targets of each query, which are aligned exactly with pyopal (Opal's SIMD
Smith-Waterman, GIL released, one chunk of queries per thread). The README gives the measured recall
against all-pairs alignment and the times on the 19k-protein demo.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from venus_core.i18n import N_

if TYPE_CHECKING:
    from venus_core.config import RunConfig

IDENTITY_DEFINITION = N_(
    "identical positions of the best Smith-Waterman alignment (BLOSUM62, gaps 11/1) / length of the "
    "shorter sequence; pairs with E-value > 0.001 and identity < 90% count as unrelated (0%)"
)
MATRIX, GAP_OPEN, GAP_EXTEND = "BLOSUM62", 11, 1
LAMBDA, KAPPA = 0.267, 0.041  # Karlin-Altschul parameters of BLOSUM62 with gaps 11/1 (NCBI BLAST)
EVALUE = 1e-3
DB_RESIDUES = 1e7
HIGH_IDENTITY = 0.9
# A pair is fully aligned (for its identity) when its score could be significant, or could come from
# >= 90% identity: BLOSUM62 scores every identity >= 4, so such pairs score >= ~3.5 per residue of the
# shorter sequence (the lowest seen on the demos was 3.6); 2 leaves a margin.
SCORE_PER_RESIDUE = 2.0
SEEDS = ("11111", "1101011", "1011101", "1110011")  # weight 5: four patterns find as much as 4-mers
BAND = 16  # diagonal band width (two neighbouring bands count together)
MAX_CANDIDATES = 300
MAX_POSTING = 5000  # seeds in more targets than this (low-complexity repeats) are not used
EXHAUSTIVE_CELLS = 2e10  # query residues x target residues under which every pair is aligned
CHUNK = 64  # queries per task of a worker thread
CACHE_MIN_SECONDS = 1.0  # a result computed faster than this is not worth a cache file
CACHE_VERSION = 1
_NOT_IN_MATRIX = re.compile("[^ARNDCQEGHILKMFPSTWYVBZX]")
_AA = "ACDEFGHIKLMNPQRSTVWY"
_LUT = np.full(256, len(_AA), dtype=np.int32)
_LUT[np.frombuffer(_AA.encode(), dtype=np.uint8)] = np.arange(len(_AA))

Progress = Callable[[int, int], None]
Stop = Callable[[], bool]


class Stopped(Exception):
    """The caller's ``stop()`` asked the computation to end; nothing was cached."""


@dataclass(frozen=True)
class Monitor:
    """The callbacks of a check (``doctor.check``): ``progress(done, total, stage)``, ``stop()``."""

    progress: Callable[[int, int, str], None] | None = None
    stop: Stop | None = None

    def stage(self, name: str) -> Progress | None:
        """``progress(done, total)`` for one stage of the check."""
        progress = self.progress
        return None if progress is None else (lambda done, total: progress(done, total, name))


def cache_dir(cfg: RunConfig) -> Path:
    """Where searches are cached: in the save directory, beside the embedding cache."""
    return Path(cfg.output.output_dir).expanduser() / CACHE_DIR_NAME


@dataclass(frozen=True)
class Hits:
    """Related pairs: ``query[i]`` is ``identity[i]`` identical to ``target[i]`` (indices)."""

    query: np.ndarray
    target: np.ndarray
    identity: np.ndarray
    seconds: float = 0.0
    cached: bool = False
    method: str = ""

    def best(self, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
        """Per query: highest identity (0 when unrelated to every target) and that target (-1)."""
        best = np.zeros(n_queries, dtype=np.float32)
        which = np.full(n_queries, -1, dtype=np.int64)
        order = np.lexsort((self.target, -self.identity))  # highest first, lowest target on ties
        q = self.query[order]
        first = np.unique(q, return_index=True)[1]
        best[q[first]] = self.identity[order][first]
        which[q[first]] = self.target[order][first]
        return best, which


def identity(a: str, b: str) -> float:
    """Identity of two proteins as defined above (0 when unrelated), from their own alignment: the
    reference the search is tested against."""
    import pyopal

    a, b = _for_matrix(a), _for_matrix(b)
    if not a or not b:
        return 0.0
    aligner = pyopal.Aligner(MATRIX, gap_open=GAP_OPEN, gap_extend=GAP_EXTEND)
    result = aligner.align(a, pyopal.Database([b], aligner.alphabet), mode="full")[0]
    shorter = min(len(a), len(b))
    value = result.alignment.count("M") / shorter
    related = evalue(result.score, shorter) <= EVALUE or value >= HIGH_IDENTITY
    return float(value) if related else 0.0


def evalue(score: np.ndarray, shorter: np.ndarray) -> np.ndarray:
    """Expected chance alignments scoring at least ``score`` for a query of length ``shorter`` in a
    database of ``DB_RESIDUES`` residues."""
    return KAPPA * shorter * DB_RESIDUES * np.exp(-LAMBDA * np.asarray(score, dtype=np.float64))


def search(
    queries: list[str],
    targets: list[str] | None = None,
    *,
    progress: Progress | None = None,
    stop: Stop | None = None,
    threads: int | None = None,
    cache_dir: str | Path | None = None,
) -> Hits:
    """Every related (query, target) pair and its identity; ``targets=None`` searches ``queries``
    against themselves (each pair once, ``query < target``).

    ``progress(done, total)`` counts queries and is called from the calling thread; ``stop()``
    returning True raises ``Stopped``. With ``cache_dir``, the result is stored under a key of the
    sequences and the method's parameters, and a later identical search reads it back.
    """
    queries = [_for_matrix(s) for s in queries]
    targets = None if targets is None else [_for_matrix(s) for s in targets]
    key = _cache_key(queries, targets)
    path = Path(cache_dir).expanduser() / f"{key}.npz" if cache_dir else None
    hits = _read_cache(path) if path else None
    if hits is not None:
        if progress:
            progress(len(queries), len(queries))
        return hits
    start = time.perf_counter()
    hits = _Search(queries, targets, threads).run(progress, stop)
    hits = Hits(hits.query, hits.target, hits.identity, time.perf_counter() - start, False, hits.method)
    if path and hits.seconds >= CACHE_MIN_SECONDS:
        _write_cache(path, hits)
    return hits


# ---------------------------------------------------------------------------------------------
# The search


class _Search:
    """One search: the target database, its seed index when needed, and the per-chunk work."""

    def __init__(self, queries: list[str], targets: list[str] | None, threads: int | None) -> None:
        import pyopal

        self.queries = queries
        self.self_search = targets is None
        self.targets = queries if targets is None else targets
        self.threads = max(1, threads or _cores())
        self.lengths = np.array([len(s) for s in self.targets], dtype=np.int64)
        self.residues = int(self.lengths.sum())
        self.aligner = pyopal.Aligner(MATRIX, gap_open=GAP_OPEN, gap_extend=GAP_EXTEND)
        self.db = pyopal.Database(self.targets, self.aligner.alphabet)
        cells = float(sum(len(s) for s in queries)) * self.residues
        # A self-search meets each pair from both ends: half the candidates give it two chances.
        self.keep = MAX_CANDIDATES // 2 if self.self_search else MAX_CANDIDATES
        self.exhaustive = cells <= EXHAUSTIVE_CELLS or len(self.targets) <= self.keep
        self.index = None if self.exhaustive else _SeedIndex(self.targets)
        self.halt = False

    @property
    def method(self) -> str:
        if self.exhaustive:
            return N_("all pairs aligned")
        return N_("seed prefilter ({n} candidates per query), then Smith-Waterman").format(n=self.keep)

    def run(self, progress: Progress | None, stop: Stop | None) -> Hits:
        n = len(self.queries)
        chunks = [range(lo, min(lo + CHUNK, n)) for lo in range(0, n, CHUNK)]
        parts, done = [], 0
        pool = ThreadPoolExecutor(self.threads) if self.threads > 1 and len(chunks) > 1 else None
        try:
            results = pool.map(self._chunk, chunks) if pool else map(self._chunk, chunks)
            for chunk, part in zip(chunks, results, strict=True):
                parts.append(part)
                done += len(chunk)
                if stop is not None and stop():
                    raise Stopped("stopped before the search finished")
                if progress:
                    progress(done, n)
        finally:
            # Also on an exception raised by a callback (a Streamlit rerun): the workers drop
            # the chunks they have not started.
            self.halt = True
            if pool:
                pool.shutdown(wait=True, cancel_futures=True)
        cols = [np.concatenate([p[i] for p in parts]) if parts else np.zeros(0) for i in range(3)]
        q, t, ident = cols[0].astype(np.int64), cols[1].astype(np.int64), cols[2].astype(np.float32)
        if self.self_search:  # a pair found from both of its ends is kept once, as (lower, higher)
            q, t = np.minimum(q, t), np.maximum(q, t)
        order = np.lexsort((-ident, t, q))
        q, t, ident = q[order], t[order], ident[order]
        first = np.r_[True, (q[1:] != q[:-1]) | (t[1:] != t[:-1])] if len(q) else np.zeros(0, dtype=bool)
        return Hits(q[first], t[first], ident[first], method=self.method)

    def _chunk(self, chunk: range) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        qs, ts, ids = [], [], []
        if self.halt:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        chunk_seqs = [self.queries[i] for i in chunk]
        # In a self-search each query finds itself first: one more candidate makes up for it.
        candidates = (
            None if self.exhaustive else self.index.candidates(chunk_seqs, self.keep + self.self_search)
        )
        for k, i in enumerate(chunk):
            cand = self._all_after(i) if candidates is None else candidates[k]
            if self.self_search and candidates is not None:
                cand = cand[cand != i]
            t, ident = self._align(self.queries[i], cand)
            qs.append(np.full(len(t), i, dtype=np.int64))
            ts.append(t)
            ids.append(ident)
        return np.concatenate(qs), np.concatenate(ts), np.concatenate(ids)

    def _all_after(self, i: int) -> np.ndarray:
        # A self-search aligns each pair once, from its lower index.
        return np.arange(i + 1 if self.self_search else 0, len(self.targets), dtype=np.int64)

    def _align(self, query: str, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The related targets among ``cand`` and their identities."""
        if not query or not len(cand):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.exhaustive:  # ``cand`` runs to the last target: align in place, no copy
            results = self.aligner.align(query, self.db, mode="score", start=int(cand[0]))
        else:
            results = self.aligner.align(query, self.db.extract(cand.tolist()), mode="score")
        scores = np.fromiter((r.score for r in results), dtype=np.int64, count=len(cand))
        shorter = np.minimum(len(query), self.lengths[cand])
        e = evalue(scores, shorter)
        maybe = (e <= EVALUE) | (scores >= SCORE_PER_RESIDUE * shorter)
        cand, e, shorter = cand[maybe], e[maybe], shorter[maybe]
        if not len(cand):
            return cand, np.zeros(0, dtype=np.float32)
        full = self.aligner.align(query, self.db.extract(cand.tolist()), mode="full")
        same = np.fromiter((r.alignment.count("M") for r in full), dtype=np.int64, count=len(cand))
        ident = same / shorter
        related = (e <= EVALUE) | (ident >= HIGH_IDENTITY)  # in float64: 9/10 is 0.9 exactly
        return cand[related], ident[related].astype(np.float32)


class _SeedIndex:
    """Where each seed (5 residues under a mask) occurs in the targets, sorted by seed code."""

    def __init__(self, targets: list[str]) -> None:
        self.n_targets = len(targets)
        self.max_length = max((len(s) for s in targets), default=0)
        self.tables = []
        encoded = _encode(targets)
        for seed in SEEDS:
            code, seq, pos = _seeds(encoded, seed)
            order = np.argsort(code, kind="stable")
            # offsets[c]:offsets[c + 1] are the occurrences of seed code c (20^5 codes: 26 MB)
            offsets = np.r_[0, np.cumsum(np.bincount(code, minlength=len(_AA) ** 5))]
            del code
            self.tables.append((offsets, seq[order], pos[order]))

    def candidates(self, queries: list[str], keep: int) -> list[np.ndarray]:
        """The best ``keep`` targets of each query: most seed hits (all seeds) on one diagonal band."""
        pairs, diags = [], []
        max_q = max((len(s) for s in queries), default=0)
        n_bands = (self.max_length + max_q) // BAND + 2
        encoded = _encode(queries)
        for seed, (offsets, seq, pos) in zip(SEEDS, self.tables, strict=True):
            q_code, q_seq, q_pos = _seeds(encoded, seed)
            lo = offsets[q_code]
            n = offsets[q_code + 1] - lo
            n[n > MAX_POSTING] = 0  # seeds of low-complexity repeats: hits everywhere, mean nothing
            which = np.repeat(np.arange(len(q_code)), n)
            at = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
            pairs.append(q_seq[which].astype(np.int64) * self.n_targets + seq[at])
            diags.append(pos[at].astype(np.int64) - q_pos[which] + max_q)
        pair, diag = np.concatenate(pairs), np.concatenate(diags)
        keys, counts = np.unique(pair * n_bands + diag // BAND, return_counts=True)
        # Hits of two neighbouring bands count together: a region on a band edge, or with a small
        # indel, is not split in two (``n_bands`` leaves a free band after the last one).
        nxt = np.r_[keys[1:] == keys[:-1] + 1, False]
        counts = counts + np.where(nxt, np.r_[counts[1:], 0], 0)
        return self._top(keys // n_bands, counts, len(queries), keep)

    def _top(self, pair: np.ndarray, count: np.ndarray, n_queries: int, keep: int) -> list[np.ndarray]:
        # The best band of each (query, target) pair, then the best targets of each query.
        order = np.lexsort((-count, pair))
        pair, count = pair[order], count[order]
        first = np.r_[True, pair[1:] != pair[:-1]] if len(pair) else np.zeros(0, dtype=bool)
        pair, count = pair[first], count[first]
        query, target = pair // self.n_targets, pair % self.n_targets
        order = np.lexsort((target, -count, query))
        query, target = query[order], target[order]
        bounds = np.searchsorted(query, np.arange(n_queries + 1))
        return [np.sort(target[bounds[i] : bounds[i + 1]][:keep]) for i in range(n_queries)]


def _encode(seqs: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All sequences end to end as residue codes (0-19; 20 for any other letter), the sequence of
    each position, and where each sequence starts."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    residues = _LUT[np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)]
    owner = np.repeat(np.arange(len(seqs), dtype=np.int32), lengths)
    return residues, owner, np.cumsum(lengths) - lengths


def _seeds(encoded: tuple[np.ndarray, ...], seed: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Code, sequence and start of every seed window (standard residues only) of ``_encode``'s output."""
    residues, owner, starts = encoded
    span = len(seed)
    n_windows = max(len(residues) - span + 1, 0)
    code = np.zeros(n_windows, dtype=np.int32)
    valid = owner[:n_windows] == owner[span - 1 : span - 1 + n_windows]  # not across two sequences
    for c in (j for j, x in enumerate(seed) if x == "1"):
        part = residues[c : c + n_windows]
        valid &= part < len(_AA)
        code = code * len(_AA) + np.minimum(part, len(_AA) - 1)
    keep = np.flatnonzero(valid)
    seq = owner[keep]
    return code[keep], seq, (keep - starts[seq]).astype(np.int32)  # int32: an index is ~1 GB at 10M


def _cores() -> int:
    """The cores this process may use (a container may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _for_matrix(seq: str) -> str:
    # Any letter BLOSUM62 lacks (U, O, J), and whatever a bad row holds ('?', '-'), aligns as X.
    return _NOT_IN_MATRIX.sub("X", seq.upper())


def against_train(train: list[str], others: list[list[str]]) -> tuple[dict[str, int], dict[str, int]]:
    """Queries and targets of a search of other splits against train: each split's unique,
    non-empty sequences in order of appearance (the leakage report and the split's check build
    them the same way, so they share one cache entry)."""
    queries: dict[str, int] = {}
    for seqs in others:
        for seq in seqs:
            if seq:
                queries.setdefault(seq, len(queries))
    targets: dict[str, int] = {}
    for seq in train:
        if seq:
            targets.setdefault(seq, len(targets))
    return queries, targets


# ---------------------------------------------------------------------------------------------
# Cache: <output_dir>/.homology_cache/<key>.npz


CACHE_DIR_NAME = ".homology_cache"


def _cache_key(queries: list[str], targets: list[str] | None) -> str:
    h = hashlib.sha256()
    params = (
        CACHE_VERSION,
        MATRIX,
        GAP_OPEN,
        GAP_EXTEND,
        EVALUE,
        HIGH_IDENTITY,
        SCORE_PER_RESIDUE,
        SEEDS,
        BAND,
        MAX_CANDIDATES,
        MAX_POSTING,
        EXHAUSTIVE_CELLS,
    )
    h.update(repr(params).encode())
    for group in (queries, targets):
        h.update(b"\x00none" if group is None else ("\n".join(group) + f"\x00{len(group)}").encode())
    return h.hexdigest()[:40]


def _read_cache(path: Path) -> Hits | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return Hits(z["query"], z["target"], z["identity"], float(z["seconds"]), True, str(z["method"]))
    except (OSError, KeyError, ValueError):  # absent, or written by another version: recompute
        return None


def _write_cache(path: Path, hits: Hits) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
            np.savez_compressed(
                f,
                query=hits.query.astype(np.int32),
                target=hits.target.astype(np.int32),
                identity=hits.identity,
                seconds=hits.seconds,
                method=hits.method,
            )
        os.replace(f.name, path)  # atomic: a second process never reads half a file
    except OSError:
        pass  # a read-only save directory only costs the recomputation
