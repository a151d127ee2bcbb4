"""The Explore views of the Dataset page with AppTest: Browse filters and pages, Split shift draws
its charts, the Embedding map computes in the background (tiny ESM) and reuses its cache."""

from __future__ import annotations

import json
import time

import pytest
from conftest import write_toy_dataset
from streamlit.testing.v1 import AppTest
from test_app import DATASET, app, cfg, goto, texts

from ui import keys, state
from ui.explore import map_jobs


@pytest.fixture(autouse=True)
def save_dir(tmp_path, monkeypatch):
    folder = tmp_path / "runs"
    monkeypatch.setenv(state.SAVE_DIR_ENV, str(folder))
    jobs = map_jobs()
    jobs.reset()
    yield folder
    jobs.reset()


def preview(at: AppTest) -> AppTest:
    at.button(key="preview_dataset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_tab(at: AppTest, name: str) -> AppTest:
    at.session_state[keys.EXPLORE_TAB] = name
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> dict[str, dict]:
    return {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def count_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "sequences match" in m.value)


def toy_custom(at: AppTest, folder, problem_type="single_label_classification") -> AppTest:
    at.radio(key="w.dataset_mode").set_value("Use Custom Dataset").run()
    at.text_input(key="w.dataset").input(str(folder)).run()
    at.selectbox(key="w.problem_type").set_value(problem_type).run()
    return at


def test_browse_search_filter_sort_and_pages():
    at = preview(goto(app(), DATASET))  # Demo_AMP: 3,696 train peptides
    assert "Explore" in [s.value for s in at.subheader]
    assert count_line(at) == "**3,696** of 3,696 train sequences match."
    table = at.dataframe[-1].value
    assert len(table) == 50 and list(table.columns)[:2] == ["position", "row"]
    at.text_input(key=keys.EXPLORE_SEARCH).input("KKLL").run()
    assert "(id or subsequence)" in count_line(at)
    assert all("KKLL" in s for s in at.dataframe[-1].value["sequence"])
    at.text_input(key=keys.EXPLORE_SEARCH).input("N[ST").run()
    assert "not a valid pattern" in texts(at)
    at.text_input(key=keys.EXPLORE_SEARCH).input("").run()
    at.multiselect(key=keys.EXPLORE_LABELS).set_value([1]).run()
    n_class_1 = int(count_line(at).split("**")[1].replace(",", ""))
    assert 0 < n_class_1 < 3696
    assert all(label.startswith("1: ") for label in at.dataframe[-1].value["label"])
    at.selectbox(key=keys.EXPLORE_SORT).set_value("length").run()
    at.toggle(key=keys.EXPLORE_DESCENDING).set_value(True).run()
    lengths = at.dataframe[-1].value["length"].tolist()
    assert lengths == sorted(lengths, reverse=True)
    at.number_input(key=keys.EXPLORE_PAGE).set_value(2).run()
    assert at.dataframe[-1].value["length"].iloc[0] <= lengths[-1]
    at.selectbox(key=keys.EXPLORE_SPLIT).set_value("test").run()
    assert at.number_input(key=keys.EXPLORE_PAGE).value == 1  # a new question starts at page 1
    assert "of 462 test sequences" in count_line(at)


def test_split_shift_charts_have_data():
    at = open_tab(preview(goto(app(), DATASET)), "Split shift")
    figures = charts(at)
    for key in ("shift-length", "shift-labels", "shift-composition", "shift-leakage"):
        found = [f for k, f in figures.items() if key in k]
        assert found and found[0]["data"], key
    heat = next(f for k, f in figures.items() if "shift-composition" in k)["data"][0]
    assert heat["y"] == ["train", "validation", "test"] and len(heat["x"]) == 21
    summary = next(d.value for d in at.dataframe if "composition distance vs train" in d.value.columns)
    assert summary["split"].tolist() == ["train", "validation", "test"]
    assert summary["length KS vs train"].iloc[0] == "—"  # train is the reference, not "None"
    assert [b.label for b in at.get("download_button")].count("CSV") == 5  # table + 4 charts
    assert not [m for m in at.markdown if "sequences match" in m.value]  # only the open tab is drawn


def wait_map(at: AppTest, timeout: float = 120.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        figure = next((f for k, f in charts(at).items() if "embedding-map" in k), None)
        if figure is not None:
            return figure
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    raise AssertionError("no map in time: " + texts(at))


def test_embedding_map_computes_then_reuses_its_cache(tiny_esm, tmp_path):
    data = write_toy_dataset(tmp_path / "toy", "single_label_classification", 60, 20)
    at = toy_custom(goto(app(), DATASET), data)
    state_cfg = cfg(at).with_values(plm_model=str(tiny_esm), num_workers=0)
    at.session_state[keys.CFG] = state_cfg
    at = open_tab(preview(at), "Embedding map")
    assert at.selectbox(key=keys.MAP_POINTS).value == 2000
    # 100 proteins, fewer than the points: every protein is embedded (the cache freeze reuses)
    assert at.toggle(key=keys.MAP_WHOLE).disabled
    assert "every protein (100" in texts(at)
    at.button(key=keys.MAP_START).click().run()
    figure = wait_map(at)
    assert sum(len(t["x"]) for t in figure["data"]) == 100
    assert {t["name"] for t in figure["data"]} == {"0", "1"}
    assert "embedded in" in texts(at) and "a freeze run with mean pooling" in texts(at)
    at.radio(key=keys.MAP_COLOUR).set_value("split").run()
    figure = wait_map(at)
    assert [t["name"] for t in figure["data"]] == ["train", "validation", "test"]
    # Asked again (a new server, say): the cache answers, nothing is embedded.
    map_jobs().reset()
    at.selectbox(key=keys.MAP_POINTS).set_value(500).run()
    at.button(key=keys.MAP_START).click().run()
    wait_map(at)
    assert "read from the frozen-embedding cache" in texts(at)


def test_embedding_map_regression_has_a_colour_scale(tiny_esm, tmp_path):
    data = write_toy_dataset(tmp_path / "toy", "regression", 40, 10)
    at = toy_custom(goto(app(), DATASET), data, "regression")
    at.session_state[keys.CFG] = cfg(at).with_values(plm_model=str(tiny_esm), num_workers=0)
    at = open_tab(preview(at), "Embedding map")
    at.button(key=keys.MAP_START).click().run()
    trace = wait_map(at)["data"][0]
    assert trace["marker"]["colorscale"] and len(trace["marker"]["color"]) == 60


def test_no_explore_while_the_data_has_errors(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "train.csv").write_text("aa_seq,label\nMKV,0\nMK1,1\n")
    at = preview(toy_custom(goto(app(), DATASET), folder))
    assert "Explore" not in [s.value for s in at.subheader]
    assert keys.EXPLORE_DATA not in at.session_state
