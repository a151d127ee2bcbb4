"""The data doctor: every problem of a run's data, as actionable lines, plus preview statistics.

``check(cfg)`` is the front door (the ``check`` CLI command and the Dataset page call it). It runs
``data.prepare``, which loads the splits and records the errors found while cleaning and parsing
them (missing columns, unparsable labels, bad residues ...: the checks that need the parser live
beside it, so training and checking share one code path), then ``inspect`` below adds the
warnings that look at the data as a whole (duplicates, leakage, imbalance ...) and the statistics
the Dataset page shows.

A ``Report`` never floods: when one problem repeats on many rows, the first
``MAX_ROWS_PER_PROBLEM`` rows are listed and one line counts the rest.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from venus_core.jsonvalues import jsonable

if TYPE_CHECKING:
    from venus_core.config import RunConfig
    from venus_core.data import TaskData
    from venus_core.homology import Monitor

MAX_ROWS_PER_PROBLEM = 5
MAX_STATS_LENGTHS = 20_000  # lengths kept for the histogram; more are sampled (seeded)
IMBALANCE_RATIO = 10
SAMPLE_ROWS = 5
SAMPLE_SEQ_CHARS = 60


@dataclass
class Issue:
    """One problem of the data or the config. ``row`` is the 1-based data row in ``file``."""

    severity: str  # "error" or "warning"
    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None
    fix: str | None = None
    kind: str = ""  # stable code ("bad_label", "leakage" ...), for grouping, tests and the UI
    count: int = 1  # how many rows this line stands for (> 1 only on an "... and N more" line)

    def format(self) -> str:
        """``ERROR <file> row <n>, column <col>: <message> (value '<v>'). Fix: <fix>``."""
        place = ", ".join(
            p
            for p in (
                f"row {self.row}" if self.row is not None else None,
                f"column {self.column}" if self.column else None,
            )
            if p
        )
        where = " ".join(p for p in (self.file, place) if p)
        text = f"{self.severity.upper()}{' ' + where if where else ''}: {self.message.rstrip('.')}"
        if self.value is not None:
            text += f" (value '{_short(self.value)}')"
        text = _end_sentence(text)
        if self.fix:
            text += " Fix: " + _end_sentence(self.fix)
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "message": self.message,
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "value": None if self.value is None else _short(self.value),
            "fix": self.fix,
            "count": self.count,
        }


@dataclass
class Report:
    """Errors and warnings of one check, and the statistics for the Dataset page."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    # (severity, kind, file, column) -> [rows listed so far, the "... and N more" issue or None]
    _groups: dict[tuple, list] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, issue: Issue) -> None:
        """Record an issue; past ``MAX_ROWS_PER_PROBLEM`` rows of one problem, only count them. The
        same problem in several files (a column missing from train, validation and test) is one
        issue naming every file."""
        target = self.errors if issue.severity == "error" else self.warnings
        if issue.row is None:
            same = next(
                (
                    i
                    for i in target
                    if i.row is None
                    and i.file
                    and issue.file
                    and (i.kind, i.message, i.column, i.fix)
                    == (issue.kind, issue.message, issue.column, issue.fix)
                ),
                None,
            )
            if same is None:
                target.append(issue)
            elif issue.file not in same.file.split(", "):
                same.file = f"{same.file}, {issue.file}"
            return
        key = (issue.severity, issue.kind or issue.message, issue.file, issue.column)
        group = self._groups.setdefault(key, [0, None])
        if group[0] < MAX_ROWS_PER_PROBLEM:
            group[0] += 1
            target.append(issue)
            return
        more = group[1]
        if more is None:
            more = group[1] = Issue(
                issue.severity, "", issue.file, None, issue.column, None, issue.fix, issue.kind, 0
            )
            target.append(more)
        more.count += 1
        more.message = f"... and {more.count} more rows with the same problem"

    def error(self, message: str, **kw: Any) -> None:
        self.add(Issue("error", message, **kw))

    def warning(self, message: str, **kw: Any) -> None:
        self.add(Issue("warning", message, **kw))

    @property
    def n_errors(self) -> int:
        """Problems found, counting every row (a "... and N more" line counts N)."""
        return sum(i.count for i in self.errors)

    @property
    def n_warnings(self) -> int:
        return sum(i.count for i in self.warnings)

    def summary(self) -> str:
        text = f"{_plural(self.n_errors, 'error')}, {_plural(self.n_warnings, 'warning')}"
        sizes = {k: v.get("n", 0) for k, v in self.stats.get("splits", {}).items()}
        if sizes:
            text += ". Splits: " + ", ".join(f"{k} {n}" for k, n in sizes.items())
        return text + "."

    def format(self) -> str:
        """One line per issue (errors first), then the summary line."""
        return "\n".join(
            [*(i.format() for i in self.errors), *(i.format() for i in self.warnings), self.summary()]
        )

    def format_errors(self) -> str:
        """The errors only, for a ``VenusError`` message."""
        head = f"The data has {_plural(self.n_errors, 'error')}:"
        return "\n".join([head, *(i.format() for i in self.errors)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
            "stats": self.stats,
        }


def check(
    cfg: RunConfig,
    *,
    progress: Callable[[int, int, str], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Report:
    """Check a run's data (and its task settings). Never raises for a user's mistake.

    Also computes the leakage report (unless ``leakage_report`` is off) and a homology split:
    ``progress(done, total, stage)`` follows them, ``stop()`` returning True ends them.
    """
    try:
        from venus_core import data
        from venus_core.homology import Monitor

        return data.prepare(cfg, monitor=Monitor(progress, stop))[1]
    except Exception as e:  # a bug of ours: still show it as an ERROR line, not a traceback
        report = Report()
        add_unexpected(report, e)
        return report


def add_unexpected(report: Report, e: BaseException) -> None:
    """Record an exception that is not a user's mistake as an ERROR line (no traceback)."""
    report.error(
        f"Unexpected problem while checking the data: {type(e).__name__}: {_one_line(str(e))}",
        kind="unexpected",
        fix="check the inputs named above; if they look right, please report this message",
    )


# ---------------------------------------------------------------------------------------------
# Whole-data warnings and statistics (row-level errors are recorded by data.prepare)


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
                    f"{name} has {_plural(n_long, 'sequence')} longer than max_seq_len "
                    f"{cfg.data.max_seq_len}: "
                    "they will be truncated, never dropped",
                    file=src,
                    column=seq_col,
                    kind="too_long",
                    fix="raise max_seq_len (memory allowing) if the ends of long sequences matter",
                )
    _leakage(splits, task.sources, seq_col, report)
    if task.problem_type == "single_label_classification":
        _class_balance(task, report, cfg.data.label_column_name)
    report.stats = _stats(task, columns, seed=cfg.train.seed)
    if monitor is not None and cfg.data.leakage_report:
        from venus_core import leakage

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
    message = f"{split} has duplicate sequences: {_plural(len(per_seq), 'sequence')} in {len(repeated)} rows"
    message += f"; {conflicting} of them with different labels" if conflicting else "; their labels agree"
    report.warning(
        message,
        file=src,
        column=seq_col,
        kind="duplicates",
        fix="remove the extra copies (and resolve conflicting labels) so no protein counts twice",
    )


def _leakage(splits: dict[str, pd.DataFrame], sources: dict[str, str], seq_col: str, report: Report) -> None:
    sets = {name: set(df["aa_seq"]) - {""} for name, df in splits.items()}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        if a in sets and b in sets:
            shared = len(sets[a] & sets[b])
            if shared:
                report.warning(
                    f"{b} shares {_plural(shared, 'sequence')} with {a} (data leakage: {b} scores will be "
                    "too optimistic)",
                    file=sources.get(b),
                    column=seq_col,
                    kind="leakage",
                    fix=f"remove them from {b}, or split by sequence clusters (e.g. MMseqs2) so no "
                    "protein is in two splits",
                )


def _class_balance(task: TaskData, report: Report, label_col: str) -> None:
    for name, df in task.splits.items():
        classes = {t for t in df["target"] if t is not None and not _is_nan(t)}
        if len(df) > 1 and len(classes) == 1:
            report.warning(
                f"{name} has one class only ({next(iter(classes))}): most metrics (MCC, AUROC, F1) "
                "are meaningless on it",
                file=task.sources.get(name),
                column=label_col,
                kind="one_class",
                fix="make sure every split contains examples of each class",
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
                f"strong class imbalance in train: class {big} has {n_big} rows, class {small} has "
                f"{n_small} (ratio {n_big / n_small:.3g})",
                file=task.sources.get("train"),
                column=label_col,
                kind="imbalance",
                fix="prefer mcc, f1 or auroc over accuracy as the monitor, or rebalance the data",
            )
    if task.num_labels and counts:
        absent = [k for k in range(task.num_labels) if k not in counts]
        if absent:
            shown = ", ".join(map(str, absent[:20])) + (" ..." if len(absent) > 20 else "")
            report.warning(
                f"{_plural(len(absent), 'class')} without a row in train ({shown}): the model cannot "
                "learn them",
                file=task.sources.get("train"),
                column=label_col,
                kind="missing_class",
                fix="check num_labels and the label indices (they count from 0)",
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
            {"row": int(r.row), "aa_seq": _truncate(r.aa_seq, SAMPLE_SEQ_CHARS), "label": jsonable(r.label)}
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


# ---------------------------------------------------------------------------------------------
# small helpers


def _label_key(target: Any, label: Any) -> Any:
    return str(label) if target is None or _is_nan(target) else target


def _is_nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _end_sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!", "…")) else text + "."


def _truncate(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n] + "…"


def _short(value: Any, n: int = 40) -> str:
    return _truncate(_one_line(str(jsonable(value))), n)


def _one_line(text: str, n: int = 500) -> str:
    return _truncate(" ".join(text.split()), n)


def _plural(n: int, word: str) -> str:
    """``1 error``, ``2 errors``, ``2 classes``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"
