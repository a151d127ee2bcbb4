"""Scoring a model on a split: loss, metrics and per-example outputs. One code path for
validation, test, ``evaluate`` and ``predict``, so the four can never disagree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from venus_core import batching, distributed
from venus_core.backbones import hidden_size_of
from venus_core.batching import padded_lengths, shard_batches, split_batch
from venus_core.config import RunConfig
from venus_core.devices import autocast_dtype
from venus_core.errors import Aborted
from venus_core.metrics import compute_metrics, loss_fn, outputs_from_logits
from venus_core.pipeline import Encoded, eval_batches, iterate_batches


def evaluate(
    model,
    split: Encoded,
    cfg: RunConfig,
    device: torch.device,
    codec: Any,
    cached: Any = None,
    stop: Callable[[], bool] | None = None,
    d: distributed.Dist | None = None,
) -> tuple[float | None, dict[str, float], np.ndarray]:
    """Loss, metrics and per-example outputs (probabilities, or values in label units), in the
    split's original order. ``codec`` turns outputs back into label units (``denormalize``).

    Data-parallel: each rank scores a disjoint share of the batches and the outputs are gathered,
    so every example is counted exactly once."""
    d = d or distributed.Dist()
    logits = _logits(model, split, cfg, device, cached, stop, d)
    problem_type = cfg.data.problem_type
    outputs = outputs_from_logits(problem_type, logits).numpy()
    regression = problem_type == "regression"
    if regression:
        outputs = codec.denormalize(outputs)  # metrics and predictions in the label's own units
    if split.targets is None:
        return None, {}, outputs
    loss = float(loss_fn(problem_type)(logits, split.targets))
    targets = codec.denormalize(split.targets.numpy()) if regression else split.targets.numpy()
    metrics = compute_metrics(problem_type, cfg.data.metrics, outputs, targets, cfg.data.num_labels or 1)
    return loss, metrics, outputs


def _logits(model, split, cfg, device, cached, stop, d) -> torch.Tensor:
    """Every example's logits (float32, CPU), in the split's order."""
    model.eval()
    batches = eval_batches(split, cfg)
    if d.enabled:
        # Under FSDP every forward is collective, so every process needs the same number of
        # batches: padding repeats a few examples, whose second outputs are dropped below.
        batches = shard_batches(batches, d.rank, d.world_size, pad=distributed.is_sharded(model))
    elif cached is None and hasattr(model, "backbone"):
        # A CPU runs the backbone in pieces, as in training (batching.CPU_PIECE_ELEMENTS): faster,
        # and an inference batch's activations stay within the training step's.
        piece = batching.piece_tokens(device.type, hidden_size_of(model.backbone))
        if piece is not None:
            widths = padded_lengths(split.lengths)
            batches = [part for b in batches for part in split_batch(b, widths, piece)]
    order, parts = [], []
    autocast = autocast_dtype(device, cfg.train.mixed_precision)
    with torch.inference_mode():
        for idx, inputs in iterate_batches(split, batches, cached, 0, device):
            if stop is not None and stop():
                raise Aborted
            with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                logits = model(**inputs)
            parts.append(logits.float().cpu())
            order.extend(idx)
    if d.enabled:
        shares = distributed.all_gather(d, (order, parts))
        order = [i for o, _ in shares for i in o]
        parts = [part for _, share in shares for part in share]
    return in_split_order(torch.tensor(order), torch.cat(parts))


def in_split_order(order: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """One row per example, sorted by its index in the split; rows of repeated examples (padding
    of the last shard) are dropped, so each example counts exactly once."""
    rank = torch.argsort(order, stable=True)
    sorted_order = order[rank]
    first = torch.ones_like(sorted_order, dtype=torch.bool)
    first[1:] = sorted_order[1:] != sorted_order[:-1]
    return logits[rank[first]]
