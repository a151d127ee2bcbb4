"""Parsing and checking labels, the number of labels, regression normalisation."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from venus_core import label_formats
from venus_core.i18n import N_
from venus_core.report import Report


def parse_label(
    value: Any,
    problem_type: str,
    multi_label_format: str = label_formats.INDICES,
    num_labels: int | None = None,
) -> tuple[Any, str | None]:
    """Parse one label for a problem type: ``(target, None)`` or ``(None, problem)``.

    single-label: an integer class index ("1" and "1.0" accepted); multi-label: comma-separated
    indices "0,3,7" or a JSON list "[0, 3]", or with ``multi_label_format="multi_hot"`` one 0/1
    per label "1,0,0,1" (either way a sorted, de-duplicated tuple of indices); regression: a finite
    float. Index ranges are not checked here (``num_labels`` may still be unknown).
    """
    if is_missing(value):
        return None, N_("missing label")
    if problem_type == "single_label_classification":
        k = label_formats.as_class_index(value)
        return (k, None) if k is not None else (None, N_("label is not an integer class index"))
    if problem_type == "multi_label_classification":
        return label_formats.parse_multi_label(value, multi_label_format, num_labels)
    if problem_type == "regression":
        try:
            x = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            return None, N_("label is not a number")
        if not math.isfinite(x):
            return None, N_("label is not a finite number (NaN or infinity)")
        return x, None
    return None, N_("unknown problem_type '{problem_type}'").format(problem_type=problem_type)


def parse_labels(
    df: pd.DataFrame,
    src: str,
    col: str,
    problem_type: str,
    report: Report,
    label_format: str = label_formats.INDICES,
    num_labels: int | None = None,
) -> pd.Series:
    fixes = {
        "single_label_classification": N_("use an integer class index (0, 1, 2, ...)"),
        "multi_label_classification": label_formats.FIXES[label_format],
        "regression": N_("use a finite number such as 0.75 or -1.2"),
    }
    targets = []
    for value, row in zip(df["label"], df["row"], strict=True):
        target, problem = parse_label(value, problem_type, label_format, num_labels)
        if problem:
            missing = problem == "missing label"
            report.error(
                problem,
                file=src,
                row=int(row),
                column=col,
                value=None if missing else value,
                kind="missing_label" if missing else "bad_label",
                fix=N_("fill in the label or delete the row") if missing else fixes[problem_type],
            )
        targets.append(target)
    # object dtype: pandas would turn None into NaN and ints into floats
    return pd.Series(targets, index=df.index, dtype=object)


def range_problem(target: Any, problem_type: str, num_labels: int | None) -> str | None:
    if problem_type == "regression" or target is None:
        return None
    indices = target if isinstance(target, tuple) else (target,)
    for k in indices:
        if k < 0 or (num_labels is not None and k >= num_labels):
            if num_labels is None:
                return N_("class index {index} is negative (indices count from 0)").format(index=k)
            return N_("class index {index} is outside 0..{last} (num_labels is {num_labels})").format(
                index=k, last=num_labels - 1, num_labels=num_labels
            )
    return None


def check_ranges(
    df: pd.DataFrame, src: str, col: str, problem_type: str, num_labels: int, report: Report
) -> None:
    for target, row, value in zip(df["target"], df["row"], df["label"], strict=True):
        problem = range_problem(target, problem_type, num_labels)
        if problem:
            report.error(
                problem,
                file=src,
                row=int(row),
                column=col,
                value=value,
                kind="label_out_of_range",
                fix=N_("class indices count from 0; set num_labels to the number of classes"),
            )


def infer_num_labels(
    splits: dict[str, pd.DataFrame], problem_type: str, report: Report, col: str
) -> int | None:
    if problem_type == "regression":
        return 1
    largest = -1
    for df in splits.values():
        for t in df["target"]:
            if t is not None:
                largest = max(largest, *(t if isinstance(t, tuple) else (t,)), -1)
    if largest < 0:
        return None
    num_labels = max(2, largest + 1)
    report.warning(
        N_(
            "num_labels was not set: inferred {num_labels} from the labels (largest class index {largest})"
        ).format(num_labels=num_labels, largest=largest),
        column=col,
        kind="num_labels_inferred",
        fix=N_("set num_labels if some classes are absent from the data"),
    )
    return num_labels


def normalization_of(
    train: pd.DataFrame | None, method: str, src: str | None, col: str, report: Report
) -> dict[str, Any] | None:
    """Statistics from the train split only (validation/test must not leak into training)."""
    if train is None:
        return None
    values = np.array([t for t in train["target"] if t is not None], dtype=np.float64)
    if not len(values):
        return None
    if method == "standard":
        stats = {"method": "standard", "mean": float(values.mean()), "std": float(values.std())}
        constant = stats["std"] == 0
    else:
        stats = {"method": "min_max", "min": float(values.min()), "max": float(values.max())}
        constant = stats["max"] == stats["min"]
    if constant:
        report.error(
            N_(
                "all train labels are equal ({value:g}): {method} normalisation would divide by zero, "
                "and there is nothing to learn"
            ).format(value=values[0], method=method),
            file=src,
            column=col,
            kind="constant_labels",
            fix=N_("check the label column; or unset normalize"),
        )
        return None
    return stats


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return math.isnan(value)
    return False
