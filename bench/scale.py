"""``python -m bench.scale [--quick]``: how check, loading, the embedding cache and a freeze epoch scale.

Two synthetic data sets (full: 10k and 100k proteins; ``--quick``: 2k and 10k), each split
80/10/10 into train/validation/test CSVs in a temporary folder: Swiss-Prot amino-acid frequencies
(``bench.explore.FREQ``), lengths uniform in 50-250 residues (short, so that 100k proteins fit on 2
CPU cores), 10 random classes. Every stage runs in a fresh Python process, so its peak memory
(Linux ``VmHWM``, reset after the imports) is its own:

- ``check``: ``doctor.check`` (what ``python -m venus_core check`` calls), leakage report off (its
  alignment is timed by the homology benchmarks);
- ``tokenise``: ``Tokenizer.encode_arrays`` (``venus_core.tokens``, what loading calls) on the
  CSVs' sequences, CSV reading excluded;
- ``loading``, ``cache build``, ``freeze epoch``: one ``train()`` with ``training_method=freeze``,
  ``embedding_cache`` on, 1 epoch, timed from its events (``loading`` to ``caching`` to
  ``run_start``; the epoch's training pass); the peak is reset at each phase;
- ``inference_mode``: the plain reference for the cache build: Hugging Face ``EsmModel`` of the same
  weights under ``torch.inference_mode()`` and the run's autocast, over the same sequences in the
  same length-sorted batches (``pipeline.eval_batches``, batch size 16), padded beforehand (untimed).

Model: an ESM2-shaped random model, 3 layers, hidden 160, 10 heads, intermediate 640 (``--model
small``; ESM2-8M's shape, ``--model 8m``, is ~5x slower: the 100k set would take an hour here).
Writes ``bench/results/scale.json``; the exit status is 1 only when a stage failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.explore import AA, FREQ

OUT = Path(__file__).resolve().parent / "results" / "scale.json"
N_LABELS = 10
MODELS = {
    "8m": {},
    "small": dict(num_hidden_layers=3, hidden_size=160, num_attention_heads=10, intermediate_size=640),
    "tiny": dict(num_hidden_layers=1, hidden_size=32, num_attention_heads=2, intermediate_size=64),
}
# (row label, the stage's result key); residues/s where the stage has a residue count
ROWS = (
    ("check", "check"),
    ("loading (train)", "loading"),
    ("  tokenise alone", "tokenise"),
    ("cache build", "caching"),
    ("  inference_mode", "inference"),
    ("freeze epoch", "train"),
)


def write_set(folder: Path, n: int, seed: int = 0, lo: int = 50, hi: int = 250) -> Path:
    """``n`` synthetic proteins in train/validation/test.csv (80/10/10; columns id, aa_seq, label)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lengths = rng.integers(lo, hi + 1, n)
    text = "".join(AA[rng.choice(20, int(lengths.sum()), p=FREQ / FREQ.sum())].tolist())
    ends = np.cumsum(lengths)
    seqs = [text[e - k : e] for e, k in zip(ends, lengths, strict=True)]
    df = pd.DataFrame(
        {"id": [f"SYN{i:06d}" for i in range(n)], "aa_seq": seqs, "label": rng.integers(0, N_LABELS, n)}
    )
    a, b = int(n * 0.8), int(n * 0.9)
    for name, part in (("train", df[:a]), ("validation", df[a:b]), ("test", df[b:])):
        part.to_csv(folder / f"{name}.csv", index=False)
    return folder


def build_model(out: Path, size: str = "small") -> Path:
    """An ESM2-shaped model with random weights (``MODELS[size]`` over ESM2-8M's config) and the
    embedded model's tokenizer files."""
    from bench.run import build_random_esm2_8m

    return build_random_esm2_8m(out, **MODELS[size])


def run_config(data_dir: Path, model_dir: Path, runs: Path):
    from venus_core.config import RunConfig

    return RunConfig().with_values(
        dataset=str(data_dir),
        plm_model=str(model_dir),
        training_method="freeze",
        embedding_cache=True,
        problem_type="single_label_classification",
        num_labels=N_LABELS,
        metrics="accuracy",
        monitor="accuracy",
        monitor_strategy="max",
        leakage_report=False,
        max_seq_len=1022,
        num_workers=0,
        device="cpu",
        seed=42,
        num_epochs=1,
        output_dir=str(runs),
    )


# -- the stages (each run in a fresh process by ``main``; in this process by the tests) -------------


