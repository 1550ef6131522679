"""Geometry against the genuine target V_a, read from the shared per-clip face analysis (no model runs here).

Frame handling, defined once for all three metrics: a frame is *scored* when the target shows a face and the
output shows a face. Frames where the target has no face say nothing about the swap and are dropped. Frames
where the target has a face but the output has none are a failure of the swap: they are dropped from the
geometric means (there is nothing to compare) and counted in ``face_missing_output`` (share of target-face
frames), which is reported beside the means so a method cannot look better by losing hard faces. A clip with
no scored frame gets NaN (excluded and counted by ``stats.aggregate``), never a made-up value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from headswapbench.evaluation.metric import ClipData, ClipMetric
from headswapbench.face.measures import expression_descriptor_l2, landmark_nme, pose_differences
from headswapbench.face.topology import NUM_LANDMARKS

from .base import (
    BLENDSHAPE_L1,
    EXPRESSION_ERROR,
    FACE_MISSING_OUTPUT,
    KEYPOINT_NME,
    POSE_ERROR,
    POSE_ERROR_PITCH,
    POSE_ERROR_ROLL,
    POSE_ERROR_YAW,
    nan_if_empty,
)


def _face_mask(analysis: Any, landmarks: bool = True) -> np.ndarray:
    found = np.asarray(analysis.face_found, dtype=bool)
    if landmarks:
        lm = np.asarray(analysis.landmarks)
        found = found & np.isfinite(lm[..., :2]).all(axis=(1, 2))
    return found


def _field(analysis: Any, name: str, clip_id: str, role: str) -> np.ndarray:
    """A per-frame array of an analysis, with a clear error when the backend did not produce it."""
    value = getattr(analysis, name, None)
    if value is None:
        raise ValueError(f"clip '{clip_id}': the {role} analysis has no '{name}' (backend did not compute it)")
    return np.asarray(value, dtype=np.float64)


def blendshapes(analysis: Any) -> np.ndarray | None:
    """[T, 52] blendshape scores when the landmark backend provides them (MediaPipe Tasks), else None."""
    value = getattr(analysis, "blendshapes", None)
    if value is None:
        value = (getattr(analysis, "extras", None) or {}).get("blendshapes")
    return None if value is None else np.asarray(value, dtype=np.float64)


def scored_frames(data: ClipData) -> tuple[np.ndarray, int, int]:
    """(mask of frames with a face in both target and output, #target-face frames, #of those missing in output)."""
    out_a, tgt_a = data.output_analysis, data.target_analysis
    n_out, n_tgt = len(out_a.face_found), len(tgt_a.face_found)
    if n_out != n_tgt:
        raise ValueError(f"clip '{data.clip_id}': output has {n_out} analysed frames, target {n_tgt}")
    tgt = _face_mask(tgt_a)
    out = _face_mask(out_a)
    both = tgt & out
    return both, int(tgt.sum()), int((tgt & ~out).sum())


class KeypointNME(ClipMetric):
    """MediaPipe 478-landmark NME against the target, plus the share of frames where the output lost the face."""

    name = "keypoints"
    keys = (KEYPOINT_NME, FACE_MISSING_OUTPUT)

    def compute(self, data: ClipData) -> dict[str, float]:
        data.require("output_analysis", "target_analysis")
        both, n_tgt, n_missing = scored_frames(data)
        out_lm = np.asarray(data.output_analysis.landmarks)[both]
        tgt_lm = np.asarray(data.target_analysis.landmarks)[both]
        if out_lm.size and out_lm.shape[1] != NUM_LANDMARKS:
            raise ValueError(f"clip '{data.clip_id}': expected {NUM_LANDMARKS} landmarks, got {out_lm.shape[1]}")
        nme = landmark_nme(out_lm, tgt_lm) if out_lm.size else np.empty(0)
        nme = nme[np.isfinite(nme)]
        return {
            KEYPOINT_NME: nan_if_empty(nme),
            FACE_MISSING_OUTPUT: (n_missing / n_tgt) if n_tgt else math.nan,
        }

    def settings(self) -> dict[str, Any]:
        return {"normaliser": "inter-ocular (outer eye corners 33-263, 2-D)", "frames": "target face and output face"}


class PoseError(ClipMetric):
    """Mean absolute yaw / pitch / roll difference to the target, in degrees (and their mean)."""

    name = "pose"
    keys = (POSE_ERROR, POSE_ERROR_YAW, POSE_ERROR_PITCH, POSE_ERROR_ROLL)

    def compute(self, data: ClipData) -> dict[str, float]:
        data.require("output_analysis", "target_analysis")
        both, _, _ = scored_frames(data)
        out_p = _field(data.output_analysis, "pose", data.clip_id, "output")[both]
        tgt_p = _field(data.target_analysis, "pose", data.clip_id, "target")[both]
        diff = pose_differences(out_p, tgt_p)  # [F, 3]
        if not len(diff):
            return {k: math.nan for k in self.keys}
        yaw, pitch, roll = diff.mean(axis=0)
        return {
            POSE_ERROR: float(diff.mean()),
            POSE_ERROR_YAW: float(yaw),
            POSE_ERROR_PITCH: float(pitch),
            POSE_ERROR_ROLL: float(roll),
        }


class ExpressionError(ClipMetric):
    """Mean L2 distance between per-frame expression descriptors of output and target; blendshape L1 (mean
    absolute difference of the 52 scores) when the analysis carries blendshapes, else NaN."""

    name = "expression"
    keys = (EXPRESSION_ERROR, BLENDSHAPE_L1)

    def compute(self, data: ClipData) -> dict[str, float]:
        data.require("output_analysis", "target_analysis")
        both, _, _ = scored_frames(data)
        out_e = _field(data.output_analysis, "expression", data.clip_id, "output")
        tgt_e = _field(data.target_analysis, "expression", data.clip_id, "target")
        if out_e.shape[1:] != tgt_e.shape[1:]:
            raise ValueError(
                f"clip '{data.clip_id}': expression descriptors differ in shape ({out_e.shape} vs {tgt_e.shape}); "
                "output and target must be analysed with the same backend"
            )
        d = expression_descriptor_l2(out_e[both], tgt_e[both])
        result = {EXPRESSION_ERROR: nan_if_empty(d[np.isfinite(d)]), BLENDSHAPE_L1: math.nan}
        out_b, tgt_b = blendshapes(data.output_analysis), blendshapes(data.target_analysis)
        if out_b is not None and tgt_b is not None:
            l1 = np.abs(out_b - tgt_b)[both].mean(axis=-1)
            result[BLENDSHAPE_L1] = nan_if_empty(l1[np.isfinite(l1)])
        return result
