"""The baseline: a plain fine-tuning loop as the reference implementation writes it.

Deliberately not venus_core: a Hugging Face ``EsmModel`` (the library's default attention) with a
mean-pooling MLP head and AdamW; the training sequences in a fresh random order every epoch
(no length bucketing); each batch tokenised in the loop (the reference's collate function) and
padded to the longest sequence of the whole training set (``padding="dataset"``, the
"per-epoch-padded" loop) or, less naively, to the longest sequence of the batch
(``padding="batch"``); ``gc.collect()`` after every step. Only the training pass is timed.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn


def run_naive(
    model_dir: str | Path,
    data_dir: str | Path,
    method: str,
    *,
    n_out: int,
    epochs: int = 1,
    batch_size: int = 8,
    learning_rate: float = 5e-4,
    padding: str = "dataset",
    seed: int = 0,
) -> dict[str, Any]:
    """Train ``epochs`` epochs on ``data_dir/train.csv``; residues/s and padding of the last one."""
    from transformers import AutoTokenizer, EsmModel

    if padding not in ("dataset", "batch"):
        raise ValueError(padding)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    backbone = EsmModel.from_pretrained(str(model_dir), add_pooling_layer=False)
    attn_impl = getattr(backbone.config, "_attn_implementation", None)
    if method == "plm-lora":
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            r=8, lora_alpha=32, lora_dropout=0.1, target_modules=["query", "key", "value"], bias="none"
        )
        backbone = get_peft_model(backbone, config)
    elif method == "freeze":
        backbone.requires_grad_(False)
    elif method != "full":
        raise ValueError(f"the naive loop knows freeze, full and plm-lora, not {method!r}")
    hidden = backbone.config.hidden_size
    head = nn.Sequential(
        nn.Dropout(0.1), nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(0.1), nn.Linear(hidden, n_out)
    )
    params = [p for p in [*backbone.parameters(), *head.parameters()] if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=learning_rate)

    frame = pd.read_csv(Path(data_dir) / "train.csv")
    seqs = frame["aa_seq"].astype(str).tolist()
    labels = torch.tensor(frame["label"].astype(int).tolist())
    longest = max(len(s) for s in seqs) + 2  # + <cls> and <eos>
    generator = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(1, epochs + 1):
        backbone.train()
        head.train()
        order = torch.randperm(len(seqs), generator=generator).tolist()
        residues = padded_tokens = real_tokens = 0
        t0 = time.perf_counter()
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = [seqs[i] for i in idx]
            if padding == "dataset":
                enc = tokenizer(batch, padding="max_length", max_length=longest, return_tensors="pt")
            else:
                enc = tokenizer(batch, padding=True, return_tensors="pt")
            if method == "freeze":
                with torch.no_grad():
                    states = backbone(**enc).last_hidden_state
            else:
                states = backbone(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1)
            loss = nn.functional.cross_entropy(head(pooled), labels[idx])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            gc.collect()  # the reference calls it (and torch.cuda.empty_cache()) after every step
            residues += sum(len(s) for s in batch)
            real_tokens += int(enc["attention_mask"].sum())
            padded_tokens += enc["input_ids"].numel()
        seconds = time.perf_counter() - t0
        history.append(
            {
                "epoch": epoch,
                "train_seconds": seconds,
                "train_residues_per_s": residues / seconds,
                "padded_fraction": 1.0 - real_tokens / padded_tokens,
                "loss": loss.item(),
            }
        )
    last = history[-1]
    return {
        "method": method,
        "padding": padding,
        "attn_implementation": attn_impl,
        "batch_size": batch_size,
        "epochs": history,
        "train_residues_per_s": last["train_residues_per_s"],
        "train_seconds": last["train_seconds"],
        "padded_fraction": last["padded_fraction"],
    }
