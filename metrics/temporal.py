"""Temporal stability against the target: a flicker measure that needs no model.

Definition: with Y_t the BT.601 luma of frame t (0-255) and ΔY_t = Y_{t+1} - Y_t the frame-to-frame change,

    flicker = mean over t = 0..T-2 and all pixels of | ΔY_t(output) - ΔY_t(target) |

Why this one: an output that flickers (per-frame noise, boundary popping, identity jitter) has temporal
changes the genuine video does not have; an output that freezes lacks the ones it has. Comparing *changes*
(not frames) makes a constant colour or alignment offset cost nothing, so it isolates temporal behaviour
from the per-frame error PSNR/LPIPS already measure. The oracle scores 0; lower is better; unit: grey levels.
A clip with fewer than two frames has no temporal change: NaN.
"""

from __future__ import annotations

import numpy as np

from headswapbench.evaluation.metric import ClipData, ClipMetric

from .base import FLICKER

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luma(frames: np.ndarray) -> np.ndarray:
    """uint8 [T, H, W, 3] RGB → float32 [T, H, W] BT.601 luma."""
    return np.asarray(frames, dtype=np.float32) @ _LUMA


def flicker(out_frames: np.ndarray, tgt_frames: np.ndarray, chunk: int = 32) -> float:
    """Mean |Δoutput - Δtarget| over consecutive frame pairs, computed in chunks to bound memory."""
    if out_frames.shape != tgt_frames.shape:
        raise ValueError(f"output {out_frames.shape} and target {tgt_frames.shape} differ in shape")
    t = len(out_frames)
    if t < 2:
        return float("nan")
    total, count = 0.0, 0
    for start in range(0, t - 1, chunk):
        stop = min(start + chunk + 1, t)  # chunks overlap by one frame so every pair is counted once
        d = np.diff(luma(out_frames[start:stop]), axis=0) - np.diff(luma(tgt_frames[start:stop]), axis=0)
        total += float(np.abs(d).sum(dtype=np.float64))
        count += d.size
    return total / count


class FlickerMetric(ClipMetric):
    name = "flicker"
    keys = (FLICKER,)

    def compute(self, data: ClipData) -> dict[str, float]:
        data.require("target")
        return {FLICKER: flicker(data.output.frames, data.target.frames, chunk=max(self.batch_size, 2))}

    def settings(self):
        return {"definition": "mean |dY_t(output) - dY_t(target)|, BT.601 luma 0-255"}
