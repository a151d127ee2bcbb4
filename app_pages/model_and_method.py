"""Model and Method: protein language model, fine-tuning method, pooling, LoRA, Model Statistics."""

from __future__ import annotations

import contextlib
import json

import streamlit as st

from ui import keys, nav, state
from ui.widgets import bound, fmt_params, show_error
from venus_core import memory, methods, models, vocab
from venus_core.config import RunConfig
from venus_core.errors import VenusError

st.title("Model and Method")
st.caption("Which pre-trained protein language model to start from, and how much of it to train.")

CATALOGUE, LOCAL = "Catalogue", "Local folder"
POOLING_TEXT = {
    "mean": "mean — average of the residue embeddings",
    "attention1d": "attention1d — learned attention over residues",
    "light_attention": "light_attention — light attention (convolutions + attention)",
}
catalogue = models.catalogue_entries()
by_id = {e.id: e for e in catalogue}


def group_of(e: models.ModelEntry) -> str:
    return "Embedded (offline)" if e.source == "embedded" else e.family


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
    "Model source",
    [CATALOGUE, LOCAL],
    key=keys.MODEL_SOURCE,
    horizontal=True,
    help="A model from the catalogue (the embedded one works offline; the others download from the Hugging "
    "Face hub on first use), or a folder on this machine written by save_pretrained.",
)

