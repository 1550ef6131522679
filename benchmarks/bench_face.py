"""Face engine speed: ms/frame of each model, and whole `analyze_video` vs the sum of its parts.

    python -m benchmarks face        (or `make bench`)

Real clips from ../shared/data when present (HEADSWAPBENCH_SHARED_DATA), else the embedded synthetic samples.
Models are loaded once before timing (loading is a one-off per process, not per clip)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

CLIPS = ["lp_d18.mp4", "vretalk_face_5.mp4", "lp_s32.mp4"]


def _clips(out_dir: Path) -> list[Path]:
    shared = Path(os.environ.get("HEADSWAPBENCH_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    found = [shared / "videos" / c for c in CLIPS if (shared / "videos" / c).is_file()]
    if found:
        return found
    from headswapbench.samples import list_samples, write_samples

    write_samples(out_dir / "samples", list_samples()[:2], progress=False)
    return sorted((out_dir / "samples").glob("*.mp4"))


def _time(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def bench_clip(path: Path) -> dict:
    from headswapbench.face import analyze_video, get_identity_model, get_landmark_model, identity_sample
    from headswapbench.face.expression import pose_and_expression
    from headswapbench.video import iter_video

    lm_model, id_model = get_landmark_model("facemesh"), get_identity_model("dlib")
    frames, t_decode = _time(lambda: np.concatenate(list(iter_video(path, chunk=32))))
    n = len(frames)

    def landmarks():
        out = np.full((n, 478, 3), np.nan, np.float32)
        with lm_model.video() as s:
            for i, f in enumerate(frames):
                face = s.process(f)
                if face is not None:
                    out[i] = face.landmarks
        return out

    lms, t_lm = _time(landmarks)
    _, t_pose = _time(lambda: pose_and_expression(lms))
    idx = [i for i in identity_sample(n) if np.isfinite(lms[i]).all()]
    _, t_id = _time(lambda: [id_model.embed_faces(frames[i], [lms[i]]) for i in idx])
    parts = t_decode + t_lm + t_pose + t_id
    whole, t_whole = _time(lambda: analyze_video(path, cache=False, progress=False))
    return {
        "clip": path.name, "frames": n, "size": f"{frames.shape[2]}x{frames.shape[1]}",
        "decode_fps": round(n / t_decode, 1),
        "landmarks_ms_per_frame": round(1000 * t_lm / n, 2),
        "pose_expression_ms_per_frame": round(1000 * t_pose / n, 3),
        "identity_ms_per_face": round(1000 * t_id / max(len(idx), 1), 1),
        "identity_faces": len(idx),
        "parts_s": round(parts, 3), "analyze_s": round(t_whole, 3),
        "analyze_over_parts": round(t_whole / parts, 3),
        "analyze_ms_per_frame": round(1000 * t_whole / n, 2),
        "frames_with_face": whole.frames_with_face,
    }


def run(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    from headswapbench.face import analyze_image, get_identity_model, get_landmark_model

    _, t_load_lm = _time(lambda: get_landmark_model("facemesh"))
    _, t_load_id = _time(lambda: get_identity_model("dlib"))
    clips = _clips(out_dir)
    bench_clip(clips[0])  # warm-up (first graph construction, lazy imports)
    rows = [bench_clip(p) for p in clips]
    from headswapbench.video import read_frames

    frame = read_frames(clips[0], [10])[0]
    _, t_img = _time(lambda: [analyze_image(frame) for _ in range(5)])
    total_parts = sum(r["parts_s"] for r in rows)
    total_whole = sum(r["analyze_s"] for r in rows)
    return {
        "clips": rows,
        "model_load_s": {"facemesh": round(t_load_lm, 3), "dlib": round(t_load_id, 3)},
        "analyze_image_ms": round(1000 * t_img / 5, 1),
        "analyze_over_parts_overall": round(total_whole / total_parts, 3),
        "goal_analyze_over_parts": 1.3,
        "cpu_count": os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }
