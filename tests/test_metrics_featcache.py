"""The target side of FID / FVD is paid once per split: the feature cache (headswapbench.featcache) with a
counting stand-in feature model, corrupted / mismatched entries recomputed, the model file's sha256 in the key."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from headswapbench.metrics import fid as fid_mod
from headswapbench.metrics import fvd as fvd_mod

from headswapbench.evaluation.metric import ClipData
from headswapbench.featcache import FeatureCache, content_hash, features_cache_dir
from headswapbench.fileio import sha256_file
from headswapbench.types import Video


class CountingFeatures:
    """Stand-in for InceptionFeatures / I3DFeatures: deterministic features of the frames (a fixed random
    projection of per-frame channel means), every call recorded with the frames it got."""

    def __init__(self, device="cpu", batch_size=4, weights_path=None, dim=2048, per_window=1):
        import torch

        self.device = torch.device(device)
        self.sha256 = sha256_file(weights_path)
        self.dim, self.per_window = dim, per_window
        self.proj = np.random.default_rng(0).normal(size=(3, dim)).astype(np.float32)
        self.calls: list[np.ndarray] = []

    def __call__(self, frames):
        self.calls.append(frames)
        n = len(frames) // self.per_window
        m = frames[: n * self.per_window].reshape(n, -1, 3).mean(axis=1).astype(np.float32) / 255
        return m @ self.proj


@pytest.fixture
def counting(monkeypatch, tmp_path):
    """Patch both metrics' feature models with counting stand-ins; returns the weight files to use."""
    made = []

    def inception(device="cpu", batch_size=4, weights_path=None):
        made.append(CountingFeatures(device, batch_size, weights_path, dim=2048))
        return made[-1]

    def i3d(device="cpu", batch_size=4, weights_path=None):
        made.append(CountingFeatures(device, batch_size, weights_path, dim=400, per_window=16))
        return made[-1]

    monkeypatch.setattr(fid_mod, "InceptionFeatures", inception)
    monkeypatch.setattr(fvd_mod, "I3DFeatures", i3d)
    files = []
    for i in range(2):
        f = tmp_path / f"weights{i}.bin"
        f.write_bytes(f"stand-in weights {i}".encode())
        files.append(f)
    return files


def _clips(seed: int, n: int = 3, frames: int = 32):
    rng = np.random.default_rng(seed)
    return [Video(rng.integers(0, 256, (frames, 8, 8, 3), dtype=np.uint8), 25.0) for _ in range(n)]


def _make(kind, weights):
    return (fid_mod.FIDMetric(fid_weights=weights) if kind == "fid" else fvd_mod.FVDMetric(fvd_weights=weights))


def _score(metric, outputs, targets):
    metric.reset()
    feats = []
    for i, (o, t) in enumerate(zip(outputs, targets)):
        f = metric.extract(ClipData(f"c{i}", "s", o, target=t))
        feats.append(f)
        metric.add(f)
    return metric.compute()[metric.keys[0]], feats


@pytest.mark.parametrize("kind", ["fid", "fvd"])
def test_a_second_method_on_the_same_split_computes_only_its_own_side(kind, counting):
    targets = _clips(0)
    method1, method2 = _clips(1), _clips(2)
    first = _make(kind, counting[0])
    v1, f1 = _score(first, method1, targets)
    assert len(first.features.calls) == 6 and first.cache_stats == {"miss": 3}
    # a new process scoring another method: the target side comes from the cache
    second = _make(kind, counting[0])
    v2, f2 = _score(second, method2, targets)
    assert len(second.features.calls) == 3 and second.cache_stats == {"hit": 3}
    assert all(any(c is o.frames or np.shares_memory(c, o.frames) for o in method2) for c in second.features.calls)
    for a, b in zip(f1, f2):
        np.testing.assert_array_equal(a["target"], b["target"])
    # the same method again: bit-identical value, target side still from the cache
    third = _make(kind, counting[0])
    v3, _ = _score(third, method1, targets)
    assert v3 == v1 and len(third.features.calls) == 3
    assert np.isfinite(v1) and np.isfinite(v2) and v1 != v2
    # without the cache every call recomputes and gives the same numbers
    nocache = _make(kind, counting[0])
    nocache.target_cache = None
    v4, _ = _score(nocache, method1, targets)
    assert v4 == v1 and len(nocache.features.calls) == 6


