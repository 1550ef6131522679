"""Head editors and packaging: warp editor speed on real video (512² and 256²), the diffusers editor's code
path on the tiny offline pipeline (overhead only, not a quality or GPU figure), and package + verify cost."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import SHARED_DATA


def _warp(frames: int, size: int) -> dict:
    from headswapbench.pipelines.edit import clip_landmarks, make_editor

    from headswapbench.video import read_video

    clip = read_video(SHARED_DATA / "videos" / "lp_d10.mp4", num_frames=frames, size=size)
    editor = make_editor("warp", donors=str(SHARED_DATA / "images"))
    prompt, _ = editor.sample_prompt(0)
    editor._donor(prompt[len("donor:"):])  # donor analysis is once per donor, not per clip
    t0 = time.perf_counter()
    clip_landmarks(clip)
    t1 = time.perf_counter()
    editor.apply(clip, prompt, 0)  # landmarks again (cached by content hash) + warp
    t2 = time.perf_counter()
    return {"frames": frames, "size": size, "landmarks_s_per_frame": round((t1 - t0) / frames, 4),
            "edit_s_per_frame": round((t2 - t1) / frames, 4)}


def _package(n: int, frames: int, out: Path) -> dict:
    from headswapbench.split import TripletRow, verify_split, write_dataset
    from headswapbench.types import Video
    from headswapbench.video import write_image, write_video

    rng = np.random.default_rng(0)
    src = out / "src"
    media, rows = {}, []
    for i in range(n):  # SYNTHETIC noise clips: I/O cost only
        f = rng.integers(0, 255, (frames, 128, 128, 3), dtype=np.uint8)
        d, t, r = src / f"d{i}.mp4", src / f"t{i}.mp4", src / f"r{i}.png"
        write_video(d, Video(f, 25.0))
        write_video(t, Video(f, 25.0))
        write_image(r, f[0])
        media[f"c{i}"] = {"driving": d, "target": t, "reference": r}
        rows.append(TripletRow(clip_id=f"c{i}", subject_id=f"s{i}", source_video="synthetic", start_frame=0,
                               num_frames=frames, fps=25.0, width=128, height=128, driving_file_name="",
                               reference_file_name="", target_file_name=""))
    mb = sum(p.stat().st_size for m in media.values() for p in m.values()) / 1e6
    t0 = time.perf_counter()
    write_dataset(out / "ds", {"test": rows}, media)
    t1 = time.perf_counter()
    verify_split(out / "ds", "test")
    t2 = time.perf_counter()
    return {"clips": n, "media_mb": round(mb, 1), "package_s_per_clip": round((t1 - t0) / n, 4),
            "verify_s_per_clip": round((t2 - t1) / n, 4), "verify_mb_per_s": round(mb / max(t2 - t1, 1e-9), 1)}


def _tiny_diffusers(frames: int) -> dict:
    import torch
    from headswapbench.pipelines.edit import make_editor

    from headswapbench.video import read_video

    torch.set_num_threads(1)
    clip = read_video(SHARED_DATA / "videos" / "lp_d10.mp4", num_frames=frames, size=128)
    editor = make_editor("diffusers", model_id="tiny", steps=2, size=64, progress=False)
    t0 = time.perf_counter()
    editor.pipeline()
    t1 = time.perf_counter()
    editor.apply(clip, editor.sample_prompt(0)[0], 0)
    t2 = time.perf_counter()
    return {"frames": frames, "build_tiny_s": round(t1 - t0, 2), "edit_s": round(t2 - t1, 2)}


def run(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return {"warp_512": _warp(24, 512), "warp_256": _warp(24, 256),
            "package_verify": _package(20, 48, out_dir), "diffusers_tiny": _tiny_diffusers(8)}
