"""The two per-clip stage functions of an evaluation (picklable: Ray ships them to workers, which build their own
models): ``SwapClip`` makes the output, ``ScoreClip`` decodes, analyses and runs every metric; and the
``PrefetchExecutor`` that runs the face analyses of the next clips in a process pool (``--workers N``) while
``ScoreClip`` runs the metrics of the current one in the main process.

What a worker does (``analyse_clip``): decode output / target / driving exactly as ``ScoreClip`` does, then
FaceMesh landmarks, pose and expression, and the identity embedding when the identity backend is CPU-only
(dlib); a network backend (AdaFace, ArcFace) embeds in the main process instead, batched on ``--device``, from
the worker's landmarks (``analyze_video(landmarks_from=...)``: same crops, same batches, so the same numbers).
Each worker builds its backends once (the face modules keep one instance per process). What the worker
returns is what ``analyze_video`` would have computed in the main process, and it lands in the content-hash
analysis cache too; when a worker fails for any reason the main process analyses the clip itself, so a bad
file fails with the same reason code as with one worker. The pool is started with the ``spawn`` context
(mediapipe and torch are not fork-safe) and holds at most ``workers + 1`` clips' analyses at a time."""

from __future__ import annotations

import logging
import math
import multiprocessing
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import HeadSwapBenchError
from ..fileio import atomic_path
from ..reasons import Reason
from ..runner import Executor, _run_one
from ..swappers.external import ClipFiles, OutputSource
from ..types import Video
from .metric import NEEDS_ANALYSIS, NEEDS_DRIVING, NEEDS_IDENTITY, NEEDS_REFERENCE, NEEDS_TARGET, ClipData, SetMetric

log = logging.getLogger("headswapbench.evaluate")


class NoOutputError(HeadSwapBenchError):
    code = Reason.NO_OUTPUT


class SwapClip:
    """Stage 1: write ``outputs/<clip_id>.mp4`` for one clip through the method's source."""

    def __init__(self, source: OutputSource, outputs_dir: Path):
        self.source, self.outputs_dir = source, outputs_dir

    def __call__(self, clip_id: str, files: ClipFiles) -> dict:
        out = self.source.output_path(clip_id, self.outputs_dir)
        t0 = time.perf_counter()
        self.source.produce(files, out)
        if not out.is_file():
            raise NoOutputError(f"the method wrote no output for clip '{clip_id}'")
        return {"output": out.name, "bytes": out.stat().st_size, "swap_s": round(time.perf_counter() - t0, 4)}


def middle_frame(video: Video) -> Video:
    """The middle frame (index T // 2) as a one-frame video: how the protocol scores image methods."""
    m = video.num_frames // 2
    return Video(video.frames[m:m + 1], video.fps)


def decode_video(path: str | Path, image_method: bool, role: str) -> Video:
    """One video of a clip as every metric sees it (the middle frame for an image method, output included
    unless it already has one frame)."""
    from ..video import read_video

    video = read_video(path)
    if image_method and (role != "output" or video.num_frames != 1):
        video = middle_frame(video)
    return video


def analyse_clip(job: dict, paths: dict[str, str]) -> dict[str, Any]:
    """Worker side: role → ``ClipAnalysis`` of each video in ``paths`` (decoded as ``ScoreClip`` decodes it).

    ``job``: landmarks, identity (the backend embedded here, None when the main process embeds or no metric
    needs it), identity_every, image_method, batch_size, and ``complete``: the full analysis settings
    (``face.analysis_backends``) under which a cached, complete analysis is returned as is."""
    from ..face.analysis import analyze_video, cached_analysis

    out: dict[str, Any] = {}
    for role, path in paths.items():
        video = decode_video(path, job["image_method"], role)
        hit = cached_analysis(video, job["complete"]) if job.get("complete") else None
        out[role] = hit if hit is not None else analyze_video(
            video, landmarks=job["landmarks"], identity=job["identity"], identity_every=job["identity_every"],
            progress=False, batch_size=job["batch_size"])
    return out


def _worker_init() -> None:
    """A worker process: one thread per library (the pool is the parallelism)."""
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - opencv is a dependency
        pass


