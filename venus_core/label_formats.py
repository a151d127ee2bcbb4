"""How a multi-label file lists each protein's labels, and the check that the choice fits the data.

Two formats, chosen with ``multi_label_format``:

- ``indices`` (the guide's, the default): the class indices that apply, ``"0,3"`` or ``"[0, 3]"``.
- ``multi_hot``: one 0/1 entry per label, ``"1,0,0,1"`` (``num_labels`` entries).

Read with the wrong format, a multi-hot label is still a valid index list: ``"1,0,0,1"`` becomes
the index set {0, 1}, silently. ``looks_multi_hot`` recognises such data (every label the same
length, 0/1 entries only, and some label repeating an entry, which an index list never needs) so
the data check can say so and how to choose.
"""

from __future__ import annotations

import json
import math
import numbers
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from venus_core import vocab
from venus_core.i18n import N_

if TYPE_CHECKING:
    import pandas as pd

    from venus_core.report import Report

INDICES, MULTI_HOT = vocab.MULTI_LABEL_FORMATS
FIXES = {
    INDICES: N_('use comma-separated class indices in quotes, e.g. "0,3,7"'),
    MULTI_HOT: N_(
        'use one 0/1 entry per label, comma separated in quotes, e.g. "1,0,0,1" (num_labels '
        "entries); or set multi_label_format to indices if the labels are class indices"
    ),
}


def as_class_index(value: Any) -> int | None:
    """An integer class index from 1, "1", "1.0", 1.0; None otherwise."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, str):
        s = value.strip()
        try:
            return int(s)
        except ValueError:
            pass
        try:
            value = float(s)
        except ValueError:
            return None
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return None


def entries(value: Any) -> list[int] | None:
    """The integers a multi-label cell lists ("0,3", "[0, 3]", a list, one number); None if any
    entry is not an integer or the cell is not a list."""
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                items = json.loads(s)
            except json.JSONDecodeError:
                return None
            if not isinstance(items, list):
                return None
        else:
            items = s.split(",")
    elif isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
    elif isinstance(value, numbers.Real):
        items = [value]
    else:
        return None
    ints = [as_class_index(x) for x in items]
    return None if any(k is None for k in ints) else ints  # type: ignore[return-value]


def parse_multi_label(
    value: Any, multi_label_format: str = INDICES, num_labels: int | None = None
) -> tuple[tuple[int, ...] | None, str | None]:
    """``(sorted class indices, None)`` or ``(None, problem)`` for one multi-label cell.

    Multi-hot needs exactly ``num_labels`` entries when it is known (ranges of indices are checked
    elsewhere, once ``num_labels`` is known).
    """
    items = entries(value)
    if multi_label_format != MULTI_HOT:
        if items is None:
            return None, N_('label is not a list of class indices such as "0,3,7"')
        return tuple(sorted(set(items))), None
    if items is None or any(k not in (0, 1) for k in items):
        return None, N_('label is not multi-hot: its entries must be 0 or 1, e.g. "1,0,0,1"')
    if num_labels is not None and len(items) != num_labels:
        return None, N_("multi-hot label has {n} entries; num_labels is {num_labels}").format(
            n=len(items), num_labels=num_labels
        )
    return tuple(i for i, k in enumerate(items) if k == 1), None


def infer_num_labels(values: Iterable[Any], column: str, report: Report) -> int | None:
    """num_labels of multi-hot cells when it is not set: their most common number of entries (a
    cell of another length is then reported by the parser). None when no cell parses."""
    widths = Counter(len(items) for v in values if (items := entries(v)) is not None)
    if not widths:
        return None
    width = widths.most_common(1)[0][0]
    report.warning(
        N_("num_labels was not set: inferred {n} from the multi-hot labels ({n} entries each)").format(
            n=width
        ),
        column=column,
        kind="num_labels_inferred",
        fix=N_("set num_labels to say how many labels each multi-hot label lists"),
    )
    return width


def looks_multi_hot(values: Iterable[Any], num_labels: int | None) -> str | None:
    """An example cell when ``values`` look multi-hot rather than class indices, else None.

    They do when every cell lists the same number ``n >= 2`` of entries (``n == num_labels`` when
    that is known), every entry is 0 or 1, and some cell repeats an entry: an index list has no
    reason to repeat an index, and with ``n >= 3`` every such cell repeats one.
    """
    width, example, repeats = None, None, False
    for value in values:
        items = entries(value)
        if items is None or any(k not in (0, 1) for k in items):
            return None
        if width is None:
            width = len(items)
        if len(items) != width:
            return None
        if len(set(items)) < len(items) and not repeats:
            repeats, example = True, value
    ok = width is not None and width >= 2 and (num_labels is None or width == num_labels)
    return str(example) if ok and repeats else None


def format_multi_hot(indices: Iterable[int], num_labels: int) -> str:
    """``"1,0,0,1"`` for indices (0, 3) of 4 labels."""
    chosen = set(indices)
    return ",".join("1" if k in chosen else "0" for k in range(num_labels))


def check_not_multi_hot(
    df: pd.DataFrame, source: str, column: str, num_labels: int | None, report: Report
) -> None:
    """An error when a split read as class indices looks multi-hot (see ``looks_multi_hot``)."""
    example = looks_multi_hot(df["label"], num_labels)
    if example is None:
        return
    read_as = parse_multi_label(example)[0]
    width = len(entries(example) or ())
    report.error(
        N_(
            "the labels look multi-hot: each has {n} entries, every one 0 or 1 (e.g. '{example}'), but "
            "multi_label_format is indices, which reads '{example}' as the class indices {{{indices}}}"
        ).format(n=width, example=example, indices=", ".join(map(str, read_as or ()))),
        file=source,
        column=column,
        kind="looks_multi_hot",
        fix=N_(
            "if each entry says whether one label applies, set multi_label_format to multi_hot "
            "(CLI: --multi_label_format multi_hot; Dataset page: Label format); if they are class "
            "indices, list each index once"
        ),
    )
