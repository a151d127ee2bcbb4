"""Deriving missing splits from train: seeded, stratified random or homology-aware splits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from venus_core import homology_split
from venus_core.config import RunConfig
from venus_core.data.labels import parse_label
from venus_core.data.types import RawData
from venus_core.homology import Monitor
from venus_core.i18n import N_, plural
from venus_core.report import Report


def derive_splits(raw: RawData, cfg: RunConfig, report: Report, monitor: Monitor | None = None) -> None:
    if "train" not in raw.splits:
        if "train" not in raw.failed:
            report.error(
                N_("no train split found"),
                file=next(iter(raw.sources.values()), None),
                kind="empty_split",
                fix=N_("add a train file (train.csv)"),
            )
        return
    if cfg.data.split_method == "homology" and not raw.failed:
        homology_split.derive_splits(raw, cfg, report, monitor)
        return
    tr, va, te = cfg.data.split_ratios
    seed = cfg.train.seed
    train = raw.splits["train"]
    src = raw.sources["train"]
    # A split that was given but could not be read is not derived: its errors are reported.
    has_val = "validation" in raw.splits or "validation" in raw.failed
    has_test = "test" in raw.splits or "test" in raw.failed
    if has_val and has_test:
        return
    if has_val:  # train + validation: never test on validation
        report.warning(
            N_("no test split: no test metrics will be computed"),
            kind="no_test",
            fix=N_("add a test file to get test metrics"),
        )
        return
    if has_test:
        fractions = {"validation": va / (tr + va)}
        how = N_("carved from train: {fraction:.3f} of its rows (split_ratios {ratios})").format(
            fraction=fractions["validation"], ratios=f"{va}/({tr}+{va})"
        )
    else:
        fractions = {"validation": va, "test": te} if te > 0 else {"validation": va}
        how = N_("split from train with split_ratios {ratios}").format(ratios=f"{tr}/{va}/{te}")
    keys, stratified = _strata(train, cfg, src, report)
    parts = _split_rows(len(train), fractions, seed, keys)
    if parts is None:
        report.error(
            N_("too few rows in train ({n}) to derive {splits} splits").format(
                n=len(train), splits=N_("validation and test") if len(fractions) > 1 else "validation"
            ),
            file=src,
            kind="empty_split",
            fix=N_("add rows, or provide validation and test files"),
        )
        return
    for name, idx in parts.items():
        raw.splits[name] = train.iloc[idx].reset_index(drop=True)
        raw.sources[name] = src
        derived = N_("{how}, seed {seed}").format(how=how, seed=seed)
        if stratified:
            derived = N_("{how}, stratified by label").format(how=derived)
        raw.derived[name] = derived
        raw.columns[name] = raw.columns.get("train", [])
    for name in fractions:
        report.warning(
            N_("no {split} split given: {how}").format(split=name, how=raw.derived[name]),
            file=src,
            kind="derived_split",
            fix=N_("provide a {split} file to control it").format(split=name),
        )
    if "test" not in raw.splits:
        report.warning(
            N_("no test split: no test metrics will be computed"),
            kind="no_test",
            fix=N_("add a test file, or give split_ratios a test fraction"),
        )


def _strata(train: pd.DataFrame, cfg: RunConfig, src: str, report: Report) -> tuple[np.ndarray | None, bool]:
    """Class keys to stratify by (single-label only), or None when a class has one member."""
    if cfg.data.problem_type != "single_label_classification":
        return None, False
    keys = np.array([_stratum(v) for v in train["label"]])
    classes, counts = np.unique(keys, return_counts=True)
    single = [str(c) for c, n in zip(classes, counts, strict=True) if n < 2 and c != "?"]
    if single:
        report.warning(
            N_(
                "{classes} ({shown}) with a single row in train: the automatic split is not stratified"
            ).format(
                classes=plural(len(single), N_("{n} class"), N_("{n} classes")), shown=", ".join(single[:10])
            ),
            file=src,
            column=cfg.data.label_column_name,
            kind="unstratified",
            fix=N_("provide validation and test files, or add rows to the rare classes"),
        )
        return None, False
    return keys, True


def _stratum(label: Any) -> str:
    # Unparsable labels form one stratum of their own: their rows' errors are reported later.
    k = parse_label(label, "single_label_classification")[0]
    return "?" if k is None else str(k)


def _split_rows(
    n: int, fractions: dict[str, float], seed: int, keys: np.ndarray | None
) -> dict[str, np.ndarray] | None:
    """Seeded split of ``range(n)``: ``{"train": idx, name: idx ...}`` with sorted indices.

    Stratified when ``keys`` is given: each row gets a key spread evenly within its class
    ((rank in class + jitter) / class size) and rows are cut in key order, so every class is
    spread over the splits in proportion and the sizes are exact.
    """
    sizes = {name: max(1, round(n * f)) for name, f in fractions.items()}
    if n - sum(sizes.values()) < 1:
        return None
    rng = np.random.default_rng(seed)
    if keys is None:
        order = rng.permutation(n)
    else:
        codes = np.unique(keys, return_inverse=True)[1]
        counts = np.bincount(codes)
        by_class = np.lexsort((rng.random(n), codes))  # grouped by class, shuffled within
        rank = np.empty(n)
        rank[by_class] = np.arange(n) - (np.cumsum(counts) - counts)[codes[by_class]]
        order = np.argsort((rank + rng.random(n)) / counts[codes], kind="stable")
    out: dict[str, np.ndarray] = {}
    start = 0
    for name, size in sizes.items():
        out[name] = np.sort(order[start : start + size])
        start += size
    out["train"] = np.sort(order[start:])
    return out
