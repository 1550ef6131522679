"""One pass over a clip → everything the benchmark needs about its main subject's face, per frame.

`analyze_video` decodes the clip once (streaming, so memory stays flat), runs the landmark backend with
main-subject tracking on every frame, derives head pose and the expression descriptor from the landmarks,
and embeds the identity on a documented sample of frames. Results are cached per content hash (see
`cache.py`), so no clip is analysed twice. `analyze_image` does the same for one photo."""

from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FaceNotFoundError, HeadSwapBenchError
from ..fileio import atomic_path, atomic_write_json
from ..types import Image, Video
from .expression import layout as expression_layout
from .expression import pose_and_expression
from .identity import get_identity_model
from .landmarks import LandmarkModel, get_landmark_model
from .topology import NUM_LANDMARKS

ANALYSIS_VERSION = 1  # bump when any derived quantity changes meaning (invalidates caches)
MAX_IDENTITY_SAMPLES = 16


@dataclass
class ClipAnalysis:
    """Per-frame face analysis of one clip. Arrays are indexed by frame; frames without the subject's face
    have face_found False and NaN in boxes/landmarks/pose/expression."""

    fps: float
    width: int
    height: int
    face_found: np.ndarray  # bool [T]
    boxes: np.ndarray  # float32 [T, 4] x0, y0, x1, y1 pixels
    landmarks: np.ndarray  # float32 [T, 478, 3] pixels (z in x's pixel scale)
    pose: np.ndarray | None = None  # float32 [T, 3] yaw, pitch, roll degrees (see pose.py)
    expression: np.ndarray | None = None  # float32 [T, D] (see expression.py)
    identity: np.ndarray | None = None  # float32 [N, E] L2-normalised
    identity_frames: np.ndarray | None = None  # int64 [N] frame index of each identity row
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # backend extras, e.g. blendshapes [T, 52]
    backends: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return len(self.face_found)

    @property
    def frames_with_face(self) -> int:
        return int(np.count_nonzero(self.face_found))

    def mean_identity(self) -> np.ndarray | None:
        """Mean of the sampled embeddings, re-normalised: the clip's identity vector."""
        if self.identity is None or len(self.identity) == 0:
            return None
        v = self.identity.mean(0)
        return (v / max(np.linalg.norm(v), 1e-12)).astype(np.float32)

    def summary(self) -> dict[str, Any]:
        return {
            "analysis_version": ANALYSIS_VERSION,
            "num_frames": self.num_frames,
            "frames_with_face": self.frames_with_face,
            "face_ratio": self.frames_with_face / max(self.num_frames, 1),
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "num_identity_samples": 0 if self.identity is None else len(self.identity),
            "backends": self.backends,
            "timings": self.timings,
            "source": self.source,
        }

    _ARRAYS = ("face_found", "boxes", "landmarks", "pose", "expression", "identity", "identity_frames")

    def save(self, out_dir: str | Path) -> Path:
        """Write DIR/analysis.json (summary) and DIR/analysis.npz (arrays), each atomically."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        arrays = {k: getattr(self, k) for k in self._ARRAYS if getattr(self, k) is not None}
        arrays.update({f"extra_{k}": v for k, v in self.extras.items()})
        with atomic_path(out / "analysis.npz") as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        atomic_write_json(out / "analysis.json", self.summary())
        return out

    @classmethod
    def load(cls, out_dir: str | Path) -> ClipAnalysis:
        out = Path(out_dir)
        try:
            meta = json.loads((out / "analysis.json").read_text())
            with np.load(out / "analysis.npz") as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, KeyError) as exc:
            raise HeadSwapBenchError(f"{out}: not a readable face analysis ({exc})") from None
        extras = {k[len("extra_"):]: arrays.pop(k) for k in list(arrays) if k.startswith("extra_")}
        return cls(fps=float(meta["fps"]), width=int(meta["width"]), height=int(meta["height"]),
                   extras=extras, backends=meta.get("backends", {}), timings=meta.get("timings", {}),
                   source=meta.get("source", {}), **{k: arrays.get(k) for k in cls._ARRAYS})


@dataclass
class ImageAnalysis:
    """The main face of one photo."""

    width: int
    height: int
    box: np.ndarray  # float32 [4]
    landmarks: np.ndarray  # float32 [478, 3]
    pose: np.ndarray | None = None  # float32 [3] yaw, pitch, roll degrees
    expression: np.ndarray | None = None  # float32 [D]
    identity: np.ndarray | None = None  # float32 [E]
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    backends: dict[str, Any] = field(default_factory=dict)


def _frames_source(video_or_path) -> tuple[Any, int, float, dict]:
    """(chunk iterator, num_frames, fps, source description) for a path, a Video or a frame array."""
    if isinstance(video_or_path, (str, Path)):
        from ..video import iter_video, probe

        info = probe(video_or_path)
        n = info.cfr_num_frames()
        return iter_video(video_or_path, chunk=32), n, float(info.fps), {"path": str(video_or_path)}
    if isinstance(video_or_path, Video):
        frames, fps = video_or_path.frames, video_or_path.fps
    else:
        raise TypeError(f"analyze_video needs a path or a Video, got {type(video_or_path).__name__}")
    return (frames[i:i + 32] for i in range(0, len(frames), 32)), len(frames), float(fps), {"path": None}


def identity_sample(num_frames: int, every: int | str | None = None) -> np.ndarray:
    """Frame indices whose identity is embedded: every `every`-th frame, starting at the middle of the first
    stride; default stride = ceil(T / 16), so at most 16 faces per clip; "all" or 1 → every frame."""
    if every in ("all", 1):
        return np.arange(num_frames)
    k = int(every) if every else max(1, math.ceil(num_frames / MAX_IDENTITY_SAMPLES))
    if k < 1:
        raise ValueError(f"identity_every must be >= 1 or 'all', got {every}")
    return np.arange(k // 2, num_frames, k)


class _IdentityBatch:
    """Aligned crops of the sampled frames, embedded ``batch_size`` at a time (memory: one batch of crops)."""

    def __init__(self, model, batch_size: int):
        self.model, self.batch_size = model, max(1, int(batch_size))
        self.crops: list = []
        self.frames: list[int] = []
        self.out: list[np.ndarray] = []

    def add(self, index: int, image: np.ndarray, landmarks: np.ndarray) -> None:
        self.crops.append(self.model.crop(image, landmarks))
        self.frames.append(index)
        if len(self.crops) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.crops:
            self.out.append(self.model.embed_crops(self.crops, self.batch_size))
            self.crops = []

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        self.flush()
        emb = np.concatenate(self.out) if self.out else np.zeros((0, self.model.dim))
        return emb.astype(np.float32), np.asarray(self.frames, np.int64)


def analysis_backends(landmarks: str | LandmarkModel = "facemesh", identity: str | None = "dlib",
                      identity_every: int | str | None = None, device: str = "cpu") -> dict[str, Any]:
    """The settings an analysis is keyed by (``backends``): what ``analyze_video`` records, computable
    without analysing anything (the evaluation runner hands it to its worker processes)."""
    lm_model = get_landmark_model(landmarks)
    id_model = get_identity_model(identity, device) if identity else None
    backends = _backends(lm_model, id_model)
    backends["identity_every"] = identity_every or f"auto(<= {MAX_IDENTITY_SAMPLES} per clip)"
    return backends


def _lookup(video_or_path, backends: dict[str, Any]) -> tuple[str, ClipAnalysis | None]:
    """This content's cache key under these settings, and its cached analysis (or None)."""
    from ..featcache import cache_key, content_hash
    from .cache import load_cached

    key = cache_key(content_hash(video_or_path), backends)
    hit = load_cached(key)
    if hit is not None:
        hit.source = {**hit.source, **_source(video_or_path), "cache": "hit", "cache_key": key}
    return key, hit


