"""The two per-clip stage functions of an evaluation (picklable: Ray ships them to workers, which build their own
models): ``SwapClip`` makes the output, ``ScoreClip`` decodes, analyses and runs every metric."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HeadSwapBenchError
from ..fileio import atomic_path
from ..reasons import Reason
from ..swappers.external import ClipFiles, OutputSource
from ..types import Video
from .metric import NEEDS_ANALYSIS, NEEDS_DRIVING, NEEDS_IDENTITY, NEEDS_REFERENCE, NEEDS_TARGET, ClipData, SetMetric


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

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_metrics"] = None
        return state

    @property
    def metrics(self) -> list:
        if self._metrics is None:
            from .metric import load_metrics

            self._metrics, _ = load_metrics(self.metric_names, device=self.device, batch_size=self.batch_size,
                                            options=self.metric_options)
        return self._metrics

    def _decode(self, p: dict, needs: set[str]) -> ClipData:
        from ..video import read_image, read_video

        output = read_video(p["output"])
        target = read_video(p["target"]) if NEEDS_TARGET in needs else None
        driving = read_video(p["driving"]) if NEEDS_DRIVING in needs else None
        reference = read_image(p["reference"]) if NEEDS_REFERENCE in needs else None
        if self.image_method:
            output = output if output.num_frames == 1 else middle_frame(output)
            target = middle_frame(target) if target is not None else None
            driving = middle_frame(driving) if driving is not None else None
        # decoded frame counts must agree (headers were checked; a truncated stream shows up only here)
        for other, label in ((target, "target"), (driving, "driving")):
            if other is not None and other.frames.shape != output.frames.shape:
                raise HeadSwapBenchError(
                    f"decoded output is {tuple(output.frames.shape)}, {label} clip is {tuple(other.frames.shape)}")
        return ClipData(clip_id=p["clip_id"], subject_id=p["subject_id"], output=output, target=target,
                        driving=driving, reference=reference)

    def __call__(self, clip_id: str, p: dict) -> dict:
        metrics = self.metrics
        needs: set[str] = set()
        for m in metrics:
            needs |= m.needs
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        data = self._decode(dict(p, clip_id=clip_id), needs)
        timings["decode_s"] = time.perf_counter() - t0
        backends: dict[str, Any] = {}
        if NEEDS_ANALYSIS in needs or NEEDS_IDENTITY in needs:
            from ..face import analyze_image, analyze_video

            t0 = time.perf_counter()
            kw = {"landmarks": self.analysis["landmarks"], "identity": self.analysis["identity"]}
            vkw = dict(kw, identity_every=self.analysis["identity_every"], progress=False)
            data.output_analysis = analyze_video(data.output, **vkw)
            backends = dict(getattr(data.output_analysis, "backends", {}) or {})
            if data.target is not None:
                data.target_analysis = analyze_video(data.target, **vkw)
            if data.driving is not None:
                data.driving_analysis = analyze_video(data.driving, **vkw)
            if data.reference is not None:
                data.reference_analysis = analyze_image(data.reference, **kw)
            timings["analysis_s"] = time.perf_counter() - t0
        scores: dict[str, float] = {}
        errors: dict[str, dict] = {}
        features: dict[str, np.ndarray] = {}
        t0 = time.perf_counter()
        for m in metrics:
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
        timings["metrics_s"] = time.perf_counter() - t0
        if features:
            path = self.features_dir / f"{clip_id}.npz"
            with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                np.savez(fh, **features)
        return {"scores": scores, "errors": errors, "fingerprint": p["fingerprint"], "features": bool(features),
                "backends": backends, "timings": {k: round(v, 4) for k, v in timings.items()}}
