"""Analysis cache (content hash + settings) and bad inputs."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from headswapbench.errors import FaceNotFoundError, HeadSwapBenchError, VideoError
from headswapbench.face import ClipAnalysis, analyze_image, analyze_video
from headswapbench.face.cache import analysis_cache_dir
from headswapbench.types import Video


@pytest.fixture(scope="module")
def short_clip(shared_data):
    from headswapbench.video import read_video

    return read_video(shared_data / "videos" / "edtalk_mouth_source.mp4", num_frames=24)


def test_second_run_is_a_cache_hit_with_identical_arrays(short_clip, monkeypatch):
    from headswapbench.face import analysis

    first = analyze_video(short_clip, identity="dlib", identity_every=8, progress=False)
    assert first.source["cache"] == "miss"
    calls = []
    monkeypatch.setattr(analysis, "_analyze", lambda *a, **k: calls.append(1))  # a hit must not analyse
    second = analyze_video(short_clip, identity="dlib", identity_every=8, progress=False)
    assert not calls and second.source["cache"] == "hit"
    np.testing.assert_array_equal(first.landmarks, second.landmarks)
    np.testing.assert_array_equal(first.identity, second.identity)
    np.testing.assert_array_equal(first.expression, second.expression)
    assert second.backends == first.backends


def test_settings_or_content_change_is_a_miss(short_clip):
    a = analyze_video(short_clip, identity=None, progress=False)
    b = analyze_video(short_clip, identity="dlib", identity_every=12, progress=False)
    frames = short_clip.frames.copy()
    frames[0, 0, 0, 0] ^= 1  # one pixel differs → different content hash
    c = analyze_video(Video(frames, short_clip.fps), identity=None, progress=False)
    assert {a.source["cache"], b.source["cache"], c.source["cache"]} == {"miss"}
    assert len({a.source["cache_key"], b.source["cache_key"], c.source["cache_key"]}) == 3
    entries = [p for p in analysis_cache_dir().iterdir() if not p.name.startswith(".")]
    assert len(entries) == 3 and all((p / "analysis.npz").is_file() for p in entries)


def test_same_file_under_another_name_hits_the_cache(shared_data, tmp_path):
    src = shared_data / "videos" / "vretalk_face_5.mp4"
    copy = tmp_path / "renamed.mp4"
    shutil.copyfile(src, copy)
    a = analyze_video(src, identity=None, progress=False)
    b = analyze_video(copy, identity=None, progress=False)
    assert a.source["cache"] == "miss" and b.source["cache"] == "hit"
    assert b.source["path"] == str(copy)
    assert a.frames_with_face / a.num_frames >= 0.95


def test_save_load_round_trip(short_clip, tmp_path):
    a = analyze_video(short_clip, identity="dlib", identity_every=12, cache=False, progress=False)
    a.save(tmp_path / "x")
    b = ClipAnalysis.load(tmp_path / "x")
    for k in ClipAnalysis._ARRAYS:
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    assert (b.fps, b.width, b.height, b.num_frames) == (a.fps, a.width, a.height, 24)


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500])
def test_unreadable_video_raises_video_error(tmp_path, content):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(VideoError) as exc:
        analyze_video(bad, progress=False)
    assert str(bad) in str(exc.value)


def test_missing_video_raises_video_error(tmp_path):
    with pytest.raises(VideoError):
        analyze_video(tmp_path / "nope.mp4", progress=False)


def test_bad_image_inputs():
    with pytest.raises(FaceNotFoundError):
        analyze_image(np.zeros((120, 160, 3), np.uint8))
    with pytest.raises(HeadSwapBenchError):
        analyze_image(np.zeros((120, 160), np.uint8))  # greyscale array, not RGB
    with pytest.raises(HeadSwapBenchError):
        ClipAnalysis.load("/nonexistent/folder")
