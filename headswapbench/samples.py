"""Embedded demo samples: SYNTHETIC talking-head clips animated from real face photos that PyPI wheels ship.

A fresh machine has no footage, yet the demo must analyse clips, build a small split and evaluate swappers.
So eight real face photos (six faces cropped from insightface's ``t1.jpg`` group photo, insightface's
``Tom_Hanks_54745.png``, scikit-image's ``astronaut()``) are animated with the warp engine along a KNOWN
trajectory: head roll, scale, translation and a yaw-like turn (the 3-D landmarks rotated about the face's
vertical axis), plus mouth opening and eye aperture (landmarks displaced, the photo warped piecewise-affinely
to follow). Every clip comes with its ground-truth trajectory, so the face engine can be checked against it.

Everything here is synthetic and says so: names start with ``synthetic_``, records carry ``synthetic: true``.

    from headswapbench.samples import list_samples, load_sample, write_samples
    clip = load_sample("synthetic_astronaut_0")   # SampleClip: video, roll_deg [T], mouth_open [T], ...
    write_samples("demo/samples")                 # mp4s + reference photos + samples.json

Conventions (those of ``headswapbench.face.pose``): roll > 0 turns the face counter-clockwise in the image;
yaw > 0 turns the nose towards the image's right. ``mouth_open`` in [0, 1] scales a jaw drop of
``MOUTH_DROP`` face heights; ``eye_open`` in (0, 1] scales the lid aperture (1 = as in the photo).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from . import warp as W
from .errors import FaceNotFoundError, HeadSwapBenchError
from .face import topology as T
from .fileio import atomic_path, atomic_write_json, cache_dir, sha256_json
from .types import Image, Video

SAMPLES_VERSION = 1
DEFAULT_FRAMES = 48
DEFAULT_SIZE = 256
DEFAULT_FPS = 25.0
DEFAULT_SEEDS = (0, 1)  # two clips per subject: take the reference from one, drive with the other
FACE_SCALE = 0.40  # face height (chin to forehead top) as a share of the frame side
# Tom Hanks is a 112 px face crop: frame it tighter so less of the smeared padding shows.
_FACE_SCALE = {"tom_hanks": 0.60}
MOUTH_DROP = 0.16  # jaw drop at mouth_open = 1, as a share of the face height
NOTE = ("SYNTHETIC clip: a real photo animated by piecewise-affine warping along a known pose/expression "
        "trajectory (headswapbench.samples); not real footage.")

# Face boxes (x0, y0, x1, y1) in insightface 2.1's t1.jpg (1280x886), left to right. Each box is generous;
# the landmarks are found inside it by the face engine, so small changes to the file still work.
_T1_BOXES = {
    "t1_face1": (0, 220, 330, 550),
    "t1_face2": (230, 80, 520, 370),
    "t1_face3": (420, 190, 700, 470),
    "t1_face4": (680, 270, 960, 550),
    "t1_face5": (860, 0, 1150, 280),
    "t1_face6": (1060, 200, 1280, 480),
}
PHOTO_NAMES = (*_T1_BOXES, "tom_hanks", "astronaut")


# ------------------------------------------------------------------------------------------------- photos
def _insightface_image(filename: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec("insightface")
    if spec is None or not spec.origin:
        raise HeadSwapBenchError("the embedded samples need the 'insightface' package (pip install insightface)")
    path = Path(spec.origin).parent / "data" / "images" / filename
    if not path.is_file():
        raise HeadSwapBenchError(f"{path}: sample photo missing from the installed insightface package")
    return path


def _read_rgb(path: Path) -> Image:
    from .video import read_image  # PIL: immune to the decord/OpenCV zlib clash that breaks cv2.imread of PNG

    return read_image(path)


def _photo_source(name: str) -> tuple[Image, str]:
    """(full photo, description of where it comes from) for one sample subject."""
    if name in _T1_BOXES:
        x0, y0, x1, y1 = _T1_BOXES[name]
        return _read_rgb(_insightface_image("t1.jpg")), f"insightface wheel: data/images/t1.jpg, box {x0},{y0},{x1},{y1}"
    if name == "tom_hanks":
        return _read_rgb(_insightface_image("Tom_Hanks_54745.png")), "insightface wheel: data/images/Tom_Hanks_54745.png"
    if name == "astronaut":
        import skimage.data

        return np.ascontiguousarray(skimage.data.astronaut()[:, :, :3]), "scikit-image: skimage.data.astronaut()"
    raise HeadSwapBenchError(f"unknown sample photo '{name}'; photos: {', '.join(PHOTO_NAMES)}")


@dataclass
class SamplePhoto:
    """A real photo and its face landmarks (full-photo pixel coordinates)."""

    name: str
    image: Image
    landmarks: np.ndarray  # float64 [478, 3]
    source: str


@cache
def sample_photo(name: str) -> SamplePhoto:
    """One embedded photo with the face engine's landmarks (the t1 faces are located inside their box)."""
    from .face import analyze_image

    img, source = _photo_source(name)
    x0, y0 = 0, 0
    region = img
    if name in _T1_BOXES:
        x0, y0, x1, y1 = _T1_BOXES[name]
        region = np.ascontiguousarray(img[y0:y1, x0:x1])
    try:
        lms = np.asarray(analyze_image(region, identity=None).landmarks, dtype=np.float64)[:478].copy()
    except FaceNotFoundError:
        raise FaceNotFoundError(f"sample photo '{name}' ({source}): the face engine found no face") from None
    lms[:, 0] += x0
    lms[:, 1] += y0
    img, pad = _pad_photo(img, lms)
    lms[:, :2] += pad
    return SamplePhoto(name, img, lms, source)


