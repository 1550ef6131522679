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
        from tqdm.auto import tqdm

        from ..video import iter_video, write_video_chunks
        from .draw import overlay_frames

        def chunks():  # streamed: memory stays flat however long the clip is
            start = 0
            with tqdm(total=a.num_frames, desc="overlay", unit="frame", disable=not progress, leave=False) as bar:
                for frames in iter_video(video, chunk=32):
                    yield overlay_frames(frames, a, progress=False, start=start)
                    start += len(frames)
                    bar.update(len(frames))

        write_video_chunks(out / "overlay.mp4", chunks(), fps=a.fps)
        outputs["overlay"] = str(out / "overlay.mp4")
    summary = {**a.summary(), "outputs": outputs}
    atomic_write_json(out / "analysis.json", summary)
    return {**summary, "wall_s": round(time.perf_counter() - t0, 3), "analysis": a}
