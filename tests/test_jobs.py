"""The job registry and the run view derived from events (no Streamlit, no torch)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from venus_core import jobs
from venus_core.config import RunConfig
from venus_core.errors import VenusError
from venus_core.jobs import JobRegistry
from venus_core.run_summary import summarize


def fake_train(
    epochs: int = 3,
    steps: int = 4,
    delay: float = 0.0,
    gate: threading.Event | None = None,
    fail: BaseException | None = None,
):
    """A trainer that emits the documented event stream and honours should_stop."""

    def train(cfg, emit=None, should_stop=None, run_dir=None):
        emit = emit or (lambda e: None)
        should_stop = should_stop or (lambda: False)
        lines = []

        def send(event):
            event = {"time": time.time(), **event}
            lines.append(event)
            emit(event)
            if run_dir is not None:
                Path(run_dir).mkdir(parents=True, exist_ok=True)
                with open(Path(run_dir) / "events.jsonl", "a") as f:
                    f.write(json.dumps(event) + "\n")

        send(
            {
                "type": "run_start",
                "run_dir": str(run_dir),
                "config": cfg.to_dict(),
                "n_train": 40,
                "n_valid": 5,
                "n_test": 5,
                "total_steps": epochs * steps,
                "steps_per_epoch": steps,
                "num_epochs": epochs,
                "device": "cpu",
                "world_size": 1,
                "model_stats": {"total_params": 10},
            }
        )
        if gate is not None:
            gate.wait(10)
        if fail is not None:
            raise fail
        start = time.time()
        for epoch in range(1, epochs + 1):
            send({"type": "phase", "phase": "train", "epoch": epoch})
            for i in range(steps):
                if should_stop():
                    send({"type": "status", "status": "aborted", "message": "Aborted by the user."})
                    return SimpleNamespace(status="aborted", run_dir=run_dir, message="Aborted by the user.")
                step = (epoch - 1) * steps + i + 1
                send(
                    {
                        "type": "step",
                        "epoch": epoch,
                        "step": step,
                        "train/loss": 1.0 / step,
                        "lr": 1e-3,
                        "fraction": step / (epochs * steps),
                        "elapsed": time.time() - start,
                        "eta": 1.0,
                    }
                )
                time.sleep(delay)
            send({"type": "phase", "phase": "validate", "epoch": epoch})
            send(
                {
                    "type": "epoch",
                    "epoch": epoch,
                    "train/loss": 1.0 / epoch,
                    "val/loss": 1.5 / epoch,
                    "val/accuracy": 0.5 + epoch / 10,
                    "val/mcc": -0.2 if epoch == 1 else None,
                    "epoch_seconds": 0.1,
                    "train_residues_per_s": 1000.0,
                }
            )
            send({"type": "best", "epoch": epoch, "monitor": "accuracy", "value": 0.5 + epoch / 10})
        send({"type": "phase", "phase": "test", "epoch": epochs})
        send({"type": "test", "test/loss": 0.3, "test/accuracy": 0.8, "test/mcc": -0.1, "test/auroc": None})
        send({"type": "status", "status": "completed", "message": ""})
        return SimpleNamespace(status="completed", run_dir=run_dir, message="")

    return train


@pytest.fixture
def cfg(tmp_path):
    return RunConfig().with_values(output_dir=str(tmp_path), run_name="r1")


def wait(job, timeout=10.0):
    assert job.join(timeout), "the job did not finish"


def test_run_completes_and_summarizes(cfg, tmp_path):
    reg = JobRegistry()
    job = reg.start(cfg, train_fn=fake_train(), run_dir=tmp_path / "r1")
    wait(job)
    assert job.status == "completed"
    assert reg.active() is None and reg.latest() is job
    assert reg.get(tmp_path / "r1") is job
    s = summarize(job.events_since(0))
    assert s["status"] == "completed" and s["fraction"] == 1.0
    assert [r["epoch"] for r in s["epochs"]] == [1, 2, 3]
    assert s["metric_names"] == ["accuracy", "mcc"]
    assert s["best"] == {"epoch": 3, "monitor": "accuracy", "value": pytest.approx(0.8)}
    assert s["best_row"]["val/accuracy"] == pytest.approx(0.8)
    assert s["test"] == {"loss": 0.3, "accuracy": 0.8, "mcc": -0.1, "auroc": None}
    assert len(s["steps"]) == 12 and s["step"] == 12
    assert s["n_train"] == 40 and s["num_epochs"] == 3


def test_one_run_at_a_time_and_stop(cfg, tmp_path):
    reg = JobRegistry()
    job = reg.start(cfg, train_fn=fake_train(epochs=50, delay=0.01), run_dir=tmp_path / "a")
    with pytest.raises(VenusError, match="A run is already active: a. Abort it or wait"):
        reg.start(cfg, train_fn=fake_train(), run_dir=tmp_path / "b")
    assert reg.active() is job and job.status == "running"
    job.stop()
    wait(job)
    assert job.status == "aborted"
    last = job.events_since(0)[-1]
    assert (last["type"], last["status"]) == ("status", "aborted")
    # the registry accepts a new run once the first one has ended
    job2 = reg.start(cfg, train_fn=fake_train(epochs=1), run_dir=tmp_path / "b")
    wait(job2)
    assert job2.status == "completed" and reg.latest() is job2


def test_exception_becomes_failed_event(cfg, tmp_path):
    reg = JobRegistry()
    job = reg.start(cfg, train_fn=fake_train(fail=RuntimeError("boom")), run_dir=tmp_path / "x")
    wait(job)
    assert job.status == "failed"
    last = job.events_since(0)[-1]
    assert last["type"] == "status" and last["status"] == "failed" and "boom" in last["message"]
    # the failure also reaches events.jsonl, so the run reads the same after a restart
    on_disk = summarize(jobs.read_events_file(tmp_path / "x"))
    assert on_disk["status"] == "failed" and "boom" in on_disk["message"]
    assert reg.active() is None


def test_venus_error_message_kept(cfg, tmp_path):
    reg = JobRegistry()
    job = reg.start(cfg, train_fn=fake_train(fail=VenusError("Row 3 has no label.")), run_dir=tmp_path / "y")
    wait(job)
    assert job.status == "failed" and job.message == "Row 3 has no label."


def test_trainer_without_status_event(cfg, tmp_path):
    def quiet(cfg, emit=None, should_stop=None, run_dir=None):
        return SimpleNamespace(status="completed", message="done", run_dir=run_dir)

    job = JobRegistry().start(cfg, train_fn=quiet, run_dir=tmp_path / "q")
    wait(job)
    assert job.status == "completed" and job.message == "done"


def test_events_since_is_append_only_and_shared(cfg, tmp_path):
    gate = threading.Event()
    job = JobRegistry().start(cfg, train_fn=fake_train(gate=gate), run_dir=tmp_path / "e")
    deadline = time.time() + 5
    while len(job) < 1 and time.time() < deadline:
        time.sleep(0.01)
    first = job.events_since(0)
    assert [e["type"] for e in first] == ["run_start"]
    gate.set()
    wait(job)
    everything = job.events_since(0)
    assert everything[: len(first)] == first  # a second reader sees the same events
    assert job.events_since(len(first)) == everything[len(first) :]
    assert job.events_since(len(everything)) == []


def test_summarize_from_events_file_matches_live(cfg, tmp_path):
    job = JobRegistry().start(cfg, train_fn=fake_train(), run_dir=tmp_path / "f")
    wait(job)
    path = tmp_path / "f" / "events.jsonl"
    with open(path, "a") as f:
        f.write('{"type": "step", "trunc')  # a torn last line after a crash is skipped
    from_disk = summarize(jobs.read_events_file(path))
    live = summarize(job.events_since(0))
    assert from_disk == live


def test_summary_folds_only_what_is_new(cfg, tmp_path):
    """A live page asks for the view every second: each call folds the events that arrived since
    the last one, and the result is the view of all events at once, at every point of the run."""
    job = JobRegistry().start(cfg, train_fn=fake_train(), run_dir=tmp_path / "inc")
    wait(job)
    events = job.events_since(0)
    from venus_core.run_summary import RunSummary

    live, folded = RunSummary(), []
    for cut in range(0, len(events) + 1, 3):  # events arrive a few at a time
        new = events[len(folded) : cut]
        folded += new
        live.extend(new)
        assert live.version == len(folded)
        assert live.view() == summarize(folded)
    # Job.summary folds incrementally too, and a second call with nothing new changes nothing.
    first = job.summary()
    assert first == summarize(events) and job.summary() == first


def test_chart_version_moves_only_with_what_charts_draw():
    from venus_core.run_summary import RunSummary

    s = RunSummary()
    s.add({"type": "phase", "phase": "train", "epoch": 1, "time": 1.0})
    s.add({"type": "log", "level": "info", "message": "x", "time": 1.1})
    before = s.chart_version
    s.add({"type": "phase", "phase": "validate", "epoch": 1, "time": 1.2})
    assert s.chart_version == before  # phases and logs: no chart changes, no figure rebuilt
    s.add({"type": "step", "epoch": 1, "step": 1, "train/loss": 0.5, "time": 1.3})
    assert s.chart_version == before + 1


def test_resume_drops_what_the_interrupted_epoch_did_after_its_checkpoint():
    from venus_core.run_summary import summarize as fold

    events = [
        {"type": "run_start", "time": 0.0},
        {"type": "step", "epoch": 1, "step": 1, "train/loss": 1.0, "time": 1.0},
        {"type": "epoch", "epoch": 1, "val/loss": 0.9, "time": 2.0},
        {"type": "step", "epoch": 2, "step": 2, "train/loss": 0.8, "time": 3.0},  # lost by the crash
        {"type": "status", "status": "aborted", "message": "", "time": 4.0},
        {"type": "run_start", "resumed_from_epoch": 1, "time": 10.0},
        {"type": "step", "epoch": 2, "step": 2, "train/loss": 0.7, "time": 11.0},
    ]
    s = fold(events)
    assert [(r["epoch"], r["train/loss"]) for r in s["steps"]] == [(1, 1.0), (2, 0.7)]


def test_caching_phase_has_its_own_eta():
    from venus_core.run_summary import summarize as fold

    events = [
        {"type": "phase", "phase": "caching", "epoch": 0, "time": 100.0},
        {"type": "phase", "phase": "caching", "done": 250, "total": 1000, "time": 110.0},
    ]
    s = fold(events, now=112.0)
    assert s["phase_progress"] == 0.25
    assert s["phase_eta"] == pytest.approx(30.0 - 2.0)  # 10 s per quarter, counted down since


def test_summarize_live_clock_and_null_metrics():
    t0 = 1000.0
    events = [
        {"type": "run_start", "time": t0, "num_epochs": 2, "steps_per_epoch": 2, "total_steps": 4},
        {"type": "phase", "time": t0 + 1, "phase": "train", "epoch": 1},
        {
            "type": "step",
            "time": t0 + 2,
            "epoch": 1,
            "step": 1,
            "train/loss": 0.7,
            "lr": 1e-4,
            "fraction": 0.25,
            "elapsed": 2.0,
            "eta": 6.0,
        },
    ]
    s = summarize(events, now=t0 + 4)
    assert s["status"] == "running" and s["phase"] == "train"
    assert s["elapsed"] == pytest.approx(4.0) and s["eta"] == pytest.approx(4.0)
    assert s["fraction"] == 0.25 and s["loss"] == 0.7
    events.append(
        {
            "type": "epoch",
            "time": t0 + 5,
            "epoch": 1,
            "train/loss": 0.6,
            "val/loss": None,
            "val/spearman_corr": -0.4,
        }
    )
    events.append({"type": "status", "time": t0 + 6, "status": "aborted", "message": "Aborted."})
    s = summarize(events, now=t0 + 100)
    assert s["status"] == "aborted" and s["elapsed"] == pytest.approx(6.0) and s["eta"] is None
    assert s["epochs"][0]["val/spearman_corr"] == -0.4 and s["metric_names"] == ["spearman_corr"]


def test_summarize_empty():
    s = summarize([])
    assert s["status"] == "pending" and s["epochs"] == [] and s["best"] is None and s["test"] is None


def test_reset_stops_jobs(cfg, tmp_path):
    reg = JobRegistry()
    job = reg.start(cfg, train_fn=fake_train(epochs=100, delay=0.01), run_dir=tmp_path / "z")
    reg.reset()
    assert not job.is_alive() and job.status == "aborted"
    assert reg.latest() is None and reg.active() is None


def test_registry_default_train_fn_attribute(cfg, tmp_path):
    reg = JobRegistry(train_fn=fake_train(epochs=1))
    job = reg.start(cfg, run_dir=tmp_path / "d")
    wait(job)
    assert job.status == "completed"


def test_jobs_module_does_not_import_streamlit():
    import subprocess
    import sys

    code = "import sys, venus_core.jobs, venus_core.export; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_resume_passes_flag_and_keeps_history(cfg, tmp_path):
    reg = JobRegistry()
    first = reg.start(cfg, train_fn=fake_train(epochs=50, delay=0.01), run_dir=tmp_path / "r")
    time.sleep(0.1)
    first.stop()
    wait(first)
    assert summarize(jobs.read_events_file(tmp_path / "r"))["status"] == "aborted"
    seen = {}

    def resume_train(cfg, emit=None, should_stop=None, run_dir=None, resume=False):
        seen.update(run_dir=run_dir, resume=resume)
        return fake_train(epochs=2)(cfg, emit=emit, should_stop=should_stop, run_dir=run_dir)

    job = reg.start(cfg, train_fn=resume_train, run_dir=tmp_path / "r", resume=True)
    wait(job)
    assert seen == {"run_dir": tmp_path / "r", "resume": True}
    assert job.status == "completed"  # the earlier "aborted" status is history, not this job's end
    events = job.events_since(0)
    assert [e["status"] for e in events if e["type"] == "status"] == ["aborted", "completed"]
    s = summarize(events)
    assert s["status"] == "completed" and s["message"] == ""
    assert summarize(jobs.read_events_file(tmp_path / "r")) == s


def test_resume_needs_a_run_dir(cfg):
    with pytest.raises(VenusError, match="Resume needs"):
        JobRegistry().start(cfg, train_fn=fake_train(), resume=True)


def test_registry_allocates_the_run_dir(cfg, tmp_path):
    reg = JobRegistry(train_fn=fake_train(epochs=1))
    job = reg.start(cfg)  # run_name "r1" inside output_dir
    assert job.run_dir == tmp_path / "r1" and job.run_dir.is_dir()
    wait(job)
    with pytest.raises(VenusError, match="already exists"):  # an existing run is never overwritten
        reg.start(cfg)
    generated = reg.start(cfg.with_values(run_name=None))
    wait(generated)
    assert generated.run_dir.parent == tmp_path and generated.run_dir.name.startswith("Demo_AMP_")


def test_preload_imports_what_a_run_needs():
    """In a fresh interpreter: the preload thread imports the trainer and its modelling code (so
    Start does not wait ~2 s for them), and a module that cannot be imported stops nothing."""
    code = (
        "import sys; from venus_core import jobs; "
        "assert 'venus_core.train' not in sys.modules and 'transformers.modeling_utils' not in sys.modules; "
        "jobs.preload_run_modules(('no_such_module_xyz',) + jobs.RUN_MODULES).join(120); "
        "print([m for m in jobs.RUN_MODULES if m not in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_dashboard_server_loads_the_trainer_before_any_page_opens(tmp_path):
    """``python -m ui`` (what ``make run`` serves) starts the preload with the server: torch's
    library is in the server process with no page opened yet (``streamlit run Home.py`` loads it
    only when the first page runs)."""
    from bench.ui_driver import Server

    server = Server(tmp_path / "runs")
    try:
        maps = Path(f"/proc/{server.proc.pid}/maps")
        deadline = time.time() + 120
        while time.time() < deadline and "libtorch_cpu" not in maps.read_text():
            time.sleep(0.5)
        assert "libtorch_cpu" in maps.read_text()
    finally:
        server.stop()


def test_a_run_begins_once_its_code_is_loaded(tmp_path):
    """In a fresh interpreter, with no preload: Start returns at once and the run's first event
    comes only after everything a run imports is loaded (the run's clock starts with its code
    loaded, like a CLI run's)."""
    code = (
        "import sys; from venus_core import jobs; from venus_core.config import RunConfig\n"
        "loaded = []\n"
        "append = jobs.Job.append_event\n"
        "def spy(self, e):\n"
        "    loaded.append(all(m in sys.modules for m in jobs.RUN_MODULES)); return append(self, e)\n"
        "jobs.Job.append_event = spy\n"
        f"cfg = RunConfig().with_values(dataset={str(tmp_path / 'missing')!r}, "
        f"output_dir={str(tmp_path)!r})\n"
        "job = jobs.JobRegistry().start(cfg, run_dir=None)\n"
        "job._thread.join(180)\n"
        "print(loaded, job.summary()['status'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded, status = out.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert status == "failed" and loaded.startswith("[True") and "False" not in loaded, out.stdout
