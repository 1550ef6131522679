"""Content-addressed caching shared by the face-analysis cache and the metrics' target-side features.

One home for three things:

- ``content_hash(video_or_path)``: sha256 of a file's bytes, or of a decoded ``Video``'s shape, fps and pixel
  bytes. The hash of a ``Video`` is remembered on the object (keyed by the identity, shape and address of its
  frames array), so the target clip that is hashed for its face analysis is not hashed again for FID and FVD.
  Frames are treated as immutable once decoded (every reader in the toolkit returns fresh arrays).
- ``cache_key(content, settings)``: the entry name, ``<content[:32]>-<sha256_json(settings)[:16]>``; the
  settings carry everything that changes the cached value (model files' sha256, preprocessing, version).
- ``FeatureCache``: arrays stored under ``cache_dir()/features/<namespace>/<key>.npz``, **verified on load**:
  each entry records its full content hash, the full settings hash and the sha256 of every array's bytes, and
  a load checks all of them plus the file's own integrity (truncated zip, wrong member, bad dtype). A corrupt,
  truncated or mismatched entry is never trusted: it is reported as a miss (``last_status``), deleted, and the
  caller recomputes and overwrites it. Writes are atomic (``fileio.atomic_path``: temp file + rename), so a
  killed run never leaves half an entry.

Why the target side is cached and the output side is not: a split's targets are the same for every method
scored on it, so FID's Inception features and FVD's I3D features of the targets are paid once per split
(per model file and settings); the output's are new for each method anyway.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .fileio import atomic_path, cache_dir, sha256_file, sha256_json

_HASH_ATTR = "_hsb_content_hash"  # memo on a Video: (id(frames), shape, data address, hash)


def content_hash(video_or_path) -> str:
    """sha256 of a file's bytes, or of a `Video`'s frames (shape, fps and pixel bytes)."""
    if isinstance(video_or_path, (str, Path)):
        return sha256_file(video_or_path)
    frames = video_or_path.frames
    stamp = (id(frames), frames.shape, frames.__array_interface__["data"][0], float(video_or_path.fps))
    memo = getattr(video_or_path, "__dict__", {}).get(_HASH_ATTR)
    if memo is not None and memo[0] == stamp:
        return memo[1]
    frames_c = np.ascontiguousarray(frames)
    h = hashlib.sha256(f"{frames_c.shape}|{float(video_or_path.fps)!r}|".encode())
    h.update(memoryview(frames_c).cast("B"))
    digest = h.hexdigest()
    if hasattr(video_or_path, "__dict__"):
        video_or_path.__dict__[_HASH_ATTR] = (stamp, digest)
    return digest


def cache_key(content: str, settings: dict) -> str:
    return f"{content[:32]}-{sha256_json(settings)[:16]}"


def features_cache_dir() -> Path:
    return cache_dir() / "features"


def _array_sha(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    h = hashlib.sha256(f"{a.dtype.str}|{a.shape}|".encode())
    h.update(memoryview(a).cast("B") if a.size else b"")
    return h.hexdigest()


class FeatureCache:
    """Verified on-disk arrays for one kind of feature (``namespace``, e.g. ``fid-target``).

    ``get(content, settings)`` returns the stored dict of arrays or None (a miss, or an entry that failed
    verification: ``last_status`` says which, ``"hit" | "miss" | "corrupt"``, and ``last_detail`` why an entry
    was not trusted); ``put`` stores atomically."""

    def __init__(self, namespace: str):
        if not namespace or "/" in namespace or namespace.startswith("."):
            raise ValueError(f"bad feature-cache namespace {namespace!r}")
        self.namespace = namespace
        self.last_status = ""
        self.last_detail = ""

    @property
    def root(self) -> Path:
        return features_cache_dir() / self.namespace

    def path(self, content: str, settings: dict) -> Path:
        return self.root / f"{cache_key(content, settings)}.npz"

    def _manifest(self, content: str, settings: dict, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        return {"namespace": self.namespace, "content": content, "settings_sha256": sha256_json(settings),
                "arrays": {k: {"dtype": np.asarray(v).dtype.str, "shape": list(np.shape(v)),
                               "sha256": _array_sha(np.asarray(v))} for k, v in sorted(arrays.items())}}

    def get(self, content: str, settings: dict) -> dict[str, np.ndarray] | None:
        path = self.path(content, settings)
        if not path.is_file():
            self.last_status, self.last_detail = "miss", ""
            return None
        try:
            arrays = self._load_verified(path, content, settings)
        except Exception as exc:  # noqa: BLE001 - any defect of a cache entry means: do not trust, recompute
            self.last_status, self.last_detail = "corrupt", f"{type(exc).__name__}: {exc}"
            path.unlink(missing_ok=True)
            return None
        self.last_status, self.last_detail = "hit", ""
        return arrays

    def _load_verified(self, path: Path, content: str, settings: dict) -> dict[str, np.ndarray]:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise ValueError(f"member {bad} fails its CRC")
            manifest = json.loads(zf.read("manifest.json"))
            if manifest.get("content") != content or manifest.get("settings_sha256") != sha256_json(settings) \
                    or manifest.get("namespace") != self.namespace:
                raise ValueError("entry was written for another input or other settings")
            arrays = {}
            for name, meta in manifest["arrays"].items():
                a = np.load(io.BytesIO(zf.read(f"{name}.npy")), allow_pickle=False)
                if a.dtype.str != meta["dtype"] or list(a.shape) != meta["shape"] or _array_sha(a) != meta["sha256"]:
                    raise ValueError(f"array '{name}' does not match its recorded dtype, shape or sha256")
                arrays[name] = a
        return arrays

    def put(self, content: str, settings: dict, arrays: dict[str, np.ndarray]) -> Path:
        path = self.path(content, settings)
        manifest = self._manifest(content, settings, arrays)
        with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr("manifest.json", json.dumps(manifest, sort_keys=True))
            for name, a in sorted(arrays.items()):
                buf = io.BytesIO()
                np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
                zf.writestr(f"{name}.npy", buf.getvalue())
        return path

    def get_or_compute(self, content: str, settings: dict, compute) -> dict[str, np.ndarray]:
        """The stored arrays, or ``compute()``'s (then stored). A failed store (read-only cache) is not fatal."""
        hit = self.get(content, settings)
        if hit is not None:
            return hit
        status = self.last_status
        arrays = {k: np.asarray(v) for k, v in compute().items()}
        try:
            self.put(content, settings, arrays)
        except Exception:  # noqa: BLE001 - a cache that cannot be written only costs speed
            pass
        self.last_status = status
        return arrays
