"""Homology-aware evaluation: identity on known pairs, the search against all-pairs alignment, the
cache, the leakage report (check, CLI, Dataset page) and the homology split.

The proteins are synthetic: random ancestors and mutated copies with a known number of
substitutions, so every expected identity is known in advance."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from venus_core import data, doctor, homology, leakage
from venus_core.config import RunConfig

AA = "ACDEFGHIKLMNPQRSTVWY"
SLC = "single_label_classification"
REPO = Path(__file__).resolve().parent.parent


def random_seq(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list(AA), n))


def mutate(seq: str, k: int, rng: np.random.Generator) -> str:
    """``seq`` with ``k`` substitutions, evenly spread between its ends (each to another residue)."""
    out = list(seq)
    for pos in np.linspace(1, len(seq) - 2, k).round().astype(int):
        out[pos] = rng.choice([a for a in AA if a != seq[pos]])
    return "".join(out)


def scatter(seq: str, k: int, rng: np.random.Generator) -> str:
    """``seq`` with ``k`` substitutions at random positions, as evolution leaves them."""
    out = list(seq)
    for pos in rng.choice(len(seq), k, replace=False):
        out[pos] = rng.choice([a for a in AA if a != seq[pos]])
    return "".join(out)


def families(n: int, seed: int, size: tuple[int, int] = (1, 6)) -> tuple[list[str], list[int]]:
    """Families of homologues: a random ancestor (60-140 residues), members with 5-35% of it mutated."""
    rng = np.random.default_rng(seed)
    seqs, family = [], []
    for f in range(n):
        ancestor = random_seq(rng, int(rng.integers(60, 140)))
        for _ in range(int(rng.integers(size[0], size[1] + 1))):
            seqs.append(scatter(ancestor, int(len(ancestor) * rng.uniform(0.05, 0.35)), rng))
            family.append(f)
    return seqs, family


def cfg(tmp: Path, **kw) -> RunConfig:
    return RunConfig().with_values(output_dir=str(tmp / "runs"), **kw)


def write(path: Path, seqs: list[str], labels: list | None = None) -> str:
    labels = labels if labels is not None else [i % 2 for i in range(len(seqs))]
    pd.DataFrame({"aa_seq": seqs, "label": labels}).to_csv(path, index=False)
    return str(path)


def leaky_files(tmp: Path) -> dict[str, str]:
    """train: 30 unrelated proteins; test: 2 near-duplicates (95%, 92%), 1 exact copy, 1 homologue
    at 60% and 6 unrelated proteins; validation: unrelated."""
    rng = np.random.default_rng(7)
    train = [random_seq(rng, 100) for _ in range(30)]
    test = [mutate(train[0], 5, rng), mutate(train[1], 8, rng), train[2], mutate(train[3], 40, rng)]
    test += [random_seq(rng, 100) for _ in range(6)]
    return {
        "train_file": write(tmp / "train.csv", train),
        "valid_file": write(tmp / "valid.csv", [random_seq(rng, 90) for _ in range(8)]),
        "test_file": write(tmp / "test.csv", test),
        "problem_type": SLC,
        "num_labels": 2,
    }


# -- identity: the definition, on pairs whose identity is known -------------------------------------


@pytest.mark.parametrize("k", [0, 6, 12, 24, 36])
def test_identity_of_a_copy_with_k_substitutions_is_one_minus_k_over_length(k):
    rng = np.random.default_rng(k)
    a = random_seq(rng, 120)
    assert homology.identity(a, mutate(a, k, rng)) == pytest.approx((120 - k) / 120)


def test_identity_counts_over_the_shorter_sequence():
    rng = np.random.default_rng(1)
    a = random_seq(rng, 120)
    assert homology.identity(a, a[20:80]) == 1.0  # a fragment is a near-duplicate of its protein
    half = a[:60] + random_seq(rng, 60)  # the same first half, then unrelated
    assert 0.5 <= homology.identity(a, half) < 0.56  # 60 identities / 120, plus chance matches


def test_unrelated_pairs_have_no_identity_but_near_identical_peptides_do():
    rng = np.random.default_rng(2)
    assert homology.identity(random_seq(rng, 100), random_seq(rng, 100)) == 0.0  # chance alignment
    peptide = "ACDKLMNPQR"
    assert homology.identity(peptide, "ACDKLWNPQR") == pytest.approx(0.9)  # too short to be significant
    assert homology.identity(peptide, "ACWKLMNPYR") == 0.0  # 80% of 10 residues: could be chance


# -- the search: exact for small inputs, the prefilter checked against all pairs ---------------------


def brute_force(queries: list[str], targets: list[str]) -> np.ndarray:
    return np.array([[homology.identity(q, t) for t in targets] for q in queries])


def test_search_matches_all_pairs_alignment():
    seqs, _ = families(12, seed=3)
    queries, targets = seqs[::3], [s for i, s in enumerate(seqs) if i % 3]
    hits = homology.search(queries, targets)
    found = np.zeros((len(queries), len(targets)))
    found[hits.query, hits.target] = hits.identity
    assert hits.method == "all pairs aligned"
    np.testing.assert_allclose(found, brute_force(queries, targets), atol=1e-6)


def test_search_keeps_near_identical_peptides_too_short_to_be_significant():
    hits = homology.search(["ACDKLMNPQR"], ["ACWKLMNPYR", "ACDKLWNPQR"])  # 80% and 90% identical
    assert (hits.target.tolist(), hits.identity.tolist()) == ([1], [pytest.approx(0.9)])


def test_prefilter_finds_every_homologue_above_30_percent(monkeypatch):
    monkeypatch.setattr(homology, "EXHAUSTIVE_CELLS", 0)
    monkeypatch.setattr(homology, "MAX_CANDIDATES", 10)  # of ~150 targets
    seqs, _ = families(40, seed=4)
    queries, targets = seqs[::4], [s for i, s in enumerate(seqs) if i % 4]
    hits = homology.search(queries, targets, threads=2)
    assert hits.method.startswith("seed prefilter")
    truth = brute_force(queries, targets)
    best, which = hits.best(len(queries))
    np.testing.assert_allclose(best, truth.max(1), atol=1e-6)
    assert {(q, t) for q, t in zip(*np.nonzero(truth > 0.3), strict=True)} <= set(
        zip(hits.query.tolist(), hits.target.tolist(), strict=True)
    )


def test_self_search_reports_each_pair_once_and_threads_do_not_change_the_result(monkeypatch):
    seqs, _ = families(10, seed=5)
    one, two = homology.search(seqs, threads=1), homology.search(seqs, threads=2)
    assert (one.query < one.target).all()
    for a, b in zip(
        (one.query, one.target, one.identity), (two.query, two.target, two.identity), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    monkeypatch.setattr(homology, "EXHAUSTIVE_CELLS", 0)
    monkeypatch.setattr(homology, "MAX_CANDIDATES", 8)
    pre = homology.search(seqs, threads=2)  # found from both ends, kept once as (lower, higher)
    assert (pre.query < pre.target).all() and len(set(zip(pre.query, pre.target, strict=True))) == len(
        pre.query
    )


def test_progress_comes_from_the_calling_thread_and_stop_ends_the_search(tmp_path, monkeypatch):
    monkeypatch.setattr(homology, "CHUNK", 4)
    monkeypatch.setattr(homology, "CACHE_MIN_SECONDS", 0)
    seqs, _ = families(8, seed=6)
    calls = []
    homology.search(seqs, progress=lambda d, t: calls.append((d, t, threading.current_thread())))
    assert calls[-1][:2] == (len(seqs), len(seqs)) and [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert {c[2] for c in calls} == {threading.current_thread()}
    with pytest.raises(homology.Stopped):
        homology.search(seqs, stop=lambda: True, cache_dir=tmp_path)
    assert not list(tmp_path.iterdir())  # a stopped search caches nothing


def test_cache_hit_on_the_second_search_and_a_new_key_when_the_data_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(homology, "CACHE_MIN_SECONDS", 0)
    seqs, _ = families(6, seed=8)
    first = homology.search(seqs[:5], seqs[5:], cache_dir=tmp_path)
    second = homology.search(seqs[:5], seqs[5:], cache_dir=tmp_path)
    assert not first.cached and second.cached and len(list(tmp_path.glob("*.npz"))) == 1
    np.testing.assert_array_equal(first.identity, second.identity)
    changed = homology.search(seqs[:5], [*seqs[5:-1], seqs[0]], cache_dir=tmp_path)
    assert not changed.cached and len(list(tmp_path.glob("*.npz"))) == 2
    for f in tmp_path.glob("*.npz"):
        f.write_bytes(b"not a cache file")  # a broken file is recomputed (and rewritten)
    again = homology.search(seqs[:5], seqs[5:], cache_dir=tmp_path)
    assert not again.cached and homology.search(seqs[:5], seqs[5:], cache_dir=tmp_path).cached
    np.testing.assert_array_equal(first.identity, again.identity)


# -- the leakage report in the data doctor ------------------------------------------------------------


def test_check_counts_near_duplicate_test_sequences_above_the_threshold(tmp_path):
    report = doctor.check(cfg(tmp_path, **leaky_files(tmp_path)))
    test = report.stats["leakage"]["splits"]["test"]
    assert test["max_identity"][:4] == pytest.approx([0.95, 0.92, 1.0, 0.6], abs=1e-4)
    assert test["max_identity"][4:] == [0.0] * 6 and test["train_row"][:4] == [1, 2, 3, 4]
    (near,) = [w for w in report.warnings if w.kind == leakage.KIND]
    assert "test has 3 of 10 sequences at least 90% identical" in near.message
    assert "1 of them exact copies" in near.message and "row 3 (100.0% to train row 3)" in near.message
    assert near.file.endswith("test.csv")
    # exact duplicates across splits are still reported as before
    assert any(
        w.kind == "leakage" and "test shares 1 sequence with train" in w.message for w in report.warnings
    )
    lower = doctor.check(cfg(tmp_path, leakage_identity=0.5, **leaky_files(tmp_path)))
    (near,) = [w for w in lower.warnings if w.kind == leakage.KIND]
    assert "test has 4 of 10 sequences at least 50% identical" in near.message
    leakage.set_threshold(lower, 0.99)  # the Dataset page moves the threshold without aligning again
    assert [w.message.split(" sequences")[0] for w in lower.warnings if w.kind == leakage.KIND] == [
        "test has 1 of 10"
    ]


def test_leakage_report_can_be_turned_off(tmp_path):
    report = doctor.check(cfg(tmp_path, leakage_report=False, **leaky_files(tmp_path)))
    assert "leakage" not in report.stats and not [w for w in report.warnings if w.kind == leakage.KIND]


def test_second_check_reads_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(homology, "CACHE_MIN_SECONDS", 0)
    c = cfg(tmp_path, **leaky_files(tmp_path))
    first, second = doctor.check(c), doctor.check(c)
    assert not first.stats["leakage"]["cached"] and second.stats["leakage"]["cached"]
    assert first.stats["leakage"]["splits"] == second.stats["leakage"]["splits"]
    assert list((tmp_path / "runs" / homology.CACHE_DIR_NAME).glob("*.npz"))


def test_check_reports_progress_by_stage(tmp_path):
    calls = []
    doctor.check(cfg(tmp_path, **leaky_files(tmp_path)), progress=lambda d, t, s: calls.append((d, t, s)))
    assert calls[-1][:2] == (18, 18) and calls[-1][2].startswith("Leakage report")


def test_cli_check_prints_the_leakage_summary_and_json(tmp_path):
    files = leaky_files(tmp_path)
    flags = [f"--{k}={v}" for k, v in files.items()] + [f"--output_dir={tmp_path / 'runs'}"]
    cmd = [sys.executable, "-m", "venus_core", "check", *flags]
    text = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    assert text.returncode == 0, text.stderr
    assert "Leakage report: highest identity of each protein to train" in text.stdout
    assert "test: 10 proteins; >30%: 4, >50%: 4, >=90%: 3" in text.stdout
    out = subprocess.run([*cmd, "--json"], capture_output=True, text=True, cwd=REPO, check=False)
    stats = json.loads(out.stdout)["stats"]["leakage"]
    assert stats["threshold"] == 0.9 and len(stats["splits"]["test"]["max_identity"]) == 10


# -- the homology split -------------------------------------------------------------------------------


def family_file(tmp: Path, n_families: int = 60, seed: int = 11) -> tuple[str, list[str], list[int]]:
    seqs, family = families(n_families, seed)
    labels = [f % 3 for f in family]
    return write(tmp / "all.csv", seqs, labels), seqs, family


def split_of(raw: data.RawData) -> dict[str, list[str]]:
    return {name: df["aa_seq"].tolist() for name, df in raw.splits.items()}


def test_homology_split_keeps_related_proteins_out_of_test(tmp_path):
    path, seqs, family = family_file(tmp_path)
    c = cfg(tmp_path, train_file=path, problem_type=SLC, split_method="homology", split_identity=0.3)
    raw = data.load_raw(c)
    parts = split_of(raw)
    assert sum(map(len, parts.values())) == len(seqs)
    truth = brute_force(parts["test"] + parts["validation"], parts["train"])
    assert truth.max() <= 0.3  # no test or validation protein more than 30% identical to train
    where = {s: name for name, split in parts.items() for s in split}
    assert all(len({where[s] for s, f in zip(seqs, family, strict=True) if f == g}) == 1 for g in set(family))
    for name, share in (("train", 0.8), ("validation", 0.1), ("test", 0.1)):
        assert abs(len(parts[name]) / len(seqs) - share) < 0.05
    assert "split by homology: proteins more than 30% identical stay in one split" in raw.derived["test"]
    assert "stratified by label" in raw.derived["test"]
    overall = pd.Series([f % 3 for f in family]).value_counts(normalize=True)
    for name in ("train", "test"):  # each class keeps about its share in each split
        share = raw.splits[name]["label"].astype(int).value_counts(normalize=True)
        assert (share - overall).abs().max() < 0.1, (name, share.to_dict())


def test_homology_split_is_seeded(tmp_path):
    path, _, _ = family_file(tmp_path)
    c = cfg(tmp_path, train_file=path, problem_type=SLC, split_method="homology")
    assert split_of(data.load_raw(c)) == split_of(data.load_raw(c))
    assert split_of(data.load_raw(c)) != split_of(data.load_raw(c.with_values(seed=1)))


def test_homology_split_through_the_prefilter_is_checked_by_brute_force(tmp_path, monkeypatch):
    monkeypatch.setattr(homology, "EXHAUSTIVE_CELLS", 0)
    monkeypatch.setattr(homology, "MAX_CANDIDATES", 12)
    path, seqs, _ = family_file(tmp_path, n_families=50, seed=12)
    raw = data.load_raw(cfg(tmp_path, train_file=path, problem_type=SLC, split_method="homology"))
    parts = split_of(raw)
    assert brute_force(parts["test"], parts["train"]).max() <= 0.3


def test_the_check_against_train_moves_what_the_all_against_all_search_missed(tmp_path, monkeypatch):
    real = homology.search

    def blind(queries, targets=None, **kw):  # an all-against-all search that finds nothing
        hits = real(queries, targets, **kw)
        return (
            hits
            if targets is not None
            else homology.Hits(*(a[:0] for a in (hits.query, hits.target, hits.identity)))
        )

    monkeypatch.setattr(homology, "search", blind)
    path, seqs, _ = family_file(tmp_path)
    raw = data.load_raw(cfg(tmp_path, train_file=path, problem_type=SLC, split_method="homology"))
    parts = split_of(raw)
    assert brute_force(parts["test"] + parts["validation"], parts["train"]).max() <= 0.3
    moved = int(raw.derived["test"].split("; ")[-1].split()[0])
    assert moved > 0 and raw.derived["test"].endswith("proteins moved to train by the check against train")


def test_homology_re_splits_given_splits_and_removes_the_leak(tmp_path):
    files = leaky_files(tmp_path)
    c = cfg(tmp_path, split_method="homology", split_ratios="0.6,0.2,0.2", **files)
    report = doctor.check(c)
    assert report.ok, report.format()
    assert any("were pooled (48 rows) and re-split" in w.message for w in report.warnings)
    test = report.stats["leakage"]["splits"]["test"]["max_identity"]
    assert max(test) <= 0.3 and not [w for w in report.warnings if w.kind in (leakage.KIND, "leakage")]


def test_split_options_are_recorded_in_the_run_config(tmp_path):
    c = cfg(tmp_path, train_file="x.csv", split_method="homology", split_identity=0.4, leakage_identity=0.8)
    saved = json.loads(c.to_json())["data"]
    assert (saved["split_method"], saved["split_identity"], saved["leakage_identity"]) == (
        "homology",
        0.4,
        0.8,
    )
    assert RunConfig.from_dict(json.loads(c.to_json())) == c
    from venus_core.cli import preview_command

    command = preview_command(c)
    assert "--split_method homology \\\n  --split_identity 0.4" in command


@pytest.mark.parametrize(
    "values, phrase",
    [
        ({"split_method": "cluster"}, "split_method 'cluster' is not one of random, homology"),
        ({"split_identity": 30}, "split_identity must be a fraction in (0, 1] (a fraction: 0.3 for 30%)"),
        ({"split_identity": 0}, "split_identity must be a fraction in (0, 1]; got 0"),
        ({"leakage_identity": -0.5}, "leakage_identity must be a fraction in (0, 1]; got -0.5"),
    ],
)
def test_bad_split_options_are_refused(tmp_path, values, phrase):
    assert any(phrase in p for p in cfg(tmp_path, **values).problems())


def test_cli_check_refuses_a_percent_split_identity(tmp_path):
    flags = [f"--{k}={v}" for k, v in leaky_files(tmp_path).items()]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "venus_core",
            "check",
            *flags,
            "--split_identity",
            "30",
            "--no-leakage_report",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert out.returncode == 1
    assert "ERROR: split_identity must be a fraction in (0, 1] (a fraction: 0.3 for 30%)" in out.stdout


def test_too_few_proteins_for_a_homology_split_is_an_error(tmp_path):
    rng = np.random.default_rng(0)
    a = random_seq(rng, 80)
    path = write(tmp_path / "one.csv", [a, mutate(a, 4, rng), mutate(a, 8, rng)])  # one family
    report = doctor.check(cfg(tmp_path, train_file=path, problem_type=SLC, split_method="homology"))
    (error,) = [e for e in report.errors if e.kind == "empty_split"]
    assert "too few clusters of proteins (1, the largest of 3) to derive validation and test" in error.message
    assert "raise split_identity" in error.fix


# -- the Dataset page --------------------------------------------------------------------------------


def leaky_page(tmp_path: Path, monkeypatch) -> AppTest:
    """The Dataset page set to a folder with the leaky splits (custom dataset)."""
    from ui import state

    monkeypatch.setenv(state.SAVE_DIR_ENV, str(tmp_path / "runs"))
    folder = tmp_path / "leaky"
    folder.mkdir()
    files = leaky_files(folder)
    for split, key in (("train", "train_file"), ("validation", "valid_file"), ("test", "test_file")):
        Path(files[key]).rename(folder / f"{split}.csv")
    at = AppTest.from_file(str(REPO / "Home.py"), default_timeout=60)
    at.run()
    at.switch_page("app_pages/dataset.py").run()
    at.radio(key="w.dataset_mode").set_value("Use Custom Dataset").run()
    at.text_input(key="w.dataset").input(str(folder)).run()
    return at


def test_dataset_page_shows_the_identity_histogram_and_near_duplicate_warning(tmp_path, monkeypatch):
    from ui import keys

    at = leaky_page(tmp_path, monkeypatch)
    at.button(key="preview_dataset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    (hist,) = [f for f in figures if "Identity to the training set" in json.dumps(f["layout"].get("title"))]
    assert sorted(x for trace in hist["data"] for x in trace["x"]) == pytest.approx([60, 92, 95, 100])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test ≥ 90% identical"] == "3 of 10"
    assert any("3 test protein(s)" in w.value for w in at.warning)
    at.slider(key="w.leakage_identity").set_value(50).run()  # the preview stays; the counts follow
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test ≥ 50% identical"] == "4 of 10"
    assert at.session_state[keys.CFG].data.leakage_identity == 0.5
    assert any("test has 4 of 10 sequences at least 50% identical" in m.value for m in at.markdown)


def test_progress_bar_shows_the_stage_and_a_stop_button():
    def page():
        from ui.leakage import ProgressBar

        bar = ProgressBar()
        bar(0, 40, "Leakage report")
        bar(30, 40, "Leakage report")  # throttled: under 0.3 s after the first update
        bar(40, 40, "Leakage report")  # the last update is always drawn

    at = AppTest.from_function(page).run()
    (progress,) = at.get("progress")
    assert progress.proto.value == 100 and progress.proto.text == "Leakage report: 40 of 40 proteins"
    assert at.button(key="stop_check").label == "Stop"


def test_dataset_page_splits_by_homology(tmp_path, monkeypatch):
    from ui import keys

    at = leaky_page(tmp_path, monkeypatch)
    at.selectbox(key="w.split_method").set_value("homology").run()
    at.slider(key="w.split_identity").set_value(40).run()
    assert (
        at.session_state[keys.CFG].data.split_method,
        at.session_state[keys.CFG].data.split_identity,
    ) == (
        "homology",
        0.4,
    )
    at.button(key="preview_dataset").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("split by homology: proteins more than 40% identical" in m.value for m in at.markdown)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test ≥ 90% identical"].startswith("0 of") and metrics["Errors"] == "0"
