"""Widgets bound to RunConfig fields, number formatting, and the shared sidebar."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from ui import state, url_state
from venus_core import datasets, models
from venus_core.config import field_help
from venus_core.errors import VenusError

STATUS_ICONS = {
    "running": ":material/progress_activity:",
    "completed": ":material/check_circle:",
    "aborted": ":material/cancel:",
    "failed": ":material/error:",
    "unfinished": ":material/pause_circle:",
    "pending": ":material/schedule:",
}


def bound(
    name: str,
    widget: Callable[..., Any],
    label: str,
    *,
    to_widget: Callable[[Any], Any] | None = None,
    from_widget: Callable[[Any], Any] | None = None,
    key: str | None = None,
    help: str | None = None,
    **kwargs: Any,
) -> Any:
    """Render ``widget`` for config field ``name`` and write its value back to the config.

    The widget keeps its own state under ``key`` (default ``w.<name>``), initialised from the
    config the first time it is shown. An invalid value is shown as an error under the widget and
    the config keeps its previous value.
    """
    key = key or state.widget_key(name)
    current = state.cfg().get(name)
    if key not in st.session_state:
        initial = to_widget(current) if to_widget else current
        st.session_state[key] = list(initial) if isinstance(initial, tuple) else initial
    value = widget(label, key=key, help=help or field_help(name), **kwargs)
    new = from_widget(value) if from_widget else value
    if _norm(new) != _norm(current):
        try:
            state.set_cfg(state.cfg().with_values(**{name: new}))
        except VenusError as e:
            st.error(str(e))
    return value


def _norm(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


# -- formatting -----------------------------------------------------------------------------------


def fmt_value(v: Any, digits: int = 4) -> str:
    """A metric value for display; undefined (None/NaN) is 'n/a'."""
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return "n/a"
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.3e}"
        return f"{v:.{digits}f}"
    return str(v)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h} h {m:02d} min"
    if m:
        return f"{m} min {s:02d} s"
    return f"{s} s"


def fmt_gb(gb: float | None) -> str:
    """A memory size given in GB, in MB below 1 GB."""
    if gb is None:
        return "n/a"
    return f"{gb:.2f} GB" if gb >= 1 else f"{gb * 1000:.0f} MB"


def fmt_params(n: Any) -> str:
    if n is None:
        return "n/a"
    return f"{models.format_params(int(n))} ({int(n):,})"


def metric_title(name: str, problem_type: str | None = None) -> str:
    """The metric's name on screen: ``Accuracy (per label)`` when ``problem_type`` is multi-label."""
    from venus_core import vocab

    return vocab.metric_title(name, problem_type)


def run_problem_type(s: dict[str, Any]) -> str | None:
    """The problem type of a run summary (``jobs.summarize``), from its run_start config."""
    return ((s.get("config") or {}).get("data") or {}).get("problem_type")


def model_label(plm_model: str) -> str:
    entry = models.find_entry(plm_model)
    if entry is not None:
        return (
            f"{entry.family}-{models.format_params(entry.params)} (embedded)"
            if entry.source == "embedded"
            else entry.name
        )
    return Path(plm_model).name or plm_model


def dataset_label(cfg: Any) -> str:
    d = cfg.data
    if d.train_file:
        return Path(d.train_file).name
    if not d.dataset:
        return "not set"
    entry = datasets.find_entry(d.dataset)
    return entry.name if entry is not None else d.dataset


def show_error(e: Exception) -> None:
    """A user-fixable problem, one message, no traceback."""
    st.error(str(e), icon=":material/error:")


# -- page frame -----------------------------------------------------------------------------------


def page_setup(title: str) -> None:
    st.set_page_config(page_title=f"{title} · Venus Fine-tune", page_icon=":material/biotech:", layout="wide")
    state.cfg()  # a new session reads its settings from the link
    ignored = state.pop_url_warnings()
    if ignored:
        st.warning(
            "**Some settings in the link were ignored** (the defaults are used instead):\n\n"
            + "\n".join(f"- {url_state.markdown_literal(w)}" for w in ignored),
            icon=":material/link_off:",
        )
    state.sync_url()  # page changes may drop the query string: write it back
    sidebar()


def sidebar() -> None:
    """The current setup and the active run, on every page."""
    cfg = state.cfg()
    with st.sidebar:
        st.markdown("**Current setup**")
        st.markdown(
            f"- Dataset: `{dataset_label(cfg)}`\n"
            f"- Model: `{model_label(cfg.model.plm_model)}`\n"
            f"- Method: `{cfg.method.training_method}` · pooling `{cfg.method.pooling_method}`\n"
            f"- Save directory: `{cfg.output.output_dir}`"
        )
        _sidebar_run()


def _sidebar_run() -> None:
    """The active run's progress; refreshed every 2 s while a run is active."""
    live_at_start = state.registry().active() is not None

    @st.fragment(run_every=2.0 if live_at_start else None)
    def active_run() -> None:
        from venus_core.jobs import summarize

        job = state.registry().active()
        if job is None:
            if live_at_start:
                st.rerun()  # the run ended: one full rerun stops the refresh and updates the page
            return
        s = summarize(job.events_since(0))
        st.markdown(f"**Training now:** `{job.name}`")
        st.progress(
            min(max(s["fraction"], 0.0), 1.0), text=f"{s['fraction'] * 100:.1f}% of all training steps"
        )
        st.page_link("pages/3_Train.py", label="Open the Train page", icon=":material/monitoring:")

    active_run()
