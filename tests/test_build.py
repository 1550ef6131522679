"""The whole build on real footage: end to end with the offline warp editor, loadable by `datasets`;
SIGKILL mid-run + resume gives the same bytes as an uninterrupted build; Ray gives the same as in-process."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from headswapbench.pipelines.build import BuildConfig, run_build
from headswapbench.pipelines.edit import HeadEditor
from headswapbench.pipelines.filter import FilterSettings
from headswapbench.pipelines.ingest import IngestSettings

from headswapbench.fileio import sha256_file
from headswapbench.reasons import HINTS, Reason
from headswapbench.split import load_split
from tests.helpers.build_media import make_raw_dir
from tests.helpers.paths import SHARED_DATA

FRAMES, SIZE = 16, 128
# short excerpts (36 frames) → 2 clips per video; a reference 10 frames (0.4 s) away is "another time window"
INGEST = IngestSettings(frames=FRAMES, size=SIZE, ref_gap_s=0.4)
FILTER = FilterSettings(identity_samples=4)  # 4 dlib embeddings per 16-frame clip keep the suite fast
EXCERPTS = [("lp_d12", 0, "a"), ("lp_d12", 120, "b"), ("edtalk_mouth_source", 0, "a")]
SHARED_IMAGES = SHARED_DATA / "images"


def _cfg(raw, out, **kw) -> BuildConfig:
    # donors: ../shared/data/images, as a real build would pass with --donors (of the embedded photos only one
    # passes donor screening, and its face alone cannot change every subject's identity)
    if kw.get("editor", "warp") == "warp":
        kw.setdefault("editor_options", {"donors": str(SHARED_IMAGES)})
    return BuildConfig(
        raw_dir=raw,
        out_dir=out,
        ingest=INGEST,
        filter=FILTER,
        splits={"train": 0.5, "test": 0.5},
        seed=0,
        progress=False,
        **kw,
    )


def dataset_files(out: Path) -> dict[str, str]:
    """Every dataset file (not the work folder, not the timing report) → sha256."""
    files = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_file() and not rel.startswith(".work/") and rel != "build_report.json":  # timings differ
            files[rel] = sha256_file(p)
    return files


def work_media(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): sha256_file(p)
        for p in sorted((out / ".work").rglob("*"))
        if p.is_file() and p.suffix in {".mp4", ".png"}
    }


@pytest.fixture(scope="module")
def raw(tmp_path_factory, shared_data):
    raw = make_raw_dir(shared_data / "videos", tmp_path_factory.mktemp("raw"), num_frames=36, excerpts=EXCERPTS)
    # one input ingest refuses (too short for a 16-frame clip), in a subfolder: the report names it by its path
    make_raw_dir(shared_data / "videos", raw / "sub", num_frames=10, excerpts=[("vretalk_face_5", 0, "short")])
    return raw


@pytest.fixture(scope="module")
def ref_cache(tmp_path_factory) -> Path:
    """The reference build's analysis cache (tests that re-package it reuse its analyses)."""
    return tmp_path_factory.mktemp("cache_ref")


@pytest.fixture(scope="module")
def reference_build(raw, ref_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref_build")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEADSWAPBENCH_CACHE", str(ref_cache))
        report = run_build(_cfg(raw, out))
    return out, report


