"""Decode and encode throughput of headswapbench.video on the real sample clips."""

from __future__ import annotations

import time
from pathlib import Path

from headswapbench.video import probe, read_frames, read_video, write_video

from .common import shared_videos


def run(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict = {"clips": {}}
    total_frames = total_s = total_px = 0.0
    for path in shared_videos():
        t0 = time.perf_counter()
        info = probe(path)
        t_probe = time.perf_counter() - t0
        t0 = time.perf_counter()
        read_video(path)
        t_read = time.perf_counter() - t0
        figures["clips"][path.name] = {
            "size": f"{info.display_width}x{info.display_height}", "frames": info.num_frames,
            "probe_ms": round(1000 * t_probe, 1), "decode_fps": round(info.num_frames / t_read, 1),
        }
        total_frames += info.num_frames
        total_s += t_read
        total_px += info.num_frames * info.display_width * info.display_height
    figures["decode_fps_all"] = round(total_frames / total_s, 1)
    figures["decode_fps_at_256sq_equiv"] = round(total_px / (256 * 256) / total_s, 1)
    path = shared_videos()[0]
    info = probe(path)
    idx = list(range(0, info.num_frames, max(1, info.num_frames // 20)))
    t0 = time.perf_counter()
    read_frames(path, idx)
    figures["random_access_ms_per_frame"] = round(1000 * (time.perf_counter() - t0) / len(idx), 2)
    clip = read_video(path, num_frames=min(121, info.num_frames), size=512)
    t0 = time.perf_counter()
    write_video(out_dir / "encode.mp4", clip)
    figures["encode_fps_512sq"] = round(clip.num_frames / (time.perf_counter() - t0), 1)
    return figures
