"""bench.scale's core on a tiny set: every stage is measured, with positive numbers."""

from __future__ import annotations

from bench import scale


def test_scale_report_has_every_stage(tmp_path, tiny_esm):
    res = scale.measure(50, tmp_path, tiny_esm, isolate=False)
    assert res["failed"] == []
    for _, key in scale.ROWS:
        stage = res[key]
        assert stage["seconds"] > 0, key
        assert stage["peak_mb"] > 0, key
        assert scale.rate(stage) > 0, key
    assert res["tokenise"]["residues"] == res["caching"]["residues"] == res["inference"]["residues"]
    table = scale.render([res, res])
    assert "cache build" in table and "inference_mode" in table and "tokenising" in table
