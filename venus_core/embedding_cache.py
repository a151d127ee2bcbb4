"""The frozen-embedding cache: run a frozen backbone once, reuse its outputs every epoch and run.

For ``freeze`` and ``ses-adapter`` the backbone never changes, so its outputs are a pure function of
(model weights, token ids). We store them under ``<save dir>/.embedding_cache/<fingerprint>/``:
pooled vectors (fp32) when the head pools without parameters (mean pooling, no SES-Adapter),
otherwise per-token states in a memory-mapped fp16 file. The fingerprint hashes the model's
identity, the exact token ids of every split (so dataset, truncation and tokenizer are all
covered) and the precision the backbone ran in; anything changed gives a new fingerprint, never a
stale cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from venus_core import rundir, tokens
from venus_core.config import RunConfig
from venus_core.devices import autocast_dtype
from venus_core.i18n import N_

CACHE_DIR_NAME = ".embedding_cache"
FORMAT_VERSION = 1


# One batch of the frozen pass: row indices, padded token ids, attention mask, residue mask.
FrozenBatch = tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass
class SplitFeatures:
    """One split's cached backbone outputs."""

    pooled: torch.Tensor | None  # (N, H) float32
    states: np.ndarray | None  # (total tokens, H) float16, memory-mapped
    offsets: np.ndarray | None  # (N + 1,) token offsets of each sequence into ``states``

    def token_states(self, i: int) -> torch.Tensor:
        return torch.from_numpy(
            np.asarray(self.states[self.offsets[i] : self.offsets[i + 1]], dtype=np.float32)
        )

    def token_rows(self, rows: np.ndarray) -> torch.Tensor:
        """The states of several sequences, back to back (float32)."""
        parts = [self.states[self.offsets[i] : self.offsets[i + 1]] for i in rows]
        return torch.from_numpy(np.concatenate(parts).astype(np.float32))


def pooled_only(model) -> bool:
    return not model.head.pool_has_parameters and model.fusion is None


def model_identity(model) -> dict[str, Any]:
    """What identifies the backbone's weights: a local folder's weight files (name, size, mtime) or
    a hub id with the commit it was downloaded at."""
    config = model.backbone.config
    source = str(getattr(config, "_name_or_path", ""))
    ident: dict[str, Any] = {"source": source, "commit": getattr(config, "_commit_hash", None)}
    if os.path.isdir(source):
        ident["files"] = sorted(
            (p.name, p.stat().st_size, p.stat().st_mtime_ns)
            for p in Path(source).iterdir()
            if p.suffix in (".safetensors", ".bin", ".pt", ".json", ".txt", ".model")
        )
    return ident


def fingerprint(model, splits: dict[str, Any], cfg: RunConfig, autocast: torch.dtype | None = None) -> str:
    h = hashlib.sha256()
    meta = {
        "version": FORMAT_VERSION,
        "model": model_identity(model),
        "pooled": pooled_only(model),
        "pooling": cfg.method.pooling_method if pooled_only(model) else None,
        "dtype": str(next(model.backbone.parameters()).dtype),
    }
    if autocast is not None:  # only then, so float32 caches built before mixed precision still match
        meta["autocast"] = str(autocast)
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    for name in sorted(splits):
        h.update(name.encode())
        # Each sequence's ids as int32 bytes + b"|" (the same bytes as before the flat layout, so
        # caches built by earlier versions are still found).
        tokens.hash_rows(h, splits[name].arrays)
    return h.hexdigest()[:24]


def estimate_bytes(splits: dict[str, Any], hidden_size: int, pooled: bool) -> int:
    if pooled:
        return sum(len(s) for s in splits.values()) * hidden_size * 4
    return int(sum(s.lengths.sum() for s in splits.values())) * hidden_size * 2


def pass_cost(lengths: np.ndarray, hidden: int) -> np.ndarray:
    """Each sequence's share of the frozen pass: per layer ~24 L d^2 FLOPs in the linear layers and
    ~4 L^2 d in attention for L tokens at hidden size d, attention weighted four times. The weight
    is measured: on the subcellular demo's pass (ESM2-8M, 2-core CPU) progress counted this way
    advanced at a steady rate (within 2% from 1,024-token to 591-token proteins), at plain FLOPs
    14% faster on the shorter ones. The pass runs the longest sequences first: counted in
    sequences, its first minutes read ~0% and its ETA hours for a pass of ten minutes."""
    n = np.asarray(lengths, dtype=np.int64)
    return n * (6 * hidden + 4 * n)


