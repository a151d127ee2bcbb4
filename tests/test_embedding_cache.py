"""The frozen-embedding cache: same results as recomputing, reused when valid, never when stale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import write_toy_dataset

from venus_core.config import RunConfig
from venus_core.embedding_cache import CACHE_DIR_NAME
from venus_core.train import train


def run(model, data, out, **over):
    values = dict(
        plm_model=str(model),
        dataset=str(data),
        problem_type="single_label_classification",
        num_labels=2,
        num_epochs=3,
        num_workers=0,
        output_dir=str(out),
        learning_rate=5e-3,
        seed=3,
    )
    events: list[dict] = []
    result = train(RunConfig().with_values(**{**values, **over}), emit=events.append)
    assert result.status == "completed", result.message
    return result, [e["message"] for e in events if e["type"] == "log"]


@pytest.mark.parametrize(
    ("method", "pooling", "tol"),
    [("freeze", "mean", 1e-4), ("freeze", "attention1d", 2e-2), ("ses-adapter", "mean", 2e-2)],
)
def test_cached_and_uncached_runs_agree(tiny_esm, tmp_path, method, pooling, tol):
    data = write_toy_dataset(tmp_path / "d", "single_label_classification", 48, 16, with_structure=True)
    kw = dict(training_method=method, pooling_method=pooling)
    cached, logs = run(tiny_esm, data, tmp_path / "a", embedding_cache=True, **kw)
    assert any("Building the frozen-embedding cache" in m for m in logs)
    plain, _ = run(tiny_esm, data, tmp_path / "b", embedding_cache=False, **kw)
    a = pd.read_csv(cached.run_dir / "metrics.csv")
    b = pd.read_csv(plain.run_dir / "metrics.csv")
    for col in ("train/loss", "val/loss"):
        assert a[col].to_numpy() == pytest.approx(b[col].to_numpy(), abs=tol), col
    assert cached.test_metrics["accuracy"] == pytest.approx(plain.test_metrics["accuracy"], abs=0.07)


def test_per_token_states_are_memory_mapped(tiny_esm, tmp_path):
    data = write_toy_dataset(tmp_path / "d", "single_label_classification", 32, 8)
    run(tiny_esm, data, tmp_path, training_method="freeze", pooling_method="light_attention", num_epochs=1)
    files = list((tmp_path / CACHE_DIR_NAME).rglob("*.states.npy"))
    assert {f.name for f in files} == {"train.states.npy", "validation.states.npy", "test.states.npy"}


def test_cache_is_reused_and_never_stale(tiny_esm, tmp_path):
    data = write_toy_dataset(tmp_path / "d", "single_label_classification", 32, 8)
    first, _ = run(tiny_esm, data, tmp_path, training_method="freeze", num_epochs=1)
    second, logs = run(tiny_esm, data, tmp_path, training_method="freeze", num_epochs=1)
    assert any("Reusing the frozen-embedding cache" in m for m in logs)
    assert first.test_metrics == second.test_metrics
    # A changed dataset (one sequence edited) or a shorter max length must not reuse it.
    train_csv = data / "train.csv"
    df = pd.read_csv(train_csv)
    df.loc[0, "aa_seq"] = "MKV" + df.loc[0, "aa_seq"]
    df.to_csv(train_csv, index=False)
    _, logs = run(tiny_esm, data, tmp_path, training_method="freeze", num_epochs=1)
    assert any("Building" in m for m in logs)
    _, logs = run(tiny_esm, data, tmp_path, training_method="freeze", num_epochs=1, max_seq_len=10)
    assert any("Building" in m for m in logs)
    assert len(list((tmp_path / CACHE_DIR_NAME).iterdir())) == 3


def test_precision_is_part_of_the_fingerprint(tiny_esm, tmp_path, monkeypatch):
    """A cache built in bf16 (mixed precision on a CPU with native bf16) is never reused by a float32
    run, nor the other way round, and cached and uncached bf16 runs still agree."""
    data = write_toy_dataset(tmp_path / "d", "single_label_classification", 32, 8)
    fp32, _ = run(tiny_esm, data, tmp_path, training_method="freeze", num_epochs=2)
    monkeypatch.setattr("venus_core.devices.cpu_has_native_bf16", lambda: True)
    bf16, logs = run(tiny_esm, data, tmp_path, training_method="freeze", num_epochs=2)
    assert any("Building" in m for m in logs)
    assert len(list((tmp_path / CACHE_DIR_NAME).iterdir())) == 2
    assert bf16.test_metrics["loss"] != fp32.test_metrics["loss"]  # the cache really holds bf16 outputs
    plain, _ = run(
        tiny_esm, data, tmp_path / "b", training_method="freeze", num_epochs=2, embedding_cache=False
    )
    assert plain.test_metrics["loss"] == pytest.approx(bf16.test_metrics["loss"], abs=1e-3)
    _, logs = run(tiny_esm, data, tmp_path, training_method="freeze", num_epochs=1, mixed_precision=False)
    assert any("Reusing" in m for m in logs)  # the float32 cache of the first run


def test_the_cache_reports_its_progress_in_work_not_sequences(tiny_esm, tmp_path):
    """The pass runs the longest sequences first: counted in sequences, its first batches read ~0%
    and its ETA hours for minutes of work. Progress follows each batch's forward FLOPs instead
    (bench/flops.py's count: 2 N per token plus 4 L^2 h per layer, attention weighted)."""
    from bench.flops import Shape, forward_flops

    rng = np.random.default_rng(0)
    data = tmp_path / "d"
    data.mkdir()
    for split, n in (("train", 40), ("validation", 8), ("test", 8)):
        lengths = [400 if i < 4 else int(rng.integers(8, 30)) for i in range(n)]  # a few long ones
        seqs = ["".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), size=k)) for k in lengths]
        pd.DataFrame({"aa_seq": seqs, "label": [i % 2 for i in range(n)]}).to_csv(
            data / f"{split}.csv", index=False
        )
    events: list[dict] = []
    values = dict(plm_model=str(tiny_esm), dataset=str(data), problem_type="single_label_classification")
    values |= dict(num_labels=2, num_epochs=1, num_workers=0, output_dir=str(tmp_path / "out"), batch_size=4)
    result = train(RunConfig().with_values(training_method="freeze", **values), emit=events.append)
    assert result.status == "completed", result.message
    reports = [(e["done"], e["total"], e["work"]) for e in events if e["type"] == "phase" and e.get("total")]
    assert reports[-1][0] == reports[-1][1] and reports[-1][2] == 1.0
    assert all(a[2] < b[2] for a, b in zip(reports, reports[1:], strict=False))
    # the first report: the train split's first batch, its four 400-residue proteins
    shape = Shape.from_model_dir(tiny_esm)
    tokens = {
        s: [len(q) + 2 for q in pd.read_csv(data / f"{s}.csv")["aa_seq"]]
        for s in ("train", "validation", "test")
    }

    def cost(t):  # attention counted four times (pass_cost says why)
        attention = 4.0 * shape.n_layers * shape.hidden * sum(n * n for n in t)
        return forward_flops(t, shape) + 3 * attention

    share = cost(tokens["train"][:4]) / sum(cost(t) for t in tokens.values())
    done, total, work = reports[0]
    assert work == pytest.approx(share, rel=0.1)
    # a third of the work (each split has 4 long ones), 7% of the sequences
    assert work > 0.25 > 4 / 56 == done / total
