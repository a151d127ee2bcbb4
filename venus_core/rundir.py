"""The run directory: a self-describing folder per run, written crash-safely.

Layout (names are a contract other tools rely on)::

    <save dir>/<run name>/
        config.json            the full resolved config (reload with --config)
        events.jsonl           every event, appended as it happens
        metrics.csv            one row per epoch
        test_metrics.csv       metric,value,title (title: what the metric measures here)
        test_predictions.csv   aa_seq,label,prediction[,prob_k...]
        model_stats.json       parameter counts
        label_codec.json       how labels map to targets (normalisation statistics)
        <output model name>    the best model's trained tensors (safetensors)
        checkpoints/best/      trained tensors of the best epoch (+ PEFT adapter folder)
        checkpoints/last/      the same for the last epoch, plus optimizer, scheduler, RNG, loop state
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from venus_core.config import RunConfig
from venus_core.errors import VenusError
from venus_core.i18n import N_

CONFIG = "config.json"
EVENTS = "events.jsonl"
METRICS = "metrics.csv"
TEST_METRICS = "test_metrics.csv"
TEST_PREDICTIONS = "test_predictions.csv"
MODEL_STATS = "model_stats.json"
LABEL_CODEC = "label_codec.json"
CHECKPOINTS = "checkpoints"


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds,
    so a crash never leaves a half-written file under the real name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, default=_json_default, allow_nan=False))


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)


def clean_number(v: Any) -> Any:
    """NaN/inf become None (JSON null): 'undefined', never silently dropped or turned into 0."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def read_test_metrics(run_dir: str | Path) -> dict[str, float]:
    """``{metric: value}`` from a run's test_metrics.csv (NaN where a metric was undefined)."""
    with open(Path(run_dir) / TEST_METRICS, newline="", encoding="utf-8") as f:
        return {row["metric"]: float(row["value"] or "nan") for row in csv.DictReader(f)}


# -- naming -------------------------------------------------------------------------------------


def default_run_name(cfg: RunConfig) -> str:
    dataset = Path(cfg.data.dataset).name if cfg.data.dataset else Path(cfg.data.train_file or "data").stem
    model = cfg.model.plm_model.rstrip("/").split("/")[-1].split(":")[-1]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{dataset}_{model}_{cfg.method.training_method}_{stamp}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def new_run_dir(cfg: RunConfig) -> Path:
    """Create ``<save dir>/<run name>``; an existing run is never overwritten.

    A generated name gets a numeric suffix on collision; a name the user chose that already exists
    is an error, so results are never silently replaced.
    """
    save_dir = Path(cfg.output.output_dir).expanduser()
    name = cfg.output.run_name or default_run_name(cfg)
    if "/" in name or "\\" in name or name in (".", "..") or not name.strip():
        raise VenusError(f"Run name '{name}' must be a plain folder name.")
    save_dir.mkdir(parents=True, exist_ok=True)
    candidate = save_dir / name
    if cfg.output.run_name:
        try:
            candidate.mkdir()
        except FileExistsError:
            raise VenusError(
                N_(
                    "Run folder {folder} already exists: choose another run name, or resume it with "
                    "--resume {folder}."
                ).format(folder=candidate)
            ) from None
        return candidate
    for i in range(1000):
        path = candidate if i == 0 else save_dir / f"{name}-{i}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise VenusError(f"Could not create a new run folder in {save_dir}.")