def _pad_photo(img: Image, lms: np.ndarray) -> tuple[Image, int]:
    """Extend a photo that is tight around the face (Tom Hanks is a 112 px face crop) so a rolled, shifted
    frame stays on plausible pixels: edge pixels smeared outwards and blurred more with distance, instead of
    mirrored copies of the face."""
    h, w = img.shape[:2]
    centre = lms[T.FACE_OVAL, :2].mean(axis=0)
    need = 1.7 * W.face_height(lms)  # half frame (1.25 face heights) plus roll and shift margin
    room = min(centre[0], centre[1], w - 1 - centre[0], h - 1 - centre[1])
    if room >= need:
        return img, 0
    pad = math.ceil(need - room)
    padded = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    inside = np.zeros(padded.shape[:2], np.uint8)
    inside[pad:pad + h, pad:pad + w] = 1
    dist = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    alpha = np.clip(dist / (0.5 * pad), 0, 1)[..., None]
    blurred = cv2.GaussianBlur(padded, (0, 0), sigmaX=max(pad / 4, 1.0))
    out = padded * (1 - alpha) + blurred * alpha
    return np.clip(np.round(out), 0, 255).astype(np.uint8), pad


def sample_photos(size: int = DEFAULT_SIZE) -> dict[str, Image]:
    """name -> the photo cropped and aligned as the first frame of its clips would frame it (upright face,
    ``size`` square): real photos, usable as donors or references."""
    return {name: _still(sample_photo(name), size) for name in PHOTO_NAMES}


# ----------------------------------------------------------------------------------------- trajectories
@dataclass
class Trajectory:
    """Per-frame ground truth of one synthetic clip (arrays of length T)."""

    roll_deg: np.ndarray
    yaw_deg: np.ndarray
    scale: np.ndarray  # face size relative to the base framing
    shift: np.ndarray  # [T, 2] output pixels
    mouth_open: np.ndarray  # [0, 1]
    eye_open: np.ndarray  # (0, 1]

    def as_dict(self) -> dict[str, list]:
        return {k: np.round(getattr(self, k), 5).tolist() for k in self.__dataclass_fields__}


