"""The donor's face proportions on a clip's face: where the eyes, brows, nose and mouth sit inside the face
outline, and how wide the nose and mouth are.

Why: the warp editor pastes a donor's *texture* onto the clip's own landmarks, so the edited face keeps the
subject's proportions, which face recognisers read as identity (dlib called most warp edits of ../shared/data
the same person once they were relit). Moving the subject's features to the donor's places changes the
identity the way a different person would, while pose and expression still follow the clip frame by frame:
the offsets are one rigid translation (plus a width scale for the nose and mouth) per feature, measured once
per clip and carried along with the head, so a blink, a smile or an open mouth is the clip's own.

The outline (the face oval) never moves, so the morphed face meets the clip's head, hair and neck exactly.
"""

from __future__ import annotations

import numpy as np

from .face.topology import (
    FACE_OVAL,
    INNER_LIPS,
    LEFT_BROW_LOWER,
    LEFT_BROW_UPPER,
    LEFT_EYE,
    LEFT_IRIS,
    NOSE,
    OUTER_LIPS,
    RIGHT_BROW_LOWER,
    RIGHT_BROW_UPPER,
    RIGHT_EYE,
    RIGHT_IRIS,
)

# feature → (its landmarks, whether its width follows the donor's)
FEATURES: dict[str, tuple[list[int], bool]] = {
    "right_eye": (RIGHT_EYE + RIGHT_IRIS, False),
    "left_eye": (LEFT_EYE + LEFT_IRIS, False),
    "right_brow": (RIGHT_BROW_UPPER + RIGHT_BROW_LOWER, False),
    "left_brow": (LEFT_BROW_UPPER + LEFT_BROW_LOWER, False),
    "nose": (NOSE, True),
    "mouth": (OUTER_LIPS + INNER_LIPS, True),
}


RESHAPE_MAX_SHIFT = 0.06  # inter-ocular distances: the largest move of any feature (a different face, not a caricature)
RESHAPE_WIDTH = (0.85, 1.15)  # the nose's and mouth's width ratio is clamped to this


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity ``dst ≈ A @ src + t`` (Umeyama), as one matrix [A | t]."""
    from .face.pose import umeyama

    s, rot, t = umeyama(src, dst)
    return np.hstack([s * rot, t[:, None]])


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


def _iod(pts: np.ndarray) -> float:
    return float(np.linalg.norm(pts[33] - pts[263]))


def shape_offsets(donor_landmarks: np.ndarray, clip_landmarks: np.ndarray,
                  max_shift: float = RESHAPE_MAX_SHIFT) -> tuple[np.ndarray, dict] | None:
    """Per-landmark offsets [478, 2] in the donor photo's frame that move the clip's neutral face (the median
    of its frames, aligned on the outline) to the donor's feature positions, and a summary (each feature's
    shift in inter-ocular units, the width ratios). None without a valid face in the donor or the clip.

    Features move rigidly (translation; the nose and mouth also take the donor's width, clamped to
    `RESHAPE_WIDTH`), shifts are capped at ``max_shift`` inter-ocular distances, the outline stays fixed, and
    the points between (cheeks, forehead) follow smoothly (thin-plate spline)."""
    from scipy.interpolate import RBFInterpolator

    donor = np.asarray(donor_landmarks, np.float64)[:478, :2]
    clip = np.asarray(clip_landmarks, np.float64)[:, :478, :2]
    valid = np.isfinite(clip).all(axis=(1, 2))
    if not np.isfinite(donor).all() or not valid.any():
        return None
    # the clip's faces in the donor's frame, aligned on the outline, and their median: its neutral face
    aligned = np.stack([_apply(_similarity(f[FACE_OVAL], donor[FACE_OVAL]), f) for f in clip[valid]])
    neutral = np.median(aligned, axis=0)
    iod = _iod(donor)
    if iod < 1:
        return None
    offsets = np.zeros_like(neutral)
    moved = np.zeros(478, bool)
    summary = {}
    for name, (ids, width) in FEATURES.items():
        ids = np.asarray(ids)
        c_d, c_n = donor[ids].mean(axis=0), neutral[ids].mean(axis=0)
        shift = c_d - c_n
        norm = np.linalg.norm(shift) / iod
        if norm > max_shift:
            shift *= max_shift / norm
        ratio = 1.0
        if width:
            ratio = float(np.clip(np.ptp(donor[ids, 0]) / max(np.ptp(neutral[ids, 0]), 1e-6), *RESHAPE_WIDTH))
        offsets[ids] = shift
        offsets[ids, 0] += (ratio - 1.0) * (neutral[ids, 0] - c_n[0])
        moved[ids] = True
        summary[name] = {"shift_iod": round(float(min(norm, max_shift)), 4), "width_ratio": round(ratio, 4)}
    controls = np.flatnonzero(moved)
    fixed = np.asarray(FACE_OVAL)
    centres = np.vstack([neutral[controls], neutral[fixed]])
    values = np.vstack([offsets[controls], np.zeros((len(fixed), 2))])
    rbf = RBFInterpolator(centres / iod, values, kernel="thin_plate_spline", smoothing=1e-3)
    rest = np.flatnonzero(~moved)
    offsets[rest] = rbf(neutral[rest] / iod)
    offsets[fixed] = 0.0
    return offsets, summary


def reshape_landmarks(clip_landmarks: np.ndarray, donor_landmarks: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The clip's landmarks [T, 478, 2|3] with ``offsets`` (donor frame, from `shape_offsets`) carried into each
    frame by that frame's outline similarity (rotation and scale only); depth and faceless frames untouched."""
    out = np.array(clip_landmarks, dtype=np.float64, copy=True)
    donor = np.asarray(donor_landmarks, np.float64)[:478, :2]
    for t in np.flatnonzero(np.isfinite(out[:, :478, :2]).all(axis=(1, 2))):
        lin = _similarity(donor[FACE_OVAL], out[t, FACE_OVAL, :2])[:, :2]
        out[t, :478, :2] += offsets @ lin.T
    return out
