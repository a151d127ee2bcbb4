"""Browsing and split shift (venus_core.explore, venus_core.split_shift) on tiny data."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import write_toy_dataset

from venus_core import explore, split_shift
from venus_core.config import RunConfig
from venus_core.data import prepare
from venus_core.errors import VenusError
from venus_core.explore import Explorer, Query

SEQS = ["MKKLLAC", "ACDEFGHIK", "NQSTWNPTY", "CAACAAAC", "KKLLKKLL", "MNVSAW"]


def load(folder, problem_type="single_label_classification", **over):
    cfg = RunConfig().with_values(dataset=str(folder), problem_type=problem_type, **over)
    task, report = prepare(cfg)
    assert task is not None, report.format_errors()
    return task, report


@pytest.fixture
def named(tmp_path):
    """Six known sequences with an id column, labels 0/1/2 (train), plus small validation/test."""
    folder = tmp_path / "named"
    folder.mkdir()
    pd.DataFrame(
        {"Name": [f"P{i:03d}" for i in range(6)], "aa_seq": SEQS, "label": [0, 1, 2, 0, 1, 2]}
    ).to_csv(folder / "train.csv", index=False)
    for split, seqs in (("validation", ["MKKA", "CCCC"]), ("test", ["WWWWK", "AAAAAAAAAAAA"])):
        pd.DataFrame({"Name": ["v1", "v2"], "aa_seq": seqs, "label": [1, 0]}).to_csv(
            folder / f"{split}.csv", index=False
        )
    task, report = load(folder)
    columns = {s: e["columns"] for s, e in report.stats["splits"].items()}
    return Explorer(task, explore.read_ids(task, columns, "aa_seq"))


def rows(ex: Explorer, **query) -> list[int]:
    m = ex.matches(Query(query.pop("split", "train"), **query))
    return [int(r) for r in ex.table(m.query.split)["row"].to_numpy()[m.positions]]


def test_search_by_id_row_subsequence_and_motif(named):
    assert named.has_ids and named.table("train")["id"].tolist()[:2] == ["P000", "P001"]
    assert rows(named, search="KKLL") == [1, 5]  # subsequence
    assert rows(named, search="kkll") == [1, 5]  # residues in any case
    assert rows(named, search="P004") == [5]  # id column
    assert rows(named, search="3") == [3, 4]  # the source file's row 3, and P003 (row 4)
    assert rows(named, search="N[^P][ST]") == [3, 6]  # regular expression: N-glycosylation site
    assert rows(named, search="C-x(2)-C") == [4]  # PROSITE: C..C
    m = named.matches(Query("train", search="C-x(2)-C"))
    assert m.search_kind == "motif"
    assert named.record("train", m.positions[0], m.pattern)["hits"] == [1]
    with pytest.raises(VenusError, match="not a valid pattern"):
        named.matches(Query("train", search="N[ST"))
    with pytest.raises(VenusError, match="No split 'dev' in this dataset; it has train"):
        named.matches(Query("dev"))
    with pytest.raises(VenusError, match="Cannot sort by 'mass'; choose one of row, length"):
        named.matches(Query("train", sort="mass"))


def test_prosite_patterns():
    assert explore.prosite_to_regex("C-x(2,4)-[ST]-{P}-x") == "C.{2,4}[ST][^P]."
    assert explore.prosite_to_regex("<M-x-K>") == "^M.K$"
    assert explore.prosite_to_regex("KKLL") is None  # plain text is a subsequence
    assert explore.prosite_to_regex("not-a-pattern") is None
    assert explore.motif_regex("N[^P][ST]").search("ANQSA")


def test_filters_sort_and_pages(named):
    assert rows(named, labels=(1,)) == [2, 5]
    assert rows(named, labels=(0, 2)) == [1, 3, 4, 6]
    assert rows(named, length_range=(8, 9)) == [2, 3, 4, 5]
    assert rows(named, sort="length") == [6, 1, 4, 5, 2, 3]  # ties keep file order
    assert rows(named, sort="length", descending=True) == [2, 3, 4, 5, 1, 6]
    assert rows(named, sort="label", descending=True) == [3, 6, 2, 5, 1, 4]
    assert rows(named, split="test", sort="row", descending=True) == [2, 1]
    m = named.matches(Query("train"))
    assert named.matches(Query("train")) is m  # a repeated query (turning pages) is not recomputed
    assert m.pages(4) == 2
    page = named.page(m, 2, size=4)
    assert page["row"].tolist() == [5, 6] and list(page.columns) == [
        "position",
        "row",
        "id",
        "length",
        "label",
        "sequence",
    ]
    assert named.page(m, 99, size=4)["row"].tolist() == [5, 6]  # past the end: the last page
    assert len(named.page(m, 1, size=10**6)) == 6  # bounded by MAX_PAGE_SIZE anyway
    csv = named.rows_csv(named.matches(Query("train", labels=(2,)))).decode()
    assert csv.splitlines() == ["row,id,length,label,aa_seq", "3,P002,9,2,NQSTWNPTY", "6,P005,6,2,MNVSAW"]


def test_rows_csv_neutralises_formulas_from_the_file(tmp_path):
    folder = tmp_path / "formula"
    folder.mkdir()
    pd.DataFrame({"Name": ["=HYPERLINK(1)", "P1"], "aa_seq": ["MKTAYIAK", "MNVSAW"], "label": [0, 1]}).to_csv(
        folder / "train.csv", index=False
    )
    for split in ("validation", "test"):
        pd.DataFrame({"Name": ["v1"], "aa_seq": ["MKKA"], "label": [1]}).to_csv(
            folder / f"{split}.csv", index=False
        )
    task, report = load(folder)
    columns = {s: e["columns"] for s, e in report.stats["splits"].items()}
    ex = Explorer(task, explore.read_ids(task, columns, "aa_seq"))
    csv = ex.rows_csv(ex.matches(Query("train"))).decode()
    assert "'=HYPERLINK(1)" in csv and "\n=HYPERLINK" not in csv


def test_long_sequences_are_cut_in_the_table_only(tmp_path):
    folder = tmp_path / "long"
    folder.mkdir()
    seq = "ACDEFGHIKLMNPQRSTVWY" * 10
    for split in ("train", "validation", "test"):
        pd.DataFrame({"aa_seq": [seq, "MKV"], "label": [0, 1]}).to_csv(folder / f"{split}.csv", index=False)
    ex = Explorer(load(folder)[0])
    page = ex.page(ex.matches(Query("train")), 1)
    assert "id" not in page.columns  # no id column in the files: rows are named by split and row
    assert page["sequence"][0] == seq[: explore.SHOWN_SEQ_CHARS] + "…"
    assert ex.record("train", 0)["aa_seq"] == seq and ex.record("train", 0)["id"] == "train:1"
    assert rows(ex, search="train:2") == [2]


@pytest.mark.parametrize("problem_type", ["regression", "multi_label_classification"])
def test_other_problem_types(tmp_path, problem_type):
    ex = Explorer(load(write_toy_dataset(tmp_path / "d", problem_type, 40, 12), problem_type)[0])
    t = ex.table("train")
    if problem_type == "regression":
        lo, hi = ex.value_bounds()
        mid = (lo + hi) / 2
        got = t["value"].to_numpy()[ex.matches(Query("train", value_range=(lo, mid))).positions]
        assert len(got) and (got <= mid).all()
        order = t["value"].to_numpy()[ex.matches(Query("train", sort="label")).positions]
        assert (np.diff(order) >= 0).all()
        assert ex.classes() == []
    else:
        got = t["classes"].to_numpy()[ex.matches(Query("train", labels=(2,))).positions]
        assert len(got) and all(2 in c for c in got)
        assert ex.classes() == [0, 1, 2]


def test_split_shift_views(named):
    lengths = split_shift.length_bins(named)
    assert lengths[["train", "validation", "test"]].sum().round(6).tolist() == [100.0, 100.0, 100.0]
    assert (lengths["end"] >= lengths["start"]).all()
    labels = split_shift.label_shares(named)
    assert labels["train"].round(3).tolist() == [33.333, 33.333, 33.333]
    assert labels["validation"].tolist() == [50.0, 50.0, 0.0]
    comp = split_shift.composition(named)
    assert list(comp.index) == ["train", "validation", "test"]
    assert comp.sum(axis=1).round(6).tolist() == [100.0, 100.0, 100.0]
    assert comp.loc["validation", "C"] == pytest.approx(50.0)  # MKKA + CCCC
    assert split_shift.composition(named) is comp  # computed once per dataset
    leak = {"threshold": 0.5, "splits": {"test": {"max_identity": [0.9, 0.2]}}}
    table = split_shift.summary(named, leak).set_index("split")
    assert table.loc["validation", "sequences"] == 2
    assert np.isnan(table.loc["train", "length KS vs train"])
    assert 0 < table.loc["test", "composition distance vs train"] <= 1
    assert table.loc["test", "≥ 50% identical to train"] == 1


def test_regression_label_bins(tmp_path):
    ex = Explorer(load(write_toy_dataset(tmp_path / "d", "regression", 40, 12), "regression")[0])
    shares = split_shift.label_shares(ex)
    assert list(shares.columns[:2]) == ["start", "end"]
    assert shares["train"].sum() == pytest.approx(100.0)


def test_id_columns():
    assert explore.id_column(["aa_seq", "Entry", "label"]) == "Entry"
    assert explore.id_column(["aa_seq", "label"]) is None
    assert re.fullmatch(r"\w+", "P000")
