"""The embedding map: a 2-D picture of what the chosen model sees in a dataset.

Each protein becomes the model's mean-pooled embedding (the vector a ``freeze`` run with mean
pooling trains its head on), projected to 2-D with PCA (or UMAP where ``umap-learn`` is
installed). The vectors come from the frozen-embedding cache (``embedding_cache.load_or_build``)
built exactly as the trainer builds it: the same model builder, tokeniser, precision and save
directory. So:

- ``whole=True`` embeds every protein of every split: the very cache a later ``freeze`` run with
  mean pooling of the same model and data reuses (and the map reuses the cache such a run built);
  the map then shows a seeded sample of ``points`` of them (PCA is fitted on all).
- ``whole=False`` (the default for datasets larger than ``points``) embeds only a seeded sample of
  ``points`` proteins, spread over the splits in proportion to their sizes. Its cache is keyed by
  the sample, so the same map opens again at once, but a training run cannot use it.

``compute`` does the work in the caller's thread; ``MapJob`` runs it in a background thread with
progress, an ETA and a stop flag, for the dashboard.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from venus_core.config import RunConfig
from venus_core.errors import VenusError
from venus_core.i18n import N_

DEFAULT_POINTS = 2_000
POINT_CHOICES = (500, 1_000, 2_000, 5_000, 10_000, 20_000)
MAX_POINTS = POINT_CHOICES[-1]
PROJECTIONS = ("pca", "umap")


def umap_available() -> bool:
    return importlib.util.find_spec("umap") is not None


@dataclass(frozen=True)
class MapRequest:
    points: int = DEFAULT_POINTS  # proteins plotted (and embedded, unless ``whole``)
    whole: bool = False  # embed every protein: the cache a freeze run reuses
    projection: str = "pca"  # or "umap"


@dataclass
class Progress:
    stage: str
    done: int = 0
    total: int = 0
    elapsed: float = 0.0  # seconds since the stage began
    eta: float | None = None  # seconds left in the stage, when it can be estimated
    work: float | None = None  # share of the stage's work done, where it is not done / total


@dataclass
class MapResult:
    """The plotted points (columns ``split``, ``position`` in ``Explorer.table(split)``, ``x``,
    ``y``) and what was done to get them."""

    points: pd.DataFrame
    projection: str
    axes: tuple[str, str]
    n_embedded: int
    n_total: int
    whole: bool
    cache: str  # "reused" or "built"
    cache_log: list[str]  # what the cache said (where it is)
    model: str
    seconds: float


def map_config(cfg: RunConfig, task: Any) -> RunConfig:
    """The run a map stands in for: ``freeze`` with mean pooling, on the task's labels."""
    return cfg.with_values(
        training_method="freeze",
        pooling_method="mean",
        problem_type=task.problem_type,
        num_labels=task.num_labels,
    )


def sample_positions(sizes: dict[str, int], n: int, seed: int) -> dict[str, np.ndarray]:
    """Up to ``n`` row positions per split, in proportion to the splits' sizes (largest
    remainders), each split's sorted; seeded. Everything when the splits hold ``n`` or fewer."""
    total = sum(sizes.values())
    if total <= n:
        return {s: np.arange(k) for s, k in sizes.items()}
    exact = {s: n * k / total for s, k in sizes.items()}
    take = {s: int(x) for s, x in exact.items()}
    for s in sorted(exact, key=lambda s: exact[s] - take[s], reverse=True)[: n - sum(take.values())]:
        take[s] += 1
    rng = np.random.default_rng(seed)
    return {s: np.sort(rng.choice(sizes[s], take[s], replace=False)) for s in sizes}


def _check_projection(projection: str) -> None:
    if projection not in PROJECTIONS:
        raise VenusError(
            N_("Unknown projection '{projection}'; choose one of {projections}.").format(
                projection=projection, projections=", ".join(PROJECTIONS)
            )
        )
    if projection == "umap" and not umap_available():
        raise VenusError(
            N_("UMAP needs the umap-learn package (pip install umap-learn); PCA works without it.")
        )


