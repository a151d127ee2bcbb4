"""``python -m bench.run [--quick] [--out bench/results/bench.json]``: the training benchmark.

Measures, on a fixed sample of Demo_SubcellularLocalization (cut at 1022 residues), for an
ESM2-8M-shaped model with random weights and the real embedded ESM2-8M, and the methods
``freeze``, ``full`` and ``plm-lora`` (in the default precision, and in float32 where that differs):
training residues/s, padded-token fraction, epoch seconds,
peak RSS and model FLOP utilisation against the matmul peak of the row's precision (fp32 or bf16),
both measured in the same run; the
wall time of N ``freeze`` epochs relative to 1 (with and without the embedding cache); a naive
baseline loop (``bench.naive``) on the same data. Prints a table and the targets, writes every
number as JSON. What watching a run in the dashboard costs is measured in a real browser by
``bench.browser`` (``make bench`` runs both).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from bench.flops import (
    Shape,
    best_peaks,
    forward_flops,
    matmul_peak,
    measured_dtypes,
    precision_key,
    training_flops,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results" / "bench.json"
DATASET = "Demo_SubcellularLocalization"
N_LABELS = 13
SHORT_PRECISION = {"float32": "fp32", "bf16 mixed": "bf16", "fp16 mixed": "fp16"}
BUSY_CPU_SHARE = 0.8  # below this CPU% (see _cpu_share) a run was slowed by other processes
TARGETS = {
    "freeze_n_over_1": 2.0,  # at most
    "full_mfu": 0.35,  # at least
    "plm-lora_mfu": 0.30,  # at least (4 N + attention FLOPs per residue: no frozen-weight gradients)
    "ours_over_naive": 3.0,  # at least
}


@dataclass(frozen=True)
class Plan:
    """How much the benchmark does: ``--quick`` is a smoke run of the same measurements."""

    name: str
    n_train: int
    n_valid: int
    n_test: int
    max_len: int
    batch_size: int
    freeze_epochs: int  # N of "N freeze epochs relative to 1" (the target is stated for 100)
    nocache_epochs: int  # epochs of the uncached freeze run the 100-epoch time is extrapolated from
    compare_repeats: int  # alternating (ours, naive) pairs for the ours/naive ratio (best of each)
    naive_extra: bool  # also the naive freeze loop and the naive loop padded per batch
    # Epochs of each full / plm-lora run. The first one of a run pays its warm-up (a run's memory
    # touched for the first time, new batch shapes); later ones are the steady state the speed and
    # MFU columns report (a 4-step epoch of the quick plan ran at half the steady speed).
    speed_epochs: int


PLANS = {
    # Sequences cut at 1022 residues (ESM-1b/1v's limit, the usual cap for the ESM family): the
    # sample keeps the dataset's spread of protein lengths (30 to 1022 residues).
    "full": Plan("full", 128, 32, 32, 1022, 8, 100, 3, 2, True, 3),
    "quick": Plan("quick", 32, 8, 8, 1022, 8, 20, 2, 1, False, 2),
}


# -- machine and process facts -----------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import peft
    import transformers

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "git": _git_state(),
    }


def _git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "venus_core_dirty": bool(git("status", "--porcelain", "--", "venus_core")),
    }


def _cpu_seconds() -> float:
    """CPU time of this process, all threads (user + system)."""
    t = os.times()
    return t.user + t.system


def _cpu_share(cpu_seconds: float, wall: float) -> float:
    """The share of its torch threads' wall time the process actually ran: about 1 on a quiet
    machine; well below 1 when other work took the cores (the numbers are then pessimistic)."""
    return cpu_seconds / max(wall * torch.get_num_threads(), 1e-9)


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


class PeakRss:
    """Peak resident memory of this process over a block (Linux: VmHWM, reset through
    /proc/self/clear_refs; elsewhere the process-lifetime ru_maxrss)."""

    def __init__(self) -> None:
        self.resettable = self._reset()

    @staticmethod
    def _reset() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    @staticmethod
    def _status_kb(key: str) -> int | None:
        try:
            m = re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
        except OSError:
            return None
        return int(m.group(1)) if m else None

    def start(self) -> int | None:
        """Start a block: give freed memory back to the OS first (glibc keeps freed heap pages,
        which would carry one run's peak into the next run's baseline), then reset the peak."""
        gc.collect()
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        self._reset()
        return self._status_kb("VmRSS")

    def peak_mb(self) -> float:
        kb = self._status_kb("VmHWM")
        if kb is None:
            import resource

            kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kb / 1024


# -- inputs: the data sample and the random-weights model -------------------------------------------


def build_sample(plan: Plan, out: Path) -> dict[str, Any]:
    """A fixed, seeded sample of the demo dataset, truncated to ``plan.max_len`` residues (so the
    naive loop and venus_core see exactly the same sequences)."""
    from venus_core.assets import demo_dataset_dir

    src = demo_dataset_dir(DATASET)
    if not (src / "train.csv").exists():
        raise SystemExit(f"{src} is missing: run `make setup` first.")
    out.mkdir(parents=True, exist_ok=True)
    stats: dict[str, Any] = {"source": DATASET, "max_len": plan.max_len}
    for split, n in (("train", plan.n_train), ("validation", plan.n_valid), ("test", plan.n_test)):
        frame = pd.read_csv(src / f"{split}.csv").sample(n=n, random_state=0)
        frame = frame.assign(aa_seq=frame["aa_seq"].str.slice(0, plan.max_len))[["aa_seq", "label"]]
        frame.to_csv(out / f"{split}.csv", index=False)
        lengths = frame["aa_seq"].str.len()
        stats[split] = {
            "sequences": n,
            "residues": int(lengths.sum()),
            "mean_len": float(lengths.mean()),
            "min_len": int(lengths.min()),
            "max_len": int(lengths.max()),
            "lengths": lengths.tolist(),
        }
    return stats


def build_random_esm2_8m(out: Path, **overrides: int) -> Path:
    """ESM2-8M's exact config (6 layers, hidden 320, 20 heads, 1280 intermediate, rotary, vocab 33)
    with random weights, plus the embedded model's tokenizer files. ``overrides``: config fields
    to change (a smaller shape: ``num_hidden_layers=3, hidden_size=160, ...``)."""
    from transformers import EsmConfig, EsmModel

    from venus_core.assets import embedded_model_dir

    src = embedded_model_dir()
    out.mkdir(parents=True, exist_ok=True)
    config = EsmConfig.from_pretrained(str(src), **overrides)
    torch.manual_seed(0)
    EsmModel(config, add_pooling_layer=False).save_pretrained(str(out))
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        if (src / name).exists():
            shutil.copy(src / name, out / name)
    return out


# -- one run of venus_core ------------------------------------------------------------------------


def base_config(plan: Plan, data_dir: Path, runs_dir: Path):
    from venus_core.config import RunConfig

    return RunConfig().with_values(
        dataset=str(data_dir),
        problem_type="single_label_classification",
        num_labels=N_LABELS,
        metrics="accuracy",
        monitor="accuracy",
        monitor_strategy="max",
        max_seq_len=plan.max_len,
        batch_mode="size",
        batch_size=plan.batch_size,
        num_workers=0,
        device="cpu",
        learning_rate=5e-4,
        patience=10**6,  # never stop early: every run does exactly its epochs
        seed=42,
        output_dir=str(runs_dir),
    )


def summarize_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The numbers a run reports about itself, from its event stream."""
    out: dict[str, Any] = {"epochs": []}
    caching_t = None
    for e in events:
        kind = e.get("type")
        if kind == "phase" and e.get("phase") == "caching" and caching_t is None:
            caching_t = e.get("time")  # the first one: later ones report the build's progress
        elif kind == "run_start":
            out.update(
                padded_fraction=e.get("padded_fraction"),
                total_steps=e.get("total_steps"),
                embedding_cache=e.get("embedding_cache"),
                model_stats=e.get("model_stats"),
                precision=e.get("precision"),
            )
            if caching_t is not None:
                out["cache_build_seconds"] = e["time"] - caching_t
        elif kind == "epoch":
            out["epochs"].append(
                {
                    "epoch": e.get("epoch"),
                    "epoch_seconds": e.get("epoch_seconds"),
                    "train_residues_per_s": e.get("train_residues_per_s"),
                    "train/loss": e.get("train/loss"),
                    "val/accuracy": e.get("val/accuracy"),
                }
            )
        elif kind == "status":
            out["status"] = e.get("status")
            out["message"] = e.get("message")
    epochs = out["epochs"]
    if epochs:
        # The steady state: every epoch but the first, which pays the run's warm-up (one epoch alone
        # is all there is).
        steady = epochs[1:] or epochs
        out["train_residues_per_s"] = statistics.median(x["train_residues_per_s"] for x in steady)
        out["epoch_seconds"] = statistics.median(x["epoch_seconds"] for x in steady)
        out["first_epoch_residues_per_s"] = epochs[0]["train_residues_per_s"]
    return out


