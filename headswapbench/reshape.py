"""The donor's face proportions on a clip's face: where the eyes, brows, nose and mouth sit inside the face
outline, and how wide the nose and mouth are.

Why: the warp editor pastes a donor's *texture* onto the clip's own landmarks, so the edited face keeps the
subject's proportions, which face recognisers read as identity (dlib called most warp edits of ../shared/data
the same person once they were relit). Moving the subject's features to the donor's places changes the
identity the way a different person would, while pose and expression still follow the clip frame by frame:
the offsets are one rigid translation (plus a width scale for the nose and mouth) per feature, measured once
per clip and carried along with the head, so a blink, a smile or an open mouth is the clip's own.

Both faces are compared frontalised: a 3-D similarity (Umeyama) of each face's outline onto the frontal face
template, so a donor turned a few degrees away from the clip does not read as other proportions (a 2-D fit
moved every feature to its cap for a 10° pose gap). The outline (the face oval) never moves, so the morphed
face meets the clip's head, hair and neck exactly.
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


RESHAPE_MAX_SHIFT = 0.06  # inter-ocular distances: the largest move of any landmark (a different face, not a caricature)
RESHAPE_WIDTH = (0.85, 1.15)  # the nose's and mouth's width ratio is clamped to this


def _fit(points: np.ndarray) -> tuple[float, np.ndarray, np.ndarray] | None:
    """Similarity ``points ≈ s · R @ template + t`` on the face outline, in 3-D when ``points`` has depth, else
    in the image plane; None when the outline is degenerate (collapsed or on a line)."""
    from .face.pose import load_template, umeyama

    dims = points.shape[1]
    tpl = load_template().landmarks[FACE_OVAL, :dims]
    oval = points[FACE_OVAL, :dims]
    if not np.isfinite(oval).all():
        return None
    spread = np.linalg.svd(oval - oval.mean(axis=0), compute_uv=False)
    if spread[1] < 1e-3 * max(spread[0], 1e-12) or spread[0] < 1e-6:
        return None
    return umeyama(tpl, oval)


def frontalise(points: np.ndarray) -> np.ndarray | None:
    """The face [478, D] in template units, its rigid motion undone (inter-ocular distance ≈ 1); None when the
    outline is degenerate. Also the artifact gate's, to register an edit whose features moved."""
    fit = _fit(points)
    if fit is None:
        return None
    s, rot, t = fit
    return ((points - t) @ rot) / s


def place(frontal: np.ndarray, like: np.ndarray) -> np.ndarray | None:
    """Frontal landmarks [478, D] (template units) put where the face ``like`` [478, D] is: its outline
    similarity applied; None when that outline is degenerate. The artifact gate registers an edit's features
    so: the edit's own head motion, the clip's expression plus one static offset."""
    fit = _fit(like)
    if fit is None:
        return None
    s, rot, t = fit
    return s * frontal @ rot.T + t


MIN_AREA_RATIO = 0.2  # no triangle of the warp's mesh may fold or shrink below this share of its area


def _folds(neutral: np.ndarray, offsets: np.ndarray) -> bool:
    """Whether moving ``neutral`` (frontal x, y) by ``offsets`` folds a triangle of the warp's mesh or shrinks
    one below `MIN_AREA_RATIO` of its area (seen frontally)."""
    from .warp import _signed_area, canonical_mesh, face_points

    tri = canonical_mesh().triangles
    before = _signed_area(face_points(neutral), tri)
    after = _signed_area(face_points(neutral + offsets), tri)
    return bool((np.sign(before) * after < MIN_AREA_RATIO * np.abs(before)).any())


