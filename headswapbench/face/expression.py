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

from .pose import FaceTemplate, fit_pose, load_template

LIPS = [0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191, 267, 269,
        270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415]
LEFT_EYE = [249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466]
RIGHT_EYE = [7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246]
LEFT_BROW = [276, 282, 283, 285, 293, 295, 296, 300, 334, 336]
RIGHT_BROW = [46, 52, 53, 55, 63, 65, 66, 70, 105, 107]
IRISES = list(range(468, 478))
EXPRESSIVE_POINTS = np.array(sorted(LIPS + LEFT_EYE + RIGHT_EYE + LEFT_BROW + RIGHT_BROW))  # 92 points
RESIDUAL_POINTS = EXPRESSIVE_POINTS

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

    mouth_centre_y = (p[13, 1] + p[14, 1]) / 2
    return np.array([
        dist(13, 14),
        dist(61, 291),
        dist(159, 145),
        dist(386, 374),
        p[159, 1] - p[[63, 105, 66], 1].mean(),
        p[386, 1] - p[[293, 334, 296], 1].mean(),
        mouth_centre_y - p[61, 1],
        mouth_centre_y - p[291, 1],
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
