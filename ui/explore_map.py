"""The Embedding map view of Explore: settings, a background computation with progress, ETA and
Stop, then the 2-D scatter (``venus_core.embedding_map`` computes it)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import explore_charts, i18n, keys, state
from ui.i18n import N_, _, tr
from ui.widgets import fmt_duration, model_label, show_error
from venus_core import embedding_map
from venus_core.embedding_map import POINT_CHOICES, MapJob, MapJobs, MapRequest
from venus_core.errors import VenusError
from venus_core.explore import Explorer
from venus_core.export import safe_csv

PROGRESS_EVERY_S = 1.0
PROJECTION_NAMES = {"pca": "PCA", "umap": "UMAP"}


def map_key(cfg: Any, request: MapRequest) -> tuple:
    """What a map depends on: the data, the model, where and how precisely it runs, the seed and
    the save directory (the cache), and the map's own settings."""
    t = cfg.train
    return (cfg.data, cfg.model, t.device, t.mixed_precision, t.seed, cfg.output.output_dir, request)


def _settings(ex: Explorer, task: Any) -> tuple[MapRequest, str]:
    cfg = state.cfg()
    sizes = {s: len(df) for s, df in task.splits.items()}
    n_total = sum(sizes.values())
    c1, c2, c3, c4 = st.columns(4)
    if keys.MAP_POINTS not in st.session_state:
        st.session_state[keys.MAP_POINTS] = embedding_map.DEFAULT_POINTS
    points = c1.selectbox(
        _("Points"),
        POINT_CHOICES,
        key=keys.MAP_POINTS,
        format_func=lambda n: f"{n:,}",
        help=_(
            "Proteins shown on the map: a seeded sample, spread over the splits in proportion to their "
            "sizes, when the dataset is larger."
        ),
    )
    options = ["pca", *(["umap"] if embedding_map.umap_available() else [])]
    projection = c2.radio(
        _("Projection"),
        options,
        key=keys.MAP_PROJECTION,
        format_func=PROJECTION_NAMES.get,
        horizontal=True,
        help=_(
            "PCA: the two directions of largest variance (fitted on every embedded protein). UMAP keeps "
            "neighbours together."
        )
        if "umap" in options
        else _(
            "PCA: the two directions of largest variance (fitted on every embedded protein). UMAP keeps "
            "neighbours together; install umap-learn to use it."
        ),
    )
    small = n_total <= points
    if keys.MAP_WHOLE not in st.session_state:
        st.session_state[keys.MAP_WHOLE] = embedding_map.whole_cache_likely(cfg, sizes)
    whole = c3.toggle(
        _("Embed every protein"),
        key=keys.MAP_WHOLE,
        disabled=small,
        help=_(
            "Embed all proteins of every split: the frozen-embedding cache a freeze run with mean pooling "
            "of this model and data then reuses (its cache is reused here too). Off: only the plotted "
            "sample is embedded (faster; training cannot use it)."
        ),
    )
    colour = c4.radio(
        _("Colour by"),
        [N_("label"), N_("split")],
        key=keys.MAP_COLOUR,
        horizontal=True,
        format_func=i18n.now(_),
    )
    return MapRequest(points=int(points), whole=bool(whole or small), projection=projection), colour


def embedding_view(ex: Explorer, task: Any, jobs: MapJobs) -> None:
    cfg = state.cfg()
    st.markdown(
        _(
            "Each protein as the mean embedding of **{model}** (the model chosen on Model and Method): the "
            "vector a freeze run with mean pooling trains its head on."
        ).format(model=model_label(cfg.model.plm_model))
    )
    request, colour = _settings(ex, task)
    key = map_key(cfg, request)
    job = jobs.get(key)
    if job is not None and job.is_alive():
        _progress(job)
        return
    if job is not None and job.result is not None:
        _show(ex, job, colour)
        return
    if job is not None and job.error:
        st.error(_("The map failed: {error}").format(error=tr(job.error)), icon=":material/error:")
    elif job is not None and job.stopped:
        st.info(_("Stopped. Nothing was kept of the unfinished cache."), icon=":material/stop:")
    st.caption(_plan(task, request))
    if st.button(_("Compute map"), key=keys.MAP_START, type="primary", icon=":material/scatter_plot:"):

        def run(stop, report):
            return embedding_map.compute(task, cfg, request, stop=stop, progress=report)

        try:
            jobs.start(key, run)
        except VenusError as e:
            show_error(e)
            return
        st.rerun(scope="fragment")