def shape_offsets(donor_landmarks: np.ndarray, clip_landmarks: np.ndarray,
                  max_shift: float = RESHAPE_MAX_SHIFT) -> tuple[np.ndarray, dict] | None:
    """Per-landmark offsets [478, D] in template units (frontal; D = 3 with depth, else 2) that move the clip's
    neutral face (the median of its frontalised frames) to the donor's feature positions, and a summary
    (each feature's shift in inter-ocular units, the width ratios, the scale kept). None without a valid,
    non-degenerate face in the donor or the clip.

    Features move rigidly (translation; the nose and mouth also take the donor's width, clamped to
    `RESHAPE_WIDTH`), the outline stays fixed and the points between follow smoothly (thin-plate spline); no
    landmark moves more than ``max_shift`` inter-ocular distances, and the whole field is scaled down until
    no triangle of the warp's mesh folds or shrinks below `MIN_AREA_RATIO` of its area, seen frontally. Known
    limits: a feature asked to move past the cap is clipped landmark by landmark (not rigidly), and folds are
    checked on the frontal face only (a turned head may still show a sliver fold, which the warp then does not
    draw). The summary gives each feature's shift and width ratio as asked."""
    from scipy.interpolate import RBFInterpolator

    donor = np.asarray(donor_landmarks, np.float64)[:478]
    clip = np.asarray(clip_landmarks, np.float64)[:, :478]
    dims = 3 if donor.shape[1] >= 3 and clip.shape[2] >= 3 else 2
    donor, clip = donor[:, :dims], clip[:, :, :dims]
    if not np.isfinite(donor).all():
        return None
    frames = [frontalise(f) for f in clip if np.isfinite(f).all()]
    frames = [f for f in frames if f is not None]
    target = frontalise(donor)
    if not frames or target is None:
        return None
    neutral = np.median(np.stack(frames), axis=0)
    offsets = np.zeros_like(neutral)
    moved = np.zeros(478, bool)
    summary: dict = {}
    for name, (ids, width) in FEATURES.items():
        ids = np.asarray(ids)
        c_d, c_n = target[ids].mean(axis=0), neutral[ids].mean(axis=0)
        shift = c_d - c_n
        ratio = 1.0
        if width:
            ratio = float(np.clip(np.ptp(target[ids, 0]) / max(np.ptp(neutral[ids, 0]), 1e-6), *RESHAPE_WIDTH))
        offsets[ids] = shift
        offsets[ids, 0] += (ratio - 1.0) * (neutral[ids, 0] - c_n[0])
        moved[ids] = True
        summary[name] = {"shift_iod": round(float(np.linalg.norm(shift)), 4), "width_ratio": round(ratio, 4)}
    controls, fixed = np.flatnonzero(moved), np.asarray(FACE_OVAL)
    rest = np.flatnonzero(~moved)
    try:
        rbf = RBFInterpolator(np.vstack([neutral[controls, :2], neutral[fixed, :2]]),
                              np.vstack([offsets[controls], np.zeros((len(fixed), dims))]),
                              kernel="thin_plate_spline", smoothing=1e-3)
        offsets[rest] = rbf(neutral[rest, :2])
    except np.linalg.LinAlgError:
        return None
    offsets[fixed] = 0.0
    norm = np.linalg.norm(offsets, axis=1, keepdims=True)
    offsets *= np.minimum(1.0, max_shift / np.maximum(norm, 1e-12))
    for scale in (1.0, 0.75, 0.5, 0.25, 0.0):
        if not _folds(neutral[:, :2], scale * offsets[:, :2]):
            break
    offsets *= scale
    summary["scale"] = scale
    return offsets, summary


def reshape_landmarks(clip_landmarks: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The clip's landmarks [T, 478, 2|3] with ``offsets`` (template units, from `shape_offsets`) carried into
    each frame by that frame's outline similarity (rotation and scale); only x, y move, and faceless or
    degenerate frames are untouched."""
    out = np.array(clip_landmarks, dtype=np.float64, copy=True)
    dims = offsets.shape[1]
    for t in np.flatnonzero(np.isfinite(out[:, :478, :dims]).all(axis=(1, 2))):
        fit = _fit(out[t, :478, :dims])
        if fit is None:
            continue
        s, rot, _ = fit
        out[t, :478, :2] += (s * offsets @ rot.T)[:, :2]
    return out
