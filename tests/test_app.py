"""The dashboard pages with Streamlit's AppTest: every page renders, widgets map to RunConfig fields,
and a run started from the Train page trains for real (tiny ESM model), ends on the Results page.

``st.cache_resource`` (the job registry) is shared by every AppTest of this process: the
``registry`` fixture stops and forgets all jobs around each test. AppTest never ticks
``run_every`` fragments, so live views are polled with ``at.run()`` and sleeps.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ui import keys, state
from venus_core import rundir

ROOT = Path(__file__).resolve().parent.parent
HOME = str(ROOT / "Home.py")  # the app's entry
HOME_PAGE = "app_pages/home.py"
DATASET, MODEL, TRAIN, RESULTS = (
    "app_pages/dataset.py",
    "app_pages/model_and_method.py",
    "app_pages/train.py",
    "app_pages/results.py",
)


@pytest.fixture(autouse=True)
def registry():
    reg = state.registry()
    reg.reset()
    reg.train_fn = None
    yield reg
    reg.reset()
    reg.train_fn = None


@pytest.fixture(autouse=True)
def save_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "runs"
    monkeypatch.setenv(state.SAVE_DIR_ENV, str(folder))
    return folder


@pytest.fixture
def tiny_data(tmp_path) -> Path:
    """A learnable toy task: peptides rich in K are class 1."""
    folder = tmp_path / "toy"
    folder.mkdir()
    import random

    rng = random.Random(0)
    for split, n in (("train", 32), ("validation", 12), ("test", 12)):
        rows = []
        for i in range(n):
            label = i % 2
            seq = "".join(rng.choice("KKKKR" if label else "ADEGLSTV") for _ in range(rng.randint(8, 20)))
            rows.append({"aa_seq": seq, "label": label})
        pd.DataFrame(rows).to_csv(folder / f"{split}.csv", index=False)
    return folder


def app(params: dict | None = None) -> AppTest:
    """A new session of the dashboard, opened with the given URL parameters."""
    at = AppTest.from_file(HOME, default_timeout=60)
    at.query_params.update(params or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def cfg(at: AppTest):
    return at.session_state[keys.CFG]


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "subheader", "title"):
        parts += [str(e.value) for e in at.get(kind)]
    return "\n".join(parts)


def phase(at: AppTest) -> str | None:
    """The Train page's phase line ("Phase: **Training**"), shown as text, not as a narrow metric."""
    found = [m.value for m in at.markdown if "Phase: **" in m.value]
    return found[-1].split("Phase: **")[1].rstrip("*") if found else None


