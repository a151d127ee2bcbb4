"""Data-parallel training with PyTorch's own engine: ``torchrun`` starts the processes, DDP syncs
gradients. One process without ``torchrun`` is the same code with world size 1.

Only rank 0 writes the run directory, events and W&B; every rank sees its own shard of each
epoch's batches; evaluation outputs are gathered so every example counts exactly once.
"""

from __future__ import annotations

import contextlib
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


def fsdp_mesh(d: Dist, device: torch.device):
    """The 1-D device mesh FSDP shards over: every process, on ``device``'s type. Made by all
    processes together (it may create process groups) before any of them shards."""
    from torch.distributed.device_mesh import init_device_mesh

    return init_device_mesh(device.type, (d.world_size,))


def shard(model: torch.nn.Module, mesh, param_dtype: torch.dtype | None = None) -> None:
    """PyTorch's FSDP (``fully_shard``), in place: every transformer block, then the rest of the
    model, split across the mesh's processes. Each block is moved to the mesh's device whole, cut,
    and only this process's shard kept, so a backbone loaded on the CPU never sits on one GPU
    whole. Blocks' weights are gathered just before they run and freed after. ``param_dtype``
    (bf16 under mixed precision) is what blocks compute in; gradients are reduced in float32.
    No communication happens here: every process must hold the same initial weights (they do:
    same checkpoint, same seed)."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    policy = MixedPrecisionPolicy(param_dtype=param_dtype, reduce_dtype=torch.float32)
    for block in transformer_blocks(model):
        fully_shard(block, mesh=mesh, mp_policy=policy)
    fully_shard(model, mesh=mesh, mp_policy=policy)


@contextlib.contextmanager
def in_turns(d: Dist, enabled: bool = True):
    """The processes of each node run the block one after another (by local rank; local rank r of
    every node at the same time). FSDP loads the backbone this way, so a node's host memory holds
    one whole copy at a time instead of one per process."""
    if not (enabled and d.enabled):
        yield
        return
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", d.world_size))
    for _ in range(d.local_rank):
        dist.barrier()
    yield
    for _ in range(local_world - d.local_rank):
        dist.barrier()


def transformer_blocks(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The repeated layers of the backbone: the ``ModuleList`` holding the most parameters (ESM's
    and BERT's ``encoder.layer``, T5's and Ankh's ``encoder.block``), found by structure so that
    every family and every PEFT wrapping is covered without a list of attribute names."""
    lists = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList) and len(m) > 1]
    if not lists:
        return []
    return list(max(lists, key=lambda m: sum(p.numel() for p in m.parameters())))


def is_sharded(model: torch.nn.Module) -> bool:
    """Whether FSDP holds the model's parameters as shards (``fully_shard`` was applied)."""
    from torch.distributed.fsdp import FSDPModule

    return isinstance(model, FSDPModule)


def no_sync(d: Dist, model: torch.nn.Module, sync: bool):
    """Context for one micro-batch: gradients are reduced across processes only when ``sync``
    (the micro-batch that ends an accumulation group)."""
    if not d.enabled:
        return contextlib.nullcontext()
    if is_sharded(model):
        model.set_requires_gradient_sync(sync)
        return contextlib.nullcontext()
    return contextlib.nullcontext() if sync else model.no_sync()


def shutdown(d: Dist) -> None:
    """End the process group, together: every process calls it once, after its last collective."""
    if d.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
