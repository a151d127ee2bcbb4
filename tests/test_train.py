"""The training engine on tiny random models: every method x problem type x pooling, and the
properties the reference implementation gets wrong (full trains everything, freeze nothing, PEFT
only adapters, metrics recomputable from predictions, seeds reproducible, resume exact)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import NUM_LABELS, make_cfg, write_toy_dataset

from venus_core import methods, rundir, vocab
from venus_core.config import RunConfig
from venus_core.metrics import compute_metrics
from venus_core.train import train

PROBLEM_TYPES = vocab.PROBLEM_TYPES


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return {
        pt: write_toy_dataset(root / pt, pt, n_train=48, n_eval=16, with_structure=True)
        for pt in PROBLEM_TYPES
    }


def run_ok(cfg: RunConfig, **kw):
    events = []
    result = train(cfg, emit=events.append, **kw)
    assert result.status == "completed", result.message
    return result, events


@pytest.mark.parametrize("pooling", vocab.POOLING_METHODS)
@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
@pytest.mark.parametrize("method", methods.names())
def test_matrix_esm(tiny_esm, toy_data, tmp_path, method, problem_type, pooling):
    cfg = make_cfg(
        tiny_esm,
        toy_data[problem_type],
        problem_type,
        tmp_path,
        training_method=method,
        pooling_method=pooling,
    )
    result, events = run_ok(cfg)
    run = result.run_dir
    for name in (
        "config.json",
        "events.jsonl",
        "metrics.csv",
        "test_metrics.csv",
        "test_predictions.csv",
        "model_stats.json",
        "model.safetensors",
        "checkpoints/best/trainable.safetensors",
        "checkpoints/last/trainable.safetensors",
        "checkpoints/last/optimizer.pt",
        "checkpoints/last/trainer_state.json",
    ):
        assert (run / name).exists(), name
    assert [e["type"] for e in events][-1] == "status"
    assert {"run_start", "step", "epoch", "best", "test"} <= {e["type"] for e in events}
    # The reported test metrics equal a recomputation from test_predictions.csv.
    preds = pd.read_csv(run / "test_predictions.csv", keep_default_na=False)
    reported = rundir.read_test_metrics(run)
    recomputed = recompute(preds, cfg, problem_type)
    for name, value in recomputed.items():
        if math.isnan(value):
            assert math.isnan(reported[name])
        else:
            assert reported[name] == pytest.approx(value, abs=1e-5), name
    metrics_csv = pd.read_csv(run / "metrics.csv")
    assert list(metrics_csv["epoch"]) == [1, 2]


@pytest.mark.parametrize("pooling", vocab.POOLING_METHODS)
@pytest.mark.parametrize("method", methods.names())
def test_every_method_and_head_trains_in_cpu_bf16(tiny_esm, toy_data, tmp_path, monkeypatch, method, pooling):
    """Mixed precision is the default, so on a CPU with native bf16 every method and pooling head
    trains under bf16 autocast (here forced, so the test does not depend on the CPU)."""
    monkeypatch.setattr("venus_core.devices.cpu_has_native_bf16", lambda: True)
    i = methods.names().index(method) + vocab.POOLING_METHODS.index(pooling)
    pt = PROBLEM_TYPES[i % len(PROBLEM_TYPES)]  # every problem type, across the grid
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, training_method=method, pooling_method=pooling)
    result, events = run_ok(cfg.with_values(num_epochs=1))
    assert next(e for e in events if e["type"] == "run_start")["precision"] == "bf16 mixed"
    assert math.isfinite(result.test_metrics["loss"])
    preds = pd.read_csv(result.run_dir / "test_predictions.csv", keep_default_na=False)
    assert len(preds) == 16 and preds["prediction"].notna().all()


@pytest.mark.parametrize("kind", ["bert", "t5"])
def test_bert_and_t5_train_in_cpu_bf16(tiny_models, toy_data, tmp_path, monkeypatch, kind):
    monkeypatch.setattr("venus_core.devices.cpu_has_native_bf16", lambda: True)
    pt = "single_label_classification"
    cfg = make_cfg(tiny_models[kind], toy_data[pt], pt, tmp_path, training_method="plm-lora", num_epochs=1)
    result, events = run_ok(cfg)
    assert next(e for e in events if e["type"] == "run_start")["precision"] == "bf16 mixed"
    assert math.isfinite(result.test_metrics["loss"])


def recompute(preds: pd.DataFrame, cfg: RunConfig, problem_type: str) -> dict[str, float]:
    metrics = cfg.data.metrics or vocab.DEFAULT_METRICS[problem_type]
    k = NUM_LABELS[problem_type]
    if problem_type == "single_label_classification":
        outputs = preds[[f"prob_{i}" for i in range(k)]].to_numpy()
        targets = preds["label"].astype(int).to_numpy()
    elif problem_type == "multi_label_classification":
        outputs = preds[[f"prob_{i}" for i in range(k)]].to_numpy()
        targets = np.zeros((len(preds), k))
        for row, label in enumerate(preds["label"].astype(str)):
            for j in filter(None, label.split(",")):
                targets[row, int(j)] = 1
    else:
        outputs = preds["prediction"].to_numpy()
        targets = preds["label"].astype(float).to_numpy()
    return compute_metrics(problem_type, metrics, outputs, targets, k)


@pytest.mark.parametrize("family", ["bert", "t5"])
@pytest.mark.parametrize("method", ["freeze", "plm-lora", "ia3"])
def test_other_families(tiny_models, toy_data, tmp_path, family, method):
    pt = "single_label_classification"
    run_ok(make_cfg(tiny_models[family], toy_data[pt], pt, tmp_path, training_method=method))


def _trained_weights(tiny_esm, toy_data, tmp_path, method):
    """Backbone weights before and after training (from the saved trainable state)."""
    from venus_core.modeling import build_model

    pt = "single_label_classification"
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, training_method=method, num_epochs=1)
    from venus_core.datasets import resolve_task

    cfg = resolve_task(cfg)
    before = {k: v.clone() for k, v in build_model(cfg, torch.device("cpu"), 10).model.state_dict().items()}
    result, events = run_ok(cfg)
    stats = json.loads((result.run_dir / "model_stats.json").read_text())
    from safetensors.torch import load_file

    after = load_file(str(result.run_dir / "checkpoints/last/trainable.safetensors"))
    return before, after, stats


def test_full_updates_every_backbone_weight(tiny_esm, toy_data, tmp_path):
    before, after, stats = _trained_weights(tiny_esm, toy_data, tmp_path, "full")
    backbone = [
        k
        for k in before
        if k.startswith("backbone.")
        and before[k].is_floating_point()
        and "inv_freq" not in k
        and "contact_head" not in k
        and "position_ids" not in k
    ]
    # ESM's <mask>/<null> token embeddings and unused rows get no gradient; compare whole tensors.
    unchanged = [k for k in backbone if k in after and torch.equal(before[k], after[k])]
    assert not [k for k in backbone if k not in after], "full must save every backbone weight"
    assert unchanged == [], unchanged
    contact_head = sum(v.numel() for k, v in before.items() if "contact_head" in k)
    assert contact_head > 0
    assert stats["backbone_trainable"] == stats["backbone_params"] - contact_head


@pytest.mark.parametrize("family", ["esm", "bert", "t5"])
def test_full_trains_only_parameters_the_forward_uses(tiny_models, family):
    """A trainable parameter without a gradient (ESM's contact head) makes DDP fail and inflates the
    trainable count: full fine-tuning must leave such modules frozen."""
    from venus_core.datasets import resolve_task
    from venus_core.modeling import build_model

    pt = "single_label_classification"
    cfg = resolve_task(
        RunConfig().with_values(plm_model=str(tiny_models[family]), training_method="full", problem_type=pt)
    ).with_values(num_labels=2)
    built = build_model(cfg, torch.device("cpu"), 10)
    ids = torch.tensor(built.tokenizer.encode(["MKTAY", "GAVLI"]))
    mask = torch.ones_like(ids)
    logits = built.model(input_ids=ids, attention_mask=mask, residue_mask=mask)
    logits.sum().backward()
    no_grad = [n for n, p in built.model.named_parameters() if p.requires_grad and p.grad is None]
    assert no_grad == []


def test_freeze_changes_no_backbone_weight(tiny_esm, toy_data, tmp_path):
    before, after, stats = _trained_weights(tiny_esm, toy_data, tmp_path, "freeze")
    assert not [k for k in after if k.startswith("backbone.")]
    assert stats["backbone_trainable"] == 0 and stats["adapter_params"] == 0
    assert any(not torch.equal(before[k], after[k]) for k in after if k.startswith("head."))


@pytest.mark.parametrize("method", ["plm-lora", "dora", "adalora", "ia3", "plm-qlora"])
def test_peft_trains_only_adapters_and_head(tiny_esm, toy_data, tmp_path, method):
    before, after, stats = _trained_weights(tiny_esm, toy_data, tmp_path, method)
    assert stats["backbone_trainable"] == 0
    assert stats["adapter_trainable"] > 0 and stats["head_trainable"] > 0
    assert stats["trainable_params"] == stats["adapter_trainable"] + stats["head_trainable"]
    trained_backbone = [k for k in after if k.startswith("backbone.")]
    assert trained_backbone and all(
        any(m in k for m in ("lora_", "ia3_", "ranknum")) for k in trained_backbone
    )


def test_dora_learns_a_magnitude_per_output_and_lora_does_not(tiny_esm, toy_data, tmp_path):
    # DoRA is LoRA's code with the weight decomposition on: what makes it DoRA is the trained
    # magnitude vector beside every adapted projection.
    _, dora, _ = _trained_weights(tiny_esm, toy_data, tmp_path / "dora", "dora")
    _, lora, _ = _trained_weights(tiny_esm, toy_data, tmp_path / "lora", "plm-lora")
    magnitudes = [k for k in dora if "lora_magnitude_vector" in k]
    assert magnitudes and len(magnitudes) == len([k for k in dora if "lora_A" in k])
    assert not [k for k in lora if "magnitude" in k]


@pytest.mark.parametrize("method", ["freeze", "full", "plm-lora"])
def test_loss_goes_down(tiny_esm, toy_data, tmp_path, method):
    pt = "single_label_classification"
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, training_method=method, num_epochs=6, patience=10)
    result, events = run_ok(cfg)
    losses = [e["train/loss"] for e in events if e["type"] == "epoch"]
    assert losses[-1] < losses[0]


def test_same_seed_same_metrics(tiny_esm, toy_data, tmp_path):
    pt = "single_label_classification"
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, training_method="plm-lora")
    a = run_ok(cfg)[0].test_metrics
    b = run_ok(cfg)[0].test_metrics
    assert a == b
    c = run_ok(cfg.with_values(seed=2))[0].test_metrics
    assert a != c


@pytest.mark.parametrize(
    ("method", "epochs", "stop_after", "bf16"),
    [
        ("plm-lora", 3, 1, False),
        ("freeze", 3, 1, False),
        # AdaLoRA (3 steps per epoch, 15 in all): after epoch 2 its importance scores are being
        # gathered; after epoch 4 the ranks are fixed (the last 20% of steps) and must be re-applied.
        ("adalora", 5, 2, False),
        ("adalora", 5, 4, False),
        # mixed precision on a CPU with native bf16 (the default there) resumes exactly too
        ("plm-lora", 3, 1, True),
        ("freeze", 3, 1, True),
    ],
)
def test_resume_equals_uninterrupted(
    tiny_esm, toy_data, tmp_path, monkeypatch, method, epochs, stop_after, bf16
):
    monkeypatch.setattr("venus_core.devices.cpu_has_native_bf16", lambda: bf16)
    pt = "single_label_classification"
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, training_method=method, num_epochs=epochs)
    full = run_ok(cfg.with_values(run_name="full"))[0]
    # Interrupt after epoch ``stop_after``: abort as soon as the next epoch starts training.
    seen = []

    def stop():
        return sum(1 for e in seen if e["type"] == "epoch") >= stop_after and seen[-1]["type"] == "phase"

    part = train(cfg.with_values(run_name="part"), emit=seen.append, should_stop=stop)
    assert part.status == "aborted"
    assert seen[-1]["type"] == "status" and seen[-1]["status"] == "aborted"
    resumed = train(RunConfig.load(part.run_dir / "config.json"), run_dir=part.run_dir, resume=True)
    assert resumed.status == "completed"
    assert resumed.test_metrics == full.test_metrics
    again = train(RunConfig.load(part.run_dir / "config.json"), run_dir=part.run_dir, resume=True)
    assert again.message == "already completed"


def test_abort_while_caching(tiny_esm, toy_data, tmp_path):
    """Abort during the frozen backbone's one pass: the run ends aborted at the next batch, says
    that nothing was kept, and leaves no half-built cache for the next run to reuse."""
    pt = "single_label_classification"
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, training_method="freeze", embedding_cache=True)
    seen = []

    def stop():  # after the first batches were embedded, before the pass is complete
        return any(e["type"] == "phase" and 0 < e.get("done", 0) < e.get("total", 0) for e in seen)

    result = train(cfg, emit=seen.append, should_stop=stop)
    assert result.status == "aborted", result.message
    assert not [e for e in seen if e["type"] in ("step", "epoch")]
    assert seen[-1]["status"] == "aborted" and seen[-1]["epochs_done"] == 0
    assert "nothing to resume" in seen[-1]["message"]
    assert not list((tmp_path / ".embedding_cache").glob("*/meta.json"))
    again = []
    assert train(cfg, emit=again.append).status == "completed"
    assert any("Building the frozen-embedding cache" in e.get("message", "") for e in again)


def test_failed_run_reports_message(tmp_path, toy_data):
    pt = "single_label_classification"
    cfg = make_cfg(tmp_path / "no-such-model", toy_data[pt], pt, tmp_path)
    events = []
    result = train(cfg, emit=events.append)
    assert result.status == "failed"
    assert "neither an existing folder nor a hub id" in result.message or "no config.json" in result.message


def test_unknown_lora_target_is_an_error(tiny_esm, toy_data, tmp_path):
    pt = "single_label_classification"
    cfg = make_cfg(
        tiny_esm, toy_data[pt], pt, tmp_path, training_method="plm-lora", lora_target_modules="q,k,v"
    )
    result = train(cfg)
    assert result.status == "failed" and "match no linear layer" in result.message


def test_events_jsonl_matches_emitted(tiny_esm, toy_data, tmp_path):
    pt = "regression"
    result, events = run_ok(make_cfg(tiny_esm, toy_data[pt], pt, tmp_path))
    on_disk = rundir.read_events(result.run_dir)
    assert [e["type"] for e in on_disk] == [e["type"] for e in events]
    json.dumps(events)  # JSON-serialisable


def test_num_labels_inferred_from_the_labels(tiny_esm, toy_data, tmp_path):
    pt = "single_label_classification"
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, num_labels=None, num_epochs=1)
    result, _ = run_ok(cfg)
    assert RunConfig.load(result.run_dir / "config.json").data.num_labels == 2


def test_data_loader_workers_give_the_same_result(tiny_esm, toy_data, tmp_path):
    pt = "single_label_classification"
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, training_method="plm-lora", num_epochs=1)
    in_process = run_ok(cfg.with_values(num_workers=0))[0].test_metrics
    with_workers = run_ok(cfg.with_values(num_workers=2))[0].test_metrics
    assert in_process == with_workers


def test_fsdp_in_one_process_says_it_does_not_shard(tiny_esm, toy_data, tmp_path):
    pt = "single_label_classification"
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, training_method="plm-lora", fsdp=True, num_epochs=1)
    _, events = run_ok(cfg)
    assert any("fsdp needs torchrun" in e.get("message", "") for e in events if e["type"] == "log")
    assert next(e for e in events if e["type"] == "run_start")["fsdp"] is False


@pytest.mark.parametrize("native", [True, False])
def test_mixed_precision_uses_bf16_only_on_a_cpu_that_has_it(
    tiny_esm, toy_data, tmp_path, monkeypatch, native
):
    pt = "single_label_classification"
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, training_method="full", num_epochs=1, device="cpu")
    fp32, events = run_ok(cfg.with_values(run_name="fp32", mixed_precision=False))
    assert next(e for e in events if e["type"] == "run_start")["precision"] == "float32"
    monkeypatch.setattr("venus_core.devices.cpu_has_native_bf16", lambda: native)
    mixed, events = run_ok(cfg.with_values(run_name="mixed"))  # mixed_precision is on by default
    start = next(e for e in events if e["type"] == "run_start")
    a, b = fp32.test_metrics["loss"], mixed.test_metrics["loss"]
    if native:
        assert start["precision"] == "bf16 mixed"
        assert a != b  # bf16 arithmetic really ran
        assert b == pytest.approx(a, abs=0.05)
    else:  # emulated bf16 would be slower: float32, the very same numbers
        assert start["precision"] == "float32"
        assert a == b


def test_adalora_orthogonality_regulariser(tiny_esm):
    """AdaLoRA's P and Q are pulled towards orthogonality: the penalty is the mean Frobenius
    distance of P P^T and Q^T Q from I, times orth_reg_weight, and it reaches both matrices."""
    from venus_core.datasets import resolve_task
    from venus_core.methods.adalora import orthogonality as adalora_orthogonality
    from venus_core.modeling import build_model

    pt = "single_label_classification"
    cfg = resolve_task(
        RunConfig().with_values(plm_model=str(tiny_esm), training_method="adalora", problem_type=pt)
    ).with_values(num_labels=2)
    backbone = build_model(cfg, torch.device("cpu"), 20).model.backbone
    penalty = adalora_orthogonality(backbone)
    norms = []
    for name, p in backbone.named_parameters():
        if "lora_A" in name:
            norms.append(torch.dist(p @ p.T, torch.eye(p.shape[0])))
        elif "lora_B" in name:
            norms.append(torch.dist(p.T @ p, torch.eye(p.shape[1])))
    weight = backbone.peft_config["default"].orth_reg_weight
    assert weight > 0 and norms
    assert penalty.item() == pytest.approx(weight * float(torch.stack(norms).mean()), rel=1e-5)
    penalty.backward()
    grads = [p.grad for n, p in backbone.named_parameters() if "lora_A" in n or "lora_B" in n]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("saved_precision", ["bf16 mixed", "float32", None])
def test_resume_in_another_precision_warns(tiny_esm, toy_data, tmp_path, saved_precision):
    """A run moved to a machine that computes in another precision says it will not repeat exactly;
    checkpoints from before the precision was recorded (None) resume without a word about it."""
    pt = "single_label_classification"
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, training_method="plm-lora", num_epochs=2)
    seen = []
    part = train(cfg, emit=seen.append, should_stop=lambda: any(e["type"] == "epoch" for e in seen))
    state_file = part.run_dir / "checkpoints" / "last" / "trainer_state.json"
    saved = json.loads(state_file.read_text())
    assert saved["precision"] == "float32"
    if saved_precision is None:
        del saved["precision"]
    else:
        saved["precision"] = saved_precision
    state_file.write_text(json.dumps(saved))
    events = []
    resumed = train(
        RunConfig.load(part.run_dir / "config.json"), emit=events.append, run_dir=part.run_dir, resume=True
    )
    assert resumed.status == "completed"
    warned = [e["message"] for e in events if "resumes in" in e.get("message", "")]
    if saved_precision == "bf16 mixed":
        assert warned == [
            "This run trained in bf16 mixed and resumes in float32: it will not repeat the original run "
            "exactly (set mixed_precision to match, where this machine can)."
        ]
    else:
        assert not warned


def test_resume_with_another_number_of_processes_warns(tiny_esm, toy_data, tmp_path):
    pt = "single_label_classification"
    cfg = make_cfg(tiny_esm, toy_data[pt], pt, tmp_path, training_method="plm-lora", num_epochs=2)
    seen = []
    part = train(cfg, emit=seen.append, should_stop=lambda: any(e["type"] == "epoch" for e in seen))
    assert part.status == "aborted"
    state_file = part.run_dir / "checkpoints" / "last" / "trainer_state.json"
    saved = json.loads(state_file.read_text())
    saved["world_size"] = 2  # as if written by a 2-process torchrun job
    state_file.write_text(json.dumps(saved))
    events = []
    resumed = train(
        RunConfig.load(part.run_dir / "config.json"), emit=events.append, run_dir=part.run_dir, resume=True
    )
    assert resumed.status == "completed"
    assert any("saved by 2 process(es) and resumes with 1" in e.get("message", "") for e in events)
