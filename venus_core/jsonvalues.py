"""Values as JSON can hold them: what config files and the data doctor's reports write."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def jsonable(v: Any) -> Any:
    """``v`` with tuples, arrays and NumPy scalars as plain lists and numbers, NaN as None (JSON
    null: 'undefined'), and anything else unknown as its text."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, (np.ndarray, list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)
