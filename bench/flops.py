"""FLOP counts of a training epoch and the machine's measured fp32 and bf16 matmul peaks.

Model FLOP utilisation (MFU) = achieved model FLOP/s / peak FLOP/s, where "model FLOPs" are only
the matmul FLOPs the method needs mathematically, counted on real tokens (residues plus the
model's special tokens; padding is never counted). Layer norms, GELU, softmax, rotary embeddings,
the embedding lookup, the optimizer update and anything recomputed or wasted (padding) do not
count. See bench/README.md for the formulas in words.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass(frozen=True)
class Shape:
    """The dimensions of a BERT/ESM-style encoder that the FLOP formulas need."""

    n_layers: int
    hidden: int
    intermediate: int
    n_heads: int

    @classmethod
    def from_model_dir(cls, folder: str | Path) -> Shape:
        cfg = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
        return cls(
            n_layers=int(cfg["num_hidden_layers"]),
            hidden=int(cfg["hidden_size"]),
            intermediate=int(cfg["intermediate_size"]),
            n_heads=int(cfg["num_attention_heads"]),
        )

    @property
    def matmul_params(self) -> int:
        """N: weights that multiply every token (per layer: Q, K, V, O projections + the two
        feed-forward matrices). Biases, layer norms and the embedding table are not matmuls."""
        h, i = self.hidden, self.intermediate
        return self.n_layers * (4 * h * h + 2 * h * i)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "matmul_params": self.matmul_params}


def head_params(hidden: int, n_out: int) -> int:
    """The mean-pooling head's matmul weights (Linear(h, h) -> GELU -> Linear(h, n_out)); it runs
    once per sequence, on the pooled vector, not per token."""
    return hidden * hidden + hidden * n_out


def forward_flops(tokens: Sequence[int], shape: Shape) -> float:
    """Backbone forward over sequences of these real token counts: 2 N per token for the weight
    matmuls, plus 4 L^2 h per layer and sequence for attention (Q K^T and P V, 2 L^2 h each)."""
    total = sum(tokens)
    squares = sum(n * n for n in tokens)
    return 2.0 * shape.matmul_params * total + 4.0 * shape.n_layers * shape.hidden * squares


def training_flops(
    tokens: Sequence[int],
    shape: Shape,
    method: str,
    n_out: int,
    *,
    cached: bool = False,
    lora_r: int = 8,
    lora_targets_per_layer: int = 3,
) -> float:
    """Model FLOPs of one training pass (every sequence once) for a fine-tuning method.

    - ``full``: forward F, backward 2F (gradients of activations and of weights): 3 x (backbone
      forward + head forward) = 6 N T + 12 L^2 h n_layers per sequence (+ 6 N_head per sequence).
    - ``plm-lora``: forward F; backward needs the activation gradients of every weight matmul
      (2 N per token) but no frozen-weight gradients, and all of attention's backward (8 L^2 h per
      layer); plus the adapters (per token and adapted h x h linear: 2 r (h + h) forward, twice that
      backward). Layer 0's Q/K/V input gradients, which autograd skips, are counted (< 2% over).
    - ``freeze`` with the embedding cache: head only, 6 N_head per sequence (the backbone ran once,
      before training; ``forward_flops`` counts that cache build).
    - ``freeze`` without the cache: backbone forward (no backward) + the head's 6 N_head.
    """
    head = 2.0 * head_params(shape.hidden, n_out) * len(tokens)
    fwd = forward_flops(tokens, shape)
    if method == "full":
        return 3.0 * (fwd + head)
    if method == "plm-lora":
        total = sum(tokens)
        squares = sum(n * n for n in tokens)
        linear = 4.0 * shape.matmul_params * total  # forward 2N + activation gradients 2N
        attention = 12.0 * shape.n_layers * shape.hidden * squares
        adapters = 6.0 * lora_r * (2 * shape.hidden) * lora_targets_per_layer * shape.n_layers * total
        return linear + attention + adapters + 3.0 * head
    if method == "freeze":
        return 3.0 * head if cached else fwd + 3.0 * head
    raise ValueError(f"no FLOP formula for method {method!r}")


PEAK_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def measured_dtypes() -> tuple[str, ...]:
    """The precisions whose matmul peak a benchmark measures: fp32 always, bf16 only where this CPU
    computes it natively (the test that makes venus_core train in bf16). Elsewhere no row runs in
    bf16, and torch emulates bf16 matmuls on one thread: ~1 GFLOP/s on an AVX2-only AMD EPYC, 17 s
    per 2048^2 product, so measuring that peak cost minutes per measurement and said nothing."""
    from venus_core.devices import cpu_has_native_bf16

    return tuple(PEAK_DTYPES) if cpu_has_native_bf16() else ("fp32",)


def precision_key(precision: str | None) -> str:
    """The peak a run's precision (``precision_name``: "float32", "bf16 mixed", ...) counts against:
    bf16 autocast runs its matmuls in bf16; everything else (float32, fp16 on CPUs) against fp32."""
    return "bf16" if (precision or "").startswith("bf16") else "fp32"


def best_peaks(peaks: list[dict[str, Any]]) -> dict[str, float]:
    """The best ``best_gflops`` of each precision among ``matmul_peak`` measurements."""
    return {
        k: max(p["best_gflops"] for p in peaks if p["dtype"] == k)
        for k in PEAK_DTYPES
        if any(p["dtype"] == k for p in peaks)
    }


def matmul_peak(n: int = 2048, repeats: int = 10, warmup: int = 2, dtype: str = "fp32") -> dict[str, Any]:
    """The machine's matmul peak in ``dtype`` ("fp32" or "bf16") with torch's current thread
    count: the best of ``repeats`` timed ``torch.mm`` of two n x n matrices (2 n^3 FLOPs each)."""
    kind = PEAK_DTYPES[dtype]
    a = torch.randn(n, n).to(kind)
    b = torch.randn(n, n).to(kind)
    out = torch.empty(n, n, dtype=kind)
    for _ in range(warmup):
        torch.mm(a, b, out=out)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        times.append(time.perf_counter() - t0)
    flops = 2.0 * n**3
    return {
        "n": n,
        "dtype": dtype,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "best_gflops": flops / min(times) / 1e9,
        "median_gflops": flops / statistics.median(times) / 1e9,
        "when": time.time(),
    }