def wait_for_run(at: AppTest, registry, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    job = registry.latest()
    assert job is not None, "no run was started"
    while job.is_alive() and time.time() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    assert not job.is_alive(), "the run did not finish in time"
    at.run()


def fake_train(gate: threading.Event | None = None, calls: list | None = None):
    """Emits a short, valid event stream; waits on ``gate`` (checking should_stop) when given."""

    def train(cfg, emit=None, should_stop=None, run_dir=None, **kwargs):
        if calls is not None:
            calls.append({"run_dir": run_dir, **kwargs})
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        (Path(run_dir) / rundir.CONFIG).write_text(cfg.to_json())

        def send(event):
            event = {"time": time.time(), **event}
            emit(event)
            with open(Path(run_dir) / rundir.EVENTS, "a") as f:
                f.write(json.dumps(event) + "\n")

        send({"type": "phase", "phase": "loading", "epoch": 0})
        send(
            {
                "type": "run_start",
                "run_dir": str(run_dir),
                "config": cfg.to_dict(),
                "num_epochs": 2,
                "steps_per_epoch": 2,
                "total_steps": 4,
                "n_train": 8,
                "n_valid": 2,
                "n_test": 2,
                "device": "cpu",
                "precision": "bf16 mixed",
            }
        )
        send({"type": "phase", "phase": "train", "epoch": 1})
        send(
            {
                "type": "step",
                "epoch": 1,
                "step": 1,
                "train/loss": 0.7,
                "lr": 1e-3,
                "fraction": 0.25,
                "elapsed": 0.1,
                "eta": 0.3,
            }
        )
        while gate is not None and not gate.is_set():
            if should_stop():
                send({"type": "status", "status": "aborted", "message": "Aborted by the user."})
                return SimpleNamespace(status="aborted", run_dir=run_dir, message="")
            time.sleep(0.02)
        send(
            {
                "type": "epoch",
                "epoch": 1,
                "train/loss": 0.6,
                "val/loss": 0.5,
                "val/accuracy": 0.75,
                "val/mcc": -0.25,
                "val/auroc": None,
            }
        )
        send({"type": "best", "epoch": 1, "monitor": "accuracy", "value": 0.75})
        send({"type": "test", "test/loss": 0.4, "test/accuracy": 0.8, "test/mcc": -0.1, "test/auroc": None})
        send({"type": "status", "status": "completed", "message": "Best epoch 1 (accuracy 0.75)."})
        return SimpleNamespace(status="completed", run_dir=run_dir, message="")

    return train


# -- every page renders, with the guide's controls ----------------------------------------------------


def test_home(save_dir):
    at = app()
    assert at.title[0].value == "Venus Fine-tune"
    assert at.button(key="train_demo").label == "Train the demo"
    assert "No run in the save directory" in texts(at)
    # untouched, the app is set for the offline demo: embedded model + Demo_AMP
    c = cfg(at)
    assert c.model.plm_model.startswith("embedded:") and c.data.dataset == "Demo_AMP"
    assert c.output.output_dir == str(save_dir)


def test_dataset_page_predefined_and_preview():
    at = goto(app(), DATASET)
    assert at.radio(key="w.dataset_mode").value == "Use Pre-defined Dataset"
    assert at.selectbox(key="w.predefined").value == "Demo_AMP"
    at.selectbox(key="w.predefined").set_value("Demo_SubcellularLocalization").run()
    assert cfg(at).data.dataset == "Demo_SubcellularLocalization"
    at.selectbox(key="w.predefined").set_value("Demo_AMP").run()
    at.button(key="preview_dataset").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Train sequences"] == "3,696" and metrics["Errors"] == "0"
    # length histogram, label distribution, identity to train (the leakage report)
    assert len(at.get("plotly_chart")) == 3
    assert any("Sequence" in str(df.value.columns.tolist()) for df in at.dataframe)


def test_dataset_page_custom_fields_map_to_config(tiny_data):
    at = goto(app(), DATASET)
    at.radio(key="w.dataset_mode").set_value("Use Custom Dataset").run()
    assert cfg(at).data.dataset is None
    at.text_input(key="w.dataset").input(str(tiny_data)).run()
    assert cfg(at).data.dataset == str(tiny_data)
    at.selectbox(key="w.problem_type").set_value("regression").run()
    c = cfg(at)
    assert c.data.problem_type == "regression" and c.data.num_labels == 1
    assert set(at.multiselect(key="w.metrics").options) == {"Spearman", "MSE"}
    assert c.data.metrics == ("spearman_corr", "mse")
    at.selectbox(key="w.problem_type").set_value("single_label_classification").run()
    at.number_input(key="w.num_labels").set_value(3).run()
    at.multiselect(key="w.metrics").set_value(["accuracy", "mcc"]).run()
    c = cfg(at)
    assert (c.data.problem_type, c.data.num_labels, c.data.metrics) == (
        "single_label_classification",
        3,
        ("accuracy", "mcc"),
    )
    # A local folder: the columns are a choice among the training file's own columns.
    assert at.selectbox(key="w.label_column_name@choice").options == ["aa_seq", "label"]
    assert at.selectbox(key="w.label_column_name@choice").value == "label"
    # A hub dataset is only read at Preview: its column names are typed.
    at.text_input(key="w.dataset").input("someone/some_dataset").run()
    at.text_input(key="w.label_column_name").input("y").run()
    assert cfg(at).data.label_column_name == "y"


def test_dataset_page_label_format_for_multi_label(tmp_path):
    """Multi-hot files are refused as class indices with the way out, and accepted once the page's
    Label format says so; the choice exists for multi-label only."""
    rows = [("MKVLAAGIV", "1,0,0,1"), ("MKWLLPE", "0,1,0,0"), ("MKTAYIAK", "0,0,1,1")]
    for split in ("train", "validation", "test"):
        pd.DataFrame(rows * 4, columns=["aa_seq", "label"]).to_csv(tmp_path / f"{split}.csv", index=False)
    at = goto(app(), DATASET)
    at.radio(key="w.dataset_mode").set_value("Use Custom Dataset").run()
    at.text_input(key="w.dataset").input(str(tmp_path)).run()
    assert not [r for r in at.radio if r.key == "w.multi_label_format"]
    at.selectbox(key="w.problem_type").set_value("multi_label_classification").run()
    at.number_input(key="w.num_labels").set_value(4).run()
    assert at.radio(key="w.multi_label_format").value == "indices"
    at.button(key="preview_dataset").click().run()
    assert "the labels look multi-hot" in texts(at) and "Label format" in texts(at)
    at.radio(key="w.multi_label_format").set_value("multi_hot").run()
    assert cfg(at).data.multi_label_format == "multi_hot"
    at.button(key="preview_dataset").click().run()
    assert {m.label: m.value for m in at.metric}["Errors"] == "0"
    at.selectbox(key="w.problem_type").set_value("single_label_classification").run()
    assert cfg(at).data.multi_label_format == "indices"


def test_dataset_page_upload_one_file_is_split(save_dir, tiny_data):
    at = goto(app(), DATASET)
    at.radio(key="w.dataset_mode").set_value("Upload Local Files").run()
    data = (tiny_data / "train.csv").read_bytes()
    at.file_uploader(key="uploader").set_value(("../../evil name.csv", data, "text/csv")).run()
    assert not at.exception
    c = cfg(at)
    saved = Path(c.data.train_file)
    assert saved.name == "evil_name.csv" and saved.read_bytes() == data
    assert saved.parent.parent == save_dir / "_uploads"  # a per-session folder inside the save directory
    assert c.data.valid_file is None and c.data.test_file is None and c.data.dataset is None
    at.button(key="preview_dataset").click().run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Errors"] == "0" and {"Train sequences", "Validation sequences", "Test sequences"} <= set(
        metrics
    )


