"""The metric contract: what a metric reads (``ClipData``), what it says about itself (``MetricInfo``), and the
two shapes a metric can take (per-clip ``ClipMetric``, set-level ``SetMetric``).

Why this shape:
- every clip is decoded once and analysed once (landmarks, pose, expression, identity); metrics only *read*
  that shared ``ClipData``, so adding a metric never adds a decode or a face-model pass;
- one metric module may produce several result keys (``pose_error_yaw`` / ``_pitch`` / ``_roll``); each key
  has its own ``MetricInfo`` (direction, unit) in ``METRIC_INFO`` so results.json and the leaderboard never
  guess whether higher is better;
- a set-level metric splits into ``extract`` (per clip, pure, cacheable, runs inside the resumable stage)
  and ``add`` / ``compute`` (cheap reduction), so a killed run recomputes FID from cached features instead of
  re-running Inception, and shards merge by adding states;
- a metric whose weights are missing raises ``MissingWeightsError`` when it is *constructed*; the runner
  records it as unavailable with that reason (``unavailable(reason)``) and the other metrics still run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from headswapbench.types import Image, Video

# ----------------------------------------------------------------------------------------------------------
# Result keys (module constants, so the runner, report and tests never spell a key twice)
# ----------------------------------------------------------------------------------------------------------
ID_COS_REF = "identity_cosine_ref"  # output vs reference image I_ref
ID_COS_TARGET = "identity_cosine_target"  # output vs genuine target V_a
ID_COS_DRIVING = "identity_cosine_driving"  # output vs driving clip V_c (the identity that should be gone)
REPLACEMENT = "replacement"  # 1 if output is closer to I_ref than to V_c; its mean is the replacement rate
ID_TOP1 = "identity_top1"
ID_TOP5 = "identity_top5"
KEYPOINT_NME = "keypoint_nme"
POSE_ERROR = "pose_error"
POSE_ERROR_YAW = "pose_error_yaw"
POSE_ERROR_PITCH = "pose_error_pitch"
POSE_ERROR_ROLL = "pose_error_roll"
EXPRESSION_ERROR = "expression_error"
BLENDSHAPE_L1 = "blendshape_l1"
FACE_MISSING_OUTPUT = "face_missing_output"  # share of target-face frames where the output shows no face
PSNR = "psnr"
SSIM = "ssim"
LPIPS = "lpips"
FLICKER = "flicker"
FID = "fid"
FVD = "fvd"

# What a metric may need beyond the output video (the runner loads only what the chosen metrics need).
NEEDS_TARGET, NEEDS_DRIVING, NEEDS_REFERENCE, NEEDS_ANALYSIS = "target", "driving", "reference", "analysis"


@dataclass(frozen=True)
class MetricInfo:
    """What one result key means. ``higher_is_better=None`` marks a diagnostic (reported, never ranked)."""

    name: str
    higher_is_better: bool | None
    unit: str
    description: str
    needs: frozenset[str] = frozenset()
    version: str = "1"
    level: str = "clip"  # "clip" (per-clip value, aggregated by bootstrap over subjects) or "set"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "higher_is_better": self.higher_is_better,
            "unit": self.unit,
            "description": self.description,
            "needs": sorted(self.needs),
            "version": self.version,
            "level": self.level,
        }


_T, _D, _R, _A = NEEDS_TARGET, NEEDS_DRIVING, NEEDS_REFERENCE, NEEDS_ANALYSIS


def _info(name, hib, unit, desc, needs, level="clip", version="1") -> MetricInfo:
    return MetricInfo(name, hib, unit, desc, frozenset(needs), version, level)


# Every built-in result key, importable without torch (results.json and the leaderboard read directions here).
METRIC_INFO: dict[str, MetricInfo] = {
    i.name: i
    for i in [
        _info(ID_COS_REF, True, "cosine", "mean identity cosine of output frames to the reference image", {_R, _A}),
        _info(ID_COS_TARGET, True, "cosine", "mean identity cosine of output frames to the genuine target", {_T, _A}),
        _info(ID_COS_DRIVING, False, "cosine", "mean identity cosine of output frames to the driving clip", {_D, _A}),
        _info(REPLACEMENT, True, "rate", "1 if output identity is closer to the reference than to the driving "
              "clip; the mean is the replacement rate", {_R, _D, _A}),
        _info(ID_TOP1, True, "rate", "identity retrieval top-1 among all subjects (gallery: references)",
              {_R, _A}, level="set"),
        _info(ID_TOP5, True, "rate", "identity retrieval top-5 among all subjects (gallery: references)",
              {_R, _A}, level="set"),
        _info(KEYPOINT_NME, False, "NME", "MediaPipe 478-landmark mean L2 error vs target / inter-ocular distance",
              {_T, _A}),
        _info(POSE_ERROR, False, "deg", "mean of the yaw, pitch and roll absolute errors vs target", {_T, _A}),
        _info(POSE_ERROR_YAW, False, "deg", "mean |yaw difference| vs target", {_T, _A}),
        _info(POSE_ERROR_PITCH, False, "deg", "mean |pitch difference| vs target", {_T, _A}),
        _info(POSE_ERROR_ROLL, False, "deg", "mean |roll difference| vs target", {_T, _A}),
        _info(EXPRESSION_ERROR, False, "L2", "mean L2 distance of expression descriptors vs target", {_T, _A}),
        _info(BLENDSHAPE_L1, False, "L1", "mean L1 distance of the 52 blendshape scores vs target", {_T, _A}),
        _info(FACE_MISSING_OUTPUT, False, "rate", "share of frames with a target face where the output has none "
              "(those frames are excluded from the geometric metrics)", {_T, _A}),
        _info(PSNR, True, "dB", "whole-frame PSNR vs target (data range 255, mean over frames)", {_T}),
        _info(SSIM, True, "SSIM", "whole-frame SSIM vs target (piq, 11x11 gaussian, sigma 1.5, mean over frames)",
              {_T}),
        _info(LPIPS, False, "LPIPS", "whole-frame LPIPS (AlexNet, v0.1) vs target, mean over frames", {_T}),
        _info(FLICKER, False, "px", "mean |frame-to-frame change of output - that of target| (grey, 0-255)", {_T}),
        _info(FID, False, "FID", "Frechet Inception distance, output frames vs target frames", {_T}, level="set"),
        _info(FVD, False, "FVD", "Frechet video distance (I3D, 16-frame windows), outputs vs targets", {_T},
              level="set"),
    ]
}


def register_info(*infos: MetricInfo) -> None:
    """Add result keys of a third-party metric to ``METRIC_INFO`` (call at import of the plug-in module)."""
    for info in infos:
        old = METRIC_INFO.get(info.name)
        if old is not None and old != info:
            raise ValueError(f"metric key '{info.name}' is already described differently: {old}")
        METRIC_INFO[info.name] = info


# ----------------------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------------------
@dataclass
class ClipData:
    """Everything known about one evaluated clip. Only ``output`` is always present; a metric states what
    else it needs in ``needs`` and gets a clear error (never a wrong number) when it is missing."""

    clip_id: str
    subject_id: str
    output: Video
    target: Video | None = None
    driving: Video | None = None
    reference: Image | None = None
    output_analysis: Any = None
    target_analysis: Any = None
    driving_analysis: Any = None
    reference_analysis: Any = None  # ImageAnalysis: .identity [E], .landmarks [478,3], ...
    extra: dict[str, Any] = field(default_factory=dict)

    def require(self, *names: str) -> None:
        """Raise a clear error naming the clip when a field a metric needs is missing."""
        missing = [n for n in names if getattr(self, n) is None]
        if missing:
            raise ValueError(f"clip '{self.clip_id}': metric needs {', '.join(missing)}, which the runner did not load")


def unavailable(reason: str) -> dict[str, Any]:
    """The results entry for a metric that could not run (missing weights, missing backend)."""
    return {"mean": None, "ci95": None, "n": 0, "unavailable": str(reason)}


def nan_if_empty(values) -> float:
    """Mean of a possibly empty array, NaN when empty (NaN rows are excluded and counted by ``stats``)."""
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()) if arr.size else math.nan


# ----------------------------------------------------------------------------------------------------------
# Metric bases
# ----------------------------------------------------------------------------------------------------------
class Metric:
    """Common base. Subclasses set ``name`` (registry name) and ``keys`` (result keys they produce).

    Construction loads models (and raises ``MissingWeightsError`` when a weight file is absent); ``device``
    is 'cpu' or 'cuda'; ``batch_size`` bounds memory for network metrics."""

    name: ClassVar[str] = ""
    keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, device: str = "cpu", batch_size: int = 16):
        self.device = device
        self.batch_size = int(batch_size)

    @property
    def infos(self) -> list[MetricInfo]:
        missing = [k for k in self.keys if k not in METRIC_INFO]
        if missing:
            raise KeyError(f"metric '{self.name}' produces undescribed keys {missing}; call register_info()")
        return [METRIC_INFO[k] for k in self.keys]

    @property
    def needs(self) -> frozenset[str]:
        out: set[str] = set()
        for info in self.infos:
            out |= info.needs
        return frozenset(out)

    def settings(self) -> dict[str, Any]:
        """What changes the numbers (model, weight sha256, resize, windows ...), recorded in results.json."""
        return {"version": {i.name: i.version for i in self.infos}}


class ClipMetric(Metric):
    """A per-clip metric: ``compute(data) -> {key: float}``; NaN means 'not defined for this clip'."""

    def compute(self, data: ClipData) -> dict[str, float]:
        raise NotImplementedError


class SetMetric(Metric):
    """A set-level metric (FID, FVD, identity retrieval).

    ``extract(data)`` → small per-clip feature dict of numpy arrays (cache it next to the clip's manifest
    record); ``add(features)`` folds it into ``state``; ``compute()`` → ``{key: float}``. ``update(data)`` is
    ``add(extract(data))``. ``state`` is a dict of numpy arrays/ints that merges by ``merge`` (for shards)."""

    def __init__(self, device: str = "cpu", batch_size: int = 16):
        super().__init__(device, batch_size)
        self.reset()

    def reset(self) -> None:
        self.state: dict[str, Any] = {}

    def extract(self, data: ClipData) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def add(self, features: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def update(self, data: ClipData) -> None:
        self.add(self.extract(data))

    def compute(self) -> dict[str, float]:
        raise NotImplementedError

    def counts(self) -> dict[str, Any]:
        """How many clips / frames / windows went into the number, input sizes (recorded beside it)."""
        return {}


# ----------------------------------------------------------------------------------------------------------
# Model files
# ----------------------------------------------------------------------------------------------------------
def resolve_weight(name: str, override: Any = None) -> tuple[Any, str]:
    """Path and full sha256 of a metric's model file, checked by the weights manager
    (``headswapbench.weights.resolve``: pinned files by their full sha256, others by their format).

    The manager downloads the file, or raises ``MissingWeightsError`` (offline / absent), which makes the
    metric unavailable with that reason; a file that is not what it claims raises ``ChecksumError`` or
    ``InvalidWeightsError``. ``override`` (a path) uses that file instead — stand-in weights in tests, or a
    local copy — checked for its format; it counts as pinned only if it is byte-identical to the pinned file
    (``headswapbench.weights.fingerprint(name, override)`` says which, for results)."""
    from headswapbench import weights as manager

    checked = manager.resolve(name, override)
    return checked.path, checked.sha256


def torch_device(device: str):
    """A torch.device, with a clear error when CUDA is asked for but absent."""
    import torch

    from headswapbench.errors import HeadSwapBenchError

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise HeadSwapBenchError(f"device '{device}' is not a torch device (e.g. cpu, cuda, cuda:1): {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise HeadSwapBenchError(f"device '{device}' requested but CUDA is not available on this machine")
    return dev
