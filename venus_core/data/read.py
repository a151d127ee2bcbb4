"""Reading sequences and labels: CSV/TSV/JSON(L)/Parquet/Excel/FASTA files, folders, hub datasets."""

from __future__ import annotations

import difflib
import gzip
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from venus_core import assets, vocab
from venus_core import datasets as catalogue  # not Hugging Face's `datasets`, imported as `hf`
from venus_core.config import RunConfig
from venus_core.data.types import LABEL_NAMES_FILE, SPLIT_ALIASES, SPLITS, RawData, cell_text
from venus_core.errors import VenusError
from venus_core.i18n import N_
from venus_core.report import Report, one_line

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

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

_DELETE_RESIDUES = str.maketrans("", "", "".join(vocab.AMINO_ACIDS))

_BAD_RESIDUE = re.compile(f"[^{''.join(sorted(vocab.AMINO_ACIDS))}]")

_RESIDUE_FIX = N_(
    "use one-letter amino-acid codes (ACDEFGHIKLMNPQRSTVWY; X for unknown, also B, Z, U, O); "
    "remove gap '-' and stop '*' symbols"
)

_CSV_FIX = N_('save it as CSV/TSV with a header row; quote values that contain the separator ("1,2")')

_ENCODING_FIX = N_("re-save the file as UTF-8 (Excel: 'CSV UTF-8'; or `iconv -f latin1 -t utf-8`)")

_JSON_FIX = N_("write one JSON object per line")


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
        df = read_table(path, "input", report)
        col = sequence_column_name
        if df is not None and col not in df.columns:
            _missing_column(col, "sequence", list(df.columns), str(path), report)
            df = None
    if df is None or report.errors:
        raise report.exception()
    df = df.drop(columns=[c for c in ("aa_seq", "row") if c in df.columns and c != col]).rename(
        columns={col: "aa_seq"}
    )
    df["aa_seq"] = [check_sequence(v, i, str(path), col, report) for i, v in enumerate(df["aa_seq"], 1)]
    df["row"] = np.arange(1, len(df) + 1)
    if report.errors:
        raise report.exception()
    return df.reset_index(drop=True)


def read_sequences_text(text: str) -> pd.DataFrame:
    """Pasted sequences to predict: FASTA, or one sequence per line (named ``seq_1``, ``seq_2`` ...).
    Same columns and checks as ``read_sequences_file``; raises ``VenusError`` naming bad records."""
    src = "the pasted text"
    report = Report()
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise VenusError(N_("Paste sequences or upload a file first."))
    if lines[0].startswith(">"):
        df = _parse_fasta("\n".join(lines), src, report)
    else:
        df = pd.DataFrame({"id": [f"seq_{i}" for i in range(1, len(lines) + 1)], "aa_seq": lines})
    if df is None or report.errors:
        raise report.exception()
    df["aa_seq"] = [check_sequence(v, i, src, "sequence", report) for i, v in enumerate(df["aa_seq"], 1)]
    df["row"] = np.arange(1, len(df) + 1)
    if report.errors:
        raise report.exception()
    return df


def clean_sequence(value: Any) -> str:
    """The one cleaning rule for sequences: text, white space removed, upper-case."""
    return "".join(cell_text(value).split()).upper()  # split() is ~20x faster than a regex here


def first_bad_residue(seq: str) -> tuple[int, str] | None:
    """(1-based position, character) of the first non-amino-acid letter of a cleaned sequence."""
    if not seq.translate(_DELETE_RESIDUES):  # fast path: only amino-acid letters
        return None
    m = _BAD_RESIDUE.search(seq)
    return (m.start() + 1, m.group()) if m else None


def read_source(cfg: RunConfig, report: Report) -> RawData:
    d = cfg.data
    raw = RawData({}, {})
    if d.train_file:
        for split, name in zip(SPLITS, (d.train_file, d.valid_file, d.test_file), strict=True):
            if name:
                _add_file(raw, split, Path(name).expanduser(), cfg, report)
        raw.label_names = _read_label_names(Path(d.train_file).expanduser().parent, report)
        return raw
    if not d.dataset:
        report.error(N_("no data: set a dataset (name, folder or hub id) or a train_file"), kind="config")
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
            N_("the demo dataset {name} has not been fetched yet (expected in {path})").format(
                name=entry.name, path=path
            ),
            kind="file_not_found",
            fix=N_("run `make setup` or `python -m venus_core fetch-assets`"),
        )
    elif _HUB_ID.match(target):
        _read_hub(raw, target, target, cfg, report)
    else:
        names = [e.name for e in catalogue.catalogue_entries()]
        close = difflib.get_close_matches(target, names, n=1)
        report.error(
            N_(
                "dataset '{dataset}' is not a predefined dataset, an existing folder or file, or a "
                "Hugging Face id (user/name)"
            ).format(dataset=target),
            kind="file_not_found",
            fix=N_("did you mean '{name}'?").format(name=close[0])
            if close
            else N_("see `python -m venus_core datasets`"),
        )
    return raw