def test_model_page_controls():
    at = goto(app(), MODEL)
    assert at.selectbox(key="w.plm_select").value.startswith("embedded:")
    assert not at.number_input  # freeze: no LoRA parameters
    assert "Model Statistics" in texts(at)
    labels = {m.label: m.value for m in at.metric}
    assert "Trainable" in labels and "Backbone (pre-trained)" in labels

    at.selectbox(key="w.training_method").set_value("plm-lora").run()
    assert cfg(at).method.training_method == "plm-lora"
    assert at.text_input(key="w.lora_target_modules").value == "query,key,value"  # the ESM family default
    at.number_input(key="w.lora_r").set_value(16).run()
    at.text_input(key="w.lora_target_modules").input("query,value").run()
    c = cfg(at)
    assert c.method.lora_r == 16 and c.method.lora_target_modules == ("query", "value")
    at.text_input(key="w.lora_target_modules").input("query,key,value").run()
    assert cfg(at).method.lora_target_modules == ()  # the family default stays implicit

    at.selectbox(key="w.training_method").set_value("ses-adapter").run()
    assert at.multiselect(key="w.structure_seq").value == ["foldseek_seq", "ss8_seq"]
    assert not at.number_input  # no LoRA parameters for ses-adapter
    at.selectbox(key="w.pooling_method").set_value("attention1d").run()
    assert cfg(at).method.pooling_method == "attention1d"

    # remote code: a per-model opt-in, shown only for models that need it
    assert not at.checkbox
    at.selectbox(key="w.plm_select").set_value("AI4Protein/ProSST-2048").run()
    assert at.checkbox(key="w.trust_remote_code").value is False
    assert any("runs Python code" in w.value for w in at.warning)
    at.checkbox(key="w.trust_remote_code").check().run()
    assert cfg(at).model.trust_remote_code is True
    at.selectbox(key="w.plm_select").set_value("facebook/esm2_t6_8M_UR50D").run()
    assert cfg(at).model.trust_remote_code is False and not at.checkbox


def test_model_page_local_folder(tiny_esm):
    at = goto(app(), MODEL)
    at.radio(key="w.model_source").set_value("Local folder").run()
    at.text_input(key="w.plm_local").input(str(tiny_esm)).run()
    assert cfg(at).model.plm_model == str(tiny_esm)
    assert not at.error
    at.text_input(key="w.plm_local").input("/no/such/folder").run()
    assert at.error and "config.json" in at.error[0].value


def test_train_page_widgets_map_to_config(save_dir):
    at = goto(app(), TRAIN)
    at.number_input(key="w.batch_size").set_value(8).run()
    at.number_input(key="w.learning_rate").set_value(1e-4).run()
    at.number_input(key="w.num_epochs").set_value(7).run()
    at.number_input(key="w.patience").set_value(3).run()
    at.number_input(key="w.max_seq_len").set_value(512).run()
    at.selectbox(key="w.scheduler").set_value("cosine").run()
    at.number_input(key="w.warmup_steps").set_value(20).run()
    at.number_input(key="w.gradient_accumulation_steps").set_value(2).run()
    at.number_input(key="w.max_grad_norm").set_value(1.0).run()
    at.number_input(key="w.num_workers").set_value(0).run()
    at.text_input(key="w.output_model_name").input("amp.pt").run()
    c = cfg(at)
    assert (c.batch.batch_size, c.train.learning_rate, c.train.num_epochs, c.train.patience) == (
        8,
        1e-4,
        7,
        3,
    )
    assert (c.data.max_seq_len, c.train.scheduler, c.train.warmup_steps) == (512, "cosine", 20)
    assert (c.train.gradient_accumulation_steps, c.train.max_grad_norm, c.train.num_workers) == (2, 1.0, 0)
    assert c.output.output_model_name == "amp.pt"

    at.radio(key="w.batch_mode").set_value("token").run()
    assert cfg(at).batch.batch_mode == "token"
    at.number_input(key="w.batch_token").set_value(4000).run()
    assert cfg(at).batch.batch_token == 4000

    at.checkbox(key="w.wandb").check().run()
    at.text_input(key="w.wandb_project").input("amp-study").run()
    assert cfg(at).output.wandb and cfg(at).output.wandb_project == "amp-study"

    at.button(key="preview_command").click().run()
    command = at.code[0].value
    assert command.startswith("python -m venus_core train") and "--batch_token 4000" in command
    assert "--scheduler cosine" in command and "--wandb_project amp-study" in command

    # every widget carries its RunConfig help
    assert all(w.help for w in at.number_input)


def test_an_emptied_required_output_field_keeps_the_value_in_use(save_dir):
    """Save Directory and Output Model Name are required: "" (typed, or handed back by Streamlit
    after a rerun from inside a fragment, which once emptied both in CI) keeps the value in use."""
    at = goto(app(), TRAIN)
    before = cfg(at).output
    at.text_input(key="w.output_dir").input("").run()
    at.text_input(key="w.output_model_name").input("  ").run()
    assert cfg(at).output.output_dir == before.output_dir != ""
    assert cfg(at).output.output_model_name == before.output_model_name != ""
    at.text_input(key="w.output_model_name").input("amp.safetensors").run()
    assert cfg(at).output.output_model_name == "amp.safetensors"


def element_default(w):
    """What the browser shows for widget ``w`` when it mounts the element afresh (no state of its
    own): the element's default, in the widget's own terms."""
    proto = w.proto
    kind = type(w).__name__
    if kind in ("Selectbox", "Radio"):
        return w.options[proto.default] if proto.HasField("default") else None
    if kind == "Multiselect":
        return [w.options[i] for i in proto.default]
    if kind == "Slider":
        return list(proto.default) if len(proto.default) > 1 else proto.default[0]
    if kind in ("TextInput", "NumberInput"):
        return proto.default if proto.HasField("default") else None
    return proto.default


def shown(w):
    kind = type(w).__name__
    if kind in ("Selectbox", "Radio"):
        return w.options[w.index] if w.index is not None else None
    if kind == "Multiselect":
        return [w.options[i] for i in w.indices]
    return list(w.value) if isinstance(w.value, tuple) else w.value


