"""Train: batch and training parameters, output, Preview Command, Start / Abort, live progress."""

from __future__ import annotations

import time

import streamlit as st

from ui import keys, leakage, nav, run_view, state
from ui.i18n import N_, _, tr
from ui.widgets import bound, dataset_label, issue_text, model_label, show_error
from venus_core import doctor, vocab
from venus_core.cli import preview_command
from venus_core.devices import describe_precision, gpu_count
from venus_core.errors import VenusError
from venus_core.rundir import model_file_name

st.title(_("Train"))

registry = state.registry()
active = registry.active()
draft = state.cfg()
if active is not None:
    st.info(
        _("**Training now:** `{name}` — {settings}. The settings below are for the next run.").format(
            name=active.name, settings=run_view.config_line(active.config)
        ),
        icon=run_view.STATUS_ICONS["running"],
    )
settings = (
    _("Next run: dataset **{dataset}** · model **{model}** · method **{method}** · pooling **{pooling}**")
    if active is not None
    else _(
        "Settings: dataset **{dataset}** · model **{model}** · method **{method}** · pooling **{pooling}**"
    )
)
st.markdown(
    settings.format(
        dataset=dataset_label(draft),
        model=model_label(draft.model.plm_model),
        method=draft.method.training_method,
        pooling=draft.method.pooling_method,
    )
)
st.caption(_("Change them on the Dataset and Model and Method pages."))

BATCH_MODES = {"size": N_("Batch Size Mode"), "token": N_("Batch Token Mode")}


# -- settings ---------------------------------------------------------------------------------------
def required_text(name: str):
    """A required text field's ``from_widget``: an empty entry keeps the value in use."""
    return lambda v: v.strip() or state.cfg().get(name)


def settings_form() -> None:
    """Batch, training, output and logging settings of the next run."""
    col_a, col_b, col_c = st.columns(3, gap="medium")
    with col_a:
        st.markdown(_("**Batch Processing**"))
        bound(
            "batch_mode",
            st.radio,
            _("Batch Processing Mode"),
            options=list(BATCH_MODES),
            format_func=lambda m: _(BATCH_MODES[m]),
            horizontal=True,
        )
        if state.cfg().batch.batch_mode == "size":
            bound("batch_size", st.number_input, _("Batch Size"), min_value=1, step=1)
        else:
            bound("batch_token", st.number_input, _("Tokens per Batch"), min_value=1, step=1000)
        bound("max_seq_len", st.number_input, _("Max Sequence Length"), min_value=-1, step=64)
        bound("num_workers", st.number_input, _("Number of Workers"), min_value=0, step=1)
    with col_b:
        st.markdown(_("**Training Parameters**"))
        bound(
            "learning_rate",
            st.number_input,
            _("Learning Rate"),
            min_value=0.0,
            format="%.1e",
            step=1e-5,
            to_widget=float,
        )
        bound("num_epochs", st.number_input, _("Number of Epochs"), min_value=1, step=1)
        bound("patience", st.number_input, _("Early Stopping Patience"), min_value=1, step=1)
        bound(
            "scheduler",
            st.selectbox,
            _("Scheduler Type"),
            options=["none", *vocab.SCHEDULERS],
            format_func=lambda v: _("None (constant learning rate)") if v == "none" else v,
            to_widget=lambda v: v or "none",
            from_widget=lambda v: None if v == "none" else v,
        )
    with col_c:
        st.markdown("&nbsp;")
        bound("warmup_steps", st.number_input, _("Warmup Steps"), min_value=0, step=10)
        bound(
            "gradient_accumulation_steps",
            st.number_input,
            _("Gradient Accumulation Steps"),
            min_value=1,
            step=1,
        )
        bound(
            "max_grad_norm",
            st.number_input,
            _("Max Gradient Norm"),
            min_value=-1.0,
            step=0.5,
            to_widget=float,
        )
    st.divider()
    col_o, col_w = st.columns(2, gap="medium")
    with col_o:
        st.markdown(_("**Output**"))
        # Both are required: an emptied field keeps the value in use (the sidebar shows it) rather
        # than a setting no run can start with.
        bound("output_dir", st.text_input, _("Save Directory"), from_widget=required_text("output_dir"))
        o1, o2 = st.columns(2)
        with o1:
            bound(
                "output_model_name",
                st.text_input,
                _("Output Model Name"),
                from_widget=required_text("output_model_name"),
            )
            written = model_file_name(state.cfg().output.output_model_name)
            if written != state.cfg().output.output_model_name:
                st.caption(
                    _("Written as `{file}` (weights are always saved as safetensors).").format(file=written)
                )
        with o2:
            bound(
                "run_name",
                st.text_input,
                _("Run name (optional)"),
                placeholder=_("generated"),
                to_widget=lambda v: v or "",
                from_widget=lambda v: v.strip() or None,
            )
    with col_w:
        st.markdown(_("**Logging**"))
        bound("wandb", st.checkbox, _("Enable W&B Logging"))
        if state.cfg().output.wandb:
            w1, w2 = st.columns(2)
            with w1:
                bound(
                    "wandb_project",
                    st.text_input,
                    _("W&B Project"),
                    placeholder="venus-finetune",
                    to_widget=lambda v: v or "",
                    from_widget=lambda v: v.strip() or None,
                )
            with w2:
                bound(
                    "wandb_entity",
                    st.text_input,
                    _("W&B Entity"),
                    placeholder=_("your default entity"),
                    to_widget=lambda v: v or "",
                    from_widget=lambda v: v.strip() or None,
                )
            st.caption(
                _(
                    "Set WANDB_API_KEY (or WANDB_MODE=offline) in the server's environment; keys are never "
                    "written to the run folder."
                )
            )
        with st.popover(_("Advanced"), icon=":material/tune:"):
            bound("seed", st.number_input, _("Seed"), step=1)
            bound("device", st.text_input, _("Device"))
            bound("mixed_precision", st.checkbox, _("Mixed precision (bf16 where the hardware has it)"))
            st.caption(tr(describe_precision(state.cfg())))
            bound("embedding_cache", st.checkbox, _("Cache frozen-backbone outputs"))
            bound("fsdp", st.checkbox, _("Shard the model across GPUs (FSDP, torchrun)"))


