"""Pooling heads: per-residue hidden states (B, T, H) and a mask (B, T) -> logits (B, num_outputs).

Every head is ``classifier(pool(hidden, mask))``. Padding never influences a real sequence's
result: padded positions are zeroed before any computation and excluded from every softmax, sum,
count and max, so a sequence gives the same logits alone or batched with longer ones. No
BatchNorm anywhere: heads must train at batch size 1.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _classifier(in_dim: int, hidden_dim: int, num_outputs: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Dropout(dropout),
        nn.Linear(in_dim, hidden_dim),
        nn.GELU(),
        nn.Dropout(dropout),
        nn.Linear(hidden_dim, num_outputs),
    )


def _zero_padding(hidden: Tensor, mask: Tensor) -> Tensor:
    # masked_fill rather than multiplication: 0 * inf (or NaN) garbage would be NaN.
    return hidden.masked_fill(~mask.unsqueeze(-1), 0.0)


def _masked_softmax(scores: Tensor, mask: Tensor, dim: int) -> Tensor:
    """Softmax over ``dim`` with masked-out positions at weight 0.

    The dtype's most negative finite value, not -inf: a fully masked row then gives uniform
    weights instead of NaN, and the value exists in bf16/fp16 too.
    """
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return scores.softmax(dim)


class PoolingHead(nn.Module):
    """Base class: ``forward(hidden, mask) = classifier(pool(hidden, mask))``."""

    #: False when ``pool`` has no parameters: the trainer may then cache pooled vectors of a
    #: frozen backbone once instead of recomputing them every epoch.
    pool_has_parameters: bool = True
    classifier: nn.Module

    def pool(self, hidden: Tensor, mask: Tensor) -> Tensor:
        """(B, T, H) hidden states and (B, T) bool mask (True = real token) -> (B, D)."""
        raise NotImplementedError

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        """Logits (B, num_outputs)."""
        return self.classifier(self.pool(match_dtype(hidden, self), mask.bool()))


def match_dtype(x: Tensor, module: nn.Module) -> Tensor:
    """``x`` in ``module``'s parameter dtype, unless autocast is on (it casts per operation).

    A frozen backbone may run in bf16 while the trained head stays float32; without autocast the
    head's Linear/Conv would refuse the mixed dtypes.
    """
    param = next(module.parameters(), None)
    if param is None or x.dtype == param.dtype or torch.is_autocast_enabled(x.device.type):
        return x
    return x.to(param.dtype)


class MeanPoolingHead(PoolingHead):
    """Masked mean over the real positions, then the MLP classifier."""

    pool_has_parameters = False

    def __init__(self, hidden_size: int, num_outputs: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.output_dim = hidden_size
        self.classifier = _classifier(hidden_size, hidden_size, num_outputs, dropout)

    def pool(self, hidden: Tensor, mask: Tensor) -> Tensor:
        mask = mask.bool()
        # Sum in float32: a bf16 sum over hundreds of residues loses most of its digits.
        total = _zero_padding(hidden, mask).float().sum(1)
        count = mask.sum(1, keepdim=True).clamp(min=1).float()
        return (total / count).to(hidden.dtype)


class Attention1dPoolingHead(PoolingHead):
    """Attention pooling: a per-residue score (a 1x1 Conv1d, i.e. a Linear H -> 1), masked softmax
    over the length, weighted sum of the hidden states, then the MLP classifier."""

    def __init__(self, hidden_size: int, num_outputs: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.output_dim = hidden_size
        self.score = nn.Linear(hidden_size, 1)
        self.classifier = _classifier(hidden_size, hidden_size, num_outputs, dropout)

    def pool(self, hidden: Tensor, mask: Tensor) -> Tensor:
        mask = mask.bool()
        hidden = _zero_padding(hidden, mask)
        weights = _masked_softmax(self.score(hidden).squeeze(-1), mask, dim=-1)  # (B, T)
        return torch.einsum("bt,bth->bh", weights.to(hidden.dtype), hidden)


class LightAttentionHead(PoolingHead):
    """Light attention (Stärk et al. 2021, Bioinformatics Advances): two Conv1d branches over the
    residues (kernel 9), features and per-channel attention logits; the attention-weighted sum of
    the features is concatenated with a masked max over them (D = 2H), then a small 32-unit MLP.

    The paper's BatchNorm is replaced by nothing (the MLP has no norm): heads must train at
    batch size 1.
    """

    kernel_size = 9
    classifier_hidden = 32

    def __init__(self, hidden_size: int, num_outputs: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.output_dim = 2 * hidden_size
        pad = self.kernel_size // 2
        self.feature_conv = nn.Conv1d(hidden_size, hidden_size, self.kernel_size, padding=pad)
        self.attention_conv = nn.Conv1d(hidden_size, hidden_size, self.kernel_size, padding=pad)
        self.conv_dropout = nn.Dropout(dropout)
        self.classifier = _classifier(2 * hidden_size, self.classifier_hidden, num_outputs, dropout)

    def pool(self, hidden: Tensor, mask: Tensor) -> Tensor:
        mask = mask.bool()
        # Zero the padding before the convolutions: a real position near the end of a short
        # sequence then sees zeros past its end whether it is batched with longer sequences or
        # alone (where the convolution's own zero padding supplies them).
        x = _zero_padding(hidden, mask).transpose(1, 2)  # (B, H, T)
        features = self.conv_dropout(self.feature_conv(x))
        attention = self.attention_conv(x)
        channel_mask = mask.unsqueeze(1)  # (B, 1, T), broadcast over channels
        weights = _masked_softmax(attention, channel_mask, dim=-1)
        weighted_sum = (features * weights.to(features.dtype)).sum(-1)  # (B, H)
        lowest = torch.finfo(features.dtype).min
        max_pool = features.masked_fill(~channel_mask, lowest).amax(-1)  # (B, H)
        # A sequence with no real position (never expected) would otherwise carry dtype-min values.
        max_pool = torch.where(mask.any(-1, keepdim=True), max_pool, torch.zeros_like(max_pool))
        return torch.cat([weighted_sum, max_pool], dim=-1)


POOLING_HEADS: dict[str, type[PoolingHead]] = {
    "mean": MeanPoolingHead,
    "attention1d": Attention1dPoolingHead,
    "light_attention": LightAttentionHead,
}


def build_head(pooling_method: str, hidden_size: int, num_outputs: int, dropout: float = 0.1) -> PoolingHead:
    """The head registered as ``pooling_method`` (one of ``vocab.POOLING_METHODS``)."""
    try:
        cls = POOLING_HEADS[pooling_method]
    except KeyError:
        raise ValueError(
            f"unknown pooling_method {pooling_method!r}; expected one of {list(POOLING_HEADS)}"
        ) from None
    return cls(hidden_size, num_outputs, dropout)
