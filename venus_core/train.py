"""``train(cfg, emit, should_stop) -> RunResult``: the one training entry point (dashboard and CLI).

A recipe (as torchtune's): ``_run`` calls named setup steps (data, device, model, embedding cache,
optimizer, resume), then the epochs (train -> validate -> keep the best -> early stop), then tests
the best model. The loop itself is ``loop.train_epoch``; checkpoints are ``checkpoint``; scoring
is ``evaluation.evaluate`` (shared with ``evaluate`` and ``predict``). Every observable fact leaves
as an event (``rundir.EventLog``); the dashboard and the CLI only listen.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from venus_core import allocator, batching, checkpoint, distributed, rundir
from venus_core.batching import padded_fraction
from venus_core.config import RunConfig
from venus_core.datasets import resolve_task
from venus_core.devices import autocast_dtype, pick_device, precision_name
from venus_core.errors import Aborted, VenusError
from venus_core.evaluation import evaluate
from venus_core.export import metrics_frame
from venus_core.i18n import N_
from venus_core.loop import (
    STEP_EVENT_INTERVAL_S,
    Loop,
    LoopState,
    improves,
    make_scheduler,
    seed_everything,
    steps_per_epoch,
    train_epoch,
)
from venus_core.modeling import build_model, load_pretrained, load_trainable, model_stats
from venus_core.pipeline import Encoded, encode_split, frozen_pass, predictions_frame, train_batches


@dataclass
class RunResult:
    run_dir: Path | None
    status: str  # completed | aborted | failed
    message: str = ""
    best_epoch: int | None = None
    best_value: float | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class Placement:
    """Where and in what precision the run computes (``_setup_device``)."""

    device: torch.device
    autocast: torch.dtype | None  # what forward passes compute in (None: float32)
    precision: str
    fsdp: bool  # sharded across torchrun's processes
    build_device: torch.device  # where the model is built: the CPU under FSDP, else ``device``


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
    run_path: Path | None = Path(run_dir) if run_dir else None
    try:
        cfg = resolve_task(cfg)
        if d.is_main:
            run_path = _open_run_dir(cfg, run_path, log, listeners, resume)
        run_path = Path(distributed.broadcast(d, str(run_path)))
        with allocator.keep_freed_blocks():  # large activations reused, not re-mapped each step
            result = _run(cfg, run_path, log, should_stop or (lambda: False), resume, d)
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
            log.emit("status", status="aborted", message=N_("Interrupted."))
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


def _open_run_dir(cfg: RunConfig, run_path: Path | None, log, listeners: list, resume: bool) -> Path:
    """The run folder (rank 0): created, its events file attached, its config written."""
    if run_path is None:
        run_path = rundir.new_run_dir(cfg)
    run_path.mkdir(parents=True, exist_ok=True)
    log.attach(run_path)
    if not resume:
        rundir.write_text(run_path / rundir.CONFIG, cfg.to_json())
    if cfg.output.wandb:
        from venus_core.wandb_sink import WandbSink

        listeners.append(WandbSink(cfg, run_path))
    return run_path


def _run(cfg: RunConfig, run_dir: Path, log, stop, resume: bool, d: distributed.Dist) -> RunResult:
    state = _resume_state(run_dir, log) if resume else LoopState()
    if state is None:
        done = checkpoint.read_loop_state(run_dir) or LoopState()
        return RunResult(run_dir, "completed", "already completed", done.best_epoch, done.best_value)
    log.emit("phase", phase="loading", epoch=state.epoch)
    cfg, data = _setup_data(cfg, run_dir, log, d)
    place = _setup_device(cfg, state, log, d)
    model, splits, total_steps, stats = _setup_model(cfg, data, place, d)
    if d.is_main:
        rundir.write_json(run_dir / rundir.MODEL_STATS, stats)
    cache = _setup_cache(model, splits, cfg, place, stop, log, d, state.epoch)
    loop = _setup_optimizer(cfg, model, place, total_steps, log, stop, d)
    if resume and state.epoch > 0:
        _restore(run_dir, loop, log, d)
    log.emit(
        "run_start",
        **_run_facts(cfg, run_dir, splits, stats, loop, place, state, d),
        embedding_cache=cache is not None,
    )
    loop.t0, loop.first_step = time.time(), state.global_step
    _epochs(loop, splits, data, cache, state, run_dir)
    test_metrics = _test(loop, splits, data, cache, state, run_dir)
    message = N_("Best epoch {epoch} ({monitor} {value}).").format(
        epoch=state.best_epoch, monitor=cfg.train.monitor, value=_fmt(state.best_value)
    )
    log.emit(
        "status",
        status="completed",
        message=message,
        best_epoch=state.best_epoch,
        best_value=state.best_value,
    )
    distributed.barrier(d)  # rank 0 has written the whole run folder before any process moves on
    return RunResult(run_dir, "completed", message, state.best_epoch, state.best_value, test_metrics)


# -- setup steps ------------------------------------------------------------------------------------


def _resume_state(run_dir: Path, log) -> LoopState | None:
    """The loop state to continue from; None when the run already completed."""
    if checkpoint.finished(run_dir):
        log.emit("log", level="info", message=N_("This run already completed; nothing to resume."))
        return None
    saved = checkpoint.read_loop_state(run_dir)
    if saved is None:
        raise VenusError(
            f"{run_dir} has no checkpoint to resume from: no epoch finished before it stopped. "
            "Start a new run instead."
        )
    return saved


def _setup_data(cfg: RunConfig, run_dir: Path, log, d: distributed.Dist):
    """Load, clean and check the data (the data doctor's errors stop the run)."""
    from venus_core.data import prepare

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
    return cfg, data


def _setup_device(cfg: RunConfig, state: LoopState, log, d: distributed.Dist) -> Placement:
    t = cfg.train
    device = distributed.device_for(d, pick_device(t.device))
    seed_everything(t.seed)
    autocast = autocast_dtype(device, t.mixed_precision)
    precision = precision_name(autocast)
    if state.precision not in (None, precision):  # resumed on another machine, say
        message = N_(
            "This run trained in {before} and resumes in {now}: it will not repeat the original run "
            "exactly (set mixed_precision to match, where this machine can)."
        ).format(before=state.precision, now=precision)
        log.emit("log", level="warning", message=message)
    state.precision = precision
    fsdp = t.fsdp and d.enabled
    if t.fsdp and not d.enabled:
        message = N_("fsdp needs torchrun with 2 or more processes; training without sharding.")
        log.emit("log", level="warning", message=message)
    if fsdp and autocast == torch.float16:
        raise VenusError(
            N_(
                "fsdp with mixed precision needs GPUs with bf16 (NVIDIA Ampere or newer); "
                "turn mixed_precision off."
            )
        )
    # FSDP: the backbone is built on the CPU and each process keeps only its shard on the device.
    return Placement(device, autocast, precision, fsdp, torch.device("cpu") if fsdp else device)


def _setup_model(cfg: RunConfig, data, place: Placement, d: distributed.Dist):
    """The backbone, the tokenized splits (once for the whole run), the method and the head."""
    mesh = distributed.fsdp_mesh(d, place.device) if place.fsdp else None
    # Under FSDP the processes of a node take turns, so host memory holds one whole backbone at a time.
    with distributed.in_turns(d, enabled=place.fsdp):
        loaded = load_pretrained(cfg, place.build_device)
        splits = {
            name: encode_split(frame, data, name, loaded.tokenizer, cfg)
            for name, frame in data.splits.items()
        }
        total_steps = sum(steps_per_epoch(splits["train"], cfg, d))
        model = build_model(cfg, place.build_device, total_steps, loaded).model
        stats = model_stats(model)  # before sharding: whole parameter counts
        if place.fsdp:
            distributed.shard(model, mesh, param_dtype=place.autocast)
    return model, splits, total_steps, stats


def _setup_cache(model, splits, cfg: RunConfig, place: Placement, stop, log, d, epoch: int):
    """A frozen backbone's outputs, computed once (rank 0 builds, the other ranks then open them)."""
    if not (model.method.frozen_backbone and cfg.train.embedding_cache):
        return None
    from venus_core import embedding_cache

    log.emit("phase", phase="caching", epoch=epoch)
    last = [0.0]

    def progress(done: int, total: int, work: float) -> None:  # throttled like step events
        if time.time() - last[0] >= STEP_EVENT_INTERVAL_S or done == total:
            last[0] = time.time()
            log.emit("phase", phase="caching", done=done, total=total, work=round(work, 6))

    def info(message: str) -> None:
        log.emit("log", level="info", message=message)

    device = place.device

    def batches(split: Encoded):
        return frozen_pass(split, cfg)

    build = functools.partial(embedding_cache.build, model, splits, cfg, device, stop, batches=batches)
    cache = build(info, progress) if d.is_main else None
    distributed.barrier(d)
    if not d.is_main:
        cache = build()
    if cache is None:
        raise Aborted
    return cache


def _setup_optimizer(cfg: RunConfig, model, place: Placement, total_steps: int, log, stop, d) -> Loop:
    t = cfg.train
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=t.learning_rate)
    return Loop(
        cfg=cfg,
        model=model,
        ddp=model if place.fsdp else distributed.wrap(d, model, place.device),
        optimizer=optimizer,
        scheduler=make_scheduler(optimizer, t.scheduler, t.warmup_steps, total_steps),
        scaler=torch.amp.GradScaler("cuda", enabled=place.autocast == torch.float16),
        device=place.device,
        d=d,
        total_steps=total_steps,
        log=log,
        stop=stop,
        hooks=model.method.training_hooks(model),
        autocast=place.autocast,
    )


