"""Analysis cache: one folder per (content hash, analysis settings) under ``cache_dir()/analysis/``.

The key is the sha256 of the video file's bytes (or of the decoded frames for in-memory clips) combined with
`sha256_json` of the backends' descriptions (model versions, weight hashes, thresholds, template hash,
identity sampling), both from ``headswapbench.featcache`` (the one home of content hashing), so the same
clip under another name is a hit and any setting change is a miss. Entries are written into a temporary
folder and renamed into place, so a killed run never leaves half an entry."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..fileio import cache_dir

if TYPE_CHECKING:
    from .analysis import ClipAnalysis


def analysis_cache_dir() -> Path:
    return cache_dir() / "analysis"


def load_cached(key: str) -> ClipAnalysis | None:
    from ..errors import HeadSwapBenchError
    from .analysis import ClipAnalysis

    entry = analysis_cache_dir() / key
    if not (entry / "analysis.json").is_file():
        return None
    try:
        return ClipAnalysis.load(entry)
    except HeadSwapBenchError:  # unreadable entry: recompute and overwrite
        return None


def store(key: str, analysis: ClipAnalysis) -> Path:
    root = analysis_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    final = root / key
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
    try:
        analysis.save(tmp)
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
