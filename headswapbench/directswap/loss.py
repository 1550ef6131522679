"""MEAR: Motion- and Expression-Aware Reconstruction loss.

The diffusion noise-prediction MSE, reweighted per latent pixel by ``w = 1 + α·m + β·l``:

- ``m`` — motion map: the TARGET clip's frame-difference magnitude ``mean_c |x_t − x_{t−1}|`` (frame 0 takes
  the difference to frame 1), area-downsampled to latent size and divided by its maximum over the clip → [0,1].
- ``l`` — landmark map: ``max_k s_k · exp(−d_k² / 2σ²)`` over the 478 FaceMesh landmarks, with ``s_k = 1`` for
  eye, iris and lip points and ``0.5`` elsewhere, divided by its per-frame maximum → [0,1]; frames without a
  face (NaN landmarks) get ``l = 0``.

``loss = mean(w · (ε̂ − ε)²)``: NOT divided by ``mean(w)`` by default (the weights then also raise the step
size on hard pixels, as in the method description); ``normalize=True`` divides by ``mean(w)`` to keep the
plain-MSE scale. With α = β = 0, ``w ≡ 1`` and the loss equals the plain MSE exactly."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..face.topology import IRISES, LEFT_EYE, LIPS, NUM_LANDMARKS, RIGHT_EYE

EMPHASIS = 1.0  # eyes, irises, lips
BASE = 0.5  # every other landmark


def landmark_emphasis(num_landmarks: int = NUM_LANDMARKS) -> torch.Tensor:
    s = torch.full((num_landmarks,), BASE)
    if num_landmarks == NUM_LANDMARKS:
        s[LIPS + LEFT_EYE + RIGHT_EYE + IRISES] = EMPHASIS
    return s


def motion_map(target: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """target [B,T,C,H,W] (any value range) → m [B,T,h,w] in [0,1], normalised per clip."""
    x = target.float()
    b, t = x.shape[:2]
    if t < 2:
        return x.new_zeros(b, t, *size)
    diff = (x[:, 1:] - x[:, :-1]).abs().mean(dim=2)  # [B,T-1,H,W]
    diff = torch.cat([diff[:, :1], diff], dim=1)  # frame 0 reuses the 0→1 difference
    m = F.adaptive_avg_pool2d(diff, size)
    peak = m.amax(dim=(1, 2, 3), keepdim=True)
    return torch.where(peak > 0, m / peak.clamp_min(1e-12), torch.zeros_like(m))


def landmark_map(landmarks: torch.Tensor, frame_size: tuple[int, int], size: tuple[int, int],
                 sigma: float, emphasis: torch.Tensor | None = None) -> torch.Tensor:
    """landmarks [B,T,K,2+] in pixels of a frame of ``frame_size`` = (H, W) (NaN: no face) → l [B,T,h,w].

    ``sigma`` is in latent pixels. Each landmark maps to latent coordinates with pixel centres at
    ``(x + 0.5)·w/W − 0.5``."""
    (fh, fw), (h, w) = frame_size, size
    lm = landmarks[..., :2].float()
    b, t, k = lm.shape[:3]
    s = (landmark_emphasis(k) if emphasis is None else emphasis).to(lm)
    lx = (lm[..., 0] + 0.5) * (w / fw) - 0.5
    ly = (lm[..., 1] + 0.5) * (h / fh) - 0.5
    valid = torch.isfinite(lx) & torch.isfinite(ly)
    lx, ly = torch.nan_to_num(lx), torch.nan_to_num(ly)
    gy = torch.arange(h, dtype=lm.dtype, device=lm.device)
    gx = torch.arange(w, dtype=lm.dtype, device=lm.device)
    # separable Gaussian: [B,T,K,h] x [B,T,K,w]
    ey = torch.exp(-((gy[None, None, None, :] - ly[..., None]) ** 2) / (2 * sigma**2))
    ex = torch.exp(-((gx[None, None, None, :] - lx[..., None]) ** 2) / (2 * sigma**2))
    amp = (s[None, None, :] * valid.to(lm.dtype))[..., None, None]
    g = amp * ey[..., :, None] * ex[..., None, :]  # [B,T,K,h,w]
    lmap = g.amax(dim=2) if k else lm.new_zeros(b, t, h, w)
    peak = lmap.amax(dim=(2, 3), keepdim=True)
    return torch.where(peak > 0, lmap / peak.clamp_min(1e-12), torch.zeros_like(lmap))


def mear_weights(motion: torch.Tensor | None, landmarks: torch.Tensor | None, alpha: float,
                 beta: float) -> torch.Tensor:
    """``1 + α·m + β·l`` ([B,T,h,w]); a missing map counts as zero."""
    ref = motion if motion is not None else landmarks
    w = torch.ones_like(ref)
    if motion is not None and alpha:
        w = w + alpha * motion
    if landmarks is not None and beta:
        w = w + beta * landmarks
    return w


def mear_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
              normalize: bool = False) -> torch.Tensor:
    """pred, target: [B,C,T,h,w] noise; weight [B,T,h,w] (broadcast over channels). Mean over all elements."""
    sq = (pred.float() - target.float()) ** 2
    if weight is None:
        return sq.mean()
    w = weight.float()[:, None]
    loss = (w * sq).mean()
    if normalize:
        loss = loss / w.mean()
    return loss
