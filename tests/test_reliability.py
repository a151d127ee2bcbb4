"""Reliability and safety: abort anywhere, clear failures, nothing unsafe loaded or written."""

from __future__ import annotations

import errno
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import write_toy_dataset

from venus_core import rundir
from venus_core.config import RunConfig
from venus_core.train import train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_toy_dataset(tmp_path_factory.mktemp("rel") / "d", "single_label_classification", 48, 16)


def cfg_for(model, data, out, **over) -> RunConfig:
    values = dict(
        plm_model=str(model),
        dataset=str(data),
        problem_type="single_label_classification",
        num_labels=2,
        num_epochs=2,
        num_workers=0,
        output_dir=str(out),
        training_method="plm-lora",
        learning_rate=5e-3,
    )
    return RunConfig().with_values(**{**values, **over})


def stop_at(phase: str, epoch: int = 1):
    """A should_stop that fires once the run has entered ``phase`` of ``epoch``."""
    seen: list[dict] = []

    def should_stop() -> bool:
        return any(e["type"] == "phase" and e["phase"] == phase and e.get("epoch", 0) >= epoch for e in seen)

    return seen, should_stop


@pytest.mark.parametrize(
    ("phase", "epoch", "method"),
    [
        ("loading", 0, "plm-lora"),
        ("caching", 0, "freeze"),
        ("train", 1, "plm-lora"),
        ("train", 2, "full"),
        ("validate", 1, "plm-lora"),
        ("test", 2, "plm-lora"),
    ],
)
def test_abort_at_any_point(tiny_esm, data_dir, tmp_path, phase, epoch, method):
    seen, should_stop = stop_at(phase, epoch)
    result = train(
        cfg_for(tiny_esm, data_dir, tmp_path, training_method=method),
        emit=seen.append,
        should_stop=should_stop,
    )
    assert result.status == "aborted"
    events = rundir.read_events(result.run_dir)
    assert events[-1]["type"] == "status" and events[-1]["status"] == "aborted"
    assert (result.run_dir / "config.json").exists()
    finished = [e for e in events if e["type"] == "epoch"]

    def resume():
        return train(RunConfig.load(result.run_dir / "config.json"), run_dir=result.run_dir, resume=True)

    if not finished:
        # Nothing was kept, and the status says so; a resume is refused rather than silently
        # restarting from scratch in the same folder.
        assert "no checkpoint was written, nothing to resume" in events[-1]["message"]
        resumed = resume()
        assert resumed.status == "failed" and "no checkpoint to resume from" in resumed.message
        return
    # Every finished epoch is kept, with its checkpoint, and the message says how many.
    assert len(pd.read_csv(result.run_dir / "metrics.csv")) == len(finished)
    state = json.loads((result.run_dir / "checkpoints/last/trainer_state.json").read_text())
    assert state["epoch"] == len(finished)
    kept = "epoch 1 finished" if len(finished) == 1 else f"epochs 1-{len(finished)} finished"
    assert kept in events[-1]["message"]
    # The app can go on: the same folder resumes to completion.
    resumed = resume()
    assert resumed.status == "completed", resumed.message
    assert (result.run_dir / "test_metrics.csv").exists()


def _fail_with(monkeypatch, target: str, exc: BaseException):
    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(target, boom)


@pytest.mark.parametrize(
    ("target", "exc", "phrase"),
    [
        (
            "venus_core.loop.iterate_batches",
            torch.OutOfMemoryError("CUDA out of memory"),
            "Lower the batch size",
        ),
        ("venus_core.loop.iterate_batches", MemoryError(), "Out of memory"),
        (
            "venus_core.checkpoint.save",
            OSError(errno.ENOSPC, "No space left on device", "ckpt"),
            "disk is full",
        ),
        ("venus_core.loop.iterate_batches", RuntimeError("boom"), "Internal error: RuntimeError: boom"),
    ],
)
def test_failures_end_with_a_human_message(tiny_esm, data_dir, tmp_path, monkeypatch, target, exc, phrase):
    _fail_with(monkeypatch, target, exc)
    events: list[dict] = []
    result = train(cfg_for(tiny_esm, data_dir, tmp_path), emit=events.append)
    assert result.status == "failed" and phrase in result.message
    assert events[-1] == {**events[-1], "type": "status", "status": "failed"}
    assert "Traceback" not in result.message


