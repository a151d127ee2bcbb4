"""Command line: ``python -m venus_core {models,datasets,check,train,evaluate,predict}``.

The run flags are generated from ``RunConfig`` fields, so they are VenusFactory's ``src/train.py``
names and every dashboard button has a reproducible CLI line (``preview_command``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from venus_core import config as C
from venus_core.config import RunConfig
from venus_core.errors import VenusError

PROG = "python -m venus_core"


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per RunConfig field; defaults are suppressed so we know which flags were given."""
    parser.add_argument("--config", help="A run config JSON (e.g. a run's config.json); flags override it.")
    for section, cls in C.SECTIONS.items():
        group = parser.add_argument_group(f"{section} options")
        for fld in C.fields(cls):
            kwargs: dict[str, Any] = {"default": argparse.SUPPRESS, "help": _help(fld)}
            if str(fld.type).startswith("bool"):
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                kwargs["metavar"] = fld.name.upper()
            group.add_argument(f"--{fld.name}", **kwargs)
    # Retired options are still recognised, so that RunConfig can say why they are gone.
    for name in C.RETIRED_OPTIONS:
        parser.add_argument(
            f"--{name}",
            action=argparse.BooleanOptionalAction,
            default=argparse.SUPPRESS,
            help=argparse.SUPPRESS,
        )


def _help(fld: Any) -> str:
    default = fld.default
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    return f"{fld.metadata['help']} (default: {shown})".replace("%", "%%")


def config_from_args(ns: argparse.Namespace) -> RunConfig:
    """Defaults, then --config, then the flags given on the command line."""
    cfg = RunConfig.load(ns.config) if getattr(ns, "config", None) else RunConfig()
    given = {k: v for k, v in vars(ns).items() if k in C.FIELD_SECTION or k in C.RETIRED_OPTIONS}
    # VenusFactory selects token batching by passing --batch_token alone.
    if "batch_token" in given and "batch_mode" not in given:
        given["batch_mode"] = "token"
    return cfg.with_values(**given)


def to_cli_args(cfg: RunConfig) -> list[str]:
    """Flags that reproduce ``cfg`` from the defaults (only the ones that differ)."""
    args: list[str] = []
    for name, value in cfg.flat().items():
        if value == C.field_default(name):
            continue
        if isinstance(value, bool):
            args.append(f"--{name}" if value else f"--no-{name}")
        elif value is None:
            args += [f"--{name}", "none"]
        elif isinstance(value, tuple):
            args += [f"--{name}", ",".join(map(str, value))]
        else:
            args += [f"--{name}", str(value)]
    return args


def preview_command(cfg: RunConfig, nproc: int = 1) -> str:
    """The exact, shell-quoted command line that reproduces a run."""
    launcher = (
        ["python", "-m"] if nproc <= 1 else ["torchrun", "--standalone", f"--nproc_per_node={nproc}", "-m"]
    )
    return shlex.join([*launcher, "venus_core", "train", *to_cli_args(cfg)])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Fine-tune protein language models.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="List the model catalogue.")
    p.add_argument("--json", action="store_true", help="Print a JSON list.")
    p.add_argument("--local", action="append", default=[], help="Also describe this local model folder.")

    p = sub.add_parser("datasets", help="List the predefined datasets.")
    p.add_argument("--json", action="store_true", help="Print a JSON list.")

    p = sub.add_parser("check", help="Validate a dataset (the data doctor); takes the same flags as train.")
    add_run_flags(p)
    p.add_argument("--json", action="store_true", help="Print the report as JSON.")

    p = sub.add_parser("train", help="Train a model.")
    add_run_flags(p)
    p.add_argument(
        "--resume", metavar="RUN_DIR", help="Continue an interrupted run from its last checkpoint."
    )
    p.add_argument("--print_command", action="store_true", help="Print the reproducing command and exit.")

    p = sub.add_parser("evaluate", help="Evaluate a trained run on a labelled file.")
    p.add_argument("--run_dir", required=True, help="A run directory written by train.")
    p.add_argument("--test_file", required=True, help="Labelled file (same columns as training).")
    p.add_argument("--output_file", help="Also write predictions here (CSV).")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"))

    p = sub.add_parser("predict", help="Predict with a trained run.")
    p.add_argument("--run_dir", required=True, help="A run directory written by train.")
    p.add_argument("--input_file", required=True, help="CSV/TSV/Parquet/JSONL or FASTA with sequences.")
    p.add_argument("--output_file", required=True, help="Where to write the predictions CSV.")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"))

    p = sub.add_parser("fetch-assets", help="Fetch the offline demo model and datasets.")
    p.add_argument("--force", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        return _COMMANDS[ns.command](ns)
    except VenusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aborted.", file=sys.stderr)
        return 130


def _cmd_models(ns: argparse.Namespace) -> int:
    from venus_core import models

    entries = models.catalogue_entries(local_dirs=ns.local)
    if ns.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2))
    else:
        print(models.format_table(entries))
    return 0


def _cmd_datasets(ns: argparse.Namespace) -> int:
    from venus_core import datasets

    entries = datasets.catalogue_entries()
    if ns.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2))
    else:
        print(datasets.format_table(entries))
    return 0


def _cmd_check(ns: argparse.Namespace) -> int:
    from venus_core import doctor, leakage

    report = doctor.check(config_from_args(ns), progress=_progress_line if sys.stderr.isatty() else None)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if ns.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        lines = report.format().split("\n")
        lines[-1:-1] = leakage.summary_lines(report.stats)  # before the summary line
        print("\n".join(lines))
    return 1 if report.errors else 0


def _progress_line(done: int, total: int, stage: str) -> None:
    """A self-overwriting progress line on the terminal (never in piped output)."""
    print(f"\r{stage}: {done:,}/{total:,} proteins", end="", file=sys.stderr, flush=True)


def _cmd_train(ns: argparse.Namespace) -> int:
    from venus_core import train

    if ns.resume:
        return train.cli_resume(ns.resume)
    cfg = config_from_args(ns)
    if ns.print_command:
        print(preview_command(cfg))
        return 0
    return train.cli_train(cfg)


def _cmd_evaluate(ns: argparse.Namespace) -> int:
    from venus_core import predict

    metrics = predict.evaluate_file(
        ns.run_dir, ns.test_file, output_file=ns.output_file, checkpoint=ns.checkpoint
    )
    for name, value in metrics.items():
        print(f"{name},{value}")
    return 0


def _cmd_predict(ns: argparse.Namespace) -> int:
    from venus_core import predict

    n = predict.predict_file(ns.run_dir, ns.input_file, ns.output_file, checkpoint=ns.checkpoint)
    print(f"wrote {n} predictions to {ns.output_file}")
    return 0


def _cmd_fetch_assets(ns: argparse.Namespace) -> int:
    from venus_core import assets

    assets.fetch_assets(force=ns.force)
    return 0


_COMMANDS = {
    "models": _cmd_models,
    "datasets": _cmd_datasets,
    "check": _cmd_check,
    "train": _cmd_train,
    "evaluate": _cmd_evaluate,
    "predict": _cmd_predict,
    "fetch-assets": _cmd_fetch_assets,
}
