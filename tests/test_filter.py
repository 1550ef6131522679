"""Filter: hand-computed scores, verdict order, and real clips (identity leak, lag) from ../shared/data."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from headswapbench.pipelines.filter import FilterSettings, filter_pair, sync_scores, verdict

from headswapbench.reasons import Reason
from headswapbench.runner import SkipItem


def _analysis(lm, pose=None, expr=None, ident=None):
    T = len(lm)
    return SimpleNamespace(
        num_frames=T,
        face_found=np.ones(T, bool),
        landmarks=lm,
        pose=pose,
        expression=expr,
        mean_identity=lambda: ident,
    )


def test_sync_scores_pose_wraps_and_identity_cosine(random_face):
    lm = random_face(T=4)
    pa = np.array([[179.0, 0, 0]] * 4)
    pc = np.array([[-179.0, 3.0, 0]] * 4)  # 2° apart across the ±180 seam; pitch 3° off
    ea = np.zeros((4, 10))
    ec = ea.copy()
    ec[:, 0] = [0.0, 0.2, 0.0, 0.2]  # mouth opens on frames 1 and 3 only in V_c
    a = _analysis(lm, pa, ea, np.array([1.0, 0.0]))
    c = _analysis(lm.copy(), pc, ec, np.array([0.6, 0.8]))
    sc = sync_scores(a, c)
    assert sc["sync_pose_worst_axis"] == pytest.approx(3.0)
    assert sc["identity_similarity_to_target"] == pytest.approx(0.6)
    assert sc["sync_nme"] == pytest.approx(0.0)
    # centred difference on the measure column: ±0.1 each frame; RMS over the 8 measures = 0.1/sqrt(8)
    assert sc["sync_expression_dynamic"] == pytest.approx(0.1 / np.sqrt(8), abs=1e-6)


def test_verdict_order_and_thresholds():
    s = FilterSettings()
    good = {
        "face_ratio": 1.0,
        "frames_compared": 10,
        "sync_nme": 0.01,
        "sync_nme_p95": 0.02,
        "sync_expression_dynamic": 0.0,
        "sync_pose_worst_axis": 1.0,
        "identity_similarity_to_target": 0.3,
        "identity_threshold": 0.9,
        "jitter_excess": 0.0,
    }
    assert verdict(good, s) is None
    # default identity limit = the backend's same-person threshold; "at or above" is the leak
    assert _code(verdict({**good, "identity_similarity_to_target": 0.9}, s)) is Reason.IDENTITY_UNCHANGED
    assert verdict({**good, "identity_similarity_to_target": 0.89}, s) is None
    assert verdict(
        {**good, "identity_similarity_to_target": 0.89}, FilterSettings(max_identity_similarity=0.5)
    )
    no_threshold = {k: v for k, v in good.items() if k != "identity_threshold"}
    assert _code(verdict(no_threshold, s)) is Reason.IDENTITY_UNCHANGED
    assert _code(verdict({**good, "face_ratio": 0.5}, s)) is Reason.FACE_LOST
    leak_and_desync = {**good, "identity_similarity_to_target": 0.99, "sync_nme": 1.0}
    assert _code(verdict(leak_and_desync, s)) is Reason.IDENTITY_UNCHANGED  # the leak is reported first
    assert _code(verdict({**good, "sync_nme": s.max_nme * 1.01}, s)) is Reason.LANDMARK_DESYNC
    assert _code(verdict({**good, "sync_pose_worst_axis": s.max_pose_worst_axis + 1}, s)) is Reason.POSE_DESYNC
    expression_off = {**good, "sync_expression_dynamic": s.max_expression_dynamic + 1}
    assert _code(verdict(expression_off, s)) is Reason.EXPRESSION_DESYNC
    assert _code(verdict({**good, "jitter_excess": s.max_jitter_excess + 1}, s)) is Reason.TEMPORAL_JITTER
    assert _code(verdict({**good, "identity_similarity_to_target": None}, s)) is Reason.IDENTITY_UNCHANGED
    code, detail = verdict({**good, "sync_nme_p95": s.max_nme_p95 * 2}, s)
    assert code is Reason.LANDMARK_DESYNC and "p95" in detail  # the detail says which of the two limits


def _code(rejected):
    """The code of a verdict (None when the pair is kept)."""
    return None if rejected is None else rejected[0]


@pytest.fixture(scope="module")
def real_clip(tmp_path_factory, shared_data):
    """A 24-frame 160-px head clip of a real talking-head video and the same clip lagged by 6 frames."""
    from headswapbench.pipelines.ingest import IngestSettings, ingest_video

    from headswapbench.video import read_video, write_video

    work = tmp_path_factory.mktemp("filter_real")
    rec = ingest_video(
        "lp_d12",
        shared_data / "videos" / "lp_d12.mp4",
        work,
        IngestSettings(frames=30, size=160, max_clips_per_video=1),
    )
    clip = work / rec["clips"][0]["file"]
    v = read_video(clip)
    target = write_video(work / "target.mp4", v.frames[6:], fps=v.fps)
    lagged = write_video(work / "lagged.mp4", v.frames[:-6], fps=v.fps)
    return target, lagged


def test_real_clip_paired_with_itself_is_an_identity_leak(real_clip):
    target, _ = real_clip
    with pytest.raises(SkipItem) as exc:
        filter_pair(target, target, FilterSettings())
    assert exc.value.code is Reason.IDENTITY_UNCHANGED
    assert exc.value.scores["sync_nme"] == pytest.approx(0.0, abs=1e-9)
    assert exc.value.scores["identity_similarity_to_target"] > 0.99


def test_real_clip_out_of_sync_is_rejected_with_scores(real_clip):
    target, lagged = real_clip
    s = FilterSettings(max_identity_similarity=1.01)  # isolate the synchronisation checks
    with pytest.raises(SkipItem) as exc:
        filter_pair(target, lagged, s)
    assert exc.value.code in {Reason.LANDMARK_DESYNC, Reason.EXPRESSION_DESYNC, Reason.POSE_DESYNC}
    assert exc.value.scores["sync_nme"] > 0
