"""Backbones: the input format of each family, truncation limits, nothing ever dropped."""

from __future__ import annotations

import json

import pytest
from conftest import build_tiny_esm

from venus_core import backbones


@pytest.mark.parametrize(
    ("family", "fmt", "n_prefix"), [("esm", "plain", 1), ("bert", "spaced", 1), ("t5", "spaced", 0)]
)
def test_each_family_tokenizes_one_token_per_residue(tiny_models, family, fmt, n_prefix):
    model, tok, arch = backbones.load_backbone(str(tiny_models[family]))
    assert arch.name == family and tok.input_format == fmt and tok.n_prefix == n_prefix
    ids = tok.encode(["MKTAYU", "GG"])
    assert [len(x) for x in ids] == [6 + n_prefix + tok.n_suffix, 2 + n_prefix + tok.n_suffix]
    if fmt == "spaced":  # U is mapped to X for BERT/T5 protein vocabularies
        assert ids[0][n_prefix + 5] == tok.hf.convert_tokens_to_ids("X" if family == "bert" else "▁X")


def test_esm1b_style_absolute_positions_cap_at_1022_residues(tmp_path):
    folder = build_tiny_esm(tmp_path / "esm1b")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["position_embedding_type"] = "absolute"
    (folder / "config.json").write_text(json.dumps(cfg))
    _, tok, _ = backbones.load_backbone(str(folder))
    assert tok.max_residues == 1022
    ids = tok.encode(["A" * 3000, "M" * 10])
    assert len(ids) == 2 and len(ids[0]) == 1022 + 2 and len(ids[1]) == 12


def test_max_seq_len_truncates_and_never_drops(tiny_esm):
    _, tok, _ = backbones.load_backbone(str(tiny_esm))
    assert tok.max_residues is None  # rotary ESM2: no hard limit
    ids = tok.encode(["A" * 50, "M" * 5], max_seq_len=20)
    assert [len(x) for x in ids] == [22, 7]
