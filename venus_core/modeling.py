"""The model a run trains: backbone (+ method) -> optional SES-Adapter -> pooling head.

One builder serves training, evaluation and prediction, so a run directory reloads into exactly
the network that was trained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from venus_core import backbones, batching, devices, memory, models
from venus_core.batching import padded_lengths
from venus_core.config import RunConfig
from venus_core.errors import VenusError
from venus_core.fast_dropout import use_fast_dropout
from venus_core.heads import POOLING_HEADS
from venus_core.methods import Method, get_method

# Parameter names that PEFT adds; counted as adapters, and always saved with the checkpoint.
ADAPTER_MARKERS = ("lora_", "ia3_", "ranknum")


class ProteinModel(nn.Module):
    """Backbone -> (the method's fusion module, e.g. SES-Adapter) -> pooling head -> logits.

    ``embed`` and ``head_forward`` are split so that a frozen backbone's outputs can be cached and
    fed straight to the trainable part.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, method: Method, fusion: nn.Module | None = None):
        super().__init__()
        self.backbone = backbone
        self.fusion = fusion  # fuses other per-residue inputs (structure tokens) into the states
        self.head = head
        self.method = method

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.method.frozen_backbone:
            # A frozen backbone needs no graph: no activations are kept for backward.
            with torch.no_grad():
                return self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def head_forward(
        self,
        hidden: torch.Tensor,
        residue_mask: torch.Tensor,
        structure: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        if self.fusion is not None:
            hidden = self.fusion(hidden, residue_mask, structure or {})
        return self.head(hidden, residue_mask)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        residue_mask: torch.Tensor | None = None,
        structure: dict[str, torch.Tensor] | None = None,
        hidden: torch.Tensor | None = None,
        pooled: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits from tokens, from cached backbone states (``hidden``) or from cached pooled
        vectors (``pooled``). One entry point, so DDP's wrapper sees every path."""
        if pooled is not None:
            return self.head.classifier(pooled)
        if hidden is None:
            hidden = self.embed(input_ids, attention_mask)
        return self.head_forward(hidden, residue_mask, structure)

    def train(self, mode: bool = True) -> ProteinModel:
        super().train(mode)
        if self.method.frozen_backbone:
            self.backbone.eval()  # no dropout in a frozen backbone: its outputs are deterministic (cacheable)
        return self


@dataclass
class Built:
    model: ProteinModel
    tokenizer: backbones.Tokenizer
    arch: models.Architecture
    method: Method
    hidden_size: int


def num_outputs(cfg: RunConfig) -> int:
    return 1 if cfg.data.problem_type == "regression" else int(cfg.data.num_labels)


@dataclass
class Loaded:
    """A pretrained backbone and its tokenizer, before the method and head are applied (the
    trainer tokenizes in between, to count the optimizer steps AdaLoRA's schedule needs)."""

    backbone: nn.Module
    tokenizer: backbones.Tokenizer
    arch: models.Architecture


def load_pretrained(cfg: RunConfig, device: torch.device) -> Loaded:
    method = get_method(cfg.method.training_method)
    backbone, tokenizer, arch = backbones.load_backbone(
        cfg.model.plm_model, cfg.model.trust_remote_code, method.load_options(device)
    )
    if not method.places_its_weights():
        backbone = backbone.to(device)
    return Loaded(backbone, tokenizer, arch)


def build_model(
    cfg: RunConfig, device: torch.device, total_steps: int, loaded: Loaded | None = None
) -> Built:
    """Backbone (loaded unless given) -> fine-tuning method -> (fusion) -> head, on ``device``."""
    loaded = loaded or load_pretrained(cfg, device)
    method = get_method(cfg.method.training_method)
    tokenizer, arch = loaded.tokenizer, loaded.arch
    hidden = backbones.hidden_size_of(loaded.backbone)
    # .to: the adapters a method adds are created beside weights a loader may have placed itself
    backbone = method.prepare(loaded.backbone, cfg, arch, total_steps).to(device)
    fusion = method.fusion(hidden, cfg)
    head = POOLING_HEADS[cfg.method.pooling_method](hidden, num_outputs(cfg)).to(device)
    model = ProteinModel(backbone, head, method, fusion.to(device) if fusion is not None else None)
    use_fast_dropout(model)  # after the method: adapters bring their own dropouts
    return Built(model, tokenizer, arch, method, hidden)


def _numel(p: torch.Tensor) -> int:
    """Logical parameter count (a bitsandbytes 4-bit tensor stores two values per byte)."""
    qs = getattr(p, "quant_state", None)
    if qs is not None and getattr(qs, "shape", None) is not None:
        return int(math.prod(qs.shape))
    return p.numel()


def model_stats(model: ProteinModel) -> dict[str, Any]:
    """Parameter counts of backbone, adapters and head (and SES-Adapter), and the trainable share."""
    groups = {"backbone": [0, 0], "adapter": [0, 0], "head": [0, 0]}
    for name, p in model.named_parameters():
        if name.startswith("backbone."):
            group = "adapter" if any(m in name for m in ADAPTER_MARKERS) else "backbone"
        else:
            group = "head"  # pooling head and SES-Adapter: the task-specific modules
        groups[group][0] += _numel(p)
        groups[group][1] += _numel(p) if p.requires_grad else 0
    total = sum(g[0] for g in groups.values())
    trainable = sum(g[1] for g in groups.values())
    stats = {f"{k}_params": v[0] for k, v in groups.items()}
    stats.update({f"{k}_trainable": v[1] for k, v in groups.items()})
    stats.update(
        total_params=total,
        trainable_params=trainable,
        trainable_percent=100.0 * trainable / total if total else 0.0,
        method=model.method.name,
    )
    return stats


def model_stats_preview(cfg: RunConfig) -> dict[str, Any]:
    """Model Statistics before training, from the model's config alone (no weights downloaded).

    The backbone is instantiated on the ``meta`` device (no memory), the method and head applied,
    and the same ``model_stats`` counted, so the preview matches the run's ``model_stats.json``.
    Falls back to the catalogue's numbers when even the config cannot be read (offline hub model).
    """
    entry = models.find_entry(cfg.model.plm_model)
    try:
        source = models.resolve_model_source(cfg.model.plm_model)
        hf_config = backbones.load_config(source, cfg.model.trust_remote_code, local_only=True)
        arch = models.architecture_for(getattr(hf_config, "model_type", None))
        if arch.needs_remote_code:
            raise VenusError("remote code models are counted from the catalogue")
        cls = backbones._transformers_class(arch)
        kwargs = {"add_pooling_layer": False} if arch.name in ("esm", "bert") else {}
        with torch.device("meta"):
            backbone = cls(hf_config, **kwargs)
            method = get_method(cfg.method.training_method)
            backbone = method.counted_as().prepare(backbone, cfg, arch, total_steps=100)
            hidden = backbones.hidden_size_of(backbone)
            head = POOLING_HEADS[cfg.method.pooling_method](hidden, max(num_outputs_safe(cfg), 1))
            stats = model_stats(ProteinModel(backbone, head, method, method.fusion(hidden, cfg)))
        stats["exact"] = True
    except VenusError as e:
        if entry is None:
            raise
        stats = _catalogue_stats(entry, cfg)
        stats["exact"] = False
        stats["note"] = (
            "Estimated from the catalogue: the model's config is not on this machine yet "
            f"(it is downloaded when training starts). {e}"
        )
    frozen_bytes = get_method(cfg.method.training_method).frozen_weight_bytes
    stats["memory_bytes"] = memory.training_bytes(
        stats["total_params"], stats["trainable_params"], frozen_bytes
    )
    if stats.get("exact"):
        stats["memory_bytes"].update(_activation_estimate(cfg, hf_config))
    return stats


def _activation_estimate(cfg: RunConfig, hf_config: Any) -> dict[str, float]:
    """``memory.activation_bytes`` of the largest batch the settings allow: the token budget, or
    batch size x the longest sequence (max_seq_len + 2 special tokens; 1024 tokens without one).
    On a CPU a step runs its batch in pieces (``batching.piece_tokens``), so the largest piece
    counts: the budget, or one longest sequence if that is longer."""
    dims = [getattr(hf_config, k, None) for k in ("num_hidden_layers", "hidden_size", "intermediate_size")]
    heads = getattr(hf_config, "num_attention_heads", None)
    if not all(isinstance(v, int) and v > 0 for v in [*dims, heads]):
        return {}
    longest = int(padded_lengths(cfg.data.max_seq_len + 2 if cfg.data.max_seq_len > 0 else 1024))
    b = cfg.batch
    tokens = b.batch_token if b.batch_mode == "token" else b.batch_size * longest
    longest = min(longest, tokens)
    method = get_method(cfg.method.training_method)
    try:
        device = devices.pick_device(cfg.train.device)
        dtype = devices.autocast_dtype(device, cfg.train.mixed_precision)
    except (VenusError, RuntimeError, ValueError):
        device, dtype = None, None
    piece = batching.piece_tokens(device.type, dims[1]) if device is not None else None
    batch_tokens = tokens
    if piece is not None:
        tokens = min(tokens, max(piece, longest))
    attn = getattr(hf_config, "_attn_implementation", None)
    act = memory.activation_bytes(
        tokens,
        longest,
        n_layers=dims[0],
        hidden=dims[1],
        intermediate=dims[2],
        n_heads=heads,
        precision="fp32" if dtype is None else "bf16",
        trains_backbone=not method.frozen_backbone,
        lora="lora" in method.name,
        eager_attention=attn == "eager",
    )
    return {"activations": act, "activation_tokens": float(tokens), "batch_tokens": float(batch_tokens)}


def num_outputs_safe(cfg: RunConfig) -> int:
    if cfg.data.problem_type == "regression":
        return 1
    return int(cfg.data.num_labels or 2)


def _catalogue_stats(entry: models.ModelEntry, cfg: RunConfig) -> dict[str, Any]:
    h = entry.hidden_size or 1024
    n_out = num_outputs_safe(cfg)
    head = h * h + h + h * n_out + n_out  # mean/attention heads: two linear layers
    method = get_method(cfg.method.training_method)
    adapter = method.adapter_params_estimate(entry, cfg)
    backbone_trainable = entry.params if method.trains_backbone else 0
    trainable = head + backbone_trainable + adapter
    total = entry.params + adapter + head
    return {
        "backbone_params": entry.params,
        "adapter_params": adapter,
        "head_params": head,
        "backbone_trainable": backbone_trainable,
        "adapter_trainable": adapter,
        "head_trainable": head,
        "total_params": total,
        "trainable_params": trainable,
        "trainable_percent": 100.0 * trainable / total,
        "method": method.name,
    }


# -- saving and loading what a run trained ---------------------------------------------------------


def trainable_names(model: ProteinModel) -> list[str]:
    """State-dict keys a checkpoint holds on top of the pretrained backbone: trained parameters,
    every adapter tensor (AdaLoRA's rank state included) and the head."""
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    return [
        name
        for name in model.state_dict(keep_vars=True)
        if name in trainable or not name.startswith("backbone.") or any(m in name for m in ADAPTER_MARKERS)
    ]


def trainable_state(model: ProteinModel) -> dict[str, torch.Tensor]:
    """The tensors of ``trainable_names``, whole and on the CPU. Under FSDP each process holds a
    shard of every parameter: gathering them is collective, so every process must call this."""
    full = model.state_dict()
    state = {}
    for name in trainable_names(model):
        t = full[name].detach()
        if hasattr(t, "full_tensor"):  # an FSDP shard (DTensor)
            t = t.full_tensor()
        state[name] = t.to("cpu").contiguous()
    return state


def save_trainable(model: ProteinModel, path: Path, state: dict[str, torch.Tensor] | None = None) -> None:
    """Write ``state`` (default: ``trainable_state(model)``) as safetensors, atomically."""
    from safetensors.torch import save_file

    from venus_core.rundir import atomic_path

    state = trainable_state(model) if state is None else state
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt", "method": model.method.name})


def load_trainable(model: ProteinModel, path: Path) -> None:
    """Put a checkpoint's tensors into the model (every process of an FSDP run calls this: each
    keeps its own shard of each tensor)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from venus_core.distributed import is_sharded

    state = load_file(str(path))
    expected = set(trainable_names(model))
    missing, unexpected = expected - set(state), set(state) - expected
    if missing or unexpected:
        with safe_open(str(path), "pt") as f:
            written_by = (f.metadata() or {}).get("method")
        if written_by == model.method.name:
            raise VenusError(
                f"Checkpoint {path} holds a {written_by} model of another design: it was trained by an "
                "earlier version of this method (e.g. the SES-Adapter before it followed the published "
                "design) and cannot be loaded. Train the run again."
            )
        raise VenusError(
            f"Checkpoint {path} does not fit this model ({len(missing)} missing, {len(unexpected)} "
            "unexpected tensors): was it written by a run with another model or method?"
        )
    if is_sharded(model):
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

        set_model_state_dict(model, state, options=StateDictOptions(full_state_dict=True, strict=False))
    else:
        model.load_state_dict(state, strict=False)
