"""The donor's face proportions on a clip's face (headswapbench.reshape), checked on hand-built landmark sets:
the canonical face template as the donor, and clips made from it by known feature moves and head motion."""

from __future__ import annotations

import numpy as np
import pytest

from headswapbench import reshape as R
from headswapbench.face.pose import load_template
from headswapbench.face.topology import FACE_OVAL, INNER_LIPS, RIGHT_EYE


def _donor() -> np.ndarray:
    """The frontal face template in pixels ([478, 3]: inter-ocular ≈ 100, depth in the same units)."""
    return load_template().landmarks * 100.0 + np.array([200.0, 200.0, 0.0])


def _rot(yaw_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    a, c = np.deg2rad(yaw_deg), np.deg2rad(roll_deg)
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return ry @ rz


def _moved(points: np.ndarray, rot: np.ndarray, scale: float, shift) -> np.ndarray:
    """``points`` turned about (200, 200, 0) by ``rot``, scaled and shifted in the image plane."""
    c = np.array([200.0, 200.0, 0.0])
    return (points - c) @ rot.T * scale + c + np.array([*shift, 0.0])


def _clip(donor: np.ndarray, eye_shift, frames: int = 5) -> tuple[np.ndarray, list]:
    """The donor's face with its right eye moved by ``eye_shift`` (x, y pixels of the frontal face), then
    carried through a head motion (yaw, roll, scale, translation change per frame)."""
    face = donor.copy()
    face[R.FEATURES["right_eye"][0], :2] += eye_shift
    motions = [(_rot(4.0 * t, 3.0 * t), 1.2 + 0.05 * t, (20.0 * t, -5.0 * t)) for t in range(frames)]
    return np.stack([_moved(face, *m) for m in motions]), motions


def test_a_moved_feature_is_moved_back_in_every_frame_and_the_outline_stays():
    donor = _donor()
    shift = np.array([3.0, -2.0])  # 0.036 inter-ocular distances: within the cap
    clip, motions = _clip(donor, shift)
    offsets, summary = R.shape_offsets(donor, clip)
    eye = np.asarray(R.FEATURES["right_eye"][0])
    np.testing.assert_allclose(offsets[eye, :2], np.broadcast_to(-shift / 100.0, (len(eye), 2)), atol=1e-6)
    assert summary["right_eye"]["shift_iod"] == pytest.approx(np.linalg.norm(shift) / 100.0, abs=1e-3)
    assert summary["left_eye"]["shift_iod"] == pytest.approx(0.0, abs=1e-6) and summary["scale"] == 1.0
    out = R.reshape_landmarks(clip, offsets)
    for t, m in enumerate(motions):
        # the reshaped right eye sits where the donor's would under this frame's head motion (turned and rolled)
        np.testing.assert_allclose(out[t, eye, :2], _moved(donor, *m)[eye, :2], atol=1e-6)
        np.testing.assert_array_equal(out[t, FACE_OVAL], clip[t, FACE_OVAL])  # the outline never moves


def test_a_pose_gap_is_not_read_as_other_proportions():
    """The same face, the donor turned 12° and rolled 5° away from the clip: nothing to move (a 2-D fit of the
    outline moved every feature to its cap at 10°)."""
    donor = _donor()
    turned = _moved(donor, _rot(12.0, 5.0), 1.0, (0.0, 0.0))
    offsets, summary = R.shape_offsets(turned, np.stack([donor] * 3))
    assert np.abs(offsets).max() < 1e-6, summary


def test_shifts_are_capped_for_every_landmark():
    donor = _donor()
    clip, _ = _clip(donor, np.array([30.0, 0.0]), frames=1)  # 0.3 inter-ocular distances: a caricature's worth
    offsets, summary = R.shape_offsets(donor, clip)
    eye = np.asarray(R.FEATURES["right_eye"][0])
    norms = np.linalg.norm(offsets, axis=1)
    assert norms.max() <= R.RESHAPE_MAX_SHIFT * (1 + 1e-9)
    assert norms[eye].max() == pytest.approx(R.RESHAPE_MAX_SHIFT * summary["scale"], rel=1e-6)


def test_points_between_follow_smoothly():
    donor = _donor()
    clip, _ = _clip(donor, np.array([4.0, 0.0]), frames=1)
    offsets, _ = R.shape_offsets(donor, clip)
    eye = np.asarray(R.FEATURES["right_eye"][0])
    norms = np.linalg.norm(offsets, axis=1)
    # a cheek point between the moved eye and the fixed outline moves part of the way, not at all or fully
    features = np.concatenate([ids for ids, _ in R.FEATURES.values()])
    rest = np.setdiff1d(np.arange(478), np.concatenate([features, FACE_OVAL]))
    near = rest[np.argmin(np.linalg.norm(donor[rest, :2] - donor[eye, :2].mean(0) - [0, 25.0], axis=1))]
    assert 0.05 < norms[near] / norms[eye].max() < 0.95


def test_no_triangle_of_the_mesh_folds():
    """The clip's right eye far below the donor's: the donor's pulls it up into its brow and, at full strength,
    the mesh between them folds; the field is scaled down until no triangle folds or shrinks below the limit."""
    from headswapbench import warp as W

    donor = _donor()
    face = donor.copy()
    face[R.FEATURES["right_eye"][0], 1] += 40.0
    offsets, summary = R.shape_offsets(donor, np.stack([face]))
    neutral = R.frontalise(face)[:, :2]
    tri = W.canonical_mesh().triangles

    def areas(p):
        q = W.face_points(p)[tri]
        d1, d2 = q[:, 1] - q[:, 0], q[:, 2] - q[:, 0]
        return d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]

    before = areas(neutral)
    squeezed = lambda off: (np.sign(before) * areas(neutral + off) < R.MIN_AREA_RATIO * np.abs(before)).any()  # noqa: E731
    assert 0 < summary["scale"] < 1.0
    assert not squeezed(offsets[:, :2])
    assert squeezed(offsets[:, :2] / summary["scale"])  # unscaled they would fold: the test can fail


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
    out = R.reshape_landmarks(clip, offsets)
    gap = lambda x: x[:, 14, 1] - x[:, 13, 1]  # noqa: E731  (inner lower lip minus inner upper lip)
    np.testing.assert_allclose(gap(out), gap(clip), atol=1e-6)
    width = lambda x: x[:, 291, 0] - x[:, 61, 0]  # noqa: E731
    np.testing.assert_allclose(width(out), donor[291, 0] - donor[61, 0], rtol=0.02)


