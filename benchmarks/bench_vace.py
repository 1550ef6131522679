"""The `vace` editor on the CPU with the tiny random pipeline: seconds per clip (and where they go), and a whole
build over ../shared/data with it (clips per hour, share of clips kept, rejections by reason).

The tiny pipeline has random weights: its heads are noise, so the filter is *expected* to reject its clips
(the kept share measures the filter, not VACE). These figures are the editor's own overhead — landmarks,
segmentation, masks, windows, composite — around a model that costs nothing. The real model's cost is
GPU-bound: benchmarks/bench_vace_gpu.py.

    python -m benchmarks vace        # ≈ 4 min on 2 CPU cores
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import REPO, SHARED_DATA


def edit_seconds(frames: int, size: int, model_size: int = 64) -> dict:
    """One real clip (lp_d10.mp4) through the tiny editor, single-threaded, split into its parts."""
    import torch
    from headswapbench.pipelines.edit import clip_landmarks, make_editor

    from headswapbench.video import read_video

    torch.set_num_threads(1)
    clip = read_video(SHARED_DATA / "videos" / "lp_d10.mp4", num_frames=frames, size=size)
    editor = make_editor("vace", model_id="tiny", steps=2, size=model_size, donors=str(SHARED_DATA / "images"),
                         progress=False)
    t0 = time.perf_counter()
    editor.pipeline()
    prompt, attrs = editor.sample_prompt(0, clip=clip)  # donor screening: dlib identity of every donor, once
    t1 = time.perf_counter()
    lms = clip_landmarks(clip)
    t2 = time.perf_counter()
    editor.conditioning(clip, lms)  # segmentation, masks, control drawing
    t3 = time.perf_counter()
    window_s: list[float] = []
    run_window = editor._run_window

    def timed(*a, **k):
        t = time.perf_counter()
        out = run_window(*a, **k)
        window_s.append(time.perf_counter() - t)
        return out

    editor._run_window = timed
    editor.apply(clip, prompt, 0)  # landmarks again from the cache; masks, windows, composite
    t4 = time.perf_counter()
    return {"frames": frames, "size": size, "model_size": model_size, "steps": 2,
            "windows": len(window_s), "setup_s": round(t1 - t0, 2), "landmarks_s": round(t2 - t1, 2),
            "masks_and_control_s": round(t3 - t2, 2), "edit_s_per_clip": round(t4 - t3, 2),
            "pipeline_s": round(sum(window_s), 2),
            "seconds_per_clip_total": round((t2 - t1) + (t4 - t3), 2)}


_BUILD = """
import json, sys, time
from headswapbench.pipelines.build import BuildConfig, run_build
from headswapbench.pipelines.ingest import IngestSettings
from headswapbench.pipelines.vace import build_tiny_pipeline
import torch
torch.set_num_threads(1)
raw, out, tiny, donors, frames, size = sys.argv[1:7]
build_tiny_pipeline().save_pretrained(tiny)
t0 = time.perf_counter()
cfg = BuildConfig(raw_dir=raw, out_dir=out, progress=False, editor="vace",
                  editor_options={"model_id": tiny, "size": 64, "steps": 2, "donors": donors, "progress": False},
                  ingest=IngestSettings(frames=int(frames), size=int(size), max_clips_per_video=1))
try:
    report = run_build(cfg)
except Exception as exc:  # "nothing to package" when every clip is rejected: the stages still report
    report = {"error": str(exc).splitlines()[0], **json.load(open(f"{out}/build_report.json"))}
print(json.dumps({"wall_s": time.perf_counter() - t0, "report": report}, default=str))
"""


def build_figures(work: Path, frames: int = 48, size: int = 256) -> dict:
    """A whole build (ingest → vace tiny → filter → package) over every shared video, one clip per video."""
    with tempfile.TemporaryDirectory(prefix="hsb-vace-tiny-") as tiny:
        proc = subprocess.run([sys.executable, "-c", _BUILD, str(SHARED_DATA / "videos"), str(work / "out"),
                               str(Path(tiny) / "pipe"), str(SHARED_DATA / "images"), str(frames), str(size)],
                              capture_output=True, text=True, cwd=REPO)
    if proc.returncode:
        raise RuntimeError(f"build failed: {proc.stderr[-2000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    st = res["report"]["stages"]
    cut, edited = st["ingest"]["clips_cut"], st["edit"]["done"]
    kept = st.get("package", {}).get("rows", 0)
    return {
        "settings": {"frames": frames, "size": size, "max_clips_per_video": 1, "editor": "vace tiny (random)",
                     "model_size": 64, "steps": 2},
        "videos": st["ingest"]["items"], "clips_cut": cut, "clips_edited": edited, "clips_kept": kept,
        "kept_share": round(kept / cut, 3) if cut else None,
        "filter_rejections": st["filter"].get("rejected_by_reason", {}),
        "wall_seconds": round(res["wall_s"], 1),
        "clips_edited_per_hour": round(edited / res["wall_s"] * 3600, 1),
        "stage_wall_seconds": {k: v.get("wall_seconds_this_run") for k, v in st.items()},
        "editor_seconds_per_clip": round(st["edit"].get("editor_seconds_total", 0) / max(edited, 1), 2),
        "note": "random weights: the filter is expected to reject every clip (noise heads)",
    }


def run(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return {"edit_48x256": edit_seconds(48, 256), "edit_121x512": edit_seconds(121, 512),
            "build": build_figures(out_dir / "build")}


if __name__ == "__main__":
    print(json.dumps(run(Path("bench_out/vace")), indent=2))
