"""The training loop: one epoch over this process's batches, and what it needs.

``Loop`` holds what every epoch uses (built once per run by the recipe in ``train``), ``LoopState``
what a run must remember to continue exactly where it stopped (saved in ``checkpoints/last``).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from venus_core import backbones, batching, distributed, rundir
from venus_core.batching import (
    accumulation_group_sizes,
    micro_batches,
    padded_lengths,
    shard_batches,
)
from venus_core.config import RunConfig
from venus_core.errors import Aborted
from venus_core.methods import TrainingHooks
from venus_core.metrics import loss_fn
from venus_core.pipeline import Encoded, iterate_batches, train_batches

STEP_EVENT_INTERVAL_S = 0.5  # step events are throttled: a UI cannot show more, the log stays small


@dataclass
class LoopState:
    """Everything the loop needs to continue exactly where it stopped (saved in checkpoints/last)."""

    epoch: int = 0  # last completed epoch (1-based)
    global_step: int = 0
    best_epoch: int | None = None
    best_value: float | None = None
    epochs_without_improvement: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    precision: str | None = None  # what the run computes in; None in checkpoints saved before it was kept


@dataclass(kw_only=True)
class Loop:
    """What an epoch of training needs."""

    cfg: RunConfig
    model: Any  # the ProteinModel
    ddp: Any  # the same model, wrapped by DDP when data-parallel
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    device: torch.device
    d: distributed.Dist
    total_steps: int
    log: rundir.EventLog
    stop: Callable[[], bool]
    hooks: TrainingHooks = field(default_factory=TrainingHooks)  # the method's extra loss, per-step work
    autocast: torch.dtype | None = None  # what forward passes compute in (None: float32)
    t0: float = 0.0  # when this session started training, and at which step (for the ETA)
    first_step: int = 0
    last_event: float = 0.0


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def improves(value: float | None, best: float | None, direction: str, has_best: bool) -> bool:
    """The first epoch is always the best so far (so a best model always exists); after that a
    finite value must beat the best; NaN never improves, but anything finite beats a NaN best."""
    if not has_best:
        return True
    if value is None or not math.isfinite(value):
        return False
    if best is None or not math.isfinite(best):
        return True
    return value > best if direction == "max" else value < best


def make_scheduler(optimizer: torch.optim.Optimizer, name: str | None, warmup: int, total: int):
    """LR multiplier per *optimizer* step: warmup from 0, then constant/linear/cosine/step decay.

    ``step`` divides the LR by 10 at 50% and 75% of training (a milestone schedule in optimizer
    steps; not every 30 micro-batches)."""
    total = max(total, 1)

    def factor(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        progress = min(max(step - warmup, 0) / max(total - warmup, 1), 1.0)
        if name == "linear":
            return max(0.0, 1.0 - progress)
        if name == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        if name == "step":
            return 0.1 ** ((progress >= 0.5) + (progress >= 0.75))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def rank_batches(split: Encoded, cfg: RunConfig, epoch: int, d: distributed.Dist) -> list[list[int]]:
    """This rank's share of the epoch's batches (all of them in a single process)."""
    batches = train_batches(split, cfg, epoch)
    return shard_batches(batches, d.rank, d.world_size, pad=True) if d.enabled else batches


def steps_per_epoch(split: Encoded, cfg: RunConfig, d: distributed.Dist) -> list[int]:
    """Optimizer steps of every epoch, known before training (batches depend only on the seed and
    the epoch): the scheduler and AdaLoRA's rank schedule need the true total."""
    accum = cfg.train.gradient_accumulation_steps
    return [
        math.ceil(len(rank_batches(split, cfg, e, d)) / accum) for e in range(1, cfg.train.num_epochs + 1)
    ]


def piece_tokens(loop: Loop, cached) -> int | None:
    """The largest micro-batch a step runs at once (``batching.CPU_PIECE_ELEMENTS``: why), or None
    for whole batches: on GPUs, and when the backbone's output is cached (only a head runs)."""
    if cached is not None:
        return None
    return batching.piece_tokens(loop.device.type, backbones.hidden_size_of(loop.model.backbone))


