"""Landmarks and main-subject tracking on the real clips and photos in ../shared/data."""

from __future__ import annotations

import numpy as np
import pytest

from headswapbench.errors import FaceNotFoundError
from headswapbench.face import analyze_image, analyze_video, get_landmark_model
from headswapbench.face.measures import box_iou
from headswapbench.face.tracking import SubjectTracker, pick_main_face
from headswapbench.types import Video
from tests.helpers.face_shared import clip_analysis, image_analysis


@pytest.mark.parametrize("stride", [4, pytest.param(1, marks=pytest.mark.slow)])
def test_every_clip_has_the_face_on_at_least_95_percent_of_frames(shared_videos, stride):
    """Every ``stride``-th frame of each real clip (4: a quarter of the frames, spread over the whole clip, in
    the default suite; 1: every frame, with RUN_SLOW=1)."""
    from headswapbench.face import analyze_video
    from headswapbench.video import probe, read_video

    assert len(shared_videos) >= 10
    for path in shared_videos:
        info = probe(path)
        assert info.num_frames > 100, path.name
        v = read_video(path, fps=info.fps / stride if stride > 1 else None)  # decodes only the sampled frames
        assert len(v.frames) >= info.num_frames // stride, path.name
        a = analyze_video(v, identity=None, cache=False, progress=False)
        assert a.frames_with_face / a.num_frames >= 0.95, (path.name, a.frames_with_face, a.num_frames)
        lm = a.landmarks[a.face_found]
        assert lm.shape[1:] == (478, 3) and np.isfinite(lm).all()
        # pixel coordinates inside (or just outside) the frame, box = landmark extent
        assert lm[..., 0].min() > -0.1 * a.width and lm[..., 0].max() < 1.1 * a.width, path.name
        assert lm[..., 1].min() > -0.1 * a.height and lm[..., 1].max() < 1.1 * a.height, path.name
        np.testing.assert_allclose(a.boxes[a.face_found][:, :2], lm[..., :2].min(1), atol=1e-3)


def test_landmarks_follow_a_moving_face_frame_to_frame(shared_videos):
    a = clip_analysis(str(next(p for p in shared_videos if p.name == "lp_d9.mp4")), identity=None)
    centres = (a.boxes[:, :2] + a.boxes[:, 2:]) / 2
    sizes = a.boxes[:, 2] - a.boxes[:, 0]
    jumps = np.linalg.norm(np.diff(centres, axis=0), axis=1) / sizes[1:]
    assert np.nanmax(jumps) < 0.3  # no switch to another face / no wild jump between consecutive frames


def test_photo_landmarks_match_the_detected_face(shared_images):
    for path in shared_images:
        r = image_analysis(str(path))
        assert r.landmarks.shape == (478, 3) and np.isfinite(r.landmarks).all()
        x0, y0, x1, y1 = r.box
        assert 0 <= x0 < x1 <= r.width and 0 <= y0 < y1 <= r.height, path.name
        # eye landmarks (33 = right eye outer corner, 263 = left eye outer corner) lie in the upper half
        eyes_y = r.landmarks[[33, 263], 1].mean()
        assert y0 < eyes_y < (y0 + y1) / 2, path.name


def test_main_subject_is_kept_when_a_second_face_appears(shared_images):
    """Synthetic composite of two real photos: a large centred subject plus a smaller face pasted in a corner
    for the second half of the clip. The tracked box must stay on the subject throughout."""
    import cv2

    from headswapbench.video import read_image

    big = read_image(next(p for p in shared_images if p.name == "lp_d19.jpg"))  # 720x720, face ~0.3 area
    small = cv2.resize(read_image(next(p for p in shared_images if p.name == "lp_d9.jpg")), (300, 300))
    canvas = np.zeros((720, 1080, 3), np.uint8)
    canvas[:, 180:900] = big
    frames = np.stack([canvas.copy() for _ in range(20)])
    frames[10:, 0:300, 780:1080] = small  # top-right corner, partly over the background
    a = analyze_video(Video(frames, 25.0), identity=None, cache=False, progress=False)
    ref = image_analysis(str(next(p for p in shared_images if p.name == "lp_d19.jpg"))).box + [180, 0, 180, 0]
    assert a.face_found.all()
    for b in a.boxes:
        assert box_iou(b, ref) > 0.8


def test_no_face_image_raises(shared_images):
    blank = np.full((256, 256, 3), 127, np.uint8)
    with pytest.raises(FaceNotFoundError):
        analyze_image(blank)


def test_no_face_frames_are_nan_and_flagged():
    frames = np.full((6, 128, 128, 3), 90, np.uint8)
    a = analyze_video(Video(frames, 25.0), identity=None, cache=False, progress=False)
    assert a.num_frames == 6 and a.frames_with_face == 0
    assert np.isnan(a.landmarks).all() and np.isnan(a.boxes).all()


def test_tracker_rules():
    hw = (100, 200)
    central_small = [90, 40, 110, 60]
    corner_big = [0, 0, 24, 24]
    assert pick_main_face([corner_big, central_small], hw) == 1  # centrality beats slightly larger size
    t = SubjectTracker(patience=2)
    assert t.choose([corner_big, central_small], hw) == 1
    t.update(central_small)
    assert t.choose([[150, 40, 170, 60]], hw) is None  # far away → another face, ignored
    assert t.choose([[93, 41, 113, 61]], hw) == 0
    for _ in range(3):
        t.update(None)
    assert not t.has_subject  # forgotten after `patience` misses → re-detect


def test_landmark_model_registry():
    m = get_landmark_model("facemesh")
    assert m.name == "facemesh" and m.describe()["num_points"] == 478
    assert get_landmark_model("facemesh") is m
