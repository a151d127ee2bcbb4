"""Loading a run's data: files, a folder or a hub dataset -> cleaned, parsed, checked splits.

``load_raw`` reads the splits as they are (columns renamed to ``aa_seq``/``label``, a ``row``
column added, missing splits derived by a seeded, stratified split). ``prepare`` then cleans the
sequences, parses the labels and records every problem in a ``report.Report``; it returns a
``TaskData`` only when there is no error. ``load_data`` is ``prepare`` that raises.

Two rules the reference implementation broke (see reference/venusfactory-defects.md): a missing
validation split is carved from train, never replaced by train; a missing test split means no
test metrics, never testing on validation.

The package: ``types`` (splits, label codec, raw and prepared data), ``read`` (files, folders,
hub datasets), ``split`` (deriving missing splits), ``labels`` (parsing and checking labels),
``loading`` (the whole path, with its errors recorded in a ``report.Report``) and ``overview``
(whole-data warnings and the preview statistics).
"""

from venus_core.data.labels import parse_label
from venus_core.data.loading import load_data, load_eval_data, load_raw, prepare
from venus_core.data.read import (
    clean_sequence,
    first_bad_residue,
    read_sequences_file,
    read_sequences_text,
    read_table,
    table_format,
)
from venus_core.data.types import SPLIT_ALIASES, SPLITS, LabelCodec, RawData, TaskData

__all__ = [
    "SPLITS",
    "SPLIT_ALIASES",
    "LabelCodec",
    "RawData",
    "TaskData",
    "clean_sequence",
    "first_bad_residue",
    "load_data",
    "load_eval_data",
    "load_raw",
    "parse_label",
    "prepare",
    "read_sequences_file",
    "read_sequences_text",
    "read_table",
    "table_format",
]