@pytest.mark.parametrize("page", [DATASET, MODEL, TRAIN])
def test_a_remounted_widget_shows_the_value_in_use(page, tiny_data):
    """The browser drops a widget's state when its element goes, and starts a remounted one from
    the element's default: Streamlit's own default ("" for a text box, the minimum for a number)
    then came back and overwrote the config (an empty Save Directory in CI). Every widget bound to
    a setting carries the value in use as its default, changed settings included."""
    at = goto(app(), TRAIN)
    at.number_input(key="w.num_epochs").set_value(7).run()
    at.text_input(key="w.output_dir").input(str(tiny_data / "runs")).run()
    at = goto(at, page)
    bound = [
        w
        for kind in ("text_input", "number_input", "selectbox", "radio", "multiselect", "checkbox", "slider")
        for w in getattr(at, kind)
        if (w.key or "").startswith("w.")
    ]
    assert len(bound) >= 4
    for w in bound:
        assert element_default(w) == shown(w), w.key
    if page == TRAIN:
        assert element_default(at.number_input(key="w.num_epochs")) == 7


def test_train_page_defaults_say_what_happens():
    """Defaults a 2-core laptop can take, and the model file named as it is written."""
    at = goto(app(), TRAIN)
    assert at.number_input(key="w.num_workers").value == min(4, len(os.sched_getaffinity(0)))
    assert at.text_input(key="w.output_model_name").value == "model.safetensors"
    at.text_input(key="w.output_model_name").input("amp.pt").run()
    assert any("Written as `amp.safetensors`" in c.value for c in at.caption)
    # Preview Command writes every option, the defaults too: the line means the same elsewhere.
    at.button(key="preview_command").click().run()
    command = at.code[0].value
    for flag in ("--dataset Demo_AMP", "--plm_model embedded:esm2_t6_8M-hemolysis", "--num_epochs 100"):
        assert flag in command, flag


def test_model_page_shows_one_memory_estimate_in_one_unit():
    at = goto(app(), MODEL)
    text = texts(at)
    assert text.count("Estimated memory for training") == 1 and "Memory:" not in text
    line = next(m.value for m in at.markdown if "Estimated memory" in m.value)
    units = {u for u in ("GB", "MB") if f" {u}" in line}
    assert len(units) == 1, line
    # The parameter counts of the page agree with each other: no catalogue figure beside them.
    backbone = next(m.value for m in at.metric if m.label == "Backbone (pre-trained)")
    assert (
        backbone == "7.41M"
        and "7.51M" not in text
        and "7.51M" not in str(at.selectbox(key="w.plm_select").value)
    )


def test_preview_command_offers_torchrun_on_multi_gpu_machines(monkeypatch):
    at = goto(app(), TRAIN)
    at.button(key="preview_command").click().run()
    assert [c.value.split()[0] for c in at.code] == ["python"]
    monkeypatch.setattr("torch.cuda.device_count", lambda: 4)
    at.run()
    commands = [c.value for c in at.code]
    assert commands[1].startswith("torchrun --standalone --nproc_per_node=4 -m venus_core train")


def test_fsdp_and_float32_reach_the_command(monkeypatch):
    at = goto(app(), MODEL)
    at.selectbox(key="w.training_method").set_value("full").run()
    goto(at, TRAIN)
    monkeypatch.setattr("torch.cuda.device_count", lambda: 2)
    at.checkbox(key="w.mixed_precision").uncheck().run()
    at.checkbox(key="w.fsdp").check().run()
    at.button(key="preview_command").click().run()
    torchrun = next(c.value for c in at.code if c.value.startswith("torchrun"))
    assert "--no-mixed_precision" in torchrun and "--fsdp" in torchrun
    assert cfg(at).train.fsdp and not cfg(at).train.mixed_precision and not cfg(at).problems()


@pytest.mark.parametrize("native", [True, False])
def test_train_page_says_which_precision_this_machine_trains_in(monkeypatch, native):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setattr("venus_core.devices.cpu_has_native_bf16", lambda: native)
    at = goto(app(), TRAIN)
    said = " ".join(c.value for c in at.caption)
    if native:
        assert "Trains in bf16 mixed precision: this CPU computes bf16 natively" in said
    else:
        assert "Trains in float32: this CPU has no native bf16" in said
    at.checkbox(key="w.mixed_precision").uncheck().run()
    assert "Trains in float32: the same numbers on any machine" in " ".join(c.value for c in at.caption)


def test_train_page_invalid_value_is_an_inline_error():
    at = goto(app(), TRAIN)
    at.text_input(key="w.output_model_name").input("../escape.pt").run()
    at.button(key="start").click().run()
    # The page's own name of the field, not the CLI's option name.
    assert (
        at.error and "The run cannot start" in at.error[0].value and "Output Model Name" in at.error[0].value
    )
    assert state.registry().latest() is None


def start_gated_run(registry):
    """Press Start on the Train page with a fake trainer that waits for the returned gate."""
    gate = threading.Event()
    registry.train_fn = fake_train(gate)
    at = goto(app(), TRAIN)
    at.button(key="start").click().run()
    job = registry.active()
    assert job is not None
    # the fake trainer is at its gate once its first step is in; before that the page may show the
    # train phase with no step yet (a race that once failed CI)
    deadline = time.time() + 10
    while not any(e["type"] == "step" for e in job.events_since(0)) and time.time() < deadline:
        time.sleep(0.01)
    return at, job, gate


def test_start_refused_while_active_and_abort(registry):
    at, job, gate = start_gated_run(registry)
    # a second Start (same tab or another) is refused with a clear message
    other = goto(app(), TRAIN)
    other.button(key="start").click().run()
    assert any("A run is already active" in e.value for e in other.error)
    assert registry.active() is job and len(registry.jobs()) == 1
    # the other tab shows the same run, with the device and precision it trains in
    assert "Training Progress" in texts(other)
    assert "device `cpu` in bf16 mixed" in texts(other)
    other.button(key="abort").click().run()
    assert job.join(10) and job.status == "aborted"
    at.run()
    assert any("Aborted" in w.value for w in at.warning)


