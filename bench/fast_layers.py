"""Do the layer swaps pay? ``python -m bench.fast_layers [--layer gelu|dropout]``

``gelu`` (``venus_core.fast_layers``): trains the ESM2-8M shape (random weights) for one epoch of
``full`` in float32 on the benchmark's sample (``bench.run``'s full plan: 128 training sequences
cut at 1022 residues) with transformers' own GELU ("stock") and with the swap ("fast").
``dropout`` (``venus_core.fast_dropout``): the same, with ``plm-lora`` (its adapters drop their
input, p = 0.1) in the default precision (``--fp32``: float32), torch's dropout against the fast
mask. Runs alternate, ``--pairs`` times; each prints its training residues/s. Results in
bench/README.md (GELU: stock 1,443 and 1,448, fast 1,753 and 1,750 residues/s, 1.21x, 2026-11-29).
"""

from __future__ import annotations

import argparse
import shutil

from bench.run import PLANS, ROOT, base_config, build_random_esm2_8m, build_sample, summarize_events


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fast_layers", description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2, help="alternating (stock, fast) pairs")
    parser.add_argument("--layer", choices=("gelu", "dropout"), default="gelu")
    parser.add_argument("--fp32", action="store_true", help="dropout: float32, not the default")
    args = parser.parse_args(argv)

    from venus_core import backbones, modeling
    from venus_core.train import train

    owner, attr = (backbones, "use_fast_layers") if args.layer == "gelu" else (modeling, "use_fast_dropout")
    plan = PLANS["full"]
    work = ROOT / "bench" / "results" / "work-fast-layers"
    shutil.rmtree(work, ignore_errors=True)
    build_sample(plan, work / "data")
    model = build_random_esm2_8m(work / "model")
    cfg = base_config(plan, work / "data", work / "runs").with_values(
        plm_model=str(model),
        training_method="full" if args.layer == "gelu" else "plm-lora",
        num_epochs=1,
        mixed_precision=args.layer == "dropout" and not args.fp32,
    )
    swap = getattr(owner, attr)
    try:
        for _ in range(args.pairs):
            for name, use in (("stock", lambda m: 0), ("fast", swap)):
                setattr(owner, attr, use)
                events: list[dict] = []
                train(cfg, emit=events.append)
                print(
                    f"{name}: {summarize_events(events)['train_residues_per_s']:,.0f} residues/s", flush=True
                )
    finally:
        setattr(owner, attr, swap)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
