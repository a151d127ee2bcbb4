"""The homology split: proteins more than ``split_identity`` identical never end up in different
splits, so validation and test measure generalisation to new proteins (GraphPart's aim).

``homology.search`` finds the related pairs (its module docstring defines identity); pairs above the
threshold link proteins into clusters, whole clusters are assigned to the splits, and a search of
validation/test against train (the leakage report's own) checks the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from venus_core import homology
from venus_core.data.labels import parse_label
from venus_core.data.read import clean_sequence
from venus_core.data.types import SPLITS
from venus_core.homology import Monitor, Stopped, against_train
from venus_core.i18n import N_

if TYPE_CHECKING:
    from venus_core.config import RunConfig
    from venus_core.data.types import RawData
    from venus_core.report import Report

VERIFY_ROUNDS = 5  # checks against train (one is enough in practice; each later one is small)


@dataclass(frozen=True)
class Split:
    parts: dict[str, np.ndarray]  # "train", then the derived splits -> sorted row indices
    clusters: int
    largest: int
    moved: int  # proteins moved to train by the check against train


def split(
    seqs: list[str],
    fractions: dict[str, float],
    identity: float,
    seed: int,
    strata: np.ndarray | None = None,
    *,
    monitor: Monitor | None = None,
    cache_dir: str | Path | None = None,
) -> Split:
    """Split rows so that no two proteins more than ``identity`` identical are in different splits.

    Related pairs above ``identity`` link proteins into clusters (single linkage: connected
    components, so the guarantee holds transitively); whole clusters go to the split furthest below
    its share (``fractions``, the rest is train), largest first, same-size clusters in a seeded
    order. With ``strata`` (class per row), a split's need is counted per class, which keeps the
    class proportions of each split close to the data's. Then ``_verify`` checks the result.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    monitor = monitor or Monitor()
    index: dict[str, int] = {}
    node = np.array([index.setdefault(s, len(index)) for s in seqs], dtype=np.int64)  # copies: one node
    hits = homology.search(
        list(index),
        progress=monitor.stage(N_("Homology split: aligning every protein to every other")),
        stop=monitor.stop,
        cache_dir=cache_dir,
    )
    linked = hits.identity.astype(np.float64) > identity + 1e-6  # "more than": float32 ties do not link
    graph = coo_matrix(
        (np.ones(int(linked.sum())), (hits.query[linked], hits.target[linked])), shape=(len(index),) * 2
    )
    cluster = connected_components(graph, directed=False)[1][node]
    sizes = np.bincount(cluster)
    parts = _assign(cluster, strata, fractions, seed)
    moved = _verify(seqs, cluster, parts, identity, monitor, cache_dir)
    return Split(parts, int((sizes > 0).sum()), int(sizes.max(initial=0)), moved)


def _verify(
    seqs: list[str],
    cluster: np.ndarray,
    parts: dict[str, np.ndarray],
    identity: float,
    monitor: Monitor,
    cache_dir: str | Path | None,
) -> int:
    """Search validation and test against train exactly as the leakage report will (so both share
    one cache entry when nothing moves), and move to train every cluster with a protein found above
    ``identity``: a pair the all-against-all prefilter missed. Later rounds search only against the
    proteins just moved. Returns how many proteins moved."""
    moved, against = 0, parts["train"]
    for _ in range(VERIFY_ROUNDS):
        others = [[seqs[i] for i in idx] for name, idx in parts.items() if name != "train"]
        queries, targets = against_train([seqs[i] for i in against], others)
        hits = homology.search(
            list(queries),
            list(targets),
            progress=monitor.stage(N_("Homology split: checking validation and test against train")),
            stop=monitor.stop,
            cache_dir=cache_dir,
        )
        names = list(queries)
        close = {names[q] for q in hits.query[hits.identity.astype(np.float64) > identity + 1e-6].tolist()}
        if not close:
            break
        leaky = {
            cluster[i] for name, idx in parts.items() if name != "train" for i in idx if seqs[i] in close
        }
        move = np.isin(cluster, list(leaky))
        moved += int(sum(move[idx].sum() for name, idx in parts.items() if name != "train"))
        for name in [n for n in parts if n != "train"]:
            parts[name] = parts[name][~move[parts[name]]]
        against = np.setdiff1d(np.flatnonzero(move), parts["train"])
        parts["train"] = np.union1d(parts["train"], against)
    return moved


