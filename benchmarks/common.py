"""Helpers shared by the benchmarks: where real media is, timing, peak memory of a child process."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HEADSWAPBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_videos() -> list[Path]:
    """Real talking-head clips from ../shared/data (benchmarks need them; the demo does not)."""
    vids = sorted((SHARED_DATA / "videos").glob("*.mp4"))
    if not vids:
        raise FileNotFoundError(f"no sample videos at {SHARED_DATA / 'videos'} (set HEADSWAPBENCH_SHARED_DATA)")
    return vids


@contextmanager
def timer(out: dict, key: str):
    t0 = time.perf_counter()
    yield
    out[key] = round(time.perf_counter() - t0, 4)
