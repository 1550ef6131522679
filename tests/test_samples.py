"""Embedded synthetic samples: labelled synthetic, several distinct subjects, reproducible and cached, and
their known head-roll / mouth / eye trajectory recovered by the face engine run on the rendered frames."""

from __future__ import annotations

import json

import numpy as np
import pytest

from headswapbench import samples as S
from headswapbench.errors import HeadSwapBenchError


def test_catalogue_is_synthetic_with_enough_subjects():
    names = S.list_samples()
    assert names and all(n.startswith("synthetic_") for n in names)
    subjects = {S.subject_id(S.parse_name(n)[0]) for n in names}
    assert len(subjects) >= 5 and all(s.startswith("synthetic_") for s in subjects)
    for s in subjects:  # two clips per subject: reference from one, driving from the other
        assert sum(S.subject_id(S.parse_name(n)[0]) == s for n in names) >= 2
    with pytest.raises(HeadSwapBenchError, match="unknown sample"):
        S.parse_name("synthetic_nobody_0")


def test_photos_are_distinct_real_faces():
    photos = S.sample_photos(size=128)
    assert set(photos) == set(S.PHOTO_NAMES) and len(photos) >= 8
    crops = np.stack([p.astype(np.float32) for p in photos.values()])
    # every photo differs from every other one (six different people cropped from t1.jpg, not one face twice)
    d = np.abs(crops[:, None] - crops[None]).mean(axis=(2, 3, 4))
    assert (d[~np.eye(len(crops), dtype=bool)] > 10).all()


def test_clip_shape_trajectory_determinism_and_cache(tmp_path, monkeypatch):
    a = S.make_sample_clip("astronaut", num_frames=10, size=128, seed=3)
    assert a.synthetic and a.record()["synthetic"] is True and "SYNTHETIC" in a.note
    assert a.name == "synthetic_astronaut_3" and a.subject_id == "synthetic_astronaut"
    assert a.video.frames.shape == (10, 128, 128, 3) and a.video.fps == S.DEFAULT_FPS
    for arr in (a.roll_deg, a.yaw_deg, a.mouth_open, a.eye_open):
        assert arr.shape == (10,)
    cached = list((S.cache_dir() / "samples").glob("synthetic_astronaut_3-*.npz"))
    assert len(cached) == 1
    b = S.make_sample_clip("synthetic_astronaut_3", num_frames=10, size=128)  # clip name; from the cache
    c = S.make_sample_clip("astronaut", num_frames=10, size=128, seed=3, cache=False)  # rendered again
    np.testing.assert_array_equal(a.video.frames, b.video.frames)
    np.testing.assert_array_equal(a.video.frames, c.video.frames)
    d = S.make_sample_clip("astronaut", num_frames=10, size=128, seed=4, cache=False)
    assert not np.array_equal(d.roll_deg, a.roll_deg)


def test_write_samples_labels_everything_synthetic(tmp_path):
    from headswapbench.video import probe

    names = ["synthetic_tom_hanks_0", "synthetic_t1_face2_1"]
    doc = S.write_samples(tmp_path, names, num_frames=6, size=96, progress=False)
    meta = json.loads((tmp_path / "samples.json").read_text())
    assert meta == json.loads(json.dumps(doc)) and meta["synthetic"] is True
    for rec in meta["clips"]:
        assert rec["synthetic"] is True and rec["name"] in names
        assert len(rec["trajectory"]["roll_deg"]) == 6
        info = probe(tmp_path / rec["file_name"])
        assert info.num_frames == 6 and (info.width, info.height) == (96, 96)
        assert (tmp_path / rec["photo_file_name"]).is_file()


@pytest.mark.parametrize("name", ["synthetic_astronaut_0", "synthetic_t1_face3_1"])
def test_known_trajectory_is_recovered_by_the_face_engine(name):
    """Tolerances (measured on all 16 default clips, see docs/warp.md): roll correlation >= 0.98 and mean
    error <= 1.5 deg once the photo's residual tilt (a constant, |offset| <= 5 deg) is removed; mouth-open
    correlation >= 0.95; landmarks within 6 % of the inter-ocular distance of the ground truth; for the
    frontal astronaut also yaw (r >= 0.95, same sign) and eye aperture (r >= 0.9)."""
    from headswapbench.face import analyze_video
    from headswapbench.face.expression import MEASURES

    clip = S.load_sample(name)
    a = analyze_video(clip.video, identity=None, progress=False)
    assert a.face_found.all()
    roll = a.pose[:, 2]
    assert np.corrcoef(roll, clip.roll_deg)[0, 1] >= 0.98
    err = roll - clip.roll_deg
    offset = float(np.median(err))
    assert abs(offset) <= 5.0 and np.abs(err - offset).mean() <= 1.5
    mouth = a.expression[:, MEASURES.index("mouth_open")]
    assert np.corrcoef(mouth, clip.mouth_open)[0, 1] >= 0.95
    gt = clip.landmarks
    iod = np.linalg.norm(gt[:, 33, :2] - gt[:, 263, :2], axis=1)
    nme = np.linalg.norm(a.landmarks[:, :, :2] - gt[:, :, :2], axis=2).mean(1) / iod
    assert nme.mean() <= 0.06
    if "astronaut" in name:
        assert np.corrcoef(a.pose[:, 0], clip.yaw_deg)[0, 1] >= 0.95
        eyes = a.expression[:, [MEASURES.index("eye_open_r"), MEASURES.index("eye_open_l")]].mean(1)
        assert np.corrcoef(eyes, clip.eye_open)[0, 1] >= 0.9