def _assign(
    cluster: np.ndarray, strata: np.ndarray | None, fractions: dict[str, float], seed: int
) -> dict[str, np.ndarray]:
    names = ["train", *fractions]
    share = np.array([1.0 - sum(fractions.values()), *fractions.values()])
    strata = np.zeros(len(cluster), dtype=np.int64) if strata is None else np.asarray(strata)
    counts = np.zeros((int(cluster.max(initial=-1)) + 1, int(strata.max(initial=-1)) + 1))
    np.add.at(counts, (cluster, strata), 1)
    size = counts.sum(1)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(size))
    order = order[np.argsort(-size[order], kind="stable")]  # largest first; seeded among equals
    need = share[:, None] * counts.sum(0)[None, :]  # rows each split should hold, per class
    have = np.zeros_like(need)
    where = np.zeros(len(size), dtype=np.int64)
    for c in order[size[order] > 0]:
        # How far below its share each split is (relative), weighted by this cluster's classes.
        deficit = np.divide(need - have, need, out=np.full_like(need, -1.0), where=need > 0) @ counts[c]
        where[c] = int(np.argmax(deficit))
        have[where[c]] += counts[c]
    split_of_row = where[cluster]
    return {name: np.nonzero(split_of_row == i)[0] for i, name in enumerate(names)}


def derive_splits(raw: RawData, cfg: RunConfig, report: Report, monitor: Monitor | None = None) -> None:
    """``split_method homology``: pool every split read (one file, or the given splits: a re-split)
    and cut it into train/validation/test by clusters of related proteins."""

    d, seed = cfg.data, cfg.train.seed
    given = [s for s in SPLITS if s in raw.splits]
    pooled = pd.concat([raw.splits[s] for s in given], ignore_index=True)
    src = " + ".join(dict.fromkeys(raw.sources[s] for s in given))
    tr, va, te = d.split_ratios
    fractions = {"validation": va, "test": te} if te > 0 else {"validation": va}
    strata = None
    if d.problem_type == "single_label_classification":
        keys = [str(parse_label(v, d.problem_type)[0]) for v in pooled["label"]]
        strata = np.unique(keys, return_inverse=True)[1]
    try:
        result = split(
            [clean_sequence(v) for v in pooled["aa_seq"]],
            fractions,
            d.split_identity,
            seed,
            strata,
            monitor=monitor,
            cache_dir=homology.cache_dir(cfg),
        )
    except Stopped:
        report.error(
            N_("the homology split was stopped before it finished"), kind="stopped", fix=N_("check again")
        )
        return
    empty = [name for name, idx in result.parts.items() if not len(idx)]
    if empty:
        report.error(
            N_(
                "too few clusters of proteins ({clusters}, the largest of {largest}) to derive {splits} by "
                "homology at split_identity {identity}"
            ).format(
                clusters=result.clusters,
                largest=result.largest,
                splits=N_("validation and test") if len(empty) > 1 else empty[0],
                identity=d.split_identity,
            ),
            file=src,
            kind="empty_split",
            fix=N_("add rows, raise split_identity, or use split_method random"),
        )
        return
    how = N_(
        "split by homology: proteins more than {identity:.0%} identical stay in one split ({clusters} "
        "clusters, the largest of {largest}), split_ratios {ratios}, seed {seed}"
    ).format(
        identity=d.split_identity,
        clusters=result.clusters,
        largest=result.largest,
        ratios=f"{tr}/{va}/{te}",
        seed=seed,
    )
    if strata is not None:
        how = N_("{how}, stratified by label").format(how=how)
    if result.moved:  # pairs the all-against-all prefilter missed, found by the check against train
        how = N_("{how}; {n} proteins moved to train by the check against train").format(
            how=how, n=result.moved
        )
    for name, idx in result.parts.items():
        raw.splits[name] = pooled.iloc[idx].reset_index(drop=True)
        raw.sources[name] = src
        raw.derived[name] = how
        raw.columns[name] = raw.columns.get("train", [])
    _split_warnings(raw, cfg, report, given, result, src, len(pooled))


def _split_warnings(
    raw: RawData, cfg: RunConfig, report: Report, given: list[str], result: Split, src: str, n: int
) -> None:
    how = raw.derived["train"]
    if len(given) > 1:
        report.warning(
            N_("the given {splits} splits were pooled ({n} rows) and re-split: {how}").format(
                splits=", ".join(given), n=n, how=how
            ),
            file=src,
            kind="derived_split",
            fix=N_("set split_method random to keep the given splits"),
        )
    else:
        for name in result.parts:
            if name != "train":
                report.warning(
                    N_("no {split} split given: {how}").format(split=name, how=how),
                    file=src,
                    kind="derived_split",
                    fix=N_("provide a {split} file").format(split=name),
                )
    tr, va, te = cfg.data.split_ratios
    want = {"train": tr, "validation": va, "test": te}
    sizes = {name: len(idx) for name, idx in result.parts.items()}
    if any(abs(k - want[name] * n) > max(2.0, 0.2 * want[name] * n) for name, k in sizes.items()):
        report.warning(
            N_(
                "the homology split could not keep split_ratios {ratios}: the largest cluster holds "
                "{largest} of {n} proteins; sizes: {sizes}"
            ).format(
                ratios=f"{tr}/{va}/{te}",
                largest=result.largest,
                n=n,
                sizes=", ".join(N_("{split} {n} proteins").format(split=k, n=v) for k, v in sizes.items()),
            ),
            file=src,
            kind="homology_split",
            fix=N_("raise split_identity (smaller clusters), or provide validation and test files"),
        )