class PrefetchExecutor(Executor):
    """Runs a stage's items in order in this process, while a pool of ``workers`` processes computes what
    ``stage.fn.prefetch(item_id, payload)`` asks for the next ``workers`` items (``stage.fn.prefetched``
    receives each future before its item runs). Memory: at most ``workers + 1`` results are held."""

    def __init__(self, workers: int):
        if workers < 2:
            raise HeadSwapBenchError(f"PrefetchExecutor needs at least 2 workers, got {workers}")
        self.workers = workers

    def map(self, stage, items, on_record):
        items = list(items)
        fn = stage.fn
        if not items:
            return
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init)
        futures: dict[int, Future] = {}

        def submit(k: int) -> None:
            job = fn.prefetch(*items[k])
            if job is not None:
                try:
                    futures[k] = pool.submit(*job)
                except Exception as exc:  # noqa: BLE001 - a broken pool: the main process does the work
                    log.warning("face-analysis worker pool unavailable (%s); analysing in the main process", exc)

        try:
            for k in range(min(self.workers + 1, len(items))):
                submit(k)
            for k, (item_id, payload) in enumerate(items):
                if k + self.workers + 1 < len(items):
                    submit(k + self.workers + 1)
                if k in futures:
                    fn.prefetched[item_id] = futures.pop(k)
                on_record(_run_one(fn, item_id, payload))
        finally:
            for f in futures.values():
                f.cancel()
            fn.prefetched.clear()
            pool.shutdown(wait=True, cancel_futures=True)