def test_hub_unreachable_offers_alternatives(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = train(cfg_for("facebook/esm2_t6_8M_UR50D", data_dir, tmp_path))
    assert result.status == "failed"
    assert "Could not load model 'facebook/esm2_t6_8M_UR50D'" in result.message
    assert "local model folder or the embedded model" in result.message


def test_remote_code_needs_an_explicit_opt_in(tmp_path, data_dir):
    folder = tmp_path / "prosst"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps({"model_type": "ProSST", "auto_map": {"AutoModel": "m.Model"}})
    )
    result = train(cfg_for(folder, data_dir, tmp_path))
    assert result.status == "failed" and "trust_remote_code" in result.message


def test_existing_run_is_never_overwritten(tiny_esm, data_dir, tmp_path):
    cfg = cfg_for(tiny_esm, data_dir, tmp_path, run_name="mine", num_epochs=1)
    assert train(cfg).status == "completed"
    before = (tmp_path / "mine" / "test_metrics.csv").read_bytes()
    again = train(cfg)
    assert again.status == "failed" and "already exists" in again.message
    assert (tmp_path / "mine" / "test_metrics.csv").read_bytes() == before


def test_generated_names_never_collide(tiny_esm, data_dir, tmp_path):
    cfg = cfg_for(tiny_esm, data_dir, tmp_path, num_epochs=1)
    dirs = {rundir.new_run_dir(cfg) for _ in range(3)}
    assert len(dirs) == 3 and all(d.parent == tmp_path for d in dirs)


def test_checkpoints_are_safetensors_and_loads_are_weights_only(tiny_esm, data_dir, tmp_path):
    result = train(cfg_for(tiny_esm, data_dir, tmp_path, num_epochs=1))
    files = [p.name for p in (result.run_dir / "checkpoints").rglob("*") if p.is_file()]
    assert "trainable.safetensors" in files
    assert not [f for f in files if f.endswith((".bin", ".pkl"))]
    for path in (ROOT / "venus_core").rglob("*.py"):
        for call in re.findall(r"torch\.load\([^)]*\)", path.read_text()):
            assert "weights_only=True" in call, f"{path.name}: {call}"


def test_wandb_key_never_written(tiny_esm, data_dir, tmp_path, monkeypatch):
    secret = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setenv("WANDB_API_KEY", secret)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    result = train(
        cfg_for(tiny_esm, data_dir, tmp_path / "runs", num_epochs=1, wandb=True, wandb_project="t")
    )
    assert result.status == "completed", result.message
    assert list((result.run_dir / "wandb").glob("offline-run-*")), "W&B offline run was not written"
    for path in result.run_dir.rglob("*"):
        if path.is_file() and path.stat().st_size < 5_000_000:
            assert secret.encode() not in path.read_bytes(), path


def test_events_survive_a_torn_last_line(tmp_path):
    (tmp_path / "events.jsonl").write_text('{"type": "run_start", "time": 1}\n{"type": "ep')
    assert [e["type"] for e in rundir.read_events(tmp_path)] == ["run_start"]


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "x.json"
    rundir.write_json(target, {"a": 1})
    with pytest.raises(ValueError), rundir.atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise ValueError
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_streamlit_config_is_safe_by_default():
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "localhost"
    assert cfg["server"]["enableXsrfProtection"] is True
    assert 0 < cfg["server"]["maxUploadSize"] <= 1000
    assert cfg["browser"]["gatherUsageStats"] is False