# While a run trains the settings are folded away and not drawn at all (Streamlit's lazy
# expander): the browser draws only the run view while the trainer shares its cores (measured in
# Chromium on the demo: the draw after Start took 0.79 s of CPU with them, 0.38 s without).
settings_box = st.expander(_("Training settings"), expanded=active is None, on_change="rerun")
if settings_box.open:
    with settings_box:
        settings_form()


# -- controls ---------------------------------------------------------------------------------------
with st.container(horizontal=True):
    preview_clicked = st.button(_("Preview Command"), icon=":material/terminal:", key="preview_command")
    start_clicked = st.button(_("Start"), type="primary", icon=":material/play_arrow:", key="start")
    abort_clicked = st.button(_("Abort"), icon=":material/stop:", key="abort")

if preview_clicked:
    st.session_state[keys.SHOW_COMMAND] = not st.session_state.get(keys.SHOW_COMMAND, False)
if st.session_state.get(keys.SHOW_COMMAND):
    st.code(preview_command(state.cfg()), language="bash", wrap_lines=True)
    st.caption(
        _(
            "Every setting, written out: runs the same training from a terminal in the project folder, on "
            "any machine (copy button at the right)."
        )
    )
    n_gpus = gpu_count()
    if n_gpus > 1:
        st.code(preview_command(state.cfg(), nproc=n_gpus), language="bash", wrap_lines=True)
        st.caption(
            _(
                "This machine has {n} GPUs: this line trains data-parallel on all of them (one process per "
                "GPU; Tokens per Batch / Batch Size is per GPU)."
            ).format(n=n_gpus)
        )


def start(cfg) -> None:
    """Start a run, after the same checks as Preview Dataset: a run that cannot work never starts."""
    with st.spinner(_("Checking the settings and the dataset…")):
        # The errors only: the leakage report informs a preview, it never stops a run. (A homology
        # split is computed here once and cached for the run.)
        bar = leakage.ProgressBar()
        report = doctor.check(cfg.with_values(leakage_report=False), progress=bar)
        bar.clear()
    if report.errors:
        st.session_state[keys.START_PROBLEMS] = (cfg, list(report.errors))  # shown in the page's language
        return
    st.session_state.pop(keys.START_PROBLEMS, None)
    try:
        job = registry.start(cfg)
    except VenusError as e:
        show_error(e)
    except OSError as e:  # e.g. the save directory cannot be created
        st.error(
            _("Could not create the run folder in {folder}: {error}.").format(
                folder=cfg.output.output_dir, error=e.strerror or e
            )
        )
    else:
        state.remember_run(job)
        st.rerun()


if start_clicked:
    start(state.cfg())
refused = st.session_state.get(keys.START_PROBLEMS)
if refused is not None and refused[0] == state.cfg():  # shown until the settings change
    st.error(
        _("**The run cannot start:**") + "\n\n" + "\n".join(f"- {issue_text(i)}" for i in refused[1]),
        icon=":material/error:",
    )

if abort_clicked:
    if active is None:
        st.info(_("No run is active."))
    else:
        active.stop()
        st.toast(_("Stopping after the current step…"), icon=":material/stop:")

# -- the run, live ----------------------------------------------------------------------------------
# One fragment every 10 s (the clocks tick in the browser in between): it reads the job's summary,
# folded incrementally, and the curves are rebuilt only when they changed. While the run starts, its
# progress block is a fragment of its own inside it, refreshed every 5 s: once the run trains, the
# slow fragment's next refresh draws the progress itself and Streamlit stops the inner one's timer
# (a changed period would otherwise need a rerun of the whole page, which the browser redraws
# while the run trains: measured in Chromium, python -m bench.browser).
live_at_start = active is not None


@st.fragment(run_every=run_view.STARTING_EVERY_S)
def starting_progress(job) -> None:
    if not job.is_alive():
        st.rerun()  # the run ended (or failed) while starting: the whole page shows its end
    run_view.progress(job.summary(now=time.time()), name=job.name, config=job.config)


@st.fragment(run_every=run_view.REFRESH_EVERY_S if live_at_start else None)
def live_run() -> None:
    job = state.current_job()
    if job is None:
        st.info(_("No run yet in this session. Press **Start** to train with the settings above."))
        return
    alive = job.is_alive()
    s = job.summary(now=time.time() if alive else None)
    if live_at_start and not alive:
        st.rerun()  # the run ended: one full rerun stops the refresh and draws the charts once more, complete
    if alive and job.stop_requested():
        st.info(_("Abort requested: stopping after the current step…"), icon=":material/hourglass_top:")
    if alive and run_view.starting(s):
        starting_progress(job)
    else:
        # A finished run's failure is about the settings it ran with: once they changed, say so calmly.
        stale = not alive and job.config != state.cfg()
        run_view.progress(s, name=job.name, config=job.config, earlier_settings=stale)
    run_view.best(s)
    run_view.curves(s, key="train")
    run_view.test_results(s, run_name=job.name, key="train")
    run_view.logs(s)
    if s["status"] in ("completed", "aborted") and s.get("run_dir"):
        nav.link(nav.RESULTS, label=_("Open in Results (plots, predictions, comparison)"))


live_run()
