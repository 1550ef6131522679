"""Ingest: bad inputs are skipped with their reason and the run goes on; crop geometry; windows; subjects."""

from __future__ import annotations

import json

import numpy as np
import pytest
from headswapbench.pipelines.build import BuildConfig, run_build
from headswapbench.pipelines.ingest import (
    GROUPING_RULES,
    IngestSettings,
    cluster_subjects,
    head_window,
    pick_reference,
    read_subjects_csv,
    scan_videos,
    usable_windows,
)

from headswapbench.reasons import Reason
from headswapbench.runner import SkipItem
from headswapbench.video import probe, read_video
from tests.helpers.build_media import make_bad_inputs


@pytest.fixture(scope="module")
def bad_build(tmp_path_factory, shared_data):
    raw = tmp_path_factory.mktemp("bad_raw")
    expected = make_bad_inputs(shared_data / "videos", raw, num_frames=40)
    (raw / "notes.txt").write_text("not a video: ignored by the scan")
    out = tmp_path_factory.mktemp("bad_out")
    cfg = BuildConfig(raw_dir=raw, out_dir=out, ingest=IngestSettings(frames=16, size=128), progress=False)
    report = run_build(cfg, ["ingest"])
    return raw, out, expected, report


def _ingest_records(out):
    (folder,) = (out / ".work").glob("ingest-*")
    recs = {}
    for line in (folder / "manifest.jsonl").read_text().splitlines():
        rec = json.loads(line)
        recs[rec["item_id"]] = rec
    return folder, recs


def test_each_bad_input_is_skipped_with_its_reason_and_the_run_goes_on(bad_build):
    raw, out, expected, report = bad_build
    folder, recs = _ingest_records(out)
    assert set(recs) == {p.stem for p in raw.glob("*.mp4")}  # every video has exactly one record
    for name, tag in expected.items():
        rec = recs[name[:-4]]
        if tag is None:
            assert rec["status"] == "done", (name, rec.get("reason"))
        else:
            assert rec["status"] == "skipped", (name, rec)
            assert rec["code"] == tag, (name, rec["code"], rec["reason"])
            assert rec["reason"].strip(), rec  # and the sentence for people beside the code
    stage = report["stages"]["ingest"]
    assert stage["skipped"] == sum(t is not None for t in expected.values())
    assert stage["failed"] == 0
    assert stage["rejected_by_reason"]["no_video_stream"] == 1
    assert json.loads((out / "build_report.json").read_text())["stages"]["ingest"]["items"] == len(expected)


def test_awkward_inputs_are_handled_not_refused(bad_build):
    raw, out, _, _ = bad_build
    folder, recs = _ingest_records(out)
    vfr = recs["vfr"]["result"]
    assert vfr["is_vfr"] is True and probe(raw / "vfr.mp4").is_vfr
    portrait = recs["portrait"]["result"]
    assert (portrait["width"], portrait["height"]) == (256, 448)
    for rec in (vfr, portrait):
        for clip in rec["clips"]:
            x0, y0, side = clip["window"]
            assert x0 >= 0 and y0 >= 0 and x0 + side <= rec["width"] and y0 + side <= rec["height"]
            v = read_video(folder / clip["file"])
            assert v.frames.shape == (16, 128, 128, 3)
            assert v.fps == rec["fps"] == round(v.fps)  # VFR resampled to a constant, whole rate
    # the portrait frame has padding above and below the person: the window sits on the face, not the middle
    face_top = min(c["window"][1] for c in portrait["clips"])
    assert face_top >= 60


def test_rerun_reuses_the_manifest(bad_build):
    raw, out, expected, _ = bad_build
    cfg = BuildConfig(raw_dir=raw, out_dir=out, ingest=IngestSettings(frames=16, size=128), progress=False)
    report = run_build(cfg, ["ingest"])
    assert report["stages"]["ingest"]["reused_this_run"] == len(expected)
    _, recs = _ingest_records(out)
    lines = next((out / ".work").glob("ingest-*/manifest.jsonl")).read_text().splitlines()
    assert len(lines) == len(recs)  # nothing recorded twice


# ------------------------------------------------------------------------------------------------ geometry
def _boxes(n, cx, cy, side, jitter=0.0, seed=0):
    rng = np.random.default_rng(seed)
    c = np.array([cx, cy]) + rng.normal(0, jitter, (n, 2))
    return np.concatenate([c - side / 2, c + side / 2], axis=1)


