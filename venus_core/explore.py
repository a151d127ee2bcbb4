"""Browsing a dataset before training: one table per split, searched, filtered, sorted and paged.

``Explorer(task)`` wraps a ``TaskData`` (as ``data.prepare`` returns it) and answers the Dataset
page's Browse view with plain data: ``matches(query)`` gives the positions of the rows that pass
the search and the filters, in display order (the last few answers are kept, so turning pages
costs a slice); ``page`` cuts one page of display rows out of them; ``record`` is one whole row.
Built once per dataset: lengths, label texts and sort keys are computed here, not per keystroke.

The search box takes an id (the source file's row number, or its id column where it has one), a
subsequence (``KKLL``), a regular expression (``N[^P][ST][^P]``) or a PROSITE pattern
(``C-x(2,4)-C-x(3)-[LIVMFYWC]``).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from venus_core.errors import VenusError
from venus_core.export import safe_csv
from venus_core.i18n import N_

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
SHOWN_SEQ_CHARS = 80  # a sequence in the table is cut here; the selected row shows all of it
ID_COLUMNS = ("id", "name", "entry", "accession", "protein_id", "uniprot_id", "seq_id", "sequence_id")
SORTS = ("row", "length", "label", "id")
_MEMO = 8  # query answers kept per explorer

_SUBSEQ = re.compile(r"[A-Za-z]+")
_ROW = re.compile(r"\d+")
_REGEX_CHARS = set("[](){}.*+?^$|\\")
_PROSITE_ELEMENT = re.compile(r"^(<?)(x|[A-Z]|\[[A-Z]+>?\]|\{[A-Z]+\})(\((\d+)(,(\d+))?\))?(>?)$")


@dataclass(frozen=True)
class Query:
    """What the Browse view asks for. Empty filters keep everything."""

    split: str
    search: str = ""
    labels: tuple[int, ...] = ()  # classes to keep (a multi-label row with any of them)
    value_range: tuple[float, float] | None = None  # regression labels, in label units
    length_range: tuple[int, int] | None = None  # residues, inclusive
    sort: str = "row"  # one of SORTS
    descending: bool = False


@dataclass
class Matches:
    """The rows of ``query.split`` that pass it: positions into ``Explorer.table``, in display order."""

    query: Query
    positions: np.ndarray
    search_kind: str  # "" (no search), "id or subsequence", "row or id", "motif", "id"
    pattern: re.Pattern | None  # what is highlighted in a selected sequence

    def __len__(self) -> int:
        return len(self.positions)

    def pages(self, size: int = PAGE_SIZE) -> int:
        return max(1, -(-len(self.positions) // size))


class Explorer:
    """A dataset's splits, ready to browse. ``ids``: split -> an id per row (from the source file's
    id column, see ``read_ids``); rows without one are named by split and row."""

    def __init__(self, task: Any, ids: dict[str, np.ndarray] | None = None) -> None:
        self.problem_type: str = task.problem_type
        self.num_labels: int = task.num_labels
        self.label_names: list[str] | None = list(task.label_names) if task.label_names else None
        self.splits: list[str] = list(task.splits)
        self.has_ids = bool(ids)
        self._tables = {name: self._table(task, name, (ids or {}).get(name)) for name in self.splits}
        self._memo: OrderedDict[Query, Matches] = OrderedDict()
        self._derived: dict[str, Any] = {}

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        """``build()``, computed once per explorer: per-dataset views (composition ...)."""
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]

    # -- the tables ---------------------------------------------------------------------------------
    def _table(self, task: Any, split: str, ids: np.ndarray | None) -> pd.DataFrame:
        # Text columns are Arrow strings, not Python objects: a 100k-row table must not slow the
        # full garbage collection Streamlit runs after every script run.
        df = task.splits[split]
        rows = df["row"].to_numpy(dtype=np.int64)
        out = pd.DataFrame({"row": rows})
        out["id"] = pd.array(ids if ids is not None else [f"{split}:{r}" for r in rows], dtype="str")
        out["length"] = df["aa_seq"].str.len().to_numpy(dtype=np.int64)
        if self.problem_type == "regression":
            out["value"] = task.targets(split, normalized=False).astype(np.float64)
            labels = [f"{v:.4g}" for v in out["value"]]
        elif self.problem_type == "single_label_classification":
            out["class"] = df["target"].to_numpy(dtype=np.int64)
            names = {k: self.class_name(k) for k in np.unique(out["class"])}
            labels = [names[k] for k in out["class"]]
        else:
            out["classes"] = [tuple(int(k) for k in t) for t in df["target"]]
            labels = [", ".join(self.class_name(k) for k in c) for c in out["classes"]]
        out["label"] = pd.array(labels, dtype="str")
        out["aa_seq"] = df["aa_seq"].to_numpy()
        return out

    def table(self, split: str) -> pd.DataFrame:
        """Columns ``row`` (in the source file), ``id``, ``length`` (residues), ``label`` (text),
        then ``value`` (regression), ``class`` (single-label) or ``classes`` (multi-label: a tuple
        of class indices), and ``aa_seq``."""
        if split not in self._tables:
            raise VenusError(
                N_("No split '{split}' in this dataset; it has {splits}.").format(
                    split=split, splits=", ".join(self.splits)
                )
            )
        return self._tables[split]

    def has_classes(self, split: str, wanted: set[int]) -> np.ndarray:
        """Mask of the rows of ``split`` labelled with any class of ``wanted``."""
        t = self.table(split)
        if "class" in t:
            return np.isin(t["class"].to_numpy(), list(wanted))
        return np.fromiter((not wanted.isdisjoint(c) for c in t["classes"]), bool, len(t))

    def class_counts(self, split: str) -> np.ndarray:
        """Rows per class index (a multi-label row counts once for each of its classes)."""
        t = self.table(split)
        if "class" in t:
            flat = t["class"].to_numpy()
        else:
            flat = np.fromiter((k for c in t["classes"] for k in c), dtype=np.int64)
        return np.bincount(flat[flat >= 0], minlength=self.num_labels or 0)

    def class_name(self, k: int) -> str:
        names = self.label_names
        return f"{k}: {names[k]}" if names and 0 <= k < len(names) else str(k)

    def classes(self) -> list[int]:
        """The class indices a label filter offers (none for regression)."""
        if self.problem_type == "regression":
            return []
        seen = {int(k) for s in self.splits for k in np.flatnonzero(self.class_counts(s))}
        return sorted(seen | set(range(self.num_labels or 0)))

    def length_bounds(self) -> tuple[int, int]:
        lengths = [t["length"] for t in self._tables.values() if len(t)]
        if not lengths:
            return 0, 0
        return int(min(x.min() for x in lengths)), int(max(x.max() for x in lengths))

    def value_bounds(self) -> tuple[float, float] | None:
        if self.problem_type != "regression":
            return None
        values = [t["value"].to_numpy() for t in self._tables.values() if len(t)]
        if not values:
            return None
        return float(min(v.min() for v in values)), float(max(v.max() for v in values))

    # -- queries ------------------------------------------------------------------------------------
    def matches(self, query: Query) -> Matches:
        """The rows passing ``query``, sorted; ``VenusError`` for a search that is not a pattern."""
        hit = self._memo.get(query)
        if hit is not None:
            self._memo.move_to_end(query)
            return hit
        t = self.table(query.split)
        keep = np.ones(len(t), dtype=bool)
        if query.length_range is not None:
            lo, hi = query.length_range
            lengths = t["length"].to_numpy()
            keep &= (lengths >= lo) & (lengths <= hi)
        if query.labels and self.problem_type != "regression":
            keep &= self.has_classes(query.split, set(query.labels))
        if query.value_range is not None and self.problem_type == "regression":
            lo, hi = query.value_range
            values = t["value"].to_numpy()
            keep &= (values >= lo) & (values <= hi)
        kind, pattern = "", None
        if query.search.strip():
            kind, pattern, found = self._search(t, query.search.strip(), keep)
            keep &= found
        positions = np.flatnonzero(keep)
        positions = self._sorted(t, positions, query.sort, query.descending)
        result = Matches(query, positions, kind, pattern)
        self._memo[query] = result
        if len(self._memo) > _MEMO:
            self._memo.popitem(last=False)
        return result

    def _search(self, t: pd.DataFrame, text: str, keep: np.ndarray):
        """(kind, pattern to highlight, mask) of a search; only rows still kept are scanned."""
        ids = t["id"].astype(str)
        seqs = t["aa_seq"]
        if _ROW.fullmatch(text):
            found = t["row"].to_numpy() == int(text)
            if self.has_ids:
                found |= _contains(ids, text, keep, case=False)
            return N_("row or id"), None, found
        if _SUBSEQ.fullmatch(text):
            found = _contains(seqs, text.upper(), keep)
            if self.has_ids:
                found |= _contains(ids, text, keep, case=False)
            return N_("id or subsequence"), re.compile(re.escape(text.upper())), found
        motif = motif_regex(text)
        if motif is not None:
            return N_("motif"), motif, _contains(seqs, motif, keep)
        return "id", None, _contains(ids, text, keep, case=False)

    @staticmethod
    def _sorted(t: pd.DataFrame, positions: np.ndarray, sort: str, descending: bool) -> np.ndarray:
        if sort not in SORTS:
            raise VenusError(
                N_("Cannot sort by '{sort}'; choose one of {sorts}.").format(
                    sort=sort, sorts=", ".join(SORTS)
                )
            )
        if sort == "row" or not len(positions):
            return positions[::-1] if descending else positions
        if sort == "length":
            keys = t["length"].to_numpy()[positions]
        elif sort == "label" and "classes" in t:  # multi-label: by the first class
            keys = np.asarray([c[0] if c else -1 for c in t["classes"].to_numpy()[positions]])
        elif sort == "label":
            keys = t["value" if "value" in t else "class"].to_numpy()[positions]
        else:
            keys = t["id"].astype(str).to_numpy()[positions]
        # stable both ways: ties keep file order
        order = np.argsort(_descending_keys(keys) if descending else keys, kind="stable")
        return positions[order]

    # -- what the page shows -----------------------------------------------------------------------
    def page(self, matches: Matches, page: int, size: int = PAGE_SIZE) -> pd.DataFrame:
        """One page (1-based) of display rows: position, row, id, length, label, the sequence cut
        to ``SHOWN_SEQ_CHARS``. At most ``MAX_PAGE_SIZE`` rows, whatever is asked."""
        size = max(1, min(size, MAX_PAGE_SIZE))
        page = max(1, min(page, matches.pages(size)))
        chosen = matches.positions[(page - 1) * size : page * size]
        t = self.table(matches.query.split).iloc[chosen]
        seqs = [s if len(s) <= SHOWN_SEQ_CHARS else s[:SHOWN_SEQ_CHARS] + "…" for s in t["aa_seq"]]
        out = pd.DataFrame(
            {"position": chosen, "row": t["row"].to_numpy(), "id": t["id"].to_numpy()}, index=range(len(t))
        )
        out["length"] = t["length"].to_numpy()
        out["label"] = t["label"].to_numpy()
        out["sequence"] = seqs
        if not self.has_ids:
            out = out.drop(columns="id")
        return out

    def record(self, split: str, position: int, pattern: re.Pattern | None = None) -> dict[str, Any]:
        """One row in full; ``hits``: 1-based start residues of ``pattern`` in its sequence."""
        r = self.table(split).iloc[int(position)]
        out = {
            "split": split,
            "row": int(r["row"]),
            "id": str(r["id"]),
            "length": int(r["length"]),
            "label": str(r["label"]),
            "aa_seq": str(r["aa_seq"]),
        }
        if pattern is not None:
            out["hits"] = [m.start() + 1 for m in pattern.finditer(out["aa_seq"])]
        return out

    def rows_csv(self, matches: Matches) -> bytes:
        """Every matching row (not only the shown page), whole sequences, as CSV."""
        t = self.table(matches.query.split).iloc[matches.positions]
        cols = (
            ["row", "id", "length", "label", "aa_seq"]
            if self.has_ids
            else ["row", "length", "label", "aa_seq"]
        )
        return safe_csv(t[cols])  # ids and labels come from the user's file: no formulas


def _contains(
    values: pd.Series, pattern: str | re.Pattern, keep: np.ndarray, case: bool = True
) -> np.ndarray:
    """Mask of ``values`` containing ``pattern`` (a literal, or a compiled regex), scanning only the
    rows ``keep`` still allows (a filter narrows the search)."""
    out = np.zeros(len(values), dtype=bool)
    idx = np.flatnonzero(keep)
    if not len(idx):
        return out
    part = values.iloc[idx] if len(idx) < len(values) else values
    if isinstance(pattern, re.Pattern):
        found = part.str.contains(pattern, regex=True)
    else:
        found = part.str.contains(pattern, regex=False, case=case)
    out[idx] = found.fillna(False).to_numpy(dtype=bool)
    return out


def _descending_keys(keys: np.ndarray) -> np.ndarray:
    if keys.dtype.kind in "iuf":
        return -keys
    # strings: rank ascending, then negate the rank
    ranks = np.empty(len(keys), dtype=np.int64)
    ranks[np.argsort(keys, kind="stable")] = np.arange(len(keys))
    return -ranks


def motif_regex(text: str) -> re.Pattern | None:
    """A compiled pattern for a PROSITE pattern or a regular expression; None for plain text.
    Raises ``VenusError`` for text that looks like a pattern but is not a valid one."""
    prosite = prosite_to_regex(text)
    if prosite is not None:
        return re.compile(prosite)
    if not (_REGEX_CHARS & set(text)):
        return None
    try:
        return re.compile(text, re.IGNORECASE)  # sequences are upper-case; n[^p][st] means N[^P][ST]
    except re.error as e:
        raise VenusError(
            N_(
                "The search '{text}' is not a valid pattern ({error}). Use a subsequence (KKLL), a regular "
                "expression (N[^P][ST][^P]) or a PROSITE pattern (C-x(2)-C)."
            ).format(text=text, error=e)
        ) from e


def prosite_to_regex(text: str) -> str | None:
    """``C-x(2,4)-[ST]-{P}-x>`` -> ``C.{2,4}[ST][^P].$``; None when ``text`` is not PROSITE."""
    t = text.strip().rstrip(".")
    if "-" not in t:
        return None
    out = []
    parts = t.split("-")
    for i, part in enumerate(parts):
        m = _PROSITE_ELEMENT.match(part)
        if m is None:
            return None
        start, element, _, lo, _, hi, end = m.groups()
        if (start and i) or (end and i < len(parts) - 1):
            return None
        if element == "x":
            rx = "."
        elif element.startswith("{"):
            rx = f"[^{element[1:-1]}]"
        elif element.startswith("[") and element.endswith(">]"):  # [G>]: G or the C-terminus
            rx = f"(?:[{element[1:-2]}]|$)"
        else:
            rx = element
        if lo is not None:
            rx += f"{{{lo},{hi}}}" if hi is not None else f"{{{lo}}}"
        out.append(("^" if start else "") + rx + ("$" if end else ""))
    return "".join(out)


def id_column(columns: list[str]) -> str | None:
    """The column of a source file that names each protein, if it has one (case-insensitive)."""
    lower = {str(c).lower(): str(c) for c in columns}
    return next((lower[c] for c in ID_COLUMNS if c in lower), None)


def read_ids(task: Any, columns: dict[str, list[str]], sequence_column: str) -> dict[str, np.ndarray]:
    """split -> the id of each row, from the id column of a local source file (``columns``: the
    columns found per split, as the data doctor lists them). Hub splits and files without an id
    column get none."""
    from venus_core.data import read_sequences_file

    out: dict[str, np.ndarray] = {}
    read: dict[str, pd.DataFrame] = {}
    for split, df in task.splits.items():
        col = id_column(columns.get(split, []))
        src = task.sources.get(split, "")
        if col is None or not Path(src).is_file():
            continue
        try:
            if src not in read:
                read[src] = read_sequences_file(src, sequence_column)
        except VenusError:
            continue
        source = read[src]
        if col not in source.columns:
            continue
        by_row = pd.Series(source[col].astype(str).to_numpy(), index=source["row"].to_numpy())
        out[split] = by_row.reindex(df["row"].to_numpy()).fillna("").to_numpy(dtype=object)
    return out


def check(
    cfg: Any,
    *,
    progress: Callable[[int, int, str], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> tuple[Any, Any]:
    """``doctor.check`` that also returns the data it checked: ``(TaskData or None, Report)``.
    Preview Dataset reads the files once for its report and for the Explore views."""
    from venus_core.data import prepare
    from venus_core.homology import Monitor
    from venus_core.report import Report, add_unexpected

    try:
        return prepare(cfg, monitor=Monitor(progress, stop))
    except Exception as e:  # a bug of ours: an ERROR line, as doctor.check shows it
        report = Report()
        add_unexpected(report, e)
        return None, report
