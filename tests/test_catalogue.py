"""Model and dataset catalogues, through the CLI as users call them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from venus_core import models, vocab
from venus_core.errors import VenusError


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "venus_core", *args], capture_output=True, text=True, timeout=120
    )


def test_models_json_lists_the_guide_table():
    out = cli("models", "--json")
    assert out.returncode == 0, out.stderr
    entries = json.loads(out.stdout)
    assert isinstance(entries, list) and len(entries) >= 33
    hub = [e for e in entries if e["source"] == "hub"]
    assert len(hub) == 32
    counts = {}
    for e in hub:
        counts[e["family"]] = counts.get(e["family"], 0) + 1
    assert counts == {
        "ESM2": 6,
        "ESM-1b": 1,
        "ESM-1v": 5,
        "ProtBert-Uniref100": 1,
        "ProtBert-BFD100": 1,
        "IgBert": 1,
        "IgBert_unpaired": 1,
        "ProtT5-Uniref50": 2,
        "ProtT5-BFD100": 2,
        "IgT5": 1,
        "IgT5_unpaired": 1,
        "Ankh": 2,
        "ProSST": 7,
        "ProPrime": 1,
    }
    for e in hub:
        assert e["id"].count("/") == 1 and e["params"] > 0 and e["memory_hint"]
        assert e["lora_target_modules"] == (
            ["q", "k", "v"] if e["model_type"] == "t5" else ["query", "key", "value"]
        )
        assert e["trust_remote_code"] == (e["family"] in ("ProSST", "ProPrime"))
    embedded = entries[0]
    assert embedded["source"] == "embedded" and "hemolysis" in embedded["name"]


def test_models_table_and_local_folder(tiny_models):
    out = cli("models", "--local", str(tiny_models["t5"]))
    assert out.returncode == 0
    assert "facebook/esm2_t33_650M_UR50D" in out.stdout and "q,k,v" in out.stdout


@pytest.mark.parametrize(("family", "arch"), [("esm", "esm"), ("bert", "bert"), ("t5", "t5")])
def test_local_family_comes_from_config_json(tiny_models, tmp_path, family, arch):
    # Rename the folder to mislead any name sniffing: the family must come from model_type.
    target = tmp_path / "prot_t5_xl_ESM_bert"
    import shutil

    shutil.copytree(tiny_models[family], target)
    entry = models.local_entry(target)
    assert entry.architecture.name == arch
    assert entry.hidden_size == 64 and entry.params > 0


def test_unknown_model_type_is_explained(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(VenusError, match="Model type 'llama' is not supported"):
        models.local_entry(tmp_path)


def test_not_a_model_folder(tmp_path):
    with pytest.raises(VenusError, match="no config.json"):
        models.resolve_model_source(str(tmp_path))
    with pytest.raises(VenusError, match="neither an existing folder nor a hub id"):
        models.resolve_model_source("not a model")


def test_estimate_params_matches_real_models(tiny_models):
    import transformers

    for family in ("esm", "bert", "t5"):
        cfg = json.loads((tiny_models[family] / "config.json").read_text())
        cls = {
            "esm": transformers.EsmModel,
            "bert": transformers.BertModel,
            "t5": transformers.T5EncoderModel,
        }[family]
        kwargs = {} if family == "t5" else {"add_pooling_layer": False}
        real = sum(p.numel() for p in cls.from_pretrained(tiny_models[family], **kwargs).parameters())
        assert abs(models.estimate_params(cfg) - real) / real < 0.1, family


def test_datasets_json():
    out = cli("datasets", "--json")
    assert out.returncode == 0, out.stderr
    entries = json.loads(out.stdout)
    assert len(entries) >= 81
    predefined = [e for e in entries if e["source"] == "hub"]
    assert len(predefined) == 79
    assert all(e["problem_type"] in vocab.PROBLEM_TYPES for e in entries)
    for e in entries:
        assert set(e["metrics"]) <= {
            m for m, s in vocab.METRICS.items() if e["problem_type"] in s.problem_types
        }
        assert e["monitor"] in e["metrics"]
    demos = [e for e in entries if e["source"] == "demo"]
    assert {d["name"] for d in demos} == {"Demo_AMP", "Demo_SubcellularLocalization"}
    assert all(d["available_offline"] for d in demos)
    venusx = next(e for e in entries if e["name"] == "VenusX_Frag_Act_MF50")
    assert (
        venusx["sequence_column_name"] == "seq_fragment" and venusx["label_column_name"] == "interpro_label"
    )
