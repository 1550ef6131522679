"""FID between the output frames and the genuine target frames of a split, plus the shared Fréchet maths.

Features: Inception-v3 pool3 (2048-d) with the TF-ported FID weights ``pt_inception-2015-12-05-6726825d.pth``
(the file pytorch-fid and piq load), the network of ``piq.feature_extractors.InceptionV3`` (a copy of
pytorch-fid's FID Inception). Preprocessing is pytorch-fid's: uint8 RGB → [0, 1] → bilinear resize to
299x299 (``align_corners=False``, no antialias) → [-1, 1]. Every ``frame_stride``-th frame of every clip is
used (default: all). Statistics are accumulated as running float64 moments (n, Σx, Σxxᵀ), so the state is
a fixed 2 x 32 MiB however many clips, shards merge by addition, and per-clip features can be cached.

Target-side features are paid once per split: the Inception features of a target clip are stored in the
toolkit's feature cache (``headswapbench.featcache``, under ``cache_dir()/features/fid-target``) keyed by the
target's content hash, the Inception file's sha256 and these settings, verified on load. A second method
scored on the same split runs Inception on its own outputs only.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from headswapbench.evaluation.metric import ClipData, SetMetric, torch_device
from headswapbench.featcache import FeatureCache, content_hash

from .base import FID, resolve_weight

FID_INCEPTION = "fid-inception"  # model file in the weights manager (headswapbench.weights: URL, sha256, licence)
FID_RESIZE = "bilinear to 299x299 (align_corners=False, no antialias), as pytorch-fid"
TARGET_FEATURES_VERSION = "1"  # bump when the cached target features would change for the same file + settings


def cached_target_features(metric, video, cache: FeatureCache) -> np.ndarray:
    """``metric.extract_video(video.frames)`` through the feature cache (FID and FVD share this).

    Keyed by the video's content hash and ``{metric name, version, model sha256, metric settings}``;
    ``metric.cache_stats`` counts hits, misses and entries that failed verification (recomputed)."""
    settings = {"metric": metric.name, "features_version": TARGET_FEATURES_VERSION,
                "weights": metric.weights(), "settings": metric.settings(),
                "device": metric.features.device.type}  # CPU and GPU features differ in the last bits
    out = cache.get_or_compute(content_hash(video), settings,
                               lambda: {"features": metric.extract_video(video.frames)})["features"]
    metric.cache_stats[cache.last_status] = metric.cache_stats.get(cache.last_status, 0) + 1
    return out


# ----------------------------------------------------------------------------------------------------------
# Gaussian statistics and the Fréchet distance (shared with FVD)
# ----------------------------------------------------------------------------------------------------------
class GaussianStats:
    """Running first and second moments of feature vectors (float64).

    While at most ``dim`` vectors have been added the raw rows are kept too (no more memory than the
    second-moment matrix): for such small sets the covariances are rank-deficient and the Fréchet distance
    has an exact cheap form from the rows (``frechet_distance_features``), instead of two ``dim``-sized
    eigen-decompositions."""

    def __init__(self, dim: int):
        self.dim = dim
        self.n = 0
        self.sum = np.zeros(dim, dtype=np.float64)
        self.outer = np.zeros((dim, dim), dtype=np.float64)
        self.rows: list[np.ndarray] | None = []

    def add(self, features: np.ndarray) -> None:
        f = np.asarray(features, dtype=np.float64).reshape(-1, self.dim)
        if not np.isfinite(f).all():
            raise ValueError("non-finite features (NaN/inf) reached the Fréchet statistics")
        self.n += len(f)
        self.sum += f.sum(axis=0)
        self.outer += f.T @ f
        self._keep(f)

    def _keep(self, f: np.ndarray) -> None:
        if self.rows is not None:
            self.rows = self.rows + [f] if self.n <= self.dim else None

    def merge(self, other: GaussianStats) -> None:
        self.n += other.n
        self.sum += other.sum
        self.outer += other.outer
        if self.rows is not None and other.rows is not None:
            self.rows = self.rows + other.rows if self.n <= self.dim else None
        else:
            self.rows = None

    def features(self) -> np.ndarray | None:
        """The raw rows while at most ``dim`` were added, else None."""
        return np.concatenate(self.rows) if self.rows else None

    def mean_cov(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and unbiased covariance (``np.cov(rowvar=False)``, as pytorch-fid)."""
        if self.n < 2:
            raise ValueError(f"need at least 2 feature vectors for a covariance, have {self.n}")
        mu = self.sum / self.n
        cov = (self.outer - self.n * np.outer(mu, mu)) / (self.n - 1)
        return mu, (cov + cov.T) / 2

    def frechet(self, other: GaussianStats) -> float:
        """Fréchet distance between the two Gaussians, by the cheapest exact route available."""
        f1, f2 = self.features(), other.features()
        if f1 is not None and f2 is not None:
            return frechet_distance_features(f1, f2)
        return frechet_distance(*self.mean_cov(), *other.mean_cov())