def make_trajectory(num_frames: int, fps: float, size: int, seed: int, yaw_scale: float = 1.0) -> Trajectory:
    """A smooth random head motion and speech-like expression, reproducible from ``seed``. ``yaw_scale``
    shrinks the turn for photos that are already far from frontal (their hidden side cannot be turned into
    view by a warp)."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / fps
    dur = max(num_frames / fps, 1e-6)

    def wave(amp: float, cycles: tuple[float, float]) -> np.ndarray:
        f = rng.uniform(*cycles) / dur
        return amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))

    roll = wave(rng.uniform(7.0, 12.0), (0.7, 1.3))
    yaw = wave(rng.uniform(8.0, 14.0), (0.6, 1.1)) * yaw_scale
    scale = 1.0 + wave(0.05, (0.5, 1.0))
    shift = np.stack([wave(0.03 * size, (0.4, 0.9)), wave(0.03 * size, (0.4, 0.9))], axis=1)
    # Speech-like: syllables at 3-4 Hz, each with its own opening, some pauses.
    syl = rng.uniform(3.0, 4.0)
    phase = 2 * np.pi * syl * t + rng.uniform(0, 2 * np.pi)
    syllable = (phase // (2 * np.pi)).astype(int)
    syllable -= syllable[0]
    n_syl = int(syllable[-1]) + 1
    amps = rng.uniform(0.35, 1.0, size=n_syl) * (rng.random(n_syl) > 0.2)  # ~1 in 5 syllables is a pause
    mouth = np.clip(np.sin(phase), 0, None) * amps[syllable]
    # Blinks: 1-2 per clip, 7 frames each, aperture down to 0.3.
    eye = np.ones(num_frames)
    for centre in rng.choice(np.arange(4, max(num_frames - 4, 5)), size=min(2, max(num_frames // 24, 1)), replace=False):
        k = np.arange(num_frames) - centre
        eye = np.minimum(eye, 0.3 + 0.7 * np.clip(np.abs(k) / 3.5, 0, 1))
    return Trajectory(roll, yaw, scale, shift, np.clip(mouth, 0, 1), eye)


# ------------------------------------------------------------------------------------------- deformation
def _face_axes(lms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """(centre, right, up unit vectors in the image, face height, face width) of a face."""
    centre = lms[T.FACE_OVAL, :2].mean(axis=0)
    right = lms[T.LEFT_EYE_OUTER, :2] - lms[T.RIGHT_EYE_OUTER, :2]  # towards the image's right
    right /= np.linalg.norm(right)
    up = np.array([right[1], -right[0]])  # image y points down, so "up" is right rotated by -90 degrees
    width = float(np.linalg.norm(lms[T.LEFT_FACE_SIDE, :2] - lms[T.RIGHT_FACE_SIDE, :2]))
    return centre, right, up, W.face_height(lms), width


_LIP_CORNERS = T.INNER_MOUTH_CORNERS + T.MOUTH_CORNERS
# Per eye: the lid ring, lower-lid indices, corner indices.
_EYES = [
    (T.RIGHT_EYE, T.RIGHT_EYE_LOWER_LID, T.RIGHT_EYE_CORNERS),
    (T.LEFT_EYE, T.LEFT_EYE_LOWER_LID, T.LEFT_EYE_CORNERS),
]


def deform_landmarks(lms: np.ndarray, *, mouth_open: float = 0.0, eye_open: float = 1.0,
                     yaw_deg: float = 0.0) -> np.ndarray:
    """The photo's landmarks [478, 3] moved to a new expression and yaw, in the photo's own frame.

    Mouth: the lower lip, chin and jaw drop along the face's down axis (a jaw rotation, so the drop fades
    towards the ears); the upper lip stays. Eyes: points above the lower lid move towards it (the upper lid
    closes), fading out before the brow. Yaw: the 3-D landmarks rotate about the face's vertical axis and are
    projected orthographically (MediaPipe z: smaller = nearer the camera)."""
    lms = np.asarray(lms, dtype=np.float64)[:478]
    out = lms.copy()
    centre, right, up, height, width = _face_axes(lms)
    rel = lms[:, :2] - centre
    a, b = rel @ right, rel @ up  # face-frame coordinates: a to the image right, b up
    # mouth: jaw drop
    if mouth_open:
        line = np.mean(b[_LIP_CORNERS])
        w = np.clip((line - b) / (0.08 * height), 0.0, 1.0)
        w[T.LOWER_LIP] = 1.0
        w[T.UPPER_LIP] = 0.0
        w[_LIP_CORNERS] = 0.35
        mouth_a = np.mean(a[_LIP_CORNERS])
        w *= np.exp(-0.5 * ((a - mouth_a) / (0.35 * width)) ** 2)
        b = b - MOUTH_DROP * height * mouth_open * w
    # eyes: upper lid towards the lower lid
    if eye_open != 1.0:
        for ring, lower, corners in _EYES:
            ea = np.mean(a[list(corners)])
            half_w = abs(a[corners[1]] - a[corners[0]]) / 2
            b_low = np.mean(b[lower])
            opening = max(np.max(b[ring]) - b_low, 1e-6)
            rho = np.hypot((a - ea) / half_w, (b - b_low) / opening)
            w = np.clip((2.2 - rho) / 1.2, 0.0, 1.0) * (b > b_low)
            w[lower] = 0.0
            b = b - (1.0 - eye_open) * (b - b_low) * w
    # yaw: rotate about the vertical axis through the face centre
    if yaw_deg:
        th = math.radians(yaw_deg)
        depth = -(lms[:, 2] - np.median(lms[T.FACE_OVAL, 2]))  # towards the camera
        a = a * math.cos(th) + depth * math.sin(th)
    out[:, :2] = centre + a[:, None] * right + b[:, None] * up
    return out


# -------------------------------------------------------------------------------------------- rendering
def _photo_roll(lms: np.ndarray) -> float:
    """The photo's own roll (same sign as pose roll: counter-clockwise positive), from the eye line."""
    d = lms[T.LEFT_EYE_OUTER, :2] - lms[T.RIGHT_EYE_OUTER, :2]
    return -math.degrees(math.atan2(d[1], d[0]))