def test_end_to_end_build_report_and_contract(reference_build):
    out, report = reference_build
    st = report["stages"]
    assert st["ingest"]["done"] == len(EXCERPTS) and st["ingest"]["clips_cut"] == 2 * len(EXCERPTS)
    assert st["edit"]["done"] == st["ingest"]["clips_cut"]
    kept = st["filter"]["done"]
    assert kept >= 3, st["filter"]
    assert st["package"]["rows"] == kept
    saved = json.loads((out / "build_report.json").read_text())
    assert saved["settings"]["ingest"]["frames"] == FRAMES and saved["settings"]["editor"]["name"] == "warp"
    assert set(saved["timings_seconds"]) >= {"ingest", "edit", "filter", "package"}
    subjects = {}
    for split in ("train", "test"):
        sp = load_split(out, split, verify="sha256")
        for row in sp.rows:
            assert row.num_frames == FRAMES and (row.width, row.height) == (SIZE, SIZE)
            assert row.editor == "warp" and row.prompt.startswith("donor:")
            assert row.identity_similarity_to_target < row.extra["identity_threshold"] and row.sync_nme < 0.08
            assert row.extra["artifact_score"] < 1.0  # kept clips passed the artifact gate
            donor = row.extra["attributes"]  # the donor and its screening scores travel with the clip
            assert row.prompt.startswith(f"donor:{donor['donor']}") and donor["donor_scores"]["face_px"] > 0
            subjects.setdefault(row.subject_id, set()).add(split)
            # the reference comes from another time window: another video, or ≥ ref_gap frames away
            if row.extra["reference_video"] == row.source_video:
                lo, hi = row.start_frame - 10, row.start_frame + row.num_frames + 10
                assert not lo <= row.extra["reference_frame"] < hi
    assert all(len(s) == 1 for s in subjects.values())  # identity-disjoint splits
    # the contact sheet: every edited clip, kept or rejected, with its strip inline
    sheet = (out / "contact_sheet.html").read_text()
    assert saved["contact_sheet"] == "contact_sheet.html"
    records = [json.loads(line) for line in next((out / ".work").glob("edit-*/manifest.jsonl")).read_text().splitlines()]
    for rec in records:
        assert f'id="clip-{rec["item_id"]}"' in sheet
    assert sheet.count("data:image/jpeg;base64,") == len(records) == st["edit"]["done"]
    assert sheet.count('<tr class="kept"') == kept
    # the two lp_d12 excerpts are one person: grouped into one subject by identity clustering
    groups = json.loads((out / ".work" / "subjects.json").read_text())["subjects"]
    assert groups["lp_d12_a"] == groups["lp_d12_b"]
    assert len(set(groups.values())) == 2


def test_the_build_says_how_videos_became_subjects(reference_build):
    """The report, the card and the printed table name the grouping rule and each subject's videos when it has
    several, by path under RAW_DIR (so a wrong merge can be seen and fixed with --subjects)."""
    from headswapbench.cli.build import render_report

    out, report = reference_build
    g = report["subjects"]
    subj = g["multi_video_subjects"]
    assert g["method"] == "identity-clustering" and g["backend"] == "dlib" and "average linkage" in g["rule"]
    assert (g["num_videos"], g["num_subjects"]) == (3, 2)
    assert list(subj) == ["subj-lp_d12_a"] and subj["subj-lp_d12_a"]["videos"] == ["lp_d12_a.mp4", "lp_d12_b.mp4"]
    assert subj["subj-lp_d12_a"]["min_similarity"] >= 0.95
    card = (out / "README.md").read_text()
    assert yaml.safe_load(card.split("---\n")[1])["headswapbench"]["subjects"] == g
    assert "- Subjects: 2 from 3 input videos, grouped by identity" in card
    assert "`subj-lp_d12_a`: `lp_d12_a.mp4`, `lp_d12_b.mp4`" in card
    text = render_report(report, out)
    assert "2 subject(s) from 3 video(s), grouped by identity (dlib: " in text
    assert "subj-lp_d12_a: lp_d12_a.mp4, lp_d12_b.mp4" in text and "--subjects CSV" in text


