"""Loading a run's data: files, a folder or a hub dataset -> cleaned, parsed, checked splits.

``load_raw`` reads the splits as they are (columns renamed to ``aa_seq``/``label``, a ``row``
column added, missing splits derived by a seeded, stratified split). ``prepare`` then cleans the
sequences, parses the labels and records every problem in a ``report.Report``; it returns a
``TaskData`` only when there is no error. ``load_data`` is ``prepare`` that raises.

Two rules the reference implementation broke (see reference/venusfactory-defects.md): a missing
validation split is carved from train, never replaced by train; a missing test split means no
test metrics, never testing on validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from venus_core import datasets as catalogue  # not Hugging Face's `datasets`, imported as `hf`
from venus_core import label_formats, methods, vocab
from venus_core.config import RunConfig
from venus_core.data.labels import check_ranges, infer_num_labels, normalization_of, parse_labels
from venus_core.data.overview import inspect
from venus_core.data.read import check_sequence, clean_sequence, map_columns, read_source, read_table
from venus_core.data.split import derive_splits
from venus_core.data.types import LABEL_NAMES_FILE, LabelCodec, RawData, TaskData, cell_text
from venus_core.errors import VenusError
from venus_core.homology import Monitor
from venus_core.i18n import N_
from venus_core.report import Report, add_unexpected, n_sequences_text


def load_data(cfg: RunConfig) -> TaskData:
    """``prepare`` that raises ``VenusError`` listing the errors."""
    task, report = prepare(cfg)
    if task is None:
        raise report.exception()
    return task


def prepare(cfg: RunConfig, *, monitor: Monitor | None = None) -> tuple[TaskData | None, Report]:
    """Load, clean, parse and check a run's data; ``TaskData`` only when there is no error.

    Resolves the task settings itself (``datasets.resolve_task``); a config problem becomes an
    error of the report, and the data is still checked as far as the settings allow. A
    ``monitor`` (given by ``doctor.check``) receives progress, may stop, and asks for the
    leakage report, which training does not compute.
    """
    report = Report()
    try:
        cfg = _resolve(cfg, report)
        raw = load_raw(cfg, report=report, monitor=monitor)
        if not raw.splits:
            return None, report
        task = _build(raw, cfg, report)
        inspect(task, cfg, report, columns=raw.columns, monitor=monitor)
    except Exception as e:  # a bug of ours: keep what was found so far, add it as an ERROR line
        add_unexpected(report, e)
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
    raw = read_source(cfg, report)
    if raw.splits:
        derive_splits(raw, cfg, report, monitor)
    if own and report.errors:
        raise report.exception()
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
    df = read_table(Path(path), "test", report)
    raw = RawData({}, {})
    if df is not None:
        mapped = map_columns(df, "test", str(path), cfg, report)
        if mapped is not None:
            raw = RawData({"test": mapped}, {"test": str(path)}, {"test": [str(c) for c in df.columns]})
    if report.errors or not raw.splits:
        raise report.exception()
    task = _build(raw, cfg, report, codec=codec)
    if report.errors:
        raise report.exception()
    return task


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
            df["target"] = parse_labels(
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
        num_labels = infer_num_labels(splits, problem_type, report, d.label_column_name)
    if problem_type and num_labels is not None:
        for name, df in splits.items():
            check_ranges(df, raw.sources[name], d.label_column_name, problem_type, num_labels, report)

    normalization = codec.normalization if codec else None
    if codec is None and problem_type == "regression" and d.normalize:
        normalization = normalization_of(
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
            N_("{n} label names for {num_labels} classes: names ignored").format(
                n=len(task.label_names), num_labels=num_labels
            ),
            kind="label_names",
            fix=N_("give one name per class in {file}").format(file=LABEL_NAMES_FILE),
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
    texts = [cell_text(v) for v in df["aa_seq"].tolist()]
    seqs = [
        check_sequence(t, r, src, seq_col, report) for t, r in zip(texts, df["row"].tolist(), strict=True)
    ]
    n_space = sum(1 for t in texts if len("".join(t.split())) != len(t))
    n_lower = sum(1 for t in texts if t != t.upper())
    for n, message, kind, fix in (
        (
            n_lower,
            N_("{sequences} of {split} had lower-case residues: upper-cased"),
            "lowercase",
            N_("nothing to do; upper-case them to silence this"),
        ),
        (
            n_space,
            N_("{sequences} of {split} contained white space: removed"),
            "whitespace",
            N_("nothing to do; remove it to silence this"),
        ),
    ):
        if n:
            text = message.format(sequences=n_sequences_text(n), split=split)
            report.warning(text, file=src, column=seq_col, kind=kind, fix=fix)
    out = pd.DataFrame({"aa_seq": seqs, "label": df["label"].to_numpy(), "row": df["row"].to_numpy()})
    for col in vocab.STRUCTURE_SEQS:
        if col in df.columns:
            out[col] = [clean_sequence(v) for v in df[col]]
    for col in required:
        if col not in out.columns:
            report.error(
                N_("{method} needs the structure column '{column}'; columns found: {found}").format(
                    method=cfg.method.training_method, column=col, found=", ".join(found)
                ),
                file=src,
                column=col,
                kind="missing_structure",
                fix=N_("add {column} (same length as the sequence), or remove it from structure_seq").format(
                    column=col
                ),
            )
            continue
        for seq, struct, row in zip(out["aa_seq"], out[col], out["row"], strict=True):
            if seq and len(struct) != len(seq):
                report.error(
                    N_("{column} has {letters} letters but the sequence has {residues} residues").format(
                        column=col, letters=len(struct), residues=len(seq)
                    ),
                    file=src,
                    row=int(row),
                    column=col,
                    kind="structure_length",
                    fix=N_(
                        "{column} needs one letter per residue; recompute it from the same structure"
                    ).format(column=col),
                )
    return out


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
