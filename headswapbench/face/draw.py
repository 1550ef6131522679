"""Overlays for eyeballing an analysis: landmarks, the tracked box and the head pose drawn on each frame."""

from __future__ import annotations

import numpy as np

from .analysis import ClipAnalysis


def draw_face(frame: np.ndarray, landmarks: np.ndarray | None, box: np.ndarray | None,
              pose: np.ndarray | None) -> np.ndarray:
    """A copy of `frame` with landmarks (green dots), box (yellow) and "yaw/pitch/roll" text."""
    import cv2

    out = np.ascontiguousarray(frame.copy())
    h, w = out.shape[:2]
    r = max(1, round(min(h, w) / 400))
    thick = max(1, round(min(h, w) / 300))
    if box is not None and np.isfinite(box).all():
        x0, y0, x1, y1 = np.round(box).astype(int)
        cv2.rectangle(out, (x0, y0), (x1, y1), (255, 220, 0), thick)
    if landmarks is not None and np.isfinite(landmarks).all():
        for x, y in np.round(landmarks[:, :2]).astype(int):
            cv2.circle(out, (int(x), int(y)), r, (0, 255, 0), -1)
    scale = max(0.4, min(h, w) / 700)
    if pose is not None and np.isfinite(pose).all():
        text = "yaw {:+.1f} pitch {:+.1f} roll {:+.1f}".format(*pose)
    else:
        text = "no face"
    cv2.putText(out, text, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2)
    cv2.putText(out, text, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick)
    return out


def overlay_frames(frames: np.ndarray, analysis: ClipAnalysis, progress: bool = True, start: int = 0) -> np.ndarray:
    """Overlay every frame (``frames`` are the clip's frames ``start, start+1, ...``, so a long clip can be drawn
    chunk by chunk); output size even (H.264 yuv420p needs it)."""
    from tqdm.auto import tqdm

    n = max(0, min(len(frames), analysis.num_frames - start))
    h, w = frames.shape[1] // 2 * 2, frames.shape[2] // 2 * 2
    out = np.empty((n, h, w, 3), np.uint8)
    for k in tqdm(range(n), desc="overlay", unit="frame", disable=not progress, leave=False):
        i = start + k
        ok = bool(analysis.face_found[i])
        out[k] = draw_face(frames[k], analysis.landmarks[i] if ok else None, analysis.boxes[i] if ok else None,
                           analysis.pose[i] if (ok and analysis.pose is not None) else None)[:h, :w]
    return out