def _frame_transform(photo: SamplePhoto, size: int, roll: float, scale: float, shift: np.ndarray) -> np.ndarray:
    """2x3 similarity photo -> output frame: the upright face centred, ``FACE_SCALE`` of the frame tall,
    then rolled by ``roll`` degrees (counter-clockwise positive), scaled and shifted."""
    lms = photo.landmarks
    centre = lms[T.FACE_OVAL, :2].mean(axis=0)
    s = _FACE_SCALE.get(photo.name, FACE_SCALE) * size / W.face_height(lms) * scale
    # cv2 convention: positive angle = counter-clockwise in the image. Undo the photo's roll, add ours.
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), roll - _photo_roll(lms), s)
    target = np.array([size / 2, size * 0.52]) + shift
    m[:, 2] += target - centre
    return m


def _anchors(photo: SamplePhoto) -> np.ndarray:
    """Points that do not deform (a ring around the head and a wide frame around the photo), so the face
    deformation fades out smoothly and every output pixel is covered by some triangle."""
    centre, right, up, height, width = _face_axes(photo.landmarks)
    ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = centre + (np.cos(ang)[:, None] * right * 0.95 * width + np.sin(ang)[:, None] * up * 0.85 * height)
    big = 6.0 * height
    k = np.linspace(-1, 1, 5)
    frame = [(x, y) for x in k for y in k if abs(x) == 1 or abs(y) == 1]
    return np.concatenate([ring, centre + np.array(frame) * big], axis=0)