def _restore(run_dir: Path, loop: Loop, log, d: distributed.Dist) -> None:
    saved_world = checkpoint.restore(run_dir, loop.model, loop.optimizer, loop.scheduler, d)
    if saved_world != d.world_size:
        message = N_(
            "This run was saved by {saved} process(es) and resumes with {now}: batches are shared out "
            "differently, so it will not repeat the original run exactly."
        ).format(saved=saved_world, now=d.world_size)
        log.emit("log", level="warning", message=message)


def _run_facts(cfg, run_dir, splits: dict[str, Encoded], stats, loop: Loop, place, state, d) -> dict:
    """What the ``run_start`` event says about the run."""
    return dict(
        run_dir=str(run_dir),
        config=cfg.to_dict(),
        model_stats=stats,
        n_train=len(splits["train"]),
        n_valid=len(splits["validation"]),
        n_test=len(splits["test"]) if "test" in splits else 0,
        total_steps=loop.total_steps,
        steps_per_epoch=steps_per_epoch(splits["train"], cfg, d)[0],
        num_epochs=cfg.train.num_epochs,
        device=str(place.device),
        precision=place.precision,
        world_size=d.world_size,
        fsdp=place.fsdp,
        resumed_from_epoch=state.epoch,
        padded_fraction=padded_fraction(
            train_batches(splits["train"], cfg, 1), splits["train"].lengths, batching.PAD_MULTIPLE
        ),
    )


