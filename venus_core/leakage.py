"""The leakage report: every validation and test protein's highest identity to any training protein.

Random splits put close homologues of test proteins into train, and every metric is then too
optimistic. The data doctor (``check``, Preview Dataset) runs this report by default: it is cached
in the save directory, takes seconds for a few thousand proteins and about a minute for the
19k-protein demo on 2 cores the first time; ``leakage_report`` false skips it. Training does not
compute it. ``homology`` defines identity and does the search.

``report.stats["leakage"]`` holds, per split, the rows, their highest identity and the train row it
was found in; ``set_threshold`` (re)writes the near-duplicate warnings for a threshold, so the
Dataset page can move the threshold without aligning again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from venus_core import homology
from venus_core.i18n import N_

if TYPE_CHECKING:
    from venus_core.config import RunConfig
    from venus_core.data.types import TaskData
    from venus_core.report import Report

KIND = "near_duplicates"
QUERY_SPLITS = ("validation", "test")
# The summary counts proteins more than these identical (as a homology split promises: none above
# split_identity), and at least the near-duplicate threshold.
LEVELS = (0.3, 0.5)
EXAMPLES = 5  # closest proteins named in a warning


def add_report(task: TaskData, cfg: RunConfig, report: Report, monitor: homology.Monitor) -> None:
    """Align validation and test proteins to train; fill ``report.stats["leakage"]`` and warn."""
    train = task.splits.get("train")
    names = [s for s in QUERY_SPLITS if s in task.splits and len(task.splits[s])]
    if train is None or not len(train) or not names:
        return
    # Unique sequences (copies share one index), built as a homology split's check builds them.
    queries, targets = homology.against_train(
        train["aa_seq"].tolist(), [task.splits[name]["aa_seq"].tolist() for name in names]
    )
    target_rows = [0] * len(targets)  # the first train row of each unique sequence
    for seq, row in zip(train["aa_seq"][::-1], train["row"][::-1], strict=True):
        if seq:
            target_rows[targets[seq]] = int(row)
    try:
        hits = homology.search(
            list(queries),
            list(targets),
            progress=monitor.stage(N_("Leakage report: aligning validation and test proteins to train")),
            stop=monitor.stop,
            cache_dir=homology.cache_dir(cfg),
        )
    except homology.Stopped:
        report.warning(
            N_("the leakage report was stopped before it finished"),
            kind="leakage_stopped",
            fix=N_("check again"),
        )
        return
    best, which = hits.best(len(queries))
    splits: dict[str, Any] = {}
    for name in names:
        df = task.splits[name]
        q = np.array([queries.get(seq, -1) for seq in df["aa_seq"]], dtype=np.int64)
        found = q >= 0
        identity = np.where(found, best[np.maximum(q, 0)], 0.0)
        target = np.where(found, which[np.maximum(q, 0)], -1)
        splits[name] = {
            "rows": [int(r) for r in df["row"]],
            "max_identity": [round(float(x), 4) for x in identity],
            "train_row": [target_rows[t] if t >= 0 else None for t in target],
            "exact": [bool(seq) and seq in targets for seq in df["aa_seq"]],
        }
    report.stats["leakage"] = {
        "identity": homology.IDENTITY_DEFINITION,
        "method": hits.method,
        "seconds": round(hits.seconds, 2),
        "cached": hits.cached,
        "train": len(train),
        "sources": {name: task.sources.get(name) for name in names},
        "column": cfg.data.sequence_column_name,
        "splits": splits,
    }
    set_threshold(report, cfg.data.leakage_identity)


def set_threshold(report: Report, threshold: float) -> None:
    """(Re)write the near-duplicate warnings of ``report`` for ``threshold`` (no new alignment)."""
    stats = report.stats.get("leakage")
    if not stats:
        return
    stats["threshold"] = threshold
    report.warnings[:] = [i for i in report.warnings if i.kind != KIND]
    for name, entry in stats["splits"].items():
        identity = np.asarray(entry["max_identity"], dtype=np.float64)
        close = np.nonzero(identity >= threshold - 1e-9)[0]
        if not len(close):
            continue
        close = close[np.argsort(-identity[close], kind="stable")]
        exact = sum(bool(entry["exact"][i]) for i in close)
        shown = ", ".join(
            N_("row {row} ({identity:.1%} to train row {train_row})").format(
                row=entry["rows"][i], identity=identity[i], train_row=entry["train_row"][i]
            )
            for i in close[:EXAMPLES]
        )
        if len(close) > EXAMPLES:
            shown = N_("{closest} and {n} more").format(closest=shown, n=len(close) - EXAMPLES)
        # An optional part: a value that is a marked message itself, or empty.
        copies = N_(", {n} of them exact copies").format(n=exact) if exact else ""
        report.warning(
            N_(
                "{split} has {n} of {total} sequences at least {threshold:.0%} identical to a train sequence "
                "(near-duplicates{copies}): {split} scores will be too optimistic. Closest: {closest}"
            ).format(
                split=name,
                n=len(close),
                total=len(identity),
                threshold=threshold,
                copies=copies,
                closest=shown,
            ),
            file=stats["sources"].get(name),
            column=stats["column"],
            kind=KIND,
            fix=N_(
                "split by homology (--split_method homology --split_identity 0.3) so similar proteins "
                "stay in one split, or remove these rows from {split}"
            ).format(split=name),
        )


def counts(identity: list[float] | np.ndarray, threshold: float, *, more_than: bool = False) -> int:
    """Proteins at least (or more than) ``threshold`` identical to train."""
    values = np.asarray(identity, dtype=np.float64)
    return int((values > threshold + 1e-9).sum() if more_than else (values >= threshold - 1e-9).sum())


def summary_lines(stats: dict[str, Any]) -> list[str]:
    """The report in a few lines, for ``check``."""
    leak = stats.get("leakage")
    if not leak:
        return []
    threshold = leak.get("threshold", 0.9)
    lines = [f"Leakage report: highest identity of each protein to train ({leak['identity']})."]
    for name, entry in leak["splits"].items():
        identity = np.asarray(entry["max_identity"], dtype=np.float64)
        related = identity[identity > 0]
        parts = [f">{t:.0%}: {counts(identity, t, more_than=True)}" for t in LEVELS]
        parts.append(f">={threshold:.0%}: {counts(identity, threshold)}")
        median = f", median of those {np.median(related):.1%}" if len(related) else ""
        lines.append(
            f"  {name}: {len(identity)} proteins; {', '.join(parts)}; related to a train protein: "
            f"{len(related)}{median}"
        )
    how = "read from the cache" if leak["cached"] else "computed"
    lines.append(f"  {leak['method']}; {how}, {leak['seconds']:.1f} s to compute.")
    return lines
