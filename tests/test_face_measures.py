"""Face measurements on hand-computed cases, and the filter and the metrics agreeing on the same input (both
read these measures; the numbers must not drift apart again)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from headswapbench.face.measures import (
    angle_diff,
    box_iou,
    expression_descriptor_l2,
    expression_measures_dynamic_rms,
    expression_measures_rms,
    inter_ocular_distance,
    landmark_jitter,
    landmark_nme,
    pose_differences,
)
from headswapbench.face.topology import LEFT_EYE_OUTER, RIGHT_EYE_OUTER


def test_inter_ocular_distance_is_2d_between_outer_corners():
    lm = np.zeros((2, 478, 3))
    lm[:, RIGHT_EYE_OUTER] = [1.0, 2.0, 0.0]
    lm[:, LEFT_EYE_OUTER] = [4.0, 6.0, 99.0]  # 3-4-5 in the image plane; depth is ignored
    lm[1, LEFT_EYE_OUTER, 0] = np.nan
    d = inter_ocular_distance(lm)
    assert d[0] == pytest.approx(5.0) and np.isnan(d[1])
    assert inter_ocular_distance(lm[0]) == pytest.approx(5.0)  # one face [478, 3] works too


def test_nme_is_mean_point_error_over_inter_ocular_distance(random_face):
    ref = random_face(iod=10.0)
    pred = ref.copy()
    pred[..., 0] += 3.0
    pred[..., 1] += 4.0  # every point 5 px away, eyes 10 px apart → 0.5
    pred[:, RIGHT_EYE_OUTER, :2] += 0  # (the normaliser comes from the reference only)
    assert np.allclose(landmark_nme(pred, ref), 0.5)
    assert np.allclose(landmark_nme(ref, ref), 0.0)


def test_nme_one_point_off_and_nan_frames(random_face):
    ref = random_face(T=3, iod=10.0)
    pred = ref.copy()
    pred[:, 7, 0] += 47.8  # one landmark of 478 is 47.8 px off → mean error 0.1 px → NME 0.01
    pred[1] = np.nan  # no face in pred on frame 1
    ref[2, LEFT_EYE_OUTER, :2] = ref[2, RIGHT_EYE_OUTER, :2]  # degenerate reference on frame 2
    nme = landmark_nme(pred, ref)
    assert nme[0] == pytest.approx(0.01)
    assert np.isnan(nme[1]) and np.isnan(nme[2])


def test_jitter_is_zero_for_smooth_motion_and_measures_shaking(random_face):
    lm = random_face(T=6)
    smooth = lm[:1] + np.arange(6)[:, None, None] * np.array([1.0, 0.5, 0.0])  # constant velocity
    assert landmark_jitter(smooth) == pytest.approx(0.0, abs=1e-12)
    shaky = smooth.copy()
    shaky[1::2, :, 0] += 1.0  # +1 px on odd frames: |second difference| = 2 px every frame
    assert landmark_jitter(shaky) == pytest.approx(2.0 / 10.0)


def test_jitter_ignores_frames_without_a_face(random_face):
    lm = random_face(T=6)
    shaky = lm[:1] + np.zeros((6, 1, 1))
    shaky[2, :, 0] += 1.0  # one bump: second differences 1, 2, 1 px on the triples centred on frames 1, 2, 3
    shaky[5] = np.nan  # the triple centred on frame 4 has no face → ignored
    assert landmark_jitter(shaky) == pytest.approx((1 + 2 + 1) / 3 / 10.0)
    assert landmark_jitter(lm[:2]) == 0.0  # too short to have an acceleration
    assert math.isnan(landmark_jitter(np.full((4, 478, 3), np.nan)))


def test_angle_diff_wraps_around():
    a = np.array([179.0, 10.0, 0.0, -90.0, 30.0, 720.0])
    b = np.array([-179.0, 350.0, 180.0, 90.0, 10.0, 0.0])
    assert angle_diff(a, b) == pytest.approx([2.0, 20.0, 180.0, 180.0, 20.0, 0.0])
    assert angle_diff(b, a) == pytest.approx(angle_diff(a, b))


def test_pose_differences_drop_frames_with_an_unknown_angle():
    pred = np.array([[179.0, 3.0, 0.0], [10.0, np.nan, 0.0], [0.0, 0.0, -5.0]])
    ref = np.array([[-179.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    d = pose_differences(pred, ref)
    assert d.tolist() == [[2.0, 3.0, 0.0], [0.0, 0.0, 10.0]]
    assert d.mean(0).tolist() == [1.0, 1.5, 5.0]
    assert pose_differences(pred[1:2], ref[1:2]).shape == (0, 3)


def test_expression_descriptor_l2_uses_every_column():
    pred, ref = np.zeros((2, 284)), np.zeros((2, 284))
    pred[0, 0], pred[0, 283] = 3.0, 4.0  # a measure and a residual: L2 = 5
    assert expression_descriptor_l2(pred, ref).tolist() == [5.0, 0.0]


def test_expression_measures_rms_uses_only_the_eight_measures():
    pred, ref = np.zeros((2, 10)), np.zeros((2, 10))
    pred[:, 0] = 0.2  # mouth_open 0.2 higher on every frame
    pred[:, 9] = 5.0  # a residual column: not a measure
    assert expression_measures_rms(pred, ref) == pytest.approx([0.2 / np.sqrt(8)] * 2)


def test_dynamic_expression_ignores_a_constant_offset_but_not_a_mistimed_mouth():
    ref = np.zeros((4, 10))
    offset = ref.copy()
    offset[:, 1] = 0.3  # a wider resting mouth (another identity): not an expression error
    assert expression_measures_dynamic_rms(offset, ref) == pytest.approx([0.0] * 4)
    assert expression_measures_rms(offset, ref) == pytest.approx([0.3 / np.sqrt(8)] * 4)
    mistimed = ref.copy()
    mistimed[:, 0] = [0.0, 0.2, 0.0, 0.2]  # mouth opens on frames 1 and 3 only: ±0.1 around its mean
    assert expression_measures_dynamic_rms(mistimed, ref) == pytest.approx([0.1 / np.sqrt(8)] * 4)
    # a frame without a face is NaN and does not enter the means of the others
    with_gap = np.concatenate([mistimed, np.full((1, 10), np.nan)])
    d = expression_measures_dynamic_rms(with_gap, np.zeros((5, 10)))
    assert d[:4] == pytest.approx([0.1 / np.sqrt(8)] * 4) and np.isnan(d[4])


def test_box_iou():
    assert box_iou((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)  # overlap 1, union 4 + 4 - 1
    assert box_iou((0, 0, 2, 2), (0, 0, 2, 2)) == 1.0
    assert box_iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0
    assert box_iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0  # empty union


# ------------------------------------------------------------------------- the filter and the metrics agree
def test_filter_and_metric_agree_on_nme_and_pose(random_face):
    from headswapbench.metrics.base import KEYPOINT_NME, POSE_ERROR_PITCH, POSE_ERROR_YAW
    from headswapbench.metrics.geometry import KeypointNME, PoseError
    from headswapbench.pipelines.filter import sync_scores

    from headswapbench.evaluation.metric import ClipData
    from headswapbench.types import Video

    rng = np.random.default_rng(3)
    T = 6
    tgt = random_face(T, iod=40.0, seed=1)
    out = tgt + rng.normal(0, 2.0, tgt.shape)
    found = np.ones(T, bool)
    found[2] = False  # no face in the output on frame 2: both drop it
    out[2] = np.nan
    pose_t = rng.uniform(-30, 30, (T, 3))
    pose_o = pose_t + [4.0, -1.0, 0.0]

    def analysis(lm, pose, face_found):
        return SimpleNamespace(num_frames=T, face_found=face_found, landmarks=lm, pose=pose, expression=None,
                               extras={}, mean_identity=lambda: None)

    a_out, a_tgt = analysis(out, pose_o, found), analysis(tgt, pose_t, np.ones(T, bool))
    frames = np.zeros((T, 8, 8, 3), np.uint8)
    clip = ClipData("c0", "s0", Video(frames, 25.0), target=Video(frames, 25.0), output_analysis=a_out,
                    target_analysis=a_tgt)
    metric_nme = KeypointNME().compute(clip)[KEYPOINT_NME]
    metric_pose = PoseError().compute(clip)
    filt = sync_scores(a_tgt, a_out)  # (target = V_a, driving = the clip compared with it)
    assert filt["frames_compared"] == T - 1
    assert filt["sync_nme"] == pytest.approx(metric_nme, abs=1e-6)  # the filter rounds to 6 decimals
    assert metric_nme == pytest.approx(float(np.mean(np.delete(landmark_nme(out, tgt), 2))))
    assert metric_pose[POSE_ERROR_YAW] == pytest.approx(4.0) and metric_pose[POSE_ERROR_PITCH] == pytest.approx(1.0)
    worst = max(metric_pose[POSE_ERROR_YAW], metric_pose[POSE_ERROR_PITCH])
    assert filt["sync_pose_worst_axis"] == pytest.approx(worst)