with st.container(border=True):
    if source == CATALOGUE:
        ids = [e.id for e in catalogue]
        if st.session_state.get(keys.PLM_SELECT) not in ids:
            st.session_state[keys.PLM_SELECT] = plm if plm in ids else ids[0]
        chosen = st.selectbox(
            "Protein Language Model",
            ids,
            key=keys.PLM_SELECT,
            format_func=lambda i: (
                f"{group_of(by_id[i])} · {by_id[i].name} · {models.format_params(by_id[i].params)}"
                + (" · offline" if by_id[i].available_offline else "")
            ),
            help="Grouped by model family, with the number of parameters. "
            "Larger models need more memory and time.",
        )
        if chosen != plm:
            on_model_change(chosen)
    else:
        folder = st.text_input(
            "Local model folder",
            value=plm if plm not in by_id else "",
            key=keys.PLM_LOCAL,
            placeholder="/path/to/model (config.json, weights and tokenizer files)",
            help="A folder written by save_pretrained: config.json, model weights and tokenizer files.",
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
        facts = [f"**{entry.family}**"]
        if not exact_below:
            facts.append(f"about {fmt_params(entry.params)} parameters")
        if entry.hidden_size:
            facts.append(f"hidden size {entry.hidden_size}")
        if entry.num_layers:
            facts.append(f"{entry.num_layers} layers")
        if entry.max_length:
            facts.append(f"up to {entry.max_length:,} residues")
        facts.append("works offline" if entry.available_offline else "downloads from the Hugging Face hub")
        st.markdown(" · ".join(facts))
        if not exact_below:
            st.caption(f"Memory: {entry.memory_hint()}.")
        if entry.note:
            st.caption(entry.note)
        if entry.trust_remote_code:
            st.warning(
                "This model runs Python code from its hub repository on your machine. Allow it only if you "
                "trust the authors of that repository.",
                icon=":material/warning:",
            )
            bound("trust_remote_code", st.checkbox, f"Trust remote code of {entry.name}")

# -- Training Method --------------------------------------------------------------------------------
st.subheader("Fine-tuning")
c1, c2 = st.columns(2)
with c1:
    bound(
        "training_method",
        st.selectbox,
        "Training Method",
        options=list(methods.names()),
        format_func=lambda m: methods.get_method(m).label,
    )
with c2:
    bound(
        "pooling_method",
        st.selectbox,
        "Pooling Method",
        options=list(vocab.POOLING_METHODS),
        format_func=lambda m: POOLING_TEXT.get(m, m),
    )

method = methods.get_method(state.cfg().method.training_method)
# Each method says which options it reads; their widgets show for it alone.
if "structure_seq" in method.fields:
    bound(
        "structure_seq", st.multiselect, options=list(vocab.STRUCTURE_SEQS), placeholder="choose at least one"
    )
if "lora_r" in method.fields:
    family_targets = entry.lora_targets if entry is not None else ()
    with st.container(border=True):
        st.markdown("**LoRA Parameters**")
        l1, l2, l3, l4 = st.columns(4)
        with l1:
            bound("lora_r", st.number_input, "LoRA Rank", min_value=1, step=1)
        with l2:
            bound("lora_alpha", st.number_input, "LoRA Alpha", min_value=0.0, step=1.0, to_widget=float)
        with l3:
            bound(
                "lora_dropout",
                st.number_input,
                "LoRA Dropout",
                min_value=0.0,
                max_value=0.99,
                step=0.05,
                to_widget=float,
            )
        with l4:
            bound(
                "lora_target_modules",
                st.text_input,
                "LoRA Target Modules",
                to_widget=lambda v: ",".join(v or family_targets),
                from_widget=lambda s: (
                    ()
                    if tuple(x.strip() for x in s.split(",") if x.strip()) == tuple(family_targets)
                    else tuple(x.strip() for x in s.split(",") if x.strip())
                ),
            )
        if family_targets:
            st.caption(f"Default for this model family: {', '.join(family_targets)}.")
if method.note:
    st.caption(method.note)

# -- Model Statistics -------------------------------------------------------------------------------
st.subheader("Model Statistics")


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
        with st.spinner("Counting parameters from the model's config (no weights are loaded)…"):
            stats = stats_for(relevant)
    except VenusError as e:
        show_error(e)
        stats = None
    except Exception as e:  # noqa: BLE001 - a model we cannot describe must not break the page
        st.error(f"Could not count the parameters of this model: {type(e).__name__}: {e}")
        stats = None
    if stats:
        cols = st.columns(5)
        cols[0].metric(
            "Backbone (pre-trained)",
            models.format_params(stats["backbone_params"]),
            help=f"{stats['backbone_params']:,} parameters",
        )
        cols[1].metric(
            "Adapters",
            models.format_params(stats["adapter_params"]),
            help=f"{stats['adapter_params']:,} parameters added by the method",
        )
        cols[2].metric(
            "Head (task-specific)",
            models.format_params(stats["head_params"]),
            help=f"{stats['head_params']:,} parameters: pooling head (and SES-Adapter)",
        )
        cols[3].metric(
            "Trainable",
            models.format_params(stats["trainable_params"]),
            help=f"{stats['trainable_params']:,} of {stats['total_params']:,} parameters",
        )
        cols[4].metric("Trainable share", f"{stats['trainable_percent']:.2f} %")
        mem = stats.get("memory_bytes") or {}
        if mem:
            total, weights, optimizer = memory.format_sizes(
                [mem["total"], mem["weights"], mem["optimizer_and_grads"]]
            )
            if "activations" in mem:
                (act,) = memory.format_sizes([mem["activations"]])
                extra = (
                    f", plus activations of about **{act}** for the largest batch these settings allow "
                    f"({int(mem['activation_tokens']):,} tokens; they grow with batch size × length)."
                )
            else:
                extra = ", plus activations, which grow with batch size × sequence length."
            st.markdown(
                f"Estimated memory for training: **{total}** (weights {weights} + gradients and optimizer "
                f"state {optimizer}){extra}"
            )
        if not stats.get("exact", True):
            st.caption("Estimated from the catalogue: the model's config could not be read (offline?).")
else:
    st.caption("This model's config is on the Hugging Face hub; counting its parameters reads it from there.")
    if st.button("Compute Model Statistics", key="compute_stats", icon=":material/calculate:"):
        st.session_state[keys.STATS_ASKED] = relevant
        st.rerun()

st.divider()
nav.link(nav.TRAIN, label="Next: training settings and Start", icon=":material/arrow_forward:")
