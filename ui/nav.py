"""The dashboard's pages, registered once: the navigation, every link and every page switch use it.

The page scripts live in ``app_pages/`` (not ``pages/``: Streamlit would treat that folder as an
old-style multipage app of its own). ``url_path`` keeps the addresses users bookmark and share:
``/Train``, ``/Results`` ...
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui.i18n import N_, _


@dataclass(frozen=True)
class PageSpec:
    key: str
    script: str  # relative to the folder of Home.py
    title: str  # marked for translation (shown with ``_``)
    icon: str
    url_path: str  # never translated: the addresses users bookmark and share
    step: str  # what the page is for, in a sentence (the Home page's four steps)


HOME = "home"
DATASET = "dataset"
MODEL = "model"
TRAIN = "train"
RESULTS = "results"

PAGES: dict[str, PageSpec] = {
    p.key: p
    for p in (
        PageSpec(HOME, "app_pages/home.py", N_("Home"), ":material/home:", url_path="", step=""),
        PageSpec(
            DATASET,
            "app_pages/dataset.py",
            N_("Dataset"),
            ":material/dataset:",
            url_path="Dataset",
            step=N_(
                "A predefined dataset, a Hugging Face dataset or your own CSV/TSV/Parquet file; preview "
                "and check it."
            ),
        ),
        PageSpec(
            MODEL,
            "app_pages/model_and_method.py",
            N_("Model and Method"),
            ":material/neurology:",
            url_path="Model_and_Method",
            step=N_(
                "The protein language model, the fine-tuning method (freeze, LoRA …) and the pooling head."
            ),
        ),
        PageSpec(
            TRAIN,
            "app_pages/train.py",
            N_("Train"),
            ":material/model_training:",
            url_path="Train",
            step=N_(
                "Batch size, learning rate, epochs …, then Start and follow the run live; Abort at any time."
            ),
        ),
        PageSpec(
            RESULTS,
            "app_pages/results.py",
            N_("Results"),
            ":material/query_stats:",
            url_path="Results",
            step=N_(
                "Test metrics and plots, past runs side by side, downloads, and predictions on new sequences."
            ),
        ),
    )
}
STEPS = (DATASET, MODEL, TRAIN, RESULTS)  # the workflow, in order


def page(key: str) -> st.Page:
    spec = PAGES[key]
    return st.Page(
        spec.script, title=_(spec.title), icon=spec.icon, url_path=spec.url_path or None, default=key == HOME
    )


def navigation() -> st.Page:
    """Register every page with Streamlit; returns the page this run shows."""
    return st.navigation([page(key) for key in PAGES])


def key_of(page: st.Page) -> str:
    """The registry key of a page object returned by ``navigation``."""
    return next((k for k, spec in PAGES.items() if spec.url_path == page.url_path), HOME)


def link(key: str, label: str | None = None, icon: str | None = None) -> None:
    spec = PAGES[key]
    st.page_link(page(key), label=label or _(spec.title), icon=icon or spec.icon)


def switch(key: str) -> None:
    st.switch_page(page(key))
