"""The Wan2.1-VACE head editor: window planning (hand-checked cases), the segmented head mask on real video,
the conditioning each window gets (through a recording stand-in pipeline), the whole code path on a tiny random
WanVACEPipeline built from configs (offline), a saved tiny pipeline folder, and the missing-weights error."""

from __future__ import annotations

import json

import numpy as np
import pytest
from headswapbench.pipelines.edit import EDITORS, clip_landmarks, head_mask, make_editor, render_landmarks
from headswapbench.pipelines.vace import (
    DEFAULT_MODEL,
    DONOR_PROMPT,
    MODEL_14B,
    generation_and_composite_masks,
    head_cutout,
    plan_windows,
    segmented_head_mask,
    wan_length,
)

from headswapbench.errors import HeadSwapBenchError, MissingWeightsError


@pytest.fixture(scope="module")
def clip8(shared_data):
    from headswapbench.video import read_video

    return read_video(shared_data / "videos" / "lp_d10.mp4", num_frames=8, size=128)


@pytest.fixture(scope="module")
def lms8(clip8):
    return clip_landmarks(clip8)


@pytest.fixture
def one_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ------------------------------------------------------------------------------------------------ windows
def test_wan_length_is_the_next_4k_plus_1():
    assert [wan_length(n) for n in (1, 2, 5, 6, 9, 80, 81, 82)] == [1, 5, 5, 9, 9, 81, 81, 85]


def test_plan_windows_hand_cases():
    assert plan_windows(6, 81, 17) == [(0, 6)]  # fits: one (padded) window
    assert plan_windows(81, 81, 17) == [(0, 81)]
    assert plan_windows(121, 81, 17) == [(0, 81), (40, 121)]  # the benchmark's 121-frame clips: 2 windows
    assert plan_windows(200, 81, 17) == [(0, 81), (60, 141), (119, 200)]  # evenly spaced, overlaps 21 and 22
    for T in range(82, 400, 7):
        w = plan_windows(T, 81, 17)
        assert w[0][0] == 0 and w[-1][1] == T and all(e - s == 81 for s, e in w)
        assert all(a[1] - b[0] >= 17 for a, b in zip(w, w[1:]))  # every neighbour pair shares ≥ overlap
        assert (len(w) - 1) * 64 + 17 < T  # one window fewer could not cover T with that overlap
    for bad in ((80, 17), (81, 0), (81, 81), (3, 1)):
        with pytest.raises(HeadSwapBenchError, match="vace editor"):
            plan_windows(100, *bad)


# ---------------------------------------------------------------------------------------------- the mask
def test_segmented_head_mask_follows_the_hair_not_the_wall(shared_data):
    from headswapbench.video import read_video

    clip = read_video(shared_data / "videos" / "lp_d10.mp4", num_frames=3, size=256)
    lms = clip_landmarks(clip)
    mask, info = segmented_head_mask(clip.frames, lms)
    assert info == {"segmentation": "selfie", "fallback_frames": 0} and mask.shape == (3, 256, 256)
    ellipse = head_mask(lms, 256, 256, feather=0.0) > 0.5  # the landmark-only mask (diffusers editor's shape)
    # the wall behind her: flat grey-blue, colour of the top-left corner (independent of any segmentation)
    wall_colour = clip.frames[:, :12, :12].reshape(-1, 3).mean(0)
    for t in range(3):
        xy = np.round(lms[t, :, :2]).astype(int)
        assert mask[t][xy[:, 1].clip(0, 255), xy[:, 0].clip(0, 255)].all()  # every landmark covered
        top, cx = int(lms[t, :, 1].min()), int(lms[t, :, 0].mean())
        fh = lms[t, :, 1].max() - top
        assert mask[t, int(top - 0.15 * fh), cx]  # hair above the forehead
        assert not mask[t, min(255, int(lms[t, :, 1].max() + 0.35 * fh)), cx]  # neck/chest below the chin
        wall = np.linalg.norm(clip.frames[t].astype(float) - wall_colour, axis=-1) < 20
        assert (wall & ellipse[t]).sum() > 200  # the ellipse takes in a lot of wall ...
        assert (wall & mask[t]).sum() < 0.15 * (wall & ellipse[t]).sum()  # ... the segmented mask hardly any
    none, info = segmented_head_mask(clip.frames, lms, segmentation="none")
    assert np.array_equal(none, ellipse) and info["segmentation"] == "none"


