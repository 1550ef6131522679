"""FVD between output clips and genuine target clips over the split, with StyleGAN-V's I3D.

Detector: ``i3d_torchscript.pt`` (Kinetics-400 I3D exported to TorchScript by StyleGAN-V; loaded with
``torch.jit.load``), called as ``detector(x, rescale=False, resize=True, return_features=True)`` → 400-d
logits before the softmax, the call used by StyleGAN-V's FVD and the common_metrics_on_video_quality port.
Input: float32 [B, 3, 16, H, W] scaled to [-1, 1]; the detector resizes to 224x224 itself.

Windows: each video is cut into consecutive non-overlapping 16-frame windows starting at frame 0
(frames 0-15, 16-31, ...); a tail shorter than 16 frames is dropped (121 frames → 7 windows, 112 frames).
Output and target windows are taken at the same frames. The number of clips and windows is recorded
beside the score. Statistics are accumulated like FID (running float64 moments, merged by addition).
Target windows' features are cached like FID's (``cache_dir()/features/fvd-target``; content hash + I3D
file sha256 + settings, verified on load), so a second method on a split runs I3D on its outputs only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from headswapbench.evaluation.metric import ClipData, SetMetric, torch_device
from headswapbench.featcache import FeatureCache

from .base import FVD, resolve_weight
from .fid import GaussianStats, cached_target_features

FVD_I3D = "fvd-i3d"  # model file in the weights manager (headswapbench.weights: URL, sha256, licence)
WINDOW = 16
DETECTOR_KWARGS = {"rescale": False, "resize": True, "return_features": True}


def window_starts(num_frames: int, window: int = WINDOW) -> list[int]:
    """Start frames of the non-overlapping windows (tail shorter than ``window`` dropped)."""
    return list(range(0, num_frames - window + 1, window))


class I3DFeatures:
    """uint8 video → [W, 400] float32 features, one row per 16-frame window, ``batch_size`` windows at once."""

    def __init__(self, device: str = "cpu", batch_size: int = 4, weights_path: str | Path | None = None):
        import torch

        self.device = torch_device(device)
        self.batch_size = int(batch_size)
        path, self.sha256 = resolve_weight(FVD_I3D, weights_path)
        try:
            self.model = torch.jit.load(str(path), map_location=self.device).eval()
        except Exception as exc:  # a corrupt or non-TorchScript file: name it
            from headswapbench.errors import HeadSwapBenchError

            raise HeadSwapBenchError(f"{path}: cannot load the I3D TorchScript detector: {exc}") from exc

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        import torch

        starts = window_starts(len(frames))
        out = []
        with torch.inference_mode():
            for i in range(0, len(starts), self.batch_size):
                clips = np.stack([frames[s : s + WINDOW] for s in starts[i : i + self.batch_size]])  # B,T,H,W,3
                x = torch.from_numpy(clips).to(self.device).permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0
                out.append(self.model(x, **DETECTOR_KWARGS).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 400), np.float32)


class FVDMetric(SetMetric):
    """FVD of output clips against target clips over the whole split."""

    name = "fvd"
    keys = (FVD,)
    dim = 400

    def __init__(self, device: str = "cpu", batch_size: int = 4, fvd_weights: str | Path | None = None):
        self.features = I3DFeatures(device, batch_size, fvd_weights)
        self.target_cache: FeatureCache | None = FeatureCache("fvd-target")  # None: always recompute
        self.cache_stats: dict[str, int] = {}
        super().__init__(device, batch_size)

    def reset(self) -> None:
        self.state = {"output": GaussianStats(self.dim), "target": GaussianStats(self.dim), "clips": 0,
                      "clips_too_short": 0}

    def extract_video(self, frames: np.ndarray) -> np.ndarray:
        return self.features(frames)

    def extract(self, data: ClipData) -> dict[str, np.ndarray]:
        data.require("target")
        target = (self.extract_video(data.target.frames) if self.target_cache is None
                  else cached_target_features(self, data.target, self.target_cache))
        return {"output": self.extract_video(data.output.frames), "target": target}

    def add(self, features: dict[str, np.ndarray]) -> None:
        out, tgt = np.asarray(features["output"]), np.asarray(features["target"])
        if len(out) == 0:
            self.state["clips_too_short"] += 1
            return
        self.state["output"].add(out)
        self.state["target"].add(tgt)
        self.state["clips"] += 1

    def merge(self, other: FVDMetric) -> None:
        for role in ("output", "target"):
            self.state[role].merge(other.state[role])
        self.state["clips"] += other.state["clips"]
        self.state["clips_too_short"] += other.state["clips_too_short"]

    def compute(self) -> dict[str, float]:
        out, tgt = self.state["output"], self.state["target"]
        if out.n < 2 or tgt.n < 2:
            return {FVD: math.nan}
        return {FVD: out.frechet(tgt)}

    def counts(self) -> dict[str, Any]:
        return {"clips": self.state["clips"], "windows": self.state["output"].n,
                "clips_too_short": self.state["clips_too_short"]}

    def settings(self) -> dict[str, Any]:
        return {"detector": "I3D Kinetics-400 TorchScript (StyleGAN-V)", "detector_kwargs": DETECTOR_KWARGS,
                "windows": f"non-overlapping {WINDOW}-frame windows from frame 0, tail dropped",
                "input_range": "[-1, 1]", "resize": "224x224 inside the detector"}

    def weights(self) -> dict[str, str]:
        return {FVD_I3D: self.features.sha256}