def test_report_accounts_for_every_input_and_clip(raw, reference_build):
    """Every input by its path under RAW_DIR with its fate; cut = kept + Σ rejected per input and in total;
    the stage rows, the per-input CSV and the printed table say the same."""
    from headswapbench.pipelines.accounting import check_balance

    from headswapbench.cli.build import render_report

    out, report = reference_build
    assert check_balance(report) == []
    inputs = {i["input"]: i for i in report["inputs"]}
    assert set(inputs) == {p.relative_to(raw).as_posix() for p in raw.rglob("*.mp4")}
    short = inputs["sub/vretalk_face_5_short.mp4"]
    assert short["fate"] == "skipped" and short["skip"]["code"] == "too_short"
    assert short["skip"]["hint"] == HINTS[Reason.TOO_SHORT]
    v, c = report["totals"]["videos"], report["totals"]["clips"]
    assert v == {"in": len(EXCERPTS) + 1, "used": len(EXCERPTS), "skipped_by_reason": {"too_short": 1},
                 "failed_by_reason": {}, "pending": 0, "with_kept_clips": v["with_kept_clips"]}
    st = report["stages"]
    assert c["cut"] == st["ingest"]["clips_cut"] and c["kept"] == st["package"]["rows"] and c["pending"] == 0
    assert c["rejected_by_stage"].get("filter", {}) == st["filter"]["rejected_by_reason"]
    for name in ("ingest", "edit", "filter", "package"):  # each stage row adds up too
        assert st[name]["items"] == st[name]["done"] + st[name]["skipped"] + st[name]["failed"], st[name]
    assert st["package"]["items"] == st["filter"]["done"]
    for i in report["inputs"]:
        for r in i["rejections"]:
            assert r["count"] == len(r["clips"]) and r["hint"] == HINTS.get(Reason(r["code"]), "")
            assert all(detail for detail in r["clips"].values())  # the human detail travels with each clip
    with open(out / "build_inputs.csv", newline="") as fh:
        assert [row["input"] for row in csv.DictReader(fh)] == [i["input"] for i in report["inputs"]]
    table = render_report(report, out)
    assert all(i["input"] in table for i in report["inputs"]) and "too_short" in table


def test_split_health_and_leak_baseline_in_the_report_and_the_card(reference_build):
    out, report = reference_build
    meta = yaml.safe_load((out / "README.md").read_text().split("---\n")[1])["headswapbench"]
    for name, s in report["splits"].items():
        leak = s["identity_leak_baseline"]
        assert leak == meta["identity_leak_baseline"][name]
        assert leak["chance"] == pytest.approx(1 / s["subjects"], abs=1e-4) and leak["clips"] == s["clips"]
        assert leak["top1"] is None if s["subjects"] == 1 else 0 <= leak["top1"] <= 1
        assert s["clips_per_subject"] == meta["statistics"][name]["clips_per_subject"]
    assert report["warnings"] == meta["health"]["warnings"] and report["warnings"]  # one-subject test split


def test_leak_baseline_on_real_clips_and_on_a_leaky_split(reference_build, ref_cache, tmp_path, monkeypatch):
    """All kept clips in one split: the real driving clips score between 0 and 1 with chance 1/subjects; the
    same split with V_c = V_a (the target's own face as the driving clip) scores 1."""
    from headswapbench.pipelines.filter import identity_stride

    from headswapbench.split import identity_leak_baseline, split_leak_baseline, write_dataset

    monkeypatch.setenv("HEADSWAPBENCH_CACHE", str(ref_cache))
    out, _ = reference_build
    splits = [load_split(out, name) for name in ("train", "test")]
    rows = [r for sp in splits for r in sp.rows]
    every = identity_stride(FRAMES, FILTER)
    honest = identity_leak_baseline([(r.subject_id, sp.driving_path(r), sp.reference_path(r))
                                     for sp in splits for r in sp.rows], identity_every=every)
    subjects = len({r.subject_id for r in rows})
    assert subjects == 2 and honest["chance"] == 0.5 and honest["clips_scored"] == len(rows)
    assert 0.0 <= honest["top1"] <= 1.0
    files = {r.clip_id: {"driving": sp.target_path(r), "reference": sp.reference_path(r),
                         "target": sp.target_path(r)} for sp in splits for r in sp.rows}
    write_dataset(tmp_path / "leaky", {"test": rows}, files)
    leaky = split_leak_baseline(load_split(tmp_path / "leaky", "test"), identity_every=every)
    assert leaky["top1"] == 1.0 and leaky["chance"] == 0.5


