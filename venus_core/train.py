"""``train(cfg, emit, should_stop) -> RunResult``: the one training entry point (dashboard and CLI).

Reads top to bottom: resolve the config, load and check the data, build the model, tokenize once,
then epochs of (train -> validate -> keep the best -> early stop), then test the best model. Every
observable fact leaves as an event (``rundir.EventLog``); the dashboard and the CLI only listen.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import math
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from venus_core import distributed, rundir, vocab
from venus_core.batching import (
    accumulation_group_sizes,
    accumulation_weights,
    padded_fraction,
    shard_batches,
)
from venus_core.config import RunConfig
from venus_core.datasets import resolve_task
from venus_core.devices import autocast_dtype, pick_device, precision_name
from venus_core.errors import VenusError
from venus_core.export import metrics_frame
from venus_core.methods import adalora_orthogonality, adalora_state, load_adalora_state
from venus_core.metrics import compute_metrics, loss_fn, outputs_from_logits
from venus_core.modeling import (
    build_model,
    load_pretrained,
    load_trainable,
    model_stats,
    save_trainable,
    trainable_state,
)
from venus_core.pipeline import (
    Encoded,
    encode_split,
    eval_batches,
    iterate_batches,
    predictions_frame,
    train_batches,
)

STEP_EVENT_INTERVAL_S = 0.5  # step events are throttled: a UI cannot show more, the log stays small


class Aborted(Exception):
    """The user asked to stop (Abort button, SIGINT)."""


@dataclass
class RunResult:
    run_dir: Path | None
    status: str  # completed | aborted | failed
    message: str = ""
    best_epoch: int | None = None
    best_value: float | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)


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


def train(
    cfg: RunConfig,
    emit: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
) -> RunResult:
    """Train one run. Never raises for a failed run: the result (and the last event) says why.

    ``run_dir``: an allocated run folder (the dashboard allocates it up front), or the folder of an
    interrupted run when ``resume`` is true. Under ``torchrun`` every rank calls this; rank 0
    alone writes the run folder and emits events.
    """
    d = distributed.from_env()
    listeners = [emit] if emit and d.is_main else []
    log = rundir.EventLog(None, lambda e: [f(e) for f in listeners])
    stop = should_stop or (lambda: False)
    run_path: Path | None = Path(run_dir) if run_dir else None
    try:
        cfg = resolve_task(cfg)
        if d.is_main:
            if run_path is None:
                run_path = rundir.new_run_dir(cfg)
            run_path.mkdir(parents=True, exist_ok=True)
            log.attach(run_path)
            if not resume:
                rundir.write_text(run_path / rundir.CONFIG, cfg.to_json())
            if cfg.output.wandb:
                from venus_core.wandb_sink import WandbSink

                listeners.append(WandbSink(cfg, run_path))
        run_path = Path(distributed.broadcast(d, str(run_path)))
        result = _run(cfg, run_path, log, stop, resume, d)
        # Under torchrun: every process waits for the others, then ends its process group. A
        # process that exits while another still holds the group (or leaves it to interpreter
        # exit) can abort ("terminate called without an active exception"). Only on success: on a
        # failure the other processes may never reach the barrier.
        distributed.shutdown(d)
        return result
    except Aborted:
        message, epochs_done = aborted_message(run_path)
        log.emit("status", status="aborted", message=message, epochs_done=epochs_done)
        return RunResult(run_path, "aborted", message)
    except VenusError as e:
        log.emit("status", status="failed", message=str(e))
        return RunResult(run_path, "failed", str(e))
    except BaseException as e:  # noqa: BLE001 - every failure must end the run with a status event
        if isinstance(e, KeyboardInterrupt):
            log.emit("status", status="aborted", message="Interrupted.")
            return RunResult(run_path, "aborted", "interrupted")
        message = describe_failure(e)
        if run_path is not None and d.is_main:
            with contextlib.suppress(OSError):
                (run_path / "error.log").write_text(traceback.format_exc(), encoding="utf-8")
        log.emit("status", status="failed", message=message)
        return RunResult(run_path, "failed", message)
    finally:
        log.close()
        for f in listeners[1:]:
            getattr(f, "close", lambda: None)()


def aborted_message(run_dir: Path | None) -> tuple[str, int]:
    """What an aborted run kept, said exactly: its finished epochs and whether Resume can go on."""
    state = _read_loop_state(run_dir) if run_dir is not None else None
    done = state.epoch if state is not None else 0
    if done == 0:
        return "Aborted before the first epoch finished: no checkpoint was written, nothing to resume.", 0
    epochs = "epoch 1 finished and is" if done == 1 else f"epochs 1-{done} finished and are"
    return (
        f"Aborted; {epochs} kept (checkpoints/last and the best model): Resume goes on from there.",
        done,
    )


def describe_failure(e: BaseException) -> str:
    """A human message for failures that are not the user's input: memory, disk, internal errors."""
    text = str(e)
    if isinstance(e, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in text.lower():
        return (
            "Out of memory. Lower the batch size or tokens per batch, set a max sequence length, use "
            "gradient accumulation for the same effective batch, or choose plm-qlora / a smaller model."
        )
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return f"The disk is full ({e.filename or ''}). Free space or choose another save directory."
    return f"Internal error: {type(e).__name__}: {text}. Details are in error.log in the run folder."


@dataclass
class Loop:
    """What one epoch of training needs (built once per run by ``_run``)."""

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
    adalora: Callable[[int], None] | None = None
    penalty: Callable[[], torch.Tensor] | None = None  # a regulariser added to the loss (AdaLoRA's)
    autocast: torch.dtype | None = None  # what forward passes compute in (None: float32)
    t0: float = 0.0  # when this session started training, and at which step (for the ETA)
    first_step: int = 0
    last_event: float = 0.0


def _run(
    cfg: RunConfig,
    run_dir: Path,
    log: rundir.EventLog,
    stop: Callable[[], bool],
    resume: bool,
    d: distributed.Dist,
) -> RunResult:
    from venus_core.data import prepare

    t = cfg.train
    state = LoopState()
    if resume:
        if _finished(run_dir):
            log.emit("log", level="info", message="This run already completed; nothing to resume.")
            done = _read_loop_state(run_dir) or LoopState()
            return RunResult(run_dir, "completed", "already completed", done.best_epoch, done.best_value)
        saved = _read_loop_state(run_dir)
        if saved is None:
            raise VenusError(
                f"{run_dir} has no checkpoint to resume from: no epoch finished before it stopped. "
                "Start a new run instead."
            )
        state = saved

    log.emit("phase", phase="loading", epoch=state.epoch)
    data, report = prepare(cfg)
    if data is None:
        raise VenusError(report.format_errors())
    for issue in report.warnings:
        log.emit("log", level="warning", message=issue.message)
    if cfg.data.num_labels != data.num_labels:  # inferred from the labels by the data doctor
        cfg = cfg.with_values(num_labels=data.num_labels)
        if d.is_main:
            rundir.write_text(run_dir / rundir.CONFIG, cfg.to_json())
    if d.is_main:
        rundir.write_json(run_dir / rundir.LABEL_CODEC, data.to_dict())
    device = distributed.device_for(d, pick_device(t.device))
    seed_everything(t.seed)
    autocast = autocast_dtype(device, t.mixed_precision)
    precision = precision_name(autocast)
    if state.precision not in (None, precision):  # resumed on another machine, say
        message = (
            f"This run trained in {state.precision} and resumes in {precision}: it will not repeat the "
            "original run exactly (set mixed_precision to match, where this machine can)."
        )
        log.emit("log", level="warning", message=message)
    state.precision = precision
    fsdp = t.fsdp and d.enabled
    if t.fsdp and not d.enabled:
        message = "fsdp needs torchrun with 2 or more processes; training without sharding."
        log.emit("log", level="warning", message=message)
    if fsdp and autocast == torch.float16:
        raise VenusError(
            "fsdp with mixed precision needs GPUs with bf16 (NVIDIA Ampere or newer); "
            "turn mixed_precision off."
        )
    # FSDP: the backbone is built on the CPU and each process keeps only its shard on the device;
    # the processes of a node take turns, so host memory holds one whole backbone at a time.
    build_device = torch.device("cpu") if fsdp else device
    mesh = distributed.fsdp_mesh(d, device) if fsdp else None
    with distributed.in_turns(d, enabled=fsdp):
        loaded = load_pretrained(cfg, build_device)
        splits = {
            name: encode_split(frame, data, name, loaded.tokenizer, cfg)
            for name, frame in data.splits.items()
        }
        # The scheduler and AdaLoRA need the true number of optimizer steps before training starts:
        # batches depend only on (seed, epoch), so they can be counted now.
        steps_per_epoch = [
            math.ceil(len(_rank_batches(splits["train"], cfg, epoch, d)) / t.gradient_accumulation_steps)
            for epoch in range(1, t.num_epochs + 1)
        ]
        built = build_model(cfg, build_device, sum(steps_per_epoch), loaded)
        model = built.model
        stats = model_stats(model)  # before sharding: whole parameter counts
        if fsdp:
            distributed.shard(model, mesh, param_dtype=autocast)
    if d.is_main:
        rundir.write_json(run_dir / rundir.MODEL_STATS, stats)
    cache = None
    if built.method.frozen_backbone and t.embedding_cache:
        log.emit("phase", phase="caching", epoch=state.epoch)
        cache = _embedding_cache(model, splits, cfg, device, stop, log, d)

    wrapped = model if fsdp else distributed.wrap(d, model, device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=t.learning_rate)
    scheduler = make_scheduler(optimizer, t.scheduler, t.warmup_steps, sum(steps_per_epoch))
    if resume and state.epoch > 0:
        saved_world = _restore(run_dir, model, optimizer, scheduler, d)
        if saved_world != d.world_size:
            message = (
                f"This run was saved by {saved_world} process(es) and resumes with {d.world_size}: "
                "batches are shared out differently, so it will not repeat the original run exactly."
            )
            log.emit("log", level="warning", message=message)
    adalora = penalty = None
    if built.method.name == "adalora":
        adalora = model.backbone.base_model.update_and_allocate
        penalty = functools.partial(adalora_orthogonality, model.backbone)
    loop = Loop(
        cfg,
        model,
        wrapped,
        optimizer,
        scheduler,
        torch.amp.GradScaler("cuda", enabled=autocast == torch.float16),
        device,
        d,
        sum(steps_per_epoch),
        log,
        stop,
        adalora,
        penalty,
        autocast,
    )
    log.emit(
        "run_start",
        run_dir=str(run_dir),
        config=cfg.to_dict(),
        model_stats=stats,
        n_train=len(splits["train"]),
        n_valid=len(splits["validation"]),
        n_test=len(splits["test"]) if "test" in splits else 0,
        total_steps=loop.total_steps,
        steps_per_epoch=steps_per_epoch[0],
        num_epochs=t.num_epochs,
        device=str(device),
        precision=precision,
        world_size=d.world_size,
        fsdp=fsdp,
        resumed_from_epoch=state.epoch,
        embedding_cache=cache is not None,
        padded_fraction=padded_fraction(train_batches(splits["train"], cfg, 1), splits["train"].lengths),
    )
    loop.t0, loop.first_step = time.time(), state.global_step
    monitor = t.monitor
    for epoch in range(state.epoch + 1, t.num_epochs + 1):
        if state.stopped_early:
            break
        log.emit("phase", phase="train", epoch=epoch)
        epoch_t0 = time.time()
        train_loss, residues_per_s = _train_epoch(
            loop, splits["train"], epoch, state, cache and cache.get("train")
        )
        log.emit("phase", phase="validate", epoch=epoch)
        val_loss, val_metrics, _ = evaluate(
            model, splits["validation"], cfg, device, data, cache and cache.get("validation"), stop, d
        )
        row = {
            "epoch": epoch,
            "train/loss": train_loss,
            "val/loss": val_loss,
            **{f"val/{k}": v for k, v in val_metrics.items()},
            "epoch_seconds": time.time() - epoch_t0,
            "train_residues_per_s": residues_per_s,
            "lr": scheduler.get_last_lr()[0],
        }
        state.history.append({k: rundir.clean_number(v) for k, v in row.items()})
        log.emit("epoch", **row)
        # Every rank has the same gathered metrics, so every rank takes the same decision here.
        value = val_loss if monitor == "loss" else val_metrics.get(monitor)
        if improves(value, state.best_value, t.monitor_strategy, state.best_epoch is not None):
            state.best_epoch, state.best_value = epoch, rundir.clean_number(value)
            state.epochs_without_improvement = 0
            _save_best(run_dir, model, cfg, d)
            log.emit("best", epoch=epoch, monitor=monitor, value=value)
        else:
            state.epochs_without_improvement += 1
            if state.epochs_without_improvement >= t.patience:
                state.stopped_early = True
                log.emit(
                    "log",
                    level="info",
                    message=f"Early stopping: no better {monitor} for {t.patience} epochs.",
                )
        state.epoch = epoch
        if d.is_main:
            _write_metrics_csv(run_dir, state.history)
        _save_last(run_dir, model, optimizer, scheduler, state, d)
        distributed.barrier(d)

    # Test the best model, never the last one.
    load_trainable(model, rundir.checkpoint_dir(run_dir, "best") / "trainable.safetensors")
    test_metrics: dict[str, float] = {}
    if "test" in splits:
        log.emit("phase", phase="test", epoch=state.epoch)
        test_loss, metrics, outputs = evaluate(
            model, splits["test"], cfg, device, data, cache and cache.get("test"), stop, d
        )
        test_metrics = {"loss": test_loss, **metrics}
        if d.is_main:
            with rundir.atomic_path(run_dir / rundir.TEST_METRICS) as tmp:
                metrics_frame(test_metrics, cfg.data.problem_type).to_csv(tmp, index=False)
            with rundir.atomic_path(run_dir / rundir.TEST_PREDICTIONS) as tmp:
                predictions_frame(data.splits["test"], outputs, cfg).to_csv(tmp, index=False)
        log.emit("test", **{f"test/{k}": v for k, v in test_metrics.items()})
    else:
        log.emit("log", level="warning", message="No test split: no test metrics were computed.")
    message = f"Best epoch {state.best_epoch} ({monitor} {_fmt(state.best_value)})."
    log.emit(
        "status",
        status="completed",
        message=message,
        best_epoch=state.best_epoch,
        best_value=state.best_value,
    )
    distributed.barrier(d)  # rank 0 has written the whole run folder before any process moves on
    return RunResult(run_dir, "completed", message, state.best_epoch, state.best_value, test_metrics)


def _embedding_cache(model, splits, cfg, device, stop, log, d: distributed.Dist):
    """Frozen backbone outputs, computed once (rank 0 builds, the other ranks then open them)."""
    from venus_core import embedding_cache

    def info(message: str) -> None:
        log.emit("log", level="info", message=message)

    last = [0.0]

    def progress(done: int, total: int) -> None:  # throttled like step events
        if time.time() - last[0] >= STEP_EVENT_INTERVAL_S or done == total:
            last[0] = time.time()
            log.emit("phase", phase="caching", done=done, total=total)

    cache = embedding_cache.build(model, splits, cfg, device, stop, info, progress) if d.is_main else None
    distributed.barrier(d)
    if not d.is_main:
        cache = embedding_cache.build(model, splits, cfg, device, stop)
    if cache is None:
        raise Aborted
    return cache


def _rank_batches(split: Encoded, cfg: RunConfig, epoch: int, d: distributed.Dist) -> list[list[int]]:
    """This rank's share of the epoch's batches (all of them in a single process)."""
    batches = train_batches(split, cfg, epoch)
    return shard_batches(batches, d.rank, d.world_size, pad=True) if d.enabled else batches


def _train_epoch(loop: Loop, split: Encoded, epoch: int, state: LoopState, cached) -> tuple[float, float]:
    """One pass over this rank's batches; returns (mean train loss, training residues/s)."""
    cfg, d, t = loop.cfg, loop.d, loop.cfg.train
    accum = t.gradient_accumulation_steps
    criterion = loss_fn(cfg.data.problem_type)
    autocast = loop.autocast
    params = [p for p in loop.model.parameters() if p.requires_grad]
    loop.model.train()
    batches = _rank_batches(split, cfg, epoch, d)
    # Each example weighs the same in an optimizer step, however the micro-batches are cut. The
    # losses are means over a batch's examples (over its examples' labels for multi-label BCE: the
    # same number per example), so weighting each mean by its example count is exact.
    sizes = [len(b) for b in batches]
    group_totals = distributed.all_sum(d, *accumulation_group_sizes(sizes, accum)) if sizes else []
    weights = accumulation_weights(sizes, accum, group_totals, d.world_size)
    t0, loss_sum, n_seen, residues = time.time(), 0.0, 0, 0
    for i, (idx, inputs) in enumerate(iterate_batches(split, batches, cached, t.num_workers, loop.device)):
        if distributed.any_true(d, loop.stop()):
            raise Aborted
        group_start = i - i % accum
        group_size = min(accum, len(batches) - group_start)
        last_micro_batch = i - group_start + 1 == group_size
        # Gradients are all-reduced only on the micro-batch that ends an accumulation group.
        with distributed.no_sync(d, loop.ddp, sync=last_micro_batch):
            with torch.autocast(loop.device.type, dtype=autocast, enabled=autocast is not None):
                logits = loop.ddp(**inputs)
                loss = criterion(logits.float(), split.targets[idx].to(loop.device))
            objective = loss * weights[i]
            if loop.penalty is not None:  # a per-step regulariser: counted once per optimizer step
                objective = objective + loop.penalty() / group_size
            loop.scaler.scale(objective).backward()
        loss_sum += loss.item() * len(idx)
        n_seen += len(idx)
        residues += sum(split.residues[j] for j in idx)
        if not last_micro_batch:
            continue
        if t.max_grad_norm > 0:  # clip once per optimizer step, on the accumulated gradient
            loop.scaler.unscale_(loop.optimizer)
            torch.nn.utils.clip_grad_norm_(params, t.max_grad_norm)
        loop.scaler.step(loop.optimizer)
        loop.scaler.update()
        loop.scheduler.step()
        state.global_step += 1
        if loop.adalora is not None:
            loop.adalora(state.global_step)  # AdaLoRA's rank budget update reads this step's gradients
        loop.optimizer.zero_grad(set_to_none=True)
        _step_event(loop, epoch, state.global_step, loss_sum / n_seen, last=i == len(batches) - 1)
    seconds = time.time() - t0
    loss_sum, n_seen, residues = distributed.all_sum(d, loss_sum, n_seen, residues)
    return loss_sum / max(n_seen, 1), residues / max(seconds, 1e-9)


def _step_event(loop: Loop, epoch: int, step: int, loss: float, last: bool) -> None:
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


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def evaluate(model, split: Encoded, cfg: RunConfig, device, data, cached=None, stop=None, d=None):
    """Loss, metrics and per-example outputs (probabilities, or values in label units), in the
    split's original order. One code path for validation, test, ``evaluate`` and ``predict``.

    Data-parallel: each rank scores a disjoint share of the batches and the outputs are gathered,
    so every example is counted exactly once."""
    d = d or distributed.Dist()
    model.eval()
    batches = eval_batches(split, cfg)
    if d.enabled:
        # Under FSDP every forward is collective, so every process needs the same number of
        # batches: padding repeats a few examples, whose second outputs are dropped below.
        batches = shard_batches(batches, d.rank, d.world_size, pad=distributed.is_sharded(model))
    order, logits_parts = [], []
    autocast = autocast_dtype(device, cfg.train.mixed_precision)
    with torch.inference_mode():
        for idx, inputs in iterate_batches(split, batches, cached, 0, device):
            if stop is not None and stop():
                raise Aborted
            with torch.autocast(device.type, dtype=autocast, enabled=autocast is not None):
                logits = model(**inputs)
            logits_parts.append(logits.float().cpu())
            order.extend(idx)
    if d.enabled:
        shares = distributed.all_gather(d, (order, logits_parts))
        order = [i for o, _ in shares for i in o]
        logits_parts = [part for _, parts in shares for part in parts]
    logits = _in_split_order(torch.tensor(order), torch.cat(logits_parts))
    outputs = outputs_from_logits(cfg.data.problem_type, logits).numpy()
    regression = cfg.data.problem_type == "regression"
    if regression:
        outputs = data.denormalize(outputs)  # metrics and predictions in the label's own units
    if split.targets is None:
        return None, {}, outputs
    loss = float(loss_fn(cfg.data.problem_type)(logits, split.targets))
    targets = data.denormalize(split.targets.numpy()) if regression else split.targets.numpy()
    metrics = compute_metrics(
        cfg.data.problem_type, cfg.data.metrics, outputs, targets, cfg.data.num_labels or 1
    )
    return loss, metrics, outputs


def _in_split_order(order: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """One row per example, sorted by its index in the split; rows of repeated examples (padding
    of the last shard) are dropped, so each example counts exactly once."""
    rank = torch.argsort(order, stable=True)
    sorted_order = order[rank]
    first = torch.ones_like(sorted_order, dtype=torch.bool)
    first[1:] = sorted_order[1:] != sorted_order[:-1]
    return logits[rank[first]]


def _save_best(run_dir: Path, model, cfg: RunConfig, d: distributed.Dist) -> None:
    """Under FSDP every process takes part in gathering the tensors; only rank 0 writes."""
    if not (d.is_main or distributed.is_sharded(model)):
        return
    state = trainable_state(model)
    if not d.is_main:
        return
    with rundir.atomic_dir(run_dir / rundir.CHECKPOINTS / "best") as tmp:
        save_trainable(model, tmp / "trainable.safetensors", state)
        if hasattr(model.backbone, "peft_config"):  # PEFT's own format, for other tools
            prefix = "backbone."
            backbone_state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            model.backbone.save_pretrained(str(tmp / "adapter"), state_dict=backbone_state)
    # The guide's "Output Model Name": the best model's trained tensors, as safetensors.
    save_trainable(model, run_dir / rundir.model_file_name(cfg.output.output_model_name), state)


def _optimizer_state(model, optimizer) -> dict[str, Any]:
    """The optimizer's state, whole. Under FSDP it is gathered from the shards (collective; the
    full state lands on rank 0) and keyed by parameter name rather than position."""
    if not distributed.is_sharded(model):
        return optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

    return get_optimizer_state_dict(
        model, optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True)
    )


def _load_optimizer_state(model, optimizer, saved: dict[str, Any]) -> None:
    if not distributed.is_sharded(model):
        optimizer.load_state_dict(saved)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    set_optimizer_state_dict(model, optimizer, saved, options=StateDictOptions(full_state_dict=True))


def _save_last(run_dir: Path, model, optimizer, scheduler, state: LoopState, d: distributed.Dist) -> None:
    from safetensors.torch import save_file

    # Every process's random state is kept: ranks draw different dropout masks (their batches
    # differ in shape), so one shared state would not continue each rank's stream exactly.
    rngs = distributed.all_gather(d, _rng_state())
    sharded = distributed.is_sharded(model)
    if not (d.is_main or sharded):
        return
    weights, opt_state = trainable_state(model), _optimizer_state(model, optimizer)
    if not d.is_main:
        return
    rng: dict[str, torch.Tensor] = {}
    for r, (tensors, _) in enumerate(rngs):
        rng.update({_rank_key(r, k): v for k, v in tensors.items()})
    loop = {
        **state.__dict__,
        "world_size": d.world_size,
        **rngs[0][1],
        "rank_rngs": [py_np for _, py_np in rngs[1:]],
    }
    adalora = adalora_state(model.backbone) if model.method.name == "adalora" else None
    if adalora:
        loop["adalora"] = adalora[1]
    with rundir.atomic_dir(run_dir / rundir.CHECKPOINTS / "last") as tmp:
        save_trainable(model, tmp / "trainable.safetensors", weights)
        torch.save({"optimizer": opt_state, "scheduler": scheduler.state_dict()}, tmp / "optimizer.pt")
        save_file(rng, str(tmp / "rng.safetensors"))
        if adalora:
            save_file(adalora[0], str(tmp / "adalora.safetensors"))
        rundir.write_json(tmp / "trainer_state.json", loop)


def _rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """This process's random state: torch (CPU, every GPU) as tensors; Python and NumPy as JSON."""
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        tensors.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    np_state = np.random.get_state()
    return tensors, {
        "python_rng": _to_json(random.getstate()),
        "numpy_rng": [np_state[0], np_state[1].tolist(), *np_state[2:]],
    }


def _rank_key(rank: int, key: str) -> str:
    return key if rank == 0 else f"rank{rank}.{key}"  # rank 0 keeps the single-process names


def _to_json(o):
    return [_to_json(x) for x in o] if isinstance(o, (tuple, list)) else o


def _read_loop_state(run_dir: Path) -> LoopState | None:
    path = rundir.checkpoint_dir(run_dir, "last") / "trainer_state.json"
    if not path.exists():
        return None
    d = json.loads(path.read_text(encoding="utf-8"))
    return LoopState(**{k: d[k] for k in LoopState.__dataclass_fields__ if k in d})


def _finished(run_dir: Path) -> bool:
    return any(
        e.get("type") == "status" and e.get("status") == "completed" for e in rundir.read_events(run_dir)
    )


def _restore(run_dir: Path, model, optimizer, scheduler, d: distributed.Dist) -> int:
    """Put model, optimizer, scheduler and every RNG back to the end of the last finished epoch.
    Returns the number of processes the run had when it was saved."""
    from safetensors.torch import load_file

    last = rundir.checkpoint_dir(run_dir, "last")
    load_trainable(model, last / "trainable.safetensors")
    opt = torch.load(last / "optimizer.pt", map_location="cpu", weights_only=True)
    _load_optimizer_state(model, optimizer, opt["optimizer"])
    scheduler.load_state_dict(opt["scheduler"])
    loop = json.loads((last / "trainer_state.json").read_text(encoding="utf-8"))
    if model.method.name == "adalora" and (last / "adalora.safetensors").exists():
        load_adalora_state(model.backbone, load_file(str(last / "adalora.safetensors")), loop["adalora"])
    # Each process continues its own random stream; with another number of processes than the
    # run started with, every process takes rank 0's (the run goes on, but not bit-identically).
    rank = d.rank if loop.get("world_size", 1) == d.world_size else 0
    saved = load_file(str(last / "rng.safetensors"))
    rng = {k: saved[_rank_key(rank, k)] for k in saved if "." not in k}  # rank 0's names, this rank's values
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available():
        cuda = sorted((int(k[4:]), v) for k, v in rng.items() if k.startswith("cuda"))
        torch.cuda.set_rng_state_all([v for _, v in cuda])
    py_np = loop if rank == 0 else loop["rank_rngs"][rank - 1]
    py = py_np["python_rng"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npr = py_np["numpy_rng"]
    np.random.set_state((npr[0], np.array(npr[1], dtype=np.uint32), *npr[2:]))
    return loop.get("world_size", 1)


def _write_metrics_csv(run_dir: Path, history: list[dict[str, Any]]) -> None:
    header = list(dict.fromkeys(k for row in history for k in row))
    rundir.write_csv(run_dir / rundir.METRICS, header, [[row.get(k) for k in header] for row in history])


# -- CLI --------------------------------------------------------------------------------------------


def _print_event(e: dict[str, Any]) -> None:
    """Human progress on stderr for the CLI (the machine-readable log is events.jsonl)."""
    kind = e["type"]
    if kind == "run_start":
        s = e["model_stats"]
        print(
            f"run folder: {e['run_dir']}\ndevice: {e['device']} ({e['precision']}); "
            f"{e['n_train']} train / {e['n_valid']} validation / {e['n_test']} test sequences; "
            f"trainable parameters {s['trainable_params']:,} of "
            f"{s['total_params']:,} ({s['trainable_percent']:.2f}%)",
            file=sys.stderr,
        )
    elif kind == "epoch":
        vals = "  ".join(f"{k}={_fmt(v)}" for k, v in e.items() if k.startswith(("train/", "val/")))
        print(f"epoch {e['epoch']}: {vals}  ({e['epoch_seconds']:.1f} s)", file=sys.stderr)
    elif kind == "best":
        print(f"  new best {e['monitor']} {_fmt(e['value'])}", file=sys.stderr)
    elif kind == "test":
        print(
            "test: " + "  ".join(f"{k}={_fmt(v)}" for k, v in e.items() if k.startswith("test/")),
            file=sys.stderr,
        )
    elif kind == "log":
        print(f"{e['level']}: {e['message']}", file=sys.stderr)
    elif kind == "status":
        print(f"{e['status']}: {e['message']}", file=sys.stderr)


def _run_cli(run: Callable[[Callable[[], bool]], RunResult]) -> int:
    """SIGINT asks the loop to stop at the next step (state saved, exit 130); a second one kills."""
    requested = {"stop": False}

    def on_sigint(signum, frame):
        if requested["stop"]:
            raise KeyboardInterrupt
        requested["stop"] = True
        print("stopping after the current step... (Ctrl-C again to force)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = run(lambda: requested["stop"])
    finally:
        signal.signal(signal.SIGINT, previous)
    return {"completed": 0, "aborted": 130}.get(result.status, 1)


def cli_train(cfg: RunConfig) -> int:
    cfg.validate()
    return _run_cli(lambda stop: train(cfg, emit=_print_event, should_stop=stop))


def cli_resume(run_dir: str) -> int:
    path = Path(run_dir)
    if not (path / rundir.CONFIG).exists():
        raise VenusError(f"{run_dir} is not a run folder (no {rundir.CONFIG}).")
    cfg = RunConfig.load(path / rundir.CONFIG)
    return _run_cli(lambda stop: train(cfg, emit=_print_event, should_stop=stop, run_dir=path, resume=True))


__all__ = ["RunResult", "train", "evaluate", "improves", "make_scheduler", "vocab"]