def test_segmented_head_mask_falls_back_where_no_person_is_found(lms8):
    blank = np.full((len(lms8), 128, 128, 3), 128, np.uint8)  # SYNTHETIC: nobody there for the segmenter
    mask, info = segmented_head_mask(blank, lms8)
    assert info["fallback_frames"] == len(lms8)
    assert np.array_equal(mask, (head_mask(lms8, 128, 128, feather=0.0) > 0.5) | mask)  # ellipse (+ hull)


def test_generation_mask_contains_the_composite(clip8, lms8):
    head, _ = segmented_head_mask(clip8.frames, lms8)
    gen, comp = generation_and_composite_masks(head, lms8)
    assert comp.dtype == np.float32 and 0 <= comp.min() and comp.max() <= 1
    assert (comp[head] == 1).all()  # the whole head is replaced
    assert (comp[~gen] == 0).all()  # nothing outside what the model generated ever changes
    assert (gen >= head).all() and gen.sum() > 1.1 * head.sum()  # room for a head of another shape
    assert ((comp > 0) & (comp < 1)).any()  # feathered, not a hard edge


def test_head_cutout_is_the_head_on_white(shared_data):
    from headswapbench.face import analyze_image
    from headswapbench.video import read_image

    img = read_image(shared_data / "images" / "fr_biden2.jpg")
    lms = np.asarray(analyze_image(img, identity=None).landmarks, np.float32)
    cut = head_cutout(img, lms)
    assert cut.shape[0] < img.shape[0] or cut.shape[1] < img.shape[1]  # cropped to the head
    for corner in (cut[0, 0], cut[0, -1], cut[-1, 0], cut[-1, -1]):
        assert (corner >= 250).all()  # white background
    face_h = lms[:, 1].max() - lms[:, 1].min()
    assert 0.35 < face_h / cut.shape[0] < 0.9


# ----------------------------------------------------------------------------------------- options, prompts
def test_registry_options_and_validation():
    assert "vace" in EDITORS.names()
    assert make_editor("vace", identity="prompt").model_id == DEFAULT_MODEL
    assert make_editor("vace", model_id="14B", identity="prompt").model_id == MODEL_14B
    assert make_editor("vace", device="cuda", identity="prompt").num_gpus == 1.0  # nothing loaded yet
    for bad, match in (({"identity": "face"}, "identity 'face'"), ({"size": 40}, "multiple of 16"),
                       ({"window": 80}, "4k\\+1"), ({"overlap": 81}, "overlap"), ({"control": "depth"}, "control")):
        with pytest.raises(HeadSwapBenchError, match=match):
            make_editor("vace", **bad)


def test_identity_modes_record_donor_and_prompt(shared_data):
    from headswapbench.pipelines.edit import sample_prompt

    donors = str(shared_data / "images")
    ed = make_editor("vace", donors=donors)
    prompt, attrs = ed.sample_prompt(4)
    assert prompt == f"donor:{attrs['donor']} | {DONOR_PROMPT}" and attrs["identity"] == "donor"
    assert any((shared_data / "images").glob(f"{attrs['donor']}.*")) and ed.sample_prompt(4) == (prompt, attrs)
    assert ed.split_prompt(prompt, 4) == (attrs["donor"], DONOR_PROMPT)
    text, bank = sample_prompt(4)
    prompt, attrs = make_editor("vace", identity="prompt").sample_prompt(4)
    assert prompt == text and "donor" not in attrs and attrs["hair_colour"] == bank["hair_colour"]
    prompt, attrs = make_editor("vace", identity="both", donors=donors).sample_prompt(4)
    assert prompt == f"donor:{attrs['donor']} | {text}" and attrs["age"] == bank["age"]
    ed = make_editor("vace", identity="prompt")
    assert ed.split_prompt("a man with red hair", 4) == (None, "a man with red hair")


