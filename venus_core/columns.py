"""Which file is which split, and which columns hold the sequence and the label: good first guesses.

The Dataset page offers a file's own columns to choose from, preselecting these guesses, and
assigns uploaded files to splits by their names with the same aliases the loader uses.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from venus_core.data import SPLIT_ALIASES, read_table, table_format
from venus_core.report import Report

# Names in the order they are preferred (compared case-insensitively).
SEQUENCE_NAMES = (
    "aa_seq",
    "sequence",
    "seq",
    "aa_sequence",
    "protein_sequence",
    "primary",
    "protein",
    "sequences",
)
LABEL_NAMES = ("label", "labels", "target", "y", "class", "value", "score", "fitness", "activity", "targets")
_PROTEIN = re.compile(r"^[ACDEFGHIKLMNPQRSTVWYXBZUOacdefghiklmnpqrstvwyxbzuo]{8,}$")
SAMPLE_ROWS = 50


def file_columns(path: str | Path) -> pd.DataFrame | None:
    """The first rows of a table file (its columns and a sample of values); None if unreadable."""
    path = Path(path)
    if table_format(path) is None:
        return None
    df = read_table(path, "input", Report())
    return None if df is None else df.head(SAMPLE_ROWS)


def guess_sequence_column(sample: pd.DataFrame) -> str | None:
    columns = [str(c) for c in sample.columns]
    named = _by_name(columns, SEQUENCE_NAMES)
    if named is not None:
        return named
    # No telling name: the column whose values look most like protein sequences.
    best, best_share = None, 0.5
    for col in columns:
        values = sample[col].astype(str)
        share = values.map(lambda v: bool(_PROTEIN.match(v.strip()))).mean() if len(values) else 0.0
        if share > best_share:
            best, best_share = col, share
    return best


def guess_label_column(sample: pd.DataFrame, sequence_column: str | None) -> str | None:
    columns = [str(c) for c in sample.columns if str(c) != sequence_column]
    named = _by_name(columns, LABEL_NAMES)
    if named is not None:
        return named
    # Else the last column that is not an identifier or a structure string: tables usually end
    # with the label ("name,aa_seq,foldseek_seq,ss8_seq,label").
    skip = re.compile(r"(^|_)(id|name|names|ids|description|foldseek_seq|ss8_seq)$", re.IGNORECASE)
    candidates = [c for c in columns if not skip.search(c)]
    return candidates[-1] if candidates else None


def split_of(path: str | Path) -> str | None:
    """The split a file's name says it holds (``train.csv``, ``valid.tsv``, ``my_test.parquet``),
    by the loader's aliases; None when the name says nothing."""
    name = Path(path).name.lower()
    fmt = table_format(Path(name))
    stem = name[: -len(fmt[0])] if fmt else Path(name).stem
    if stem in SPLIT_ALIASES:
        return SPLIT_ALIASES[stem]
    for word in re.split(r"[^a-z]+", stem):
        if word in SPLIT_ALIASES:
            return SPLIT_ALIASES[word]
    return None


def assign_splits(paths: list[str]) -> dict[str, str | None]:
    """``{"train_file", "valid_file", "test_file"}`` for uploaded files: by their names; a single
    file (or none named train) is the training file, the others are split from it."""
    out: dict[str, str | None] = {"train_file": None, "valid_file": None, "test_file": None}
    field = {"train": "train_file", "validation": "valid_file", "test": "test_file"}
    unnamed = []
    for path in paths:
        split = split_of(path)
        if split is not None and out[field[split]] is None:
            out[field[split]] = path
        else:
            unnamed.append(path)
    if out["train_file"] is None and unnamed:
        out["train_file"] = unnamed[0]
    if out["train_file"] is None and paths:  # only validation/test names: the first file trains
        out["train_file"] = paths[0]
        out["valid_file"] = None if out["valid_file"] == paths[0] else out["valid_file"]
        out["test_file"] = None if out["test_file"] == paths[0] else out["test_file"]
    return out


def _by_name(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)
