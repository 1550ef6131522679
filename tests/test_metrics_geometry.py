"""Keypoint NME, pose error and expression error on hand-built analyses with known answers, including the
no-face frame rules (dropped and counted, never silently scored)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from headswapbench.metrics.base import (
    BLENDSHAPE_L1,
    EXPRESSION_ERROR,
    FACE_MISSING_OUTPUT,
    KEYPOINT_NME,
    POSE_ERROR,
    POSE_ERROR_PITCH,
    POSE_ERROR_ROLL,
    POSE_ERROR_YAW,
)
from headswapbench.metrics.geometry import ExpressionError, KeypointNME, PoseError

from headswapbench.evaluation.metric import ClipData
from headswapbench.types import Video

T = 4


def _landmarks(rng, iod: float = 100.0) -> np.ndarray:
    """[T, 478, 3] random faces whose outer eye corners (33, 263) are exactly ``iod`` px apart."""
    lm = rng.uniform(100, 300, (T, 478, 3)).astype(np.float32)
    lm[:, 33, :2] = (150.0, 200.0)
    lm[:, 263, :2] = (150.0 + iod * 0.6, 200.0 + iod * 0.8)  # a 3-4-5 triangle: distance = iod
    return lm


def _analysis(landmarks, pose=None, expression=None, found=None, extras=None):
    found = np.ones(len(landmarks), bool) if found is None else np.asarray(found, dtype=bool)
    lm = landmarks.copy()
    lm[~found] = np.nan
    return SimpleNamespace(face_found=found, landmarks=lm, pose=pose, expression=expression, extras=extras or {})


def _clip(out_a, tgt_a) -> ClipData:
    frames = np.zeros((T, 8, 8, 3), np.uint8)
    return ClipData("c0", "s0", Video(frames, 25.0), target=Video(frames, 25.0), output_analysis=out_a,
                    target_analysis=tgt_a)


def test_nme_known_shift():
    rng = np.random.default_rng(0)
    tgt = _landmarks(rng, iod=100.0)
    out = tgt.copy()
    out[..., :2] += (3.0, 4.0)  # every landmark 5 px off; inter-ocular 100 px → NME 0.05
    out[..., 2] += 50.0  # depth is ignored (2-D NME)
    res = KeypointNME().compute(_clip(_analysis(out), _analysis(tgt)))
    assert res[KEYPOINT_NME] == pytest.approx(0.05, rel=1e-6)
    assert res[FACE_MISSING_OUTPUT] == 0.0


def test_nme_normalised_by_target_not_output():
    rng = np.random.default_rng(1)
    tgt = _landmarks(rng, iod=50.0)
    out = tgt.copy()
    out[:, :, 0] += 1.0  # 1 px error everywhere; the output's own eye distance changes too
    out[:, 263, 0] += 100.0  # one landmark 101 px off
    expected = (477 * 1.0 + 101.0) / 478 / 50.0
    res = KeypointNME().compute(_clip(_analysis(out), _analysis(tgt)))
    assert res[KEYPOINT_NME] == pytest.approx(expected, rel=1e-6)


def test_no_face_frames_are_dropped_and_counted():
    rng = np.random.default_rng(2)
    tgt = _landmarks(rng)
    out = tgt.copy()
    out[0, :, 0] += 10.0  # frame 0: 10 px → 0.10
    out[1, :, 0] += 20.0  # frame 1: target has no face → ignored entirely
    out[2, :, 0] += 1000.0  # frame 2: output has no face → dropped, counted as missing
    out[3, :, 0] += 30.0  # frame 3: 0.30
    res = KeypointNME().compute(
        _clip(_analysis(out, found=[1, 1, 0, 1]), _analysis(tgt, found=[1, 0, 1, 1]))
    )
    assert res[KEYPOINT_NME] == pytest.approx((0.10 + 0.30) / 2, rel=1e-6)
    assert res[FACE_MISSING_OUTPUT] == pytest.approx(1 / 3)  # 1 of the 3 target-face frames
    none = KeypointNME().compute(_clip(_analysis(out, found=[0] * T), _analysis(tgt)))
    assert math.isnan(none[KEYPOINT_NME]) and none[FACE_MISSING_OUTPUT] == 1.0
    no_target = KeypointNME().compute(_clip(_analysis(out), _analysis(tgt, found=[0] * T)))
    assert math.isnan(no_target[KEYPOINT_NME]) and math.isnan(no_target[FACE_MISSING_OUTPUT])


def test_pose_error_with_wraparound():
    rng = np.random.default_rng(3)
    lm = _landmarks(rng)
    tgt_pose = np.array([[10, 0, 0], [179, 5, -3], [0, 0, 0], [-20, 10, 90]], np.float32)
    out_pose = np.array([[13, -2, 1], [-179, 5, -3], [0, 0, 0], [-20, 14, 80]], np.float32)
    # |Δ|: yaw 3, 2 (wrap), 0, 0 → 1.25; pitch 2, 0, 0, 4 → 1.5; roll 1, 0, 0, 10 → 2.75
    res = PoseError().compute(_clip(_analysis(lm, pose=out_pose), _analysis(lm, pose=tgt_pose)))
    assert res[POSE_ERROR_YAW] == pytest.approx(1.25)
    assert res[POSE_ERROR_PITCH] == pytest.approx(1.5)
    assert res[POSE_ERROR_ROLL] == pytest.approx(2.75)
    assert res[POSE_ERROR] == pytest.approx((1.25 + 1.5 + 2.75) / 3)
    # only frames with a face in both count
    res2 = PoseError().compute(_clip(_analysis(lm, pose=out_pose, found=[1, 1, 1, 0]), _analysis(lm, pose=tgt_pose)))
    assert res2[POSE_ERROR_ROLL] == pytest.approx(1 / 3)


def test_expression_error_and_blendshapes():
    rng = np.random.default_rng(4)
    lm = _landmarks(rng)
    tgt_e = rng.normal(size=(T, 6))
    out_e = tgt_e.copy()
    out_e[:, 0] += 3.0
    out_e[:, 5] -= 4.0  # L2 distance 5 per frame
    res = ExpressionError().compute(_clip(_analysis(lm, expression=out_e), _analysis(lm, expression=tgt_e)))
    assert res[EXPRESSION_ERROR] == pytest.approx(5.0)
    assert math.isnan(res[BLENDSHAPE_L1])  # no blendshape backend → NaN, not 0
    tb = rng.uniform(size=(T, 52))
    ob = tb + 0.1
    res = ExpressionError().compute(_clip(
        _analysis(lm, expression=out_e, extras={"blendshapes": ob}),
        _analysis(lm, expression=tgt_e, extras={"blendshapes": tb}),
    ))
    assert res[BLENDSHAPE_L1] == pytest.approx(0.1)


def test_missing_pose_or_mismatched_backends_raise():
    rng = np.random.default_rng(5)
    lm = _landmarks(rng)
    with pytest.raises(ValueError, match="no 'pose'"):
        PoseError().compute(_clip(_analysis(lm), _analysis(lm, pose=np.zeros((T, 3)))))
    with pytest.raises(ValueError, match="same backend"):
        ExpressionError().compute(_clip(_analysis(lm, expression=np.zeros((T, 3))),
                                        _analysis(lm, expression=np.zeros((T, 4)))))
