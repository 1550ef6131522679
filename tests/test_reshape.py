"""The donor's face proportions on a clip's face (headswapbench.reshape), checked on hand-built landmark sets:
the canonical face template as the donor, and clips made from it by known feature moves and head motion."""

from __future__ import annotations

import numpy as np
import pytest

from headswapbench import reshape as R
from headswapbench.face.pose import load_template
from headswapbench.face.topology import FACE_OVAL, INNER_LIPS, RIGHT_EYE


def _donor() -> np.ndarray:
    return load_template().landmarks[:, :2] * 100.0 + 200.0  # pixels: inter-ocular ≈ 100


def _moved(points: np.ndarray, theta_deg: float, scale: float, shift) -> np.ndarray:
    th = np.deg2rad(theta_deg)
    rot = scale * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    return points @ rot.T + np.asarray(shift, np.float64)


def _clip(donor: np.ndarray, eye_shift, frames: int = 5) -> tuple[np.ndarray, list]:
    """The donor's face with its right eye moved by ``eye_shift`` (donor pixels), then carried through a
    head motion (rotation, scale, translation change per frame)."""
    face = donor.copy()
    face[R.FEATURES["right_eye"][0]] += eye_shift
    motions = [(3.0 * t, 1.2 + 0.05 * t, (20.0 * t, -5.0 * t)) for t in range(frames)]
    return np.stack([_moved(face, *m) for m in motions]), motions


def test_a_moved_feature_is_moved_back_in_every_frame_and_the_outline_stays():
    donor = _donor()
    iod = np.linalg.norm(donor[33] - donor[263])
    shift = np.array([0.03, -0.02]) * iod  # within the cap
    clip, motions = _clip(donor, shift)
    offsets, summary = R.shape_offsets(donor, clip)
    eye = np.asarray(R.FEATURES["right_eye"][0])
    np.testing.assert_allclose(offsets[eye], np.broadcast_to(-shift, offsets[eye].shape), atol=1e-6)
    assert summary["right_eye"]["shift_iod"] == pytest.approx(np.linalg.norm(shift) / iod, abs=1e-4)
    assert summary["left_eye"]["shift_iod"] == pytest.approx(0.0, abs=1e-6)
    out = R.reshape_landmarks(clip, donor, offsets)
    for t, m in enumerate(motions):
        # the reshaped right eye sits where the donor's would under this frame's head motion
        np.testing.assert_allclose(out[t, eye], _moved(donor, *m)[eye], atol=1e-6)
        np.testing.assert_array_equal(out[t, FACE_OVAL], clip[t, FACE_OVAL])  # the outline never moves


def test_shifts_are_capped_and_points_between_follow_smoothly():
    donor = _donor()
    iod = np.linalg.norm(donor[33] - donor[263])
    clip, _ = _clip(donor, np.array([0.3 * iod, 0.0]), frames=1)  # a caricature's worth
    offsets, summary = R.shape_offsets(donor, clip)
    eye = np.asarray(R.FEATURES["right_eye"][0])
    assert np.linalg.norm(offsets[eye], axis=1).max() == pytest.approx(R.RESHAPE_MAX_SHIFT * iod, rel=1e-6)
    assert summary["right_eye"]["shift_iod"] == pytest.approx(R.RESHAPE_MAX_SHIFT)
    # a cheek point between the moved eye and the fixed outline moves part of the way, not at all or fully
    features = np.concatenate([ids for ids, _ in R.FEATURES.values()])
    rest = np.setdiff1d(np.arange(478), np.concatenate([features, FACE_OVAL]))
    near = rest[np.argmin(np.linalg.norm(donor[rest] - donor[eye].mean(0) - [0, 0.25 * iod], axis=1))]
    moved = np.linalg.norm(offsets[near]) / (R.RESHAPE_MAX_SHIFT * iod)
    assert 0.05 < moved < 0.95


def test_expression_stays_the_clips_own():
    """A mouth that opens over the clip opens the same amount after reshaping (features move rigidly; the
    mouth's width scale is horizontal only), and the mouth takes the donor's width."""
    donor = _donor()
    face = donor.copy()
    mouth = np.asarray(R.FEATURES["mouth"][0])
    face[mouth, 0] = face[mouth, 0].mean() + 1.1 * (face[mouth, 0] - face[mouth, 0].mean())  # 10 % wider
    lower = np.asarray(INNER_LIPS[11:])  # the lower inner lip (308 … 95 run along it)
    clip = np.stack([face] * 6)
    for t in range(6):
        clip[t, lower, 1] += 2.0 * t  # opens by 2 px a frame
    offsets, summary = R.shape_offsets(donor, clip)
    assert summary["mouth"]["width_ratio"] == pytest.approx(1 / 1.1, abs=0.01)
    out = R.reshape_landmarks(clip, donor, offsets)
    gap = lambda x: x[:, 14, 1] - x[:, 13, 1]  # noqa: E731  (inner lower lip minus inner upper lip)
    np.testing.assert_allclose(gap(out), gap(clip), atol=1e-6)
    width = lambda x: x[:, 291, 0] - x[:, 61, 0]  # noqa: E731
    np.testing.assert_allclose(width(out), donor[291, 0] - donor[61, 0], rtol=0.02)


def test_faceless_frames_and_invalid_input():
    donor = _donor()
    clip, _ = _clip(donor, np.zeros(2), frames=3)
    clip[1] = np.nan
    offsets, _ = R.shape_offsets(donor, clip)
    out = R.reshape_landmarks(clip, donor, offsets)
    assert np.isnan(out[1]).all() and np.isfinite(out[[0, 2]]).all()
    assert R.shape_offsets(donor, np.full_like(clip, np.nan)) is None
    assert R.shape_offsets(np.full_like(donor, np.nan), clip) is None


def test_the_warp_editor_moves_the_features_it_shows(shared_data):
    """End to end on a real photo as a still clip: the output's eyes (found again by the face mesh) move by
    about the offset `shape_offsets` asked for, and nothing outside the face changes."""
    from headswapbench import warp as W
    from headswapbench.face import analyze_image
    from headswapbench.types import Video
    from headswapbench.video import read_image

    frame = read_image(shared_data / "images" / "fr_biden2.jpg")
    donor = read_image(shared_data / "images" / "edtalk_leijun.png")
    flms = analyze_image(frame, identity=None).landmarks
    dlms = analyze_image(donor, identity=None).landmarks
    clip = np.stack([flms] * 3).astype(np.float64)
    offsets, _ = R.shape_offsets(dlms, clip)
    wanted = R.reshape_landmarks(clip, dlms, offsets)[0, RIGHT_EYE, :2].mean(0) - flms[RIGHT_EYE, :2].mean(0)
    assert np.linalg.norm(wanted) > 3  # the two faces' proportions differ enough to see
    still = Video(np.stack([frame] * 3), 25.0)
    out = W.face_onto_video(still, clip, donor, dlms, progress=False)
    flat = W.face_onto_video(still, clip, donor, dlms, progress=False, reshape=False)
    found = analyze_image(out.frames[0], identity=None).landmarks[RIGHT_EYE, :2].mean(0)
    before = analyze_image(flat.frames[0], identity=None).landmarks[RIGHT_EYE, :2].mean(0)
    got = found - before
    assert np.dot(got, wanted) / np.dot(wanted, wanted) == pytest.approx(1.0, abs=0.4)
    outside = W.face_mask(flms, frame.shape) == 0
    np.testing.assert_array_equal(out.frames[0][outside], frame[outside])