def cached_analysis(video_or_path, backends: dict[str, Any]) -> ClipAnalysis | None:
    """The cached analysis of this content under these settings (``analysis_backends``), or None."""
    return _lookup(video_or_path, backends)[1]


def analyze_video(video_or_path, *, landmarks: str | LandmarkModel = "facemesh", identity: str | None = "dlib",
                  identity_every: int | str | None = None, cache: bool = True,
                  progress: bool = True, device: str = "cpu", batch_size: int = 16,
                  landmarks_from: ClipAnalysis | None = None) -> ClipAnalysis:
    """Analyse the main subject's face on every frame of a clip (path or `Video`).

    identity: backend name or None to skip; identity_every: stride of the frames embedded (default: at most
    16 per clip, see `identity_sample`; "all" = every frame). cache: reuse/store the result under
    cache_dir()/analysis keyed by content hash + settings. device / batch_size: where and how many faces per
    forward the identity network runs (neither enters the key: they do not change the numbers beyond float
    rounding). landmarks_from: an analysis of this same clip with the same landmark backend (e.g. made by a
    worker process, without identity): its landmarks, pose and expression are kept and only the identity is
    embedded; if it already is the complete analysis under these settings it is returned as is."""
    from . import cache as _cache

    if isinstance(video_or_path, (str, Path)):
        from ..video import probe

        probe(video_or_path)  # unreadable / empty / audio-only → VideoError before anything else
    lm_model = get_landmark_model(landmarks)
    id_model = get_identity_model(identity, device) if identity else None
    backends = _backends(lm_model, id_model)
    backends["identity_every"] = identity_every or f"auto(<= {MAX_IDENTITY_SAMPLES} per clip)"
    if landmarks_from is not None and landmarks_from.backends == backends:
        return landmarks_from  # already complete (a worker found it in the cache or computed all of it)
    key = None
    if cache:
        t0 = time.perf_counter()
        key, hit = _lookup(video_or_path, backends)
        if hit is not None:
            return hit
        t_hash = time.perf_counter() - t0
    if landmarks_from is not None:
        result = _add_identity(video_or_path, landmarks_from, lm_model, id_model, identity_every, backends,
                               batch_size)
    else:
        result = _analyze(video_or_path, lm_model, id_model, identity_every, backends, progress, batch_size)
    if cache:
        result.timings["hash_s"] = round(t_hash, 4)
        result.source.update({"cache": "miss", "cache_key": key})
        _cache.store(key, result)
    return result