@lru_cache(maxsize=16)
def _mesh(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(source points, triangles) of a photo: face points + anchors, triangulated once in the photo."""
    photo = sample_photo(name)
    src = np.concatenate([W.face_points(photo.landmarks), _anchors(photo)], axis=0)
    return src, W.triangulate(src)


def _paint_mouth(frame: Image, inner_lips: np.ndarray, up: np.ndarray, face_h: float) -> None:
    """Draw a mouth interior (dark cavity, upper teeth) inside the inner-lip polygon, in place.

    The photo has one mouth state; stretching closed lips over an opening would smear lip texture, so the
    opening shows a drawn cavity instead, as a real open mouth does."""
    poly = np.round(inner_lips * 16).astype(np.int32)
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [poly], 255, lineType=cv2.LINE_AA, shift=4)
    if not mask.any():
        return
    # teeth: the band just under the upper inner lip (indices 0..10 of the ring go corner-upper-corner)
    upper = inner_lips[:11]
    teeth_h = 0.035 * face_h
    band = np.concatenate([upper, (upper - up * teeth_h)[::-1]], axis=0)
    teeth = np.zeros_like(mask)
    cv2.fillPoly(teeth, [np.round(band * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    teeth = cv2.min(teeth, mask)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255, (3, 3), 0.8)[..., None]
    talpha = cv2.GaussianBlur(teeth.astype(np.float32) / 255, (3, 3), 0.8)[..., None]
    cavity = np.array([70, 28, 30], np.float32)
    colour = cavity * (1 - talpha) + np.array([222, 214, 200], np.float32) * talpha
    out = frame.astype(np.float32) * (1 - alpha) + colour * alpha
    frame[:] = np.clip(np.round(out), 0, 255).astype(np.uint8)


def render_frame(photo: SamplePhoto, size: int, *, roll: float = 0.0, yaw: float = 0.0, scale: float = 1.0,
                 shift: np.ndarray | None = None, mouth_open: float = 0.0, eye_open: float = 1.0
                 ) -> tuple[Image, np.ndarray]:
    """One synthetic frame (``size`` square) and its ground-truth landmarks [478, 3] in frame pixels."""
    src, triangles = _mesh(photo.name)
    moved = deform_landmarks(photo.landmarks, mouth_open=mouth_open, eye_open=eye_open, yaw_deg=yaw)
    dst_photo = np.concatenate([W.face_points(moved), src[W.NUM_FACE_POINTS:]], axis=0)
    m = _frame_transform(photo, size, roll, scale, np.zeros(2) if shift is None else np.asarray(shift))
    dst = dst_photo @ m[:, :2].T + m[:, 2]
    frame, _ = W.warp_image(photo.image, src, dst, (size, size), triangles)
    gt = moved.copy()
    gt[:, :2] = moved[:, :2] @ m[:, :2].T + m[:, 2]
    gt[:, 2] = moved[:, 2] * math.hypot(*m[0, :2])
    _, _, up, face_h, _ = _face_axes(gt)
    _paint_mouth(frame, gt[T.INNER_LIPS, :2], up, face_h)
    return frame, gt


def _still(photo: SamplePhoto, size: int) -> Image:
    """The photo framed like a clip's base frame, with no deformation (plain similarity warp)."""
    m = _frame_transform(photo, size, 0.0, 1.0, np.zeros(2))
    return cv2.warpAffine(photo.image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


# ------------------------------------------------------------------------------------------------- clips
@dataclass
class SampleClip:
    """A SYNTHETIC clip and its ground truth."""

    name: str
    subject_id: str
    photo: str
    seed: int
    video: Video
    trajectory: Trajectory
    landmarks: np.ndarray  # float32 [T, 478, 3] the driven (ground-truth) landmark positions
    source: str
    synthetic: bool = True
    note: str = NOTE
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def roll_deg(self) -> np.ndarray:
        return self.trajectory.roll_deg

    @property
    def yaw_deg(self) -> np.ndarray:
        return self.trajectory.yaw_deg

    @property
    def mouth_open(self) -> np.ndarray:
        return self.trajectory.mouth_open

    @property
    def eye_open(self) -> np.ndarray:
        return self.trajectory.eye_open

    def record(self) -> dict[str, Any]:
        """JSON-able description: provenance, the synthetic label and the trajectory."""
        return {"name": self.name, "subject_id": self.subject_id, "synthetic": True, "note": self.note,
                "photo": self.photo, "photo_source": self.source, "seed": self.seed,
                "num_frames": self.video.num_frames, "fps": self.video.fps, "width": self.video.width,
                "height": self.video.height, "samples_version": SAMPLES_VERSION,
                "trajectory": self.trajectory.as_dict()}


def subject_id(photo: str) -> str:
    return f"synthetic_{photo}"


def clip_name(photo: str, seed: int) -> str:
    return f"synthetic_{photo}_{seed}"


def list_samples(seeds: tuple[int, ...] = DEFAULT_SEEDS) -> list[str]:
    """Names of the default sample clips: every photo x every seed (``synthetic_<photo>_<seed>``)."""
    return [clip_name(p, s) for p in PHOTO_NAMES for s in seeds]


def parse_name(name: str) -> tuple[str, int]:
    """``synthetic_<photo>_<seed>`` -> (photo, seed)."""
    stem, _, seed = name.rpartition("_")
    photo = stem.removeprefix("synthetic_")
    if not name.startswith("synthetic_") or photo not in PHOTO_NAMES or not seed.isdigit():
        raise HeadSwapBenchError(f"unknown sample '{name}'; samples look like {list_samples()[0]} "
                                 f"(photos: {', '.join(PHOTO_NAMES)})")
    return photo, int(seed)


@cache
def _yaw_scale(photo: str) -> float:
    """Full yaw motion for photos within 10 degrees of frontal, none beyond 35 degrees of the photo's own yaw."""
    from .face.pose import head_pose

    yaw0 = abs(float(head_pose(sample_photo(photo).landmarks.astype(np.float32))[0]))
    return float(np.clip((35.0 - yaw0) / 25.0, 0.0, 1.0))


def _trajectory_seed(photo: str, seed: int) -> int:
    """Each subject moves differently for the same seed (stable across runs, unlike hash())."""
    return int.from_bytes(hashlib.sha256(f"{photo}:{seed}".encode()).digest()[:4], "little")


def _code_hash() -> str:
    """Hash of the code that draws the samples: editing it invalidates cached clips."""
    h = hashlib.sha256()
    for mod in (__file__, W.__file__, T.__file__):
        h.update(Path(mod).read_bytes())
    return h.hexdigest()[:16]


def make_sample_clip(photo: str, num_frames: int = DEFAULT_FRAMES, size: int = DEFAULT_SIZE, seed: int = 0,
                     fps: float = DEFAULT_FPS, *, cache: bool = True, progress: bool = False) -> SampleClip:
    """Animate one embedded photo (a photo name, a subject id or a clip name) along a seeded trajectory
    (cached under cache_dir()/samples)."""
    from tqdm.auto import tqdm

    if num_frames < 1 or size < 32:
        raise ValueError(f"need num_frames >= 1 and size >= 32, got {num_frames}, {size}")
    if photo.startswith("synthetic_"):  # a clip name (its seed wins) or a subject id
        if photo.rpartition("_")[2].isdigit():
            photo, seed = parse_name(photo)
        else:
            photo = photo.removeprefix("synthetic_")
    if photo not in PHOTO_NAMES:
        raise HeadSwapBenchError(f"unknown sample photo '{photo}'; photos: {', '.join(PHOTO_NAMES)}")
    _, source = _photo_source(photo)
    key = sha256_json({"version": SAMPLES_VERSION, "code": _code_hash(), "photo": photo, "frames": num_frames,
                       "size": size, "seed": seed, "fps": fps})[:20]
    path = cache_dir() / "samples" / f"{clip_name(photo, seed)}-{key}.npz"
    traj = make_trajectory(num_frames, fps, size, _trajectory_seed(photo, seed), _yaw_scale(photo))
    if cache and path.is_file():
        try:
            with np.load(path) as z:
                frames, lms = z["frames"], z["landmarks"]
            return SampleClip(clip_name(photo, seed), subject_id(photo), photo, seed, Video(frames, fps), traj,
                              lms, source)
        except (OSError, ValueError, KeyError):
            pass  # damaged cache entry: render again
    p = sample_photo(photo)
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    lms = np.empty((num_frames, 478, 3), np.float32)
    for t in tqdm(range(num_frames), desc=f"sample {photo}", unit="frame", disable=not progress, leave=False):
        frames[t], lms[t] = render_frame(p, size, roll=traj.roll_deg[t], yaw=traj.yaw_deg[t], scale=traj.scale[t],
                                         shift=traj.shift[t], mouth_open=traj.mouth_open[t],
                                         eye_open=traj.eye_open[t])
    if cache:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, frames=frames, landmarks=lms)
    return SampleClip(clip_name(photo, seed), subject_id(photo), photo, seed, Video(frames, fps), traj, lms, source)


def load_sample(name: str, num_frames: int = DEFAULT_FRAMES, size: int = DEFAULT_SIZE) -> SampleClip:
    """A sample clip by name (``synthetic_<photo>_<seed>``)."""
    photo, seed = parse_name(name)
    return make_sample_clip(photo, num_frames, size, seed)


def write_samples(out_dir: str | Path, names: list[str] | None = None, *, num_frames: int = DEFAULT_FRAMES,
                  size: int = DEFAULT_SIZE, progress: bool = True) -> dict[str, Any]:
    """Write ``<name>.mp4`` per clip, ``photos/<photo>.png`` (the real photo framed as the clips are), and
    ``samples.json`` (provenance, the synthetic label and every trajectory). Returns the JSON record."""
    from tqdm.auto import tqdm

    from .video import write_image, write_video

    out = Path(out_dir)
    names = names or list_samples()
    records, photos = [], {}
    for name in tqdm(names, desc="samples", unit="clip", disable=not progress):
        clip = load_sample(name, num_frames, size)
        write_video(out / f"{name}.mp4", clip.video)
        if clip.photo not in photos:
            photos[clip.photo] = f"photos/{subject_id(clip.photo)}.png"
            write_image(out / photos[clip.photo], _still(sample_photo(clip.photo), size))
        records.append({**clip.record(), "file_name": f"{name}.mp4", "photo_file_name": photos[clip.photo]})
    doc = {"synthetic": True, "note": NOTE, "samples_version": SAMPLES_VERSION, "clips": records}
    atomic_write_json(out / "samples.json", doc)
    return doc
