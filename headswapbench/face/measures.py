"""Face measurements between two analyses: the one definition of each, shared by the build filter
(``pipelines/filter.py``), the metrics (``metrics/geometry.py``) and face tracking.

Per-frame functions take aligned tracks (frame t of ``pred`` against frame t of ``ref``) and return one value
per frame, NaN where either side has no face (NaN landmarks, pose or expression); callers choose which frames
to average and how to count the missing ones. Landmark distances are 2-D (x, y in pixels): MediaPipe's z is
a relative depth estimate. Units: landmark errors are fractions of the inter-ocular distance, angles degrees.

Three expression distances, three different quantities (the names say which):

- ``expression_descriptor_l2``: L2 over the whole 284-D descriptor (8 measures + 276 contour residuals),
  the metric ``expression_error``. The residuals carry identity shape, so it compares a swap's output with
  the target *of the same identity*.
- ``expression_measures_rms``: RMS over the 8 interpretable measures (mouth open/width, eye open, brow raise,
  lip-corner lift; `face.expression.MEASURES`), the filter's ``sync_expression_raw``.
- ``expression_measures_dynamic_rms``: the same after removing each track's own mean over the frames, the
  filter's ``sync_expression_dynamic``: a new identity's resting mouth width or eye size is not an
  expression error, a mouth that opens at the wrong time is."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .expression import MEASURES
from .topology import LEFT_EYE_OUTER, RIGHT_EYE_OUTER


def _xy(landmarks: np.ndarray) -> np.ndarray:
    return np.asarray(landmarks, dtype=np.float64)[..., :2]


# ------------------------------------------------------------------------------------------------- landmarks
def inter_ocular_distance(landmarks: np.ndarray) -> np.ndarray:
    """[...] distance between the outer eye corners (33 ↔ 263) of [..., 478, >=2] landmarks, in pixels.

    The 300-W / WFLW convention (outer corners), the usual normaliser of face-alignment NME; the distance
    between the iris centres (468 ↔ 473) would be the "inter-pupil" variant."""
    xy = _xy(landmarks)
    return np.linalg.norm(xy[..., RIGHT_EYE_OUTER, :] - xy[..., LEFT_EYE_OUTER, :], axis=-1)


def _per_iod(value: np.ndarray, iod: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(iod > 0, value / iod, np.nan)


def landmark_nme(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """[T] normalised mean error: per frame, the mean over the landmarks of the 2-D point error between two
    [T, P, >=2] tracks, divided by ``ref``'s inter-ocular distance (the normaliser comes from the reference
    only). NaN where either track has no face or ``ref``'s eye corners coincide."""
    err = np.linalg.norm(_xy(pred) - _xy(ref), axis=-1).mean(axis=-1)
    return _per_iod(err, inter_ocular_distance(ref))


def landmark_jitter(landmarks: np.ndarray) -> float:
    """Mean second difference (acceleration) of a [T, P, >=2] track per frame, over its inter-ocular
    distance: per-frame shaking that smooth head motion does not produce. Frames without a face (NaN) are
    ignored; 0.0 for fewer than 3 frames, NaN when no three consecutive frames have a face."""
    if len(landmarks) < 3:
        return 0.0
    xy = _xy(landmarks)
    acc = np.linalg.norm(xy[2:] - 2 * xy[1:-1] + xy[:-2], axis=-1).mean(-1)
    v = _per_iod(acc, inter_ocular_distance(xy[1:-1]))
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


# ------------------------------------------------------------------------------------------------------ pose
def angle_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a − b| in degrees, wrapped to [0, 180]: a yaw of 179 against −179 is 2 degrees apart, not 358."""
    d = (np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64) + 180.0) % 360.0 - 180.0
    return np.abs(d)


def pose_differences(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """[F, 3] wrap-safe |Δyaw|, |Δpitch|, |Δroll| of two [T, 3] pose tracks, for the F frames where both
    poses are known (frames with a NaN angle are dropped). Mean over axis 0 = per-axis pose error."""
    d = angle_diff(pred, ref)
    return d[np.isfinite(d).all(axis=-1)]


# ------------------------------------------------------------------------------------------------ expression
def expression_descriptor_l2(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """[T] L2 distance between whole expression descriptors [T, D] (the metric ``expression_error``)."""
    d = np.asarray(pred, dtype=np.float64) - np.asarray(ref, dtype=np.float64)
    return np.linalg.norm(d.reshape(len(d), -1), axis=-1)


def _measures(expression: np.ndarray) -> np.ndarray:
    """The interpretable block (the first ``len(MEASURES)`` columns) of [T, D] descriptors."""
    e = np.asarray(expression, dtype=np.float64)
    return e[..., : min(len(MEASURES), e.shape[-1])]


def _rms(d: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(d**2, axis=-1))


def expression_measures_rms(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """[T] RMS over the 8 interpretable measures of the per-frame difference of two [T, D] descriptor tracks
    (inter-ocular units; the filter's ``sync_expression_raw``)."""
    return _rms(_measures(pred) - _measures(ref))


def expression_measures_dynamic_rms(pred: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """[T] like `expression_measures_rms`, after removing each track's own mean over the frames where both
    have a face (the filter's ``sync_expression_dynamic``): what the face *does*, not its resting shape."""
    p, r = _measures(pred), _measures(ref)
    out = np.full(len(p), np.nan)
    both = np.isfinite(p).all(axis=-1) & np.isfinite(r).all(axis=-1)
    if both.any():
        p, r = p[both], r[both]
        out[both] = _rms((p - p.mean(0)) - (r - r.mean(0)))
    return out


# ----------------------------------------------------------------------------------------------------- boxes
def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes; 0.0 when the union is empty."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
