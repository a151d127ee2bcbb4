"""Is ``torch.compile`` worth offering for CPU training? ``python -m bench.compile [eager|compile]``

Trains the ESM2-8M shape (random weights) with AdamW for 2 warm-up steps and then 14 timed steps of
8 sequences at bucket-like lengths between 310 and 1000 tokens (one padded row per batch, as
bucketing leaves), and prints the warm-up seconds (including compilation) and the steady tokens/s.
Run both modes in separate processes on a quiet machine and compare. Result on 2026-11-29 (2-core
AMD EPYC, torch 2.13.0): eager 1,684 tokens/s; compiled (``dynamic=True``) 1,062 tokens/s after a
41 s warm-up, so venus_core does not compile.
"""

from __future__ import annotations

import sys
import time

import torch


def main(mode: str) -> None:
    from transformers import EsmConfig, EsmModel

    from venus_core.assets import embedded_model_dir

    torch.manual_seed(0)
    model = EsmModel._from_config(
        EsmConfig.from_pretrained(str(embedded_model_dir())), attn_implementation="sdpa"
    )
    model.train()
    head = torch.nn.Linear(model.config.hidden_size, 13)
    optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-4)
    run = torch.compile(model, dynamic=True) if mode == "compile" else model
    lengths = [310, 480, 640, 820, 1000, 560, 720]

    def step(length: int) -> None:
        ids = torch.randint(4, 24, (8, length))
        mask = torch.ones(8, length, dtype=torch.long)
        mask[0, length - 30 :] = 0
        hidden = run(input_ids=ids, attention_mask=mask).last_hidden_state
        head(hidden.mean(1)).logsumexp(-1).mean().backward()
        optimizer.step()
        optimizer.zero_grad()

    t0 = time.perf_counter()
    for length in lengths[:2]:
        step(length)
    print(f"{mode}: warm-up (2 steps, compilation included) {time.perf_counter() - t0:.1f} s")
    t0, tokens = time.perf_counter(), 0
    for length in lengths * 2:
        step(length)
        tokens += 8 * length
    print(f"{mode}: {tokens / (time.perf_counter() - t0):,.0f} tokens/s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "eager")
