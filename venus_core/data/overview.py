"""Whole-data warnings and statistics: duplicates, leakage across splits, class balance, and
the statistics the Dataset page shows (row-level errors are recorded by ``data.prepare``).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from venus_core import leakage
from venus_core.config import RunConfig
from venus_core.data.types import TaskData
from venus_core.homology import Monitor
from venus_core.i18n import N_
from venus_core.jsonvalues import jsonable
from venus_core.report import Report, n_classes_text, n_sequences_text, truncate

MAX_STATS_LENGTHS = 20_000  # lengths kept for the histogram; more are sampled (seeded)
IMBALANCE_RATIO = 10
SAMPLE_ROWS = 5
SAMPLE_SEQ_CHARS = 60


def inspect(
    task: TaskData,
    cfg: RunConfig,
    report: Report,
    *,
    columns: dict[str, list[str]],
    monitor: Monitor | None = None,
) -> None:
    """Add the warnings that look across rows and splits, and fill ``report.stats``.

    ``task`` may be a draft with errors (``target`` None on bad rows): statistics then use what
    could be parsed, so the Dataset page can still show a preview next to the errors. With a
    ``monitor`` (a check, not training), the leakage report is added too.
    """
    seq_col = cfg.data.sequence_column_name
    splits = task.splits
    for name, df in splits.items():
        src = task.sources.get(name)
        _duplicates(df, name, src, seq_col, report)
        if cfg.data.max_seq_len != -1:
            n_long = int((df["aa_seq"].str.len() > cfg.data.max_seq_len).sum())
            if n_long:
                report.warning(
                    N_(
                        "{split} has {sequences} longer than max_seq_len {max_seq_len}: they will be "
                        "truncated, never dropped"
                    ).format(
                        split=name, sequences=n_sequences_text(n_long), max_seq_len=cfg.data.max_seq_len
                    ),
                    file=src,
                    column=seq_col,
                    kind="too_long",
                    fix=N_("raise max_seq_len (memory allowing) if the ends of long sequences matter"),
                )
    _leakage(splits, task.sources, seq_col, report)
    if task.problem_type == "single_label_classification":
        _class_balance(task, report, cfg.data.label_column_name)
    report.stats = _stats(task, columns, seed=cfg.train.seed)
    if monitor is not None and cfg.data.leakage_report:
        leakage.add_report(task, cfg, report, monitor)


def _duplicates(df: pd.DataFrame, split: str, src: str | None, seq_col: str, report: Report) -> None:
    seqs = df["aa_seq"]
    repeated = seqs[seqs.duplicated(keep=False) & (seqs != "")]
    if repeated.empty:
        return
    rows = df.loc[repeated.index]
    labels = pd.Series(
        [_label_key(t, v) for t, v in zip(rows["target"], rows["label"], strict=True)],
        index=repeated.index,
        dtype=object,
    )
    per_seq = labels.groupby(repeated).nunique()
    conflicting = int((per_seq > 1).sum())
    if conflicting:
        message = N_(
            "{split} has duplicate sequences: {sequences} in {rows} rows; {conflicting} of them with "
            "different labels"
        )
    else:
        message = N_("{split} has duplicate sequences: {sequences} in {rows} rows; their labels agree")
    report.warning(
        message.format(
            split=split, sequences=n_sequences_text(len(per_seq)), rows=len(repeated), conflicting=conflicting
        ),
        file=src,
        column=seq_col,
        kind="duplicates",
        fix=N_("remove the extra copies (and resolve conflicting labels) so no protein counts twice"),
    )


def _leakage(splits: dict[str, pd.DataFrame], sources: dict[str, str], seq_col: str, report: Report) -> None:
    sets = {name: set(df["aa_seq"]) - {""} for name, df in splits.items()}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        if a in sets and b in sets:
            shared = len(sets[a] & sets[b])
            if shared:
                report.warning(
                    N_(
                        "{split} shares {sequences} with {other} (data leakage: {split} scores will be "
                        "too optimistic)"
                    ).format(split=b, sequences=n_sequences_text(shared), other=a),
                    file=sources.get(b),
                    column=seq_col,
                    kind="leakage",
                    fix=N_(
                        "remove them from {split}, or split by sequence clusters (e.g. MMseqs2) so no "
                        "protein is in two splits"
                    ).format(split=b),
                )


def _class_balance(task: TaskData, report: Report, label_col: str) -> None:
    for name, df in task.splits.items():
        classes = {t for t in df["target"] if t is not None and not _is_nan(t)}
        if len(df) > 1 and len(classes) == 1:
            report.warning(
                N_(
                    "{split} has one class only ({label}): most metrics (MCC, AUROC, F1) are meaningless "
                    "on it"
                ).format(split=name, label=next(iter(classes))),
                file=task.sources.get(name),
                column=label_col,
                kind="one_class",
                fix=N_("make sure every split contains examples of each class"),
            )
    train = task.splits.get("train")
    if train is None:
        return
    # Out-of-range labels are reported as errors; they must not count as classes here.
    limit = task.num_labels or float("inf")
    counts = Counter(int(t) for t in train["target"] if t is not None and not _is_nan(t) and 0 <= t < limit)
    if len(counts) >= 2:
        (big, n_big), (small, n_small) = counts.most_common()[0], counts.most_common()[-1]
        if n_big > IMBALANCE_RATIO * n_small:
            report.warning(
                N_(
                    "strong class imbalance in train: class {big} has {n_big} rows, class {small} has "
                    "{n_small} (ratio {ratio:.3g})"
                ).format(big=big, n_big=n_big, small=small, n_small=n_small, ratio=n_big / n_small),
                file=task.sources.get("train"),
                column=label_col,
                kind="imbalance",
                fix=N_("prefer mcc, f1 or auroc over accuracy as the monitor, or rebalance the data"),
            )
    if task.num_labels and counts:
        absent = [k for k in range(task.num_labels) if k not in counts]
        if absent:
            shown = ", ".join(map(str, absent[:20])) + (" ..." if len(absent) > 20 else "")
            report.warning(
                N_("{classes} without a row in train ({shown}): the model cannot learn them").format(
                    classes=n_classes_text(len(absent)), shown=shown
                ),
                file=task.sources.get("train"),
                column=label_col,
                kind="missing_class",
                fix=N_("check num_labels and the label indices (they count from 0)"),
            )


def _stats(task: TaskData, columns: dict[str, list[str]], *, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    per_split: dict[str, Any] = {}
    for name, df in task.splits.items():
        lengths = df["aa_seq"].str.len().to_numpy(dtype=np.int64)
        shown = (
            lengths
            if len(lengths) <= MAX_STATS_LENGTHS
            else rng.choice(lengths, MAX_STATS_LENGTHS, replace=False)
        )
        entry: dict[str, Any] = {"n": len(df), "columns": list(columns.get(name, []))}
        if len(lengths):
            entry.update(
                length_min=int(lengths.min()),
                length_median=float(np.median(lengths)),
                length_mean=float(lengths.mean()),
                length_max=int(lengths.max()),
            )
        entry["lengths"] = [int(x) for x in shown]
        entry["labels"] = _label_distribution(task, df)
        entry["sample_rows"] = [
            {"row": int(r.row), "aa_seq": truncate(r.aa_seq, SAMPLE_SEQ_CHARS), "label": jsonable(r.label)}
            for r in df.head(SAMPLE_ROWS).itertuples(index=False)
        ]
        per_split[name] = entry
    return {
        "problem_type": task.problem_type,
        "num_labels": task.num_labels,
        "label_names": task.label_names,
        "sources": dict(task.sources),
        "derived": dict(task.derived),
        "normalization": task.normalization,
        "splits": per_split,
    }


def _label_distribution(task: TaskData, df: pd.DataFrame) -> dict[str, Any]:
    targets = [t for t in df["target"] if t is not None and not _is_nan(t)]
    if task.problem_type == "regression":
        values = np.asarray(targets, dtype=np.float64)
        if task.normalization:  # show the labels in the units the user wrote them
            values = task.denormalize(values)
        if not len(values):
            return {"edges": [], "counts": []}
        counts, edges = np.histogram(values, bins=20)
        return {
            "edges": [float(e) for e in edges],
            "counts": [int(c) for c in counts],
            "mean": float(values.mean()),
            "std": float(values.std()),
            "min": float(values.min()),
            "max": float(values.max()),
        }
    counter: Counter[int] = Counter()
    for t in targets:
        counter.update(t if isinstance(t, tuple) else (int(t),))
    keys = sorted(set(counter) | set(range(task.num_labels or 0)))
    return {str(k): int(counter.get(k, 0)) for k in keys}


def _label_key(target: Any, label: Any) -> Any:
    return str(label) if target is None or _is_nan(target) else target


def _is_nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)
