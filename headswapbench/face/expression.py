"""Expression descriptor: what the face does once head pose and face size are removed.

For each frame the template is fitted rigidly (similarity, `pose.fit_pose`), the landmarks are mapped back
into the template's frame (so pose and scale are gone; units = inter-ocular distance), and two blocks are
concatenated into one vector of D = 8 + 3·92 = 284 numbers:

1. Eight interpretable measures (template units, i.e. fractions of the inter-ocular distance; "right"/"left"
   are the subject's own sides):
   ``mouth_open`` inner-lip gap (13↔14); ``mouth_width`` lip corners (61↔291);
   ``eye_open_r`` / ``eye_open_l`` lid gap (159↔145 / 386↔374);
   ``brow_raise_r`` / ``brow_raise_l`` height of the brow (mean of 63, 105, 66 / 293, 334, 296) above the upper
   lid (159 / 386); ``lip_corner_lift_r`` / ``lip_corner_lift_l`` height of a lip corner (61 / 291) above the
   centre of the mouth (mean of 13, 14) — positive in a smile, negative when the corners drop.
2. Residuals ``aligned − template`` (x, y, z) of the 92 expressive points (MediaPipe's lip, eye and eyebrow
   contours), flattened point-major. No learned basis (no PCA), so the layout is fixed and comparable across
   datasets and runs; identity-specific shape is part of the residual, so compare expression *changes* or the
   same-identity frames, or use the interpretable block across identities.

NaN rows for frames without a face."""

from __future__ import annotations

import numpy as np

from . import topology as T
from .pose import FaceTemplate, fit_pose, load_template

EXPRESSIVE_POINTS = np.array(T.EXPRESSIVE)  # the 92 lip, eye and brow contour points
RESIDUAL_POINTS = EXPRESSIVE_POINTS
# brow height: the middle three points of each brow's upper edge (63, 105, 66 / 293, 334, 296)
_RIGHT_BROW_MID, _LEFT_BROW_MID = T.RIGHT_BROW_UPPER[1:4], T.LEFT_BROW_UPPER[1:4]

MEASURES = ["mouth_open", "mouth_width", "eye_open_r", "eye_open_l", "brow_raise_r", "brow_raise_l",
            "lip_corner_lift_r", "lip_corner_lift_l"]
DIM = len(MEASURES) + 3 * len(RESIDUAL_POINTS)


def layout() -> dict:
    """Machine-readable description of the descriptor's columns (stored in `backends`)."""
    return {"dim": DIM, "measures": MEASURES, "residual_points": RESIDUAL_POINTS.tolist(),
            "residual_order": "point-major (x, y, z) after the measures", "units": "inter-ocular distance"}


def _measures(p: np.ndarray) -> np.ndarray:
    """The interpretable block from pose-free landmarks `p` (template frame, y down)."""
    def dist(i, j):
        return float(np.linalg.norm(p[i] - p[j]))

    right_corner, left_corner = T.MOUTH_CORNERS
    mouth_centre_y = (p[T.UPPER_LIP_MID, 1] + p[T.LOWER_LIP_MID, 1]) / 2
    return np.array([
        dist(T.UPPER_LIP_MID, T.LOWER_LIP_MID),
        dist(right_corner, left_corner),
        dist(T.RIGHT_UPPER_LID_MID, T.RIGHT_LOWER_LID_MID),
        dist(T.LEFT_UPPER_LID_MID, T.LEFT_LOWER_LID_MID),
        p[T.RIGHT_UPPER_LID_MID, 1] - p[_RIGHT_BROW_MID, 1].mean(),
        p[T.LEFT_UPPER_LID_MID, 1] - p[_LEFT_BROW_MID, 1].mean(),
        mouth_centre_y - p[right_corner, 1],
        mouth_centre_y - p[left_corner, 1],
    ])


def expression_from_aligned(p: np.ndarray, template: FaceTemplate | None = None) -> np.ndarray:
    tpl = template or load_template()
    res = (p[RESIDUAL_POINTS] - tpl.landmarks[RESIDUAL_POINTS]).reshape(-1)
    return np.concatenate([_measures(p), res]).astype(np.float32)


def pose_and_expression(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pose [T, 3] degrees, expression [T, D]) from [T, 478, 3] landmarks (or one face [478, 3])."""
    lm = np.asarray(landmarks, np.float64)
    single = lm.ndim == 2
    lm = lm[None] if single else lm
    tpl = load_template()
    pose = np.full((len(lm), 3), np.nan, np.float32)
    expr = np.full((len(lm), DIM), np.nan, np.float32)
    for i, f in enumerate(lm):
        if np.isfinite(f).all():
            fit = fit_pose(f, tpl)
            pose[i] = fit.angles
            expr[i] = expression_from_aligned(fit.to_template_frame(f), tpl)
    return (pose[0], expr[0]) if single else (pose, expr)