def compute(
    task: Any,
    cfg: RunConfig,
    request: MapRequest,
    *,
    stop: Callable[[], bool] = lambda: False,
    progress: Callable[[Progress], None] = lambda p: None,
) -> MapResult | None:
    """Embed (or read from the cache) and project; None when ``stop()`` interrupted it."""
    import torch

    from venus_core import embedding_cache
    from venus_core.devices import pick_device
    from venus_core.modeling import build_model, load_pretrained
    from venus_core.pipeline import encode_frame, frozen_pass

    _check_projection(request.projection)
    t0 = time.monotonic()
    cfg = map_config(cfg, task)
    sizes = {s: len(df) for s, df in task.splits.items()}
    plotted = sample_positions(sizes, max(1, min(request.points, MAX_POINTS)), cfg.train.seed)
    embedded = {s: np.arange(k) for s, k in sizes.items()} if request.whole else plotted
    embedded = {s: p for s, p in embedded.items() if len(p)}
    device = pick_device(cfg.train.device)
    progress(Progress(N_("Loading the model")))
    loaded = load_pretrained(cfg, device)
    splits = {}
    n_embedded = sum(len(p) for p in embedded.values())
    for s, pos in embedded.items():
        if stop():
            return None
        progress(
            Progress(
                N_("Tokenising {split}").format(split=s), sum(len(splits[k]) for k in splits), n_embedded
            )
        )
        frame = task.splits[s] if len(pos) == sizes[s] else task.splits[s].iloc[pos].reset_index(drop=True)
        splits[s] = encode_frame(frame, loaded.tokenizer, cfg, None)
    model = build_model(cfg, device, 1, loaded).model
    stage_t0 = time.monotonic()
    log: list[str] = []
    batches = [0]

    def on_batch(done: int, total: int, work: float) -> None:
        # The time left follows the share of the work done (the longest proteins go first).
        batches[0] += 1
        elapsed = time.monotonic() - stage_t0
        left = elapsed / work * (1.0 - work) if work > 0 else None
        progress(Progress(N_("Embedding"), done, total, elapsed, left, work))

    features = embedding_cache.build(
        model, splits, cfg, device, stop, log.append, on_batch, batches=lambda split: frozen_pass(split, cfg)
    )
    if features is None:
        return None
    del model, loaded
    if device.type == "cuda":
        torch.cuda.empty_cache()
    progress(Progress(N_("Projecting"), n_embedded, n_embedded))
    vectors = {s: f.pooled.numpy() for s, f in features.items()}
    points, axes = _project(vectors, embedded, plotted, request.projection, cfg.train.seed)
    return MapResult(
        points=points,
        projection=request.projection,
        axes=axes,
        n_embedded=n_embedded,
        n_total=sum(sizes.values()),
        whole=n_embedded == sum(sizes.values()),
        cache="built" if batches[0] else "reused",  # the builder reports progress only when it runs
        cache_log=log,
        model=cfg.model.plm_model,
        seconds=time.monotonic() - t0,
    )


def _project(
    vectors: dict[str, np.ndarray],
    embedded: dict[str, np.ndarray],
    plotted: dict[str, np.ndarray],
    projection: str,
    seed: int,
) -> tuple[pd.DataFrame, tuple[str, str]]:
    """2-D coordinates of the ``plotted`` positions; PCA is fitted on every embedded vector."""
    rows, chosen = [], []
    for s, pos in plotted.items():
        if s not in vectors or not len(pos):
            continue
        at = np.searchsorted(embedded[s], pos)  # plotted positions within the embedded ones
        chosen.append(vectors[s][at])
        rows.append(pd.DataFrame({"split": s, "position": pos}))
    points = pd.concat(rows, ignore_index=True)
    x = np.concatenate(chosen).astype(np.float64)
    if projection == "umap":
        import umap

        reducer = umap.UMAP(n_components=2, random_state=seed, n_neighbors=max(2, min(15, len(x) - 1)))
        xy = reducer.fit_transform(x) if len(x) > 3 else np.zeros((len(x), 2))
        axes = ("UMAP 1", "UMAP 2")
    else:
        xy, axes = _pca(np.concatenate([vectors[s] for s in embedded]).astype(np.float64), x)
    points["x"], points["y"] = xy[:, 0], xy[:, 1]
    return points, axes


def _pca(fit_on: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, tuple[str, str]]:
    from sklearn.decomposition import PCA

    k = min(2, len(fit_on), fit_on.shape[1])
    if len(fit_on) < 2 or k < 1:
        return np.zeros((len(x), 2)), ("PC1", "PC2")
    pca = PCA(n_components=k).fit(fit_on)
    xy = pca.transform(x)
    if k < 2:
        xy = np.hstack([xy, np.zeros((len(x), 1))])
    share = list(pca.explained_variance_ratio_) + [0.0]
    pc = N_("{axis} ({share:.1%} of variance)")
    return xy, (pc.format(axis="PC1", share=share[0]), pc.format(axis="PC2", share=share[1]))


