"""Tokenized splits, batch assembly, the frozen-embedding cache and prediction tables.

Shared by training, evaluation and prediction so the three can never disagree on how a sequence
becomes model input.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from venus_core.backbones import Tokenizer
from venus_core.batching import make_batches, padded_lengths
from venus_core.config import RunConfig
from venus_core.embedding_cache import FrozenBatch, SplitFeatures
from venus_core.label_formats import format_multi_hot
from venus_core.methods import get_method
from venus_core.tokens import TokenArrays


@dataclass
class Encoded:
    """One split, tokenized once for the whole run: every sequence's token ids back to back in one
    flat array with offsets (``tokens.TokenArrays``), not a Python list per sequence."""

    arrays: TokenArrays
    targets: torch.Tensor | None  # None for unlabelled prediction input
    structure: dict[str, list[list[int]]]
    n_prefix: int
    n_special: int  # special tokens per sequence (<cls> + <eos>, ...)
    pad_id: int
    lengths: np.ndarray = field(init=False)  # tokens, specials included: what batching budgets
    residues: np.ndarray = field(init=False)  # residues kept after truncation

    def __post_init__(self) -> None:
        self.lengths = self.arrays.lengths
        self.residues = self.lengths - self.n_special

    def __len__(self) -> int:
        return len(self.arrays)

    @property
    def ids(self) -> list[list[int]]:
        """Token ids per sequence as lists (small splits and tests; training uses ``arrays``)."""
        return self.arrays.to_lists()


def encode_frame(frame: pd.DataFrame, tok: Tokenizer, cfg: RunConfig, targets: np.ndarray | None) -> Encoded:
    arrays = tok.encode_arrays(frame["aa_seq"].tolist(), cfg.data.max_seq_len)
    n_special = tok.n_prefix + tok.n_suffix
    residues = (arrays.lengths - n_special).tolist()
    method = get_method(cfg.method.training_method)
    structure = method.residue_inputs(frame, residues, tok.n_prefix, tok.n_suffix, cfg)
    tensor = None
    if targets is not None:
        dtype = torch.long if cfg.data.problem_type == "single_label_classification" else torch.float32
        tensor = torch.as_tensor(np.array(targets), dtype=dtype)
    return Encoded(arrays, tensor, structure, tok.n_prefix, n_special, tok.pad_id)


def encode_split(frame: pd.DataFrame, data: Any, name: str, tok: Tokenizer, cfg: RunConfig) -> Encoded:
    return encode_frame(frame, tok, cfg, data.targets(name))


def _batches(split: Encoded, cfg: RunConfig, shuffle: bool, epoch: int) -> list[list[int]]:
    b = cfg.batch
    return make_batches(
        padded_lengths(split.lengths),  # a token budget counts the padded batch it makes
        mode=b.batch_mode,
        batch_size=b.batch_size,
        batch_token=b.batch_token,
        shuffle=shuffle,
        seed=cfg.train.seed if shuffle else 0,
        epoch=epoch,
    )


def train_batches(split: Encoded, cfg: RunConfig, epoch: int) -> list[list[int]]:
    """An epoch's training batches: a function of (seed, epoch) alone, so a resumed run and the
    step count made before training see exactly the batches the loop will."""
    return _batches(split, cfg, shuffle=True, epoch=epoch)


def eval_batches(split: Encoded, cfg: RunConfig) -> list[list[int]]:
    """Length-sorted batches for inference (the caller restores the original order)."""
    return _batches(split, cfg, shuffle=False, epoch=0)


def batch_width(split: Encoded, idx: Sequence[int]) -> int:
    """The padded width of batch ``idx``: its longest sequence, rounded up to ``PAD_MULTIPLE``."""
    return int(padded_lengths(split.lengths[np.asarray(idx, dtype=np.int64)].max()))


def _pad(rows: list[list[int]], value: int, width: int) -> torch.Tensor:
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
    return out


def _valid(split: Encoded, idx: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The batch's rows as an index array, and True at each row's real tokens (batch x width)."""
    rows = np.asarray(idx, dtype=np.int64)
    lens = split.lengths[rows]
    return rows, np.arange(batch_width(split, idx))[None, :] < lens[:, None]


def residue_mask(split: Encoded, idx: Sequence[int], width: int) -> torch.Tensor:
    """True at residue positions only: special tokens and padding never enter the pooling."""
    pos = np.arange(width)[None, :]
    start = split.n_prefix
    ends = start + split.residues[np.asarray(idx, dtype=np.int64)][:, None]
    return torch.from_numpy((pos >= start) & (pos < ends))


