"""Loading data: file formats, folders, hub datasets, automatic splits, labels, normalisation."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from venus_core import data
from venus_core.config import RunConfig
from venus_core.data import LabelCodec
from venus_core.errors import VenusError

SLC = "single_label_classification"
MLC = "multi_label_classification"
REG = "regression"
AA = "ACDEFGHIKLMNPQRSTVWY"


def seqs(n: int, seed: int = 0) -> list[str]:
    """n distinct random protein sequences."""
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        out.add("M" + "".join(rng.choice(AA) for _ in range(rng.randint(8, 40))))
    return sorted(out)


def write_csv(path: Path, rows: list[tuple], header: tuple = ("aa_seq", "label"), sep: str = ",") -> Path:
    pd.DataFrame(rows, columns=list(header)).to_csv(path, index=False, sep=sep)
    return path


def cfg(**kw) -> RunConfig:
    return RunConfig().with_values(**kw)


def classification_rows(n: int, seed: int = 0, classes: int = 2) -> list[tuple]:
    return [(s, str(i % classes)) for i, s in enumerate(seqs(n, seed))]


def split_files(tmp_path: Path, n=(40, 10, 10), classes: int = 2) -> dict[str, str]:
    """train/validation/test CSVs with distinct sequences; returns config kwargs."""
    all_seqs = seqs(sum(n))
    out, start = {}, 0
    for key, size in zip(("train_file", "valid_file", "test_file"), n, strict=True):
        rows = [(s, str(i % classes)) for i, s in enumerate(all_seqs[start : start + size])]
        out[key] = str(write_csv(tmp_path / f"{key}.csv", rows))
        start += size
    return out


# ---------------------------------------------------------------------------------------------
# File formats


def _write_all_formats(tmp_path: Path, df: pd.DataFrame) -> list[Path]:
    paths = []
    p = tmp_path / "t.csv"
    df.to_csv(p, index=False)
    paths.append(p)
    p = tmp_path / "t.tsv"
    df.to_csv(p, index=False, sep="\t")
    paths.append(p)
    p = tmp_path / "t.tab"
    df.to_csv(p, index=False, sep="\t")
    paths.append(p)
    p = tmp_path / "t.parquet"
    df.to_parquet(p)
    paths.append(p)
    p = tmp_path / "t.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in df.to_dict("records")) + "\n")
    paths.append(p)
    p = tmp_path / "t.json"  # a JSON array of records also works
    p.write_text(json.dumps(df.to_dict("records")))
    paths.append(p)
    p = tmp_path / "t.csv.gz"
    p.write_bytes(gzip.compress(df.to_csv(index=False).encode()))
    paths.append(p)
    return paths


def test_every_supported_format_gives_the_same_data(tmp_path):
    df = pd.DataFrame({"aa_seq": seqs(30), "label": [str(i % 3) for i in range(30)]})
    results = []
    for path in _write_all_formats(tmp_path, df):
        task = data.load_data(cfg(train_file=str(path), problem_type=SLC, num_labels=3))
        results.append({k: (v["aa_seq"].tolist(), v["target"].tolist()) for k, v in task.splits.items()})
        assert task.sources["train"] == str(path)
    assert all(r == results[0] for r in results)


def test_csv_values_are_not_mangled(tmp_path):
    # "NA" is a valid sequence (Asn-Ala) and "1,2" a multi-label label: neither may become NaN/split.
    path = tmp_path / "t.csv"
    path.write_text('aa_seq,label\nNA,"1,2"\nMKV,"0"\nMKT,"[0, 2]"\nMKW,1\n')
    raw = data.load_raw(cfg(train_file=str(path), problem_type=MLC, split_ratios="0.5,0.25,0.25"))
    frames = pd.concat(raw.splits.values())
    assert "NA" in set(frames["aa_seq"])
    assert "1,2" in set(frames["label"])
    task = data.load_data(
        cfg(train_file=str(path), valid_file=str(path), test_file=str(path), problem_type=MLC, num_labels=3)
    )
    assert task.splits["train"]["target"].tolist() == [(1, 2), (0,), (0, 2), (1,)]
    assert task.splits["train"]["label"].tolist() == ["1,2", "0", "[0, 2]", "1"]


def test_load_raw_reads_as_is_and_numbers_rows(tmp_path):
    path = write_csv(tmp_path / "t.csv", [("mk t", "1.0"), ("ACD", "0")], header=("seq", "y"))
    c = cfg(
        train_file=str(path),
        valid_file=str(path),
        test_file=str(path),
        sequence_column_name="seq",
        label_column_name="y",
        problem_type=SLC,
        num_labels=2,
    )
    raw = data.load_raw(c)
    assert raw.splits["train"]["aa_seq"].tolist() == ["mk t", "ACD"]
    assert raw.splits["train"]["label"].tolist() == ["1.0", "0"]
    assert raw.splits["train"]["row"].tolist() == [1, 2]
    assert raw.columns["train"] == ["seq", "y"]
    task = data.load_data(c)
    df = task.splits["train"]
    assert df["aa_seq"].tolist() == ["MKT", "ACD"]
    assert df["label"].tolist() == ["1.0", "0"]
    assert df["target"].tolist() == [1, 0]
    assert set(df.columns) == {"aa_seq", "label", "target", "row"}


def test_utf8_bom_and_utf16_are_read(tmp_path):
    text = "aa_seq,label\nMKT,0\nACD,1\n"
    for name, raw_bytes in (("bom.csv", b"\xef\xbb\xbf" + text.encode()), ("u16.csv", text.encode("utf-16"))):
        p = tmp_path / name
        p.write_bytes(raw_bytes)
        task = data.load_data(cfg(train_file=str(p), valid_file=str(p), test_file=str(p), problem_type=SLC))
        assert task.splits["train"]["aa_seq"].tolist() == ["MKT", "ACD"]


def test_load_data_raises_one_error_listing_the_problems(tmp_path):
    path = write_csv(tmp_path / "t.csv", [("MKT", "x"), ("MK1", "0")])
    with pytest.raises(VenusError) as e:
        data.load_data(cfg(train_file=str(path), valid_file=str(path), test_file=str(path), problem_type=SLC))
    text = str(e.value)
    assert "row 1, column label" in text and "row 2, column aa_seq" in text
    with pytest.raises(VenusError, match="does not exist"):
        data.load_raw(cfg(train_file=str(tmp_path / "missing.csv"), problem_type=SLC))


# ---------------------------------------------------------------------------------------------
# Folders and the hub


@pytest.mark.parametrize("val_name", ["validation", "valid", "dev", "eval"])
def test_local_folder_with_split_files(tmp_path, val_name):
    s = seqs(30)
    write_csv(tmp_path / "train.csv", [(x, i % 2) for i, x in enumerate(s[:20])])
    write_csv(tmp_path / f"{val_name}.tsv", [(x, i % 2) for i, x in enumerate(s[20:25])], sep="\t")
    pd.DataFrame({"aa_seq": s[25:], "label": [0, 1, 0, 1, 1]}).to_parquet(tmp_path / "test.parquet")
    (tmp_path / "label_names.json").write_text(json.dumps({"0": "no", "1": "yes"}))
    task, report = data.prepare(cfg(dataset=str(tmp_path), problem_type=SLC, num_labels=2))
    assert task is not None, report.format()
    assert task.sizes == {"train": 20, "validation": 5, "test": 5}
    assert task.sources["validation"].endswith(f"{val_name}.tsv")
    assert task.label_names == ["no", "yes"]
    assert not task.derived


def test_a_single_file_as_dataset_is_the_train_file(tmp_path):
    path = write_csv(tmp_path / "mine.tsv", classification_rows(50), sep="\t")
    task, report = data.prepare(cfg(dataset=str(path), problem_type=SLC, num_labels=2))
    assert task is not None, report.format()
    assert task.sizes == {"train": 40, "validation": 5, "test": 5}
    assert set(task.sources.values()) == {str(path)}


def test_local_hub_layout_folder_loads_through_datasets(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "ds"
    (folder / "data").mkdir(parents=True)
    s = seqs(30)
    for name, part in (("train", s[:20]), ("validation", s[20:25]), ("test", s[25:])):
        df = pd.DataFrame({"aa_seq": part, "label": [i % 2 for i in range(len(part))]})
        df.to_parquet(folder / "data" / f"{name}-00000-of-00001.parquet")
    task, report = data.prepare(cfg(dataset=str(folder), problem_type=SLC, num_labels=2))
    assert task is not None, report.format()
    assert task.sizes == {"train": 20, "validation": 5, "test": 5}
    assert task.sources["test"] == f"{folder}[test]"
    assert task.splits["train"]["aa_seq"].tolist() == s[:20]


def test_hub_id_is_loaded_with_datasets(monkeypatch):
    import datasets

    s = seqs(12)
    calls = []

    def fake_load_dataset(path, *args, **kwargs):
        calls.append(path)
        feats = datasets.Features(
            {"sequence": datasets.Value("string"), "label": datasets.ClassLabel(names=["a", "b"])}
        )
        return datasets.DatasetDict(
            {
                "train": datasets.Dataset.from_dict({"sequence": s[:8], "label": [0, 1] * 4}, features=feats),
                "valid": datasets.Dataset.from_dict({"sequence": s[8:10], "label": [0, 1]}, features=feats),
                "test": datasets.Dataset.from_dict({"sequence": s[10:], "label": [1, 0]}, features=feats),
            }
        )

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    c = cfg(dataset="someone/my_dataset", problem_type=SLC, num_labels=2, sequence_column_name="sequence")
    task, report = data.prepare(c)
    assert calls == ["someone/my_dataset"]
    assert task is not None, report.format()
    assert task.sizes == {"train": 8, "validation": 2, "test": 2}
    assert task.sources["validation"] == "someone/my_dataset[valid]"
    assert task.label_names == ["a", "b"]
    assert task.splits["test"]["target"].tolist() == [1, 0]


def test_unreachable_hub_is_a_clear_error(monkeypatch):
    import datasets

    def offline(path, *args, **kwargs):
        raise ConnectionError("Couldn't reach 'someone/x' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    task, report = data.prepare(cfg(dataset="someone/x", problem_type=SLC, num_labels=2))
    assert task is None
    (issue,) = report.errors
    assert issue.kind == "hub_unreachable"
    assert "could not be reached or the dataset was not found" in issue.message
    assert "Couldn't reach 'someone/x'" in issue.message  # the original error is kept
    assert "local folder" in issue.fix and "Demo_AMP" in issue.fix


# ---------------------------------------------------------------------------------------------
# Automatic splits


def _one_file(tmp_path: Path, n: int = 200, classes: int = 2, weights=None) -> str:
    rng = random.Random(5)
    labels = [rng.choices(range(classes), weights=weights)[0] for _ in range(n)]
    return str(write_csv(tmp_path / "all.csv", list(zip(seqs(n), labels, strict=True))))


def test_auto_split_sizes_seeded_stratified_disjoint(tmp_path):
    path = _one_file(tmp_path, n=500, classes=3, weights=[0.7, 0.2, 0.1])
    c = cfg(train_file=path, problem_type=SLC, num_labels=3)
    task, report = data.prepare(c)
    assert task is not None, report.format()
    assert task.sizes == {"train": 400, "validation": 50, "test": 50}
    rows = {k: set(v["row"]) for k, v in task.splits.items()}
    assert rows["train"] | rows["validation"] | rows["test"] == set(range(1, 501))
    assert not (
        rows["train"] & rows["validation"]
        or rows["train"] & rows["test"]
        or rows["validation"] & rows["test"]
    )
    # stratified: each split has the class proportions of the whole file (within one row)
    whole = pd.concat(task.splits.values())["target"].value_counts(normalize=True)
    for name, df in task.splits.items():
        counts = df["target"].value_counts()
        for k, frac in whole.items():
            assert abs(counts.get(k, 0) - frac * len(df)) <= 1, (name, k)
    # seeded: same seed, same split; another seed, another split
    again = data.load_data(c)
    assert all(again.splits[k]["row"].tolist() == task.splits[k]["row"].tolist() for k in task.splits)
    other = data.load_data(c.with_values(seed=1))
    assert other.splits["test"]["row"].tolist() != task.splits["test"]["row"].tolist()
    kinds = [w.kind for w in report.warnings]
    assert kinds.count("derived_split") == 2
    assert any("seed 42" in w.message and "0.8/0.1/0.1" in w.message for w in report.warnings)


def test_auto_split_follows_split_ratios(tmp_path):
    path = _one_file(tmp_path, n=100)
    task = data.load_data(cfg(train_file=path, problem_type=SLC, split_ratios="0.6,0.3,0.1"))
    assert task.sizes == {"train": 60, "validation": 30, "test": 10}
    task, report = data.prepare(cfg(train_file=path, problem_type=SLC, split_ratios="0.9,0.1,0"))
    assert task.sizes == {"train": 90, "validation": 10}
    assert "no_test" in [w.kind for w in report.warnings]


def test_auto_split_unstratified_when_a_class_has_one_row(tmp_path):
    rows = [(s, "0" if i else "1") for i, s in enumerate(seqs(50))]  # class 1 has a single row
    path = write_csv(tmp_path / "t.csv", rows)
    task, report = data.prepare(cfg(train_file=str(path), problem_type=SLC, num_labels=2))
    assert task is not None
    assert sum(task.sizes.values()) == 50
    assert "unstratified" in [w.kind for w in report.warnings]


def test_regression_split_is_random_and_seeded(tmp_path):
    path = write_csv(tmp_path / "t.csv", [(s, str(i / 10)) for i, s in enumerate(seqs(60))])
    a = data.load_data(cfg(train_file=str(path), problem_type=REG))
    b = data.load_data(cfg(train_file=str(path), problem_type=REG))
    assert a.sizes == {"train": 48, "validation": 6, "test": 6}
    assert a.splits["validation"]["row"].tolist() == b.splits["validation"]["row"].tolist()


def test_train_and_test_without_validation_carves_validation_from_train(tmp_path):
    files = split_files(tmp_path, n=(90, 0, 20))
    del files["valid_file"]
    task, report = data.prepare(cfg(**files, problem_type=SLC, num_labels=2))
    assert task is not None, report.format()
    # 0.1 / (0.8 + 0.1) of the 90 train rows
    assert task.sizes == {"train": 80, "validation": 10, "test": 20}
    assert set(task.splits["validation"]["aa_seq"]).isdisjoint(task.splits["train"]["aa_seq"])
    assert task.sources["test"] == files["test_file"]
    assert task.sources["validation"] == files["train_file"]
    assert "validation" in task.derived
    warning = next(w for w in report.warnings if w.kind == "derived_split")
    assert "validation" in warning.message and "seed 42" in warning.message


def test_train_and_validation_without_test_never_tests_on_validation(tmp_path):
    files = split_files(tmp_path)
    del files["test_file"]
    task, report = data.prepare(cfg(**files, problem_type=SLC, num_labels=2))
    assert task is not None
    assert set(task.splits) == {"train", "validation"}
    assert task.sizes == {"train": 40, "validation": 10}
    assert "no_test" in [w.kind for w in report.warnings]


def test_unreadable_validation_file_is_not_replaced_by_a_derived_split(tmp_path):
    files = split_files(tmp_path)
    files["valid_file"] = str(tmp_path / "nope.csv")
    task, report = data.prepare(cfg(**files, problem_type=SLC, num_labels=2))
    assert task is None
    assert [e.kind for e in report.errors] == ["file_not_found"]
    assert "derived_split" not in [w.kind for w in report.warnings]


# ---------------------------------------------------------------------------------------------
# Labels, targets, normalisation


def test_targets_per_problem_type(tmp_path):
    s = seqs(4)
    slc = write_csv(tmp_path / "slc.csv", [(s[0], "1"), (s[1], "0.0"), (s[2], "2"), (s[3], "1")])
    task = data.load_data(cfg(train_file=str(slc), valid_file=str(slc), test_file=str(slc), problem_type=SLC))
    t = task.targets("train")
    assert t.dtype == np.int64 and t.tolist() == [1, 0, 2, 1]
    assert task.num_labels == 3  # inferred

    mlc = write_csv(tmp_path / "mlc.csv", [(s[0], "0,2"), (s[1], "[1]"), (s[2], "2, 0"), (s[3], "1,1")])
    task = data.load_data(
        cfg(train_file=str(mlc), valid_file=str(mlc), test_file=str(mlc), problem_type=MLC, num_labels=4)
    )
    hot = task.targets("test")
    assert hot.dtype == np.float32 and hot.shape == (4, 4)
    assert hot.tolist() == [[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0]]

    reg = write_csv(tmp_path / "reg.csv", [(s[0], "0.5"), (s[1], "-1.25"), (s[2], "1e2"), (s[3], " 3 ")])
    task = data.load_data(cfg(train_file=str(reg), valid_file=str(reg), test_file=str(reg), problem_type=REG))
    y = task.targets("validation")
    assert y.dtype == np.float32 and y.tolist() == [0.5, -1.25, 100.0, 3.0]
    assert task.num_labels == 1


@pytest.mark.parametrize("method", ["standard", "min_max"])
def test_normalisation_uses_train_only_and_round_trips(tmp_path, method):
    s = seqs(12)
    train = write_csv(
        tmp_path / "train.csv", [(x, str(v)) for x, v in zip(s[:6], [1, 2, 3, 4, 5, 9], strict=True)]
    )
    valid = write_csv(tmp_path / "valid.csv", [(s[6], "100"), (s[7], "-50"), (s[8], "7")])
    test = write_csv(tmp_path / "test.csv", [(s[9], "1000"), (s[10], "2"), (s[11], "3")])
    c = cfg(
        train_file=str(train), valid_file=str(valid), test_file=str(test), problem_type=REG, normalize=method
    )
    task = data.load_data(c)
    y = np.array([1, 2, 3, 4, 5, 9], dtype=np.float64)
    if method == "standard":
        assert task.normalization == {"method": "standard", "mean": y.mean(), "std": y.std()}
        assert task.targets("train").mean() == pytest.approx(0, abs=1e-6)
    else:
        assert task.normalization == {"method": "min_max", "min": 1.0, "max": 9.0}
        assert task.targets("train").min() == 0 and task.targets("train").max() == 1
    x = np.array([-3.5, 0.0, 1.0, 42.0, 1e4])
    np.testing.assert_allclose(task.denormalize(task.normalize_values(x)), x)
    np.testing.assert_allclose(task.targets("test", normalized=False), [1000, 2, 3], rtol=1e-6)
    # the codec rebuilt from the saved metadata gives the same round trip
    saved = json.loads(json.dumps(task.to_dict()))
    codec = LabelCodec.from_dict(saved)
    np.testing.assert_allclose(codec.denormalize(task.targets("validation")), [100, -50, 7], rtol=1e-6)
    assert codec == task.codec


def test_constant_labels_cannot_be_normalised(tmp_path):
    path = write_csv(tmp_path / "t.csv", [(s, "2.5") for s in seqs(5)])
    task, report = data.prepare(
        cfg(
            train_file=str(path),
            valid_file=str(path),
            test_file=str(path),
            problem_type=REG,
            normalize="standard",
        )
    )
    assert task is None
    assert report.errors[0].kind == "constant_labels"
    assert "all train labels are equal" in report.errors[0].message


def test_to_dict_is_json_and_codec_parses_labels(tmp_path):
    files = split_files(tmp_path, classes=3)
    task = data.load_data(cfg(**files, problem_type=SLC, num_labels=3))
    d = json.loads(json.dumps(task.to_dict()))
    assert d["problem_type"] == SLC and d["num_labels"] == 3 and d["normalization"] is None
    assert d["sizes"] == {"train": 40, "validation": 10, "test": 10}
    codec = LabelCodec.from_dict(d)
    assert codec.parse("2") == 2 and codec.parse("1.0") == 1
    with pytest.raises(ValueError, match="outside 0..2"):
        codec.parse("3")
    with pytest.raises(ValueError, match="not an integer"):
        codec.parse("cat")


def test_eval_file_uses_the_run_codec(tmp_path):
    s = seqs(3)
    path = write_csv(tmp_path / "eval.csv", [(s[0], "10"), (s[1], "20"), (s[2], "30")])
    codec = LabelCodec(REG, 1, None, {"method": "standard", "mean": 10.0, "std": 5.0})
    task = data.load_eval_data(cfg(problem_type=REG), path, codec)
    assert list(task.splits) == ["test"]
    np.testing.assert_allclose(task.targets("test"), [0, 2, 4])
    np.testing.assert_allclose(task.targets("test", normalized=False), [10, 20, 30])
    bad = write_csv(tmp_path / "bad.csv", [(s[0], "x")])
    with pytest.raises(VenusError, match="row 1, column label"):
        data.load_eval_data(cfg(problem_type=REG), bad, codec)


@pytest.mark.parametrize(
    ("value", "problem_type", "expected"),
    [
        ("1", SLC, 1),
        ("1.0", SLC, 1),
        (" 2 ", SLC, 2),
        (np.int64(3), SLC, 3),
        (4.0, SLC, 4),
        ("0,3,7", MLC, (0, 3, 7)),
        ("[7, 3]", MLC, (3, 7)),
        ("5", MLC, (5,)),
        (np.array([2, 1]), MLC, (1, 2)),
        ("[]", MLC, ()),
        ("-1.5", REG, -1.5),
        ("1e-3", REG, 0.001),
        (2, REG, 2.0),
    ],
)
def test_parse_label_accepts(value, problem_type, expected):
    assert data.parse_label(value, problem_type) == (expected, None)


@pytest.mark.parametrize(
    ("value", "problem_type", "phrase"),
    [
        ("", SLC, "missing"),
        (None, REG, "missing"),
        (float("nan"), REG, "missing"),
        ("1.5", SLC, "not an integer"),
        ("one", SLC, "not an integer"),
        ("a,b", MLC, "not a list"),
        ("1,,2", MLC, "not a list"),
        ("[1, 2", MLC, "not a list"),
        ("nan", REG, "not a finite"),
        ("-inf", REG, "not a finite"),
        ("high", REG, "not a number"),
    ],
)
def test_parse_label_rejects(value, problem_type, phrase):
    target, problem = data.parse_label(value, problem_type)
    assert target is None and phrase in problem


# ---------------------------------------------------------------------------------------------
# Prediction input


def test_read_sequences_file_table_and_fasta(tmp_path):
    csv = write_csv(tmp_path / "in.csv", [("p1", "mkt a"), ("p2", "ACD")], header=("name", "sequence"))
    df = data.read_sequences_file(csv, "sequence")
    assert df["aa_seq"].tolist() == ["MKTA", "ACD"]
    assert df["name"].tolist() == ["p1", "p2"] and df["row"].tolist() == [1, 2]

    fasta = tmp_path / "in.fasta"
    fasta.write_text(">sp|P1|A first protein\nMKT\nacd\n\n>P2\nWWW\n")
    df = data.read_sequences_file(fasta)
    assert df["id"].tolist() == ["sp|P1|A", "P2"]
    assert df["aa_seq"].tolist() == ["MKTACD", "WWW"]

    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nMKT\n>b\nMK-T\n")
    with pytest.raises(VenusError, match=r"row 2, column aa_seq: character '-' at position 3"):
        data.read_sequences_file(bad)
    with pytest.raises(VenusError, match="no sequence column 'aa_seq'.*did you mean 'sequence'"):
        data.read_sequences_file(csv)
    with pytest.raises(VenusError, match="does not exist"):
        data.read_sequences_file(tmp_path / "nothing.csv")


def test_clean_sequence_is_the_one_rule():
    assert data.clean_sequence(" mk\tT a\n") == "MKTA"
    assert data.clean_sequence(None) == ""
    assert data.first_bad_residue("MKT*") == (4, "*")
    assert data.first_bad_residue("MKTXBZUO") is None
