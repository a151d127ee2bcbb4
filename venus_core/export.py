"""CSV files for download that a spreadsheet opens as data, never as formulas.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab / carriage return) is run as a
formula by Excel, LibreOffice and Google Sheets ("CSV injection"). Such text cells get a leading
``'``, which spreadsheets show as text. Numbers stay numbers: a negative value such as ``-0.25``
(a float, or a string that is exactly a number) is not touched, so metrics and regression
predictions keep their sign and remain computable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from venus_core.vocab import metric_title

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralize_cell(value: Any) -> Any:
    """The value to write for one cell: strings that a spreadsheet would execute get a ``'``."""
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if _NUMBER.fullmatch(value.strip()):
        return value  # "-0.5" is a number, not a formula
    return "'" + value


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell (and column name) neutralised; numbers untouched."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        out[column] = series.map(neutralize_cell)
    out.columns = [neutralize_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def safe_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV bytes of ``frame`` for a download button, safe to open in a spreadsheet."""
    return neutralize_frame(frame).to_csv(index=False).encode("utf-8")


def metrics_frame(
    metrics: Mapping[str, Any] | Iterable[tuple[str, Any]], problem_type: str | None = None
) -> pd.DataFrame:
    """A (metric, value, title) table; undefined values (None/NaN) stay empty cells.

    ``metric`` is the key (``accuracy``), ``title`` what it measures for ``problem_type``
    (``Accuracy (per label)`` on multi-label), so a spreadsheet says which accuracy it holds.
    """
    items = metrics.items() if isinstance(metrics, Mapping) else metrics
    rows = []
    for name, value in items:
        if isinstance(value, float) and math.isnan(value):
            value = None
        rows.append({"metric": str(name), "value": value, "title": metric_title(str(name), problem_type)})
    frame = pd.DataFrame(rows, columns=["metric", "value", "title"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame
