"""Loading a run's data: files, a folder or a hub dataset -> cleaned, parsed, checked splits.

``load_raw`` reads the splits as they are (columns renamed to ``aa_seq``/``label``, a ``row``
column added, missing splits derived by a seeded, stratified split). ``prepare`` then cleans the
sequences, parses the labels and records every problem in a ``doctor.Report``; it returns a
``TaskData`` only when there is no error. ``load_data`` is ``prepare`` that raises.

Two rules the reference implementation broke (see reference/venusfactory-defects.md): a missing
validation split is carved from train, never replaced by train; a missing test split means no
test metrics, never testing on validation.
"""

from __future__ import annotations

import difflib
import gzip
import io
import json
import math
import numbers
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from venus_core import assets, homology_split, label_formats, methods, vocab
from venus_core import datasets as catalogue  # not Hugging Face's `datasets`, imported as `hf`
from venus_core.config import RunConfig
from venus_core.doctor import Report
from venus_core.errors import VenusError
from venus_core.homology import Monitor

SPLITS = ("train", "validation", "test")
# File stems (and hub split names) accepted for each split.
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
# Suffix -> reader; longest suffixes first so "x.csv.gz" is not read as ".gz".
TABLE_FORMATS = {
    ".csv.gz": "csv",
    ".tsv.gz": "tsv",
    ".jsonl.gz": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".json": "jsonl",
}
FASTA_SUFFIXES = (".fasta", ".fa", ".faa", ".fas", ".fasta.gz", ".fa.gz", ".faa.gz")
LABEL_NAMES_FILE = "label_names.json"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_DELETE_RESIDUES = str.maketrans("", "", "".join(vocab.AMINO_ACIDS))
_BAD_RESIDUE = re.compile(f"[^{''.join(sorted(vocab.AMINO_ACIDS))}]")
_RESIDUE_FIX = (
    "use one-letter amino-acid codes (ACDEFGHIKLMNPQRSTVWY; X for unknown, also B, Z, U, O); "
    "remove gap '-' and stop '*' symbols"
)
_CSV_FIX = 'save it as CSV/TSV with a header row; quote values that contain the separator ("1,2")'
_ENCODING_FIX = "re-save the file as UTF-8 (Excel: 'CSV UTF-8'; or `iconv -f latin1 -t utf-8`)"


# ---------------------------------------------------------------------------------------------
# Public types


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
        problem = _range_problem(target, self.problem_type, self.num_labels)
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


# ---------------------------------------------------------------------------------------------
# Public functions


def load_data(cfg: RunConfig) -> TaskData:
    """``prepare`` that raises ``VenusError`` listing the errors."""
    task, report = prepare(cfg)
    if task is None:
        raise VenusError(report.format_errors())
    return task


def prepare(cfg: RunConfig, *, monitor: Monitor | None = None) -> tuple[TaskData | None, Report]:
    """Load, clean, parse and check a run's data; ``TaskData`` only when there is no error.

    Resolves the task settings itself (``datasets.resolve_task``); a config problem becomes an
    error of the report, and the data is still checked as far as the settings allow. A
    ``monitor`` (given by ``doctor.check``) receives progress, may stop, and asks for the
    leakage report, which training does not compute.
    """
    from venus_core import doctor

    report = Report()
    try:
        cfg = _resolve(cfg, report)
        raw = load_raw(cfg, report=report, monitor=monitor)
        if not raw.splits:
            return None, report
        task = _build(raw, cfg, report)
        doctor.inspect(task, cfg, report, columns=raw.columns, monitor=monitor)
    except Exception as e:  # a bug of ours: keep what was found so far, add it as an ERROR line
        doctor.add_unexpected(report, e)
        return None, report
    return (None if report.errors else task), report


def load_raw(cfg: RunConfig, *, report: Report | None = None, monitor: Monitor | None = None) -> RawData:
    """Read the splits as they are, deriving missing validation/test splits.

    Precedence: ``train_file`` (+ ``valid_file``, ``test_file``), else ``dataset`` as a local
    folder or file, else as a hub id. With ``report``, problems are recorded there and whatever
    could be read is returned; without it, errors raise one ``VenusError`` listing them all.
    """
    own = report is None
    report = Report() if report is None else report
    raw = _read_source(cfg, report)
    if raw.splits:
        _derive_splits(raw, cfg, report, monitor)
    if own and report.errors:
        raise VenusError(report.format_errors())
    return raw


def load_eval_data(cfg: RunConfig, path: str | Path, codec: LabelCodec) -> TaskData:
    """A labelled file as a ``TaskData`` with one ``test`` split, for ``evaluate``.

    Labels are parsed and normalised with the run's ``codec`` (its training statistics, never
    the file's own), so evaluation runs the same code as the test step of training.
    """
    report = Report()
    cfg = cfg.with_values(
        problem_type=codec.problem_type,
        num_labels=codec.num_labels,
        multi_label_format=codec.multi_label_format,
    )
    df = _read_table(Path(path), "test", report)
    raw = RawData({}, {})
    if df is not None:
        mapped = _map_columns(df, "test", str(path), cfg, report)
        if mapped is not None:
            raw = RawData({"test": mapped}, {"test": str(path)}, {"test": [str(c) for c in df.columns]})
    if report.errors or not raw.splits:
        raise VenusError(report.format_errors())
    task = _build(raw, cfg, report, codec=codec)
    if report.errors:
        raise VenusError(report.format_errors())
    return task


def read_sequences_file(path: str | Path, sequence_column_name: str = "aa_seq") -> pd.DataFrame:
    """Sequences to predict: a table with a sequence column, or FASTA (``>id`` -> ``id``).

    Returns the file's columns with the sequence column (cleaned) as ``aa_seq`` and ``row``
    (1-based row, or record number for FASTA). Raises ``VenusError`` naming the bad rows.
    """
    path = Path(path)
    report = Report()
    if _is_fasta(path):
        df = _read_fasta(path, report)
        col = "aa_seq"
    else:
        df = _read_table(path, "input", report)
        col = sequence_column_name
        if df is not None and col not in df.columns:
            _missing_column(col, "sequence", list(df.columns), str(path), report)
            df = None
    if df is None or report.errors:
        raise VenusError(report.format_errors())
    df = df.drop(columns=[c for c in ("aa_seq", "row") if c in df.columns and c != col]).rename(
        columns={col: "aa_seq"}
    )
    df["aa_seq"] = [_check_sequence(v, i, str(path), col, report) for i, v in enumerate(df["aa_seq"], 1)]
    df["row"] = np.arange(1, len(df) + 1)
    if report.errors:
        raise VenusError(report.format_errors())
    return df.reset_index(drop=True)


def read_sequences_text(text: str) -> pd.DataFrame:
    """Pasted sequences to predict: FASTA, or one sequence per line (named ``seq_1``, ``seq_2`` ...).
    Same columns and checks as ``read_sequences_file``; raises ``VenusError`` naming bad records."""
    src = "the pasted text"
    report = Report()
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise VenusError("Paste sequences or upload a file first.")
    if lines[0].startswith(">"):
        df = _parse_fasta("\n".join(lines), src, report)
    else:
        df = pd.DataFrame({"id": [f"seq_{i}" for i in range(1, len(lines) + 1)], "aa_seq": lines})
    if df is None or report.errors:
        raise VenusError(report.format_errors())
    df["aa_seq"] = [_check_sequence(v, i, src, "sequence", report) for i, v in enumerate(df["aa_seq"], 1)]
    df["row"] = np.arange(1, len(df) + 1)
    if report.errors:
        raise VenusError(report.format_errors())
    return df


def clean_sequence(value: Any) -> str:
    """The one cleaning rule for sequences: text, white space removed, upper-case."""
    return "".join(_text(value).split()).upper()  # split() is ~20x faster than a regex here


def first_bad_residue(seq: str) -> tuple[int, str] | None:
    """(1-based position, character) of the first non-amino-acid letter of a cleaned sequence."""
    if not seq.translate(_DELETE_RESIDUES):  # fast path: only amino-acid letters
        return None
    m = _BAD_RESIDUE.search(seq)
    return (m.start() + 1, m.group()) if m else None


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
    if _is_missing(value):
        return None, "missing label"
    if problem_type == "single_label_classification":
        k = label_formats.as_class_index(value)
        return (k, None) if k is not None else (None, "label is not an integer class index")
    if problem_type == "multi_label_classification":
        return label_formats.parse_multi_label(value, multi_label_format, num_labels)
    if problem_type == "regression":
        try:
            x = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            return None, "label is not a number"
        if not math.isfinite(x):
            return None, "label is not a finite number (NaN or infinity)"
        return x, None
    return None, f"unknown problem_type '{problem_type}'"


# ---------------------------------------------------------------------------------------------
# Task settings


def _resolve(cfg: RunConfig, report: Report) -> RunConfig:
    """``resolve_task``, with its problems turned into report errors."""
    if cfg.data.train_file and cfg.data.dataset:
        # The files take precedence, so the dataset (by default the demo) must not lend them its
        # problem type, labels and metrics.
        cfg = cfg.with_values(dataset=None)
    try:
        return catalogue.resolve_task(cfg)
    except VenusError as e:
        problems = _config_problems(str(e))
    except Exception as e:  # e.g. an unknown problem_type before validation
        problems = cfg.problems() or [f"{type(e).__name__}: {e}"]
    for problem in problems:
        report.error(problem, kind="config")  # the message names the option and the fix
    # Keep checking the data as far as the settings allow: take what the catalogue knows.
    entry = catalogue.find_entry(cfg.data.dataset)
    if entry is not None:
        d = cfg.data
        cfg = cfg.with_values(
            dataset=entry.dataset,
            problem_type=d.problem_type or entry.problem_type,
            num_labels=d.num_labels if d.num_labels is not None else entry.num_labels,
        )
    return cfg


def _config_problems(message: str) -> list[str]:
    head = "Invalid configuration:"
    if message.startswith(head):
        return [line.removeprefix("- ").strip() for line in message[len(head) :].splitlines() if line.strip()]
    return [message]


def _valid_num_labels(problem_type: str | None, num_labels: int | None) -> int | None:
    """``num_labels`` if it fits the problem type (else None: the config error is reported)."""
    if num_labels is None:
        return None
    if problem_type == "regression":
        return 1 if num_labels == 1 else None
    return num_labels if num_labels >= 2 else None


# ---------------------------------------------------------------------------------------------
# Reading


def _read_source(cfg: RunConfig, report: Report) -> RawData:
    d = cfg.data
    raw = RawData({}, {})
    if d.train_file:
        for split, name in zip(SPLITS, (d.train_file, d.valid_file, d.test_file), strict=True):
            if name:
                _add_file(raw, split, Path(name).expanduser(), cfg, report)
        raw.label_names = _read_label_names(Path(d.train_file).expanduser().parent, report)
        return raw
    if not d.dataset:
        report.error("no data: set a dataset (name, folder or hub id) or a train_file", kind="config")
        return raw

    target = d.dataset
    entry = catalogue.find_entry(target)
    if entry is not None:
        target = entry.dataset
    path = Path(target).expanduser()
    if path.is_dir():
        _read_folder(raw, path, cfg, report)
    elif path.is_file():  # one file given as the dataset: treat it as the training file
        _add_file(raw, "train", path, cfg, report)
        raw.label_names = _read_label_names(path.parent, report)
    elif entry is not None and entry.source == "demo":
        report.error(
            f"the demo dataset {entry.name} has not been fetched yet (expected in {path})",
            kind="file_not_found",
            fix="run `make setup` or `python -m venus_core fetch-assets`",
        )
    elif _HUB_ID.match(target):
        _read_hub(raw, target, target, cfg, report)
    else:
        names = [e.name for e in catalogue.catalogue_entries()]
        close = difflib.get_close_matches(target, names, n=1)
        report.error(
            f"dataset '{target}' is not a predefined dataset, an existing folder or file, or a "
            "Hugging Face id (user/name)",
            kind="file_not_found",
            fix=f"did you mean '{close[0]}'?" if close else "see `python -m venus_core datasets`",
        )
    return raw


def _add_file(raw: RawData, split: str, path: Path, cfg: RunConfig, report: Report) -> None:
    df = _read_table(path, split, report)
    mapped = None
    if df is not None:
        raw.columns[split] = [str(c) for c in df.columns]
        mapped = _map_columns(df, split, str(path), cfg, report)
    if mapped is None:
        raw.failed.add(split)
    else:
        raw.splits[split] = mapped
        raw.sources[split] = str(path)


def _read_folder(raw: RawData, folder: Path, cfg: RunConfig, report: Report) -> None:
    found: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        fmt = _table_format(p)
        if p.is_file() and fmt:
            stem = p.name[: -len(fmt[0])].lower()
            if stem in SPLIT_ALIASES:
                found.setdefault(SPLIT_ALIASES[stem], []).append(p)
    if not found:
        # No train.csv & co.: maybe a Hugging Face layout (data/train-00000-of-00001.parquet).
        _read_hub(raw, str(folder), str(folder), cfg, report, local=True)
        return
    for split in SPLITS:
        files = found.get(split, [])
        if len(files) > 1:
            report.warning(
                f"several {split} files: using {files[0].name}, ignoring "
                + ", ".join(p.name for p in files[1:]),
                file=str(folder),
                kind="ambiguous_files",
                fix="keep one file per split in the folder",
            )
        if files:
            _add_file(raw, split, files[0], cfg, report)
    raw.label_names = _read_label_names(folder, report)


def _read_hub(
    raw: RawData, target: str, label: str, cfg: RunConfig, report: Report, *, local: bool = False
) -> None:
    """Load with ``datasets.load_dataset`` (a hub id, or a local folder in hub layout)."""
    import datasets as hf

    try:
        loaded = hf.load_dataset(target)
    except Exception as e:  # network, missing repo, bad layout: all mean "could not load it"
        detail = _one_line(f"{type(e).__name__}: {e}")
        if local:
            report.error(
                f"folder {target} has no train/validation/test files and could not be read as a "
                f"Hugging Face dataset folder ({detail})",
                file=target,
                kind="file_not_found",
                fix="put train.csv (and validation.csv, test.csv) with columns aa_seq,label in it",
            )
        else:
            report.error(
                f"could not load the dataset '{target}' from the Hugging Face hub: the hub could not "
                f"be reached or the dataset was not found ({detail})",
                kind="hub_unreachable",
                fix="check the id and your network, or use a local folder with train/validation/test "
                f"files, or a demo dataset ({', '.join(assets.DEMO_DATASETS)})",
            )
        return
    if isinstance(loaded, hf.Dataset):
        loaded = {"train": loaded}
    for name, ds in loaded.items():
        split = SPLIT_ALIASES.get(str(name).lower())
        if split is None or split in raw.splits:
            report.warning(
                f"split '{name}' of {label} is not used",
                file=label,
                kind="ignored_split",
                fix="name the splits train, validation and test",
            )
            continue
        source = f"{label}[{name}]"
        df = ds.to_pandas()
        raw.columns[split] = [str(c) for c in df.columns]
        if df.empty:
            report.error(
                f"the {split} split is empty",
                file=source,
                kind="empty_split",
                fix="add rows to it or remove it",
            )
            raw.failed.add(split)
            continue
        feature = ds.features.get(cfg.data.label_column_name)
        if isinstance(feature, hf.ClassLabel) and raw.label_names is None:
            raw.label_names = list(feature.names)
        mapped = _map_columns(df, split, source, cfg, report)
        if mapped is None:
            raw.failed.add(split)
        else:
            raw.splits[split] = mapped
            raw.sources[split] = source


def _table_format(path: Path) -> tuple[str, str] | None:
    """(suffix, reader) of a supported table file, by its name."""
    name = path.name.lower()
    for suffix, fmt in TABLE_FORMATS.items():
        if name.endswith(suffix):
            return suffix, fmt
    return None


def _read_table(path: Path, split: str, report: Report) -> pd.DataFrame | None:
    """One table file as read (CSV/TSV: every value a string, nothing turned into NaN)."""
    src = str(path)
    if not path.exists():
        report.error(
            f"the {split} file does not exist",
            file=src,
            kind="file_not_found",
            fix="check the path (relative paths start from the current folder)",
        )
        return None
    if path.is_dir():
        report.error(
            f"the {split} file is a folder",
            file=src,
            kind="unreadable_file",
            fix="give a CSV, TSV, Parquet or JSON lines file; or pass the folder as dataset",
        )
        return None
    fmt = _table_format(path)
    if fmt is None:
        report.error(
            f"unsupported file type for the {split} split",
            file=src,
            kind="unreadable_file",
            fix="use .csv, .tsv, .parquet or .jsonl (a spreadsheet: save it as CSV UTF-8)",
        )
        return None
    kind = fmt[1]
    try:
        if kind == "parquet":
            df = pd.read_parquet(path)
        else:
            text = _read_text(path)
            if not text.strip():
                raise _FileProblem("the file is empty", "empty_split", "add a header row and data rows")
            if kind == "jsonl":
                df = _parse_json_lines(text)
            else:
                df = pd.read_csv(
                    io.StringIO(text), sep="\t" if kind == "tsv" else ",", dtype=str, keep_default_na=False
                )
                df.columns = [str(c).strip() for c in df.columns]
    except _FileProblem as e:
        report.error(e.message, file=src, kind=e.kind, fix=e.fix)
        return None
    except pd.errors.ParserError as e:
        report.error(
            f"cannot be read as {kind.upper()}: {_one_line(str(e))}",
            file=src,
            kind="unreadable_file",
            fix=_CSV_FIX,
        )
        return None
    except Exception as e:  # corrupt Parquet, permission denied ...: name the file, keep the cause
        report.error(
            f"cannot be read as {kind.upper()}: {_one_line(f'{type(e).__name__}: {e}')}",
            file=src,
            kind="unreadable_file",
            fix=f"check that it is a valid {kind} file",
        )
        return None
    if df.empty:
        report.error(
            f"the {split} file has a header but no data rows",
            file=src,
            kind="empty_split",
            fix="add data rows, or leave this split out",
        )
        return None
    return df


class _FileProblem(Exception):
    def __init__(self, message: str, kind: str, fix: str) -> None:
        super().__init__(message)
        self.message, self.kind, self.fix = message, kind, fix


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise _FileProblem(
                f"not a valid gzip file ({e})", "unreadable_file", "re-compress it with gzip"
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" is UTF-16 with a BOM
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise _FileProblem(
            f"is not UTF-8 text: byte 0x{data[e.start]:02x} on line {line} cannot be decoded",
            "encoding",
            _ENCODING_FIX,
        ) from None


def _parse_json_lines(text: str) -> pd.DataFrame:
    """JSON lines (one object per line); a ``.json`` holding one array of objects also works."""
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as e:
            raise _FileProblem(
                f"invalid JSON: {e}", "unreadable_file", "write one JSON object per line"
            ) from None
    else:
        records = []
        for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise _FileProblem(
                        f"invalid JSON on line {n}: {e}", "unreadable_file", "write one JSON object per line"
                    ) from None
    if not all(isinstance(r, dict) for r in records):
        raise _FileProblem(
            'each JSON line must be an object like {"aa_seq": ..., "label": ...}',
            "unreadable_file",
            "write one JSON object per line",
        )
    return pd.DataFrame.from_records(records)


def _map_columns(
    df: pd.DataFrame, split: str, source: str, cfg: RunConfig, report: Report
) -> pd.DataFrame | None:
    """Keep the sequence, label and structure columns, named aa_seq/label; add ``row``."""
    seq_col, label_col = cfg.data.sequence_column_name, cfg.data.label_column_name
    found = [str(c) for c in df.columns]
    ok = True
    for col, what in ((seq_col, "sequence"), (label_col, "label")):
        if col not in df.columns:
            _missing_column(col, what, found, source, report)
            ok = False
    if not ok:
        return None
    out = pd.DataFrame({"aa_seq": df[seq_col].to_numpy(), "label": df[label_col].to_numpy()})
    for col in vocab.STRUCTURE_SEQS:
        if col in df.columns:
            out[col] = df[col].to_numpy()
    out["row"] = np.arange(1, len(df) + 1)
    return out


def _missing_column(col: str, what: str, found: list[str], source: str, report: Report) -> None:
    close = difflib.get_close_matches(col, found, n=1, cutoff=0.4)
    option = "sequence_column_name" if what == "sequence" else "label_column_name"
    fix = f"rename the column to '{col}', or set {option}"
    if close:
        fix = f"did you mean '{close[0]}'? Set {option} to '{close[0]}' or rename the column"
    report.error(
        f"no {what} column '{col}'; columns found: {', '.join(found) or '(none)'}",
        file=source,
        column=col,
        kind="missing_column",
        fix=fix,
    )


def _read_label_names(folder: Path, report: Report) -> list[str] | None:
    path = folder / LABEL_NAMES_FILE
    if not path.is_file():
        return None
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
        names = [str(mapping[str(i)]) for i in range(len(mapping))]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        report.warning(
            f'ignored: not a JSON object {{"0": "name", ...}} ({_one_line(str(e))})',
            file=str(path),
            kind="label_names",
            fix="map every class index 0..n-1 to a name",
        )
        return None
    return names


def _is_fasta(path: Path) -> bool:
    if path.name.lower().endswith(FASTA_SUFFIXES):
        return True
    try:
        with path.open("rb") as f:
            return f.read(1) == b">"
    except OSError:
        return False


def _read_fasta(path: Path, report: Report) -> pd.DataFrame | None:
    src = str(path)
    if not path.is_file():
        report.error("the input file does not exist", file=src, kind="file_not_found", fix="check the path")
        return None
    try:
        text = _read_text(path)
    except _FileProblem as e:
        report.error(e.message, file=src, kind=e.kind, fix=e.fix)
        return None
    return _parse_fasta(text, src, report)


def _parse_fasta(text: str, src: str, report: Report) -> pd.DataFrame | None:
    ids: list[str] = []
    descriptions: list[str] = []
    seqs: list[list[str]] = []
    for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        if line.startswith(">"):
            header = line[1:].strip()
            ids.append(header.split()[0] if header else f"seq{len(ids) + 1}")
            descriptions.append(header)
            seqs.append([])
        elif line.strip() and not line.startswith(";"):
            if not seqs:
                report.error(
                    f"sequence text on line {n} comes before the first '>' header",
                    file=src,
                    kind="unreadable_file",
                    fix="start every record with a '>id' line",
                )
                return None
            seqs[-1].append(line)
    if not ids:
        report.error(
            "no FASTA records ('>id' lines) found",
            file=src,
            kind="empty_split",
            fix="give a FASTA file or a table with a sequence column",
        )
        return None
    return pd.DataFrame({"id": ids, "description": descriptions, "aa_seq": ["".join(s) for s in seqs]})


# ---------------------------------------------------------------------------------------------
# Deriving missing splits


def _derive_splits(raw: RawData, cfg: RunConfig, report: Report, monitor: Monitor | None = None) -> None:
    if "train" not in raw.splits:
        if "train" not in raw.failed:
            report.error(
                "no train split found",
                file=next(iter(raw.sources.values()), None),
                kind="empty_split",
                fix="add a train file (train.csv)",
            )
        return
    if cfg.data.split_method == "homology" and not raw.failed:
        homology_split.derive_splits(raw, cfg, report, monitor)
        return
    tr, va, te = cfg.data.split_ratios
    seed = cfg.train.seed
    train = raw.splits["train"]
    src = raw.sources["train"]
    # A split that was given but could not be read is not derived: its errors are reported.
    has_val = "validation" in raw.splits or "validation" in raw.failed
    has_test = "test" in raw.splits or "test" in raw.failed
    if has_val and has_test:
        return
    if has_val:  # train + validation: never test on validation
        report.warning(
            "no test split: no test metrics will be computed",
            kind="no_test",
            fix="add a test file to get test metrics",
        )
        return
    if has_test:
        fractions = {"validation": va / (tr + va)}
        how = f"carved from train: {fractions['validation']:.3f} of its rows (split_ratios {va}/({tr}+{va}))"
    else:
        fractions = {"validation": va, "test": te} if te > 0 else {"validation": va}
        how = f"split from train with split_ratios {tr}/{va}/{te}"
    keys, stratified = _strata(train, cfg, src, report)
    parts = _split_rows(len(train), fractions, seed, keys)
    if parts is None:
        report.error(
            f"too few rows in train ({len(train)}) to derive {' and '.join(fractions)} splits",
            file=src,
            kind="empty_split",
            fix="add rows, or provide validation and test files",
        )
        return
    for name, idx in parts.items():
        raw.splits[name] = train.iloc[idx].reset_index(drop=True)
        raw.sources[name] = src
        raw.derived[name] = f"{how}, seed {seed}{', stratified by label' if stratified else ''}"
        raw.columns[name] = raw.columns.get("train", [])
    for name in fractions:
        report.warning(
            f"no {name} split given: {raw.derived[name]}",
            file=src,
            kind="derived_split",
            fix=f"provide a {name} file to control it",
        )
    if "test" not in raw.splits:
        report.warning(
            "no test split: no test metrics will be computed",
            kind="no_test",
            fix="add a test file, or give split_ratios a test fraction",
        )


def _strata(train: pd.DataFrame, cfg: RunConfig, src: str, report: Report) -> tuple[np.ndarray | None, bool]:
    """Class keys to stratify by (single-label only), or None when a class has one member."""
    if cfg.data.problem_type != "single_label_classification":
        return None, False
    keys = np.array([_stratum(v) for v in train["label"]])
    classes, counts = np.unique(keys, return_counts=True)
    single = [str(c) for c, n in zip(classes, counts, strict=True) if n < 2 and c != "?"]
    if single:
        report.warning(
            f"{_count(len(single), 'class')} ({', '.join(single[:10])}) with a single row in train: "
            "the automatic split is not stratified",
            file=src,
            column=cfg.data.label_column_name,
            kind="unstratified",
            fix="provide validation and test files, or add rows to the rare classes",
        )
        return None, False
    return keys, True


def _stratum(label: Any) -> str:
    # Unparsable labels form one stratum of their own: their rows' errors are reported later.
    k = parse_label(label, "single_label_classification")[0]
    return "?" if k is None else str(k)


def _split_rows(
    n: int, fractions: dict[str, float], seed: int, keys: np.ndarray | None
) -> dict[str, np.ndarray] | None:
    """Seeded split of ``range(n)``: ``{"train": idx, name: idx ...}`` with sorted indices.

    Stratified when ``keys`` is given: each row gets a key spread evenly within its class
    ((rank in class + jitter) / class size) and rows are cut in key order, so every class is
    spread over the splits in proportion and the sizes are exact.
    """
    sizes = {name: max(1, round(n * f)) for name, f in fractions.items()}
    if n - sum(sizes.values()) < 1:
        return None
    rng = np.random.default_rng(seed)
    if keys is None:
        order = rng.permutation(n)
    else:
        codes = np.unique(keys, return_inverse=True)[1]
        counts = np.bincount(codes)
        by_class = np.lexsort((rng.random(n), codes))  # grouped by class, shuffled within
        rank = np.empty(n)
        rank[by_class] = np.arange(n) - (np.cumsum(counts) - counts)[codes[by_class]]
        order = np.argsort((rank + rng.random(n)) / counts[codes], kind="stable")
    out: dict[str, np.ndarray] = {}
    start = 0
    for name, size in sizes.items():
        out[name] = np.sort(order[start : start + size])
        start += size
    out["train"] = np.sort(order[start:])
    return out


# ---------------------------------------------------------------------------------------------
# Cleaning and parsing


def _build(raw: RawData, cfg: RunConfig, report: Report, *, codec: LabelCodec | None = None) -> TaskData:
    """Clean sequences and parse labels of every split; errors go to ``report``.

    Returns a draft on errors (``target`` None on bad rows) so the doctor can still describe it.
    """
    d = cfg.data
    problem_type = d.problem_type if d.problem_type in vocab.PROBLEM_TYPES else None
    given_num_labels = codec.num_labels if codec else _valid_num_labels(problem_type, d.num_labels)
    label_format = codec.multi_label_format if codec else d.multi_label_format
    method = methods.get_method(cfg.method.training_method)
    required = method.required_columns(cfg)
    splits = {
        name: _clean_split(df, name, raw.sources[name], raw.columns.get(name, []), cfg, required, report)
        for name, df in raw.splits.items()
    }
    multi_label = problem_type == "multi_label_classification"
    multi_hot = multi_label and label_format == label_formats.MULTI_HOT
    if multi_hot and given_num_labels is None and d.num_labels is None:
        # Multi-hot labels say how many labels there are.
        labels = [v for df in splits.values() for v in df["label"]]
        given_num_labels = label_formats.infer_num_labels(labels, d.label_column_name, report)
    for name, df in splits.items():
        df["target"] = None
        if problem_type:
            df["target"] = _parse_labels(
                df,
                raw.sources[name],
                d.label_column_name,
                problem_type,
                report,
                label_format,
                given_num_labels,
            )
        if multi_label and label_format == label_formats.INDICES:
            label_formats.check_not_multi_hot(
                df, raw.sources[name], d.label_column_name, given_num_labels, report
            )

    num_labels = given_num_labels
    if problem_type and num_labels is None and d.num_labels is None:
        num_labels = _infer_num_labels(splits, problem_type, report, d.label_column_name)
    if problem_type and num_labels is not None:
        for name, df in splits.items():
            _check_ranges(df, raw.sources[name], d.label_column_name, problem_type, num_labels, report)

    normalization = codec.normalization if codec else None
    if codec is None and problem_type == "regression" and d.normalize:
        normalization = _normalization(
            splits.get("train"), d.normalize, raw.sources.get("train"), d.label_column_name, report
        )
    task = TaskData(
        problem_type=problem_type or "",
        num_labels=num_labels or 0,
        splits=splits,
        sources=dict(raw.sources),
        label_names=list(codec.label_names) if codec and codec.label_names else raw.label_names,
        normalization=normalization,
        derived=dict(raw.derived),
        multi_label_format=label_format,
    )
    for df in splits.values():
        df["target"] = _typed_targets(df["target"], problem_type, task if normalization else None)
    if task.label_names and num_labels and len(task.label_names) != num_labels:
        report.warning(
            f"{len(task.label_names)} label names for {num_labels} classes: names ignored",
            kind="label_names",
            fix=f"give one name per class in {LABEL_NAMES_FILE}",
        )
        task.label_names = None
    return task


def _clean_split(
    df: pd.DataFrame,
    split: str,
    src: str,
    found: list[str],
    cfg: RunConfig,
    required: tuple[str, ...],
    report: Report,
) -> pd.DataFrame:
    seq_col = cfg.data.sequence_column_name
    texts = [_text(v) for v in df["aa_seq"].tolist()]
    seqs = [
        _check_sequence(t, r, src, seq_col, report) for t, r in zip(texts, df["row"].tolist(), strict=True)
    ]
    n_space = sum(1 for t in texts if len("".join(t.split())) != len(t))
    n_lower = sum(1 for t in texts if t != t.upper())
    if n_lower:
        report.warning(
            f"{_count(n_lower, 'sequence')} of {split} had lower-case residues: upper-cased",
            file=src,
            column=seq_col,
            kind="lowercase",
            fix="nothing to do; upper-case them to silence this",
        )
    if n_space:
        report.warning(
            f"{_count(n_space, 'sequence')} of {split} contained white space: removed",
            file=src,
            column=seq_col,
            kind="whitespace",
            fix="nothing to do; remove it to silence this",
        )
    out = pd.DataFrame({"aa_seq": seqs, "label": df["label"].to_numpy(), "row": df["row"].to_numpy()})
    for col in vocab.STRUCTURE_SEQS:
        if col in df.columns:
            out[col] = [clean_sequence(v) for v in df[col]]
    for col in required:
        if col not in out.columns:
            report.error(
                f"{cfg.method.training_method} needs the structure column '{col}'; columns found: "
                f"{', '.join(found)}",
                file=src,
                column=col,
                kind="missing_structure",
                fix=f"add {col} (same length as the sequence), or remove it from structure_seq",
            )
            continue
        for seq, struct, row in zip(out["aa_seq"], out[col], out["row"], strict=True):
            if seq and len(struct) != len(seq):
                report.error(
                    f"{col} has {len(struct)} letters but the sequence has {len(seq)} residues",
                    file=src,
                    row=int(row),
                    column=col,
                    kind="structure_length",
                    fix=f"{col} needs one letter per residue; recompute it from the same structure",
                )
    return out


def _check_sequence(value: Any, row: int, src: str, col: str, report: Report) -> str:
    seq = clean_sequence(value)
    if not seq:
        report.error(
            "empty sequence",
            file=src,
            row=row,
            column=col,
            kind="empty_sequence",
            fix="fill in the sequence or delete the row",
        )
        return seq
    bad = first_bad_residue(seq)
    if bad:
        pos, char = bad
        report.error(
            f"character '{char}' at position {pos} is not an amino-acid letter",
            file=src,
            row=row,
            column=col,
            value=char,
            kind="bad_residue",
            fix=_RESIDUE_FIX,
        )
    return seq


def _parse_labels(
    df: pd.DataFrame,
    src: str,
    col: str,
    problem_type: str,
    report: Report,
    label_format: str = label_formats.INDICES,
    num_labels: int | None = None,
) -> pd.Series:
    fixes = {
        "single_label_classification": "use an integer class index (0, 1, 2, ...)",
        "multi_label_classification": label_formats.FIXES[label_format],
        "regression": "use a finite number such as 0.75 or -1.2",
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
                fix="fill in the label or delete the row" if missing else fixes[problem_type],
            )
        targets.append(target)
    # object dtype: pandas would turn None into NaN and ints into floats
    return pd.Series(targets, index=df.index, dtype=object)


def _range_problem(target: Any, problem_type: str, num_labels: int | None) -> str | None:
    if problem_type == "regression" or target is None:
        return None
    indices = target if isinstance(target, tuple) else (target,)
    for k in indices:
        if k < 0 or (num_labels is not None and k >= num_labels):
            if num_labels is None:
                return f"class index {k} is negative (indices count from 0)"
            return f"class index {k} is outside 0..{num_labels - 1} (num_labels is {num_labels})"
    return None


def _check_ranges(
    df: pd.DataFrame, src: str, col: str, problem_type: str, num_labels: int, report: Report
) -> None:
    for target, row, value in zip(df["target"], df["row"], df["label"], strict=True):
        problem = _range_problem(target, problem_type, num_labels)
        if problem:
            report.error(
                problem,
                file=src,
                row=int(row),
                column=col,
                value=value,
                kind="label_out_of_range",
                fix="class indices count from 0; set num_labels to the number of classes",
            )


def _infer_num_labels(
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
        f"num_labels was not set: inferred {num_labels} from the labels (largest class index {largest})",
        column=col,
        kind="num_labels_inferred",
        fix="set num_labels if some classes are absent from the data",
    )
    return num_labels


def _normalization(
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
            f"all train labels are equal ({values[0]:g}): {method} normalisation would divide by zero, "
            "and there is nothing to learn",
            file=src,
            column=col,
            kind="constant_labels",
            fix="check the label column; or unset normalize",
        )
        return None
    return stats


def _typed_targets(targets: pd.Series, problem_type: str | None, task: TaskData | None) -> Any:
    """int64 / float64 (normalised with ``task``'s statistics) / object of tuples.

    A draft with unparsed rows keeps None there (object dtype), its other values still typed.
    """
    values = list(targets)
    if problem_type == "regression" and task is not None:
        values = [None if v is None else float(task.normalize_values(v)) for v in values]
    if any(v is None for v in values) or problem_type is None:
        return pd.Series(values, dtype=object)
    if problem_type == "single_label_classification":
        return np.asarray(values, dtype=np.int64)
    if problem_type == "regression":
        return np.asarray(values, dtype=np.float64)
    return pd.Series(values, dtype=object)


# ---------------------------------------------------------------------------------------------
# Value helpers


def _text(value: Any) -> str:
    if _is_missing(value):
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return math.isnan(value)
    return False


def _count(n: int, noun: str) -> str:
    """``1 sequence``, ``2 sequences``, ``2 classes``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{'es' if noun.endswith('s') else 's'}"


def _one_line(text: str, n: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"
