"""Home: what the tool does, the four steps, the current or last run, and "Train the demo"."""

from __future__ import annotations

import time
from datetime import datetime

import streamlit as st

from ui import nav, state
from ui.i18n import _, tr
from ui.run_view import config_line, live_fraction, phase_text, status_text
from ui.widgets import fmt_duration, fmt_value, metric_title, show_error
from venus_core import rundir
from venus_core.errors import VenusError

st.title("Venus Fine-tune")
st.markdown(
    _(
        "Fine-tune a protein language model (ESM2, ProtBert, ProtT5, Ankh, ProSST …) to predict a property "
        "of proteins from their sequence — a class such as antimicrobial or not, or a value such as "
        "stability. Choose a dataset and a model, press **Start**, watch the loss and validation metrics "
        "live, and download the test results as CSV."
    )
)

cols = st.columns(len(nav.STEPS))
for i, (col, key) in enumerate(zip(cols, nav.STEPS, strict=True), 1):
    spec = nav.PAGES[key]
    with col.container(border=True):
        nav.link(key, label=f"**{i} · {_(spec.title)}**")
        st.caption(_(spec.step))

st.divider()
left, right = st.columns([3, 2], gap="large")

with left:
    job = state.current_job()
    if job is not None:
        alive = job.is_alive()
        s = job.summary(now=time.time() if alive else None)
        st.subheader(_("Current run") if alive else _("Last run"))
        st.markdown(f"`{job.name}` — **{status_text(s['status'])}**")
        st.caption(config_line(job.config))
        if alive:
            fraction = live_fraction(s)
            st.progress(fraction, text=f"{phase_text(s)} · {fraction * 100:.0f}%")
            st.caption(
                _("Elapsed {elapsed} · time left {left}").format(
                    elapsed=fmt_duration(s["elapsed"]), left=fmt_duration(s["eta"])
                )
            )
        elif s.get("message"):
            st.caption(tr(s["message"]))
        nav.link(nav.TRAIN, label=_("Follow it on the Train page"), icon=":material/monitoring:")
    else:
        save_dir = state.cfg().output.output_dir
        runs = rundir.list_runs(save_dir)
        st.subheader(_("Last run"))
        if runs:
            r = runs[0]
            started = datetime.fromtimestamp(r["started"]).strftime("%Y-%m-%d %H:%M") if r["started"] else "?"
            line = f"`{r['name']}` — **{status_text(r['status'])}** · " + _("started {when}").format(
                when=started
            )
            if r.get("best_value") is not None:
                monitor = metric_title(r.get("monitor") or "", r.get("problem_type"))
                line += " · " + _("best validation {metric} {value}").format(
                    metric=monitor, value=fmt_value(r["best_value"])
                )
            st.markdown(line)
            nav.link(nav.RESULTS, label=_("See it on the Results page"), icon=":material/query_stats:")
        else:
            st.caption(_("No run in the save directory `{folder}` yet.").format(folder=save_dir))

with right, st.container(border=True):
    st.subheader(_("Try it now"))
    st.markdown(
        _(
            "Train a small classifier of antimicrobial peptides (**Demo_AMP**, 4,600 peptides) on the "
            "embedded **ESM2-8M** model: frozen backbone, 3 epochs — a few minutes on a laptop CPU, no "
            "download needed."
        )
    )
    if st.button(_("Train the demo"), type="primary", icon=":material/play_arrow:", key="train_demo"):
        demo = state.initial_config().with_values(
            output_dir=state.cfg().output.output_dir,
            training_method="freeze",
            pooling_method="mean",
            num_epochs=3,
            patience=3,
            batch_size=32,
            learning_rate=1e-3,
            num_workers=0,
        )
        try:
            started_job = state.registry().start(demo)
        except VenusError as e:
            show_error(e)
        else:
            state.replace_config(demo)
            state.remember_run(started_job)
            nav.switch(nav.TRAIN)
