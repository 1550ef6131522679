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


def flicker(out_frames: np.ndarray, tgt_frames: np.ndarray) -> float:
    """Mean |Δoutput - Δtarget| over consecutive frame pairs. Luma is linear, so ΔY(out) - ΔY(tgt) is the
    change of D_t = Y(out_t - tgt_t) from one frame to the next: one float32 difference image per frame
    (cv2), streamed, memory speed."""
    import cv2

    if out_frames.shape != tgt_frames.shape:
        raise ValueError(f"output {out_frames.shape} and target {tgt_frames.shape} differ in shape")
    if len(out_frames) < 2:
        return float("nan")
    total, prev = 0.0, None
    for o, t in zip(out_frames, tgt_frames):
        d = cv2.cvtColor(cv2.subtract(o, t, dtype=cv2.CV_32F), cv2.COLOR_RGB2GRAY)
        if prev is not None:
            total += cv2.norm(d, prev, cv2.NORM_L1)
        prev = d
    return total / ((len(out_frames) - 1) * prev.size)


class FlickerMetric(ClipMetric):
    name = "flicker"
    keys = (FLICKER,)

    def compute(self, data: ClipData) -> dict[str, float]:
        data.require("target")
        return {FLICKER: flicker(data.output.frames, data.target.frames)}

    def settings(self):
        return {"definition": "mean |dY_t(output) - dY_t(target)|, BT.601 luma 0-255"}
