"""Where the repository and the real sample media are (../shared/data, read by path, never copied in)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("HEADSWAPBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))
