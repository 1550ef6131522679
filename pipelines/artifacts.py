"""Artifact gate: is an edited clip V_c visibly broken inside the face, whatever editor made it?

(work in progress)"""

from __future__ import annotations

import numpy as np


def detail_ratio(gray: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Fine-to-mid detail energy of a grey image: E|g − G₁g|² / E|G₁g − G₃g|² (Gᵥ: Gaussian blur of σ = v
    px), inside ``mask``. Blur removes the finest scale first, so the ratio falls with blur whatever the
    content; the absolute Laplacian energy would instead rank smooth skin as blurry."""
    import cv2

    g = np.asarray(gray, np.float32)
    g1 = cv2.GaussianBlur(g, (0, 0), 1.0)
    g3 = cv2.GaussianBlur(g, (0, 0), 3.0)
    sel = np.ones(g.shape, bool) if mask is None else np.asarray(mask) > 0
    if not sel.any():
        return float("nan")
    fine = float(np.mean(np.square(g - g1)[sel]))
    mid = float(np.mean(np.square(g1 - g3)[sel]))
    return fine / max(mid, 1e-6)
