"""What every page shows around its own content: the link warnings on top, and the sidebar (the
language switch, the run training now, the next run's settings).

``Home.py`` calls ``before()`` ahead of the page and ``after()`` behind it, so the sidebar's
"next run" settings are those the page has just written (drawn before it, they were one change
behind).
"""

from __future__ import annotations

import streamlit as st

from ui import i18n, nav, state, url_state
from ui.i18n import _
from ui.run_view import REFRESH_EVERY_S, config_line, live_fraction
from ui.widgets import dataset_label, model_label

SIDEBAR_EVERY_S = REFRESH_EVERY_S  # the sidebar's progress, on pages that do not show the run
IDLE_CHECK_EVERY_S = 10.0  # with no run active: notice a run started from another tab
LANGUAGE_PREFERENCE = "lang"
# Streamlit animates a progress bar's width for about half a second on every change: on a live run's
# refresh that is ~30 frames drawn in software, about 40 ms of the browser's CPU taken from the
# trainer on a small machine (measured in Chromium: a fragment with a changing bar cost 68 ms a
# refresh, 32 ms without the animation). The bars here jump to their new value instead.
PAGE_STYLE = "<style>[data-testid=stProgress] * {transition: none !important}</style>"


def _remember_language(lang: str) -> None:
    """A new choice of language: the next tab opens in it too (the link follows in ``before``)."""
    state.save_preference(LANGUAGE_PREFERENCE, lang)


def _link_warning(warning: str) -> str:
    """``name=value: why`` with the why in this session's language (the value as the link had it)."""
    shown, sep, why = warning.partition(": ")
    return shown + sep + i18n.tr(why) if sep else i18n.tr(warning)


def before() -> None:
    st.html(PAGE_STYLE)
    with st.sidebar:
        i18n.switch(_remember_language)
    state.cfg()  # a new session reads its settings from the link, the draft on disk or a run
    ignored = state.pop_url_warnings()
    if ignored:
        st.warning(
            _("**Some settings in the link were ignored** (the defaults are used instead):")
            + "\n\n"
            + "\n".join(f"- {url_state.markdown_literal(_link_warning(w))}" for w in ignored),
            icon=":material/link_off:",
        )
    state.sync_url()  # page changes may drop the query string: write it back


def after(page_key: str) -> None:
    """The sidebar: the run training now (if any) and the settings of the next run."""
    with st.sidebar:
        _live_run(page_key)
        cfg = state.cfg()
        st.markdown(_("**Next run's settings**"))
        st.markdown(
            "\n".join(
                [
                    _("- Dataset: `{dataset}`").format(dataset=dataset_label(cfg)),
                    _("- Model: `{model}`").format(model=model_label(cfg.model.plm_model)),
                    _("- Method: `{method}` · pooling `{pooling}`").format(
                        method=cfg.method.training_method, pooling=cfg.method.pooling_method
                    ),
                    _("- Save directory: `{folder}`").format(folder=cfg.output.output_dir),
                ]
            )
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
    st.markdown(_("**Training now:** `{name}`").format(name=job.name))
    st.caption(config_line(job.config))
    if page_key == nav.TRAIN:
        return  # the page itself follows the run; it reruns the whole app when the run ends

    @st.fragment(run_every=SIDEBAR_EVERY_S)
    def progress() -> None:
        if not job.is_alive():
            st.rerun()  # the run ended: one full rerun stops the refresh and updates the page
        s = job.summary()
        fraction = live_fraction(s)
        st.progress(fraction, text=_("{percent:.1f}% of all training steps").format(percent=fraction * 100))

    progress()
    nav.link(nav.TRAIN, label=_("Open the Train page"), icon=":material/monitoring:")
