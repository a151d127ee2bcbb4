"""The data's types: the split names, the label codec, raw and prepared splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from venus_core import label_formats, vocab
from venus_core.data.labels import is_missing, parse_label, range_problem

SPLITS = ("train", "validation", "test")

SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "eval": "validation",
    "test": "test",
    "testing": "test",
}

LABEL_NAMES_FILE = "label_names.json"


@dataclass(frozen=True)
class LabelCodec:
    """How labels map to model targets and back; saved as ``label_codec.json`` in a run.

    Rebuild it with ``LabelCodec.from_dict`` to turn predictions back into label units.
    """

    problem_type: str
    num_labels: int
    label_names: tuple[str, ...] | None = None
    normalization: dict[str, Any] | None = None  # {"method": "standard", "mean", "std"} or min_max
    multi_label_format: str = label_formats.INDICES  # how a multi-label file lists labels

    def normalize(self, values: Any) -> np.ndarray:
        """Label units -> training units (identity without normalisation)."""
        x = np.asarray(values, dtype=np.float64)
        n = self.normalization
        if not n:
            return x
        if n["method"] == "standard":
            return (x - n["mean"]) / n["std"]
        return (x - n["min"]) / (n["max"] - n["min"])

    def denormalize(self, values: Any) -> np.ndarray:
        """Training units (model outputs) -> label units."""
        x = np.asarray(values, dtype=np.float64)
        n = self.normalization
        if not n:
            return x
        if n["method"] == "standard":
            return x * n["std"] + n["mean"]
        return x * (n["max"] - n["min"]) + n["min"]

    def parse(self, value: Any) -> int | tuple[int, ...] | float:
        """One label (as read from a file) -> its target in label units; ValueError if invalid."""
        target, problem = parse_label(value, self.problem_type, self.multi_label_format, self.num_labels)
        if problem:
            raise ValueError(problem)
        problem = range_problem(target, self.problem_type, self.num_labels)
        if problem:
            raise ValueError(problem)
        return target

    def to_dict(self) -> dict[str, Any]:
        return {
            "problem_type": self.problem_type,
            "num_labels": self.num_labels,
            "label_names": list(self.label_names) if self.label_names else None,
            "normalization": dict(self.normalization) if self.normalization else None,
            "multi_label_format": self.multi_label_format,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> LabelCodec:
        """From ``to_dict`` (of a codec or a ``TaskData``); other keys are ignored."""
        names = d.get("label_names")
        return LabelCodec(
            problem_type=d["problem_type"],
            num_labels=int(d["num_labels"]),
            label_names=tuple(names) if names else None,
            normalization=dict(d["normalization"]) if d.get("normalization") else None,
            # codecs written before the format was recorded are indices (the only format then)
            multi_label_format=d.get("multi_label_format") or label_formats.INDICES,
        )


@dataclass
class RawData:
    """The splits as read: columns ``aa_seq``, ``label`` (renamed from the config's column names),
    structure columns when present, and ``row`` (1-based data row in the source)."""

    splits: dict[str, pd.DataFrame]
    sources: dict[str, str]  # split -> file path, or "hub_id[split]"
    columns: dict[str, list[str]] = field(default_factory=dict)  # split -> columns found
    derived: dict[str, str] = field(default_factory=dict)  # split -> how it was made
    label_names: list[str] | None = None
    failed: set[str] = field(default_factory=set)  # splits given but unreadable: never derived


@dataclass
class TaskData:
    """A run's cleaned splits, ready for tokenising.

    Each split has columns ``aa_seq`` (upper-case, no white space), ``label`` (as read),
    ``target`` (int class; tuple of ints for multi-label; float for regression, normalised when
    ``normalization`` is set), ``row`` (1-based row in its source) and, when the data has them,
    ``foldseek_seq``/``ss8_seq``.
    """

    problem_type: str
    num_labels: int
    splits: dict[str, pd.DataFrame]
    sources: dict[str, str]
    label_names: list[str] | None = None
    normalization: dict[str, Any] | None = None
    derived: dict[str, str] = field(default_factory=dict)
    multi_label_format: str = label_formats.INDICES

    @property
    def codec(self) -> LabelCodec:
        return LabelCodec(
            self.problem_type,
            self.num_labels,
            tuple(self.label_names) if self.label_names else None,
            self.normalization,
            self.multi_label_format,
        )

    @property
    def sizes(self) -> dict[str, int]:
        return {name: len(df) for name, df in self.splits.items()}

    @property
    def structure_columns(self) -> tuple[str, ...]:
        """Structure sequence columns present in every split."""
        return tuple(c for c in vocab.STRUCTURE_SEQS if all(c in df for df in self.splits.values()))

    def targets(self, split: str, *, normalized: bool = True) -> np.ndarray:
        """Model targets: class indices (int64), multi-hot (n, num_labels) float32, or float32
        values (normalised unless ``normalized=False``, which gives label units)."""
        t = self.splits[split]["target"]
        if self.problem_type == "single_label_classification":
            return t.to_numpy(dtype=np.int64)
        if self.problem_type == "multi_label_classification":
            hot = np.zeros((len(t), self.num_labels), dtype=np.float32)
            for i, idx in enumerate(t):
                hot[i, list(idx)] = 1.0
            return hot
        values = t.to_numpy(dtype=np.float64)
        return (values if normalized else self.denormalize(values)).astype(np.float32)

    def normalize_values(self, values: Any) -> np.ndarray:
        return self.codec.normalize(values)

    def denormalize(self, values: Any) -> np.ndarray:
        return self.codec.denormalize(values)

    def to_dict(self) -> dict[str, Any]:
        """Metadata (no frames) for the run directory; ``LabelCodec.from_dict`` reads it back."""
        return {
            **self.codec.to_dict(),
            "sources": dict(self.sources),
            "sizes": self.sizes,
            "derived": dict(self.derived),
            "structure_columns": list(self.structure_columns),
        }


def cell_text(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)