@dataclass
class MapJob:
    """``compute`` in a daemon thread. The page reads ``progress``; ``stop()`` ends it at the next
    batch; ``result``, ``error`` or ``stopped`` say how it ended."""

    key: Any
    run: Callable[[Callable[[], bool], Callable[[Progress], None]], MapResult | None]
    progress: Progress = field(default_factory=lambda: Progress(N_("Starting")))
    result: MapResult | None = None
    error: str | None = None
    stopped: bool = False
    started: float = field(default_factory=time.time)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> MapJob:
        self._thread = threading.Thread(target=self._main, name="venus-embedding-map", daemon=True)
        self._thread.start()
        return self

    def _main(self) -> None:
        try:
            self.result = self.run(self._stop.is_set, self._report)
            self.stopped = self.result is None
        except VenusError as e:
            self.error = str(e)
        except Exception as e:  # noqa: BLE001 - the page shows it; the server goes on
            self.error = f"{type(e).__name__}: {e}"

    def _report(self, p: Progress) -> None:
        self.progress = p

    def stop(self) -> None:
        self._stop.set()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


class MapJobs:
    """The maps of one server process, by key (data, model, settings): a second tab asking for
    the same map finds the running or finished one. One computes at a time."""

    KEEP = 8

    def __init__(self) -> None:
        self._jobs: dict[Any, MapJob] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> MapJob | None:
        with self._lock:
            return self._jobs.get(key)

    def running(self) -> MapJob | None:
        with self._lock:
            return next((j for j in self._jobs.values() if j.is_alive()), None)

    def start(self, key: Any, run: Callable) -> MapJob:
        """A new job for ``key`` (a finished one with that key is replaced); ``VenusError`` while
        another map computes."""
        with self._lock:
            busy = next((j for j in self._jobs.values() if j.is_alive()), None)
            if busy is not None:
                raise VenusError(N_("Another embedding map is being computed; wait for it or stop it first."))
            self._jobs.pop(key, None)
            while len(self._jobs) >= self.KEEP:
                self._jobs.pop(next(iter(self._jobs)))
            job = self._jobs[key] = MapJob(key, run).start()
            return job

    def forget(self, key: Any) -> None:
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not job.is_alive():
                del self._jobs[key]

    def reset(self) -> None:
        """Stop and forget every job (tests)."""
        with self._lock:
            jobs, self._jobs = list(self._jobs.values()), {}
        for j in jobs:
            j.stop()
            j.join(30)


def annotate(points: pd.DataFrame, explorer: Any) -> pd.DataFrame:
    """The map's points with what the hover and the CSV say of each protein: ``id``, ``row``,
    ``length``, ``label`` (and ``value`` for regression), from ``explore.Explorer`` tables."""
    parts = []
    for split, part in points.groupby("split", sort=False):
        t = explorer.table(split).iloc[part["position"].to_numpy()]
        cols = ["id", "row", "length", "label", *(["value"] if "value" in t else [])]
        extra = t[cols].reset_index(drop=True)
        parts.append(pd.concat([part.reset_index(drop=True), extra], axis=1))
    out = pd.concat(parts, ignore_index=True)
    return out[["split", "row", "id", "length", "label", *(["value"] if "value" in out else []), "x", "y"]]


def whole_cache_likely(cfg: RunConfig, sizes: dict[str, int]) -> bool:
    """Whether the save directory holds a pooled cache with exactly these split sizes: probably a
    freeze run's (or an earlier map's) of this data, so embedding everything costs nothing. Only a
    hint for the default: ``compute`` checks the real fingerprint."""
    import json
    from pathlib import Path

    from venus_core.embedding_cache import CACHE_DIR_NAME

    root = Path(cfg.output.output_dir).expanduser() / CACHE_DIR_NAME
    try:
        for meta in root.glob("*/meta.json"):
            facts = json.loads(meta.read_text())
            if facts.get("pooled") and facts.get("splits") == sizes:
                return True
    except (OSError, ValueError, AttributeError):
        return False
    return False