def frozen_pass(split: Encoded, cfg: RunConfig) -> Iterator[FrozenBatch]:
    """The frozen backbone's one pass (the embedding cache): inference batches, length-sorted, with
    their padded inputs and residue masks."""
    for idx in eval_batches(split, cfg):
        input_ids, attention = padded_inputs(split, idx)
        yield idx, input_ids, attention, residue_mask(split, idx, input_ids.shape[1])


def padded_inputs(split: Encoded, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded to the batch's width (``batch_width``), and the attention mask."""
    rows, valid = _valid(split, idx)
    input_ids = np.full(valid.shape, split.pad_id, dtype=np.int64)
    input_ids[valid] = np.concatenate([split.arrays.row(i) for i in rows])
    return torch.from_numpy(input_ids), torch.from_numpy(valid.astype(np.int64))


def collate(split: Encoded, idx: Sequence[int], cached: SplitFeatures | None = None) -> dict[str, Any]:
    """Model inputs (CPU tensors) for the examples ``idx``: padded tokens, or cached embeddings."""
    if cached is not None and cached.pooled is not None:
        return {"pooled": cached.pooled[idx]}
    width = batch_width(split, idx)
    batch: dict[str, Any] = {
        "residue_mask": residue_mask(split, idx, width),
        "structure": {k: _pad([v[i] for i in idx], 0, width) for k, v in split.structure.items()},
    }
    if cached is not None:
        rows, valid = _valid(split, idx)
        states = torch.zeros(len(rows), width, cached.states.shape[-1])
        states[torch.from_numpy(valid)] = cached.token_rows(rows)
        batch["hidden"] = states
    else:
        batch["input_ids"], batch["attention_mask"] = padded_inputs(split, idx)
    return batch


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {
        k: to_device(v, device) if isinstance(v, dict) else v.to(device, non_blocking=True)
        for k, v in batch.items()
    }


class _CollatedBatches(torch.utils.data.Dataset):
    def __init__(self, split: Encoded, batches: list[list[int]], cached: SplitFeatures | None):
        self.split, self.batches, self.cached = split, batches, cached

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return collate(self.split, self.batches[i], self.cached)


def iterate_batches(
    split: Encoded,
    batches: list[list[int]],
    cached: SplitFeatures | None,
    num_workers: int,
    device: torch.device,
):
    """Yield ``(idx, inputs on device)`` for each batch, in order. With ``num_workers`` > 0, worker
    processes pad and assemble the next batches while the model computes (a DataLoader over the
    pre-formed batches: tokenization happened once, before training)."""
    if num_workers == 0:
        for idx in batches:
            yield idx, to_device(collate(split, idx, cached), device)
        return
    loader = torch.utils.data.DataLoader(
        _CollatedBatches(split, batches, cached),
        batch_size=None,
        shuffle=False,
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
        # Workers draw their seed from this generator, not from the global RNG: using workers
        # must not shift the dropout randomness of training (same seed, same result).
        generator=torch.Generator().manual_seed(0),
    )
    for idx, batch in zip(batches, loader, strict=True):
        yield idx, to_device(batch, device)


def predictions_frame(frame: pd.DataFrame, outputs: np.ndarray, cfg: RunConfig) -> pd.DataFrame:
    """The input columns (aa_seq, label if present), then ``prediction`` and per-class probabilities.

    single-label: ``prediction`` is the class index and ``prob_<k>`` each class's probability;
    multi-label: ``prob_<k>`` per label and ``prediction`` the labels over 0.5, written like the
    labels (``multi_label_format``): comma-separated indices "0,3", or multi-hot "1,0,0,1";
    regression: ``prediction`` in label units.
    """
    cols = [c for c in ("id", "aa_seq", "label") if c in frame.columns]
    out = frame[cols].reset_index(drop=True).copy()
    pt = cfg.data.problem_type
    if pt == "single_label_classification":
        out["prediction"] = outputs.argmax(axis=1)
        for k in range(outputs.shape[1]):
            out[f"prob_{k}"] = outputs[:, k]
    elif pt == "multi_label_classification":
        chosen = [np.flatnonzero(row > 0.5) for row in outputs]
        if cfg.data.multi_label_format == "multi_hot":
            out["prediction"] = [format_multi_hot(c, outputs.shape[1]) for c in chosen]
        else:
            out["prediction"] = [",".join(str(k) for k in c) for c in chosen]
        for k in range(outputs.shape[1]):
            out[f"prob_{k}"] = outputs[:, k]
    else:
        out["prediction"] = outputs.reshape(-1)
    return out