def _source(video_or_path) -> dict:
    return {"path": str(video_or_path) if isinstance(video_or_path, (str, Path)) else None}


def _add_identity(video_or_path, base: ClipAnalysis, lm_model: LandmarkModel, id_model, identity_every,
                  backends: dict, batch_size: int) -> ClipAnalysis:
    """``base`` (same clip, same landmark backend) with the identity embedded on the sampled frames, in the
    same order and batches as ``_analyze`` would (so the numbers are the same bit for bit)."""
    if base.backends.get("landmarks") != backends["landmarks"]:
        raise HeadSwapBenchError("landmarks_from was made with another landmark backend than this analysis")
    chunks, n, _, _ = _frames_source(video_or_path)
    if base.num_frames > n:
        raise HeadSwapBenchError(f"landmarks_from has {base.num_frames} frames, the clip {n}")
    result = ClipAnalysis(fps=base.fps, width=base.width, height=base.height, face_found=base.face_found,
                          boxes=base.boxes, landmarks=base.landmarks, pose=base.pose, expression=base.expression,
                          extras=dict(base.extras), backends=backends, timings=dict(base.timings),
                          source={**base.source, "landmarks_from": base.source.get("cache_key") or "worker"})
    if id_model is None:
        return result
    t0 = time.perf_counter()
    sample = set(identity_sample(n, identity_every).tolist())
    batch = _IdentityBatch(id_model, batch_size)
    i = 0
    for chunk in chunks:
        for frame in chunk[: max(0, base.num_frames - i)]:
            if i in sample and base.face_found[i]:
                batch.add(i, frame, base.landmarks[i])
            i += 1
    result.identity, result.identity_frames = batch.result()
    result.timings["identity_s"] = round(time.perf_counter() - t0, 4)
    return result