def _peak() -> Any:
    from bench.run import PeakRss

    return PeakRss()


def _residues(cfg) -> int:
    data = Path(cfg.data.dataset)
    return int(
        sum(pd.read_csv(data / f"{s}.csv")["aa_seq"].str.len().sum() for s in ("train", "validation", "test"))
    )


def stage_check(cfg) -> dict[str, Any]:
    from venus_core import doctor

    rss = _peak()
    rss.start()
    t0 = time.perf_counter()
    report = doctor.check(cfg)
    seconds = time.perf_counter() - t0
    ok = not report.errors
    return {"check": {"seconds": seconds, "peak_mb": rss.peak_mb(), "ok": ok, "residues": _residues(cfg)}}


def stage_tokenise(cfg) -> dict[str, Any]:
    import torch

    from venus_core.modeling import load_pretrained

    tok = load_pretrained(cfg, torch.device("cpu")).tokenizer
    data = Path(cfg.data.dataset)
    seqs = {s: pd.read_csv(data / f"{s}.csv")["aa_seq"].tolist() for s in ("train", "validation", "test")}
    tok.encode_arrays(["ACDEFGHIKLMNPQRSTVWY"], cfg.data.max_seq_len)  # builds the table (once per run)
    rss = _peak()
    rss.start()
    t0 = time.perf_counter()
    tokens = sum(int(tok.encode_arrays(s, cfg.data.max_seq_len).offsets[-1]) for s in seqs.values())
    seconds = time.perf_counter() - t0
    residues = sum(len(x) for s in seqs.values() for x in s)
    return {
        "tokenise": {"seconds": seconds, "peak_mb": rss.peak_mb(), "residues": residues, "tokens": tokens}
    }


def stage_train(cfg) -> dict[str, Any]:
    """One freeze run: each phase's seconds (from its events) and peak memory (reset per phase)."""
    from venus_core.train import train

    rss = _peak()
    rss.start()
    marks: list[tuple[str, float, float]] = []  # (phase, event time, peak MB of the phase before)
    events: list[dict[str, Any]] = []

    def emit(e: dict[str, Any]) -> None:
        events.append(e)
        name = e.get("phase") if e.get("type") == "phase" else e.get("type")
        if name in ("loading", "caching", "run_start", "train", "validate") and (
            not marks or marks[-1][0] != name
        ):
            marks.append((name, e["time"], rss.peak_mb()))
            rss.start()

    result = train(cfg, emit=emit)
    out: dict[str, Any] = {}
    for (name, start, _), (_, stop, peak) in zip(marks, marks[1:], strict=False):
        if name in ("loading", "caching", "train"):
            out[name] = {"seconds": stop - start, "peak_mb": peak}
    epoch = next((e for e in events if e.get("type") == "epoch"), {})
    residues = _residues(cfg)
    for name in ("loading", "caching"):
        if name in out:
            out[name]["residues"] = residues
    if "train" in out:
        out["train"]["train_residues_per_s"] = epoch.get("train_residues_per_s")
    out["status"] = result.status
    return out


def stage_inference(cfg) -> dict[str, Any]:
    """The cache build's reference: a plain ``inference_mode`` forward over the same batches."""
    import torch
    from transformers import EsmModel

    from venus_core.devices import autocast_dtype
    from venus_core.modeling import load_pretrained
    from venus_core.pipeline import encode_frame, eval_batches, padded_inputs

    tok = load_pretrained(cfg, torch.device("cpu")).tokenizer
    model = EsmModel.from_pretrained(cfg.model.plm_model, add_pooling_layer=False).eval()
    autocast = autocast_dtype(torch.device("cpu"), cfg.train.mixed_precision)
    data = Path(cfg.data.dataset)
    batches, residues = [], 0
    for s in ("train", "validation", "test"):
        split = encode_frame(pd.read_csv(data / f"{s}.csv"), tok, cfg, None)
        batches += [padded_inputs(split, idx) for idx in eval_batches(split, cfg)]
        residues += int(split.residues.sum())
    rss = _peak()
    rss.start()
    t0 = time.perf_counter()
    with torch.inference_mode(), torch.autocast("cpu", dtype=autocast, enabled=autocast is not None):
        for input_ids, attention in batches:
            model(input_ids=input_ids, attention_mask=attention)
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "peak_mb": rss.peak_mb(), "residues": residues, "batches": len(batches)}
    return {"inference": out}


STAGES = {
    "check": stage_check,
    "tokenise": stage_tokenise,
    "train": stage_train,
    "inference": stage_inference,
}


