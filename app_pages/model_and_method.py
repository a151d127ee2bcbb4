"""Model and Method: protein language model, fine-tuning method, pooling, LoRA, Model Statistics."""

from __future__ import annotations

import contextlib
import json

import streamlit as st

from ui import i18n, keys, nav, state
from ui.i18n import N_, _, tr
from ui.widgets import bound, fmt_params, show_error
from venus_core import memory, methods, models, vocab
from venus_core.config import RunConfig
from venus_core.errors import VenusError

st.title(_("Model and Method"))
st.caption(_("Which pre-trained protein language model to start from, and how much of it to train."))

CATALOGUE, LOCAL = N_("Catalogue"), N_("Local folder")  # values kept in the session; shown with ``_``
POOLING_TEXT = {
    "mean": N_("mean — average of the residue embeddings"),
    "attention1d": N_("attention1d — learned attention over residues"),
    "light_attention": N_("light_attention — light attention (convolutions + attention)"),
}
catalogue = models.catalogue_entries()
by_id = {e.id: e for e in catalogue}


def group_of(e: models.ModelEntry) -> str:
    return _("Embedded (offline)") if e.source == "embedded" else tr(e.family)


def entry_for(plm_model: str) -> models.ModelEntry | None:
    if plm_model in by_id:
        return by_id[plm_model]
    try:
        return models.local_entry(plm_model)
    except VenusError:
        return None


def on_model_change(new_id: str) -> None:
    """Another model: its own remote-code opt-in and its family's LoRA targets."""
    state.update(plm_model=new_id, trust_remote_code=False, lora_target_modules=())


# -- Protein Language Model ------------------------------------------------------------------------
plm = state.cfg().model.plm_model
if keys.MODEL_SOURCE not in st.session_state:
    st.session_state[keys.MODEL_SOURCE] = CATALOGUE if plm in by_id else LOCAL
source = st.radio(
    _("Model source"),
    [CATALOGUE, LOCAL],
    key=keys.MODEL_SOURCE,
    format_func=i18n.now(_),
    horizontal=True,
    help=_(
        "A model from the catalogue (the embedded one works offline; the others download from the Hugging "
        "Face hub on first use), or a folder on this machine written by save_pretrained."
    ),
)

with st.container(border=True):
    if source == CATALOGUE:
        ids = [e.id for e in catalogue]
        if st.session_state.get(keys.PLM_SELECT) not in ids:
            st.session_state[keys.PLM_SELECT] = plm if plm in ids else ids[0]
        chosen = st.selectbox(
            _("Protein Language Model"),
            ids,
            key=keys.PLM_SELECT,
            format_func=i18n.now(
                lambda i: (
                    f"{group_of(by_id[i])} · {tr(by_id[i].name)} · {models.format_params(by_id[i].params)}"
                    + (" · " + _("offline") if by_id[i].available_offline else "")
                )
            ),
            help=_(
                "Grouped by model family, with the number of parameters. Larger models need more memory and "
                "time."
            ),
        )
        if chosen != plm:
            on_model_change(chosen)
    else:
        folder = st.text_input(
            _("Local model folder"),
            value=plm if plm not in by_id else "",
            key=keys.PLM_LOCAL,
            placeholder=_("/path/to/model (config.json, weights and tokenizer files)"),
            help=_("A folder written by save_pretrained: config.json, model weights and tokenizer files."),
        ).strip()
        if folder and folder != plm:
            on_model_change(folder)

    entry = entry_for(state.cfg().model.plm_model)
    if entry is None:
        if source == LOCAL and state.cfg().model.plm_model not in by_id:
            try:
                models.local_entry(state.cfg().model.plm_model)
            except VenusError as e:
                show_error(e)
    else:
        # The exact counts and memory are in Model Statistics below, for every model whose config is
        # on this machine; the catalogue's rounded figures only stand in for hub models not yet read.
        asked_for = json.loads(st.session_state.get(keys.STATS_ASKED) or "{}").get("model", {})
        exact_below = entry.available_offline or asked_for.get("plm_model") == state.cfg().model.plm_model
        facts = [f"**{tr(entry.family)}**"]
        if not exact_below:
            facts.append(_("about {params} parameters").format(params=fmt_params(entry.params)))
        if entry.hidden_size:
            facts.append(_("hidden size {n}").format(n=entry.hidden_size))
        if entry.num_layers:
            facts.append(_("{n} layers").format(n=entry.num_layers))
        if entry.max_length:
            facts.append(_("up to {n:,} residues").format(n=entry.max_length))
        facts.append(
            _("works offline") if entry.available_offline else _("downloads from the Hugging Face hub")
        )
        st.markdown(" · ".join(facts))
        if not exact_below:
            st.caption(_("Memory: {hint}.").format(hint=tr(entry.memory_hint())))
        if entry.note:
            st.caption(tr(entry.note))
        if entry.trust_remote_code:
            st.warning(
                _(
                    "This model runs Python code from its hub repository on your machine. Allow it only if "
                    "you trust the authors of that repository."
                ),
                icon=":material/warning:",
            )
            bound(
                "trust_remote_code", st.checkbox, _("Trust remote code of {model}").format(model=entry.name)
            )