class ScoreClip:
    """Stage 3: decode each video once, analyse each once (cached by content), run every per-clip metric and
    store set-level features. Metric objects built in the driver are reused in-process; in a Ray worker they
    are rebuilt once per process (``__getstate__`` drops them).

    ``analysis``: ``{"landmarks": name, "identity": name | None, "identity_every": ...}``; identity None when
    no metric needs it (or its model is missing). Output and target get the same ``identity_every`` and have
    the same frame count, so their identity embeddings sit at the same frame indices (frame-paired identity)."""

    def __init__(self, metric_names: list[str], features_dir: Path, device: str, batch_size: int,
                 metric_options: dict, analysis: dict, image_method: bool = False, metrics: list | None = None):
        self.metric_names = metric_names
        self.features_dir = features_dir
        self.device, self.batch_size, self.metric_options = device, batch_size, metric_options
        self.analysis = analysis
        self.image_method = image_method
        self._metrics = metrics
        self.prefetched: dict[str, Future] = {}  # clip id → a worker's analyses (PrefetchExecutor)
        self._job: dict | None = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_metrics"], state["prefetched"], state["_job"] = None, {}, None
        return state

    def _needs(self) -> set[str]:
        needs: set[str] = set()
        for m in self.metrics:
            needs |= m.needs
        return needs

    def prefetch(self, clip_id: str, p: dict) -> tuple[Callable, dict, dict] | None:
        """What a worker computes ahead for this clip: ``(analyse_clip, job, paths)``, or None when no
        metric needs a face analysis."""
        needs = self._needs()
        if not (NEEDS_ANALYSIS in needs or NEEDS_IDENTITY in needs):
            return None
        if self._job is None:
            from ..face.analysis import analysis_backends
            from ..face.identity import get_identity_model

            identity = self.analysis["identity"]
            here = identity is not None and get_identity_model(identity, self.device).cpu_only
            complete = analysis_backends(self.analysis["landmarks"], identity, self.analysis["identity_every"],
                                         self.device)
            self._job = {"landmarks": self.analysis["landmarks"], "identity": identity if here else None,
                         "identity_every": self.analysis["identity_every"], "image_method": self.image_method,
                         "batch_size": self.batch_size, "complete": complete}
        paths = {"output": p["output"]}
        if NEEDS_TARGET in needs:
            paths["target"] = p["target"]
        if NEEDS_DRIVING in needs:
            paths["driving"] = p["driving"]
        return analyse_clip, self._job, paths

    def _take_prefetched(self, clip_id: str) -> dict:
        fut = self.prefetched.pop(clip_id, None)
        if fut is None:
            return {}
        try:
            return fut.result()
        except Exception as exc:  # noqa: BLE001 - recomputed here: the same error then fails the clip, coded
            log.debug("worker analysis of %s failed (%s: %s); analysing in the main process", clip_id,
                      type(exc).__name__, exc)
            return {}

    @property
    def metrics(self) -> list:
        if self._metrics is None:
            from .metric import load_metrics

            self._metrics, _ = load_metrics(self.metric_names, device=self.device, batch_size=self.batch_size,
                                            options=self.metric_options)
        return self._metrics

    def _decode(self, p: dict, needs: set[str]) -> ClipData:
        from ..video import read_image

        output = decode_video(p["output"], self.image_method, "output")
        target = decode_video(p["target"], self.image_method, "target") if NEEDS_TARGET in needs else None
        driving = decode_video(p["driving"], self.image_method, "driving") if NEEDS_DRIVING in needs else None
        reference = read_image(p["reference"]) if NEEDS_REFERENCE in needs else None
        # decoded frame counts must agree (headers were checked; a truncated stream shows up only here)
        for other, label in ((target, "target"), (driving, "driving")):
            if other is not None and other.frames.shape != output.frames.shape:
                raise HeadSwapBenchError(
                    f"decoded output is {tuple(output.frames.shape)}, {label} clip is {tuple(other.frames.shape)}")
        return ClipData(clip_id=p["clip_id"], subject_id=p["subject_id"], output=output, target=target,
                        driving=driving, reference=reference)

    def __call__(self, clip_id: str, p: dict) -> dict:
        metrics = self.metrics
        needs = self._needs()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        pre = self._take_prefetched(clip_id)  # waits for this clip's worker (if any) before decoding
        if pre:
            timings["worker_wait_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        data = self._decode(dict(p, clip_id=clip_id), needs)
        timings["decode_s"] = time.perf_counter() - t0
        backends: dict[str, Any] = {}
        if NEEDS_ANALYSIS in needs or NEEDS_IDENTITY in needs:
            from ..face import analyze_image, analyze_video

            t0 = time.perf_counter()
            kw = {"landmarks": self.analysis["landmarks"], "identity": self.analysis["identity"],
                  "device": self.device}
            vkw = dict(kw, identity_every=self.analysis["identity_every"], progress=False, batch_size=self.batch_size)
            data.output_analysis = analyze_video(data.output, landmarks_from=pre.get("output"), **vkw)
            backends = dict(getattr(data.output_analysis, "backends", {}) or {})
            if data.target is not None:
                data.target_analysis = analyze_video(data.target, landmarks_from=pre.get("target"), **vkw)
            if data.driving is not None:
                data.driving_analysis = analyze_video(data.driving, landmarks_from=pre.get("driving"), **vkw)
            if data.reference is not None:
                data.reference_analysis = analyze_image(data.reference, **kw)
            timings["analysis_s"] = time.perf_counter() - t0
            for role in ("output", "target", "driving"):
                a = getattr(data, f"{role}_analysis", None)
                for k, v in (getattr(a, "timings", None) or {}).items():
                    if k in ("landmarks_s", "identity_s") and (a.source or {}).get("cache") != "hit":
                        timings[f"{role}_{k}"] = float(v)
        scores: dict[str, float] = {}
        errors: dict[str, dict] = {}
        features: dict[str, np.ndarray] = {}
        t0 = time.perf_counter()
        for m in metrics:
            t_m = time.perf_counter()
            try:
                if isinstance(m, SetMetric):
                    for k, v in m.extract(data).items():
                        features[f"{m.name}/{k}"] = np.asarray(v)
                else:
                    for k, v in m.compute(data).items():
                        scores[k] = float(v)
            except Exception as exc:  # noqa: BLE001 - one metric failing on one clip: NaN keys + coded reason
                errors[m.name] = {"code": Reason.METRIC_FAILED.value, "message": f"{type(exc).__name__}: {exc}"}
                if not isinstance(m, SetMetric):
                    scores.update({k: math.nan for k in m.keys})
            timings[f"metric_{m.name}_s"] = time.perf_counter() - t_m  # per metric: the benchmark's breakdown
        timings["metrics_s"] = time.perf_counter() - t0
        if features:
            path = self.features_dir / f"{clip_id}.npz"
            with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                np.savez(fh, **features)
        return {"scores": scores, "errors": errors, "fingerprint": p["fingerprint"], "features": bool(features),
                "backends": backends, "timings": {k: round(v, 4) for k, v in timings.items()}}