def train_epoch(loop: Loop, split: Encoded, epoch: int, state: LoopState, cached) -> tuple[float, float]:
    """One pass over this rank's batches; returns (mean train loss, training residues/s)."""
    cfg, d, t = loop.cfg, loop.d, loop.cfg.train
    accum = t.gradient_accumulation_steps
    criterion = loss_fn(cfg.data.problem_type)
    params = [p for p in loop.model.parameters() if p.requires_grad]
    loop.model.train()
    batches = rank_batches(split, cfg, epoch, d)
    # Each example weighs the same in an optimizer step, however the micro-batches are cut. The
    # losses are means over a batch's examples (over its examples' labels for multi-label BCE: the
    # same number per example), so weighting each mean by its example count is exact.
    sizes = [len(b) for b in batches]
    group_totals = distributed.all_sum(d, *accumulation_group_sizes(sizes, accum)) if sizes else []
    micro = micro_batches(
        batches,
        padded_lengths(split.lengths),
        accum,
        group_totals,
        d.world_size,
        piece_tokens(loop, cached),
    )
    extra_loss, after_step = loop.hooks.extra_loss, loop.hooks.after_step
    t0, loss_sum, n_seen, residues = time.time(), 0.0, 0, 0
    pieces = iterate_batches(split, micro.indices, cached, t.num_workers, loop.device)
    for i, (idx, inputs) in enumerate(pieces):
        # Ranks may cut their batches into different numbers of pieces, so the collective check
        # runs once per optimizer step there; a single process checks before every piece.
        starts_step = i == 0 or micro.ends_step[i - 1]
        if (starts_step or not d.enabled) and distributed.any_true(d, loop.stop()):
            raise Aborted
        # Gradients are all-reduced only on the micro-batch that ends an accumulation group.
        with distributed.no_sync(d, loop.ddp, sync=micro.ends_step[i]):
            with torch.autocast(loop.device.type, dtype=loop.autocast, enabled=loop.autocast is not None):
                logits = loop.ddp(**inputs)
                loss = criterion(logits.float(), split.targets[idx].to(loop.device))
            objective = loss * micro.weights[i]
            if extra_loss is not None:  # a per-step regulariser: counted once per optimizer step
                objective = objective + extra_loss() / micro.per_step[i]
            loop.scaler.scale(objective).backward()
        loss_sum += loss.item() * len(idx)
        n_seen += len(idx)
        residues += sum(split.residues[j] for j in idx)
        if not micro.ends_step[i]:
            continue
        _optimizer_step(loop, params)
        state.global_step += 1
        if after_step is not None:
            after_step(state.global_step)  # reads this step's gradients: before they are zeroed
        loop.optimizer.zero_grad(set_to_none=True)
        step_event(loop, epoch, state.global_step, loss_sum / n_seen, last=i == len(micro.indices) - 1)
    seconds = time.time() - t0
    loss_sum, n_seen, residues = distributed.all_sum(d, loss_sum, n_seen, residues)
    return loss_sum / max(n_seen, 1), residues / max(seconds, 1e-9)


def _optimizer_step(loop: Loop, params: list[torch.Tensor]) -> None:
    max_norm = loop.cfg.train.max_grad_norm
    if max_norm > 0:  # clip once per optimizer step, on the accumulated gradient
        loop.scaler.unscale_(loop.optimizer)
        torch.nn.utils.clip_grad_norm_(params, max_norm)
    loop.scaler.step(loop.optimizer)
    loop.scaler.update()
    loop.scheduler.step()


def step_event(loop: Loop, epoch: int, step: int, loss: float, last: bool) -> None:
    """Throttled progress: loss, learning rate, fraction of the whole run done, elapsed and ETA."""
    now = time.time()
    if now - loop.last_event < STEP_EVENT_INTERVAL_S and not last:
        return
    loop.last_event = now
    done = step - loop.first_step
    elapsed = now - loop.t0
    eta = elapsed / done * (loop.total_steps - step) if done > 0 else None
    loop.log.emit(
        "step",
        epoch=epoch,
        step=step,
        **{"train/loss": loss},
        lr=loop.scheduler.get_last_lr()[0],
        fraction=step / loop.total_steps,
        elapsed=elapsed,
        eta=eta,
    )
