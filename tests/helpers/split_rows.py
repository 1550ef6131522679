"""Tiny synthetic split pieces for the packaging, accounting and split-health tests: random-pixel media
files and hand-made metadata rows (SYNTHETIC; no real faces)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from headswapbench.split import TripletRow


def make_media(folder: Path, n: int, seed: int = 1, shape: tuple[int, ...] = (4, 16, 24, 3),
               prefix: str = "c") -> dict[str, dict[str, Path]]:
    """``n`` random-pixel triplets (driving = target reversed in time, reference = its first frame), keyed
    ``<prefix><i>``."""
    from headswapbench.types import Video
    from headswapbench.video import write_image, write_video

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i in range(n):
        f = rng.integers(0, 255, shape, dtype=np.uint8)
        d, t, r = folder / f"d{i}.mp4", folder / f"t{i}.mp4", folder / f"r{i}.png"
        write_video(d, Video(f[::-1].copy(), 25.0))
        write_video(t, Video(f, 25.0))
        write_image(r, f[0])
        out[f"{prefix}{i}"] = {"driving": d, "target": t, "reference": r}
    return out


def make_row(cid: str, subject: str, **kw) -> TripletRow:
    return TripletRow(clip_id=cid, subject_id=subject, source_video=f"{subject}.mp4", start_frame=0, num_frames=4,
                      fps=25.0, width=24, height=16, driving_file_name="", reference_file_name="",
                      target_file_name="", editor="synthetic", editor_version="1", prompt="p", seed=3,
                      sync_nme=0.02, sync_expression_dynamic=0.1, identity_similarity_to_target=0.2, **kw)