def test_faceless_degenerate_frames_and_invalid_input():
    donor = _donor()
    clip, _ = _clip(donor, np.zeros(2), frames=3)
    clip[1] = np.nan
    offsets, _ = R.shape_offsets(donor, clip)
    out = R.reshape_landmarks(clip, offsets)
    assert np.isnan(out[1]).all() and np.isfinite(out[[0, 2]]).all()
    assert R.shape_offsets(donor, np.full_like(clip, np.nan)) is None
    assert R.shape_offsets(np.full_like(donor, np.nan), clip) is None
    flat = clip.copy()
    flat[:, :, 1] = 5.0  # every point on one line: no outline to fit
    flat[:, :, 2] = 0.0
    assert R.shape_offsets(donor, flat) is None
    assert R.shape_offsets(donor[:, :2], clip[:, :, :2]) is not None  # no depth: fitted in the image plane


def test_the_warp_editor_moves_the_features_it_shows(shared_data):
    """End to end on a real photo as a still clip: the output's eyes, nose and mouth (found again by the face
    mesh) move by about the offsets `shape_offsets` asked for (projected on them, over the four features: the
    mesh's own error is a few pixels per feature), and nothing outside the face changes."""
    from headswapbench import warp as W
    from headswapbench.face import analyze_image
    from headswapbench.face.topology import LEFT_EYE
    from headswapbench.types import Video
    from headswapbench.video import read_image

    frame = read_image(shared_data / "images" / "fr_biden2.jpg")
    donor = read_image(shared_data / "images" / "edtalk_leijun.png")
    flms = analyze_image(frame, identity=None).landmarks
    dlms = analyze_image(donor, identity=None).landmarks
    clip = np.stack([flms] * 3).astype(np.float64)
    offsets, _ = R.shape_offsets(dlms, clip)
    moved = R.reshape_landmarks(clip, offsets)[0]
    still = Video(np.stack([frame] * 3), 25.0)
    out = W.face_onto_video(still, clip, donor, dlms, progress=False)
    flat = W.face_onto_video(still, clip, donor, dlms, progress=False, reshape=False)
    found = analyze_image(out.frames[0], identity=None).landmarks
    before = analyze_image(flat.frames[0], identity=None).landmarks
    groups = [RIGHT_EYE, LEFT_EYE, R.FEATURES["nose"][0], R.FEATURES["mouth"][0]]
    wanted = np.concatenate([(moved[g, :2] - flms[g, :2]).mean(0) for g in groups])
    got = np.concatenate([(found[g, :2] - before[g, :2]).mean(0) for g in groups])
    assert np.linalg.norm(wanted) > 10  # the two faces' proportions differ enough to see (px, 4 features)
    assert np.dot(got, wanted) / np.dot(wanted, wanted) == pytest.approx(1.0, abs=0.4)
    outside = W.face_mask(flms, frame.shape) == 0
    np.testing.assert_array_equal(out.frames[0][outside], frame[outside])


def test_the_gate_registers_an_edit_by_its_own_head_and_one_static_offset():
    """`pipelines.artifacts._registered`: V_c is V_a's face with its right eye moved (a new identity's
    proportions) under another head motion; registration puts V_a's face plus the static offset where V_c's
    head is, which is exactly V_c. A per-frame drift of V_c's features (a melt) is not followed."""
    from headswapbench.pipelines.artifacts import _registered

    donor = _donor()
    face = donor.copy()
    face[R.FEATURES["right_eye"][0], :2] += (3.0, 1.0)
    a = np.stack([_moved(donor, _rot(3.0 * t), 1.0 + 0.02 * t, (5.0 * t, 0.0)) for t in range(6)])
    c = np.stack([_moved(face, _rot(-2.0 * t, 2.0 * t), 1.1, (0.0, 4.0 * t)) for t in range(6)])
    np.testing.assert_allclose(_registered(a, c, list(range(6)))[:, :, :2], c[:, :, :2], atol=1e-6)
    drifting = c.copy()
    mouth = np.asarray(R.FEATURES["mouth"][0])
    for t in range(6):
        drifting[t, mouth, 0] += (-1) ** t * 3.0  # the mouth sways 6 px from frame to frame
    reg = _registered(a, drifting, list(range(6)))
    assert np.abs(reg[:, mouth, 0] - drifting[:, mouth, 0]).mean() > 2.0
