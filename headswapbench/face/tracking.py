"""Main-subject selection and following. Talking-head footage may show other people (an interviewer, a
poster, a false detection on a blurred background); every per-frame measure must come from one person.

Boxes are ``(x0, y0, x1, y1)`` in pixels. The rules are deliberately simple and geometric so they are easy
to predict: the subject is chosen once (largest face, with a penalty for distance from the frame centre) and
then followed frame to frame by centre distance and size; other faces are ignored."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def box_size(b: Sequence[float]) -> float:
    """Geometric-mean side length (pixels)."""
    return float(np.sqrt(max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0)))


def box_center(b: Sequence[float]) -> np.ndarray:
    return np.array([(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0])


def main_face_score(box: Sequence[float], frame_hw: tuple[int, int]) -> float:
    """Area weighted down by distance from the frame centre (0 at the centre, 1 at a corner).

    A face half as far from the centre as another wins unless the other is clearly bigger."""
    h, w = frame_hw
    c = box_center(box)
    off = np.linalg.norm((c - np.array([w / 2.0, h / 2.0])) / np.array([w / 2.0, h / 2.0])) / np.sqrt(2)
    return box_size(box) ** 2 * (1.0 - 0.75 * min(off, 1.0))


def pick_main_face(boxes: Sequence[Sequence[float]], frame_hw: tuple[int, int]) -> int | None:
    """Index of the main subject among candidate boxes, or None when there are none."""
    if len(boxes) == 0:
        return None
    return int(np.argmax([main_face_score(b, frame_hw) for b in boxes]))


def same_face(prev: Sequence[float], cand: Sequence[float], max_shift: float = 0.6,
              max_scale: float = 1.8) -> bool:
    """Whether `cand` is plausibly the face that was at `prev` in the previous frame(s)."""
    sp, sc = box_size(prev), box_size(cand)
    if sp <= 0 or sc <= 0:
        return False
    if max(sp, sc) / min(sp, sc) > max_scale:
        return False
    return float(np.linalg.norm(box_center(prev) - box_center(cand))) <= max_shift * sp


def match_face(prev: Sequence[float], boxes: Sequence[Sequence[float]]) -> int | None:
    """Index of the candidate that continues `prev` (nearest centre among plausible ones), or None."""
    best, best_d = None, np.inf
    for i, b in enumerate(boxes):
        if same_face(prev, b):
            d = float(np.linalg.norm(box_center(prev) - box_center(b)))
            if d < best_d:
                best, best_d = i, d
    return best


class SubjectTracker:
    """Keeps the main subject's last box; forgets it after `patience` frames without a match so a new
    subject can be picked (a cut, or the subject left and came back elsewhere)."""

    def __init__(self, patience: int = 15):
        self.patience = patience
        self.box: np.ndarray | None = None
        self.missed = 0

    @property
    def has_subject(self) -> bool:
        return self.box is not None

    def choose(self, boxes: Sequence[Sequence[float]], frame_hw: tuple[int, int]) -> int | None:
        """Pick the candidate for this frame: continue the subject, or choose a new one when none is held."""
        if self.box is None:
            return pick_main_face(boxes, frame_hw)
        return match_face(self.box, boxes)

    def update(self, box: Sequence[float] | None) -> None:
        if box is None:
            self.missed += 1
            if self.missed > self.patience:
                self.box, self.missed = None, 0
        else:
            self.box, self.missed = np.asarray(box, dtype=np.float64), 0
