"""The dashboard in English and Chinese, in a real browser (Debian's chromium through Playwright).

Every page, in both languages, with a finished run and a dataset preview on screen: no exception,
a screenshot each (``$VENUS_SCREENSHOTS``, default ``/tmp/screens``: ``i18n_<lang>_<page>.png``),
and on the Chinese pages no English word left except code values, names and units (the allow-list
below). The browser's own language picks the first language; the sidebar switch is remembered
across a reload and a new tab.
"""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest
from browser_support import BROWSER_MARKS, SHOTS, body_text, goto_nav, open_page, shot, wait_idle, wait_text
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ui import i18n
from venus_core import datasets, methods, models, vocab
from venus_core.config import FIELD_INFO, RunConfig

pytestmark = BROWSER_MARKS

PAGES = ("home", "dataset", "model", "train", "results")
TITLES = {
    "en": dict(home="Home", dataset="Dataset", model="Model and Method", train="Train", results="Results"),
    "zh": dict(home="首页", dataset="数据集", model="模型与方法", train="训练", results="结果"),
}
TABS = {"en": ["Test Results", "Compare Runs", "Predict"], "zh": ["测试结果", "比较训练", "预测"]}
# The Dataset page's Explore section: its title, its tabs and the button that computes the map.
EXPLORE = {
    "en": ("Explore", ["Browse", "Split shift", "Embedding map"], "Compute map"),
    "zh": ("探索", ["浏览", "子集差异", "嵌入图"], "计算嵌入图"),
}

# -- what may stay English on a Chinese page ---------------------------------------------------------

# Names that are not words to translate: products, formats, proteins' data sets, the brand.
PHRASES = (
    "Venus Fine-tune",
    "Hugging Face",
    "JSON lines",
    "Weights & Biases",
    "Smith-Waterman",
    "Kolmogorov-Smirnov",
    "English",
)
NAMES = {
    "hub",
    "LoRA",
    "QLoRA",
    "DoRA",
    "AdaLoRA",
    "IA",
    "Adapter",
    "SES",
    "Spearman",
    "Matthews",
    "Token",
    "Parquet",
    "UniProt",
    "modlAMP",
    "AMPvsUniProt",
    "foldseek",
    "safetensors",
    "torchrun",
    "Ampere",
    "Ankh",
    "ProtBert",
    "ProtT5",
    "ProSST",
    "ProPrime",
    "IgBert",
    "IgT5",
    "HemoPI2",
    "MMseqs2",
}


def code_values() -> set[str]:
    """Option names and values, method, metric, model and dataset names: shown as they are."""
    values = set(FIELD_INFO) | set(methods.names()) | set(methods.ALIASES) | set(vocab.METRICS)
    for group in (
        vocab.PROBLEM_TYPES,
        vocab.POOLING_METHODS,
        vocab.SCHEDULERS,
        vocab.STRUCTURE_SEQS,
        vocab.NORMALIZATIONS,
        vocab.MULTI_LABEL_FORMATS,
        vocab.SPLIT_METHODS,
        vocab.BATCH_MODES,
    ):
        values |= set(group)
    values |= {"auto", "cpu", "cuda", "mps", "max", "min", "loss", "none", "None", "float32", "mean"}
    for e in models.catalogue_entries():
        values |= {e.family, e.name, e.model_type, *e.id.split("/")}
    values |= {e.name for e in datasets.catalogue_entries()}
    cfg = RunConfig()
    values |= {str(cfg.get(name)) for name in FIELD_INFO}
    return values


WORD = re.compile(r"[A-Za-z][A-Za-z0-9_./:+-]*")


def english_words(text: str, allowed: set[str]) -> set[str]:
    """Words of ``text`` that are English a Chinese reader should not meet: not a code value,
    identifier, path, file, number with unit, abbreviation or name."""
    for phrase in PHRASES:
        text = text.replace(phrase, " ")
    found = set()
    for word in WORD.findall(text):
        word = word.rstrip(".:-/")
        if len(word) < 2 or word in allowed or word in NAMES:
            continue
        if re.search(r"[0-9_./:]", word) or word.isupper():  # ids, files, paths, versions, abbreviations
            continue
        if all(part in allowed or part in NAMES or part.isupper() for part in word.split("-")):
            continue
        found.add(word)
    return found


VISIBLE_TEXT = """() => {
    const roots = ['[data-testid=stMain]', '[data-testid=stSidebar]'].map(s => document.querySelector(s));
    const parts = [];
    for (const root of roots.filter(Boolean)) {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const el = node.parentElement;
            // code, and icons (their text is a ligature's name: "upload", "settings")
            const skip = 'code, pre, style, script, [data-testid=stCode], '
                + '[translate=no], [data-testid*=Icon]';
            if (!el || el.closest(skip)) continue;
            if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
            parts.push(node.textContent);
        }
        // chart titles, axes and legends (SVG text)
        root.querySelectorAll('.js-plotly-plot text').forEach(t => parts.push(t.textContent));
    }
    return parts.join('\\n');
}"""


def check_chinese(page, where: str, allowed: set[str]) -> None:
    text = page.evaluate(VISIBLE_TEXT)
    left = english_words(text, allowed)
    assert not left, f"English on the Chinese {where} page: {sorted(left)}"
    assert re.search(r"[\u4e00-\u9fff]", text), f"no Chinese on the {where} page"


