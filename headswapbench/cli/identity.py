"""`headswapbench identity A B`: are two faces (photos or videos) the same person?"""

from __future__ import annotations

from pathlib import Path

import typer

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def embed_file(path: Path, backend: str, progress: bool = True):
    """Identity vector of a photo's main face, or a video's (mean of its sampled frames)."""
    from ..errors import FaceNotFoundError
    from ..face import analyze_image, analyze_video
    from ..video import read_image

    if path.suffix.lower() in IMAGE_SUFFIXES:
        try:
            return analyze_image(read_image(path), identity=backend).identity
        except FaceNotFoundError as exc:  # the analysis sees pixels only: name the file here
            raise FaceNotFoundError(f"{path}: {exc}") from None
    a = analyze_video(path, identity=backend, progress=progress)
    emb = a.mean_identity()
    if emb is None:
        raise FaceNotFoundError(f"{path}: no face on the frames sampled for identity "
                                f"({a.frames_with_face}/{a.num_frames} frames have a face)")
    return emb


def compare(a: Path, b: Path, backend: str = "dlib", progress: bool = True) -> dict:
    import math

    from ..face import get_identity_model

    model = get_identity_model(backend)
    sim = model.similarity(embed_file(a, backend, progress), embed_file(b, backend, progress))
    return {"similarity": round(sim, 6), "distance": round(math.sqrt(max(0.0, 2 - 2 * sim)), 6),
            "same_person": bool(sim >= model.threshold), "threshold": model.threshold, "backend": backend,
            "a": str(a), "b": str(b)}


def register(app: typer.Typer) -> None:
    @app.command("identity")
    def identity(
        a: Path = typer.Argument(..., help="Image or video of the first face."),
        b: Path = typer.Argument(..., help="Image or video of the second face."),
        backend: str = typer.Option("dlib", help="Identity backend: dlib (offline), arcface, adaface."),
        as_json: bool = typer.Option(False, "--json", help="Print only the JSON result."),
    ) -> None:
        """Cosine similarity of two faces' identity embeddings (videos: mean over sampled frames).

        distance = L2 distance of the unit embeddings = sqrt(2 - 2 * similarity)."""
        from .common import emit

        r = compare(a, b, backend)
        verdict = "same person" if r["same_person"] else "different people"
        cmp = ">=" if r["same_person"] else "<"
        human = (f"{verdict}: similarity {r['similarity']:.3f} {cmp} threshold {r['threshold']:.2f} "
                 f"({r['backend']})\n" + __import__("json").dumps(r))
        emit(r, as_json, human)
