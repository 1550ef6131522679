"""The artifact gate (pipelines/artifacts.py) on real footage: a clean warp edit of a real clip passes, and
the same edit broken on purpose in each way the gate is calibrated on (dark smear, ghosting, blur, erased
brows, washed-out skin, a melted face, holes, brown blotches) is rejected by the filter as ``edit_artifact``
with its scores; so is an edit of a glasses-wearing clip that leaves the frames showing through."""

from __future__ import annotations

import numpy as np
import pytest
from headswapbench.pipelines.artifacts import (
    BROKEN_KINDS,
    OCCLUDER_NEUTRAL,
    ArtifactSettings,
    artifact_scores,
    artifact_verdict,
    badness,
    blotch_share,
    break_edit,
    canonical_regions,
    relative_warmth,
)
from headswapbench.pipelines.filter import FilterSettings, filter_pair, verdict

from headswapbench.reasons import Reason
from headswapbench.runner import SkipItem
from headswapbench.types import Video

FILTER = FilterSettings(identity_samples=2)


@pytest.fixture(scope="module")
def clean_edit(tmp_path_factory, shared_data):
    """A 24-frame 256² head clip of lp_d18 (ingested as the build does) and its warp edit with the embedded
    donors (V_a, V_c paths), plus V_c's landmarks."""
    from headswapbench.pipelines.edit import make_editor
    from headswapbench.pipelines.ingest import IngestSettings, ingest_video

    from headswapbench.face import analyze_video
    from headswapbench.video import read_video, write_video

    work = tmp_path_factory.mktemp("artifacts_real")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEADSWAPBENCH_CACHE", str(work / "cache"))
        rec = ingest_video("lp_d18", shared_data / "videos" / "lp_d18.mp4", work,
                           IngestSettings(frames=24, size=256, max_clips_per_video=1))
        target = work / rec["clips"][0]["file"]
        clip = read_video(target)
        editor = make_editor("warp")
        prompt, _ = editor.sample_prompt(0, clip=clip)
        driving = write_video(work / "driving.mp4", editor.apply(clip, prompt, 0))
        lms = analyze_video(driving, identity=None, progress=False).landmarks
    return target, driving, lms


def test_a_clean_edit_passes_the_gate(clean_edit):
    target, driving, _ = clean_edit
    try:
        scores = filter_pair(target, driving, FILTER)
    except SkipItem as exc:  # another check may reject it (the warp keeps hair and head shape); not this one
        assert exc.code is not Reason.EDIT_ARTIFACT, exc.reason
        scores = exc.scores
    assert scores["artifact_score"] < 1.0, scores
    assert scores["artifact_frames"] == ArtifactSettings().samples


@pytest.mark.parametrize("kind", BROKEN_KINDS)
def test_each_broken_kind_is_rejected_as_edit_artifact(clean_edit, kind, tmp_path):
    from headswapbench.video import read_video, write_video

    target, driving, lms = clean_edit
    clip = read_video(driving)
    broken = write_video(tmp_path / f"{kind}.mp4", Video(break_edit(clip.frames, lms, kind, seed=3), clip.fps))
    with pytest.raises(SkipItem) as exc:
        filter_pair(target, broken, FILTER)
    assert exc.value.code is Reason.EDIT_ARTIFACT, (exc.value.code, exc.value.reason)
    assert exc.value.scores["artifact_score"] >= 1.0
    assert exc.value.scores["artifact_check"] in exc.value.reason