def _analyze(video_or_path, lm_model: LandmarkModel, id_model, identity_every, backends: dict,
             progress: bool, batch_size: int = 16) -> ClipAnalysis:
    from tqdm.auto import tqdm

    chunks, n, fps, source = _frames_source(video_or_path)
    sample = set(identity_sample(n, identity_every).tolist()) if id_model is not None else set()
    batch = _IdentityBatch(id_model, batch_size) if id_model is not None else None
    lms = np.full((n, NUM_LANDMARKS, 3), np.nan, np.float32)
    boxes = np.full((n, 4), np.nan, np.float32)
    found = np.zeros(n, bool)
    extras: dict[str, dict] = {}
    t = {"decode_s": 0.0, "landmarks_s": 0.0, "identity_s": 0.0}
    hw = (0, 0)
    i = 0
    bar = tqdm(total=n, desc="analyze", unit="frame", disable=not progress, leave=False)
    with lm_model.video() as session:
        t0 = time.perf_counter()
        for chunk in chunks:
            t["decode_s"] += time.perf_counter() - t0
            hw = chunk.shape[1:3]
            for frame in chunk[: max(0, n - i)]:
                t1 = time.perf_counter()
                face = session.process(frame)
                t2 = time.perf_counter()
                t["landmarks_s"] += t2 - t1
                if face is not None:
                    found[i], lms[i], boxes[i] = True, face.landmarks, face.box
                    for k, v in face.extras.items():
                        extras.setdefault(k, {})[i] = v
                    if i in sample:
                        batch.add(i, frame, face.landmarks)
                        t["identity_s"] += time.perf_counter() - t2
                i += 1
            bar.update(len(chunk))
            t0 = time.perf_counter()
    bar.close()
    if i < n:  # decoder delivered fewer frames than probed: keep what exists
        found, lms, boxes = found[:i], lms[:i], boxes[:i]
    t1 = time.perf_counter()
    pose, expr = pose_and_expression(lms)
    t["pose_expression_s"] = time.perf_counter() - t1
    result = ClipAnalysis(fps=fps, width=int(hw[1]), height=int(hw[0]), face_found=found, boxes=boxes,
                          landmarks=lms, pose=pose, expression=expr, source=source, backends=backends,
                          timings={k: round(v, 4) for k, v in t.items()})
    if id_model is not None:
        t1 = time.perf_counter()
        result.identity, result.identity_frames = batch.result()  # the last, partial batch
        result.timings["identity_s"] = round(t["identity_s"] + time.perf_counter() - t1, 4)
    for k, per_frame in extras.items():
        first = next(iter(per_frame.values()))
        arr = np.full((len(found), *np.shape(first)), np.nan, np.float32)
        for j, v in per_frame.items():
            arr[j] = v
        result.extras[k] = arr
    return result


def analyze_image(img: Image, *, landmarks: str | LandmarkModel = "facemesh",
                  identity: str | None = "dlib", device: str = "cpu") -> ImageAnalysis:
    """Analyse the main face of a photo (uint8 RGB array). Raises FaceNotFoundError when there is none."""
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise HeadSwapBenchError(f"analyze_image needs a uint8 [H, W, 3] RGB image, got {img.dtype} {img.shape}")
    lm_model = get_landmark_model(landmarks)
    face = lm_model.image(img)
    if face is None:
        raise FaceNotFoundError(f"no face found in the image ({img.shape[1]}x{img.shape[0]})")
    pose, expr = pose_and_expression(face.landmarks)
    id_model = get_identity_model(identity, device) if identity else None
    emb = id_model.embed_faces(img, [face.landmarks])[0] if id_model is not None else None
    return ImageAnalysis(width=img.shape[1], height=img.shape[0], box=face.box, landmarks=face.landmarks,
                         pose=pose, expression=expr, identity=emb, extras=dict(face.extras),
                         backends=_backends(lm_model, id_model))


def _backends(lm_model: LandmarkModel, id_model=None) -> dict[str, Any]:
    from .pose import load_template

    out: dict[str, Any] = {
        "analysis_version": ANALYSIS_VERSION,
        "landmarks": lm_model.describe(),
        "pose": {"method": "umeyama similarity fit to face_template.json (rigid subset)",
                 "order": ["yaw", "pitch", "roll"], "units": "degrees",
                 "template_sha256": _template_sha256(), "num_rigid_points": len(load_template().rigid)},
        "expression": expression_layout(),
    }
    if id_model is not None:
        out["identity"] = id_model.describe()
    return out


@functools.lru_cache(maxsize=1)
def _template_sha256() -> str:
    from ..fileio import sha256_file
    from .pose import TEMPLATE_PATH

    return sha256_file(TEMPLATE_PATH)
