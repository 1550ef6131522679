"""Head editors: registry, prompt bank, the offline warp editor on real video, and the diffusers editor's full
code path on a tiny random AnimateDiff + ControlNet pipeline built from configs (offline)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from headswapbench.pipelines.edit import (
    EDITORS,
    HeadEditor,
    head_mask,
    load_prompt_bank,
    make_editor,
    render_landmarks,
    sample_prompt,
)

from headswapbench.errors import HeadSwapBenchError, MissingWeightsError, RegistryError
from headswapbench.types import Video


@pytest.fixture(scope="module")
def real_clip(shared_data):
    from headswapbench.video import read_video

    return read_video(shared_data / "videos" / "lp_d10.mp4", num_frames=6, size=160)


@pytest.fixture(scope="module")
def clip_lms(real_clip):
    from headswapbench.pipelines.edit import clip_landmarks

    return clip_landmarks(real_clip)


@pytest.fixture
def one_thread():
    """Tiny torch models on a shared 2-core CI box are several times faster single-threaded."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_registry_names_and_errors():
    assert {"warp", "diffusers"} <= set(EDITORS.names())
    with pytest.raises(RegistryError, match="Did you mean 'warp'"):
        make_editor("wrap")
    with pytest.raises(HeadSwapBenchError, match=r"no option\(s\) \['colour'\]"):
        make_editor("warp", colour="red")


def test_apply_enforces_the_contract():
    class Shrinker(HeadEditor):
        name = "shrinker"

        def edit(self, clip, prompt, seed):
            return Video(clip.frames[:, ::2, ::2].copy(), clip.fps)

    clip = Video(np.zeros((3, 8, 8, 3), np.uint8), 25.0)
    with pytest.raises(HeadSwapBenchError, match="returned frames .* expected"):
        Shrinker().apply(clip, "p", 0)


def test_prompt_bank_sampling_is_seeded_and_covers_the_bank():
    bank = load_prompt_bank()
    assert sample_prompt(11) == sample_prompt(11)
    draws = [sample_prompt(s)[1] for s in range(300)]
    for key, values in bank["attributes"].items():
        seen = {d[key] for d in draws}
        expected = set(values) if key != "facial_hair" else set(values) | {"no facial hair"}
        assert seen == expected, key  # every value reachable, nothing outside the bank
    for d in draws:  # facial hair only where the bank allows it
        if d["gender_presentation"] not in bank["rules"]["facial_hair_only_for"]:
            assert d["facial_hair"] == "no facial hair"
    prompt, attrs = sample_prompt(5)
    for key in bank["attributes"]:
        assert attrs[key] in prompt
    assert attrs["prompt_bank_version"] == bank["version"]


def test_head_mask_covers_face_and_hair_not_background(real_clip, clip_lms):
    T, H, W = real_clip.frames.shape[:3]
    m = head_mask(clip_lms, H, W)
    assert m.shape == (T, H, W) and m.dtype == np.float32
    for t in range(T):
        xy = np.round(clip_lms[t, :, :2]).astype(int)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < W) & (xy[:, 1] >= 0) & (xy[:, 1] < H)
        assert m[t][xy[inside, 1], xy[inside, 0]].min() > 0.5  # every landmark under the mask
        top = int(np.nanmin(clip_lms[t, :, 1]))
        cx = int(np.nanmean(clip_lms[t, :, 0]))
        face_h = np.nanmax(clip_lms[t, :, 1]) - top
        assert m[t, max(0, int(top - 0.2 * face_h)), cx] > 0.5  # the hair above the forehead
        assert m[t, -1, 0] == 0 and m[t, -1, -1] == 0  # shoulders/background corners untouched


def test_render_landmarks_draws_on_the_face(real_clip, clip_lms):
    T, H, W = real_clip.frames.shape[:3]
    drawn = render_landmarks(clip_lms, H, W)
    assert drawn.shape == (T, H, W, 3) and drawn.dtype == np.uint8
    lit = drawn.max(-1) > 0
    x0, y0 = np.nanmin(clip_lms[0, :, :2], 0).astype(int)
    x1, y1 = np.nanmax(clip_lms[0, :, :2], 0).astype(int)
    assert lit[0, y0:y1 + 1, x0:x1 + 1].sum() > 0.95 * lit[0].sum() > 0  # drawing lies on the face box