def load_or_build(
    model,
    splits: dict[str, Any],
    cfg: RunConfig,
    device: torch.device,
    stop: Callable[[], bool],
    log: Callable[[str], None] = lambda message: None,
    progress: Callable[[int, int, float], None] = lambda done, total, work: None,
    *,
    batches: Callable[[Any], Iterable[FrozenBatch]],
) -> dict[str, SplitFeatures] | None:
    """The cached features of every split, built if missing; None if ``stop()`` interrupted.
    ``batches(split)`` yields the frozen pass's batches (``pipeline.frozen_pass``: this module is
    handed them, it does not batch). ``progress(done, total, work)`` is called after each batch:
    sequences embedded of all, and the share of the pass's work done (``pass_cost``), which the time
    left follows although the longest sequences go first."""

    # The backbone runs in the run's precision, as it would every epoch without the cache.
    autocast = autocast_dtype(device, cfg.train.mixed_precision)
    root = (
        Path(cfg.output.output_dir).expanduser() / CACHE_DIR_NAME / fingerprint(model, splits, cfg, autocast)
    )
    pooled = pooled_only(model)
    if (root / "meta.json").exists():
        log(N_("Reusing the frozen-embedding cache {folder}.").format(folder=root))
        return _open(root, splits, pooled)
    hidden = _hidden_size(model)  # the mean-pooled vector has the hidden size too
    size = estimate_bytes(splits, hidden, pooled)
    log(
        N_("Building the frozen-embedding cache ({size:.1f} MB) in {folder}: the backbone runs once.").format(
            size=size / 1e6, folder=root
        )
    )
    model.eval()
    cost = {name: pass_cost(split.lengths, hidden) for name, split in splits.items()}
    total_cost = float(sum(c.sum() for c in cost.values()))
    done, total, done_cost = 0, sum(len(split) for split in splits.values()), 0.0
    with rundir.atomic_dir(root) as tmp, torch.inference_mode():
        for name, split in splits.items():
            offsets = np.concatenate([[0], np.cumsum(split.lengths)]).astype(np.int64)
            if pooled:
                out = np.zeros((len(split), hidden), dtype=np.float32)
            else:
                out = np.lib.format.open_memmap(
                    tmp / f"{name}.states.npy", mode="w+", dtype=np.float16, shape=(int(offsets[-1]), hidden)
                )
            for idx, input_ids, attention, mask in batches(split):
                if stop():
                    raise _Stopped
                with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                    states = model.embed(input_ids.to(device), attention.to(device)).float()
                if pooled:
                    out[idx] = model.head.pool(states, mask.to(device)).cpu().numpy()
                else:
                    for row, i in enumerate(idx):
                        out[offsets[i] : offsets[i + 1]] = states[row, : split.lengths[i]].cpu().numpy()
                done += len(idx)
                done_cost += float(cost[name][np.asarray(idx, dtype=np.int64)].sum())
                progress(done, total, done_cost / total_cost)
            if pooled:
                np.save(tmp / f"{name}.pooled.npy", out)
            else:
                out.flush()
                del out
                np.save(tmp / f"{name}.offsets.npy", offsets)
        rundir.write_json(
            tmp / "meta.json", {"splits": {k: len(v) for k, v in splits.items()}, "pooled": pooled}
        )
    return _open(root, splits, pooled)


class _Stopped(Exception):
    pass


def _hidden_size(model) -> int:
    from venus_core.backbones import hidden_size_of

    return hidden_size_of(model.backbone)


def _open(root: Path, splits: dict[str, Any], pooled: bool) -> dict[str, SplitFeatures]:
    out = {}
    for name in splits:
        if pooled:
            out[name] = SplitFeatures(torch.from_numpy(np.load(root / f"{name}.pooled.npy")), None, None)
        else:
            states = np.load(root / f"{name}.states.npy", mmap_mode="r")
            out[name] = SplitFeatures(None, states, np.load(root / f"{name}.offsets.npy"))
    return out


def build(
    model, splits, cfg, device, stop, log=lambda m: None, progress=lambda done, total, work: None, *, batches
):
    """``load_or_build`` that returns None when interrupted (the half-built folder is discarded)."""
    try:
        return load_or_build(model, splits, cfg, device, stop, log, progress, batches=batches)
    except _Stopped:
        return None
