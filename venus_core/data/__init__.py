"""A run's data: files, a folder or a hub dataset -> cleaned, parsed, checked splits.

``types`` (splits, label codec, raw and prepared data), ``read`` (files, folders, hub datasets),
``split`` (deriving missing splits), ``labels`` (parsing and checking labels), ``loading`` (the
whole path, ``prepare``/``load_data``, with every problem recorded in a ``report.Report``) and
``overview`` (whole-data warnings and the preview statistics). Import the names below from here.
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
