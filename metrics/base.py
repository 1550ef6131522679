"""The built-in metrics' result keys and what each means, plus helpers the metric modules share.

The metric contract itself (``ClipData``, ``Metric``, ``ClipMetric``, ``SetMetric``, ``MetricInfo``, the
registry) is in the core, ``headswapbench.evaluation.metric``, so the evaluation runner calls metrics without
importing this package; every metric module imports this one, which registers the built-in keys' infos.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from headswapbench.evaluation.metric import (
    NEEDS_ANALYSIS,
    NEEDS_DRIVING,
    NEEDS_IDENTITY,
    NEEDS_REFERENCE,
    NEEDS_TARGET,
    MetricInfo,
    register_info,
)

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

_T, _D, _R, _A, _I = NEEDS_TARGET, NEEDS_DRIVING, NEEDS_REFERENCE, NEEDS_ANALYSIS, NEEDS_IDENTITY


def _info(name, hib, unit, desc, needs, level="clip", version="1") -> MetricInfo:
    return MetricInfo(name, hib, unit, desc, frozenset(needs), version, level)


# Every built-in result key (results.json carries direction, unit and version; the leaderboard reads them there).
# identity_cosine_target v2: frame-paired (output frame t vs target frame t), was: vs the target's mean identity.
BUILTIN_INFOS: tuple[MetricInfo, ...] = (
    _info(ID_COS_REF, True, "cosine", "mean identity cosine of output frames to the reference image", {_R, _A, _I}),
    _info(ID_COS_TARGET, True, "cosine", "mean identity cosine of output frame t to target frame t, over the "
          "frames embedded on both sides", {_T, _A, _I}, version="2"),
    _info(ID_COS_DRIVING, False, "cosine", "mean identity cosine of output frames to the driving clip's identity",
          {_D, _A, _I}),
    _info(REPLACEMENT, True, "rate", "1 if output identity is closer to the reference than to the driving "
          "clip; the mean is the replacement rate", {_R, _D, _A, _I}),
    _info(ID_TOP1, True, "rate", "identity retrieval top-1 among all subjects (gallery: references)",
          {_R, _A, _I}, level="set"),
    _info(ID_TOP5, True, "rate", "identity retrieval top-5 among all subjects (gallery: references)",
          {_R, _A, _I}, level="set"),
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
    _info(SSIM, True, "SSIM", "whole-frame SSIM vs target (piq, 11x11 gaussian, sigma 1.5, mean over frames)", {_T}),
    _info(LPIPS, False, "LPIPS", "whole-frame LPIPS (AlexNet, v0.1) vs target, mean over frames", {_T}),
    _info(FLICKER, False, "px", "mean |frame-to-frame change of output - that of target| (grey, 0-255)", {_T}),
    _info(FID, False, "FID", "Frechet Inception distance, output frames vs target frames", {_T}, level="set"),
    _info(FVD, False, "FVD", "Frechet video distance (I3D, 16-frame windows), outputs vs targets", {_T}, level="set"),
)
register_info(*BUILTIN_INFOS)


def nan_if_empty(values) -> float:
    """Mean of a possibly empty array, NaN when empty (NaN rows are excluded and counted by ``stats``)."""
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()) if arr.size else math.nan


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