def test_blotch_share_counts_brown_spots_and_not_shadows():
    """SYNTHETIC canonical faces: plain skin has no blotch; brown disks (r = 3 px) count about as much skin
    as they cover (counted independently, from the drawn disks; the σ = 1 px blur loses their rims); a shadow
    over half the face, and grey spots as dark as the brown ones, are darker but not browner: not blotches."""
    import cv2

    reg = canonical_regions()

    def lab(img):
        return cv2.cvtColor(np.clip(img, 0, 255).astype(np.float32) / 255, cv2.COLOR_RGB2LAB)

    skin = np.zeros((*reg.skin.shape, 3), np.float32)
    skin[:] = (200, 150, 120)
    assert blotch_share(lab(skin), reg.skin) == 0.0
    ys, xs = np.nonzero(reg.skin)
    spots = np.zeros(reg.skin.shape, np.uint8)
    for k in np.random.default_rng(0).choice(len(ys), 14, replace=False):
        cv2.circle(spots, (int(xs[k]), int(ys[k])), 3, 1, -1)
    covered = float(np.mean(spots[reg.skin] > 0))
    brown = skin.copy()
    brown[spots > 0] *= np.array([0.66, 0.56, 0.48], np.float32)
    assert abs(blotch_share(lab(brown), reg.skin) - covered) < 0.25 * covered
    grey = skin.copy()
    grey[spots > 0] *= 0.56
    assert blotch_share(lab(grey), reg.skin) < 0.1 * covered
    xx = np.arange(reg.skin.shape[1])[None, :, None]
    shadow = skin * (1 - 0.35 * np.clip((xx - 64) / 20.0, 0, 1))
    assert blotch_share(lab(shadow), reg.skin) < 0.01


def test_brown_blotches_on_a_real_edit_fail_the_blotch_check(clean_edit, tmp_path):
    """A real clean edit passes ``blotchy``; the same edit with SYNTHETIC brown blotches (`break_edit`)
    fails it, by a margin."""
    from headswapbench.face import analyze_video
    from headswapbench.video import read_video, write_video

    target, driving, lms = clean_edit
    s = ArtifactSettings()
    a = analyze_video(target, identity=None, progress=False)
    clean = artifact_scores(target, driving, a, analyze_video(driving, identity=None, progress=False))
    assert clean["blotch_patch"] < s.max_blotch_patch, clean
    clip = read_video(driving)
    path = write_video(tmp_path / "blotchy.mp4", Video(break_edit(clip.frames, lms, "blotchy", seed=3), clip.fps))
    broken = artifact_scores(target, path, a, analyze_video(path, identity=None, progress=False))
    assert broken["blotch_patch"] > s.max_blotch_patch > clean["blotch_patch"] + 0.03, broken
    assert "blotchy: blotch_patch" in artifact_verdict(broken, s)


def draw_glasses(frames: np.ndarray, landmarks: np.ndarray, opacity: float) -> np.ndarray:
    """SYNTHETIC glasses: two dark grey rims around the eyes (0.45 × 0.3 inter-ocular distances), the bridge
    and the arms to the face's sides, 0.012 face heights thick, blended in at ``opacity``."""
    import cv2

    from headswapbench import warp as W
    from headswapbench.face import topology as topo

    out = np.array(frames, copy=True)
    for t, frame in enumerate(out):
        pts = W.face_points(np.asarray(landmarks[t], np.float64))
        eyes = [pts[topo.RIGHT_EYE].mean(axis=0), pts[topo.LEFT_EYE].mean(axis=0)]
        iod = float(np.linalg.norm(eyes[1] - eyes[0]))
        width = max(1, round(0.012 * W.face_height(pts)))
        layer = frame.copy()
        for c, sign in zip(eyes, (-1, 1) if eyes[0][0] < eyes[1][0] else (1, -1)):
            rx, ry = 0.45 * iod, 0.3 * iod
            cv2.ellipse(layer, (round(c[0]), round(c[1])), (round(rx), round(ry)), 0, 0, 360, (60, 60, 65), width)
            cv2.line(layer, (round(c[0] + sign * rx), round(c[1])), (round(c[0] + sign * 1.1 * iod), round(c[1] - 0.05 * iod)),
                     (60, 60, 65), width)
        inner = sorted(eyes, key=lambda c: c[0])
        cv2.line(layer, (round(inner[0][0] + 0.45 * iod), round(inner[0][1])),
                 (round(inner[1][0] - 0.45 * iod), round(inner[1][1])), (60, 60, 65), width)
        out[t] = np.round(frame + opacity * (layer.astype(np.float32) - frame)).astype(np.uint8)
    return out


