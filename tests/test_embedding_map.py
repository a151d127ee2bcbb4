"""The embedding map (venus_core.embedding_map) on a tiny ESM: sampling, projection, the shared
frozen-embedding cache (a freeze run reuses the map's, the map reuses a freeze run's), stop, UMAP."""

from __future__ import annotations

import sys
import threading
import time
import types

import numpy as np
import pytest
from conftest import write_toy_dataset

from venus_core import embedding_map
from venus_core.config import RunConfig
from venus_core.data import prepare
from venus_core.embedding_cache import CACHE_DIR_NAME, pass_cost
from venus_core.embedding_map import MapJobs, MapRequest, compute, sample_positions
from venus_core.errors import VenusError
from venus_core.train import train


def setup(tiny_esm, tmp_path, problem_type="single_label_classification", n_train=40, n_eval=12, **over):
    data = write_toy_dataset(tmp_path / "d", problem_type, n_train, n_eval)
    values = dict(
        plm_model=str(tiny_esm),
        dataset=str(data),
        problem_type=problem_type,
        output_dir=str(tmp_path / "out"),
        num_workers=0,
        num_epochs=1,
        seed=3,
    )
    cfg = RunConfig().with_values(**{**values, **over})
    task, report = prepare(cfg)
    assert task is not None, report.format_errors()
    return cfg, task


def freeze_logs(cfg: RunConfig, **over) -> list[str]:
    events: list[dict] = []
    values = dict(training_method="freeze", pooling_method="mean", **over)
    result = train(cfg.with_values(**values), emit=events.append)
    assert result.status == "completed", result.message
    return [e["message"] for e in events if e["type"] == "log"]


def test_sample_positions_are_proportional_seeded_and_bounded():
    got = sample_positions({"train": 800, "validation": 100, "test": 100}, 100, seed=1)
    assert {s: len(p) for s, p in got.items()} == {"train": 80, "validation": 10, "test": 10}
    assert all((np.diff(p) > 0).all() for p in got.values())
    again = sample_positions({"train": 800, "validation": 100, "test": 100}, 100, seed=1)
    assert all((got[s] == again[s]).all() for s in got)
    small = sample_positions({"train": 5, "validation": 2}, 100, seed=1)
    assert small["train"].tolist() == [0, 1, 2, 3, 4] and small["validation"].tolist() == [0, 1]
    odd = sample_positions({"train": 7, "validation": 7, "test": 7}, 10, seed=0)
    assert sum(len(p) for p in odd.values()) == 10


def test_eta_weights_long_sequences(tiny_esm, tmp_path):
    """The map's time left follows the cache build's share of work done (``pass_cost``), not the
    count of proteins: the pass embeds the longest first."""
    cfg, task = setup(tiny_esm, tmp_path)
    reports: list = []
    compute(task, cfg, MapRequest(points=20), progress=reports.append)
    embedding = [p for p in reports if p.stage == "Embedding"]
    first, last = embedding[0], embedding[-1]
    assert last.done == last.total and last.work == pytest.approx(1.0)
    assert all(a.work < b.work for a, b in zip(embedding, embedding[1:], strict=False))
    assert first.eta == pytest.approx(first.elapsed / first.work * (1 - first.work))
    # After the first batch (the long one, 10 s) most of the work is done: well under the 90 s
    # that the count of sequences (10 of 100) would say.
    weights = pass_cost(np.array([1000] + [10] * 99), hidden=320)
    work = weights[:10].sum() / weights.sum()
    left = 10.0 / work * (1 - work)
    assert left is not None and 0.0 < left < 10.0


def test_sampled_map_then_cache_reused(tiny_esm, tmp_path):
    cfg, task = setup(tiny_esm, tmp_path)
    stages: list[str] = []
    first = compute(task, cfg, MapRequest(points=20), progress=lambda p: stages.append(p.stage))
    assert first is not None and first.cache == "built" and not first.whole
    assert len(first.points) == 20 and first.n_embedded == 20 and first.n_total == 64
    assert set(first.points["split"]) <= {"train", "validation", "test"}
    assert first.axes[0].startswith("PC1 (") and np.isfinite(first.points[["x", "y"]].to_numpy()).all()
    assert {"Loading the model", "Embedding", "Projecting"} <= set(stages)
    again = compute(task, cfg, MapRequest(points=20))
    assert again.cache == "reused"
    assert np.allclose(again.points[["x", "y"]].to_numpy(), first.points[["x", "y"]].to_numpy())


