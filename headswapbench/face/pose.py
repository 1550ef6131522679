"""Head pose from 3-D landmarks: similarity alignment (Umeyama) of a frontal face template to the observed
landmarks, then Euler angles of the rotation.

Coordinates are the camera frame of the image: x → right, y → down, z → away from the camera (MediaPipe's
convention, right-handed, as OpenCV's camera frame). The rotation R maps template to observation,
``landmarks ≈ s · R · template + t``, fitted on the rigid subset of points stored with the template (points that
barely move with expression). Angles, in degrees, are those of R as intrinsic Y-X-Z rotations (yaw about the
vertical axis, then pitch about the head's left-right axis, then roll about its front axis), signed so that
as seen in the image:

- yaw   > 0: the face turns towards the image's right (nose moves right; the subject's own left);
- pitch > 0: the face tilts up (nose moves up, chin forward);
- roll  > 0: the face rotates counter-clockwise in the image (as rotating the frame by +angle with
  ``cv2.getRotationMatrix2D`` does).

Zero is the template's orientation: bilaterally symmetric (yaw = roll = 0 by construction) with the average
pitch of people looking into the camera in real talking-head footage (see template.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

TEMPLATE_PATH = Path(__file__).with_name("face_template.json")


@dataclass(frozen=True)
class FaceTemplate:
    landmarks: np.ndarray  # float64 [478, 3], centred, inter-ocular distance (33↔263) = 1
    rigid: np.ndarray  # int [K] indices used to fit the pose
    mirror: np.ndarray  # int [478] index of each point's left/right mirror partner
    meta: dict


@lru_cache(maxsize=1)
def load_template(path: str | None = None) -> FaceTemplate:
    d = json.loads(Path(path or TEMPLATE_PATH).read_text())
    return FaceTemplate(np.asarray(d["landmarks"], np.float64), np.asarray(d["rigid"], np.int64),
                        np.asarray(d["mirror"], np.int64), d.get("meta", {}))


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``dst ≈ s · R @ src + t`` (Umeyama 1991); R a proper rotation."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(len(sig))
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    r = (u * d) @ vt
    var_s = (a ** 2).sum() / len(src)
    s = float((sig * d).sum() / var_s) if var_s > 0 else 1.0
    return s, r, mu_d - s * r @ mu_s


def rotation_to_angles(r: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) degrees with the sign conventions of this module, for R = Ry(a)·Rx(b)·Rz(c)."""
    b = np.arcsin(np.clip(-r[1, 2], -1.0, 1.0))
    a = np.arctan2(r[0, 2], r[2, 2])
    c = np.arctan2(r[1, 0], r[1, 1])
    return -np.degrees(np.array([a, b, c]))


def angles_to_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Inverse of `rotation_to_angles`."""
    a, b, c = -np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return ry @ rx @ rz


@dataclass
class RigidFit:
    scale: float
    rotation: np.ndarray  # [3, 3]
    translation: np.ndarray  # [3]
    angles: np.ndarray  # [3] yaw, pitch, roll degrees

    def to_template_frame(self, landmarks: np.ndarray) -> np.ndarray:
        """Undo the rigid motion: the landmarks in template units (inter-ocular distance ≈ 1)."""
        return ((landmarks - self.translation) @ self.rotation) / self.scale


def fit_pose(landmarks: np.ndarray, template: FaceTemplate | None = None) -> RigidFit:
    """Rigid (similarity) fit of the template to one face's [478, 3] landmarks."""
    tpl = template or load_template()
    idx = tpl.rigid
    s, r, t = umeyama(tpl.landmarks[idx], np.asarray(landmarks, np.float64)[idx])
    return RigidFit(s, r, t, rotation_to_angles(r))


def head_pose(landmarks: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) degrees for [478, 3] or [T, 478, 3] landmarks; NaN rows stay NaN."""
    lm = np.asarray(landmarks)
    if lm.ndim == 2:
        return fit_pose(lm).angles.astype(np.float32)
    out = np.full((len(lm), 3), np.nan, np.float32)
    for i, f in enumerate(lm):
        if np.isfinite(f).all():
            out[i] = fit_pose(f).angles
    return out
