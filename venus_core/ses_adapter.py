"""SES-Adapter: fuse per-residue structure sequences into a frozen PLM's hidden states.

For each structure kind (Foldseek 3Di letters, DSSP 8-state secondary structure), the structure
tokens are embedded with a sinusoidal position code, and the PLM states attend to them with
cross-attention (query = PLM state, key = value = structure). The result is added back residually:

    S_k   = LayerNorm_k(Embedding_k(tokens_k) + PE)
    A_k   = MultiheadAttention_k(query=plm, key=S_k, value=S_k, key_padding_mask=~mask)
    fused = LayerNorm(plm + sum_k dropout(A_k))

Structure tokens are aligned 1:1 with the model's token positions: the caller puts ``1``
(special/unknown) at special tokens such as <cls>/<eos> and ``0`` at padding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from venus_core.heads import match_dtype

PAD_ID = 0
UNKNOWN_ID = 1  # also used for special tokens (<cls>, <eos>) and letters outside the alphabet
FIRST_LETTER_ID = 2

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


def sinusoidal_positions(length: int, dim: int, device: torch.device | None = None) -> Tensor:
    """(length, dim) float32 sine/cosine position code of "Attention is all you need"."""
    position = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, dtype=torch.float32, device=device)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq[: dim // 2])  # odd dim: one fewer cosine column
    return pe


def _pick_num_heads(hidden_size: int, wanted: int) -> int:
    # nn.MultiheadAttention needs hidden_size % num_heads == 0 (ESM2-8M: 320, ProtBert: 1024, ...).
    for h in (wanted, 8, 4, 2, 1):
        if h <= wanted and hidden_size % h == 0:
            return h
    return 1


class SesAdapter(nn.Module):
    """Cross-attention from the PLM states to each structure sequence, added back residually.

    ``num_heads`` falls back to the largest of 8, 4, 2, 1 (not above ``num_heads``) that divides
    ``hidden_size``; the value used is ``self.num_heads``.
    """

    def __init__(
        self,
        hidden_size: int,
        structure_kinds: Sequence[str],
        num_heads: int = 8,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        kinds = list(dict.fromkeys(structure_kinds))
        if not kinds:
            raise ValueError("SesAdapter needs at least one structure sequence kind")
        for kind in kinds:
            _check_kind(kind)
        self.hidden_size = hidden_size
        self.structure_kinds = tuple(kinds)
        self.num_heads = _pick_num_heads(hidden_size, num_heads)
        self.embeddings = nn.ModuleDict(
            {k: nn.Embedding(vocab_size(k), hidden_size, padding_idx=PAD_ID) for k in kinds}
        )
        self.structure_norms = nn.ModuleDict({k: nn.LayerNorm(hidden_size) for k in kinds})
        self.attentions = nn.ModuleDict(
            {
                k: nn.MultiheadAttention(hidden_size, self.num_heads, dropout=dropout, batch_first=True)
                for k in kinds
            }
        )
        self.dropout = nn.Dropout(dropout)
        self.out_norm = nn.LayerNorm(hidden_size)

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
        plm_states = match_dtype(plm_states, self).masked_fill(~mask.unsqueeze(-1), 0.0)
        # A row with no real token would make every key masked and the softmax NaN; let such a
        # row (never expected) attend to its padding instead.
        key_padding_mask = ~mask & mask.any(-1, keepdim=True)
        positions = sinusoidal_positions(length, self.hidden_size, plm_states.device)

        update = torch.zeros_like(plm_states)
        for kind in self.structure_kinds:
            tokens = structure_tokens[kind]
            if tokens.shape != (batch, length):
                raise ValueError(
                    f"SesAdapter: {kind} tokens have shape {tuple(tokens.shape)}, "
                    f"expected {(batch, length)} (aligned with the model's tokens)"
                )
            tokens = tokens.long().masked_fill(~mask, PAD_ID)
            embedded = self.embeddings[kind](tokens) + positions.to(self.embeddings[kind].weight.dtype)
            structure = self.structure_norms[kind](embedded)
            attended, _ = self.attentions[kind](
                plm_states, structure, structure, key_padding_mask=key_padding_mask, need_weights=False
            )
            update = update + self.dropout(attended)
        fused = self.out_norm(plm_states + update)
        return fused.masked_fill(~mask.unsqueeze(-1), 0.0)