def model_file_name(output_model_name: str) -> str:
    """The final model is always safetensors: 'model.pt' is written as 'model.safetensors'."""
    stem = Path(output_model_name).name
    for suffix in (".pt", ".pth", ".bin", ".ckpt", ".safetensors"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return f"{stem or 'model'}.safetensors"


# -- events -------------------------------------------------------------------------------------


class EventLog:
    """Appends events to ``events.jsonl`` (flushed per event, fsynced at epoch ends) and forwards
    them to a listener (the dashboard's job). Thread-safe."""

    def __init__(self, run_dir: Path | None, listener: Any = None):
        self._listener = listener
        self._lock = threading.Lock()
        self._file = None
        if run_dir is not None:
            self.attach(run_dir)

    def attach(self, run_dir: Path) -> None:
        self._file = open(Path(run_dir) / EVENTS, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def emit(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type_, "time": time.time(), **{k: clean_number(v) for k, v in fields.items()}}
        line = json.dumps(event, default=_json_default, allow_nan=False)
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()
                if type_ in ("epoch", "status", "test", "best"):
                    os.fsync(self._file.fileno())
        if self._listener is not None:
            self._listener(event)
        return event

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def events_stamp(run_dir: str | Path) -> tuple[int, int] | None:
    """(mtime, size) of a run's events.jsonl: changes whenever an event is appended (a cache key)."""
    return _stamp(Path(run_dir) / EVENTS)


def read_events(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every event of a run; a last line cut short by a crash is skipped."""
    path = Path(run_dir) / EVENTS
    events = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    except FileNotFoundError:
        return []
    return events


def run_summary(run_dir: Path) -> dict[str, Any] | None:
    """One row of the run history, from config.json and events.jsonl alone (cached until either
    file changes: the Results page lists every run at each interaction)."""
    run_dir = Path(run_dir)
    last = checkpoint_dir(run_dir, "last") / "trainer_state.json"
    stamp = (events_stamp(run_dir), _stamp(run_dir / CONFIG), _stamp(last))
    cached = _SUMMARIES.get(str(run_dir))
    if cached is not None and cached[0] == stamp:
        return dict(cached[1])
    row = _read_run_summary(run_dir)
    if row is not None:
        if len(_SUMMARIES) > 2000:
            _SUMMARIES.clear()
        _SUMMARIES[str(run_dir)] = (stamp, row)
    return None if row is None else dict(row)


_SUMMARIES: dict[str, tuple[tuple, dict[str, Any]]] = {}


def _read_run_summary(run_dir: Path) -> dict[str, Any] | None:
    try:
        cfg = json.loads((run_dir / CONFIG).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    events = read_events(run_dir)
    status, message, best, finished = "unfinished", "", {}, None
    for e in events:
        if e["type"] == "best":
            best = e
        elif e["type"] == "status":
            status, message, finished = e.get("status", "?"), e.get("message", ""), e["time"]
    # The run's first event (loading the data, computing the embedding cache) starts its clock.
    started = events[0]["time"] if events else None
    flat = {k: v for section in cfg.values() if isinstance(section, dict) for k, v in section.items()}
    return {
        "run_dir": str(run_dir),
        "name": run_dir.name,
        "status": status,
        "message": message,
        "dataset": flat.get("dataset") and Path(str(flat.get("dataset"))).name or flat.get("train_file"),
        "model": flat.get("plm_model"),
        "method": flat.get("training_method"),
        "problem_type": flat.get("problem_type"),
        "monitor": best.get("monitor") or flat.get("monitor"),
        "best_value": best.get("value"),
        "best_epoch": best.get("epoch"),
        "started": started,
        "finished": finished,
        "resumable": has_checkpoint(run_dir),
    }


def label_names(run_dir: Path) -> list[str] | None:
    """Class names of a classification run (from label_codec.json), if its dataset had them."""
    try:
        names = json.loads((Path(run_dir) / LABEL_CODEC).read_text(encoding="utf-8")).get("label_names")
    except (OSError, ValueError, AttributeError):
        return None
    return [str(n) for n in names] if isinstance(names, list) and names else None


def list_runs(save_dir: str | Path) -> list[dict[str, Any]]:
    """Every run folder in a save directory, newest first."""
    save_dir = Path(save_dir).expanduser()
    if not save_dir.is_dir():
        return []
    rows = [r for d in save_dir.iterdir() if d.is_dir() and (r := run_summary(d)) is not None]
    return sorted(rows, key=lambda r: r["started"] or 0, reverse=True)


def latest_run_config(save_dir: str | Path) -> RunConfig | None:
    """The config of the run folder written last in a save directory (None when there is none)."""
    save_dir = Path(save_dir).expanduser()
    try:
        configs = [d / CONFIG for d in save_dir.iterdir() if (d / CONFIG).is_file()]
    except OSError:
        return None
    for path in sorted(configs, key=lambda p: p.stat().st_mtime_ns, reverse=True):
        try:
            return RunConfig.load(path)
        except VenusError:
            continue
    return None


# -- checkpoints --------------------------------------------------------------------------------


def has_checkpoint(run_dir: Path, which: str = "last") -> bool:
    """Whether a finished epoch left this checkpoint (``last`` is what Resume continues from)."""
    marker = "trainer_state.json" if which == "last" else "trainable.safetensors"
    return (checkpoint_dir(run_dir, which) / marker).is_file()


def checkpoint_dir(run_dir: Path, which: str) -> Path:
    """``checkpoints/<which>``; falls back to the previous copy if a crash interrupted a swap."""
    path = Path(run_dir) / CHECKPOINTS / which
    if not path.exists() and path.with_name(which + ".old").exists():
        return path.with_name(which + ".old")
    return path


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Build a folder under a temporary name, then swap it in (old copy kept until the swap is done)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    old = path.with_name(path.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