def measure(n: int, work: Path, model_dir: Path, isolate: bool = True) -> dict[str, Any]:
    """Every stage on a fresh ``n``-protein set; with ``isolate`` each stage in its own process."""
    data_dir = write_set(work / f"data-{n}", n)
    cfg = run_config(data_dir, model_dir, work / f"runs-{n}")
    out: dict[str, Any] = {"n": n, "failed": []}
    for name, fn in STAGES.items():
        try:
            res = _in_subprocess(name, data_dir, model_dir, work / f"runs-{n}") if isolate else fn(cfg)
        except Exception as e:  # noqa: BLE001 - reported as a failed stage, the others still run
            res = {"error": repr(e)}
        if (
            "error" in res
            or res.get("status", "completed") != "completed"
            or not res.get("check", {}).get("ok", True)
        ):
            out["failed"].append(name)
        out.update({k: v for k, v in res.items() if isinstance(v, dict)})
        print(f"  {n:,} proteins: {name} done", flush=True)
    return out


def _in_subprocess(stage: str, data_dir: Path, model_dir: Path, runs: Path) -> dict[str, Any]:
    args = ["--worker", stage, "--data", str(data_dir), "--model-dir", str(model_dir), "--runs", str(runs)]
    proc = subprocess.run([sys.executable, "-m", "bench.scale", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the report ------------------------------------------------------------------------------------


def rate(stage: dict[str, Any] | None) -> float | None:
    """Residues per second of a stage (the epoch: its own ``train_residues_per_s``)."""
    if not stage:
        return None
    if "train_residues_per_s" in stage:
        return stage["train_residues_per_s"]
    return stage["residues"] / stage["seconds"] if stage.get("residues") and stage["seconds"] > 0 else None


def render(sets: list[dict[str, Any]]) -> str:
    small, large = sets[0], sets[-1]
    head = f"{'stage':18s}" + "".join(f" | {s['n']:>7,} s  res/s      peak MB" for s in sets)
    lines = [head + f" | time x  mem x (linear: {large['n'] / small['n']:.0f}x)"]
    for label, key in ROWS:
        cells = []
        for s in sets:
            st, r = s.get(key), rate(s.get(key))
            cells.append(
                f" | {st['seconds']:9.2f} {r or 0:11,.0f} {st['peak_mb']:8,.0f}" if st else " |" + " " * 30
            )
        a, b = small.get(key), large.get(key)
        growth = (
            f" | {b['seconds'] / a['seconds']:6.1f} {b['peak_mb'] / a['peak_mb']:6.2f}"
            if a and b and a["seconds"] > 0
            else ""
        )
        lines.append(f"{label:18s}" + "".join(cells) + growth)
    for s in sets:
        c, i = s.get("caching"), s.get("inference")
        if c and i:
            lines.append(
                f"{s['n']:,} proteins: cache build {c['seconds']:.1f} s / inference_mode {i['seconds']:.1f} s"
                f" = {c['seconds'] / i['seconds']:.2f}x (target <= 1.5x)"
            )
        if s.get("tokenise"):
            lines.append(
                f"{s['n']:,} proteins: tokenising {rate(s['tokenise']):,.0f} residues/s (target >= 5M)"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2k and 10k proteins instead of 10k and 100k")
    ap.add_argument("--sizes", help="comma-separated protein counts (overrides --quick)")
    ap.add_argument("--model", default="small", choices=sorted(MODELS))
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--worker", choices=sorted(STAGES), help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--model-dir", help=argparse.SUPPRESS)
    ap.add_argument("--runs", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:  # one stage in this fresh process; its result as the last line of stdout
        cfg = run_config(Path(args.data), Path(args.model_dir), Path(args.runs))
        print(json.dumps(STAGES[args.worker](cfg), default=str))
        return 0
    sizes = (
        [int(x) for x in args.sizes.split(",")]
        if args.sizes
        else [2000, 10000]
        if args.quick
        else [10000, 100000]
    )
    work = Path(tempfile.mkdtemp(prefix="venus-scale-"))
    t0 = time.perf_counter()
    try:
        model_dir = build_model(work / "model", args.model)
        sets = [measure(n, work, model_dir) for n in sizes]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(render(sets))
    print(f"model {args.model}, wall {time.perf_counter() - t0:.0f} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"model": args.model, "sets": sets}, indent=1, default=str))
    return 1 if any(s["failed"] for s in sets) else 0


if __name__ == "__main__":
    raise SystemExit(main())