def _psd_sqrt(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ1-μ2‖² + tr Σ1 + tr Σ2 - 2 tr (Σ1 Σ2)^½.

    tr (Σ1 Σ2)^½ is computed as Σ √λ of the symmetric PSD matrix Σ1^½ Σ2 Σ1^½ (same eigenvalues as Σ1 Σ2):
    real-valued and stable for the rank-deficient covariances of small sets, where ``scipy.linalg.sqrtm``
    of the non-symmetric product can return complex noise."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"statistics differ in shape: {mu1.shape}/{s1.shape} vs {mu2.shape}/{s2.shape}")
    a = _psd_sqrt(s1)
    lam = np.linalg.eigvalsh((a @ s2 @ a + (a @ s2 @ a).T) / 2)
    tr_covmean = float(np.sqrt(np.clip(lam, 0, None)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def frechet_distance_features(f1: np.ndarray, f2: np.ndarray) -> float:
    """The same distance from the feature rows [n1, d], [n2, d] (unbiased covariances).

    With centred rows A1, A2: Σ1 Σ2 = A1ᵀA1 A2ᵀA2 / c, c = (n1-1)(n2-1), whose non-zero eigenvalues are the
    squared singular values of A1 A2ᵀ (n1 x n2); so tr (Σ1 Σ2)^½ = ‖A1 A2ᵀ‖_* / √c — exact, and cheap when the
    sets are small (fewer rows than dimensions)."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    n1, n2 = len(f1), len(f2)
    if n1 < 2 or n2 < 2:
        raise ValueError(f"need at least 2 feature vectors per set, have {n1} and {n2}")
    mu1, mu2 = f1.mean(axis=0), f2.mean(axis=0)
    a1, a2 = f1 - mu1, f2 - mu2
    tr1 = float((a1 * a1).sum()) / (n1 - 1)
    tr2 = float((a2 * a2).sum()) / (n2 - 1)
    tr_covmean = float(np.linalg.svd(a1 @ a2.T, compute_uv=False).sum()) / math.sqrt((n1 - 1) * (n2 - 1))
    diff = mu1 - mu2
    return float(diff @ diff + tr1 + tr2 - 2.0 * tr_covmean)


# ----------------------------------------------------------------------------------------------------------
# Inception features
# ----------------------------------------------------------------------------------------------------------
_PATCH_LOCK = threading.Lock()


def build_inception(weights: str | Path, device: str = "cpu"):
    """piq's FID InceptionV3 (pool3 block) with its state dict read from ``weights`` instead of downloaded.

    piq fetches the file by URL inside its constructor and lets torchvision run its slow scipy
    truncated-normal init (~15 s) on weights that are overwritten right after; both are swapped out for the
    duration of the constructor (under a lock): the local state dict is handed over and the throw-away init
    skipped. The architecture and the loaded weights are exactly piq's / pytorch-fid's."""
    import functools
    import types

    import torch
    from piq.feature_extractors import fid_inception

    state = torch.load(str(weights), map_location="cpu", weights_only=True)
    with _PATCH_LOCK:
        original_load, original_models = fid_inception.load_state_dict_from_url, fid_inception.models
        fid_inception.load_state_dict_from_url = lambda *a, **k: state
        fid_inception.models = types.SimpleNamespace(
            inception_v3=functools.partial(original_models.inception_v3, init_weights=False),
            inception=original_models.inception,
        )
        try:
            model = fid_inception.InceptionV3(output_blocks=[3], resize_input=True, normalize_input=True)
        finally:
            fid_inception.load_state_dict_from_url, fid_inception.models = original_load, original_models
    # channels-last: oneDNN's faster convolution layout (≈ 25 % less CPU time here; the same features)
    return model.eval().to(device, memory_format=torch.channels_last)


class InceptionFeatures:
    """uint8 frames → [N, 2048] float32 pool3 features, in batches."""

    def __init__(self, device: str = "cpu", batch_size: int = 16, weights_path: str | Path | None = None):
        self.device = torch_device(device)
        self.batch_size = int(batch_size)
        path, self.sha256 = resolve_weight(FID_INCEPTION, weights_path)
        self.model = build_inception(path, self.device)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(frames), self.batch_size):
                x = torch.from_numpy(np.ascontiguousarray(frames[i : i + self.batch_size])).permute(0, 3, 1, 2)
                x = x.to(self.device, torch.float32, memory_format=torch.channels_last) / 255.0
                out.append(self.model(x)[0].flatten(1).cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 2048), np.float32)


class FIDMetric(SetMetric):
    """Frame FID of outputs against targets over the whole split."""

    name = "fid"
    keys = (FID,)
    dim = 2048

    def __init__(self, device: str = "cpu", batch_size: int = 16, fid_weights: str | Path | None = None,
                 fid_frame_stride: int = 1):
        if int(fid_frame_stride) < 1:
            raise ValueError(f"fid_frame_stride must be >= 1, got {fid_frame_stride}")
        self.frame_stride = int(fid_frame_stride)
        self.features = InceptionFeatures(device, batch_size, fid_weights)
        self.target_cache: FeatureCache | None = FeatureCache("fid-target")  # None: always recompute
        self.cache_stats: dict[str, int] = {}
        super().__init__(device, batch_size)

    def reset(self) -> None:
        self.state = {"output": GaussianStats(self.dim), "target": GaussianStats(self.dim), "clips": 0,
                      "input_sizes": set()}

    def extract_video(self, frames: np.ndarray) -> np.ndarray:
        """Features of the sampled frames of one video (cache the target's: it does not depend on the method)."""
        return self.features(frames[:: self.frame_stride])

    def extract(self, data: ClipData) -> dict[str, np.ndarray]:
        data.require("target")
        target = (self.extract_video(data.target.frames) if self.target_cache is None
                  else cached_target_features(self, data.target, self.target_cache))
        return {
            "output": self.extract_video(data.output.frames),
            "target": target,
            "input_size": np.array(data.output.frames.shape[1:3]),
        }

    def add(self, features: dict[str, np.ndarray]) -> None:
        self.state["output"].add(features["output"])
        self.state["target"].add(features["target"])
        self.state["clips"] += 1
        if "input_size" in features:
            self.state["input_sizes"].add("x".join(str(int(v)) for v in np.asarray(features["input_size"])[::-1]))

    def merge(self, other: FIDMetric) -> None:
        for role in ("output", "target"):
            self.state[role].merge(other.state[role])
        self.state["clips"] += other.state["clips"]
        self.state["input_sizes"] |= other.state["input_sizes"]

    def compute(self) -> dict[str, float]:
        out, tgt = self.state["output"], self.state["target"]
        if out.n < 2 or tgt.n < 2:
            return {FID: math.nan}
        return {FID: out.frechet(tgt)}

    def counts(self) -> dict[str, Any]:
        return {"clips": self.state["clips"], "frames_output": self.state["output"].n,
                "frames_target": self.state["target"].n, "input_sizes": sorted(self.state["input_sizes"])}

    def settings(self) -> dict[str, Any]:
        return {"features": "Inception-v3 pool3 2048-d (pytorch-fid FID weights)", "resize": FID_RESIZE,
                "frame_stride": self.frame_stride}

    def weights(self) -> dict[str, str]:
        return {FID_INCEPTION: self.features.sha256}