def test_train_end_to_end_then_results(registry, tiny_esm, tiny_data, save_dir):
    at = app()
    cfg0 = cfg(at).with_values(
        plm_model=str(tiny_esm),
        dataset=str(tiny_data),
        problem_type="single_label_classification",
        num_labels=2,
        training_method="freeze",
        num_epochs=2,
        batch_size=8,
        num_workers=0,
        run_name="e2e",
    )
    state_dict = at.session_state
    state_dict[keys.CFG] = cfg0
    goto(at, TRAIN)
    at.button(key="start").click().run()
    assert not at.error, [e.value for e in at.error]
    wait_for_run(at, registry)
    job = registry.latest()
    assert job.status == "completed", job.message
    body = texts(at)
    for heading in (
        "Training Progress",
        "Best Performance",
        "Training and Validation Loss",
        "Validation Metrics",
        "Test Results",
    ):
        assert heading in body
    assert any("Training completed" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) == 2
    assert any(b.label == "Download CSV" for b in at.get("download_button"))
    metrics = {m.label: m.value for m in at.metric}
    assert "Phase" not in metrics and metrics["Best epoch"] in ("1", "2")
    assert phase(at) == "Completed"

    goto(at, RESULTS)
    assert at.selectbox(key="open_run").value == str(save_dir / "e2e")
    history = at.dataframe[0].value
    assert history["Run"].tolist() == ["e2e"] and history["Status"].tolist() == ["Completed"]
    labels = [b.label for b in at.get("download_button")]
    assert "Download CSV" in labels and "Download predictions CSV" in labels
    assert len(at.get("plotly_chart")) >= 4  # loss, metrics, confusion matrix, ROC (+ compare)
    test_table = next(df.value for df in at.dataframe if "Metric" in df.value.columns)
    assert "Accuracy" in test_table["Metric"].tolist()

    at.text_area(key="predict_text").input(">a\nKKKRKKKRKK\n>b\nADEGLSTVAD\n").run()
    at.button(key="predict").click().run()
    assert not at.error, [e.value for e in at.error]
    preds = [df.value for df in at.dataframe if "prediction" in df.value.columns][
        -1
    ]  # after test predictions
    assert preds["id"].tolist() == ["a", "b"] and {"prob_0", "prob_1"} <= set(preds.columns)
    at.text_area(key="predict_text").input("KKKRKKKRKK\nNOT A PROTEIN 123\n").run()
    at.button(key="predict").click().run()
    assert at.error and "row" in at.error[0].value.lower()


def test_results_resume_unfinished_run(registry, save_dir):
    calls: list = []
    registry.train_fn = fake_train(threading.Event(), calls)
    at = goto(app(), TRAIN)
    at.button(key="start").click().run()
    job = registry.active()
    job.stop()
    assert job.join(10) and job.status == "aborted"
    goto(at, RESULTS)
    assert at.dataframe[0].value["Status"].tolist() == ["Aborted"]
    # No epoch finished: no checkpoint, so Resume is not offered, and the page says why.
    assert not [b for b in at.button if b.key == "resume"]
    assert "no checkpoint to resume from" in texts(at)
    last = job.run_dir / rundir.CHECKPOINTS / "last"  # as if the first epoch had finished
    last.mkdir(parents=True)
    (last / "trainer_state.json").write_text('{"epoch": 1}')
    at.run()
    registry.train_fn = fake_train(None, calls)
    at.button(key="resume").click().run()
    assert not at.exception
    resumed = registry.latest()
    assert resumed is not job and resumed.join(10) and resumed.status == "completed"
    assert calls[-1] == {"run_dir": job.run_dir, "resume": True}
    # the resumed job shows the whole history of the run
    assert resumed.events_since(0)[0]["type"] == "phase"


def test_results_empty_save_dir():
    at = goto(app(), RESULTS)
    assert "No run in" in texts(at)


def test_home_shows_current_run(registry):
    gate = threading.Event()
    registry.train_fn = fake_train(gate)
    at = app()
    at.button(key="train_demo").click().run()
    assert not at.exception
    job = registry.active()
    assert (
        job is not None and job.config.train.num_epochs == 3 and job.config.method.training_method == "freeze"
    )
    home = app()
    assert "Current run" in texts(home)
    gate.set()
    assert job.join(10)
    home.run()
    assert "Last run" in texts(home)


# -- the live view: progress every second, charts and tables every few seconds ----------------------


def traces(at: AppTest) -> dict[str, dict]:
    """Every trace of every Plotly chart on the page, by name (the figure JSON AppTest sees)."""
    found = {}
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            found[trace.get("name")] = trace
    return found


def svg_of(image: str) -> str:
    """The SVG inside a live chart's ``<img>`` (ui.live_chart.as_image)."""
    return base64.b64decode(image.split("base64,", 1)[1].split('"', 1)[0]).decode()


def test_the_train_page_follows_a_starting_run_closely():
    """Loading and the embedding pass last seconds on the demo: the page follows them at the short
    period until the first training step (a 10 s period could skip the whole embedding pass)."""
    from ui import run_view
    from venus_core.run_summary import summarize

    assert run_view.STARTING_EVERY_S < run_view.REFRESH_EVERY_S
    events = [{"type": "status", "time": 0.0, "status": "running"}]
    assert run_view.starting(summarize(events))
    events.append({"type": "phase", "time": 1.0, "phase": "loading"})
    assert run_view.starting(summarize(events))
    events.append({"type": "phase", "time": 2.0, "phase": "caching", "done": 1, "total": 9})
    assert run_view.starting(summarize(events))
    events.append({"type": "phase", "time": 3.0, "phase": "train", "epoch": 1})
    events.append({"type": "step", "time": 4.0, "epoch": 1, "step": 1, "train/loss": 1.0, "fraction": 0.1})
    assert not run_view.starting(summarize(events))