def test_warp_editor_moves_a_donor_face_along_the_clip(real_clip, clip_lms, shared_data):
    from headswapbench.face import analyze_video

    editor = make_editor("warp", donors=str(shared_data / "images"))
    prompt, attrs = editor.sample_prompt(3)
    assert prompt == f"donor:{attrs['donor']}" and any((shared_data / "images").glob(f"{attrs['donor']}.*"))
    assert editor.sample_prompt(3) == (prompt, attrs)
    out = editor.apply(real_clip, prompt, 3)
    assert out.frames.shape == real_clip.frames.shape and out.fps == real_clip.fps
    mask = head_mask(clip_lms, *real_clip.frames.shape[1:3])
    diff = np.abs(out.frames.astype(np.int16) - real_clip.frames).mean(-1)
    assert diff[mask > 0.9].mean() > 5.0  # the face changed (mask includes hair the warp leaves alone)
    assert diff[mask < 0.01].mean() < 1.0  # background and body did not
    # ... and still follows the clip: landmarks of the edited clip stay on the original's (NME / inter-ocular)
    edited = analyze_video(out, identity=None, progress=False, cache=False).landmarks
    iod = np.linalg.norm(clip_lms[:, 33, :2] - clip_lms[:, 263, :2], axis=-1)
    nme = np.nanmean(np.linalg.norm(edited[..., :2] - clip_lms[..., :2], axis=-1), axis=1) / iod
    assert np.nanmax(nme) < 0.15
    assert editor.describe()["options"]["num_donors"] == len(
        [p for p in (shared_data / "images").iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"}])


def test_warp_donor_choice_is_stable_when_donors_are_added(tmp_path):
    from headswapbench.pipelines.edit import WarpEditor

    folder = tmp_path / "donors"
    folder.mkdir()
    for i in range(6):
        (folder / f"p{i}.png").write_bytes(b"")  # only names matter for the choice
    before = {s: WarpEditor(donors=folder).donor_for_seed(s) for s in range(400)}
    assert len(set(before.values())) == 6
    (folder / "p6.png").write_bytes(b"")
    after = {s: WarpEditor(donors=folder).donor_for_seed(s) for s in range(400)}
    moved = [s for s in before if after[s] != before[s]]
    assert all(after[s] == "p6" for s in moved) and 20 < len(moved) < 100  # ~1/7 move, all to the newcomer


def test_warp_editor_bad_donor_folder(tmp_path):
    with pytest.raises(HeadSwapBenchError, match="does not exist"):
        make_editor("warp", donors=str(tmp_path / "nope")).sample_prompt(0)
    (tmp_path / "notes.txt").write_text("no photos here")
    with pytest.raises(HeadSwapBenchError, match="has no photos"):
        make_editor("warp", donors=str(tmp_path)).sample_prompt(0)


def test_diffusers_editor_tiny_pipeline_end_to_end(real_clip, clip_lms, one_thread):
    editor = make_editor("diffusers", model_id="tiny", steps=2, size=32, context_frames=4, context_stride=2,
                         progress=False)
    assert editor.num_gpus == 0.0 and editor.device == "cpu"
    prompt, _ = editor.sample_prompt(7)
    out = editor.apply(real_clip, prompt, 7)  # 6 frames > context 4: the FreeNoise sliding-window path
    assert out.frames.shape == real_clip.frames.shape and out.frames.dtype == np.uint8 and out.fps == real_clip.fps
    mask = head_mask(clip_lms, *real_clip.frames.shape[1:3])
    diff = np.abs(out.frames.astype(np.int16) - real_clip.frames).mean(-1)
    assert diff[mask < 0.01].max() <= 1  # composited: outside the head the original pixels
    assert diff[mask > 0.99].mean() > 5  # inside: generated pixels (random weights -> far from the input)
    again = editor.apply(real_clip, prompt, 7)
    assert np.array_equal(again.frames, out.frames)  # seeded
    desc = editor.describe()
    assert desc["options"]["model_id"] == "tiny" and json.dumps(desc)


def test_diffusers_editor_gpu_request_and_missing_weights():
    assert make_editor("diffusers", device="cuda").num_gpus == 1.0  # no GPU touched until edit()
    editor = make_editor("diffusers", model_id="someone/not-cached", motion_adapter="someone/no-adapter")
    with pytest.raises(MissingWeightsError, match="someone/no-adapter"):
        editor.pipeline()


def test_warp_editor_skips_a_donor_who_is_the_clips_own_person(shared_data, tmp_path):
    """lp_d19.jpg is a still of the man in lp_d18.mp4 (SOURCES.tsv): as a donor it could not change his identity."""
    import shutil

    from headswapbench.video import read_video

    donors = tmp_path / "donors"
    donors.mkdir()
    shutil.copy(shared_data / "images/lp_d19.jpg", donors / "same_man.jpg")
    shutil.copy(shared_data / "images/fr_biden2.jpg", donors / "other.jpg")
    # the still has his mouth wide open (screening's limit is 0.25): let it pass to test the identity check
    editor = make_editor("warp", donors=str(donors), donor_limits={"max_mouth_open": 0.5})
    seed = next(s for s in range(50) if editor.donor_for_seed(s) == "same_man")
    clip = read_video(shared_data / "videos/lp_d18.mp4", num_frames=6)
    assert editor.sample_prompt(seed)[0] == "donor:same_man"  # without the clip: plain rendezvous choice
    prompt, attrs = editor.sample_prompt(seed, clip=clip)
    assert prompt == "donor:other" and attrs["donors_skipped_same_identity"] == 1


def test_edit_stage_skips_with_the_code_of_the_missing_face(real_clip, tmp_path):
    """No face in the clip: `no_face_to_edit`; no face in the donor photo: `no_donor` (the error carries it)."""
    from headswapbench.pipelines.build import EditStep

    from headswapbench.reasons import Reason
    from headswapbench.runner import SkipItem
    from headswapbench.video import write_image, write_video

    donors = tmp_path / "donors"
    donors.mkdir()
    write_image(donors / "blank.png", np.full((160, 160, 3), 128, np.uint8))
    clip = write_video(tmp_path / "clip.mp4", real_clip)
    with pytest.raises(SkipItem) as exc:
        EditStep(tmp_path / "edit", "warp", {"donors": str(donors)}, seed=0)("c0", str(clip))
    assert exc.value.code is Reason.NO_DONOR and "blank" in exc.value.detail
    faceless = write_video(tmp_path / "grey.mp4", Video(np.full((6, 160, 160, 3), 90, np.uint8), real_clip.fps))
    with pytest.raises(SkipItem) as exc:
        EditStep(tmp_path / "edit", "warp", {}, seed=0)("c1", str(faceless))
    assert exc.value.code is Reason.NO_FACE_TO_EDIT
    assert not (tmp_path / "edit" / "clips").exists()  # nothing written for a skipped clip


# ------------------------------------------------------------------------------------ donor screening
def test_donor_screening_rejects_turned_closed_eyed_and_monochrome_photos(tmp_path, monkeypatch):
    """The embedded sample photos: the astronaut is a usable donor; a 50° profile (t1_face5), downcast eyes
    (t1_face1) and a greyscale photo (Tom Hanks) are not. The scores are cached once per photo."""
    from headswapbench.pipelines.donors import DonorBank

    monkeypatch.setenv("HEADSWAPBENCH_CACHE", str(tmp_path))
    screens = DonorBank(None).screens()
    assert screens["sample:astronaut"].passed, screens["sample:astronaut"].failed
    assert any(f.startswith("yaw") for f in screens["sample:t1_face5"].failed)
    assert any(f.startswith("eye_open") for f in screens["sample:t1_face1"].failed)
    assert any(f.startswith("chroma") for f in screens["sample:tom_hanks"].failed)
    cached = list((tmp_path / "donors").glob("*.json"))
    assert len(cached) == len(screens)
    # a second bank reads the cache: same scores, no face mesh needed
    again = DonorBank(None).screens()
    assert again["sample:astronaut"].scores == screens["sample:astronaut"].scores


def test_donor_screening_limits_apply_without_rescreening(tmp_path, monkeypatch):
    from headswapbench.pipelines.donors import DonorBank, DonorLimits

    monkeypatch.setenv("HEADSWAPBENCH_CACHE", str(tmp_path))
    strict = DonorBank(None, DonorLimits(min_sharpness=10.0))
    with pytest.raises(HeadSwapBenchError, match="no donor photo in the embedded sample photos passed screening"):
        strict.usable()


def test_donor_choice_is_pose_compatible_and_mirrors_when_that_fits():
    from headswapbench.pipelines.donors import DonorBank, DonorScreen

    bank = DonorBank(None)
    lms = np.zeros((478, 3), np.float32)
    base = {"pitch": 0.0}
    bank._screens = {"left": DonorScreen("left", "x", lms, {**base, "yaw": -18.0}),
                     "front": DonorScreen("front", "x", lms, {**base, "yaw": 1.0}),
                     "bad": DonorScreen("bad", "x", lms, {**base, "yaw": 20.0}, failed=["sharpness 0.01"])}
    order = ["bad", "left", "front"]
    turned = bank.choose(order, clip_pose=(17.0, 0.0))  # the clip turns right: the left-turned donor, flipped
    assert turned.donor.donor_id == "left" and turned.mirrored and turned.pose_gap == pytest.approx(1.0)
    frontal = bank.choose(order, clip_pose=(0.0, 2.0))  # 'left' is 18° + 2° off either way: the next one
    assert frontal.donor.donor_id == "front" and not frontal.mirrored
    assert bank.choose(order, clip_pose=None).donor.donor_id == "left"  # no pose: plain order, screened only
    assert bank.choose(order, (0.0, 0.0), exclude={"left", "front"}) is None


def test_warp_editor_records_its_donor_and_screening_in_the_attributes(real_clip, shared_data):
    editor = make_editor("warp", donors=str(shared_data / "images"))
    prompt, attrs = editor.sample_prompt(11, clip=real_clip)
    screen = editor.bank.screens()[attrs["donor"]]
    assert screen.passed and attrs["donor_scores"] == screen.scores
    assert prompt.startswith(f"donor:{attrs['donor']}") and prompt.endswith("|mirrored") == attrs["donor_mirrored"]
    assert attrs["donor_pose_gap_deg"] is not None and len(attrs["clip_pose_deg"]) == 2
    summary = editor.describe()["options"]["donor_screening"]
    assert attrs["donor"] in summary["usable"] and "lp_d9" in summary["rejected"]  # mouth wide open
    out = editor.apply(real_clip, prompt, 11)  # the mirrored prompt (if chosen) reproduces from the prompt alone
    assert out.frames.shape == real_clip.frames.shape


def test_warp_editor_pastes_its_donor_retouched_once(shared_data):
    """The editor warps the donor with its plain skin retouched (`retouch_skin`), computed once per donor and
    mirrored with the photo; screening and identity keep the photo as it is."""
    from headswapbench.warp import retouch_skin

    editor = make_editor("warp", donors=str(shared_data / "images"))
    donor_id = next(d for d, screen in editor.bank.screens().items() if screen.passed)
    raw, lms = editor._donor(donor_id)
    touched, _ = editor._donor(donor_id, retouched=True)
    assert (touched != raw).any()
    np.testing.assert_array_equal(touched, retouch_skin(raw, lms))
    assert editor._donor(donor_id, retouched=True)[0] is touched
    np.testing.assert_array_equal(editor._donor(donor_id, mirrored=True, retouched=True)[0], touched[:, ::-1])


def test_warp_editor_steps_take_only_clear_on_off_values():
    """`--editor-option reshape=False` arrives as the string 'False' (not JSON): it must turn the step off,
    not count as a true string; anything that is not an on/off value is refused with the option's name."""
    from headswapbench.pipelines.edit import WarpEditor

    from headswapbench.errors import HeadSwapBenchError

    editor = WarpEditor(reshape="False", relight="0", keep_target_openings="YES")
    assert editor.engine == {"relight": False, "keep_target_openings": True, "reshape": False}
    assert editor.options()["reshape"] is False
    with pytest.raises(HeadSwapBenchError, match="reshape"):
        WarpEditor(reshape="maybe")