# -- the epochs and the test ------------------------------------------------------------------------


def _epochs(loop: Loop, splits, data, cache, state: LoopState, run_dir: Path) -> None:
    """Train -> validate -> keep the best -> early stop, from the epoch after the last finished."""
    cfg, log, d, t = loop.cfg, loop.log, loop.d, loop.cfg.train
    for epoch in range(state.epoch + 1, t.num_epochs + 1):
        if state.stopped_early:
            break
        log.emit("phase", phase="train", epoch=epoch)
        epoch_t0 = time.time()
        train_loss, residues_per_s = train_epoch(
            loop, splits["train"], epoch, state, cache and cache.get("train")
        )
        log.emit("phase", phase="validate", epoch=epoch)
        val_cache = cache and cache.get("validation")
        val_loss, val_metrics, _ = evaluate(
            loop.model, splits["validation"], cfg, loop.device, data, val_cache, loop.stop, d
        )
        row = {
            "epoch": epoch,
            "train/loss": train_loss,
            "val/loss": val_loss,
            **{f"val/{k}": v for k, v in val_metrics.items()},
            "epoch_seconds": time.time() - epoch_t0,
            "train_residues_per_s": residues_per_s,
            "lr": loop.scheduler.get_last_lr()[0],
        }
        state.history.append({k: rundir.clean_number(v) for k, v in row.items()})
        log.emit("epoch", **row)
        # Every rank has the same gathered metrics, so every rank takes the same decision here.
        _keep_best(
            loop, state, epoch, val_loss if t.monitor == "loss" else val_metrics.get(t.monitor), run_dir
        )
        state.epoch = epoch
        if d.is_main:
            _write_metrics_csv(run_dir, state.history)
        checkpoint.save(run_dir, loop.model, loop.optimizer, loop.scheduler, state, d)
        distributed.barrier(d)


