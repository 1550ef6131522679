"""How `face_template.json` (the frontal face the pose is measured against) was made, reproducibly:

    python -m headswapbench.face.template /path/to/shared/data  # real clips + photos

1. FaceMesh landmarks of real faces: every photo, and every 10th frame of every clip.
2. Each face centred and scaled to unit RMS size; generalised Procrustes analysis (rotation only) against a
   reference that stays in the camera frame, so the mean keeps the *average* orientation of people looking
   into the camera (this defines pitch 0).
3. Left/right mirror pairs found by reflecting the mean across its left-right axis (nearest neighbour); the
   mean is then made exactly bilaterally symmetric (average with its own mirror image), which defines
   yaw 0 and roll 0 without any hand-picked axis.
4. Only near-frontal faces (|yaw|, |pitch|, |roll| < 15° against the first template) are kept and steps 2–3 are
   repeated, so strongly turned heads do not blur the mean.
5. Rigid subset: points outside the lips, eyes, irises and brows whose residual spread across faces is in the
   lowest 50 %: these fit the pose and hardly move with expression.
Scale: inter-ocular distance (outer eye corners 33↔263) = 1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from .pose import TEMPLATE_PATH, FaceTemplate, fit_pose, umeyama
from .topology import EXPRESSIVE, INTER_OCULAR, NUM_MESH_POINTS


def _normalise(x: np.ndarray) -> np.ndarray:
    c = x - x.mean(0)
    return c / np.sqrt((c ** 2).sum(1).mean())


def _gpa(shapes: np.ndarray, iters: int = 5) -> np.ndarray:
    """Rotation-only Procrustes mean, anchored to the camera-frame mean's orientation."""
    shapes = np.stack([_normalise(s) for s in shapes])
    anchor = _normalise(shapes.mean(0))
    mean = anchor
    for _ in range(iters):
        aligned = []
        for s in shapes:
            _, r, _ = umeyama(s, mean)
            aligned.append(s @ r.T)
        mean = _normalise(np.mean(aligned, 0))
        _, r, _ = umeyama(mean, anchor)  # keep the camera-frame orientation (no drift)
        mean = mean @ r.T
    return mean


def _mirror_pairs(t: np.ndarray) -> np.ndarray:
    """Left/right partner of every point: greedy matching of the shape against its mirror image, closest
    pairs first, so the result is an involution (a point on the midline is its own partner)."""
    m = t * np.array([-1.0, 1.0, 1.0])
    d = np.linalg.norm(m[:, None, :] - t[None, :, :], axis=2)
    iu, ju = np.triu_indices(len(t))
    perm = np.full(len(t), -1)
    for k in np.argsort(d[iu, ju], kind="stable"):
        i, j = iu[k], ju[k]
        if perm[i] < 0 and perm[j] < 0:
            perm[i], perm[j] = j, i
    return perm


def _symmetrise(t: np.ndarray, rounds: int = 3) -> tuple[np.ndarray, np.ndarray]:
    t = t - t.mean(0)
    for _ in range(rounds):
        perm = _mirror_pairs(t)
        # rotate so the left-right axis (principal direction of pair differences) is x
        diffs = t - t[perm]
        diffs = diffs[np.linalg.norm(diffs, axis=1) > 1e-9]
        diffs *= np.sign(diffs[:, 0:1] + 1e-12)
        u = np.linalg.svd(diffs, full_matrices=False)[2][0]
        u *= np.sign(u[0])
        v = np.cross(u, [1.0, 0.0, 0.0])
        sin, cos = np.linalg.norm(v), float(u @ [1.0, 0.0, 0.0])
        if sin > 1e-12:
            k = v / sin
            kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
            t = t @ (np.eye(3) + sin * kx + (1 - cos) * kx @ kx).T
        t = (t + (t * [-1.0, 1.0, 1.0])[perm]) / 2
        t -= t.mean(0)
    return t, perm


def build_template(shapes: np.ndarray, frontal_deg: float = 15.0) -> dict:
    shapes = np.asarray(shapes, np.float64)
    tpl, perm = _symmetrise(_gpa(shapes))
    first = FaceTemplate(tpl, np.arange(len(tpl)), perm, {})
    angles = np.array([fit_pose(s, first).angles for s in shapes])
    frontal = np.abs(angles).max(1) < frontal_deg
    tpl, perm = _symmetrise(_gpa(shapes[frontal]))
    tpl /= np.linalg.norm(tpl[INTER_OCULAR[0]] - tpl[INTER_OCULAR[1]])
    tpl[perm == np.arange(len(tpl)), 0] = 0.0  # midline points exactly on the plane (rounding)
    # rigid subset by residual spread after alignment
    spread = np.zeros(len(tpl))
    for s in shapes[frontal]:
        sc, r, t = umeyama(tpl, s)
        spread += np.linalg.norm((s - t) @ r / sc - tpl, axis=1) ** 2
    candidates = np.setdiff1d(np.arange(NUM_MESH_POINTS), EXPRESSIVE)
    rigid = np.sort(candidates[np.argsort(spread[candidates])[: len(candidates) // 2]])
    return {
        "landmarks": np.round(tpl, 5).tolist(),
        "rigid": rigid.tolist(),
        "mirror": perm.tolist(),
        "meta": {
            "made_from": "FaceMesh (mediapipe 0.10.14, refine_landmarks) landmarks of real faces; see template.py",
            "num_faces": len(shapes),
            "num_frontal_faces": int(frontal.sum()),
            "frontal_deg": frontal_deg,
            "scale": "inter-ocular distance (landmarks 33-263) = 1",
            "axes": "x right, y down, z away from camera",
        },
    }


def collect_shapes(data_dir: Path, every: int = 10) -> np.ndarray:
    from ..video import read_image, read_video
    from .landmarks import get_landmark_model

    model = get_landmark_model("facemesh")
    shapes = []
    for p in sorted((data_dir / "images").iterdir()):
        face = model.image(read_image(p))
        if face is not None:
            shapes.append(face.landmarks)
    for p in sorted((data_dir / "videos").glob("*.mp4")):
        frames = read_video(p).frames
        with model.video() as session:
            for i, f in enumerate(frames):
                face = session.process(f)
                if face is not None and i % every == 0:
                    shapes.append(face.landmarks)
    return np.stack(shapes)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    data_dir = Path(argv[0])
    shapes = collect_shapes(data_dir)
    d = build_template(shapes)
    d["meta"]["source"] = "videos/*.mp4 (every 10th frame) and images/* of the project's real sample media"
    TEMPLATE_PATH.write_text(json.dumps(d, separators=(",", ":")) + "\n")
    print(f"wrote {TEMPLATE_PATH} from {len(shapes)} faces ({d['meta']['num_frontal_faces']} frontal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