def test_embedding_pass_shows_its_own_bar_before_its_first_report():
    """From the phase's start, the embedding pass shows its own bar at 0% (the browser advances it
    once an estimate comes), never "0.0% of all training steps", which it has none of."""
    import ui.run_view  # noqa: F401 - imported here, so the app's script finds it

    def app() -> None:
        from ui import run_view
        from venus_core.run_summary import summarize

        events = [
            {"type": "status", "time": 0.0, "status": "running"},
            {"type": "phase", "time": 1.0, "phase": "caching"},
        ]
        run_view.progress(summarize(events))

    at = AppTest.from_function(app, default_timeout=30).run()
    assert not at.exception
    bars = [h.proto.body for h in at.get("html") if h.proto.body.startswith("<div data-venus-bar=")]
    assert len(bars) == 1 and "embeddings once · 0%" in bars[0], bars
    assert not at.get("progress")


def test_train_page_charts_show_the_final_epoch(registry):
    at, job, gate = start_gated_run(registry)
    at.run()
    assert phase(at) == "Training"
    # one training step, no validation yet: the loss curve only, as static SVG while the run trains
    live = [svg_of(h.proto.body) for h in at.get("html") if "venus-live-chart" in h.proto.body]
    assert len(live) == 1 and not at.get("plotly_chart")
    assert "train loss (running mean in epoch)" in live[0] and "validation loss" not in live[0]
    assert "Shown after the first validation." in texts(at)
    gate.set()
    assert job.join(10) and job.status == "completed"
    at.run()
    assert not at.exception and phase(at) == "Completed"
    # the charts, drawn once more after the end, hold the last epoch (validation loss 0.5, accuracy 0.75)
    assert len(at.get("plotly_chart")) == 2
    found = traces(at)
    assert found["validation loss"]["x"] == [1] and found["validation loss"]["y"] == [0.5]
    assert found["Accuracy"]["x"] == [1] and found["Accuracy"]["y"] == [0.75]
    test_table = next(df.value for df in at.dataframe if "Metric" in df.value.columns)
    assert "Accuracy" in test_table["Metric"].tolist()


def test_multi_label_accuracy_is_named_per_label(registry, tiny_data, save_dir):
    """On a multi-label run "accuracy" is the guide's per-label accuracy, and the screen says so."""
    registry.train_fn = fake_train()
    at = app()
    at.session_state[keys.CFG] = cfg(at).with_values(
        dataset=str(tiny_data),
        problem_type="multi_label_classification",
        num_labels=3,
        metrics=("accuracy", "subset_accuracy", "f1_max"),
        run_name="ml",
    )
    goto(at, TRAIN)
    at.button(key="start").click().run()
    assert registry.latest().join(10)
    at.run()
    assert "Accuracy (per label)" in traces(at)
    test_table = next(df.value for df in at.dataframe if "Metric" in df.value.columns)
    assert test_table["Metric"].tolist()[:2] == ["Loss", "Accuracy (per label)"]
    goto(at, DATASET)
    assert "Subset accuracy" in at.multiselect(key="w.metrics").options
    goto(at, RESULTS)
    assert at.dataframe[0].value["Best validation"].tolist() == ["Accuracy (per label) 0.7500"]


# -- the settings being edited live in the link too (reload, share) ---------------------------------


def fresh_session(params: dict, page: str | None = None) -> AppTest:
    """A new browser session (a reload, a shared link) opening ``page`` with ``params``."""
    at = AppTest.from_file(HOME, default_timeout=60)
    at.query_params.update(params)
    at.run()  # the navigation registers the pages on the first run
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_link_restores_the_settings():
    params = {
        "num_epochs": "7",
        "batch_size": "8",
        "learning_rate": "0.0001",
        "scheduler": "cosine",
        "mixed_precision": "false",
        "training_method": "plm-lora",
        "lora_r": "16",
        "dataset": "Demo_SubcellularLocalization",
        "metrics": ["accuracy", "mcc"],
    }
    at = fresh_session(params, TRAIN)
    assert not at.warning, [w.value for w in at.warning]
    c = cfg(at)
    assert (c.train.num_epochs, c.batch.batch_size, c.train.learning_rate, c.train.scheduler) == (
        7,
        8,
        1e-4,
        "cosine",
    )
    assert c.train.mixed_precision is False and c.data.metrics == ("accuracy", "mcc")
    assert (
        at.number_input(key="w.num_epochs").value == 7 and at.selectbox(key="w.scheduler").value == "cosine"
    )
    goto(at, MODEL)
    assert at.selectbox(key="w.training_method").value == "plm-lora"
    assert at.number_input(key="w.lora_r").value == 16
    goto(at, DATASET)
    assert at.selectbox(key="w.predefined").value == "Demo_SubcellularLocalization"
    assert at.query_params == params  # every value was kept, and page changes keep the link


