"""Large activations without page faults: glibc's malloc keeps the blocks a training step frees.

PyTorch's CPU tensors come from the C library's ``malloc``. glibc serves a request above its mmap
threshold with a fresh ``mmap`` and gives it back with ``munmap`` on free; the threshold adapts to
the sizes the process frees, but never above 32 MB. With token budgets of 16000 tokens a step's
largest activations pass that cap (the ESM2-8M feed-forward input alone is 16000 x 1280 x 2 bytes =
41 MB in bf16), so every step maps them anew and the kernel zero-fills them page by page. Measured
(bench/README.md, Token budgets, allocator): `full` at 16000 tokens took 1.6-2.0M minor page faults
for its run and 0.9-1.0M with this setting, and about a third less system CPU time. With mmap
switched off for the run, such blocks come from the heap and are reused by the next step.

The setting is process-wide (the dashboard trains in a thread of its server), so it is applied for
the duration of a run (nested or concurrent runs share it) and undone after the last one, which
also hands the freed heap back to the system (``malloc_trim``). Peak memory stays what the step
needs (measured within +-11% either way). Elsewhere than glibc (macOS, musl) this is a no-op.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
from collections.abc import Iterator

# mallopt(3) parameters and glibc's defaults for them
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
DEFAULT_MMAP_MAX = 65536
DEFAULT_TRIM_THRESHOLD = 128 * 1024
# Freed memory at the top of the heap is given back only beyond this: a step frees and takes back
# its activations every step, and trimming them in between would fault them in again.
RUN_TRIM_THRESHOLD = 1 << 30

_lock = threading.Lock()
_runs = 0


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc only (musl has mallopt as a stub)
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _glibc()


def active() -> bool:
    """True while a run holds large freed blocks (glibc only)."""
    return _LIBC is not None and _runs > 0


@contextlib.contextmanager
def keep_freed_blocks() -> Iterator[None]:
    """For the body (a training run): large blocks come from the heap and stay there between steps."""
    global _runs
    if _LIBC is None:
        yield
        return
    with _lock:
        _runs += 1
        if _runs == 1:
            _LIBC.mallopt(M_MMAP_MAX, 0)
            _LIBC.mallopt(M_TRIM_THRESHOLD, RUN_TRIM_THRESHOLD)
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                _LIBC.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                _LIBC.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
                _LIBC.malloc_trim(0)
