"""The language in the running app (AppTest): every page renders in Chinese, the sidebar switch
changes the session's language and remembers it (link and save directory), and two sessions of one
server keep their own language. The browser test (test_browser_i18n.py) looks at the pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_app import app, goto

from ui import charts, keys, state

PAGES = (
    "app_pages/home.py",
    "app_pages/dataset.py",
    "app_pages/model_and_method.py",
    "app_pages/train.py",
    "app_pages/results.py",
)


@pytest.fixture(autouse=True)
def save_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "runs"
    monkeypatch.setenv(state.SAVE_DIR_ENV, str(folder))
    reg = state.registry()
    reg.reset()
    yield folder
    reg.reset()


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_english_by_default(save_dir):
    at = goto(app(), "app_pages/dataset.py")
    assert at.session_state[keys.LANG] == "en"
    assert titles(at) == ["Dataset"]
    assert "lang" not in at.query_params


def test_every_page_in_chinese():
    at = app({"lang": "zh"})
    expected = {
        "app_pages/dataset.py": "数据集",
        "app_pages/model_and_method.py": "模型与方法",
        "app_pages/train.py": "训练",
        "app_pages/results.py": "结果",
    }
    for page in PAGES:
        goto(at, page)
        if page in expected:
            assert titles(at) == [expected[page]]
        labels = [
            w.label for kind in ("selectbox", "number_input", "radio", "text_input") for w in at.get(kind)
        ]
        english = [label for label in labels if label.isascii() and " " in label]
        assert not english, (page, english)
    goto(at, "app_pages/train.py")
    assert at.number_input(key="w.batch_size").label == "批次大小"
    assert at.number_input(key="w.num_epochs").help.startswith("完整训练集的训练次数")
    assert at.selectbox(key="w.scheduler").label == "学习率调度器类型"
    assert at.query_params["lang"] == "zh"  # page changes keep it in the link


def test_switch_changes_the_language_and_remembers_it(save_dir):
    at = goto(app(), "app_pages/train.py")
    switch = at.button_group(key=keys.LANG_SWITCH)
    switch.set_value("zh").run()
    assert not at.exception
    assert at.session_state[keys.LANG] == "zh"
    assert titles(at) == ["训练"]
    assert at.query_params["lang"] == "zh"
    prefs = json.loads((save_dir / "_dashboard" / "preferences.json").read_text())
    assert prefs == {"lang": "zh"}
    # a new tab or a reload without the link: the language chosen last on this machine
    again = goto(app(), "app_pages/dataset.py")
    assert titles(again) == ["数据集"]
    # a link says otherwise: the link wins, and the settings of the run are untouched by ?lang
    linked = goto(app({"lang": "en", "num_epochs": "7"}), "app_pages/train.py")
    assert titles(linked) == ["Train"]
    assert linked.session_state[keys.CFG].train.num_epochs == 7
    assert not linked.warning  # lang is not reported as an unknown setting


def test_sessions_keep_their_own_language():
    """One server, two browsers: neither language leaks into the other session."""
    zh = goto(app({"lang": "zh"}), "app_pages/train.py")
    en = goto(app({"lang": "en"}), "app_pages/train.py")
    zh.run()
    en.run()
    assert titles(zh) == ["训练"] and titles(en) == ["Train"]
    assert zh.number_input(key="w.batch_size").label == "批次大小"
    assert en.number_input(key="w.batch_size").label == "Batch Size"


def test_figures_are_built_per_language(monkeypatch):
    from ui import i18n

    s = {
        "run_dir": "/tmp/x",
        "started": 1.0,
        "chart_version": 3,
        "steps": [],
        "epochs": [{"epoch": 1, "train/loss": 0.5, "val/loss": 0.6}],
        "best": {"epoch": 1},
        "num_epochs": 1,
    }
    figures = {}
    for lang in ("en", "zh"):
        monkeypatch.setattr(i18n, "_last_run_language", lang)
        figures[lang] = charts.cached(charts.loss_figure, s)
    assert figures["en"].layout.xaxis.title.text == "Epoch"
    assert figures["zh"].layout.xaxis.title.text == "轮次"
    assert [t.name for t in figures["zh"].data] == ["训练损失（每轮平均）", "验证损失"]


def test_doctor_issues_in_chinese(tmp_path):
    """Preview Dataset on a file with problems: every issue line is Chinese around its data."""
    bad = tmp_path / "bad.csv"
    bad.write_text("aa_seq,label\nMKTAYIAKQR,0\nMK1TA,1\n,0\nGLFDIVKK,x\n" + "ACDEFGHIKL,1\n" * 20)
    at = goto(app({"lang": "zh"}), "app_pages/dataset.py")
    at.radio(key=keys.DATASET_MODE).set_value("Upload Local Files").run()
    at.file_uploader(key=keys.UPLOADER).set_value(("bad.csv", bad.read_bytes(), "text/csv")).run()
    at.button(key="preview_dataset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    lines = [m.value for m in at.markdown if m.value.startswith("- ")]
    errors = [line for line in lines if line.startswith("- 错误")]
    assert len(errors) >= 3, lines
    assert any(
        "第 2 行" in line and "第 3 位" in line and "不是氨基酸字母" in line and "修复方法：" in line
        for line in errors
    ), errors
    assert all(not line.startswith(("- ERROR", "- WARNING")) for line in lines)
    assert [e.value for e in at.error][0].startswith("**训练前需修复")
