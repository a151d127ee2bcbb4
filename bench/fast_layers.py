"""Does the single-kernel GELU swap (``venus_core.fast_layers``) pay? ``python -m bench.fast_layers``

Trains the ESM2-8M shape (random weights) for one epoch of ``full`` in float32 on the benchmark's
sample (``bench.run``'s full plan: 128 training sequences cut at 1022 residues), with transformers'
own GELU ("stock") and with the swap ("fast"), alternating, ``--pairs`` times, and prints the
training residues/s of each run. Result on 2026-11-29 (2-core AMD EPYC, torch 2.13.0): stock
1,443 and 1,448, fast 1,753 and 1,750 residues/s (1.21x).
"""

from __future__ import annotations

import argparse
import shutil

from bench.run import PLANS, ROOT, base_config, build_random_esm2_8m, build_sample, summarize_events


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fast_layers", description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2, help="alternating (stock, fast) pairs")
    args = parser.parse_args(argv)

    from venus_core import backbones
    from venus_core.train import train

    plan = PLANS["full"]
    work = ROOT / "bench" / "results" / "work-fast-layers"
    shutil.rmtree(work, ignore_errors=True)
    build_sample(plan, work / "data")
    model = build_random_esm2_8m(work / "model")
    cfg = base_config(plan, work / "data", work / "runs").with_values(
        plm_model=str(model), training_method="full", num_epochs=1, mixed_precision=False
    )
    swap = backbones.use_fast_layers
    try:
        for _ in range(args.pairs):
            for name, use in (("stock", lambda m: 0), ("fast", swap)):
                backbones.use_fast_layers = use
                events: list[dict] = []
                train(cfg, emit=events.append)
                print(
                    f"{name}: {summarize_events(events)['train_residues_per_s']:,.0f} residues/s", flush=True
                )
    finally:
        backbones.use_fast_layers = swap
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
