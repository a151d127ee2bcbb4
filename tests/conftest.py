"""Shared fixtures: tiny random protein LMs (ESM, BERT, T5 encoder) and toy datasets, built at
test time in milliseconds. Hidden size 64 so 4-bit quantization (QLoRA) can be exercised."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest
from browser_support import browser, page, server, toy_csv  # noqa: F401 - the browser tests' fixtures

from venus_core.config import RunConfig

ESM_VOCAB = [
    "<cls>",
    "<pad>",
    "<eos>",
    "<unk>",
    "L",
    "A",
    "G",
    "V",
    "S",
    "E",
    "R",
    "T",
    "I",
    "D",
    "P",
    "K",
    "Q",
    "N",
    "F",
    "Y",
    "M",
    "H",
    "W",
    "C",
    "X",
    "B",
    "U",
    "Z",
    "O",
    ".",
    "-",
    "<null_1>",
    "<mask>",
]
BERT_VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "L",
    "A",
    "G",
    "V",
    "E",
    "S",
    "I",
    "K",
    "R",
    "D",
    "T",
    "P",
    "N",
    "Q",
    "F",
    "Y",
    "M",
    "H",
    "C",
    "W",
    "X",
    "U",
    "B",
    "Z",
    "O",
]
AMINO = "ACDEFGHIKLMNPQRSTVWY"


@pytest.fixture(autouse=True)
def float32_cpu(monkeypatch):
    """Every in-process run computes in float32, on any CPU: mixed precision (on by default) uses
    bf16 only where the CPU has it natively, which would make results depend on the machine.
    Tests of mixed precision patch this back to True; subprocess runs get --no-mixed_precision
    from ``train_flags``."""
    monkeypatch.setattr("venus_core.devices.cpu_has_native_bf16", lambda: False)


def build_tiny_esm(folder: Path, hidden: int = 64) -> Path:
    from transformers import EsmConfig, EsmModel, EsmTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(ESM_VOCAB) + "\n")
    EsmTokenizer(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    config = EsmConfig(
        vocab_size=33,
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=2 * hidden,
        pad_token_id=1,
        mask_token_id=32,
        max_position_embeddings=1026,
        position_embedding_type="rotary",
        token_dropout=False,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    import torch

    torch.manual_seed(0)
    EsmModel(config, add_pooling_layer=False).save_pretrained(folder)
    return folder


def build_tiny_bert(folder: Path, hidden: int = 64) -> Path:
    from transformers import BertConfig, BertModel, BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(BERT_VOCAB) + "\n")
    (folder / "tokenizer_config.json").write_text(
        '{"do_lower_case": false, "tokenizer_class": "BertTokenizer"}'
    )
    BertTokenizer.from_pretrained(folder).save_pretrained(folder)
    import torch

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(BERT_VOCAB),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=2 * hidden,
        max_position_embeddings=512,
        pad_token_id=0,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    return folder


def build_tiny_t5(folder: Path, hidden: int = 64) -> Path:
    """A ProtT5-style encoder: sentencepiece pieces '▁A' etc., space-separated residue input."""
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(f"▁{a}", -1.0) for a in AMINO + "X"]
    tok = T5Tokenizer(vocab=pieces, extra_ids=0)
    tok.save_pretrained(folder)
    import torch

    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(pieces),
        d_model=hidden,
        d_kv=16,
        d_ff=2 * hidden,
        num_layers=2,
        num_heads=4,
        feed_forward_proj="gated-gelu",
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    T5EncoderModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "esm": build_tiny_esm(root / "esm"),
        "bert": build_tiny_bert(root / "bert"),
        "t5": build_tiny_t5(root / "t5"),
    }


@pytest.fixture(scope="session")
def tiny_esm(tiny_models) -> Path:
    return tiny_models["esm"]


def toy_rows(problem_type: str, n: int, seed: int, with_structure: bool = False) -> list[dict]:
    """A learnable toy task: the label is decided by the sequence's lysine (K) content."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = rng.randint(8, 30)
        k_frac = rng.random()
        seq = "".join("K" if rng.random() < k_frac * 0.6 else rng.choice(AMINO) for _ in range(length))
        frac = seq.count("K") / length
        if problem_type == "single_label_classification":
            label = str(int(frac > 0.3))
        elif problem_type == "multi_label_classification":
            labels = [k for k, ok in enumerate((frac > 0.3, frac <= 0.3, "W" in seq)) if ok]
            label = ",".join(map(str, labels))
        else:
            label = f"{10 * frac + 5:.4f}"
        row = {"aa_seq": seq, "label": label}
        if with_structure:
            row["foldseek_seq"] = "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in seq)
            row["ss8_seq"] = "".join("H" if c == "K" else rng.choice("EGL") for c in seq)
        rows.append(row)
    return rows


def write_toy_dataset(
    folder: Path,
    problem_type: str,
    n_train: int = 96,
    n_eval: int = 32,
    with_structure: bool = False,
    seed: int = 0,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (split, n) in enumerate((("train", n_train), ("validation", n_eval), ("test", n_eval))):
        pd.DataFrame(toy_rows(problem_type, n, seed + i, with_structure)).to_csv(
            folder / f"{split}.csv", index=False
        )
    return folder


NUM_LABELS = {"single_label_classification": 2, "multi_label_classification": 3, "regression": 1}


def make_cfg(model_dir, data_dir, problem_type, out_dir, **over) -> RunConfig:
    """A RunConfig for a small run of ``model_dir`` on a toy dataset (``over``: settings that differ)."""
    values = dict(
        plm_model=str(model_dir),
        dataset=str(data_dir),
        problem_type=problem_type,
        num_labels=NUM_LABELS[problem_type],
        num_epochs=2,
        batch_size=16,
        learning_rate=5e-3,
        num_workers=0,
        output_dir=str(out_dir),
        seed=1,
    )
    values.update(over)
    return RunConfig().with_values(**values)


def train_flags(model: Path, data: Path, out: Path, *extra: str) -> list[str]:
    """CLI flags for a small binary run of ``model`` on a toy dataset (later flags win)."""
    return [
        "--plm_model",
        str(model),
        "--dataset",
        str(data),
        "--problem_type",
        "single_label_classification",
        "--num_labels",
        "2",
        "--num_epochs",
        "2",
        "--num_workers",
        "0",
        "--output_dir",
        str(out),
        "--learning_rate",
        "0.005",
        "--no-mixed_precision",  # float32 on any CPU (see float32_cpu)
        *extra,
    ]
