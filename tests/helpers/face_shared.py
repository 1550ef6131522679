"""Analyses shared by the face tests (computed once per test session, in memory; not a test module)."""

from __future__ import annotations

import functools
from pathlib import Path


@functools.cache
def clip_analysis(path: str, identity: str | None = "dlib"):
    from headswapbench.face import analyze_video

    return analyze_video(Path(path), identity=identity, cache=False, progress=False)


@functools.cache
def image_analysis(path: str, identity: str | None = "dlib"):
    from headswapbench.face import analyze_image
    from headswapbench.video import read_image

    return analyze_image(read_image(path), identity=identity)
