"""Data-parallel training with PyTorch's own engine: ``torchrun`` starts the processes, DDP syncs
gradients. One process without ``torchrun`` is the same code with world size 1.

Only rank 0 writes the run directory, events and W&B; every rank sees its own shard of each
epoch's batches; evaluation outputs are gathered so every example counts exactly once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def from_env() -> Dist:
    """The process group that ``torchrun`` describes in the environment (``gloo`` on CPU, ``nccl``
    on CUDA); world size 1 when not launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local)
        dist.init_process_group(backend, timeout=timedelta(minutes=30))
    return Dist(rank, world, local)


def device_for(d: Dist, requested: torch.device) -> torch.device:
    """Each rank drives its own GPU (LOCAL_RANK); CPU ranks share the CPU."""
    if d.enabled and requested.type == "cuda":
        return torch.device("cuda", d.local_rank)
    return requested


def broadcast(d: Dist, obj: Any) -> Any:
    """Rank 0's value on every rank (e.g. the run folder it created)."""
    if not d.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_gather(d: Dist, obj: Any) -> list[Any]:
    if not d.enabled:
        return [obj]
    out: list[Any] = [None] * d.world_size
    dist.all_gather_object(out, obj)
    return out


def all_sum(d: Dist, *values: float) -> list[float]:
    if not d.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def any_true(d: Dist, flag: bool) -> bool:
    """True on every rank if it is true on one (an abort on rank 0 stops all ranks together)."""
    return bool(all_sum(d, float(flag))[0]) if d.enabled else flag


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()


def wrap(d: Dist, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DDP over the trainable parameters (frozen ones are ignored by DDP). Buffers are not
    re-broadcast each step: no module here has running statistics."""
    if not d.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    return DDP(model, device_ids=ids, forward_sync_buffers=False)


def shutdown(d: Dist) -> None:
    if d.enabled and dist.is_initialized():
        dist.destroy_process_group()