# -- Training Method --------------------------------------------------------------------------------
st.subheader(_("Fine-tuning"))
c1, c2 = st.columns(2)
with c1:
    bound(
        "training_method",
        st.selectbox,
        _("Training Method"),
        options=list(methods.names()),
        format_func=lambda m: _(methods.get_method(m).label),
    )
with c2:
    bound(
        "pooling_method",
        st.selectbox,
        _("Pooling Method"),
        options=list(vocab.POOLING_METHODS),
        format_func=lambda m: _(POOLING_TEXT[m]) if m in POOLING_TEXT else m,
    )

method = methods.get_method(state.cfg().method.training_method)
# Each method says which options it reads; their widgets show for it alone.
if "structure_seq" in method.fields:
    bound(
        "structure_seq",
        st.multiselect,
        options=list(vocab.STRUCTURE_SEQS),
        placeholder=_("choose at least one"),
    )
if "lora_r" in method.fields:
    family_targets = entry.lora_targets if entry is not None else ()
    with st.container(border=True):
        st.markdown(_("**LoRA Parameters**"))
        l1, l2, l3, l4 = st.columns(4)
        with l1:
            bound("lora_r", st.number_input, _("LoRA Rank"), min_value=1, step=1)
        with l2:
            bound("lora_alpha", st.number_input, _("LoRA Alpha"), min_value=0.0, step=1.0, to_widget=float)
        with l3:
            bound(
                "lora_dropout",
                st.number_input,
                _("LoRA Dropout"),
                min_value=0.0,
                max_value=0.99,
                step=0.05,
                to_widget=float,
            )
        with l4:
            bound(
                "lora_target_modules",
                st.text_input,
                _("LoRA Target Modules"),
                to_widget=lambda v: ",".join(v or family_targets),
                from_widget=lambda s: (
                    ()
                    if tuple(x.strip() for x in s.split(",") if x.strip()) == tuple(family_targets)
                    else tuple(x.strip() for x in s.split(",") if x.strip())
                ),
            )
        if family_targets:
            st.caption(
                _("Default for this model family: {modules}.").format(modules=", ".join(family_targets))
            )
if method.note:
    st.caption(_(method.note))

# -- Model Statistics -------------------------------------------------------------------------------
st.subheader(_("Model Statistics"))


@st.cache_data(show_spinner=False, max_entries=64)
def stats_for(config_json: str) -> dict:
    from venus_core import datasets, modeling

    cfg = RunConfig.from_dict(json.loads(config_json))
    with contextlib.suppress(VenusError):  # the real number of classes, when the dataset is known
        cfg = datasets.resolve_task(cfg)
    return modeling.model_stats_preview(cfg)