def test_freeze_run_reuses_the_whole_map(tiny_esm, tmp_path):
    cfg, task = setup(tiny_esm, tmp_path)
    result = compute(task, cfg, MapRequest(points=10, whole=True))
    assert result.whole and result.n_embedded == 64 and len(result.points) == 10
    # The map's cache is the one a freeze run with mean pooling would build: it is reused.
    logs = freeze_logs(cfg)
    assert any("Reusing the frozen-embedding cache" in m for m in logs), logs
    assert len(list((tmp_path / "out" / CACHE_DIR_NAME).iterdir())) == 1


def test_map_reuses_a_freeze_runs_cache(tiny_esm, tmp_path):
    cfg, task = setup(tiny_esm, tmp_path, training_method="plm-lora", pooling_method="attention1d")
    freeze_logs(cfg)  # the page's own settings (LoRA) do not matter: the map stands for freeze + mean
    result = compute(task, cfg, MapRequest(points=10, whole=True))
    assert result.cache == "reused"
    # A dataset no larger than the sample is embedded whole: the same cache again.
    assert compute(task, cfg, MapRequest(points=1000)).cache == "reused"


def test_regression_and_stop(tiny_esm, tmp_path):
    cfg, task = setup(tiny_esm, tmp_path, "regression")
    assert compute(task, cfg, MapRequest(points=16), stop=lambda: True) is None
    assert not (tmp_path / "out" / CACHE_DIR_NAME).exists() or not any(
        (tmp_path / "out" / CACHE_DIR_NAME).rglob("meta.json")
    )
    result = compute(task, cfg, MapRequest(points=16))
    assert result is not None and len(result.points) == 16


def test_umap_only_when_installed(tiny_esm, tmp_path, monkeypatch):
    cfg, task = setup(tiny_esm, tmp_path)
    monkeypatch.setattr(embedding_map, "umap_available", lambda: False)
    with pytest.raises(VenusError, match="umap-learn"):
        compute(task, cfg, MapRequest(points=12, projection="umap"))
    with pytest.raises(VenusError, match="Unknown projection 'tsne'; choose one of pca, umap"):
        compute(task, cfg, MapRequest(points=12, projection="tsne"))
    calls = {}

    class FakeUMAP:
        def __init__(self, **kw):
            calls.update(kw)

        def fit_transform(self, x):
            return x[:, :2] * 2

    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=FakeUMAP))
    monkeypatch.setattr(embedding_map, "umap_available", lambda: True)
    result = compute(task, cfg, MapRequest(points=12, projection="umap"))
    assert result.axes == ("UMAP 1", "UMAP 2") and calls["random_state"] == 3


def test_jobs_run_in_the_background_one_at_a_time(tiny_esm, tmp_path):
    cfg, task = setup(tiny_esm, tmp_path)
    jobs = MapJobs()
    gate = threading.Event()

    def slow(stop, progress):
        while not gate.is_set():
            if stop():
                return None
            time.sleep(0.01)
        return compute(task, cfg, MapRequest(points=8), stop=stop, progress=progress)

    job = jobs.start("a", slow)
    with pytest.raises(VenusError, match="Another embedding map"):
        jobs.start("b", slow)
    assert jobs.running() is job and jobs.get("a") is job
    gate.set()
    job.join(60)
    assert job.result is not None and job.error is None and not job.stopped
    assert job.progress.stage == "Projecting"
    stopped = jobs.start(
        "b", lambda stop, progress: compute(task, cfg, MapRequest(points=8), stop=lambda: True)
    )
    stopped.join(60)
    assert stopped.stopped and stopped.result is None
    failing = jobs.start("c", lambda stop, progress: compute(task, cfg, MapRequest(projection="tsne")))
    failing.join(60)
    assert "Unknown projection" in failing.error
    jobs.reset()
    assert jobs.get("a") is None