def test_missing_checkpoint_is_one_clear_error(tmp_path):
    with pytest.raises(MissingWeightsError, match=r"Wan-AI/Wan2\.1-VACE-1\.3B-diffusers") as err:
        make_editor("vace", identity="prompt").pipeline()
    assert "https://huggingface.co/Wan-AI/Wan2.1-VACE-1.3B-diffusers" in str(err.value)
    assert "Traceback" not in str(err.value)
    with pytest.raises(MissingWeightsError, match="local pipeline folder"):
        make_editor("vace", model_id=str(tmp_path / "no-such-pipeline"), identity="prompt").pipeline()


# --------------------------------------------------------------------------------- windows, through a stand-in
class _Recorder:
    """Stands in for WanVACEPipeline: records what each window is given, returns a flat colour per call."""

    def __init__(self):
        self.calls = []

    def __call__(self, **kw):
        from types import SimpleNamespace

        n, value = kw["num_frames"], 0.1 + 0.4 * len(self.calls)
        assert len(kw["video"]) == len(kw["mask"]) == n and n % 4 == 1
        self.calls.append(kw)
        return SimpleNamespace(frames=[np.full((n, kw["height"], kw["width"], 3), value, np.float32)])


def test_windows_get_the_control_inside_and_the_previous_window_as_known_frames(clip8, lms8, shared_data):
    ed = make_editor("vace", size=64, window=5, overlap=2, donors=str(shared_data / "images"), progress=False)
    ed._pipe = rec = _Recorder()
    prompt, attrs = ed.sample_prompt(1, clip=clip8)
    out = ed.apply(clip8, prompt, 1)
    assert [c["num_frames"] for c in rec.calls] == [5, 5]  # plan_windows(8, 5, 2) == [(0, 5), (3, 8)]
    assert all(c["prompt"] == DONOR_PROMPT and c["height"] == c["width"] == 64 for c in rec.calls)
    ref = np.asarray(rec.calls[0]["reference_images"][0])
    assert (ref[0, 0] >= 250).all()  # the donor's head cut out on white
    cond = ed.conditioning(clip8, lms8)
    control = np.asarray(render_landmarks(lms8, 128, 128))
    from headswapbench.video import resize_frames

    control = resize_frames(control, (64, 64))
    first_video = np.stack([np.asarray(f) for f in rec.calls[0]["video"]])
    first_mask = np.stack([np.asarray(m) for m in rec.calls[0]["mask"]]) > 127
    assert np.array_equal(first_mask, cond["gen"][:5])  # white = generate = the grown head mask
    assert np.array_equal(first_video[first_mask], control[:5][first_mask])  # face mesh inside
    assert np.array_equal(first_video[~first_mask], cond["frames"][:5][~first_mask])  # original outside
    second_mask = np.stack([np.asarray(m) for m in rec.calls[1]["mask"]]) > 127
    assert not second_mask[:2].any() and np.array_equal(second_mask[2:], cond["gen"][5:8])  # 2 shared: known
    second_video = np.stack([np.asarray(f) for f in rec.calls[1]["video"]]).astype(float)
    head = cond["comp_m"][3:5] == 1.0
    assert np.abs(second_video[:2][head] - 0.1 * 255).max() <= 1  # known = window 1's output, composited
    assert rec.calls[0]["generator"].initial_seed() != rec.calls[1]["generator"].initial_seed()
    # the result: window 1's colour, cross-faded over the shared frames 3-4, window 2's colour after
    comp = cond["comp"]
    expect = {0: 0.1, 2: 0.1, 3: 0.1 * 2 / 3 + 0.5 / 3, 4: 0.1 / 3 + 0.5 * 2 / 3, 5: 0.5, 7: 0.5}
    for t, v in expect.items():
        assert np.abs(out.frames[t][comp[t] > 0.999].astype(float) - v * 255).max() <= 1.5, t
    outside = comp == 0
    assert np.array_equal(out.frames[outside], clip8.frames[outside])  # body and background: original pixels


