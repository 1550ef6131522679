"""Warp engine throughput: frames/s of face_onto_video at 256² and 512² (landmarks given, i.e. the engine
alone; set-up = a one-frame call), the WarpSwapper end to end (including the face analysis), and the
seconds to render the embedded synthetic samples.

    python -m benchmarks warp
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

FRAMES = 48


def _clip(size: int):
    """A real talking-head clip when ../shared/data is there, else an embedded synthetic sample."""
    from headswapbench.video import read_image, read_video

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    video_path, donor_path = shared / "videos" / "lp_d3.mp4", shared / "images" / "fr_biden2.jpg"
    if video_path.is_file() and donor_path.is_file():
        return read_video(video_path, num_frames=FRAMES, size=size), read_image(donor_path), "lp_d3 + fr_biden2"
    from headswapbench.samples import load_sample, sample_photos

    clip = load_sample("synthetic_astronaut_0", FRAMES, size)
    return clip.video, sample_photos(512)["t1_face3"], "synthetic_astronaut_0 + t1_face3 (no ../shared)"


def run(out_dir: Path) -> dict:
    from headswapbench.face import analyze_image, analyze_video
    from headswapbench.swappers.warp import WarpSwapper
    from headswapbench.warp import face_onto_video

    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict = {"frames": FRAMES}
    for size in (256, 512):
        video, donor, source = _clip(size)
        lms = analyze_video(video, identity=None, progress=False).landmarks
        donor_lms = analyze_image(donor, identity=None).landmarks
        best = np.inf
        for _ in range(3):  # best of 3: the CPU is shared
            t0 = time.perf_counter()
            face_onto_video(video, lms, donor, donor_lms, progress=False)
            best = min(best, time.perf_counter() - t0)
        t0 = time.perf_counter()
        face_onto_video(video.__class__(video.frames[:1], video.fps), lms[:1], donor, donor_lms, progress=False)
        setup = time.perf_counter() - t0
        figures[f"face_onto_video_fps_{size}"] = round(FRAMES / best, 1)
        figures[f"face_onto_video_setup_s_{size}"] = round(setup, 3)
        with tempfile.TemporaryDirectory() as fresh:  # an empty analysis cache: the swapper analyses the clip
            old = os.environ.get("HEADSWAPBENCH_CACHE")
            os.environ["HEADSWAPBENCH_CACHE"] = fresh
            try:
                t0 = time.perf_counter()
                WarpSwapper(progress=False).swap(video, donor)
                figures[f"warp_swapper_fps_{size}"] = round(FRAMES / (time.perf_counter() - t0), 1)
            finally:
                if old is None:
                    os.environ.pop("HEADSWAPBENCH_CACHE", None)
                else:
                    os.environ["HEADSWAPBENCH_CACHE"] = old
        figures["source"] = source

    import headswapbench.samples as S

    S.sample_photo.cache_clear()
    t0 = time.perf_counter()
    photos = {name: S.sample_photo(name) for name in S.PHOTO_NAMES}
    figures["sample_photo_landmarks_s"] = round(time.perf_counter() - t0, 2)
    for size in (256, 512):
        t0 = time.perf_counter()
        for name in photos:
            S.make_sample_clip(name, FRAMES, size, seed=0, cache=False)
        figures[f"sample_clip_s_{size}"] = round((time.perf_counter() - t0) / len(photos), 3)
    t0 = time.perf_counter()
    S.write_samples(out_dir / "samples", progress=False)
    figures["write_default_samples_s"] = round(time.perf_counter() - t0, 2)
    figures["num_default_samples"] = len(S.list_samples())
    return figures