cfg = state.cfg()
relevant = (
    RunConfig()
    .with_values(
        **{
            k: cfg.get(k)
            for k in (
                "plm_model",
                "trust_remote_code",
                "training_method",
                "pooling_method",
                "structure_seq",
                "lora_r",
                "lora_target_modules",
                "dataset",
                "problem_type",
                "num_labels",
                "train_file",
            )
        }
    )
    .to_json()
)
offline = entry is not None and entry.available_offline
asked = st.session_state.get(keys.STATS_ASKED) == relevant
if offline or asked:
    try:
        with st.spinner(_("Counting parameters from the model's config (no weights are loaded)…")):
            stats = stats_for(relevant)
    except VenusError as e:
        show_error(e)
        stats = None
    except Exception as e:  # noqa: BLE001 - a model we cannot describe must not break the page
        st.error(
            _("Could not count the parameters of this model: {error}").format(
                error=f"{type(e).__name__}: {e}"
            )
        )
        stats = None
    if stats:
        cols = st.columns(5)
        cols[0].metric(
            _("Backbone (pre-trained)"),
            models.format_params(stats["backbone_params"]),
            help=_("{n:,} parameters").format(n=stats["backbone_params"]),
        )
        cols[1].metric(
            _("Adapters"),
            models.format_params(stats["adapter_params"]),
            help=_("{n:,} parameters added by the method").format(n=stats["adapter_params"]),
        )
        cols[2].metric(
            _("Head (task-specific)"),
            models.format_params(stats["head_params"]),
            help=_("{n:,} parameters: pooling head (and SES-Adapter)").format(n=stats["head_params"]),
        )
        cols[3].metric(
            _("Trainable"),
            models.format_params(stats["trainable_params"]),
            help=_("{n:,} of {total:,} parameters").format(
                n=stats["trainable_params"], total=stats["total_params"]
            ),
        )
        cols[4].metric(_("Trainable share"), f"{stats['trainable_percent']:.2f} %")
        mem = stats.get("memory_bytes") or {}
        if mem:
            # One unit for every figure of the line, activations included.
            total, weights, optimizer, act = memory.format_sizes(
                [mem["total"], mem["weights"], mem["optimizer_and_grads"], mem.get("activations", 0)]
            )
            if "activations" in mem and mem["activation_tokens"] < mem.get("batch_tokens", 0):
                extra = _(
                    "Activations of the largest piece a training step runs at once ({tokens} tokens; "
                    "on a CPU batches of up to {batch} tokens run in pieces): about **{act}**."
                ).format(
                    tokens=f"{int(mem['activation_tokens']):,}",
                    batch=f"{int(mem['batch_tokens']):,}",
                    act=act,
                )
            elif "activations" in mem:
                extra = _(
                    "Activations of the largest batch these settings allow "
                    "({tokens} tokens): about **{act}**."
                ).format(tokens=f"{int(mem['activation_tokens']):,}", act=act)
            else:
                extra = ""
            st.markdown(
                _(
                    "Estimated memory for training: **{total}** (weights {weights} + gradients and optimizer "
                    "state {optimizer}), plus activations, which grow with batch size × sequence length."
                ).format(total=total, weights=weights, optimizer=optimizer)
                + (" " + extra if extra else "")
            )
        if not stats.get("exact", True):
            st.caption(_("Estimated from the catalogue: the model's config could not be read (offline?)."))
else:
    st.caption(
        _("This model's config is on the Hugging Face hub; counting its parameters reads it from there.")
    )
    if st.button(_("Compute Model Statistics"), key="compute_stats", icon=":material/calculate:"):
        st.session_state[keys.STATS_ASKED] = relevant
        st.rerun()

st.divider()
nav.link(nav.TRAIN, label=_("Next: training settings and Start"), icon=":material/arrow_forward:")
