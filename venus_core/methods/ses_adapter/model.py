"""SES-Adapter: fuse per-residue structure sequences into a frozen PLM's hidden states.

The design of the SES-Adapter paper (Tan et al., 2024) and of VenusFactory: for each structure
kind, the embedded structure tokens are the *queries* of a cross-attention whose keys and values
are the current per-residue states, with rotary position encoding on queries and keys (so a
structure letter can find the residue it belongs to, by relative position). The kinds are chained
in a fixed order, Foldseek 3Di first, then DSSP 8-state, each followed by a LayerNorm:

    h_0 = plm
    h_k = LayerNorm_k(h_{k-1} + CrossAttention_k(query=Embedding_k(tokens_k), key=value=h_{k-1}))

so the ss8 letters attend to the Foldseek-fused states. Structure tokens are aligned 1:1 with the
model's token positions: the caller puts ``1`` (special/unknown) at special tokens such as
<cls>/<eos> and ``0`` at padding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from venus_core.heads import match_dtype

PAD_ID = 0
UNKNOWN_ID = 1  # also used for special tokens (<cls>, <eos>) and letters outside the alphabet
FIRST_LETTER_ID = 2

# Insertion order is the chaining order: Foldseek first, then ss8 attends to the fused states.
STRUCTURE_ALPHABETS: dict[str, str] = {
    "foldseek_seq": "ACDEFGHIKLMNPQRSTVWY",  # Foldseek 3Di states, written with amino-acid letters
    "ss8_seq": "HGIEBTSL",  # DSSP 8 states; L is coil
}
# DSSP writes coil in several ways; they are all the coil state "L".
_SYNONYMS: dict[str, dict[str, str]] = {
    "foldseek_seq": {},
    "ss8_seq": {"C": "L", "-": "L", " ": "L", ".": "L"},
}
_INDEX: dict[str, dict[str, int]] = {
    kind: {ch: i + FIRST_LETTER_ID for i, ch in enumerate(alphabet)}
    for kind, alphabet in STRUCTURE_ALPHABETS.items()
}
ROTARY_BASE = 10000.0


def _check_kind(kind: str) -> None:
    if kind not in STRUCTURE_ALPHABETS:
        raise ValueError(
            f"unknown structure sequence kind {kind!r}; expected one of {list(STRUCTURE_ALPHABETS)}"
        )


def vocab_size(kind: str) -> int:
    """Number of token ids for ``kind``: padding, unknown/special, then the letters."""
    _check_kind(kind)
    return len(STRUCTURE_ALPHABETS[kind]) + FIRST_LETTER_ID


def encode_structure(kind: str, s: str) -> list[int]:
    """Token ids of structure string ``s``: letters from 2 (case-insensitive), 1 for anything else.

    For ``ss8_seq``, "C", "-", " " and "." are the coil state "L". 0 (padding) never appears.
    """
    _check_kind(kind)
    index, synonyms = _INDEX[kind], _SYNONYMS[kind]
    out = []
    for ch in s:
        ch = ch.upper()
        out.append(index.get(synonyms.get(ch, ch), UNKNOWN_ID))
    return out


def rotary(x: Tensor) -> Tensor:
    """Rotary position encoding (RoFormer) of ``x`` (..., T, D) at positions 0..T-1.

    Channel pairs (i, i + D/2) are rotated by angle ``position * base**(-2i/D)``, so the dot product
    of a rotated query and key depends on their relative position only. An odd last channel is left
    as it is. Computed in float32, returned in ``x``'s dtype.
    """
    length, dim = x.shape[-2], x.shape[-1]
    rot = dim - dim % 2
    if rot == 0:
        return x
    inv_freq = ROTARY_BASE ** (-torch.arange(0, rot, 2, dtype=torch.float32, device=x.device) / rot)
    angles = torch.arange(length, dtype=torch.float32, device=x.device)[:, None] * inv_freq[None, :]
    cos, sin = angles.cos().repeat(1, 2), angles.sin().repeat(1, 2)
    part = x[..., :rot].float()
    first, second = part.chunk(2, dim=-1)
    rotated = part * cos + torch.cat((-second, first), dim=-1) * sin
    return torch.cat((rotated.to(x.dtype), x[..., rot:]), dim=-1)


def _pick_num_heads(hidden_size: int, wanted: int) -> int:
    # The head size must divide hidden_size (ESM2-8M: 320, ProtBert: 1024, ...).
    for h in (wanted, 8, 4, 2, 1):
        if h <= wanted and hidden_size % h == 0:
            return h
    return 1


class CrossAttention(nn.Module):
    """Multi-head attention from one sequence (queries) to another of the same length (keys and
    values), rotary position encoding on queries and keys, dropout on the attention weights.

    As in the SES-Adapter, the heads' outputs are concatenated without an output projection.
    """

    def __init__(self, hidden_size: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.value = nn.Linear(hidden_size, hidden_size)

    def _heads(self, x: Tensor) -> Tensor:
        batch, length, hidden = x.shape
        return x.view(batch, length, self.num_heads, hidden // self.num_heads).transpose(1, 2)

    def forward(self, queries: Tensor, states: Tensor, key_padding_mask: Tensor) -> Tensor:
        """(B, T, H) from queries (B, T, H), keys/values (B, T, H) and a (B, T) mask that is True
        at the keys to ignore."""
        q = rotary(self._heads(self.query(queries)))
        k = rotary(self._heads(self.key(states)))
        v = self._heads(self.value(states))
        attend = ~key_padding_mask[:, None, None, :]  # (B, 1, 1, T): True = may attend
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attend, dropout_p=self.dropout if self.training else 0.0
        )
        batch, _, length, _ = out.shape
        return out.transpose(1, 2).reshape(batch, length, -1)


class SesAdapter(nn.Module):
    """Structure tokens attend to the PLM states, kind after kind; see the module docstring.

    ``structure_kinds`` are chained in the order of ``STRUCTURE_ALPHABETS`` whatever order they
    are given in. ``num_heads`` falls back to the largest of 8, 4, 2, 1 (not above ``num_heads``)
    that divides ``hidden_size``; the value used is ``self.num_heads``.
    """

    def __init__(
        self,
        hidden_size: int,
        structure_kinds: Sequence[str],
        num_heads: int = 8,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        for kind in structure_kinds:
            _check_kind(kind)
        kinds = [k for k in STRUCTURE_ALPHABETS if k in structure_kinds]
        if not kinds:
            raise ValueError("SesAdapter needs at least one structure sequence kind")
        self.hidden_size = hidden_size
        self.structure_kinds = tuple(kinds)
        self.num_heads = _pick_num_heads(hidden_size, num_heads)
        self.embeddings = nn.ModuleDict(
            {k: nn.Embedding(vocab_size(k), hidden_size, padding_idx=PAD_ID) for k in kinds}
        )
        self.attentions = nn.ModuleDict(
            {k: CrossAttention(hidden_size, self.num_heads, dropout) for k in kinds}
        )
        self.norms = nn.ModuleDict({k: nn.LayerNorm(hidden_size) for k in kinds})

    def forward(self, plm_states: Tensor, mask: Tensor, structure_tokens: Mapping[str, Tensor]) -> Tensor:
        """Fused states (B, T, H) from PLM states (B, T, H), mask (B, T) (True = real token) and
        ``{kind: LongTensor (B, T)}`` structure tokens aligned with the PLM's token positions.

        Padded positions of the output are 0.
        """
        missing = [k for k in self.structure_kinds if k not in structure_tokens]
        if missing:
            raise ValueError(f"SesAdapter: structure tokens missing for {missing}")
        batch, length, _ = plm_states.shape
        mask = mask.bool()
        # Zero the padding first: inf/NaN garbage there would reach the gradients as 0 * NaN.
        states = match_dtype(plm_states, self).masked_fill(~mask.unsqueeze(-1), 0.0)
        # A row with no real token would make every key masked and the softmax NaN; let such a
        # row (never expected) attend to its padding instead.
        key_padding_mask = ~mask & mask.any(-1, keepdim=True)
        for kind in self.structure_kinds:
            tokens = structure_tokens[kind]
            if tokens.shape != (batch, length):
                raise ValueError(
                    f"SesAdapter: {kind} tokens have shape {tuple(tokens.shape)}, "
                    f"expected {(batch, length)} (aligned with the model's tokens)"
                )
            queries = self.embeddings[kind](tokens.long().masked_fill(~mask, PAD_ID))
            attended = self.attentions[kind](queries, states, key_padding_mask)
            states = self.norms[kind](states + attended)
        return states.masked_fill(~mask.unsqueeze(-1), 0.0)