def test_link_with_bad_values_warns_and_uses_the_defaults():
    bad = {
        "num_epochs": "many",  # not an int
        "batch_size": "0",  # out of range
        "learning_rate": "nan",
        "mixed_precision": "maybe",
        "scheduler": "sometimes",  # not one of the choices
        "training_method": "plm-megalora",
        "metrics": ["accuracy", "no_such_metric"],
        "plm_model": "/no/such/model/folder",  # stale: not here (any more)
        "train_file": "/no/such/file.csv",
        "no_such_option": "1",
        "run_name": "[click](http://example.invalid)",  # not a plain folder name
        "trust_remote_code": "true",  # never from a link
    }
    at = fresh_session({**bad, "patience": "3"})  # the warnings show on the page the link opens
    warning = "\n".join(w.value for w in at.warning)
    assert "Some settings in the link were ignored" in warning
    missing = [name for name in bad if f"{name}=" not in warning]
    assert not missing, warning
    # text from the link is shown as code, never as markdown (a link, an image, an icon)
    assert "\n- `run_name=[click](http://example.invalid)" in warning
    assert cfg(at) == state.initial_config().with_values(patience=3)
    assert at.query_params == {"patience": "3"}  # the link now holds only what was kept
    goto(at, TRAIN)
    assert at.number_input(key="w.patience").value == 3
    assert not at.warning  # said once
    for page in (HOME_PAGE, DATASET, MODEL, RESULTS):
        goto(at, page)


def test_setting_changes_are_written_to_the_link(tiny_data):
    at = goto(app(), TRAIN)
    assert at.query_params == {}
    at.number_input(key="w.num_epochs").set_value(7).run()
    assert at.query_params == {"num_epochs": "7"}
    at.selectbox(key="w.scheduler").set_value("cosine").run()
    at.checkbox(key="w.wandb").check().run()
    at.text_input(key="w.wandb_project").input("amp-study").run()
    at.number_input(key="w.num_epochs").set_value(100).run()  # back to the default: out of the link
    assert at.query_params == {"scheduler": "cosine", "wandb": "true", "wandb_project": "amp-study"}

    goto(at, MODEL)
    at.selectbox(key="w.plm_select").set_value("AI4Protein/ProSST-2048").run()
    at.checkbox(key="w.trust_remote_code").check().run()
    assert cfg(at).model.trust_remote_code is True
    assert at.query_params["plm_model"] == "AI4Protein/ProSST-2048"
    assert "trust_remote_code" not in at.query_params  # a link never switches on remote code

    goto(at, DATASET)
    at.radio(key="w.dataset_mode").set_value("Upload Local Files").run()
    data = (tiny_data / "train.csv").read_bytes()
    at.file_uploader(key="uploader").set_value(("toy.csv", data, "text/csv")).run()
    # the uploaded file by its path on this machine, never its contents
    assert at.query_params["train_file"] == cfg(at).data.train_file and at.query_params["dataset"] == ""
    assert all(len(str(v)) < 300 for v in at.query_params.values())

    # a reload: a new session with the same link has the same settings, less the remote-code opt-in
    again = fresh_session(dict(at.query_params), DATASET)
    assert not again.warning, [w.value for w in again.warning]
    assert cfg(again) == cfg(at).with_values(trust_remote_code=False)
    assert again.radio(key="w.dataset_mode").value == "Upload Local Files"


@pytest.mark.parametrize(
    "values",
    [
        {"num_epochs": 7, "learning_rate": 1e-4, "max_grad_norm": 1.0, "mixed_precision": False},
        {"metrics": ("accuracy", "mcc"), "problem_type": "single_label_classification", "num_labels": 3},
        {"training_method": "plm-lora", "lora_alpha": 16.5, "lora_target_modules": ("query", "value")},
        {"training_method": "ses-adapter", "structure_seq": ("ss8_seq",), "pooling_method": "attention1d"},
        {"batch_mode": "token", "batch_token": 4000, "split_ratios": (0.7, 0.2, 0.1)},
        {"run_name": "a b&c=d?", "wandb": True, "wandb_project": "p/q", "output_model_name": "m.pt"},
        {"scheduler": "linear", "max_seq_len": 512, "device": "cpu", "embedding_cache": False},
    ],
)
def test_link_round_trip(values):
    from ui import url_state

    defaults = state.initial_config()
    c = defaults.with_values(**values)
    params = url_state.encode(c, defaults)
    assert set(params) == set(values)
    back, warnings = url_state.decode(params, defaults)
    assert back == c and not warnings


# -- figures and helpers (no AppTest) ------------------------------------------------------------------


def test_figures_keep_negative_values_and_gaps():
    from ui import charts
    from venus_core.run_summary import summarize

    t = 1000.0
    events = [
        {"type": "run_start", "time": t, "num_epochs": 2, "steps_per_epoch": 1, "total_steps": 2},
        {"type": "step", "time": t + 1, "epoch": 1, "step": 1, "train/loss": 0.9, "fraction": 0.5},
        {
            "type": "epoch",
            "time": t + 2,
            "epoch": 1,
            "train/loss": 0.9,
            "val/loss": 1.0,
            "val/spearman_corr": -0.3,
            "val/mse": 2.5,
        },
        {
            "type": "epoch",
            "time": t + 3,
            "epoch": 2,
            "train/loss": 0.5,
            "val/loss": None,
            "val/spearman_corr": None,
            "val/mse": 1.5,
        },
        {"type": "best", "time": t + 3, "epoch": 1, "monitor": "spearman_corr", "value": -0.3},
    ]
    s = summarize(events)
    loss = charts.loss_figure(s)
    assert [tr.name for tr in loss.data][-1] == "validation loss" and list(loss.data[-1].y) == [1.0, None]
    metrics = charts.metrics_figure(s)
    by_name = {tr.name: tr for tr in metrics.data}
    assert list(by_name["Spearman"].y) == [-0.3, None]
    assert by_name["MSE"].yaxis == "y2"  # MSE on its own axis
    compare = charts.compare_figure([("a", s), ("b", s)], "val/spearman_corr")
    assert len(compare.data) == 2


