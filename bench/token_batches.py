"""``python -m bench.token_batches [--quick] [--long]``: training throughput and peak memory per batch budget.

An ESM2-8M-shaped random model trains ``full`` and ``plm-lora`` on synthetic proteins of 50-250
residues (``--long``: 300-1000) with batch size 8 and with token budgets of 2000, 8000 and 16000
tokens, in the default precision. Each row: training residues/s of the last epoch (the first one
warms up), peak RSS of the ``train()`` call, and the estimate ``venus_core.memory`` makes for it
(the process before the run + weights, gradients and AdamW state + ``activation_bytes`` of the
largest piece a step runs at once: on a CPU, batches run in pieces of at most
``venus_core.batching.CPU_PIECE_ELEMENTS`` padded tokens x width; ``--piece-elements 0`` runs whole
batches, for the A/B in bench/README.md (Pieces)). Each row also counts the run's minor page
faults and system CPU time:
``--allocator default`` runs without ``venus_core.allocator.keep_freed_blocks`` (glibc's own mmap
threshold), for the A/B in bench/README.md (Allocator). After the rows, each row's MFU against the
fp32 or bf16 matmul peak (its precision's), measured before and after them. Writes
``bench/results/token_batches.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.flops import Shape, best_peaks, matmul_peak, measured_dtypes, precision_key, training_flops
from bench.run import PeakRss, _cpu_seconds, _cpu_share, build_random_esm2_8m, run_ours

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results" / "token_batches.json"
AA = np.frombuffer(b"ACDEFGHIKLMNPQRSTVWY", dtype=np.uint8)
BUDGETS = [("size", 8), ("token", 2000), ("token", 8000), ("token", 16000)]
N_LABELS = 13


def synthetic_proteins(n: int, lo: int, hi: int, seed: int) -> pd.DataFrame:
    """``n`` random proteins of ``lo``-``hi`` residues (uniform), random labels of 13 classes."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(lo, hi + 1, n)
    letters = AA[rng.integers(0, len(AA), int(lengths.sum()))].tobytes().decode()
    ends = np.cumsum(lengths)
    seqs = [letters[e - k : e] for e, k in zip(ends, lengths, strict=True)]
    return pd.DataFrame({"aa_seq": seqs, "label": rng.integers(0, N_LABELS, n)})


def write_dataset(folder: Path, n_train: int, n_eval: int, lo: int = 50, hi: int = 250) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (split, n) in enumerate((("train", n_train), ("validation", n_eval), ("test", n_eval))):
        synthetic_proteins(n, lo, hi, seed=i).to_csv(folder / f"{split}.csv", index=False)
    return folder


def config(data_dir: Path, model_dir: Path, runs: Path, method: str, mode: str, budget: int, epochs: int):
    from venus_core.config import RunConfig

    values: dict[str, Any] = dict(
        dataset=str(data_dir),
        plm_model=str(model_dir),
        training_method=method,
        problem_type="single_label_classification",
        num_labels=N_LABELS,
        metrics="accuracy",
        monitor="accuracy",
        monitor_strategy="max",
        max_seq_len=1022,
        batch_mode=mode,
        num_workers=0,
        device="cpu",
        learning_rate=5e-4,
        patience=10**6,
        seed=42,
        num_epochs=epochs,
        output_dir=str(runs),
    )
    values["batch_size" if mode == "size" else "batch_token"] = budget
    return RunConfig().with_values(**values)


def largest_batch(lengths: np.ndarray, cfg, epochs: int, piece: int | None = None) -> tuple[int, int]:
    """(padded tokens, longest sequence) of the largest training batch of the run's epochs; with
    ``piece``, of the largest piece a step runs at once (``batching.split_batch``)."""
    from venus_core.batching import make_batches, padded_lengths, split_batch

    lengths = padded_lengths(lengths)  # the widths batches are padded to
    best = (0, 0)
    for epoch in range(epochs):
        b = cfg.batch
        for batch in make_batches(
            lengths, mode=b.batch_mode, batch_size=b.batch_size, batch_token=b.batch_token,
            shuffle=True, seed=cfg.train.seed, epoch=epoch,
        ):  # fmt: skip
            for idx in [batch] if piece is None else split_batch(batch, lengths, piece):
                longest = int(lengths[idx].max())
                best = max(best, (longest * len(idx), longest))
    return best