def test_relative_warmth_finds_a_grey_frame_on_skin():
    """SYNTHETIC canonical face: plain skin (lit or in shade) is ≈ 1 against itself; the pixels of a dark grey
    line drawn across the eye band are below `OCCLUDER_NEUTRAL` (counted from the drawn line); in grey
    footage nothing is (no skin chroma to stand out from)."""
    import cv2

    reg = canonical_regions()
    skin = np.zeros((*reg.skin.shape, 3), np.float32)
    skin[:] = (200, 150, 120)
    skin[:, 64:] *= 0.6  # one half in shade: the same skin
    line = np.zeros(reg.skin.shape, np.uint8)
    cv2.line(line, (10, 52), (118, 52), 1, 2)
    framed = skin.copy()
    framed[line > 0] = (60, 60, 65)

    def warmth(img):
        return relative_warmth(cv2.cvtColor(img / 255, cv2.COLOR_RGB2LAB), reg)

    assert np.abs(warmth(skin) - 1).max() < 0.05
    on = (line > 0)[reg.eye_band]
    assert on.sum() > 20 and np.all(warmth(framed)[on] < OCCLUDER_NEUTRAL)
    grey = framed.mean(axis=-1, keepdims=True).repeat(3, axis=-1)  # grey footage: nothing to tell it by
    assert np.all(warmth(grey) == 1.0)


def test_glasses_showing_through_an_edit_fail_the_occluder_check(clean_edit, tmp_path):
    """SYNTHETIC glasses drawn on the real clip V_a: its clean edit (the face replaced, no frames) passes
    ``occluder``; the same edit with the frames showing through at 85 % strength (ghosted glasses) fails.
    (At half strength they pass: the check sees strong remnants only, docs/build.md.)"""
    from headswapbench.face import analyze_video
    from headswapbench.video import read_video, write_video

    target, driving, _ = clean_edit
    s = ArtifactSettings()
    va = read_video(target)
    a_lms = analyze_video(target, identity=None, progress=False).landmarks
    glasses = write_video(tmp_path / "glasses.mp4", Video(draw_glasses(va.frames, a_lms, 1.0), va.fps))
    a = analyze_video(glasses, identity=None, progress=False)
    clean = artifact_scores(glasses, driving, a, analyze_video(driving, identity=None, progress=False))
    assert clean["occluder_remnant"] < 0.3 * s.max_occluder_remnant, clean
    vc = read_video(driving)
    # where the clip's glasses are (V_a's landmarks): the edit moved its features to the donor's proportions,
    # and the glasses that show through are the frame's own, at the temples and around the eyes
    ghosted = write_video(tmp_path / "ghosted.mp4", Video(draw_glasses(vc.frames, a_lms, 0.85), vc.fps))
    broken = artifact_scores(glasses, ghosted, a, analyze_video(ghosted, identity=None, progress=False))
    assert broken["occluder_remnant"] > 1.2 * s.max_occluder_remnant, broken
    assert "occluder: occluder_remnant" in artifact_verdict(broken, s)


def test_a_real_clip_against_itself_re_encoded_is_clean(clean_edit, tmp_path):
    """Same face, same pixels up to the codec (CRF 30, heavier than the build's 18): every ratio near 1,
    structure near 1, no patch."""
    from headswapbench.face import analyze_video
    from headswapbench.video import read_video, write_video

    target, _, _ = clean_edit
    again = write_video(tmp_path / "again.mp4", read_video(target), crf=30)
    a = analyze_video(target, identity=None, progress=False)
    b = analyze_video(again, identity=None, progress=False)
    s = artifact_scores(target, again, a, b)
    assert s["artifact_score"] < 1.0 and s["structure"] > 0.9  # CRF 30 costs sharpness (≈ 0.92), no more
    assert s["dark_patch"] < 0.02 and s["hole_patch"] < 0.02 and abs(s["sharpness_ratio"] - 1) < 0.15
    assert abs(s["chroma_ratio"] - 1) < 0.05 and s["feature_presence"] > 0.9


