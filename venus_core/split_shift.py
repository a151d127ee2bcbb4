"""Split shift at a glance: how validation and test differ from train, as plain data.

Length distributions (shares per bin, binned here: the browser never receives one value per
protein), label distributions, amino-acid composition, and one summary row per split with a
distance to train for each (two-sample Kolmogorov-Smirnov statistic of the lengths, total
variation distance of the labels and of the composition). Every function takes an
``explore.Explorer`` and returns frames ready to plot and to download as CSV.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from venus_core.explore import Explorer
from venus_core.i18n import N_
from venus_core.leakage import counts

STANDARD_AA = "ACDEFGHIKLMNPQRSTVWY"
OTHER = "other"  # X, B, Z, U, O


def length_bins(ex: Explorer, n_bins: int = 40) -> pd.DataFrame:
    """Columns ``start``, ``end`` (residues) and, per split, the % of its sequences in the bin;
    one set of round-width bins shared by every split."""
    lengths = {s: ex.table(s)["length"].to_numpy() for s in ex.splits}
    lo, hi = ex.length_bounds()
    width = _round_width(max(1.0, (hi - lo) / n_bins))
    start = (lo // width) * width
    edges = np.arange(start, hi + width + 1, width)
    out = pd.DataFrame({"start": edges[:-1], "end": edges[1:] - 1})
    for s, x in lengths.items():
        counts = np.histogram(x, bins=edges)[0] if len(x) else np.zeros(len(edges) - 1)
        out[s] = 100.0 * counts / max(len(x), 1)
    return out


def _round_width(raw: float) -> int:
    for nice in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if nice >= raw:
            return nice
    return int(np.ceil(raw))


def label_shares(ex: Explorer, n_bins: int = 20) -> pd.DataFrame:
    """Classification: ``class``, ``name`` and per split the % of its sequences with that label
    (multi-label rows count once per label, so a split can sum to more than 100).
    Regression: ``start``, ``end`` (label units) and per split the % of its values in the bin."""
    if ex.problem_type == "regression":
        lo, hi = ex.value_bounds() or (0.0, 1.0)
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, n_bins + 1)
        out = pd.DataFrame({"start": edges[:-1], "end": edges[1:]})
        for s in ex.splits:
            v = ex.table(s)["value"].to_numpy()
            out[s] = 100.0 * np.histogram(v, bins=edges)[0] / max(len(v), 1)
        return out
    classes = ex.classes()
    out = pd.DataFrame({"class": classes, "name": [ex.class_name(k) for k in classes]})
    for s in ex.splits:
        counts = ex.class_counts(s)
        n = max(len(ex.table(s)), 1)
        out[s] = [100.0 * (counts[k] if k < len(counts) else 0) / n for k in classes]
    return out


def composition(ex: Explorer) -> pd.DataFrame:
    """Index: the splits; columns: the 20 standard amino acids and ``other``; values: % of the
    split's residues. Computed once per explorer."""
    return ex.cached("composition", lambda: _composition(ex))


def _composition(ex: Explorer) -> pd.DataFrame:
    rows = {}
    for s in ex.splits:
        seqs = ex.table(s)["aa_seq"]
        counts = np.bincount(
            np.frombuffer("".join(seqs.tolist()).encode("ascii"), dtype=np.uint8), minlength=256
        )
        total = max(int(counts.sum()), 1)
        standard = {a: int(counts[ord(a)]) for a in STANDARD_AA}
        shares = {a: 100.0 * k / total for a, k in standard.items()}
        shares[OTHER] = 100.0 * (int(counts.sum()) - sum(standard.values())) / total
        rows[s] = shares
    return pd.DataFrame.from_dict(rows, orient="index")


def summary(ex: Explorer, leakage: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per split: sequences, length median/mean, and against train: the KS statistic of
    the lengths, the total variation distance of the labels and of the composition (0 = the
    same distribution, 1 = disjoint), and the near-duplicates of the leakage report when given."""
    from scipy.stats import ks_2samp

    comp = composition(ex)
    labels = label_shares(ex)
    train = ex.table("train") if "train" in ex.splits else None
    rows = []
    for s in ex.splits:
        t = ex.table(s)
        lengths = t["length"].to_numpy()
        row: dict[str, Any] = {
            "split": s,
            N_("sequences"): len(t),
            N_("median length"): float(np.median(lengths)) if len(t) else None,
            N_("mean length"): float(lengths.mean()) if len(t) else None,
        }
        if train is not None and s != "train" and len(t) and len(train):
            row[N_("length KS vs train")] = float(ks_2samp(lengths, train["length"].to_numpy()).statistic)
            row[N_("label distance vs train")] = _tv(labels[s].to_numpy(), labels["train"].to_numpy())
            row[N_("composition distance vs train")] = _tv(
                comp.loc[s].to_numpy(), comp.loc["train"].to_numpy()
            )
        if leakage and s in leakage.get("splits", {}):
            threshold = leakage.get("threshold", 0.9)
            identity = leakage["splits"][s]["max_identity"]
            row[N_("≥ {threshold:.0%} identical to train").format(threshold=threshold)] = counts(
                identity, threshold
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _tv(p: np.ndarray, q: np.ndarray) -> float:
    """Total variation distance of two distributions given as shares (normalised here)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())