def test_head_window_is_fixed_square_around_head_with_hair_room():
    s = IngestSettings(frames=10, size=128)
    boxes = _boxes(10, 320, 260, 100, jitter=3)
    x0, y0, side = head_window(boxes, (640, 480), s)
    assert side == pytest.approx(200, abs=8)  # head_scale × face
    assert x0 + side / 2 == pytest.approx(320, abs=6)
    assert y0 + side / 2 == pytest.approx(260 - 0.2 * 100, abs=6)  # lifted for the hair
    assert (boxes[:, 0] >= x0).all() and (boxes[:, 2] <= x0 + side).all()
    assert (boxes[:, 1] - 35 >= y0).all()  # room for hair above every frame's face box


def test_head_window_shifts_inside_frame_and_refuses_what_cannot_fit():
    s = IngestSettings(frames=10, size=128)
    x0, _, side = head_window(_boxes(5, 70, 240, 100), (640, 480), s)  # face near the left edge
    assert x0 == 0 and side == pytest.approx(200, abs=2)
    with pytest.raises(SkipItem) as exc:  # the head crosses the frame: no fixed window holds it
        head_window(np.concatenate([_boxes(5, 150, 240, 100), _boxes(5, 450, 240, 100)]), (640, 480), s)
    assert exc.value.code is Reason.HEAD_MOTION
    with pytest.raises(SkipItem) as exc:  # face as large as the frame
        head_window(_boxes(5, 100, 100, 190), (200, 200), s)
    assert exc.value.code is Reason.HEAD_CUT_OFF and "200x200" in exc.value.detail  # says what would fit


def test_usable_windows_are_non_overlapping_runs():
    ok = np.ones(50, bool)
    ok[[12, 30]] = False
    assert usable_windows(ok, 10) == [0, 13, 31]
    assert usable_windows(ok, 10, max_clips=2) == [0, 13]
    assert usable_windows(ok, 60) == []


# ------------------------------------------------------------------------------------------ subjects, refs
def test_cluster_subjects_groups_alike_embeddings_with_stable_names():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=128), rng.normal(size=128)
    embs = {"v1": a + 0.05 * rng.normal(size=128), "v2": a + 0.05 * rng.normal(size=128), "v3": b}
    got = cluster_subjects(embs, GROUPING_RULES["dlib"])
    assert got == {"v1": "subj-v1", "v2": "subj-v1", "v3": "subj-v3"}
    assert cluster_subjects({"only": a}, GROUPING_RULES["dlib"]) == {"only": "subj-only"}


def test_pick_reference_comes_from_another_time_window():
    clip = {"start_frame": 50, "num_frames": 20, "identity": None}
    refs = {
        "v": {
            "references": [
                {
                    "frame": 55,
                    "yaw": 0.0,
                    "pitch": 0.0,
                    "sharpness": 90,
                    "file": "a",
                    "identity": None,
                },  # inside clip
                {
                    "frame": 80,
                    "yaw": 1.0,
                    "pitch": 0.0,
                    "sharpness": 90,
                    "file": "b",
                    "identity": None,
                },  # too close
                {"frame": 150, "yaw": 9.0, "pitch": 3.0, "sharpness": 90, "file": "c", "identity": None},
                {"frame": 200, "yaw": 2.0, "pitch": 1.0, "sharpness": 80, "file": "d", "identity": None},
            ]
        }
    }
    ref = pick_reference(clip, "v", refs, {"v": 25}, 0.82)
    assert ref["file"] == "d"  # most frontal outside [25, 95)
    assert (
        pick_reference(
            {**clip, "start_frame": 150},
            "v",
            {"v": {"references": refs["v"]["references"][2:3]}},
            {"v": 25},
            0.82,
        )
        is None
    )


def test_subjects_csv_and_scan(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("x.mp4", "sub/y.MOV", ".hidden.mp4", "z.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [k for k, _ in scan_videos(tmp_path)] == ["sub-y", "x"]
    (tmp_path / "out" / ".work").mkdir(parents=True)
    (tmp_path / "out" / "clip.mp4").write_bytes(b"")
    (tmp_path / "out" / ".work" / "c.mp4").write_bytes(b"")
    assert [k for k, _ in scan_videos(tmp_path, exclude=tmp_path / "out")] == ["sub-y", "x"]
    csv_path = tmp_path / "s.csv"
    csv_path.write_text("video,subject\nx.mp4,alice\nsub/y.MOV,alice\n")
    assert read_subjects_csv(csv_path, tmp_path) == {"x": "alice", "sub-y": "alice"}
    csv_path.write_text("file,who\nx.mp4,alice\n")
    with pytest.raises(Exception, match="video.*subject"):
        read_subjects_csv(csv_path, tmp_path)
