"""bench.run's reading of a run: speed and MFU from the steady-state epochs, ours / naive from first
epochs (like with like: the naive loop trains one epoch, warm-up included)."""

from __future__ import annotations

from bench.run import PLANS, first_epoch_rate, summarize_events


def _epoch(n: int, rate: float, seconds: float) -> dict:
    return {"type": "epoch", "epoch": n, "train_residues_per_s": rate, "epoch_seconds": seconds}


def test_speed_is_the_steady_state_and_the_first_epoch_is_kept_apart() -> None:
    events = [_epoch(1, 2000.0, 9.0), _epoch(2, 4000.0, 5.0), _epoch(3, 4200.0, 4.8)]
    s = summarize_events(events)
    assert s["train_residues_per_s"] == 4100.0  # median of epochs 2 and 3: the warm-up left out
    assert s["epoch_seconds"] == 4.9
    assert s["first_epoch_residues_per_s"] == 2000.0
    assert first_epoch_rate(s) == 2000.0


def test_a_single_epoch_is_all_there_is() -> None:
    s = summarize_events([_epoch(1, 3000.0, 7.0)])
    assert s["train_residues_per_s"] == s["first_epoch_residues_per_s"] == 3000.0
    assert first_epoch_rate({"train_residues_per_s": 650.0}) == 650.0  # a naive-loop row


def test_every_plan_measures_a_steady_state_epoch() -> None:
    assert all(plan.speed_epochs >= 2 for plan in PLANS.values())


def test_the_bf16_peak_is_measured_only_where_bf16_is_native(monkeypatch) -> None:
    # Without native bf16 torch emulates bf16 matmuls (~1 GFLOP/s on one thread of an AVX2 EPYC):
    # its peak would cost minutes per measurement, and no row runs in bf16 there.
    import venus_core.devices as devices
    from bench.flops import measured_dtypes

    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    assert measured_dtypes() == ("fp32",)
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    assert measured_dtypes() == ("fp32", "bf16")


def test_the_attention_benchmark_says_why_it_has_nothing_to_compare(monkeypatch, tmp_path, capsys) -> None:
    import json

    import venus_core.devices as devices
    from bench import attention

    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    monkeypatch.setattr(attention, "time_call", lambda *a, **k: 1 / 0)  # must not time anything
    out = tmp_path / "attention.json"
    assert attention.main(["--out", str(out)]) == 0
    assert "no native bf16" in capsys.readouterr().out
    assert json.loads(out.read_text()) == {"native_bf16": False, "amx": False, "rows": []}


def test_the_quick_plans_mfu_says_how_much_of_it_was_padding() -> None:
    from bench.run import _quick_padding

    row = {"padded_fraction": 0.236}
    assert _quick_padding(PLANS["quick"], row).startswith("quick plan: 24% of the tokens are padding")
    assert _quick_padding(PLANS["full"], row) == ""
    assert _quick_padding(PLANS["quick"], {}) == ""
