"""``venus_core.allocator``: during a run, large blocks come from the heap (no per-step mmap)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import make_cfg, write_toy_dataset

from venus_core import allocator
from venus_core.train import train

pytestmark = pytest.mark.skipif(allocator._LIBC is None, reason="glibc only")

BIG = 48 * 2**20  # above glibc's largest dynamic mmap threshold (32 MB)


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
            "keepcost",
        )
    ]  # fmt: skip


if allocator._LIBC is not None:
    allocator._LIBC.mallinfo2.restype = MallInfo2


def mmapped_blocks() -> int:
    """How many blocks glibc currently serves with their own mmap."""
    return allocator._LIBC.mallinfo2().hblks


def big_block_is_mmapped() -> bool:
    """Whether glibc serves a large block with its own mmap. The block is larger than the whole
    heap: a free chunk that earlier allocations left in the heap (a run leaves some) would serve a
    smaller one whatever the setting (a CI run failed so, after a run, with the defaults back)."""
    before = mmapped_blocks()
    t = torch.empty(allocator._LIBC.mallinfo2().arena + BIG, dtype=torch.uint8)
    during = mmapped_blocks()
    del t
    return during > before


def test_large_blocks_come_from_the_heap_only_inside():
    assert big_block_is_mmapped()
    with allocator.keep_freed_blocks():
        assert allocator.active()
        assert not big_block_is_mmapped()
        with allocator.keep_freed_blocks():  # nested (two runs at once): still held
            pass
        assert not big_block_is_mmapped()
    assert not allocator.active()
    assert big_block_is_mmapped()  # the defaults are back for the rest of the process


def test_a_run_holds_the_setting_while_it_trains(tiny_esm, tmp_path):
    data = write_toy_dataset(tmp_path / "data", "single_label_classification", n_train=32, n_eval=8)
    cfg = make_cfg(
        tiny_esm, data, "single_label_classification", tmp_path / "runs",
        training_method="full", num_epochs=1, batch_size=8,
    )  # fmt: skip
    seen = []

    def emit(event):
        if event["type"] == "step":
            seen.append(big_block_is_mmapped())

    assert train(cfg, emit=emit).status == "completed"
    assert seen and not any(seen)
    assert not allocator.active() and big_block_is_mmapped()


def _huge_pages_kb(env: dict[str, str], first: str) -> int:
    """AnonHugePages of a fresh interpreter that imports ``first``, then fills 256 MB of tensors."""
    code = (
        f"import {first}\nimport torch, re\n"
        "ts = [torch.ones(64 << 20, dtype=torch.uint8) for _ in range(4)]\n"
        "print(re.search(r'AnonHugePages:\\s+(\\d+)', open('/proc/self/smaps_rollup').read()).group(1))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


@pytest.mark.parametrize("first", ["venus_core", "bench.token_batches"])
def test_torch_takes_huge_pages_for_large_tensors(first):
    """Importing venus_core before torch turns on torch's transparent-huge-page allocation: large
    CPU tensors then sit on 2 MB pages, where the kernel gives them only on request ("madvise").
    The benchmarks (which import torch themselves) run with it, as the CLI and dashboard do."""
    mode = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not mode.exists() or "[madvise]" not in mode.read_text():
        pytest.skip("the kernel's transparent huge pages are not in madvise mode")
    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    assert _huge_pages_kb({**env, "THP_MEM_ALLOC_ENABLE": "0"}, first) == 0
    assert _huge_pages_kb(env, first) >= 128 * 1024