def test_max_clips_per_subject_keeps_the_best_synchronised(raw, reference_build, ref_cache, tmp_path, monkeypatch):
    """Re-packaging with --max-clips-per-subject 1: one clip per subject (its lowest sync NME), the others
    recorded as subject_cap, and the ledger still adds up."""
    import shutil

    from headswapbench.pipelines.accounting import check_balance

    monkeypatch.setenv("HEADSWAPBENCH_CACHE", str(ref_cache))
    ref_out, _ = reference_build
    before = [r for name in ("train", "test") for r in load_split(ref_out, name).rows]
    out = tmp_path / "capped"
    shutil.copytree(ref_out, out)
    report = run_build(_cfg(raw, out, max_clips_per_subject=1), ["package"])
    after = [r for name in ("train", "test") for r in load_split(out, name).rows]
    best = {}
    for r in sorted(before, key=lambda r: (r.sync_nme, r.clip_id)):
        best.setdefault(r.subject_id, r.clip_id)
    assert sorted(r.clip_id for r in after) == sorted(best.values())
    assert report["stages"]["package"]["rejected_by_reason"] == {"subject_cap": len(before) - len(after)}
    assert report["totals"]["clips"]["rejected_by_stage"]["package"] == {"subject_cap": len(before) - len(after)}
    assert check_balance(report) == [] and report["settings"]["max_clips_per_subject"] == 1
    meta = yaml.safe_load((out / "README.md").read_text().split("---\n")[1])["headswapbench"]
    assert meta["split"]["max_clips_per_subject"] == 1


def test_subjects_csv_grouping_is_recorded_with_the_pairs_it_keeps_apart(raw, reference_build, ref_cache, tmp_path,
                                                                         monkeypatch):
    """--subjects CSV: the report says so, and flags two videos the CSV keeps apart that look like one person."""
    import shutil

    monkeypatch.setenv("HEADSWAPBENCH_CACHE", str(ref_cache))
    out = tmp_path / "csv"
    shutil.copytree(reference_build[0], out)
    csv_path = tmp_path / "subjects.csv"
    csv_path.write_text("video,subject\nlp_d12_a.mp4,p1\nlp_d12_b.mp4,p2\nedtalk_mouth_source_a.mp4,p1\n")
    g = run_build(_cfg(raw, out, subjects_csv=csv_path), ["package"])["subjects"]
    assert g["method"] == "csv" and g["num_subjects"] == 2
    assert g["multi_video_subjects"]["p1"]["videos"] == ["edtalk_mouth_source_a.mp4", "lp_d12_a.mp4"]
    assert g["closest_apart"][0]["videos"] == ["lp_d12_a.mp4", "lp_d12_b.mp4"]
    assert g["closest_apart"][0]["subjects"] == ["p1", "p2"] and g["closest_apart"][0]["similarity"] >= 0.95


def test_load_dataset_reads_every_split(reference_build, tmp_path):
    datasets = pytest.importorskip("datasets")
    out, _ = reference_build
    for split in ("train", "test"):
        n = len(load_split(out, split).rows)
        # a private datasets cache: its key for a local folder did not change when an earlier session's build
        # of the same-named pytest folder (ref_build0) held other clips, so the shared cache served stale rows
        ds = datasets.load_dataset(str(out), split=split, cache_dir=str(tmp_path / "hf-datasets"))
        assert ds.num_rows == n
        row = ds[0]
        for col in ("driving", "reference", "target"):
            assert any(k.startswith(col) for k in row), ds.column_names