def no_exception(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0


def explore_views(page, lang: str, allowed: set[str]) -> None:
    """Each view of Explore (after Preview Dataset), the embedding map computed."""
    title, tabs, compute = EXPLORE[lang]
    try:
        page.get_by_role("heading", name=title).wait_for()
    except PlaywrightTimeout:  # seen once in CI, not reproduced: keep what the page showed instead
        shot(page, f"i18n_{lang}_explore_missing")
        raise AssertionError(
            f"no '{title}' heading after Preview Dataset; the page reads:\n{body_text(page)}"
        ) from None
    for i, tab in enumerate(tabs, 1):
        page.get_by_role("tab", name=tab, exact=True).click()
        wait_idle(page)
        if tab == tabs[-1]:  # computed once per server: the other language finds it done
            button = page.get_by_role("button", name=compute)
            plot = page.locator("[role=tabpanel]:visible .js-plotly-plot")
            button.or_(plot).first.wait_for()
            if button.count():
                button.click()
            plot.first.wait_for(timeout=120_000)
            wait_idle(page)
        page.wait_for_timeout(500)
        no_exception(page)
        SHOTS.mkdir(parents=True, exist_ok=True)  # the view itself: it lies below the page's first screen
        page.locator("[role=tabpanel]:visible").last.screenshot(
            path=str(SHOTS / f"i18n_{lang}_explore_{i}.png")
        )
        if lang == "zh":
            check_chinese(page, f"dataset (Explore: {tab})", allowed)


def test_browser_language_is_the_first_language(browser, server):
    """A browser set to Chinese opens the dashboard in Chinese; nothing is saved until a choice."""
    context = browser.new_context(viewport={"width": 1400, "height": 1400}, locale="zh-CN")
    page = context.new_page()
    try:
        open_page(page, server["url"])
        nav = page.locator("[data-testid=stSidebarNav]")
        for title in TITLES["zh"].values():
            nav.get_by_text(title, exact=True).wait_for()
        assert not (server["save_dir"] / "_dashboard" / "preferences.json").exists()
    finally:
        context.close()


@pytest.fixture(scope="module")
def run_link(server, tiny_esm, toy_csv) -> str:
    """Settings (in the link) of a one-epoch run of the tiny model on the toy CSV."""
    return urllib.parse.urlencode(
        {
            "train_file": str(toy_csv),
            "plm_model": str(tiny_esm),
            "problem_type": "single_label_classification",
            "num_labels": 2,
            "num_epochs": 2,
            "patience": 2,
            "batch_size": 8,
            "num_workers": 0,
            "leakage_report": "false",
        }
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_in_both_languages(page, server, run_link, lang):
    allowed = code_values()
    titles = TITLES[lang]
    open_page(page, f"{server['url']}/?lang={lang}&{run_link}")
    no_exception(page)

    # Train: a short run to completion, so the progress, best epoch, curves and test results show.
    goto_nav(page, titles["train"])
    if not list(server["save_dir"].glob("*/events.jsonl")):
        page.get_by_role("button", name="开始" if lang == "zh" else "Start", exact=True).click()
        wait_text(page, "训练完成" if lang == "zh" else "Training completed", timeout=240)
    page.wait_for_timeout(1500)  # the last chart refresh
    wait_idle(page)

    for key in PAGES:
        if key == "home":  # its heading is the app's name
            page.locator("[data-testid=stSidebarNav]").get_by_text(titles[key], exact=True).click()
            page.get_by_role("heading", name="Venus Fine-tune").wait_for()
        else:
            goto_nav(page, titles[key])
        wait_idle(page)
        if key == "dataset":
            page.get_by_role("button", name="预览数据集" if lang == "zh" else "Preview Dataset").click()
            page.get_by_text("训练集序列数" if lang == "zh" else "Train sequences", exact=True).wait_for(
                timeout=120_000
            )
            page.locator(".js-plotly-plot").first.wait_for()
        if key == "results":
            page.locator(".js-plotly-plot").first.wait_for()
        no_exception(page)
        shot(page, f"i18n_{lang}_{key}")
        if lang == "zh":
            check_chinese(page, key, allowed)
        if key == "dataset":
            explore_views(page, lang, allowed)
        if key == "results":  # the other tabs: test results (confusion matrix, ROC), compare, predict
            for i, tab in enumerate(TABS[lang], 2):
                page.get_by_role("tab", name=tab).click()
                wait_idle(page)
                page.wait_for_timeout(500)
                no_exception(page)
                shot(page, f"i18n_{lang}_{key}_{i}")
                if lang == "zh":
                    check_chinese(page, f"{key} ({tab})", allowed)


def test_language_switch_is_remembered(browser, server):
    """Chosen in the sidebar: kept in the link, after a reload, and in a new tab (same machine)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1400}, locale="en-US")
    try:
        page = context.new_page()
        open_page(page, server["url"] + "/Train")
        page.get_by_role("heading", name="Train", exact=True).wait_for()
        page.locator("[data-testid=stSidebar]").get_by_text("中文", exact=True).click()
        page.get_by_role("heading", name="训练", exact=True).wait_for()
        wait_idle(page)
        assert "lang=zh" in page.url
        prefs = json.loads((server["save_dir"] / "_dashboard" / "preferences.json").read_text())
        assert prefs["lang"] == "zh"
        page.reload()
        page.get_by_role("heading", name="训练", exact=True).wait_for()
        other = context.new_page()  # a new tab, without the link's parameters
        open_page(other, server["url"] + "/Dataset")
        other.get_by_role("heading", name="数据集", exact=True).wait_for()
        shot(other, "i18n_switch_new_tab")
        other.locator("[data-testid=stSidebar]").get_by_text("English", exact=True).click()
        other.get_by_role("heading", name="Dataset", exact=True).wait_for()
        wait_idle(other)
        assert "lang=" not in other.url
    finally:
        context.close()
    assert i18n.LANGUAGES == {"en": "English", "zh": "中文"}