def _add_file(raw: RawData, split: str, path: Path, cfg: RunConfig, report: Report) -> None:
    df = read_table(path, split, report)
    mapped = None
    if df is not None:
        raw.columns[split] = [str(c) for c in df.columns]
        mapped = map_columns(df, split, str(path), cfg, report)
    if mapped is None:
        raw.failed.add(split)
    else:
        raw.splits[split] = mapped
        raw.sources[split] = str(path)


def _read_folder(raw: RawData, folder: Path, cfg: RunConfig, report: Report) -> None:
    found: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        fmt = table_format(p)
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
                N_("several {split} files: using {file}, ignoring {others}").format(
                    split=split, file=files[0].name, others=", ".join(p.name for p in files[1:])
                ),
                file=str(folder),
                kind="ambiguous_files",
                fix=N_("keep one file per split in the folder"),
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
        detail = one_line(f"{type(e).__name__}: {e}")
        if local:
            report.error(
                N_(
                    "folder {folder} has no train/validation/test files and could not be read as a "
                    "Hugging Face dataset folder ({detail})"
                ).format(folder=target, detail=detail),
                file=target,
                kind="file_not_found",
                fix=N_("put train.csv (and validation.csv, test.csv) with columns aa_seq,label in it"),
            )
        else:
            report.error(
                N_(
                    "could not load the dataset '{dataset}' from the Hugging Face hub: the hub could not "
                    "be reached or the dataset was not found ({detail})"
                ).format(dataset=target, detail=detail),
                kind="hub_unreachable",
                fix=N_(
                    "check the id and your network, or use a local folder with train/validation/test "
                    "files, or a demo dataset ({demos})"
                ).format(demos=", ".join(assets.DEMO_DATASETS)),
            )
        return
    if isinstance(loaded, hf.Dataset):
        loaded = {"train": loaded}
    for name, ds in loaded.items():
        split = SPLIT_ALIASES.get(str(name).lower())
        if split is None or split in raw.splits:
            report.warning(
                N_("split '{name}' of {dataset} is not used").format(name=name, dataset=label),
                file=label,
                kind="ignored_split",
                fix=N_("name the splits train, validation and test"),
            )
            continue
        source = f"{label}[{name}]"
        df = ds.to_pandas()
        raw.columns[split] = [str(c) for c in df.columns]
        if df.empty:
            report.error(
                N_("the {split} split is empty").format(split=split),
                file=source,
                kind="empty_split",
                fix=N_("add rows to it or remove it"),
            )
            raw.failed.add(split)
            continue
        feature = ds.features.get(cfg.data.label_column_name)
        if isinstance(feature, hf.ClassLabel) and raw.label_names is None:
            raw.label_names = list(feature.names)
        mapped = map_columns(df, split, source, cfg, report)
        if mapped is None:
            raw.failed.add(split)
        else:
            raw.splits[split] = mapped
            raw.sources[split] = source


def table_format(path: Path) -> tuple[str, str] | None:
    """(suffix, reader) of a supported table file, by its name."""
    name = path.name.lower()
    for suffix, fmt in TABLE_FORMATS.items():
        if name.endswith(suffix):
            return suffix, fmt
    return None


