"""``python -m bench.attention [--quick]``: torch's CPU attention kernel in bf16 against float32.

What ``venus_core/fast_attention.py`` decides from: scaled-dot-product attention with protein LM
heads (20 heads x 16 dimensions, ESM2-8M's) over padded batches of several shapes, timed

- forward and backward (a training step: the gradients of queries, keys and values), and
- forward alone under ``torch.inference_mode()`` (the embedding cache, a frozen backbone),

each with bf16 inputs given to the kernel as they are ("bf16") and cast to float32 around it, the
output cast back ("float32"). Prints the milliseconds per call and bf16 / float32 (above 1: the
cast is faster) and whether the CPU has AMX tiles; writes ``bench/results/attention.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent / "results" / "attention.json"
SHAPES = ((8, 465), (32, 152), (64, 250), (16, 1000))  # (sequences, padded length)
HEADS, HEAD_DIM = 20, 16


def _call(q, k, v, cast: bool) -> torch.Tensor:
    if cast:
        return F.scaled_dot_product_attention(q.float(), k.float(), v.float()).to(q.dtype)
    return F.scaled_dot_product_attention(q, k, v)


def time_call(batch: int, length: int, cast: bool, backward: bool, repeats: int) -> float:
    """Seconds per call, best of ``repeats`` after two warm-up calls."""
    torch.manual_seed(0)
    q, k, v = (
        torch.randn(batch, HEADS, length, HEAD_DIM, dtype=torch.bfloat16, requires_grad=backward)
        for _ in range(3)
    )

    def once() -> None:
        if backward:
            _call(q, k, v, cast).float().sum().backward()
        else:
            with torch.inference_mode():
                _call(q, k, v, cast)

    for _ in range(2):
        once()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        once()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two small shapes, fewer repeats")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    shapes, repeats = (SHAPES[:2], 3) if args.quick else (SHAPES, 7)
    from venus_core.devices import cpu_has_native_bf16

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cpu_has_native_bf16():
        # venus_core trains in float32 here, so there is no cast to decide; and torch emulates bf16
        # on such CPUs, so timing its bf16 kernel would take long and say nothing.
        print("This CPU has no native bf16 (AVX512-BF16 or AMX): venus_core trains in float32 here.")
        out.write_text(json.dumps({"native_bf16": False, "amx": False, "rows": []}, indent=1))
        return 0
    rows = []
    print(f"AMX tiles: {torch.cpu._is_amx_tile_supported()}; torch threads: {torch.get_num_threads()}")
    print("pass              batch x length   bf16 ms  float32 ms  bf16 / float32")
    for backward in (True, False):
        for batch, length in shapes:
            bf16 = time_call(batch, length, cast=False, backward=backward, repeats=repeats)
            fp32 = time_call(batch, length, cast=True, backward=backward, repeats=repeats)
            kind = "forward+backward" if backward else "forward alone"
            rows.append({"pass": kind, "batch": batch, "length": length, "bf16_s": bf16, "float32_s": fp32})
            times = f"{bf16 * 1e3:8.1f}  {fp32 * 1e3:10.1f}  {bf16 / fp32:14.2f}"
            print(f"{kind:16}  {batch:5} x {length:<6}  {times}")
    amx = torch.cpu._is_amx_tile_supported()
    out.write_text(json.dumps({"native_bf16": True, "amx": amx, "rows": rows}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
