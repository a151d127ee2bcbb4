"""Checkpoints of a run: ``save`` the best and the last epoch, ``restore`` the last one.

``checkpoints/best`` holds the best epoch's trained tensors (and PEFT's adapter folder, for other
tools); the run folder's "Output Model Name" file is the same tensors. ``checkpoints/last`` adds
everything a resumed run needs to continue exactly: optimizer and scheduler state, every process's
random state, the loop's state and the fine-tuning method's own state. Every folder is written
under a temporary name and swapped in, so a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from venus_core import distributed, rundir
from venus_core.config import RunConfig
from venus_core.loop import LoopState
from venus_core.modeling import load_trainable, save_trainable, trainable_state

TRAINABLE = "trainable.safetensors"
OPTIMIZER = "optimizer.pt"
RNG = "rng.safetensors"
LOOP_STATE = "trainer_state.json"


def save_best(run_dir: Path, model, cfg: RunConfig, d: distributed.Dist) -> None:
    """Under FSDP every process takes part in gathering the tensors; only rank 0 writes."""
    if not (d.is_main or distributed.is_sharded(model)):
        return
    state = trainable_state(model)
    if not d.is_main:
        return
    with rundir.atomic_dir(run_dir / rundir.CHECKPOINTS / "best") as tmp:
        save_trainable(model, tmp / TRAINABLE, state)
        if hasattr(model.backbone, "peft_config"):  # PEFT's own format, for other tools
            prefix = "backbone."
            backbone_state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            model.backbone.save_pretrained(str(tmp / "adapter"), state_dict=backbone_state)
    # The guide's "Output Model Name": the best model's trained tensors, as safetensors.
    save_trainable(model, run_dir / rundir.model_file_name(cfg.output.output_model_name), state)


def save(run_dir: Path, model, optimizer, scheduler, state: LoopState, d: distributed.Dist) -> None:
    """``checkpoints/last``: the end of the epoch just finished, whole (gathered under FSDP)."""
    from safetensors.torch import save_file

    # Every process's random state is kept: ranks draw different dropout masks (their batches
    # differ in shape), so one shared state would not continue each rank's stream exactly.
    rngs = distributed.all_gather(d, _rng_state())
    if not (d.is_main or distributed.is_sharded(model)):
        return
    weights, opt_state = trainable_state(model), _optimizer_state(model, optimizer)
    if not d.is_main:
        return
    rng: dict[str, torch.Tensor] = {}
    for r, (tensors, _) in enumerate(rngs):
        rng.update({_rank_key(r, k): v for k, v in tensors.items()})
    loop = {**state.__dict__, "world_size": d.world_size, **rngs[0][1], "rank_rngs": [x for _, x in rngs[1:]]}
    method = model.method
    method_state = method.checkpoint_state(model)
    if method_state:
        loop[method.name] = method_state[1]
    with rundir.atomic_dir(run_dir / rundir.CHECKPOINTS / "last") as tmp:
        save_trainable(model, tmp / TRAINABLE, weights)
        torch.save({"optimizer": opt_state, "scheduler": scheduler.state_dict()}, tmp / OPTIMIZER)
        save_file(rng, str(tmp / RNG))
        if method_state:
            save_file(method_state[0], str(tmp / method.state_file))
        rundir.write_json(tmp / LOOP_STATE, loop)


def restore(run_dir: Path, model, optimizer, scheduler, d: distributed.Dist) -> int:
    """Put model, optimizer, scheduler and every RNG back to the end of the last finished epoch.
    Returns the number of processes the run had when it was saved."""
    from safetensors.torch import load_file

    last = rundir.checkpoint_dir(run_dir, "last")
    load_trainable(model, last / TRAINABLE)
    opt = torch.load(last / OPTIMIZER, map_location="cpu", weights_only=True)
    _load_optimizer_state(model, optimizer, opt["optimizer"])
    scheduler.load_state_dict(opt["scheduler"])
    loop = json.loads((last / LOOP_STATE).read_text(encoding="utf-8"))
    method = model.method
    if (last / method.state_file).exists():
        method.restore_state(model, load_file(str(last / method.state_file)), loop.get(method.name, {}))
    # Each process continues its own random stream; with another number of processes than the
    # run started with, every process takes rank 0's (the run goes on, but not bit-identically).
    rank = d.rank if loop.get("world_size", 1) == d.world_size else 0
    saved = load_file(str(last / RNG))
    _set_rng_state(
        {k: saved[_rank_key(rank, k)] for k in saved if "." not in k},  # rank 0's names, this rank's values
        loop if rank == 0 else loop["rank_rngs"][rank - 1],
    )
    return loop.get("world_size", 1)


def read_loop_state(run_dir: Path) -> LoopState | None:
    """The loop state of ``checkpoints/last``; None when no epoch has finished."""
    path = rundir.checkpoint_dir(run_dir, "last") / LOOP_STATE
    if not path.exists():
        return None
    d = json.loads(path.read_text(encoding="utf-8"))
    return LoopState(**{k: d[k] for k in LoopState.__dataclass_fields__ if k in d})


def finished(run_dir: Path) -> bool:
    return any(
        e.get("type") == "status" and e.get("status") == "completed" for e in rundir.read_events(run_dir)
    )


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


def _set_rng_state(tensors: dict[str, torch.Tensor], py_np: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["torch"])
    if torch.cuda.is_available():
        cuda = sorted((int(k[4:]), v) for k, v in tensors.items() if k.startswith("cuda"))
        torch.cuda.set_rng_state_all([v for _, v in cuda])
    py = py_np["python_rng"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npr = py_np["numpy_rng"]
    np.random.set_state((npr[0], np.array(npr[1], dtype=np.uint32), *npr[2:]))


def _rank_key(rank: int, key: str) -> str:
    return key if rank == 0 else f"rank{rank}.{key}"  # rank 0 keeps the single-process names


def _to_json(o):
    return [_to_json(x) for x in o] if isinstance(o, (tuple, list)) else o
