"""Command line: ``python -m venus_core {models,datasets,check,train,evaluate,predict}``.

The run flags are generated from ``RunConfig`` fields, so they are VenusFactory's ``src/train.py``
names and every dashboard button has a reproducible CLI line (``preview_command``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from venus_core import config as C
from venus_core import rundir
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


def to_cli_args(cfg: RunConfig, complete: bool = False) -> list[str]:
    """Flags that reproduce ``cfg``: only those that differ from this version's defaults, or with
    ``complete`` every option, so the line means the same where the defaults differ."""
    args: list[str] = []
    for name, value in cfg.flat().items():
        if not complete and value == C.field_default(name):
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
    """The exact, shell-quoted command that reproduces a run, every option written out (one per
    line, continued with backslashes): the dashboard's "Preview Command"."""
    launcher = (
        ["python", "-m"] if nproc <= 1 else ["torchrun", "--standalone", f"--nproc_per_node={nproc}", "-m"]
    )
    lines = [shlex.join([*launcher, "venus_core", "train"])]
    args = to_cli_args(cfg, complete=True)
    i = 0
    while i < len(args):
        # "--flag value", or a lone boolean "--flag" / "--no-flag"
        takes_value = i + 1 < len(args) and not args[i + 1].startswith("--")
        lines.append(shlex.join(args[i : i + 1 + takes_value]))
        i += 1 + takes_value
    return " \\\n  ".join(lines)


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
    from venus_core.train import train

    if ns.resume:
        path = Path(ns.resume)
        if not (path / rundir.CONFIG).exists():
            raise VenusError(f"{ns.resume} is not a run folder (no {rundir.CONFIG}).")
        cfg = RunConfig.load(path / rundir.CONFIG)
        return _run_cli(
            lambda stop: train(cfg, emit=_print_event, should_stop=stop, run_dir=path, resume=True)
        )
    cfg = config_from_args(ns)
    if ns.print_command:
        print(preview_command(cfg))
        return 0
    cfg.validate()
    return _run_cli(lambda stop: train(cfg, emit=_print_event, should_stop=stop))


def _run_cli(run: Callable[[Callable[[], bool]], Any]) -> int:
    """SIGINT asks the loop to stop at the next step (state saved, exit 130); a second one kills."""
    requested = {"stop": False}

    def on_sigint(signum, frame):
        if requested["stop"]:
            raise KeyboardInterrupt
        requested["stop"] = True
        print("stopping after the current step... (Ctrl-C again to force)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = run(lambda: requested["stop"])
    finally:
        signal.signal(signal.SIGINT, previous)
    return {"completed": 0, "aborted": 130}.get(result.status, 1)


def _print_event(e: dict[str, Any]) -> None:
    """Human progress on stderr for the CLI (the machine-readable log is events.jsonl)."""
    kind = e["type"]
    if kind == "run_start":
        s = e["model_stats"]
        print(
            f"run folder: {e['run_dir']}\ndevice: {e['device']} ({e['precision']}); "
            f"{e['n_train']} train / {e['n_valid']} validation / {e['n_test']} test sequences; "
            f"trainable parameters {s['trainable_params']:,} of "
            f"{s['total_params']:,} ({s['trainable_percent']:.2f}%)",
            file=sys.stderr,
        )
    elif kind == "epoch":
        vals = "  ".join(f"{k}={_fmt(v)}" for k, v in e.items() if k.startswith(("train/", "val/")))
        print(f"epoch {e['epoch']}: {vals}  ({e['epoch_seconds']:.1f} s)", file=sys.stderr)
    elif kind == "best":
        print(f"  new best {e['monitor']} {_fmt(e['value'])}", file=sys.stderr)
    elif kind == "test":
        print(
            "test: " + "  ".join(f"{k}={_fmt(v)}" for k, v in e.items() if k.startswith("test/")),
            file=sys.stderr,
        )
    elif kind in ("log", "status"):
        print(f"{e.get('level') or e.get('status')}: {e['message']}", file=sys.stderr)


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4g}"


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
    from venus_core import asset_setup

    asset_setup.fetch_assets(force=ns.force)
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
