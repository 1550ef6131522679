"""Write one clip's analysis to a folder: analysis.json, analysis.npz and an overlay video for eyeballing.
The function behind `headswapbench analyze` (and the demo)."""

from __future__ import annotations

import time
from pathlib import Path

from ..fileio import atomic_write_json, ensure_dir
from .analysis import analyze_video


def export_analysis(video: str | Path, out: str | Path, *, landmarks: str = "facemesh", identity: str | None = "dlib",
                    identity_every: int | str | None = None, overlay: bool = True, cache: bool = True,
                    progress: bool = True) -> dict:
    """Analyse ``video`` and write ``out/analysis.{json,npz}`` (+ ``out/overlay.mp4``); returns the summary."""
    out = ensure_dir(out)  # fail before the analysis, not after it
    t0 = time.perf_counter()
    a = analyze_video(video, landmarks=landmarks, identity=identity, identity_every=identity_every, cache=cache,
                      progress=progress)
    a.save(out)
    outputs = {"json": str(out / "analysis.json"), "npz": str(out / "analysis.npz")}
    if overlay:
        from ..video import read_video, write_video
        from .draw import overlay_frames

        write_video(out / "overlay.mp4", overlay_frames(read_video(video).frames, a), fps=a.fps)
        outputs["overlay"] = str(out / "overlay.mp4")
    summary = {**a.summary(), "outputs": outputs}
    atomic_write_json(out / "analysis.json", summary)
    return {**summary, "wall_s": round(time.perf_counter() - t0, 3), "analysis": a}
