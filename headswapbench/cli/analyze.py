"""`headswapbench analyze VIDEO --out DIR`: per-frame face analysis of one clip, plus an overlay video."""

from __future__ import annotations

from pathlib import Path

import typer


def _identity_every(value: str | None):
    if value is None or value == "all":
        return value
    try:
        k = int(value)
    except ValueError:
        k = 0
    if k < 1:
        from ..errors import HeadSwapBenchError

        raise HeadSwapBenchError(f"--identity-every must be a positive integer or 'all', got {value!r}")
    return k


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    def analyze(
        video: Path = typer.Argument(..., help="Video file to analyse (any format PyAV/decord read)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder: analysis.json, analysis.npz, overlay.mp4."),
        landmarks: str = typer.Option("facemesh", help="Landmark backend: facemesh (offline) or tasks."),
        identity: str = typer.Option("dlib", help="Identity backend: dlib (offline), arcface, adaface, or none."),
        identity_every: str = typer.Option(None, help="Embed identity on every k-th frame, or 'all' "
                                                      "(default: at most 16 frames per clip)."),
        overlay: bool = typer.Option(True, help="Write overlay.mp4 with landmarks, box and pose drawn."),
        cache: bool = typer.Option(True, help="Reuse/store the analysis in the cache (keyed by file content)."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Analyse the main face on every frame: landmarks (478), head pose, expression, identity."""
        import numpy as np

        from ..face.export import export_analysis
        from .common import emit

        result = export_analysis(video, out, landmarks=landmarks, identity=None if identity == "none" else identity,
                                 identity_every=_identity_every(identity_every), overlay=overlay, cache=cache)
        a = result.pop("analysis")
        summary, outputs = result, result["outputs"]
        ok = a.face_found
        pose = a.pose[ok] if a.pose is not None and ok.any() else np.zeros((0, 3))
        lines = [
            f"{video}: {a.frames_with_face}/{a.num_frames} frames with a face ({a.fps:g} fps, {a.width}x{a.height})",
            "pose (deg, 5th..95th pct): " + ", ".join(
                f"{n} {np.percentile(pose[:, k], 5):+.1f}..{np.percentile(pose[:, k], 95):+.1f}"
                for k, n in enumerate(["yaw", "pitch", "roll"])) if len(pose) else "pose: no face",
            f"identity: {summary['num_identity_samples']} frames embedded ({identity})",
            f"cache: {a.source.get('cache', 'off')}; wall {summary['wall_s']} s",
        ] + [f"wrote {v}" for v in outputs.values()]
        emit(summary, as_json, "\n".join(lines))