def _keep_best(loop: Loop, state: LoopState, epoch: int, value, run_dir: Path) -> None:
    t = loop.cfg.train
    if improves(value, state.best_value, t.monitor_strategy, state.best_epoch is not None):
        state.best_epoch, state.best_value = epoch, rundir.clean_number(value)
        state.epochs_without_improvement = 0
        checkpoint.save_best(run_dir, loop.model, loop.cfg, loop.d)
        loop.log.emit("best", epoch=epoch, monitor=t.monitor, value=value)
        return
    state.epochs_without_improvement += 1
    if state.epochs_without_improvement >= t.patience:
        state.stopped_early = True
        message = N_("Early stopping: no better {monitor} for {patience} epochs.").format(
            monitor=t.monitor, patience=t.patience
        )
        loop.log.emit("log", level="info", message=message)


def _test(loop: Loop, splits, data, cache, state: LoopState, run_dir: Path) -> dict[str, float]:
    """The best model (never the last one) on the test split: metrics, predictions, files."""
    cfg, log, d = loop.cfg, loop.log, loop.d
    load_trainable(loop.model, rundir.checkpoint_dir(run_dir, "best") / checkpoint.TRAINABLE)
    if "test" not in splits:
        log.emit("log", level="warning", message=N_("No test split: no test metrics were computed."))
        return {}
    log.emit("phase", phase="test", epoch=state.epoch)
    test_loss, metrics, outputs = evaluate(
        loop.model, splits["test"], cfg, loop.device, data, cache and cache.get("test"), loop.stop, d
    )
    test_metrics = {"loss": test_loss, **metrics}
    if d.is_main:
        with rundir.atomic_path(run_dir / rundir.TEST_METRICS) as tmp:
            metrics_frame(test_metrics, cfg.data.problem_type).to_csv(tmp, index=False)
        with rundir.atomic_path(run_dir / rundir.TEST_PREDICTIONS) as tmp:
            predictions_frame(data.splits["test"], outputs, cfg).to_csv(tmp, index=False)
    log.emit("test", **{f"test/{k}": v for k, v in test_metrics.items()})
    return test_metrics


# -- how a run ends -----------------------------------------------------------------------------------


def aborted_message(run_dir: Path | None) -> tuple[str, int]:
    """What an aborted run kept, said exactly: its finished epochs and whether Resume can go on."""
    state = checkpoint.read_loop_state(run_dir) if run_dir is not None else None
    done = state.epoch if state is not None else 0
    if done == 0:
        return N_("Aborted before the first epoch finished: no checkpoint was written, nothing to resume."), 0
    if done == 1:
        message = N_(
            "Aborted; epoch 1 finished and is kept (checkpoints/last and the best model): Resume goes on "
            "from there."
        )
    else:
        message = N_(
            "Aborted; epochs 1-{done} finished and are kept (checkpoints/last and the best model): Resume "
            "goes on from there."
        ).format(done=done)
    return message, done


def describe_failure(e: BaseException) -> str:
    """A human message for failures that are not the user's input: memory, disk, internal errors."""
    text = str(e)
    if isinstance(e, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in text.lower():
        return N_(
            "Out of memory. Lower the batch size or tokens per batch, set a max sequence length, use "
            "gradient accumulation for the same effective batch, or choose a 4-bit method (QLoRA) or a "
            "smaller model."
        )
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return N_("The disk is full ({file}). Free space or choose another save directory.").format(
            file=e.filename or ""
        )
    return N_("Internal error: {error}. Details are in error.log in the run folder.").format(
        error=f"{type(e).__name__}: {text}"
    )


def _write_metrics_csv(run_dir: Path, history: list[dict[str, Any]]) -> None:
    header = list(dict.fromkeys(k for row in history for k in row))
    rundir.write_csv(run_dir / rundir.METRICS, header, [[row.get(k) for k in header] for row in history])


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4g}"