@pytest.mark.parametrize("kind", ["fid", "fvd"])
def test_a_corrupted_or_foreign_entry_is_recomputed_never_trusted(kind, counting):
    targets, outputs = _clips(0, n=2), _clips(1, n=2)
    v1, f1 = _score(_make(kind, counting[0]), outputs, targets)
    entries = sorted((features_cache_dir() / f"{kind}-target").glob("*.npz"))
    assert len(entries) == 2
    good = entries[1].read_bytes()
    # 1. truncated file; 2. the other clip's (valid) entry under this clip's name
    entries[1].write_bytes(good[: len(good) // 2])
    entries[0].write_bytes(good)
    m = _make(kind, counting[0])
    v2, f2 = _score(m, outputs, targets)
    assert m.cache_stats == {"corrupt": 2} and len(m.features.calls) == 4
    assert v2 == v1
    for a, b in zip(f1, f2):
        np.testing.assert_array_equal(a["target"], b["target"])
    # the recomputed entries were written back and verify again
    again = _make(kind, counting[0])
    assert _score(again, outputs, targets)[0] == v1 and again.cache_stats == {"hit": 2}


def test_tampered_array_and_swapped_entries_fail_verification(tmp_path):
    cache = FeatureCache("unit")
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    settings = {"weights": {"m": "0" * 64}, "stride": 1}
    path = cache.put("c" * 64, settings, {"features": a})
    np.testing.assert_array_equal(cache.get("c" * 64, settings)["features"], a)
    assert cache.last_status == "hit"
    # rewrite the zip with a changed array but the original manifest (valid zip, valid CRCs)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    import io

    buf = io.BytesIO()
    np.save(buf, a + 1)
    members["features.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    assert cache.get("c" * 64, settings) is None and cache.last_status == "corrupt"
    assert not path.exists()  # a bad entry is removed
    # an entry copied under another input's key: the manifest names its own input
    path = cache.put("c" * 64, settings, {"features": a})
    other = cache.path("d" * 64, settings)
    other.write_bytes(path.read_bytes())
    assert cache.get("d" * 64, settings) is None and cache.last_status == "corrupt" \
        and "another input" in cache.last_detail


@pytest.mark.parametrize("kind", ["fid", "fvd"])
def test_different_weights_or_settings_make_a_different_key(kind, counting):
    targets, outputs = _clips(0, n=1), _clips(1, n=1)
    _score(_make(kind, counting[0]), outputs, targets)
    other = _make(kind, counting[1])  # another model file: another sha256
    _score(other, outputs, targets)
    assert other.cache_stats == {"miss": 1}
    assert len(list((features_cache_dir() / f"{kind}-target").glob("*.npz"))) == 2
    if kind == "fid":
        strided = fid_mod.FIDMetric(fid_weights=counting[0], fid_frame_stride=2)
        _, f = _score(strided, outputs, targets)
        assert strided.cache_stats == {"miss": 1} and len(f[0]["target"]) == 16


def test_content_hash_of_a_video_is_remembered_and_content_addressed():
    v = _clips(0, n=1)[0]
    h = content_hash(v)
    assert content_hash(v) == h  # memo
    assert content_hash(Video(v.frames.copy(), 25.0)) == h  # same content, other object: same hash
    w = v.frames.copy()
    w[0, 0, 0, 0] ^= 1
    assert content_hash(Video(w, 25.0)) != h
    assert content_hash(Video(v.frames, 30.0)) != h  # fps is part of the content