def _cli(raw, out, cache, *extra):
    env = {**os.environ, "HEADSWAPBENCH_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "headswapbench.cli.main",
        "build",
        str(raw),
        str(out),
        "--frames",
        str(FRAMES),
        "--size",
        str(SIZE),
        "--splits",
        "train=0.5,test=0.5",
        "--no-progress",
        *extra,
    ]
    return cmd, env


def test_sigkill_mid_run_then_resume_gives_identical_files(raw, reference_build, tmp_path):
    ref_out, _ = reference_build
    out = tmp_path / "killed"
    # the CLI has no --ref-gap option: pass the test's ingest settings through a tiny driver script
    script = (
        "import sys; from headswapbench.pipelines.build import BuildConfig, run_build;"
        "from headswapbench.pipelines.ingest import IngestSettings;"
        "from headswapbench.pipelines.filter import FilterSettings;"
        f"run_build(BuildConfig(raw_dir=sys.argv[1], out_dir=sys.argv[2], ingest=IngestSettings("
        f"frames={FRAMES}, size={SIZE}, ref_gap_s=0.4), filter=FilterSettings(identity_samples=4), "
        f"splits={{'train': 0.5, 'test': 0.5}}, editor_options={{'donors': {str(SHARED_IMAGES)!r}}}, progress=False))"
    )
    env = {**os.environ, "HEADSWAPBENCH_CACHE": str(tmp_path / "cache_kill"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(raw), str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    killed_in = None
    while time.time() < deadline and proc.poll() is None:
        manifests = list((out / ".work").glob("edit-*/manifest.jsonl")) if (out / ".work").exists() else []
        if manifests and len(manifests[0].read_bytes().splitlines()) >= 3:
            os.kill(proc.pid, signal.SIGKILL)
            killed_in = "edit"
            break
        time.sleep(0.05)
    proc.wait()
    assert killed_in == "edit", "the build finished before it could be killed mid-run"
    assert not (out / "build_report.json").exists()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEADSWAPBENCH_CACHE", str(tmp_path / "cache_resume"))
        report = run_build(_cfg(raw, out))
    assert report["stages"]["edit"]["reused_this_run"] >= 3
    assert dataset_files(out) == dataset_files(ref_out)
    assert work_media(out).keys() == work_media(ref_out).keys()
    for stage in ("ingest", "edit", "filter"):
        (manifest,) = (out / ".work").glob(f"{stage}-*/manifest.jsonl")
        ids = [json.loads(line)["item_id"] for line in manifest.read_text().splitlines()]
        assert len(ids) == len(set(ids)), f"{stage}: an item was recorded twice"
    leftovers = [p for p in out.rglob(".*") if p.is_file()]
    assert leftovers == [], leftovers  # no half-written temp file survives the resume


def test_ray_executor_gives_the_same_dataset(raw, reference_build, tmp_path):
    pytest.importorskip("ray")
    import ray

    ref_out, _ = reference_build
    out = tmp_path / "ray"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"HEADSWAPBENCH_CACHE": str(tmp_path / "cache_ray"), "HF_HUB_OFFLINE": "1"}},
    )
    try:
        report = run_build(_cfg(raw, out, executor="ray"))
    finally:
        ray.shutdown()
    assert report["executor"] == "ray"
    assert dataset_files(out) == dataset_files(ref_out)


def test_cli_stage_by_stage_and_json(raw, tmp_path):
    """`--stage ingest` alone, then the rest: each stage runnable on its own; --json prints the report."""
    out = tmp_path / "cli"
    cmd, env = _cli(raw, out, tmp_path / "cache_cli", "--stage", "ingest", "--json")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    rep = json.loads(res.stdout)
    assert rep["stages_run"] == ["ingest"] and rep["stages"]["ingest"]["done"] == len(EXCERPTS)
    cmd, env = _cli(raw, out, tmp_path / "cache_cli", "--stage", "filter")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert res.returncode == 2 and "edit stage has not run" in res.stderr
    cmd, env = _cli(raw, out, tmp_path / "cache_cli", "--splits", "train=0.5,test=0.7")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert res.returncode == 2 and "sum" in res.stderr


