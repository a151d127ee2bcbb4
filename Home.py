"""Home: what the tool does, the four steps, the current or last run, and "Train the demo"."""

from __future__ import annotations

import time
from datetime import datetime

import streamlit as st

from ui import state
from ui.run_view import STATUS_TEXT, phase_text
from ui.widgets import fmt_duration, fmt_value, metric_title, page_setup, show_error
from venus_core import rundir
from venus_core.errors import VenusError
from venus_core.jobs import summarize

page_setup("Home")

st.title("Venus Fine-tune")
st.markdown(
    "Fine-tune a protein language model (ESM2, ProtBert, ProtT5, Ankh, ProSST …) to predict a property of "
    "proteins from their sequence — a class such as antimicrobial or not, or a value such as stability. "
    "Choose a dataset and a model, press **Start**, watch the loss and validation metrics live, and download "
    "the test results as CSV."
)

STEPS = (
    (
        "pages/1_Dataset.py",
        "1 · Dataset",
        ":material/dataset:",
        "A predefined dataset, a Hugging Face dataset or your own CSV/TSV/Parquet file; "
        "preview and check it.",
    ),
    (
        "pages/2_Model_and_Method.py",
        "2 · Model and Method",
        ":material/neurology:",
        "The protein language model, the fine-tuning method (freeze, LoRA …) and the pooling head.",
    ),
    (
        "pages/3_Train.py",
        "3 · Train",
        ":material/model_training:",
        "Batch size, learning rate, epochs …, then Start and follow the run live; Abort at any time.",
    ),
    (
        "pages/4_Results.py",
        "4 · Results",
        ":material/query_stats:",
        "Test metrics and plots, past runs side by side, downloads, and predictions on new sequences.",
    ),
)
cols = st.columns(4)
for col, (page, label, icon, text) in zip(cols, STEPS, strict=True):
    with col.container(border=True):
        st.page_link(page, label=f"**{label}**", icon=icon)
        st.caption(text)

st.divider()
left, right = st.columns([3, 2], gap="large")

with left:
    job = state.current_job()
    if job is not None:
        s = summarize(job.events_since(0), now=time.time() if job.is_alive() else None)
        heading = "Current run" if job.is_alive() else "Last run"
        st.subheader(heading)
        st.markdown(f"`{job.name}` — **{STATUS_TEXT.get(s['status'], s['status'])}**")
        if job.is_alive():
            st.progress(
                min(max(s["fraction"], 0.0), 1.0), text=f"{phase_text(s)} · {s['fraction'] * 100:.0f}%"
            )
            st.caption(f"Elapsed {fmt_duration(s['elapsed'])} · time left {fmt_duration(s['eta'])}")
        elif s.get("message"):
            st.caption(s["message"])
        st.page_link("pages/3_Train.py", label="Follow it on the Train page", icon=":material/monitoring:")
    else:
        runs = rundir.list_runs(state.cfg().output.output_dir)
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
            st.page_link(
                "pages/4_Results.py", label="See it on the Results page", icon=":material/query_stats:"
            )
        else:
            st.caption(f"No run in the save directory `{state.cfg().output.output_dir}` yet.")

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
            st.session_state[state.RUN_KEY] = str(started_job.run_dir)
            st.switch_page("pages/3_Train.py")
