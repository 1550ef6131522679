"""Artifact gate (pipelines/artifacts.py): its cost per clip, and the calibration behind its limits.

    python -m benchmarks artifacts                    # cost per clip (≈ 1 min)
    python -m benchmarks.bench_artifacts calibrate    # the calibration table of docs/build.md (≈ 25 min, 2 cores)

Figures:
* ``cost``: seconds per clip of `artifact_scores` (both clips decoded at the sampled frames, aligned, measured),
  for 24- and 121-frame clips at 256² and 512², best of 3, face analyses given (the filter has them anyway).
* ``calibration`` (``calibrate`` only): real clips ingested from ../shared/data/videos (48 frames, 256², up to
  2 per video), edited by the ``warp`` editor with the embedded donors and with ../shared/data/images as donor
  folder; every clean edit is scored, then broken on purpose in each of `BROKEN_KINDS` (`break_edit`),
  re-encoded and scored again. Two references besides: V_a against itself re-encoded at CRF 30 (no edit), and
  V_a warped with a donor that fails screening (t1_face3 / t1_face4: the real dark smears and ghosted eyes of
  unscreened donors). Per condition: each score's median [min, max], the share rejected and by which check.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import SHARED_DATA


def _clip_and_edit(work: Path, frames: int, size: int):
    """One real clip (lp_d3), its warp edit, both written, and their face analyses."""
    from headswapbench.pipelines.edit import make_editor

    from headswapbench.face import analyze_video
    from headswapbench.video import read_video, write_video

    target = write_video(work / f"target_{frames}_{size}.mp4",
                         read_video(SHARED_DATA / "videos" / "lp_d3.mp4", num_frames=frames, size=size))
    clip = read_video(target)
    editor = make_editor("warp")
    prompt, _ = editor.sample_prompt(0, clip=clip)
    driving = write_video(work / f"driving_{frames}_{size}.mp4", editor.apply(clip, prompt, 0))
    a = analyze_video(target, identity=None, progress=False)
    c = analyze_video(driving, identity=None, progress=False)
    return target, driving, a, c


def run(out_dir: Path) -> dict:
    from headswapbench.pipelines.artifacts import artifact_scores

    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict = {"cost_seconds_per_clip": {}}
    for frames, size in ((24, 256), (121, 256), (121, 512)):
        target, driving, a, c = _clip_and_edit(out_dir, frames, size)
        best = np.inf
        for _ in range(3):  # best of 3: the CPU is shared
            t0 = time.perf_counter()
            scores = artifact_scores(target, driving, a, c)
            best = min(best, time.perf_counter() - t0)
        figures["cost_seconds_per_clip"][f"{frames}f_{size}px"] = round(best, 3)
        figures[f"artifact_score_{frames}f_{size}px"] = scores["artifact_score"]
    figures["note"] = ("per clip pair; frames sampled per clip = ArtifactSettings.samples (8, each with its "
                       "successor), so the cost barely grows with clip length; face analyses are given")
    return figures


# --------------------------------------------------------------------------------------------- calibration
def _edits(work: Path, donors: str | None, frames: int, size: int) -> list[tuple[Path, Path]]:
    """(V_a, clean V_c) pairs from a build's ingest and edit stages over ../shared/data/videos."""
    from headswapbench.pipelines.build import Build, BuildConfig, run_build
    from headswapbench.pipelines.ingest import IngestSettings

    cfg = BuildConfig(raw_dir=SHARED_DATA / "videos", out_dir=work,
                      ingest=IngestSettings(frames=frames, size=size, max_clips_per_video=2),
                      editor_options={"donors": donors} if donors else {}, progress=False)
    run_build(cfg, ["ingest", "edit"])
    build = Build(cfg)
    edited = build.records("edit")
    return [(Path(c["path"]), build.folder("edit") / edited[cid]["result"]["file"])
            for cid, c in sorted(build.clips().items()) if edited.get(cid, {}).get("status") == "done"]


def calibrate(work: Path, frames: int = 48, size: int = 256) -> dict:
    from headswapbench.pipelines.artifacts import BROKEN_KINDS, ArtifactSettings, artifact_scores, break_edit
    from headswapbench.pipelines.edit import clip_landmarks

    from headswapbench.face import analyze_video
    from headswapbench.samples import sample_photo
    from headswapbench.types import Video
    from headswapbench.video import read_video, write_video
    from headswapbench.warp import face_onto_video

    settings = ArtifactSettings()
    rows: dict[str, list[dict]] = {}

    def score(label: str, target: Path, driving: Path, a) -> None:
        c = analyze_video(driving, identity=None, progress=False)
        rows.setdefault(label, []).append(artifact_scores(target, driving, a, c, settings))

    sources = (("clean: embedded donors", "embedded", None),
               ("clean: ../shared/data/images donors", "shared", str(SHARED_DATA / "images")))
    for label, folder, donors in sources:
        for k, (target, driving) in enumerate(_edits(work / folder, donors, frames, size)):
            a = analyze_video(target, identity=None, progress=False)
            score(label, target, driving, a)
            clip = read_video(driving)
            c = analyze_video(driving, identity=None, progress=False)
            for j, kind in enumerate(BROKEN_KINDS):
                broken = write_video(work / "broken" / f"{folder}_{driving.stem}_{kind}.mp4",
                                     Video(break_edit(clip.frames, c.landmarks, kind, seed=k * 10 + j), clip.fps))
                score(kind, target, broken, a)
            if donors is not None:
                continue
            # the same target re-encoded (no edit at all), and warped with a donor that fails screening
            va = read_video(target)
            score("V_a re-encoded (CRF 30)", target, write_video(work / "reenc" / target.name, va, crf=30), a)
            photo = sample_photo(("t1_face3", "t1_face4")[k % 2])
            bad = face_onto_video(va, clip_landmarks(va), photo.image, photo.landmarks, progress=False)
            score("warp, unscreened donor (t1_face3/4)", target,
                  write_video(work / "unscreened" / target.name, bad), a)
    return {"frames": frames, "size": size, "limits": {k: [v[1], v[2]] for k, v in settings.limits().items()},
            "conditions": {label: summarise(rs) for label, rs in rows.items()}, "raw": rows}


def summarise(rows: list[dict]) -> dict:
    """Per score: median [min, max] over clips; and the share with artifact_score ≥ 1 (rejected)."""
    out: dict = {"n": len(rows)}
    keys = [k for k, v in rows[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    for k in keys:
        v = np.array([r[k] for r in rows if r.get(k) is not None], np.float64)
        if v.size:
            out[k] = [round(float(np.median(v)), 3), round(float(v.min()), 3), round(float(v.max()), 3)]
    scores = np.array([r["artifact_score"] if r["artifact_score"] is not None else np.inf for r in rows])
    out["rejected"] = round(float(np.mean(scores >= 1.0)), 3)
    checks: dict[str, int] = {}
    for r in rows:
        if r["artifact_score"] is None or r["artifact_score"] >= 1.0:
            checks[r["artifact_check"]] = checks.get(r["artifact_check"], 0) + 1
    out["rejected_by_check"] = checks
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "calibrate":
        work = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("bench_out/artifacts_calibration")
        work.mkdir(parents=True, exist_ok=True)
        result = calibrate(work)
        (work / "calibration.json").write_text(json.dumps(result, indent=1, default=str))
        print(json.dumps({k: v for k, v in result.items() if k != "raw"}, indent=1, default=str))
    else:
        print(json.dumps(run(Path("bench_out/artifacts")), indent=2, default=str))