def test_gate_limits_badness_and_missing_scores():
    s = ArtifactSettings()
    ok = {"hole_patch": 0.0, "dark_patch": 0.0, "patch_delta_e": 1.0, "chroma_ratio": 1.0, "contrast_ratio": 1.0,
          "sharpness_ratio": 1.0, "structure": 0.9, "feature_presence": 1.0, "flicker": 1.0, "side_dark": 0.05, "texture_ratio": 1.0,
          "blotch_patch": 0.0, "occluder_remnant": 0.0, "artifact_score": 0.5}
    assert artifact_verdict(ok, s) is None
    bad = badness({**ok, "sharpness_ratio": s.min_sharpness_ratio / 2}, s)
    assert bad["blur"] == pytest.approx(2.0) and bad["noise"] < 1
    assert "blur: sharpness_ratio" in artifact_verdict({**ok, "sharpness_ratio": 0.1}, s)
    assert "flicker" in artifact_verdict({k: v for k, v in ok.items() if k != "flicker"}, s)  # missing fails
    assert artifact_verdict({**ok, "side_dark": s.max_side_dark * 1.1}, s).startswith("side_dark: side_dark")
    assert artifact_verdict({**ok, "texture_ratio": s.max_texture_ratio * 1.1}, s).startswith("mottled: texture_ratio")
    assert artifact_verdict({**ok, "blotch_patch": s.max_blotch_patch * 1.1}, s).startswith("blotchy: blotch_patch")
    assert artifact_verdict({**ok, "blotch_patch": -0.2}, s) is None  # fewer blotches than V_a: fine
    assert artifact_verdict({**ok, "occluder_remnant": s.max_occluder_remnant * 1.1}, s).startswith("occluder: ")
    assert artifact_verdict({**ok, "artifact_score": None}, s).startswith("no frame")
    # in the filter: after a lost face, before the identity leak
    base = {"face_ratio": 1.0, "frames_compared": 10, "sync_nme": 0.01, "sync_nme_p95": 0.02,
            "sync_expression_dynamic": 0.0, "sync_pose_worst_axis": 1.0, "identity_similarity_to_target": 0.99,
            "identity_threshold": 0.9,
            "jitter_excess": 0.0}
    f = FilterSettings()
    code, detail = verdict({**base, **ok, "structure": 0.1}, f)
    assert code is Reason.EDIT_ARTIFACT and detail.startswith("structure: structure 0.1 < ")
    assert verdict({**base, **ok, "structure": 0.1, "face_ratio": 0.1}, f)[0] is Reason.FACE_LOST
    assert verdict({**base, **ok}, f)[0] is Reason.IDENTITY_UNCHANGED
    assert np.isfinite(list(badness(ok, s).values())).all()


def test_per_feature_alignment_registers_moved_features(shared_data):
    """A real face and the same face with its features moved to another person's proportions (the warp
    editor's reshape): aligned feature by feature their fine structure matches (what `structure` compares);
    after the similarity fit the displaced features do not."""
    import cv2
    from headswapbench.pipelines.artifacts import _bandpass, _ncc, align_face

    from headswapbench import reshape
    from headswapbench import warp as W
    from headswapbench.face import analyze_image
    from headswapbench.video import read_image

    frame = read_image(shared_data / "images" / "fr_biden2.jpg")
    lms = analyze_image(frame, identity=None).landmarks
    other = analyze_image(read_image(shared_data / "images" / "edtalk_leijun.png"), identity=None).landmarks
    offsets, _ = reshape.shape_offsets(other, lms[None].astype(np.float64))
    moved = reshape.reshape_landmarks(lms[None].astype(np.float64), offsets)[0]
    warped, covered = W.warp_image(frame, W.face_points(lms), W.face_points(moved), frame.shape, W.canonical_mesh().triangles)
    edit = np.where(covered[..., None], warped, frame)
    reg = canonical_regions()

    def ncc(per_feature):
        a, b = align_face(frame, lms, per_feature), align_face(edit, moved, per_feature)
        band = [_bandpass(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32))[reg.face] for x in (a, b)]
        return _ncc(*band)

    assert ncc(True) > 0.85 > ncc(False) + 0.1, (ncc(True), ncc(False))