def run_ours(cfg, rss: PeakRss) -> dict[str, Any]:
    from venus_core.train import train

    events: list[dict[str, Any]] = []
    rss_before = rss.start()
    c0, t0 = _cpu_seconds(), time.perf_counter()
    result = train(cfg, emit=events.append)
    wall = time.perf_counter() - t0
    cpu = _cpu_seconds() - c0
    out = summarize_events(events)
    out.update(
        wall_seconds=wall,
        cpu_share=_cpu_share(cpu, wall),
        status=result.status,
        peak_rss_mb=rss.peak_mb(),
        rss_before_mb=(rss_before or 0) / 1024,
        loadavg=_loadavg(),
    )
    if result.status != "completed":
        out["error"] = result.message
    if result.run_dir is not None:
        out["run_dir"] = str(result.run_dir)
    return out


# -- the benchmark ------------------------------------------------------------------------------------


class Bench:
    def __init__(self, plan: Plan, work: Path) -> None:
        self.plan = plan
        self.work = work
        self.rss = PeakRss()
        self.peaks: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.runs: list[Path] = []

    @property
    def peak_gflops(self) -> dict[str, float]:
        """The best measured matmul peak of each precision ("fp32", "bf16")."""
        return best_peaks(self.peaks)

    def measure_peak(self, label: str) -> None:
        for dtype in measured_dtypes():
            p = matmul_peak(dtype=dtype)
            p.update(label=label, loadavg=_loadavg())
            self.peaks.append(p)
            log(
                f"{dtype} matmul peak ({label}): {p['best_gflops']:.1f} GFLOP/s "
                f"(median {p['median_gflops']:.1f})"
            )

    def ours(self, label: str, cfg, save_dir: Path | None = None, **facts: Any) -> dict[str, Any]:
        """One ``train()`` run. Each run gets its own save directory (so the on-disk embedding
        cache of one run is never reused by the next) unless ``save_dir`` is shared on purpose."""
        if save_dir is None:
            save_dir = self.work / "runs" / f"{len(self.runs):02d}"
        self.runs.append(save_dir)
        cfg = cfg.with_values(output_dir=str(save_dir))
        log(f"running {label} ...")
        try:
            r = run_ours(cfg, self.rss)
        except Exception as e:  # noqa: BLE001 - one failed configuration must not lose the others
            r = {"status": "failed", "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
        if r.get("status") != "completed":
            self.failures.append(f"{label}: {r.get('error')}")
            log(f"  FAILED: {r.get('error')}")
        else:
            log(
                f"  {r.get('train_residues_per_s', 0):,.0f} residues/s, wall {r['wall_seconds']:.1f} s, "
                f"CPU share {r['cpu_share']:.0%}, load {r['loadavg']}"
            )
        r.update(label=label, save_dir=str(save_dir), **facts)
        return r

    def naive(self, label: str, model_dir: Path, data_dir: Path, method: str, padding: str) -> dict[str, Any]:
        from bench.naive import run_naive

        log(f"running {label} ...")
        rss_before = self.rss.start()
        c0, t0 = _cpu_seconds(), time.perf_counter()
        try:
            r = run_naive(
                model_dir, data_dir, method, n_out=N_LABELS, batch_size=self.plan.batch_size, padding=padding
            )
            r.update(status="completed")
        except Exception as e:  # noqa: BLE001
            r = {"status": "failed", "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
            self.failures.append(f"{label}: {r['error']}")
            log(f"  FAILED: {r['error']}")
        wall = time.perf_counter() - t0
        r.update(
            label=label,
            wall_seconds=wall,
            cpu_share=_cpu_share(_cpu_seconds() - c0, wall),
            peak_rss_mb=self.rss.peak_mb(),
            rss_before_mb=(rss_before or 0) / 1024,
            loadavg=_loadavg(),
        )
        if r["status"] == "completed":
            log(
                f"  {r['train_residues_per_s']:,.0f} residues/s, padded {r['padded_fraction']:.0%}, "
                f"CPU share {r['cpu_share']:.0%}, load {r['loadavg']}"
            )
        return r


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def add_flops(row: dict[str, Any], tokens: list[int], shape: Shape, peaks: dict[str, float]) -> None:
    """Achieved model FLOP/s and MFU of a row's training epochs (real tokens only), against the
    matmul peak of the precision the row ran in."""
    rps = row.get("train_residues_per_s")
    if not rps:
        return
    residues = sum(t - 2 for t in tokens)
    flops = training_flops(tokens, shape, row["method"], N_LABELS, cached=bool(row.get("cached")))
    seconds = residues / rps
    row["epoch_model_flops"] = flops
    row["train_seconds"] = seconds
    row["achieved_gflops"] = flops / seconds / 1e9
    row["mfu_peak"] = precision_key(row.get("precision", "float32"))
    row["mfu"] = row["achieved_gflops"] / peaks[row["mfu_peak"]]
    if row.get("cpu_share"):
        # A rough what-if for a busy machine: the MFU had the run had its threads' full time.
        row["mfu_if_uncontended_est"] = row["mfu"] / min(row["cpu_share"], 1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller sample and fewer epochs (< 3 min)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON results file")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--keep", action="store_true", help="keep the run folders under bench/results/work")
    parser.add_argument(
        "--max-len", type=int, default=None, help="truncate the sample to this many residues (default 1022)"
    )
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    plan = PLANS["quick" if args.quick else "full"]
    if args.max_len:
        plan = replace(plan, max_len=args.max_len)
    out_path = Path(args.out)
    work = ROOT / "bench" / "results" / f"work-{plan.name}"
    shutil.rmtree(work, ignore_errors=True)
    t_start = time.perf_counter()
    info = machine_info()
    info["loadavg_start"] = _loadavg()
    log(f"plan {plan.name}; {info['cpu_model']}; torch {info['torch']}, {info['torch_threads']} threads")

    data_dir = work / "data"
    sample = build_sample(plan, data_dir)
    train_tokens = [n + 2 for n in sample["train"]["lengths"]]  # + <cls>, <eos>
    all_tokens = [n + 2 for split in ("train", "validation", "test") for n in sample[split]["lengths"]]
    from venus_core.assets import embedded_model_dir

    random_dir = build_random_esm2_8m(work / "models" / "esm2_8M_random")
    models = {
        "esm2-8M-random": (str(random_dir), random_dir),
        "esm2-8M-embedded": ("embedded:esm2_t6_8M-hemolysis", embedded_model_dir()),
    }
    shape = Shape.from_model_dir(random_dir)
    base = base_config(plan, data_dir, work / "runs")
    bench = Bench(plan, work)

    # Warm-up (imports, thread pools, oneDNN kernels) on a few sequences, untimed.
    warm_dir = work / "warmup-data"
    warm_dir.mkdir(parents=True)
    for split, n in (("train", 8), ("validation", 4), ("test", 4)):
        pd.read_csv(data_dir / f"{split}.csv").head(n).to_csv(warm_dir / f"{split}.csv", index=False)
    bench.ours(
        "warm-up",
        base.with_values(
            dataset=str(warm_dir), plm_model=str(random_dir), training_method="full", num_epochs=1
        ),
    )
    bench.measure_peak("start")

    # 1 + 2. Every model x method; freeze also for N epochs, and without the cache.
    freeze_scaling: dict[str, Any] = {}
    naive_rows: dict[str, dict[str, Any]] = {}
    compare: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for model_name, (plm, _) in models.items():
        cfg = base.with_values(plm_model=plm)
        facts = {"model": model_name}
        one = bench.ours(
            f"{model_name} freeze (cache) 1 epoch",
            cfg.with_values(training_method="freeze", embedding_cache=True, num_epochs=1),
            method="freeze",
            cached=True,
            **facts,
        )
        bench.rows.append(one)
        many = bench.ours(
            f"{model_name} freeze (cache) {plan.freeze_epochs} epochs",
            cfg.with_values(training_method="freeze", embedding_cache=True, num_epochs=plan.freeze_epochs),
            method="freeze",
            cached=True,
            **facts,
        )
        # A second run on the same data and model finds the cache on disk.
        warm = bench.ours(
            f"{model_name} freeze (cache reused from disk) 1 epoch",
            cfg.with_values(training_method="freeze", embedding_cache=True, num_epochs=1),
            save_dir=Path(one["save_dir"]),
            method="freeze",
            cached=True,
            **facts,
        )
        scaling: dict[str, Any] = {"n_epochs": plan.freeze_epochs, "one": one, "many": many, "warm": warm}
        if one.get("status") == many.get("status") == "completed":
            scaling["ratio"] = many["wall_seconds"] / one["wall_seconds"]
        if model_name == "esm2-8M-random":
            nc = bench.ours(
                f"{model_name} freeze (no cache) {plan.nocache_epochs} epochs",
                cfg.with_values(
                    training_method="freeze", embedding_cache=False, num_epochs=plan.nocache_epochs
                ),
                method="freeze",
                cached=False,
                **facts,
            )
            bench.rows.append(nc)
            if nc.get("status") == "completed" and len(nc["epochs"]) >= 2:
                later = [e["epoch_seconds"] for e in nc["epochs"][1:]]
                per_epoch = statistics.mean(later)
                first = nc["wall_seconds"] - sum(later)  # everything but epochs 2..n: the 1-epoch run
                scaling["no_cache"] = {
                    "measured_epochs": len(nc["epochs"]),
                    "wall_seconds": nc["wall_seconds"],
                    "one_epoch_seconds_est": first,
                    "per_extra_epoch_seconds": per_epoch,
                    "ratio_measured": nc["wall_seconds"] / first,
                    "ratio_extrapolated": (first + (plan.freeze_epochs - 1) * per_epoch) / first,
                }
        freeze_scaling[model_name] = scaling

        for method in ("full", "plm-lora"):
            row = bench.ours(
                f"{model_name} {method}",
                cfg.with_values(training_method=method, num_epochs=plan.speed_epochs),
                method=method,
                cached=False,
                **facts,
            )
            bench.rows.append(row)
            # 3. The naive loop right after ours (same data, same model; close in time = less noise),
            # alternating ours/naive; the ratio compares the best run of each (a busy machine only
            # ever slows a run down).
            if model_name == "esm2-8M-random":
                pair = compare[method] = {"ours": [row], "naive": []}
                for i in range(plan.compare_repeats):
                    if i:
                        pair["ours"].append(
                            bench.ours(
                                f"{model_name} {method} #{i + 1}",
                                cfg.with_values(training_method=method, num_epochs=plan.speed_epochs),
                                method=method,
                                cached=False,
                                **facts,
                            )
                        )
                    pair["naive"].append(
                        bench.naive(
                            f"naive {method} (padded to dataset max) #{i + 1}",
                            random_dir,
                            data_dir,
                            method,
                            "dataset",
                        )
                    )
                naive_rows[method] = _best(pair["naive"]) or pair["naive"][0]
                # Mixed precision (the default) is bf16 on a CPU that computes it natively; the
                # float32 run shows what --no-mixed_precision costs on such a CPU.
                if row.get("precision") not in (None, "float32"):
                    fp32 = bench.ours(
                        f"{model_name} {method} float32",
                        cfg.with_values(
                            training_method=method, num_epochs=plan.speed_epochs, mixed_precision=False
                        ),
                        method=method,
                        cached=False,
                        variant="float32",
                        **facts,
                    )
                    bench.rows.append(fp32)
                    compare[f"{method} (float32)"] = {"ours": [fp32], "naive": pair["naive"]}
        if model_name == "esm2-8M-random" and plan.naive_extra:
            naive_rows["full-batch-padding"] = bench.naive(
                "naive full (padded per batch)", random_dir, data_dir, "full", "batch"
            )
            naive_rows["freeze"] = bench.naive(
                "naive freeze (padded to dataset max)", random_dir, data_dir, "freeze", "dataset"
            )

    bench.measure_peak("middle")

    bench.measure_peak("end")
    peak = bench.peak_gflops

    # FLOPs and MFU of every row, against the best peak of its precision measured in this run.
    for row in bench.rows:
        add_flops(row, train_tokens, shape, peak)
        if row.get("cache_build_seconds"):
            f = forward_flops(all_tokens, shape)
            row["cache_build"] = {
                "seconds": row["cache_build_seconds"],
                "model_flops": f,
                "residues_per_s": sum(t - 2 for t in all_tokens) / row["cache_build_seconds"],
                "achieved_gflops": f / row["cache_build_seconds"] / 1e9,
                "mfu": f / row["cache_build_seconds"] / 1e9 / peak[precision_key(row.get("precision"))],
            }
    for row in naive_rows.values():
        if row.get("status") == "completed":
            add_flops(row, train_tokens, shape, peak)

    results = assemble(
        plan,
        info,
        sample,
        shape,
        bench,
        freeze_scaling,
        naive_rows,
        compare,
    )
    results["total_seconds"] = time.perf_counter() - t_start
    info["loadavg_end"] = _loadavg()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(render(results))
    print(f"\nJSON: {out_path}   ({results['total_seconds']:.0f} s in all)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if bench.failures else 0


def _busy(runs: list[dict[str, Any] | None]) -> str:
    """A warning when another process took the cores during any of a target's runs."""
    shares = [r["cpu_share"] for r in runs if r and r.get("cpu_share")]
    if shares and min(shares) < BUSY_CPU_SHARE:
        return f"machine busy, lowest CPU% {min(shares):.0%}: rerun on a quiet machine"
    return ""


def _notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _quick_padding(plan: Plan, row: dict[str, Any]) -> str:
    """Why the quick plan's MFU reads low: 32 proteins of 30-1022 residues make 4 batches of 8, so
    about a quarter of the tokens (two fifths of attention's work) are padding, which MFU does not
    count (the full plan's 16 batches: ~6%)."""
    pad = row.get("padded_fraction")
    if plan.name != "quick" or pad is None:
        return ""
    return f"quick plan: {pad:.0%} of the tokens are padding; the target is judged on the full plan"


def first_epoch_rate(r: dict[str, Any]) -> float:
    """Training residues/s of a run's first epoch: what ours / naive compares, like with like (the
    naive loop trains one epoch, warm-up included)."""
    return r.get("first_epoch_residues_per_s") or r["train_residues_per_s"]


def _best(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    ok = [r for r in runs if r.get("status") == "completed" and r.get("train_residues_per_s")]
    return max(ok, key=first_epoch_rate) if ok else None


def _find(
    rows: list[dict[str, Any]],
    model: str,
    method: str,
    cached: bool | None = None,
    variant: str | None = None,
) -> dict | None:
    """The first completed row of ``model`` and ``method`` (``variant``: None for the default
    settings, "float32" for the --no-mixed_precision rows)."""
    for r in rows:
        same = r.get("model") == model and r.get("method") == method and r.get("status") == "completed"
        same = same and r.get("variant") == variant
        if same and (cached is None or bool(r.get("cached")) == cached):
            return r
    return None


def assemble(plan, info, sample, shape, bench, freeze_scaling, naive_rows, compare) -> dict[str, Any]:
    """Every number, plus the targets and whether each one passes."""
    rows = bench.rows
    ratios: dict[str, Any] = {}
    for method, pair in compare.items():
        ours, naive = _best(pair["ours"]), _best(pair["naive"])
        if ours and naive:
            ratios[method] = first_epoch_rate(ours) / first_epoch_rate(naive)
    batch_padded = naive_rows.get("full-batch-padding")
    ours_full = _best(compare.get("full", {}).get("ours", []))
    if ours_full and batch_padded and batch_padded.get("status") == "completed":
        ratios["full_vs_batch_padded_naive"] = first_epoch_rate(ours_full) / first_epoch_rate(batch_padded)

    targets: dict[str, Any] = {}
    for model, s in freeze_scaling.items():
        if "ratio" in s:
            quick = "" if plan.freeze_epochs == 100 else "quick plan: N=20, the target is stated for 100"
            targets[f"freeze {plan.freeze_epochs} epochs / 1 epoch ({model}) <= 2"] = {
                "value": s["ratio"],
                "pass": s["ratio"] <= TARGETS["freeze_n_over_1"],
                "note": _notes(quick, _busy([s["one"], s["many"]])),
            }
    float32_note = "--no-mixed_precision: float32 on every machine; reported, the target is the default"
    for method, variant in itertools.product(("full", "plm-lora"), (None, "float32")):
        row = _find(rows, "esm2-8M-random", method, variant=variant)
        target = TARGETS[f"{method}_mfu"]
        if row and "mfu" in row:
            suffix = " (float32)" if variant else ""
            targets[f"{method}{suffix} MFU (ESM2-8M shape) >= {target:.0%}"] = {
                "value": row["mfu"],
                "pass": row["mfu"] >= target,
                "note": _notes(
                    f"precision {row.get('precision')}, against the {row.get('mfu_peak')} peak",
                    float32_note if variant else "",
                    _quick_padding(plan, row),
                ),
            }
    for method in ("full", "plm-lora", "full (float32)", "plm-lora (float32)"):
        if method in ratios:
            targets[f"{method} residues/s ours / naive >= 3x"] = {
                "value": ratios[method],
                "pass": ratios[method] >= TARGETS["ours_over_naive"],
                "note": _notes(
                    float32_note if "float32" in method else "",
                    _busy([_best(compare[method]["ours"]), _best(compare[method]["naive"])]),
                ),
            }
    return {
        "plan": plan.__dict__,
        "machine": info,
        "matmul_peaks": bench.peaks,
        "peak_gflops": bench.peak_gflops,
        "sample": sample,
        "shape": shape.to_dict(),
        "rows": rows,
        "freeze_scaling": freeze_scaling,
        "naive": naive_rows,
        "ours_over_naive": ratios,
        "compare_runs": {
            m: {
                k: [first_epoch_rate(r) if r.get("train_residues_per_s") else None for r in v]
                for k, v in pair.items()
            }
            for m, pair in compare.items()
        },
        "targets": targets,
        "failures": bench.failures,
    }


def render(res: dict[str, Any]) -> str:
    """The human table: one line per configuration, then scaling, baseline, targets."""

    def f(v: Any, spec: str, scale: float = 1.0) -> str:
        return "-" if v is None else format(v * scale, spec)

    head = (
        f"{'model':<17} {'method':<9} {'cache':<5} {'prec':<4} {'res/s':>9} {'ep1 res/s':>9} {'pad%':>5} "
        f"{'epoch s':>8} "
        f"{'wall s':>7} {'RSS MB':>7} {'GFLOP/s':>8} {'MFU%':>6} {'CPU%':>5}"
    )
    lines = [head, "-" * len(head)]

    def line(model, method, cache, r, precision="fp32"):
        lines.append(
            f"{model:<17} {method:<9} {cache:<5} {precision:<4} "
            f"{f(r.get('train_residues_per_s'), ',.0f'):>9} "
            f"{f(r.get('first_epoch_residues_per_s'), ',.0f'):>9} "
            f"{f(r.get('padded_fraction'), '.1f', 100):>5} {f(r.get('epoch_seconds'), '.1f'):>8} "
            f"{f(r.get('wall_seconds'), '.1f'):>7} {f(r.get('peak_rss_mb'), ',.0f'):>7} "
            f"{f(r.get('achieved_gflops'), '.2f'):>8} {f(r.get('mfu'), '.1f', 100):>6} "
            f"{f(r.get('cpu_share'), '.0f', 100):>5}"
        )

    for r in res["rows"]:
        if r.get("status") != "completed":
            lines.append(f"{r.get('model', '?'):<17} {r.get('method', '?'):<9} FAILED: {r.get('error')}")
            continue
        cache = ("yes" if r.get("cached") else "no") if r["method"] == "freeze" else ""
        # each row's MFU is against the peak of its own precision (column prec)
        line(r["model"], r["method"], cache, r, SHORT_PRECISION.get(r.get("precision"), "?"))
        cb = r.get("cache_build")
        if cb:
            lines.append(
                f"{'':<17} {'  build':<9} {'fwd':<5} {'':<4} {cb['residues_per_s']:>9,.0f} "
                f"{'':>9} {'':>5} {'':>8} "
                f"{cb['seconds']:>7.1f} {'':>7} {cb['achieved_gflops']:>8.2f} {cb['mfu'] * 100:>6.1f}"
            )
    for name, r in res["naive"].items():
        if r.get("status") == "completed":
            line(
                "naive loop",
                r["method"],
                "pad=" + r["padding"][:5],
                {**r, "epoch_seconds": r["train_seconds"]},
            )
        else:
            lines.append(f"naive {name}: FAILED {r.get('error')}")
    for k, v in res["peak_gflops"].items():
        lines.append(f"{k} matmul peak (2048^2 torch.mm, best): {v:.1f} GFLOP/s; {k} rows' MFU is against it")

    lines.append("\nfreeze: wall time of N epochs / 1 epoch")
    for model, s in res["freeze_scaling"].items():
        if "ratio" in s:
            lines.append(
                f"  {model}: cache on: {s['many']['wall_seconds']:.1f} s / {s['one']['wall_seconds']:.1f} s "
                f"= {s['ratio']:.2f}x (N={s['n_epochs']}; each run builds its cache)"
            )
        if s.get("warm", {}).get("status") == "completed":
            lines.append(
                f"  {model}: 1 epoch with the cache reused from disk: {s['warm']['wall_seconds']:.1f} s"
            )
        nc = s.get("no_cache")
        if nc:
            lines.append(
                f"  {model}: cache off: {nc['measured_epochs']} epochs / 1 = "
                f"{nc['ratio_measured']:.2f}x measured; "
                f"N={s['n_epochs']} extrapolated {nc['ratio_extrapolated']:.1f}x "
                f"({nc['per_extra_epoch_seconds']:.1f} s per extra epoch)"
            )
    if res["ours_over_naive"]:
        lines.append(
            "\nours / naive loop, training residues/s of the first epoch (ESM2-8M random, same data; "
            "best run of each)"
        )
        for k, v in res["ours_over_naive"].items():
            runs = res["compare_runs"].get(k)
            shown = ""
            if runs:
                shown = "  (ours " + ", ".join(f"{x:,.0f}" for x in runs["ours"] if x) + "; naive "
                shown += ", ".join(f"{x:,.0f}" for x in runs["naive"] if x) + " residues/s)"
            lines.append(f"  {k}: {v:.2f}x{shown}")
    lines.append("\ntargets")
    for name, t in res["targets"].items():
        v = t["value"]
        shown = f"{v:.1%}" if "MFU" in name else f"{v:.2f}x"
        note = f"  ({t['note']})" if t.get("note") else ""
        lines.append(f"  [{'PASS' if t['pass'] else 'FAIL'}] {name}: {shown}{note}")
    lines.append(
        "CPU% = CPU time / (wall time x torch threads) of the run: ~100% on a quiet machine; lower "
        "means other processes took the cores and the row's speed is pessimistic."
    )
    load = res["machine"].get("loadavg_start"), res["machine"].get("loadavg_end")
    lines.append(f"\nload average at start/end: {load[0]} / {load[1]} (other work on the machine = noise)")
    if res["failures"]:
        lines.append("failures:\n  " + "\n  ".join(res["failures"]))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