# ------------------------------------------------------------------------------------------- tiny pipeline
def test_tiny_pipeline_end_to_end(clip8, lms8, shared_data, one_thread):
    ed = make_editor("vace", model_id="tiny", steps=2, size=32, window=5, overlap=2,
                     donors=str(shared_data / "images"), progress=False)
    assert ed.num_gpus == 0.0 and ed.device == "cpu" and ed.dtype == "float32"
    prompt, attrs = ed.sample_prompt(7, clip=clip8)
    out = ed.apply(clip8, prompt, 7)  # 8 frames, window 5: two windows, the second carrying 2 known frames
    assert out.frames.shape == clip8.frames.shape and out.frames.dtype == np.uint8 and out.fps == clip8.fps
    head, _ = segmented_head_mask(clip8.frames, lms8)
    gen, comp = generation_and_composite_masks(head, lms8)
    diff = np.abs(out.frames.astype(np.int16) - clip8.frames).mean(-1)
    assert diff[~gen].max() == 0  # composited: outside the generated region the original pixels
    assert diff[comp > 0.99].mean() > 5  # inside: generated (random weights -> far from the input)
    assert np.array_equal(ed.apply(clip8, prompt, 7).frames, out.frames)  # seeded
    desc = ed.describe()
    assert desc["options"]["model_id"] == "tiny" and desc["options"]["donor_bank"]["num_donors"] > 1
    assert json.dumps(desc)


def test_a_saved_tiny_pipeline_loads_from_its_folder_offline(tmp_path):
    import torch
    from headswapbench.pipelines.vace import build_tiny_pipeline

    pipe = build_tiny_pipeline(seed=3)
    pipe.save_pretrained(tmp_path / "tiny-vace")
    ed = make_editor("vace", model_id=str(tmp_path / "tiny-vace"), identity="prompt", progress=False)
    loaded = ed.pipeline()
    assert type(loaded).__name__ == "WanVACEPipeline" and loaded.vae.dtype == torch.float32
    assert type(loaded.scheduler).__name__ == "UniPCMultistepScheduler"
    assert loaded.scheduler.config.prediction_type == "flow_prediction"
    a, b = pipe.transformer.state_dict(), loaded.transformer.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_build_cli_runs_the_vace_editor_on_a_real_clip(shared_data, tmp_path, one_thread):
    """`headswapbench build RAW OUT --editor vace` with a saved tiny pipeline folder: one real clip is cut,
    edited (right frame count, size and fps) and recorded with the editor's settings and the donor it wears."""
    from headswapbench.pipelines.vace import build_tiny_pipeline

    from headswapbench.cli.main import main
    from headswapbench.video import probe, read_video

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "lp_d12.mp4").symlink_to(shared_data / "videos" / "lp_d12.mp4")
    build_tiny_pipeline().save_pretrained(tmp_path / "tiny-vace")
    out = tmp_path / "out"
    rc = main(["build", str(raw), str(out), "--editor", "vace", "--editor-option", f"model_id={tmp_path / 'tiny-vace'}",
               "--editor-option", "size=32", "--editor-option", "steps=2", "--editor-option", "progress=false",
               "--donors", str(shared_data / "images"), "--frames", "16", "--size", "96",
               "--max-clips-per-video", "1", "--stage", "ingest", "--stage", "edit", "--no-progress", "--json"])
    assert rc == 0
    report = json.loads((out / "build_report.json").read_text())
    assert report["stages"]["edit"]["done"] == report["stages"]["ingest"]["clips_cut"] == 1
    opts = report["settings"]["editor"]["options"]
    assert report["settings"]["editor"]["name"] == "vace" and opts["model_id"] == str(tmp_path / "tiny-vace")
    (edited,) = list(out.glob(".work/edit-*/clips/*.mp4"))
    (source,) = list(out.glob(".work/ingest-*/clips/*.mp4"))
    assert read_video(edited).frames.shape == read_video(source).frames.shape == (16, 96, 96, 3)
    assert abs(probe(edited).fps - probe(source).fps) < 1e-3
    (record,) = [json.loads(line) for m in out.glob(".work/edit-*/manifest*.jsonl") for line in m.read_text().splitlines()
                 if line.strip() and '"clips/' in line]
    assert record["result"]["attributes"]["donor"] in record["result"]["prompt"]
