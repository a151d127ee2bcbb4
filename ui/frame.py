"""What every page shows around its own content: the link warnings on top, and the sidebar.

``Home.py`` calls ``before()`` ahead of the page and ``after()`` behind it, so the sidebar's
"next run" settings are those the page has just written (drawn before it, they were one change
behind).
"""

from __future__ import annotations

import streamlit as st

from ui import nav, state, url_state
from ui.run_view import PROGRESS_EVERY_S, config_line, live_fraction
from ui.widgets import dataset_label, model_label

SIDEBAR_EVERY_S = PROGRESS_EVERY_S  # the sidebar's progress, on pages that do not show the run
IDLE_CHECK_EVERY_S = 10.0  # with no run active: notice a run started from another tab


def before() -> None:
    state.cfg()  # a new session reads its settings from the link, the draft on disk or a run
    ignored = state.pop_url_warnings()
    if ignored:
        st.warning(
            "**Some settings in the link were ignored** (the defaults are used instead):\n\n"
            + "\n".join(f"- {url_state.markdown_literal(w)}" for w in ignored),
            icon=":material/link_off:",
        )
    state.sync_url()  # page changes may drop the query string: write it back


def after(page_key: str) -> None:
    """The sidebar: the run training now (if any) and the settings of the next run."""
    with st.sidebar:
        _live_run(page_key)
        cfg = state.cfg()
        st.markdown("**Next run's settings**")
        st.markdown(
            f"- Dataset: `{dataset_label(cfg)}`\n"
            f"- Model: `{model_label(cfg.model.plm_model)}`\n"
            f"- Method: `{cfg.method.training_method}` · pooling `{cfg.method.pooling_method}`\n"
            f"- Save directory: `{cfg.output.output_dir}`"
        )


def _live_run(page_key: str) -> None:
    registry = state.registry()
    job = registry.active()
    generation = registry.generation
    if job is None:

        @st.fragment(run_every=IDLE_CHECK_EVERY_S)
        def idle() -> None:
            if registry.generation != generation:
                st.rerun()  # a run started (from another tab): show it everywhere

        idle()
        return
    st.markdown(f"**Training now:** `{job.name}`")
    st.caption(config_line(job.config))
    if page_key == nav.TRAIN:
        return  # the page itself follows the run; it reruns the whole app when the run ends

    @st.fragment(run_every=SIDEBAR_EVERY_S)
    def progress() -> None:
        if not job.is_alive():
            st.rerun()  # the run ended: one full rerun stops the refresh and updates the page
        s = job.summary()
        fraction = live_fraction(s)
        st.progress(fraction, text=f"{fraction * 100:.1f}% of all training steps")

    progress()
    nav.link(nav.TRAIN, label="Open the Train page", icon=":material/monitoring:")
