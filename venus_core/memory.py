"""How much memory training needs before activations: one estimator for the catalogue and the
Model page (the accounting of accelerate's ``estimate-memory``).

Weights are float32 (4 bytes per parameter), or 4-bit nf4 for a QLoRA backbone (~0.55 bytes with
its quantization constants); each trained parameter adds its gradient (4 bytes) and AdamW's two
moments (8 bytes). Activations come on top and grow with batch size x sequence length.
"""

from __future__ import annotations

FP32_BYTES = 4.0
NF4_BYTES = 0.55  # 4 bits + double-quantized block constants
GRAD_AND_ADAMW_BYTES = 12.0


def training_bytes(params: int, trainable: int, frozen_bytes: float = FP32_BYTES) -> dict[str, float]:
    """Bytes of the weights and of the gradients + optimizer state, and their total
    (``frozen_bytes``: per frozen parameter, the method's memory model)."""
    frozen = params - trainable
    weights = frozen * frozen_bytes + trainable * FP32_BYTES
    optimizer = trainable * GRAD_AND_ADAMW_BYTES
    return {"weights": weights, "optimizer_and_grads": optimizer, "total": weights + optimizer}


def per_method_bytes(params: int) -> dict[str, float]:
    """Rough totals by kind of method for a backbone of ``params`` parameters (adapters and heads,
    under 1% of a backbone, left out): the catalogue's one-line hint."""
    return {
        "freeze / LoRA": training_bytes(params, 0)["total"],
        "full": training_bytes(params, params)["total"],
        "QLoRA": training_bytes(params, 0, NF4_BYTES)["total"],
    }


def format_sizes(sizes: list[float]) -> list[str]:
    """Byte counts in one unit (GB, or MB when all are below 1 GB), so a card never mixes units."""
    unit, scale = ("GB", 1e9) if max(sizes, default=0) >= 1e9 else ("MB", 1e6)
    return [f"{s / scale:.3g} {unit}" if s / scale < 100 else f"{s / scale:,.0f} {unit}" for s in sizes]
