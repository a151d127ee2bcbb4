"""Home: what the tool does, the four steps, the current or last run, and "Train the demo"."""

from __future__ import annotations

import time
from datetime import datetime

import streamlit as st

from ui import nav, state
from ui.run_view import STATUS_TEXT, config_line, live_fraction, phase_text
from ui.widgets import fmt_duration, fmt_value, metric_title, show_error
from venus_core import rundir
from venus_core.errors import VenusError

st.title("Venus Fine-tune")
st.markdown(
    "Fine-tune a protein language model (ESM2, ProtBert, ProtT5, Ankh, ProSST …) to predict a property of "
    "proteins from their sequence — a class such as antimicrobial or not, or a value such as stability. "
    "Choose a dataset and a model, press **Start**, watch the loss and validation metrics live, and download "
    "the test results as CSV."
)

cols = st.columns(len(nav.STEPS))
for i, (col, key) in enumerate(zip(cols, nav.STEPS, strict=True), 1):
    spec = nav.PAGES[key]
    with col.container(border=True):
        nav.link(key, label=f"**{i} · {spec.title}**")
        st.caption(spec.step)

st.divider()
left, right = st.columns([3, 2], gap="large")

with left:
    job = state.current_job()
    if job is not None:
        alive = job.is_alive()
        s = job.summary(now=time.time() if alive else None)
        st.subheader("Current run" if alive else "Last run")
        st.markdown(f"`{job.name}` — **{STATUS_TEXT.get(s['status'], s['status'])}**")
        st.caption(config_line(job.config))
        if alive:
            fraction = live_fraction(s)
            st.progress(fraction, text=f"{phase_text(s)} · {fraction * 100:.0f}%")
            st.caption(f"Elapsed {fmt_duration(s['elapsed'])} · time left {fmt_duration(s['eta'])}")
        elif s.get("message"):
            st.caption(s["message"])
        nav.link(nav.TRAIN, label="Follow it on the Train page", icon=":material/monitoring:")
    else:
        save_dir = state.cfg().output.output_dir
        runs = rundir.list_runs(save_dir)
        st.subheader("Last run")
        if runs:
            r = runs[0]
            started = datetime.fromtimestamp(r["started"]).strftime("%Y-%m-%d %H:%M") if r["started"] else "?"
            best = ""
            if r.get("best_value") is not None:
                monitor = metric_title(r.get("monitor") or "", r.get("problem_type"))
                best = f" · best validation {monitor} {fmt_value(r['best_value'])}"
            st.markdown(
                f"`{r['name']}` — **{STATUS_TEXT.get(r['status'], r['status'])}** · started {started}{best}"
            )
            nav.link(nav.RESULTS, label="See it on the Results page", icon=":material/query_stats:")
        else:
            st.caption(f"No run in the save directory `{save_dir}` yet.")

with right, st.container(border=True):
    st.subheader("Try it now")
    st.markdown(
        "Train a small classifier of antimicrobial peptides (**Demo_AMP**, 4,600 peptides) on the embedded "
        "**ESM2-8M** model: frozen backbone, 3 epochs — a few minutes on a laptop CPU, no download needed."
    )
    if st.button("Train the demo", type="primary", icon=":material/play_arrow:", key="train_demo"):
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
