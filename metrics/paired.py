"""Paired whole-frame metrics against the genuine target V_a: PSNR, SSIM (piq's definitions) and LPIPS (lpips package).

Conventions (recorded in each key's fingerprint through ``settings()`` and ``weights()``):
- frames are compared at full resolution, RGB, frame by frame; the clip value is the mean over frames;
- PSNR: piq.psnr's definition on [0, 1] (data range 1 ≡ 255 on uint8), MSE over all three channels, computed
  exactly from integer squared differences (`psnr_frames`); identical frames give piq's ceiling of 80 dB (its
  MSE guard of 1e-8), never infinity;
- SSIM: piq.ssim's definition (`ssim_frames` on the CPU: separable float32; piq itself on a GPU), 11x11 gaussian window (sigma 1.5), K1=0.01, K2=0.03, per channel then averaged, 'valid'
  window positions, **no** automatic 2x down-sampling (``downsample=False``) so the number is SSIM of the
  frames as delivered — this matches scikit-image's ``structural_similarity(gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False)``;
- LPIPS: lpips v0.1, AlexNet backbone, linear heads from the lpips wheel, inputs scaled to [-1, 1]. The
  AlexNet backbone file comes from the weights manager (``alexnet-owt-7be5be79.pth``, the file lpips itself
  loads through torchvision), so the number equals ``lpips.LPIPS(net='alex')``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from headswapbench.evaluation.metric import ClipData, ClipMetric, torch_device

from .base import LPIPS, PSNR, SSIM, resolve_weight

LPIPS_ALEXNET = "lpips-alexnet"  # model file in the weights manager (headswapbench.weights: URL, sha256, licence)


def _frames_to_tensor(frames: np.ndarray):
    """uint8 [T, H, W, 3] → float32 [T, 3, H, W] in [0, 1]."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    return t.to(torch.float32) / 255.0


def _check_pair(data: ClipData) -> tuple[np.ndarray, np.ndarray]:
    data.require("target")
    out, tgt = data.output.frames, data.target.frames
    if out.shape != tgt.shape:
        raise ValueError(f"clip '{data.clip_id}': output frames {out.shape} and target frames {tgt.shape} differ")
    return out, tgt


