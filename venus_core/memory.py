"""How much memory training needs: one estimator for the catalogue, the Model page and the
benchmark (the accounting of accelerate's ``estimate-memory``, plus activations).

Weights are float32 (4 bytes per parameter), or 4-bit nf4 for a QLoRA backbone (~0.55 bytes with
its quantization constants); each trained parameter adds its gradient (4 bytes) and AdamW's two
moments (8 bytes). Activations come on top and grow with the tokens of a batch (``activation_bytes``);
on a CPU a step runs its batch in pieces (``batching.piece_tokens``), and the caller passes the
largest piece's tokens.
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


# Bytes a training step holds per token of the padded batch and encoder layer, as (per hidden unit,
# per intermediate unit), by precision. What autograd saves in a BERT/ESM layer with SDPA attention
# (layer-norm inputs and outputs, Q/K/V, attention output, residuals, the feed-forward's two
# activations) is about (44 h + 4 i) bytes in bf16 autocast and (56 h + 8 i) in float32; the peak
# RSS of whole ``train()`` runs grows faster than that with the token budget (backward's gradients
# of those activations live at the same time, and glibc keeps freed blocks across the changing
# batch shapes), so the coefficients are measured slopes of peak RSS over 2000 to 16000 tokens,
# ESM2-8M shape (``python -m bench.token_batches``): bf16 on an Intel Xeon with AMX; float32 on an
# AVX2 AMD EPYC, 50-250- and 300-1000-residue proteins (33.8 and 35.4 kB per token and layer; until
# 2026-12-03 float32 was a guess with 1.8-1.9x that slope). LoRA's extra is scaled from bf16's (not
# measured separately).
PER_TOKEN_LAYER = {"fp32": (71.0, 10.5), "bf16": (96.0, 9.0)}
LORA_EXTRA_PER_H = {"fp32": 26.0, "bf16": 13.0}  # LoRA dropout's copies of the 3 adapted inputs
EAGER_ATTENTION_BYTES = 12.0  # per head and key: scores, softmax and its dropout, float32


def activation_bytes(
    batch_tokens: int,
    longest: int,
    *,
    n_layers: int,
    hidden: int,
    intermediate: int,
    n_heads: int,
    precision: str = "fp32",
    trains_backbone: bool = True,
    lora: bool = False,
    eager_attention: bool = False,
) -> float:
    """Peak activation memory of one training step over a padded batch of ``batch_tokens`` tokens
    (batch x longest) whose longest sequence has ``longest`` tokens.

    A backbone that trains (full fine-tuning, LoRA) keeps every layer's activations for backward;
    a frozen one (no grad) only one layer's at a time. Attention that is not SDPA (eager)
    materialises heads x longest x longest per sequence and layer on top.
    """
    per_h, per_i = PER_TOKEN_LAYER["bf16" if precision in ("bf16", "fp16") else "fp32"]
    per_token = per_h * hidden + per_i * intermediate
    if lora:
        per_token += LORA_EXTRA_PER_H["bf16" if precision in ("bf16", "fp16") else "fp32"] * hidden
    if eager_attention:
        per_token += EAGER_ATTENTION_BYTES * n_heads * longest
    layers = n_layers if trains_backbone else 1
    return float(batch_tokens) * per_token * layers
