"""Shared fixtures. Real sample media is read from ../shared/data by path (never copied into the repo)."""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.helpers.paths import SHARED_DATA

# Shared helpers live in tests/helpers/ (imported as ``from tests.helpers.X import ...``); the modules that
# define fixtures are plugins, so a test names the fixture as an argument and imports nothing for it.
pytest_plugins = ["tests.helpers.browser", "tests.helpers.eval_split", "tests.helpers.fake_hub"]

_USER_CACHE = "HEADSWAPBENCH_CACHE" in os.environ  # a cache the caller chose is used as is


def pytest_configure(config):
    """Offline mode and a private toolkit cache for the whole session, set before collection. Session- and
    module-scoped fixtures run before the per-test ``_isolated_cache``, and huggingface_hub reads HF_HUB_OFFLINE
    once, at import: a first import inside such a fixture used to leave the client online for the rest of the
    run (each later missing-weights test then waited ~20 s in retries), and those fixtures wrote into the
    user's real cache."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not _USER_CACHE:
        os.environ["HEADSWAPBENCH_CACHE"] = tempfile.mkdtemp(prefix="hsb-session-cache-")


def pytest_unconfigure(config):
    if not _USER_CACHE:
        shutil.rmtree(os.environ.pop("HEADSWAPBENCH_CACHE", ""), ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow test: set RUN_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real talking-head clips and face photos). CI always has it beside the clone."""
    if not (SHARED_DATA / "SOURCES.tsv").exists():
        pytest.fail(f"real sample media not found at {SHARED_DATA} (set HEADSWAPBENCH_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sources(shared_data) -> list[dict]:
    """Rows of SOURCES.tsv: file, kind, subject, fps, frames, same_person_links ..."""
    with open(shared_data / "SOURCES.tsv", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="session")
def shared_videos(shared_data) -> list[Path]:
    return sorted((shared_data / "videos").glob("*.mp4"))


@pytest.fixture(scope="session")
def shared_images(shared_data) -> list[Path]:
    return sorted(p for p in (shared_data / "images").iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own toolkit cache unless it sets one (analysis caches must not leak between tests)."""
    if not _USER_CACHE:
        monkeypatch.setenv("HEADSWAPBENCH_CACHE", str(tmp_path_factory.mktemp("hsb-cache")))
    monkeypatch.setenv("HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE", "1"))


@pytest.fixture(scope="session")
def standin_i3d(tmp_path_factory):
    """A SYNTHETIC stand-in for i3d_torchscript.pt (the real file cannot be downloaded here): a TorchScript
    module with the I3D detector's call signature (400-d output);
    it records nothing but maps each window to fixed random projections of its per-frame means."""
    import torch

    class Detector(torch.nn.Module):
        def __init__(self):
            super().__init__()
            g = torch.Generator().manual_seed(0)
            self.proj = torch.nn.Parameter(torch.randn(3 * 16, 400, generator=g), requires_grad=False)

        def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                    return_features: bool = False) -> torch.Tensor:
            if rescale:
                x = x / 127.5 - 1
            if resize:
                x = torch.nn.functional.interpolate(x, size=(x.shape[2], 32, 32), mode="trilinear",
                                                    align_corners=False)
            return x.mean(dim=(3, 4)).flatten(1) @ self.proj

    path = tmp_path_factory.mktemp("i3d") / "i3d_torchscript.pt"
    torch.jit.script(Detector()).save(str(path))
    return path


@pytest.fixture
def random_face():
    """Factory of SYNTHETIC landmark tracks: ``make(T, iod, seed)`` → [T, 478, 3] uniform random points in
    [0, 50) px whose outer eye corners (33 = subject's right, 263) lie ``iod`` px apart horizontally."""
    import numpy as np

    from headswapbench.face.topology import LEFT_EYE_OUTER, RIGHT_EYE_OUTER

    def make(T: int = 5, iod: float = 10.0, seed: int = 0) -> np.ndarray:
        lm = np.random.default_rng(seed).uniform(0, 50, (T, 478, 3)).astype(np.float64)
        lm[:, RIGHT_EYE_OUTER, :2] = [20.0, 20.0]
        lm[:, LEFT_EYE_OUTER, :2] = [20.0 + iod, 20.0]
        return lm

    return make
