"""The data doctor: one case per error and per warning, report format, statistics and the CLI."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from venus_core import doctor
from venus_core.config import RunConfig
from venus_core.data import overview
from venus_core.report import Issue, Report

SLC = "single_label_classification"
MLC = "multi_label_classification"
REG = "regression"
AA = "ACDEFGHIKLMNPQRSTVWY"
REPO = Path(__file__).resolve().parent.parent


def seqs(n: int, seed: int = 0, lo: int = 8, hi: int = 40) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        s = "M" + "".join(rng.choice(AA) for _ in range(rng.randint(lo, hi)))
        if s not in out:
            out.append(s)
    return out


def labels_for(problem_type: str, n: int) -> list[str]:
    if problem_type == MLC:
        return [["0,1", "2", "1,2"][i % 3] for i in range(n)]
    if problem_type == REG:
        return [str(0.5 * i - 3) for i in range(n)]
    return [str(i % 2) for i in range(n)]


def rows_for(problem_type: str, n: int, seed: int) -> list[list[str]]:
    return [[s, y] for s, y in zip(seqs(n, seed), labels_for(problem_type, n), strict=True)]


def write(path: Path, rows: list[list], header=("aa_seq", "label"), sep=",") -> str:
    pd.DataFrame(rows, columns=list(header)).to_csv(path, index=False, sep=sep)
    return str(path)


def three_files(
    tmp: Path, problem_type: str = SLC, train=None, valid=None, test=None, header=("aa_seq", "label")
):
    """Config kwargs for train/validation/test CSVs with distinct, well-formed rows by default."""
    return {
        "train_file": write(tmp / "train.csv", train or rows_for(problem_type, 24, 1), header),
        "valid_file": write(tmp / "valid.csv", valid or rows_for(problem_type, 6, 2), header),
        "test_file": write(tmp / "test.csv", test or rows_for(problem_type, 6, 3), header),
        "problem_type": problem_type,
        "num_labels": {SLC: 2, MLC: 3, REG: 1}[problem_type],
    }


def with_bad_row(problem_type: str, seq: str | None = None, label: str | None = None, **extra) -> Callable:
    """Train data whose data row 2 is replaced by (seq, label)."""

    def build(tmp: Path) -> dict:
        train = rows_for(problem_type, 24, 1)
        if seq is not None:
            train[1][0] = seq
        if label is not None:
            train[1][1] = label
        return {**three_files(tmp, problem_type, train=train), **extra}

    return build


def raw_train(content: bytes | str, name: str = "train.csv", **extra) -> Callable:
    def build(tmp: Path) -> dict:
        files = three_files(tmp)
        p = tmp / name
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
        return {**files, "train_file": str(p), **extra}

    return build


def folder_without_train(tmp: Path) -> dict:
    write(tmp / "test.csv", rows_for(SLC, 6, 3))
    return {"dataset": str(tmp), "problem_type": SLC, "num_labels": 2}


def config_only(**kw) -> Callable:
    def build(tmp: Path) -> dict:
        problem_type = kw.get("problem_type", SLC)
        return {**three_files(tmp, problem_type if problem_type in (SLC, MLC, REG) else SLC), **kw}

    return build


def structure_files(tmp: Path, *, drop: str | None = None, bad_length: bool = False) -> dict:
    def frame(seed: int, n: int) -> pd.DataFrame:
        s = seqs(n, seed)
        df = pd.DataFrame(
            {"aa_seq": s, "foldseek_seq": ["d" * len(x) for x in s], "ss8_seq": ["H" * len(x) for x in s]}
        )
        df["label"] = [i % 2 for i in range(n)]
        return df

    files = {}
    for key, seed, n in (("train_file", 1, 12), ("valid_file", 2, 4), ("test_file", 3, 4)):
        df = frame(seed, n)
        if drop:
            df = df.drop(columns=[drop])
        if bad_length and key == "train_file":
            df.loc[1, "ss8_seq"] = "HHH"
        df.to_csv(tmp / f"{key}.csv", index=False)
        files[key] = str(tmp / f"{key}.csv")
    return {**files, "problem_type": SLC, "num_labels": 2, "training_method": "ses-adapter"}


def cfg(**kw) -> RunConfig:
    return RunConfig().with_values(**kw)


# ---------------------------------------------------------------------------------------------
# One case per error: (id, build(tmp) -> config kwargs, kind, row, column, phrase)

ERROR_CASES = [
    (
        "missing sequence column",
        lambda t: three_files(t, header=("seq", "label")),
        "missing_column",
        None,
        "aa_seq",
        "columns found: seq, label",
    ),
    (
        "missing label column",
        lambda t: three_files(t, header=("aa_seq", "labels")),
        "missing_column",
        None,
        "label",
        "columns found: aa_seq, labels",
    ),
    (
        "file does not exist",
        lambda t: {**three_files(t), "train_file": str(t / "nope.csv")},
        "file_not_found",
        None,
        None,
        "does not exist",
    ),
    (
        "unsupported file type",
        raw_train(b"PK\x03\x04", name="train.xlsx"),
        "unreadable_file",
        None,
        None,
        "unsupported file type",
    ),
    (
        "CSV with a bad row",
        raw_train("aa_seq,label\nMKT,1\nMKV,1,2,3\n"),
        "unreadable_file",
        None,
        None,
        "Expected 2 fields",
    ),
    (
        "corrupt Parquet",
        raw_train(b"this is not parquet", name="train.parquet"),
        "unreadable_file",
        None,
        None,
        "cannot be read as PARQUET",
    ),
    (
        "bad JSON line",
        raw_train('{"aa_seq": "MKT", "label": 1}\n{oops}\n', name="train.jsonl"),
        "unreadable_file",
        None,
        None,
        "invalid JSON on line 2",
    ),
    (
        "not gzip",
        raw_train(b"aa_seq,label\nMKT,1\n", name="train.csv.gz"),
        "unreadable_file",
        None,
        None,
        "not a valid gzip file",
    ),
    (
        "latin-1 encoding",
        raw_train("aa_seq,label\nMKT,0\nMKV,caf\u00e9\n".encode("latin-1")),
        "encoding",
        None,
        None,
        "not UTF-8 text: byte 0xe9 on line 3",
    ),
    ("empty file", raw_train(b""), "empty_split", None, None, "the file is empty"),
    ("header only", raw_train("aa_seq,label\n"), "empty_split", None, None, "header but no data rows"),
    (
        "single-label not an integer",
        with_bad_row(SLC, label="abc"),
        "bad_label",
        2,
        "label",
        "not an integer class index",
    ),
    ("single-label fraction", with_bad_row(SLC, label="1.5"), "bad_label", 2, "label", "not an integer"),
    (
        "multi-label not indices",
        with_bad_row(MLC, label="a,b"),
        "bad_label",
        2,
        "label",
        "not a list of class indices",
    ),
    ("regression not a number", with_bad_row(REG, label="abc"), "bad_label", 2, "label", "not a number"),
    ("regression NaN", with_bad_row(REG, label="nan"), "bad_label", 2, "label", "not a finite number"),
    ("regression infinity", with_bad_row(REG, label="inf"), "bad_label", 2, "label", "not a finite number"),
    (
        "label above num_labels",
        with_bad_row(SLC, label="2"),
        "label_out_of_range",
        2,
        "label",
        "outside 0..1 (num_labels is 2)",
    ),
    ("negative label", with_bad_row(SLC, label="-1"), "label_out_of_range", 2, "label", "class index -1"),
    (
        "multi-label index out of range",
        with_bad_row(MLC, label="0,5"),
        "label_out_of_range",
        2,
        "label",
        "class index 5 is outside 0..2",
    ),
    ("missing label", with_bad_row(SLC, label=""), "missing_label", 2, "label", "missing label"),
    ("empty sequence", with_bad_row(SLC, seq=""), "empty_sequence", 2, "aa_seq", "empty sequence"),
    (
        "not an amino acid",
        with_bad_row(SLC, seq="MK*TV"),
        "bad_residue",
        2,
        "aa_seq",
        "character '*' at position 3",
    ),
    (
        "digit in sequence",
        with_bad_row(SLC, seq="mkt1v"),
        "bad_residue",
        2,
        "aa_seq",
        "character '1' at position 4",
    ),
    (
        "regression with num_labels 3",
        config_only(problem_type=REG, num_labels=3),
        "config",
        None,
        None,
        "num_labels must be 1",
    ),
    (
        "classification with num_labels 1",
        config_only(num_labels=1),
        "config",
        None,
        None,
        "needs num_labels >= 2",
    ),
    (
        "metric for another problem type",
        config_only(problem_type=REG, num_labels=1, metrics="accuracy"),
        "config",
        None,
        None,
        "Metric 'accuracy' does not apply to regression",
    ),
    (
        "unknown problem type",
        config_only(problem_type="classification"),
        "config",
        None,
        None,
        "problem_type 'classification' is not one of",
    ),
    (
        "problem type not set",
        config_only(problem_type="none"),
        "config",
        None,
        None,
        "problem_type is not set",
    ),
    (
        "ses-adapter without structure column",
        lambda t: structure_files(t, drop="ss8_seq"),
        "missing_structure",
        None,
        "ss8_seq",
        "needs the structure column 'ss8_seq'; columns found: aa_seq, foldseek_seq, label",
    ),
    (
        "ses-adapter structure length",
        lambda t: structure_files(t, bad_length=True),
        "structure_length",
        2,
        "ss8_seq",
        "ss8_seq has 3 letters but the sequence has",
    ),
    (
        "unknown dataset name",
        lambda t: {"dataset": "Demo_AMPP", "problem_type": SLC},
        "file_not_found",
        None,
        None,
        "is not a predefined dataset",
    ),
    ("folder without a train file", folder_without_train, "empty_split", None, None, "no train split found"),
    (
        "folder without split files",
        lambda t: {"dataset": str(t), "problem_type": SLC},
        "file_not_found",
        None,
        None,
        "has no train/validation/test files",
    ),
]


@pytest.mark.parametrize(
    ("build", "kind", "row", "column", "phrase"),
    [c[1:] for c in ERROR_CASES],
    ids=[c[0] for c in ERROR_CASES],
)
def test_error(tmp_path, build, kind, row, column, phrase):
    report = doctor.check(cfg(**build(tmp_path)))
    matching = [e for e in report.errors if e.kind == kind]
    assert matching, report.format()
    issue = matching[0]
    assert issue.severity == "error"
    assert issue.row == row
    assert issue.column == column
    assert phrase in issue.message, issue.message
    assert issue.fix or kind == "config"  # config messages carry their own fix
    assert "Traceback" not in report.format()
    assert report.format().startswith("ERROR")


def test_missing_column_suggests_the_nearest_match(tmp_path):
    report = doctor.check(cfg(**three_files(tmp_path, header=("sequence", "label"))))
    assert "did you mean 'sequence'" in report.errors[0].fix
    assert "sequence_column_name" in report.errors[0].fix
    # One problem, said once, naming every file that has it (not once per file).
    (issue,) = report.errors
    assert [Path(f).name for f in issue.file.split(", ")] == ["train.csv", "valid.csv", "test.csv"]


def test_demo_dataset_not_fetched(tmp_path, monkeypatch):
    from venus_core import assets

    monkeypatch.setattr(assets, "ASSETS_DIR", tmp_path / "no-assets")
    report = doctor.check(cfg(dataset="Demo_AMP"))
    (issue,) = report.errors
    assert "has not been fetched yet" in issue.message and "fetch-assets" in issue.fix


def test_errors_of_every_split_are_reported_together(tmp_path):
    files = three_files(
        tmp_path, train=[*rows_for(SLC, 5, 1), ["MKT", "7"]], test=[["MKX?", "0"], ["MKV", "1"]]
    )
    report = doctor.check(cfg(**files))
    assert {(e.file.rsplit("/", 1)[-1], e.row, e.kind) for e in report.errors} == {
        ("train.csv", 6, "label_out_of_range"),
        ("test.csv", 1, "bad_residue"),
    }


def test_unexpected_exception_is_an_error_line_not_a_traceback(tmp_path, monkeypatch):
    from venus_core.data import loading

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(loading, "_build", boom)
    files = three_files(tmp_path)
    del files["test_file"]
    report = doctor.check(cfg(**files))
    assert [e.kind for e in report.errors] == ["unexpected"]
    assert "RuntimeError: boom" in report.errors[0].message
    assert "no_test" in [w.kind for w in report.warnings]  # what was found before is kept


# ---------------------------------------------------------------------------------------------
# One case per warning: (id, build(tmp) -> config kwargs, kind, phrase)


def _warn_rows(tmp: Path, train=None, valid=None, test=None, **extra) -> dict:
    return {**three_files(tmp, train=train, valid=valid, test=test), **extra}


def _imbalanced(tmp: Path) -> dict:
    s = seqs(24, 1)
    train = [[x, "0"] for x in s[:22]] + [[x, "1"] for x in s[22:]]
    return _warn_rows(tmp, train=train)


def _duplicates(conflict: bool) -> Callable:
    def build(tmp: Path) -> dict:
        train = rows_for(SLC, 24, 1)
        train[5] = [train[4][0], train[4][1] if not conflict else str(1 - int(train[4][1]))]
        return _warn_rows(tmp, train=train)

    return build


def _leak(tmp: Path) -> dict:
    train = rows_for(SLC, 24, 1)
    return _warn_rows(tmp, train=train, test=[*train[:2], *rows_for(SLC, 4, 3)])


def _one_file(tmp: Path, **extra) -> dict:
    return {"train_file": write(tmp / "all.csv", rows_for(SLC, 40, 1)), "problem_type": SLC, **extra}


def _folder_with_two_train_files(tmp: Path) -> dict:
    write(tmp / "train.csv", rows_for(SLC, 24, 1))
    write(tmp / "train.tsv", rows_for(SLC, 24, 1), sep="\t")
    write(tmp / "validation.csv", rows_for(SLC, 6, 2))
    write(tmp / "test.csv", rows_for(SLC, 6, 3))
    return {"dataset": str(tmp), "problem_type": SLC, "num_labels": 2}


def _label_names_mismatch(tmp: Path) -> dict:
    (tmp / "label_names.json").write_text(json.dumps({"0": "a", "1": "b", "2": "c"}))
    return three_files(tmp)


def _lower(tmp: Path) -> dict:
    train = rows_for(SLC, 24, 1)
    train[0][0] = train[0][0].lower()
    train[1][0] = train[1][0][:3] + "m" + train[1][0][4:]
    return _warn_rows(tmp, train=train)


def _space(tmp: Path) -> dict:
    train = rows_for(SLC, 24, 1)
    train[3][0] = " " + train[3][0][:4] + " " + train[3][0][4:]
    return _warn_rows(tmp, train=train)


WARNING_CASES = [
    ("lower-case residues", _lower, "lowercase", "2 sequences of train had lower-case residues"),
    ("white space", _space, "whitespace", "1 sequence of train contained white space"),
    (
        "one class only",
        lambda t: _warn_rows(t, valid=[[s, "1"] for s in seqs(6, 2)]),
        "one_class",
        "validation has one class only (1)",
    ),
    ("class imbalance", _imbalanced, "imbalance", "class 0 has 22 rows, class 1 has 2 (ratio 11)"),
    (
        "duplicates, labels agree",
        _duplicates(False),
        "duplicates",
        "1 sequence in 2 rows; their labels agree",
    ),
    ("duplicates, labels conflict", _duplicates(True), "duplicates", "1 of them with different labels"),
    ("train/test leakage", _leak, "leakage", "test shares 2 sequences with train"),
    (
        "longer than max_seq_len",
        lambda t: _warn_rows(t, max_seq_len=20),
        "too_long",
        "longer than max_seq_len 20: they will be truncated, never dropped",
    ),
    (
        "no test split",
        lambda t: {k: v for k, v in three_files(t).items() if k != "test_file"},
        "no_test",
        "no test metrics will be computed",
    ),
    ("splits derived", _one_file, "derived_split", "split from train with split_ratios 0.8/0.1/0.1, seed 42"),
    (
        "num_labels inferred",
        lambda t: {**three_files(t), "num_labels": "none"},
        "num_labels_inferred",
        "inferred 2 from the labels",
    ),
    (
        "class without training rows",
        lambda t: {**three_files(t), "num_labels": 4},
        "missing_class",
        "2 classes without a row in train (2, 3)",
    ),
    (
        "unstratified split",
        lambda t: {
            "train_file": write(t / "a.csv", [*rows_for(SLC, 30, 1), ["MKWV", "2"]]),
            "problem_type": SLC,
            "num_labels": 3,
        },
        "unstratified",
        "not stratified",
    ),
    ("two files for one split", _folder_with_two_train_files, "ambiguous_files", "using train.csv, ignoring"),
    ("label names do not match", _label_names_mismatch, "label_names", "3 label names for 2 classes"),
]


@pytest.mark.parametrize(
    ("build", "kind", "phrase"), [c[1:] for c in WARNING_CASES], ids=[c[0] for c in WARNING_CASES]
)
def test_warning(tmp_path, build, kind, phrase):
    report = doctor.check(cfg(**build(tmp_path)))
    assert not report.errors, report.format()
    matching = [w for w in report.warnings if w.kind == kind]
    assert matching, report.format()
    assert phrase in matching[0].message, matching[0].message
    assert matching[0].severity == "warning" and matching[0].fix
    assert "WARNING" in report.format()


@pytest.mark.parametrize("problem_type", [SLC, MLC, REG])
def test_clean_data_has_no_issue(tmp_path, problem_type):
    report = doctor.check(cfg(**three_files(tmp_path, problem_type)))
    assert report.ok and not report.warnings, report.format()
    assert report.format() == "0 errors, 0 warnings. Splits: train 24, validation 6, test 6."


# ---------------------------------------------------------------------------------------------
# Report mechanics


def test_many_rows_with_one_problem_do_not_flood(tmp_path):
    train = rows_for(SLC, 100, 1)
    for r in train:
        r[1] = "x"
    report = doctor.check(cfg(**three_files(tmp_path, train=train)))
    bad = [e for e in report.errors if e.kind == "bad_label"]
    assert [e.row for e in bad] == [1, 2, 3, 4, 5, None]
    assert bad[-1].message == "... and 95 more rows with the same problem"
    assert bad[-1].count == 95
    assert report.n_errors == 100
    assert report.format().count("\n") == len(report.errors) + len(report.warnings)
    assert report.summary().startswith("100 errors")


def test_issue_format():
    issue = Issue("error", "label is not a number", "data/train.csv", 3, "label", "abc", "use a number")
    assert issue.format() == (
        "ERROR data/train.csv row 3, column label: label is not a number (value 'abc'). Fix: use a number."
    )
    assert Issue("warning", "no test split.").format() == "WARNING: no test split."
    assert Issue("error", "x", file="f.csv").format() == "ERROR f.csv: x."
    assert Issue("error", "Did you mean 'a'?", fix="did you mean 'b'?").format() == (
        "ERROR: Did you mean 'a'? Fix: did you mean 'b'?"
    )
    long = Issue("error", "m", value="A" * 100).format()
    assert "…" in long and len(long) < 80


def test_report_serialises_and_formats_errors_only():
    report = Report()
    report.error("bad", file="a.csv", row=1, column="label", kind="bad_label")
    report.warning("meh", kind="no_test")
    d = json.loads(json.dumps(report.to_dict()))
    assert d["ok"] is False and d["errors"][0]["row"] == 1 and d["warnings"][0]["kind"] == "no_test"
    assert report.format_errors() == "The data has 1 error:\nERROR a.csv row 1, column label: bad."


# ---------------------------------------------------------------------------------------------
# Statistics for the Dataset page


def test_stats_for_classification(tmp_path):
    long_seq = "M" + "A" * 99
    train = [[long_seq, "1"], *rows_for(SLC, 23, 1)]
    report = doctor.check(cfg(**three_files(tmp_path, train=train)))
    stats = json.loads(json.dumps(report.stats))  # JSON-serialisable
    assert stats["problem_type"] == SLC and stats["num_labels"] == 2
    assert set(stats["sources"]) == {"train", "validation", "test"}
    tr = stats["splits"]["train"]
    assert tr["n"] == 24 and len(tr["lengths"]) == 24
    assert tr["length_max"] == 100 and tr["length_min"] >= 9
    assert tr["columns"] == ["aa_seq", "label"]
    assert tr["labels"] == {"0": 12, "1": 12}
    assert sum(stats["splits"]["test"]["labels"].values()) == 6
    first = tr["sample_rows"][0]
    assert first == {"row": 1, "aa_seq": long_seq[:60] + "…", "label": "1"}
    assert len(tr["sample_rows"]) == 5


def test_stats_for_multi_label_and_regression(tmp_path):
    report = doctor.check(cfg(**three_files(tmp_path, MLC)))
    assert report.stats["splits"]["train"]["labels"] == {"0": 8, "1": 16, "2": 16}
    report = doctor.check(cfg(**three_files(tmp_path / ".." / tmp_path.name, REG), normalize="standard"))
    hist = report.stats["splits"]["train"]["labels"]
    assert len(hist["edges"]) == 21 and sum(hist["counts"]) == 24
    assert hist["min"] == -3.0 and hist["max"] == 8.5  # label units, not normalised ones
    assert report.stats["normalization"]["method"] == "standard"


def test_stats_lengths_are_sampled_and_seeded(tmp_path, monkeypatch):
    monkeypatch.setattr(overview, "MAX_STATS_LENGTHS", 10)
    c = cfg(**three_files(tmp_path))
    a, b = doctor.check(c).stats, doctor.check(c).stats
    assert len(a["splits"]["train"]["lengths"]) == 10
    assert a["splits"]["train"]["lengths"] == b["splits"]["train"]["lengths"]
    assert a["splits"]["train"]["n"] == 24


def test_stats_survive_errors(tmp_path):
    train = rows_for(SLC, 24, 1)
    train[0][1] = "oops"
    report = doctor.check(cfg(**three_files(tmp_path, train=train)))
    assert report.errors
    assert report.stats["splits"]["train"]["n"] == 24
    assert sum(report.stats["splits"]["train"]["labels"].values()) == 23


def test_demo_dataset_checks_clean_if_fetched(tmp_path):
    from venus_core import assets

    if not (assets.demo_dataset_dir("Demo_AMP") / "train.csv").exists():
        pytest.skip("demo assets not fetched")
    report = doctor.check(cfg(dataset="Demo_AMP", output_dir=str(tmp_path)))  # its leakage cache
    assert report.ok, report.format()
    assert report.stats["num_labels"] == 2


# ---------------------------------------------------------------------------------------------
# The CLI


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "venus_core", "check", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_cli_exits_1_on_errors_without_traceback(tmp_path):
    train = rows_for(SLC, 24, 1)
    train[2][0] = "MK-V"
    files = three_files(tmp_path, train=train)
    proc = run_cli(
        "--train_file",
        files["train_file"],
        "--valid_file",
        files["valid_file"],
        "--test_file",
        files["test_file"],
        "--problem_type",
        SLC,
        "--num_labels",
        "2",
    )
    assert proc.returncode == 1, proc.stderr
    assert "ERROR" in proc.stdout and "row 3, column aa_seq: character '-' at position 3" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_cli_exits_0_with_warnings_and_accepts_training_flags(tmp_path):
    path = write(tmp_path / "all.csv", rows_for(REG, 40, 1))
    proc = run_cli(
        "--train_file",
        path,
        "--problem_type",
        REG,
        "--num_labels",
        "1",
        "--learning_rate",
        "1e-3",
        "--lora_r",
        "4",
        "--batch_token",
        "2000",
        "--training_method",
        "plm-lora",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" in proc.stdout and "ERROR" not in proc.stdout
    assert "Splits: train 32, validation 4, test 4." in proc.stdout


def test_cli_json_and_config_errors(tmp_path):
    files = three_files(tmp_path)
    proc = run_cli("--train_file", files["train_file"], "--problem_type", REG, "--num_labels", "3", "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["ok"] is False
    assert any("num_labels must be 1" in e["message"] for e in report["errors"])
    assert "Traceback" not in proc.stderr


def test_cli_missing_file_is_an_error_line(tmp_path):
    proc = run_cli("--train_file", str(tmp_path / "nope.csv"), "--problem_type", SLC)
    assert proc.returncode == 1
    assert proc.stdout.startswith("ERROR ") and "does not exist" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_gzip_csv_is_read(tmp_path):
    p = tmp_path / "train.csv.gz"
    p.write_bytes(
        gzip.compress(
            pd.DataFrame(rows_for(SLC, 24, 1), columns=["aa_seq", "label"]).to_csv(index=False).encode()
        )
    )
    report = doctor.check(cfg(**{**three_files(tmp_path), "train_file": str(p)}))
    assert report.ok, report.format()