class _BatchedPaired(ClipMetric):
    """Per-frame paired score in batches of ``batch_size`` frames, averaged over the clip."""

    def __init__(self, device: str = "cpu", batch_size: int = 16):
        super().__init__(device, batch_size)
        self._device = torch_device(device)  # checked here: a bad name fails before any clip is scored

    def _score(self, out_batch: np.ndarray, tgt_batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def per_frame(self, data: ClipData) -> np.ndarray:
        out, tgt = _check_pair(data)
        parts = [self._score(out[i : i + self.batch_size], tgt[i : i + self.batch_size])
                 for i in range(0, len(out), self.batch_size)]
        return np.concatenate(parts) if parts else np.empty(0)

    def compute(self, data: ClipData) -> dict[str, float]:
        values = self.per_frame(data)
        return {self.keys[0]: float(values.mean()) if values.size else float("nan")}


def psnr_frames(out: np.ndarray, tgt: np.ndarray) -> np.ndarray:
    """Per-frame PSNR of uint8 frames, in dB: 10·log10(1 / (MSE + 1e-8)) with MSE on the [0, 1] scale over
    all pixels and channels — piq.psnr's definition (its 1e-8 guard caps identical frames at 80 dB). The sum
    of squared differences is exact (cv2.norm over integers, accumulated in float64): memory speed, no float
    copies of the frames."""
    import cv2

    _same_shape(out, tgt)
    n = out[0].size if len(out) else 1
    sse = np.array([cv2.norm(o, t, cv2.NORM_L2SQR) for o, t in zip(out, tgt)], np.float64)
    return -10.0 * np.log10(sse / (n * 255.0**2) + 1e-8)


def _same_shape(out: np.ndarray, tgt: np.ndarray, min_side: int = 1) -> None:
    """uint8 frames of one shape, at least ``min_side`` pixels high and wide (what the fast paths assume)."""
    if out.shape != tgt.shape or out.dtype != np.uint8 or tgt.dtype != np.uint8:
        raise ValueError(f"need two uint8 frame stacks of one shape, got {out.dtype} {out.shape} and "
                         f"{tgt.dtype} {tgt.shape}")
    if out.ndim >= 3 and min(out.shape[1:3]) < min_side:
        raise ValueError(f"frames of {out.shape[2]}x{out.shape[1]} px are smaller than the {min_side}-px SSIM window")


def _gauss_filter(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable gaussian over each channel, 'valid' positions only (the window fully inside the frame)."""
    import cv2

    r = len(kernel) // 2
    full = cv2.sepFilter2D(img, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
    return full[r:-r, r:-r]


def ssim_frames(out: np.ndarray, tgt: np.ndarray, kernel_size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Per-frame SSIM of uint8 RGB frames (0-255 scale, K1 0.01, K2 0.03, population covariances, valid
    window positions, mean over channels and positions): piq.ssim(downsample=False) and scikit-image's
    gaussian SSIM by definition. float32, separable filter; pixel values are centred on 128 before the
    second moments so float32 keeps the variances' precision (they are differences of large numbers)."""
    import cv2

    _same_shape(out, tgt, min_side=kernel_size)
    kernel = cv2.getGaussianKernel(kernel_size, sigma).astype(np.float32)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = np.empty(len(out), np.float64)
    for i, (o, t) in enumerate(zip(out, tgt)):
        x = o.astype(np.float32) - 128.0
        y = t.astype(np.float32) - 128.0
        mx, my = _gauss_filter(x, kernel), _gauss_filter(y, kernel)
        sxx = _gauss_filter(x * x, kernel) - mx * mx
        syy = _gauss_filter(y * y, kernel) - my * my
        sxy = _gauss_filter(x * y, kernel) - mx * my
        mx += 128.0
        my += 128.0
        num = (2 * mx * my + c1) * (2 * sxy + c2)
        den = (mx * mx + my * my + c1) * (sxx + syy + c2)
        scores[i] = float(np.mean(num / den, dtype=np.float64))
    return scores


class PSNRMetric(_BatchedPaired):
    name = "psnr"
    keys = (PSNR,)

    def _score(self, out_batch, tgt_batch):
        return psnr_frames(out_batch, tgt_batch)

    def settings(self) -> dict[str, Any]:
        # the definition, not the library: a faster implementation of the same number keeps the fingerprint
        return {"definition": "-10 log10(MSE + 1e-8), MSE over RGB on the [0, 1] scale (piq.psnr)",
                "data_range": 255, "channels": "RGB", "ceiling_db": 80.0}


class SSIMMetric(_BatchedPaired):
    """On the CPU: `ssim_frames` (separable float32, cv2). On a GPU: piq.ssim in float32 on the device (TF32
    off: `torch_device`), the same definition; tests/test_metrics_paired.py checks both paths against
    scikit-image within 2e-4 (piq's on the CPU: no GPU was available to run it on one)."""

    name = "ssim"
    keys = (SSIM,)

    def _score(self, out_batch, tgt_batch):
        if self._device.type == "cpu":
            return ssim_frames(out_batch, tgt_batch)
        import piq

        x = _frames_to_tensor(out_batch).to(self._device)
        y = _frames_to_tensor(tgt_batch).to(self._device)
        return piq.ssim(x, y, data_range=1.0, kernel_size=11, kernel_sigma=1.5, downsample=False,
                        reduction="none").cpu().numpy()

    def settings(self) -> dict[str, Any]:
        return {"definition": "gaussian SSIM, K1 0.01, K2 0.03, population covariances, valid positions "
                              "(piq.ssim downsample=False = skimage gaussian_weights)",
                "kernel": "gaussian 11x11 sigma 1.5", "downsample": False,
                "channels": "RGB (mean over channels)"}


def build_lpips(backbone_path: str | Path, device: str = "cpu"):
    """lpips.LPIPS(net='alex', v0.1) with its AlexNet backbone loaded from ``backbone_path`` (a torchvision
    alexnet state dict) instead of torchvision's download cache."""
    import lpips
    import torch

    model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    state = torch.load(str(backbone_path), map_location="cpu", weights_only=True)
    # lpips splits alexnet.features into slice1..5 keeping the torchvision indices as module names.
    own = {}
    for slice_name, seq in model.net.named_children():
        for idx, _ in seq.named_children():
            for p in ("weight", "bias"):
                key = f"features.{idx}.{p}"
                if key in state:
                    own[f"{slice_name}.{idx}.{p}"] = state[key]
    expected = {k for k in model.net.state_dict()}
    if set(own) != expected:
        from headswapbench.errors import HeadSwapBenchError

        raise HeadSwapBenchError(f"{backbone_path}: not a torchvision AlexNet state dict (missing "
                                 f"{sorted(expected - set(own))[:3]}...)")
    model.net.load_state_dict(own)
    # channels-last: oneDNN's faster convolution layout (≈ 16 % less CPU time here; the same numbers)
    return model.eval().to(device, memory_format=torch.channels_last)


class LPIPSMetric(_BatchedPaired):
    name = "lpips"
    keys = (LPIPS,)

    def __init__(self, device: str = "cpu", batch_size: int = 8, lpips_weights: str | Path | None = None):
        super().__init__(device, batch_size)
        path, self.backbone_sha256 = resolve_weight(LPIPS_ALEXNET, lpips_weights)
        self.model = build_lpips(path, self._device)

    def weights(self) -> dict[str, str]:
        return {LPIPS_ALEXNET: self.backbone_sha256}

    def _score(self, out_batch, tgt_batch):
        import torch

        x = _frames_to_tensor(out_batch).to(self._device, memory_format=torch.channels_last) * 2 - 1
        y = _frames_to_tensor(tgt_batch).to(self._device, memory_format=torch.channels_last) * 2 - 1
        with torch.inference_mode():
            return self.model(x, y).flatten().cpu().numpy().astype(np.float64)

    def settings(self) -> dict[str, Any]:
        import inspect

        import lpips

        from headswapbench.fileio import sha256_file

        heads = Path(inspect.getfile(lpips.LPIPS)).parent / "weights" / "v0.1" / "alex.pth"
        return {"implementation": f"lpips {getattr(lpips, '__version__', '?')} v0.1 alex",
                "linear_heads_sha256": sha256_file(heads),
                "input_range": "[-1, 1]", "resize": None}