def test_prediction_figures():
    from ui import charts

    binary = pd.DataFrame(
        {
            "aa_seq": ["A"] * 4,
            "label": [0, 1, 1, 0],
            "prediction": [0, 1, 0, 0],
            "prob_0": [0.9, 0.2, 0.6, 0.7],
            "prob_1": [0.1, 0.8, 0.4, 0.3],
        }
    )
    cm = charts.confusion_figure(binary)
    assert cm.data[0].z.tolist() == [[2, 0], [1, 1]]
    assert charts.roc_figure(binary) is not None
    one_class = binary.assign(label=[1, 1, 1, 1])
    assert charts.roc_figure(one_class) is None  # undefined: no negative in the test set
    three = pd.DataFrame(
        {
            "label": [0, 1, 2],
            "prediction": [0, 2, 2],
            "prob_0": [0.8, 0.1, 0.1],
            "prob_1": [0.1, 0.3, 0.1],
            "prob_2": [0.1, 0.6, 0.8],
        }
    )
    assert charts.confusion_figure(three).data[0].z.shape == (3, 3)
    assert len(charts.roc_figure(three).data) == 4  # chance + one curve per class
    regression = pd.DataFrame({"label": [-1.5, 0.0, 2.0], "prediction": [-1.0, 0.5, 1.5]})
    fig = charts.regression_figure(regression)
    assert list(fig.data[1].x) == [-1.5, 0.0, 2.0]


def test_preview_figures():
    from ui import charts

    stats = {
        "problem_type": "single_label_classification",
        "label_names": ["non-AMP", "AMP"],
        "splits": {
            "train": {"lengths": [10, 20, 30], "labels": {"0": 2, "1": 1}},
            "test": {"lengths": [12], "labels": {"0": 1, "1": 0}},
        },
    }
    assert list(charts.label_figure(stats).data[0].x) == ["0: non-AMP", "1: AMP"]
    assert len(charts.length_histogram(stats).data) == 2
    regression = {
        "problem_type": "regression",
        "splits": {"train": {"lengths": [5], "labels": {"edges": [-1.0, 0.0, 1.0], "counts": [3, 4]}}},
    }
    assert list(charts.label_figure(regression).data[0].y) == [3, 4]


def test_safe_file_name():
    assert state.safe_file_name("../../etc/passwd") == "passwd"
    assert state.safe_file_name("C:\\Users\\me\\my data.csv") == "my_data.csv"
    assert state.safe_file_name("..") == "upload"
    assert state.safe_file_name(".hidden.csv") == "hidden.csv"


GUIDE_LABELS = {
    DATASET: [
        "Dataset Selection",
        "Use Pre-defined Dataset",
        "Use Custom Dataset",
        "Dataset Configuration",
        "Preview Dataset",
    ],
    MODEL: ["Protein Language Model", "Training Method", "Pooling Method", "Model Statistics"],
    TRAIN: [
        "Batch Processing Mode",
        "Batch Size Mode",
        "Batch Token Mode",
        "Batch Size",
        "Learning Rate",
        "Number of Epochs",
        "Early Stopping Patience",
        "Max Sequence Length",
        "Scheduler Type",
        "Warmup Steps",
        "Gradient Accumulation Steps",
        "Max Gradient Norm",
        "Number of Workers",
        "Save Directory",
        "Output Model Name",
        "Enable W&B Logging",
        "Preview Command",
        "Abort",
        "Start",
    ],
}


def labels_on(at: AppTest) -> set[str]:
    """Every widget label, option and heading on the page."""
    found: set[str] = set()
    for kind in (
        "selectbox",
        "radio",
        "number_input",
        "text_input",
        "checkbox",
        "button",
        "multiselect",
        "text_area",
    ):
        for w in at.get(kind):
            found.add(w.label)
            found.update(str(o) for o in getattr(w, "options", []) or [])
    found.update(str(h.value) for h in [*at.subheader, *at.title, *at.markdown])
    return found


def test_guide_labels_present():
    at = app()
    for page, labels in GUIDE_LABELS.items():
        goto(at, page)
        found = labels_on(at)
        missing = [lab for lab in labels if lab not in found and not any(lab in f for f in found)]
        assert not missing, (page, missing)
    goto(at, DATASET)
    at.radio(key="w.dataset_mode").set_value("Use Custom Dataset").run()
    assert {"Custom Dataset Path", "Problem Type", "Number of Labels", "Metrics"} <= labels_on(at)
    goto(at, MODEL)
    at.selectbox(key="w.training_method").set_value("plm-lora").run()
    assert {"LoRA Rank", "LoRA Alpha", "LoRA Dropout", "LoRA Target Modules"} <= labels_on(at)
    at.selectbox(key="w.training_method").set_value("ses-adapter").run()
    assert "Structure Sequence" in labels_on(at)
    goto(at, TRAIN)
    at.radio(key="w.batch_mode").set_value("token").run()
    assert "Tokens per Batch" in labels_on(at)


def test_the_dashboard_server_does_not_poll_its_config_files(monkeypatch):
    """``python -m ui`` leaves out Streamlit's pollers of its config.toml files (each poll takes the
    interpreter lock from the trainer, five times a second per file)."""
    from streamlit.watcher import polling_path_watcher
    from streamlit.web import bootstrap

    import ui.__main__ as launcher

    pollers = []
    monkeypatch.setattr(
        polling_path_watcher.PollingPathWatcher, "__init__", lambda self, path, *a, **k: pollers.append(path)
    )
    monkeypatch.setattr(bootstrap, "_install_config_watchers", bootstrap._install_config_watchers)
    bootstrap._install_config_watchers({})
    assert pollers, "this Streamlit polls no config file: the launcher's patch is dead code"
    pollers.clear()
    launcher.quiet_config_watchers()
    bootstrap._install_config_watchers({})
    assert pollers == []