class GpuEditor(HeadEditor):
    """A stand-in editor claiming one GPU per worker (what DiffusersEditor does on a CUDA machine)."""

    name, version, num_gpus = "gpu-stub", "0", 1.0

    def describe(self):
        return {"name": self.name, "version": self.version}


def test_edit_stage_asks_the_executor_for_the_editors_gpus(tmp_path, monkeypatch):
    from headswapbench.pipelines import build as build_mod

    seen = {}

    class Recorder:
        def map(self, stage, items, on_record):
            seen["num_gpus"], seen["items"] = stage.num_gpus, [i for i, _ in items]

    from headswapbench.pipelines.edit import EDITORS

    monkeypatch.setitem(EDITORS._entries, "gpu-stub", GpuEditor)  # the build checks the name up front
    monkeypatch.setitem(build_mod._EDITORS, json.dumps(["gpu-stub", {}], sort_keys=True), GpuEditor())
    (tmp_path / "raw").mkdir()
    b = build_mod.Build(_cfg(tmp_path / "raw", tmp_path / "out", editor="gpu-stub"))
    b.executor = Recorder()
    monkeypatch.setattr(b, "_need", lambda *a: None)
    monkeypatch.setattr(b, "clips", lambda: {"c1": {"path": "c1.mp4"}, "c2": {"path": "c2.mp4"}})
    b.run_edit()
    assert seen == {"num_gpus": 1.0, "items": ["c1", "c2"]}


@pytest.mark.slow
def test_diffusers_editor_runs_through_the_build(raw, tmp_path):
    """The generative editor's code path end to end on the tiny random pipeline (offline; ≈ 40 s on CPU)."""
    from headswapbench.pipelines.build import parse_options

    out = tmp_path / "diff"
    cfg = replace(
        _cfg(
            raw,
            out,
            editor="diffusers",
            editor_options=parse_options(["model_id=tiny", "size=64", "steps=2"]),
        ),
        ingest=replace(INGEST, max_clips_per_video=1),
    )
    report = run_build(cfg, ["ingest", "edit"])
    assert report["stages"]["edit"]["done"] == report["stages"]["ingest"]["clips_cut"] > 0
    assert report["settings"]["editor"]["options"]["model_id"] == "tiny"
    from headswapbench.video import read_video

    (clip,) = list((out / ".work").glob("edit-*/clips/*.mp4"))[:1]
    assert read_video(clip).frames.shape == (FRAMES, SIZE, SIZE, 3)


def test_sharded_build_then_package_matches_the_single_run(raw, reference_build, tmp_path):
    """--shard 0/2 and 1/2 share one OUT_DIR (one manifest per shard); package refuses until both are done."""
    from headswapbench.errors import HeadSwapBenchError
    from headswapbench.runner import in_shard

    ref_out, _ = reference_build
    out = tmp_path / "sharded"
    keys = sorted(p.stem for p in raw.glob("*.mp4"))
    assert {in_shard(k, (0, 2)) for k in keys} == {True, False}  # both shards get work with these names
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEADSWAPBENCH_CACHE", str(tmp_path / "cache_shard"))
        first = run_build(_cfg(raw, out, shard=(0, 2)))
        assert "package" not in first["stages_run"] and "--stage package" in first["note"]
        with pytest.raises(HeadSwapBenchError, match="not ingested yet"):
            run_build(_cfg(raw, out), ["package"])
        run_build(_cfg(raw, out, shard=(1, 2)))
        run_build(_cfg(raw, out), ["package"])
    manifests = sorted(p.name for p in (out / ".work").glob("ingest-*/manifest*.jsonl"))
    assert manifests == ["manifest.shard-0-of-2.jsonl", "manifest.shard-1-of-2.jsonl"]
    assert dataset_files(out) == dataset_files(ref_out)