def read_table(path: Path, split: str, report: Report) -> pd.DataFrame | None:
    """One table file as read (CSV/TSV: every value a string, nothing turned into NaN)."""
    src = str(path)
    if not path.exists():
        report.error(
            N_("the {split} file does not exist").format(split=split),
            file=src,
            kind="file_not_found",
            fix=N_("check the path (relative paths start from the current folder)"),
        )
        return None
    if path.is_dir():
        report.error(
            N_("the {split} file is a folder").format(split=split),
            file=src,
            kind="unreadable_file",
            fix=N_("give a CSV, TSV, Parquet or JSON lines file; or pass the folder as dataset"),
        )
        return None
    fmt = table_format(path)
    if fmt is None:
        report.error(
            N_("unsupported file type for the {split} split").format(split=split),
            file=src,
            kind="unreadable_file",
            fix=N_("use .csv, .tsv, .parquet or .jsonl (a spreadsheet: save it as CSV UTF-8)"),
        )
        return None
    kind = fmt[1]
    try:
        if kind == "parquet":
            df = pd.read_parquet(path)
        else:
            text = _read_text(path)
            if not text.strip():
                raise _FileProblem(
                    N_("the file is empty"), "empty_split", N_("add a header row and data rows")
                )
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
            N_("cannot be read as {kind}: {detail}").format(kind=kind.upper(), detail=one_line(str(e))),
            file=src,
            kind="unreadable_file",
            fix=_CSV_FIX,
        )
        return None
    except Exception as e:  # corrupt Parquet, permission denied ...: name the file, keep the cause
        report.error(
            N_("cannot be read as {kind}: {detail}").format(
                kind=kind.upper(), detail=one_line(f"{type(e).__name__}: {e}")
            ),
            file=src,
            kind="unreadable_file",
            fix=N_("check that it is a valid {kind} file").format(kind=kind),
        )
        return None
    if df.empty:
        report.error(
            N_("the {split} file has a header but no data rows").format(split=split),
            file=src,
            kind="empty_split",
            fix=N_("add data rows, or leave this split out"),
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
                N_("not a valid gzip file ({error})").format(error=e),
                "unreadable_file",
                N_("re-compress it with gzip"),
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
            N_("is not UTF-8 text: byte 0x{byte:02x} on line {line} cannot be decoded").format(
                byte=data[e.start], line=line
            ),
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
                N_("invalid JSON: {error}").format(error=e), "unreadable_file", _JSON_FIX
            ) from None
    else:
        records = []
        for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise _FileProblem(
                        N_("invalid JSON on line {line}: {error}").format(line=n, error=e),
                        "unreadable_file",
                        _JSON_FIX,
                    ) from None
    if not all(isinstance(r, dict) for r in records):
        raise _FileProblem(
            N_('each JSON line must be an object like {"aa_seq": ..., "label": ...}'),
            "unreadable_file",
            _JSON_FIX,
        )
    return pd.DataFrame.from_records(records)


def map_columns(
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
    fix = N_("rename the column to '{column}', or set {option}").format(column=col, option=option)
    if close:
        fix = N_("did you mean '{name}'? Set {option} to '{name}' or rename the column").format(
            name=close[0], option=option
        )
    message = (
        N_("no sequence column '{column}'; columns found: {found}")
        if what == "sequence"
        else N_("no label column '{column}'; columns found: {found}")
    )
    report.error(
        message.format(column=col, found=", ".join(found) or N_("(none)")),
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
            N_('ignored: not a JSON object {{"0": "name", ...}} ({error})').format(error=one_line(str(e))),
            file=str(path),
            kind="label_names",
            fix=N_("map every class index 0..n-1 to a name"),
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
        report.error(
            N_("the input file does not exist"), file=src, kind="file_not_found", fix=N_("check the path")
        )
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
                    N_("sequence text on line {line} comes before the first '>' header").format(line=n),
                    file=src,
                    kind="unreadable_file",
                    fix=N_("start every record with a '>id' line"),
                )
                return None
            seqs[-1].append(line)
    if not ids:
        report.error(
            N_("no FASTA records ('>id' lines) found"),
            file=src,
            kind="empty_split",
            fix=N_("give a FASTA file or a table with a sequence column"),
        )
        return None
    return pd.DataFrame({"id": ids, "description": descriptions, "aa_seq": ["".join(s) for s in seqs]})


def check_sequence(value: Any, row: int, src: str, col: str, report: Report) -> str:
    seq = clean_sequence(value)
    if not seq:
        report.error(
            N_("empty sequence"),
            file=src,
            row=row,
            column=col,
            kind="empty_sequence",
            fix=N_("fill in the sequence or delete the row"),
        )
        return seq
    bad = first_bad_residue(seq)
    if bad:
        pos, char = bad
        report.error(
            N_("character '{char}' at position {position} is not an amino-acid letter").format(
                char=char, position=pos
            ),
            file=src,
            row=row,
            column=col,
            value=char,
            kind="bad_residue",
            fix=_RESIDUE_FIX,
        )
    return seq