def estimate_mb(
    rss_before_mb: float, shape: Shape, row: dict[str, Any], method: str, tokens: tuple[int, int]
) -> float:
    from venus_core import memory

    stats = row.get("model_stats") or {}
    fixed = memory.training_bytes(stats.get("total_params", 0), stats.get("trainable_params", 0))["total"]
    act = memory.activation_bytes(
        tokens[0],
        tokens[1],
        n_layers=shape.n_layers,
        hidden=shape.hidden,
        intermediate=shape.intermediate,
        n_heads=shape.n_heads,
        precision="bf16" if row.get("precision", "").startswith("bf16") else "fp32",
        lora=method == "plm-lora",
    )
    return rss_before_mb + (fixed + act) / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer proteins, 1 epoch")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--methods", default="full,plm-lora")
    ap.add_argument(
        "--long", action="store_true",
        help="proteins of 300-1000 residues (120 for training) instead of 50-250 (480)",
    )  # fmt: skip
    ap.add_argument(
        "--allocator", choices=("keep", "default"), default="keep",
        help="default: glibc's own mmap threshold during runs (the A/B of venus_core.allocator)",
    )  # fmt: skip
    ap.add_argument(
        "--piece-elements", type=int, default=None,
        help="run steps in pieces of at most this many tokens x width (default: "
        "venus_core.batching.CPU_PIECE_ELEMENTS; 0: whole batches, as before 2026-12-03)",
    )  # fmt: skip
    ap.add_argument(
        "--pad-multiple", type=int, default=None,
        help="pad batch widths to this multiple (default: venus_core.batching.PAD_MULTIPLE; 1: no rounding)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    from venus_core import batching

    if args.pad_multiple is not None:
        batching.PAD_MULTIPLE = args.pad_multiple
    if args.piece_elements is not None:
        batching.CPU_PIECE_ELEMENTS = args.piece_elements or 10**15
    if args.allocator == "default":
        from venus_core import allocator

        allocator.keep_freed_blocks = contextlib.nullcontext
    n_train, epochs = (160, 1) if args.quick else (480, 2)
    lo, hi = (300, 1000) if args.long else (50, 250)
    if args.long:
        n_train //= 4  # about as many residues as the short proteins
    peaks = [matmul_peak(dtype=d) for d in measured_dtypes()]
    work = Path(tempfile.mkdtemp(prefix="venus-token-batches-"))
    rows = []
    try:
        data_dir = write_dataset(work / "data", n_train, 16, lo, hi)
        model_dir = build_random_esm2_8m(work / "model")
        shape = Shape.from_model_dir(model_dir)
        lengths = pd.read_csv(data_dir / "train.csv")["aa_seq"].str.len().to_numpy() + 2  # <cls>, <eos>
        import peft  # noqa: F401  (what train() imports on its first call belongs to every row's baseline)
        import transformers  # noqa: F401

        import venus_core.train  # noqa: F401

        rss = PeakRss()
        for method in args.methods.split(","):
            for mode, budget in BUDGETS:
                cfg = config(data_dir, model_dir, work / "runs", method, mode, budget, epochs)
                c0, t0 = _cpu_seconds(), time.perf_counter()
                u0 = resource.getrusage(resource.RUSAGE_SELF)
                row = run_ours(cfg, rss)
                u1 = resource.getrusage(resource.RUSAGE_SELF)
                row.update(minor_faults=u1.ru_minflt - u0.ru_minflt, system_cpu_s=u1.ru_stime - u0.ru_stime)
                row["cpu_share"] = _cpu_share(_cpu_seconds() - c0, time.perf_counter() - t0)
                tokens = largest_batch(lengths, cfg, epochs)
                piece = largest_batch(lengths, cfg, epochs, batching.piece_tokens("cpu", shape.hidden))
                last = row["epochs"][-1] if row.get("epochs") else {}
                row.update(
                    method=method,
                    allocator=args.allocator,
                    pad_multiple=batching.PAD_MULTIPLE,
                    batch=f"{budget} seqs" if mode == "size" else f"{budget} tokens",
                    largest_batch_tokens=tokens[0],
                    largest_piece_tokens=piece[0],
                    residues_per_s=last.get("train_residues_per_s"),
                    estimate_mb=estimate_mb(row["rss_before_mb"], shape, row, method, piece),
                )
                flops = training_flops(lengths.tolist(), shape, method, N_LABELS)
                row["train_gflops_per_s"] = (
                    flops / (lengths.sum() - 2 * len(lengths)) * (row["residues_per_s"] or 0) / 1e9
                )
                rows.append(row)
                print(_line(row), flush=True)
        peaks += [matmul_peak(dtype=d) for d in measured_dtypes()]
        best = best_peaks(peaks)
        for row in rows:
            row["mfu_peak"] = precision_key(row.get("precision"))
            row["mfu"] = row["train_gflops_per_s"] / best[row["mfu_peak"]]
        print("MFU against the best matmul peak of the row's precision, measured before and after the rows:")
        print("  " + ", ".join(f"{d} {g:,.0f} GFLOP/s" for d, g in best.items()))
        for row in rows:
            print(f"  {row['method']:9s} {row['batch']:>13s} {row['mfu_peak']}  MFU {row['mfu']:.1%}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {"rows": rows, "epochs": epochs, "n_train": n_train, "lengths": [lo, hi], "matmul_peaks": peaks},
            indent=1,
            default=str,
        )
    )
    return 0 if all(r.get("status") == "completed" for r in rows) else 1


def _line(r: dict[str, Any]) -> str:
    ratio = r["peak_rss_mb"] / r["estimate_mb"]
    rps = r["residues_per_s"] or 0
    return (
        f"{r['method']:9s} {r['batch']:>13s} {r.get('precision', '?'):>10s} res/s {rps:7,.0f}"
        f"  GFLOP/s {r['train_gflops_per_s']:6.1f}  peak {r['peak_rss_mb']:6,.0f} MB"
        f"  estimate {r['estimate_mb']:6,.0f} MB  peak/est {ratio:4.2f}"
        f"  largest batch {r['largest_batch_tokens']:,} tokens (piece {r['largest_piece_tokens']:,})"
        f"  CPU {r['cpu_share']:.0%}"
        f"  faults {r['minor_faults'] / 1e6:.2f}M  sys {r['system_cpu_s']:.1f} s"
    )


if __name__ == "__main__":
    raise SystemExit(main())