def _plan(task: Any, request: MapRequest) -> str:
    sizes = {s: len(df) for s, df in task.splits.items()}
    n_total = sum(sizes.values())
    if request.whole:
        n = n_total
        residues = sum(int(df["aa_seq"].str.len().sum()) for df in task.splits.values())
        return _(
            "Embeds every protein ({n:,}, {residues:,} residues), cached for freeze runs; progress and time "
            "left show while it runs, and Stop ends it."
        ).format(n=n, residues=residues)
    else:
        n = min(request.points, n_total)
        picked = embedding_map.sample_positions(sizes, n, state.cfg().train.seed)
        residues = sum(int(task.splits[s]["aa_seq"].iloc[p].str.len().sum()) for s, p in picked.items())
    return _(
        "Embeds a seeded sample of {n:,} of the {total:,} proteins ({residues:,} residues); progress and "
        "time left show while it runs, and Stop ends it."
    ).format(n=n, total=n_total, residues=residues)


def _progress(job: MapJob) -> None:
    @st.fragment(run_every=PROGRESS_EVERY_S)
    def live() -> None:
        if not job.is_alive():
            st.rerun()  # finished: redraw the section with the map
        p = job.progress
        fraction = p.work if p.work is not None else p.done / p.total if p.total else 0.0
        text = tr(p.stage)
        if p.total:
            text = _("{stage}: {done:,} of {total:,} proteins").format(stage=text, done=p.done, total=p.total)
        if p.stage == "Embedding":
            text += " · " + _("{time} elapsed").format(time=fmt_duration(p.elapsed))
            if p.eta is not None:
                text += " · " + _("{time} left").format(time=fmt_duration(p.eta))
        st.progress(min(fraction, 1.0), text=text)
        if st.button(_("Stop"), key=keys.MAP_STOP, icon=":material/stop:"):
            job.stop()
            st.toast(_("Stopping after the current batch…"), icon=":material/stop:")

    live()


def _show(ex: Explorer, job: MapJob, colour: str) -> None:
    res = job.result
    points = embedding_map.annotate(res.points, ex)
    figure = explore_charts.embedding_scatter(points, res.axes, colour, ex.problem_type == "regression")
    st.plotly_chart(figure, key="embedding-map", config=explore_charts.toolbar("embedding-map"))
    sample = (
        _("Shows every protein")
        if len(points) == res.n_total
        else _("Shows a seeded sample of {n:,} of the {total:,} proteins").format(
            n=len(points), total=res.n_total
        )
    )
    projection = PROJECTION_NAMES[res.projection]
    fit = (
        _("{projection} fitted on every protein")
        if res.whole and res.projection == "pca"
        else _("{projection} fitted on the points shown")
    ).format(projection=projection)
    how = (
        _("read from the frozen-embedding cache")
        if res.cache == "reused"
        else _("embedded in {time}").format(time=fmt_duration(res.seconds))
    )
    reuse = (
        _("a freeze run with mean pooling of this model and data reuses these embeddings")
        if res.whole
        else _("turn on Embed every protein to build the cache a freeze run reuses")
    )
    st.caption(
        _(
            "{sample}; {fit}; {how}; {reuse}. Hover a point for its id, length and label; click a legend "
            "entry to hide it."
        ).format(sample=sample, fit=fit, how=how, reuse=reuse)
    )
    st.download_button(
        _("CSV"),
        data=safe_csv(points),  # ids and labels come from the user's file: no formulas
        file_name="embedding-map.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="csv-embedding-map",
        help=_("Every point: split, row, id, length, label and its coordinates."),
    )
