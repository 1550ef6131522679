"""Classical face transfer: piecewise-affine warping over the landmark triangulation, colour matching and
blending into a target frame.

One engine, three users: the offline head editor ``warp`` (a donor face onto a real clip), the classical
``warp`` swapper (the reference face onto the driving clip) and the embedded synthetic samples (a photo
animated by moving its own landmarks). Everything takes MediaPipe 478-point landmark arrays in pixels
(x, y[, z]), so it is pure geometry and runs without any model.

Design choices (measured figures in docs/warp.md):
- Triangulation: one mesh for every face (Delaunay of the frontal face template plus a forehead extension,
  `canonical_mesh`), so every frame and every donor share the same triangles and the warp cannot pop between
  topologies.
- Warping: every destination pixel looks up its triangle in a label image, gets that triangle's inverse affine
  map and samples the source once with ``cv2.remap``. One vectorised pass instead of a Python loop of
  per-triangle ``warpAffine`` calls.
- Colour: mean/std transfer in CIE-LAB inside the inner face, with the target statistics pooled over frames
  sampled across the whole clip: one transfer per clip, so no flicker from per-frame statistics.
- Blending: feathered alpha by default (stable over time, fast); Poisson (``cv2.seamlessClone``) on request,
  falling back to feathering where OpenCV refuses the mask.
- Mouth interior: the *target's* mouth interior is kept (the inner-lip polygon is cut out of the mask). The
  donor is one still photo with one mouth state; stretching its closed lips over an open mouth smears lip
  texture, whereas the target's teeth and tongue already move in sync with the target's speech. The donor's
  lips themselves are still warped onto the target's lip landmarks.
- Light, eyes, proportions: the pasted face takes the frame's shading (`relight_to_frame`), the frame's own eyeballs and
  nostrils show through (`openings_alpha`), and in `face_onto_video` the clip's features move to the donor's
  proportions (`headswapbench.reshape`), so the edit reads as another person lit like the clip.
- Donor skin (`retouch_skin`, used by the ``warp`` editor once per donor): enlarged onto a bigger face and
  colour-matched, a small donor's freckles and blotches read as a skin disease, so its plain skin is cleaned by
  frequency separation first (shading kept, the 1-10 % band of blotches damped, fine texture reduced, never
  the eyes, brows, lips or nostrils).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .face.topology import (
    CHIN,
    FACE_OVAL,
    FOREHEAD_TOP,
    INNER_LIPS,
    IRISES,
    LEFT_BROW,
    LEFT_BROW_LOWER,
    LEFT_BROW_UPPER,
    LEFT_EYE,
    LIPS,
    NOSE_TIP,
    OUTER_LIPS,
    RIGHT_BROW,
    RIGHT_BROW_LOWER,
    RIGHT_BROW_UPPER,
    RIGHT_EYE,
    UPPER_FACE_OVAL,
)
from .types import Image, Video
from .video import resize_image

log = logging.getLogger(__name__)

# The upper arc of the face oval (side at eye level, over the forehead, other side). MediaPipe's oval stops
# below the hairline, so these points are pushed outwards to cover the whole forehead.
_UPPER_ARC = UPPER_FACE_OVAL
FOREHEAD_EXTENSION = 0.16  # extra forehead height, as a share of the chin-to-forehead distance
NUM_FACE_POINTS = 478 + len(_UPPER_ARC) - 2  # the two arc ends (weight 0) add no point


def _arc_weights() -> np.ndarray:
    n = len(_UPPER_ARC)
    return np.sin(np.pi * np.arange(n) / (n - 1))[1:-1]


def face_height(pts: np.ndarray) -> float:
    """Chin-to-forehead-top distance in pixels: the face's scale for every relative size here."""
    return float(np.linalg.norm(pts[FOREHEAD_TOP, :2] - pts[CHIN, :2]))


def face_points(landmarks: np.ndarray) -> np.ndarray:
    """The 478 landmarks (x, y) plus forehead points derived from them: [NUM_FACE_POINTS, 2] float64.

    The extra points are a fixed function of the landmarks, so they correspond between any two faces."""
    pts = np.asarray(landmarks, dtype=np.float64)[:, :2]
    if pts.shape[0] < 478:
        raise ValueError(f"expected 478 MediaPipe landmarks, got {pts.shape[0]}")
    pts = pts[:478]
    centre = pts[FACE_OVAL].mean(axis=0)
    arc = pts[_UPPER_ARC[1:-1]]
    radial = arc - centre
    radial /= np.maximum(np.linalg.norm(radial, axis=1, keepdims=True), 1e-9)
    ext = arc + radial * (FOREHEAD_EXTENSION * face_height(pts) * _arc_weights())[:, None]
    return np.concatenate([pts, ext], axis=0)


def extended_oval(points: np.ndarray) -> np.ndarray:
    """The face outline with the forehead extension, as an ordered polygon [K, 2] (input: face_points)."""
    arc_pos = {idx: 478 + k for k, idx in enumerate(_UPPER_ARC[1:-1])}
    return points[[arc_pos.get(i, i) for i in FACE_OVAL]]


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangles [M, 3] (int32 indices) over 2-D points, degenerate ones dropped."""
    from scipy.spatial import Delaunay

    pts = np.asarray(points, dtype=np.float64)[:, :2]
    tri = Delaunay(pts).simplices.astype(np.int32)
    p = pts[tri]
    area = np.abs(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])) / 2
    return tri[area > 1e-6]


# ------------------------------------------------------------------------------------- mesh and visibility
# Points whose texture is the face's own features, not skin: the skin-occlusion test skips triangles that
# touch them (an eye or a brow is not "hair over the face").
_FEATURE_POINTS = frozenset(LIPS + RIGHT_EYE + LEFT_EYE + IRISES + RIGHT_BROW + LEFT_BROW)
# Each brow as a polygon: its upper edge from the outer end in, then its lower edge back out.
RIGHT_BROW_RING = RIGHT_BROW_UPPER + RIGHT_BROW_LOWER[::-1]
LEFT_BROW_RING = LEFT_BROW_UPPER + LEFT_BROW_LOWER[::-1]


@dataclass(frozen=True)
class CanonicalMesh:
    """One triangulation for every face: Delaunay of the frontal, bilaterally symmetric face template
    (inter-ocular distance 1) plus the forehead points. Fixed topology means a donor turned sideways still
    gets the triangles of a frontal face (its own Delaunay would connect points across its folded far side),
    and the frontal areas are the yardstick of how much of each triangle a view shows."""

    points: np.ndarray  # [N, 2] template face_points
    triangles: np.ndarray  # [M, 3]
    area: np.ndarray  # [M] signed area in the template (the sign is the front-facing orientation)
    mirror: np.ndarray  # [N] left/right partner of every face point
    skin: np.ndarray  # [M] bool: the triangle touches no eye, brow or lip point and no forehead point


def _signed_area(pts: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    p = pts[triangles]
    d1, d2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    return 0.5 * (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])  # np.cross of 2-D vectors is deprecated


@lru_cache(maxsize=1)
def canonical_mesh() -> CanonicalMesh:
    from .face.pose import load_template

    tpl = load_template()
    pts = face_points(tpl.landmarks)
    tri = triangulate(pts)
    arc = _UPPER_ARC[1:-1]
    mirror = np.concatenate([tpl.mirror[:478], 478 + np.arange(len(arc))[::-1]])  # the arc is symmetric
    feature = np.array([i in _FEATURE_POINTS for i in range(len(pts))])
    skin = ~(feature[tri].any(axis=1) | (tri >= 478).any(axis=1))
    return CanonicalMesh(pts, tri, _signed_area(pts, tri), mirror, skin)


def face_depth(landmarks: np.ndarray) -> np.ndarray:
    """[NUM_FACE_POINTS] depth (MediaPipe z: larger = farther) of face_points; a forehead point takes its arc
    landmark's depth. Zeros when the landmarks carry no z."""
    lms = np.asarray(landmarks, dtype=np.float64)
    z = lms[:478, 2] if lms.shape[1] > 2 else np.zeros(478)
    return np.concatenate([z, z[_UPPER_ARC[1:-1]]])


def mirror_landmarks(landmarks: np.ndarray, width: int) -> np.ndarray:
    """The landmarks of the same face in the image flipped left-right (``img[:, ::-1]``): point i of the
    flipped face is the flipped position of point i's mirror partner."""
    from .face.pose import load_template

    lms = np.array(landmarks, dtype=np.float64)[:478]
    out = lms[load_template().mirror[:478]].copy()
    out[:, 0] = (width - 1) - out[:, 0]  # depth is unchanged by a left-right flip
    return out


def triangle_visibility(points: np.ndarray, landmarks: np.ndarray, mesh: CanonicalMesh | None = None) -> np.ndarray:
    """[M] in [0, 1]: how much of each mesh triangle a view shows, from its projected area relative to the
    frontal template's (both at the face's own scale), normalised by the median triangle. Foreshortened
    triangles (the far cheek of a turned face) score low; back-facing (folded) ones score 0."""
    mesh = mesh or canonical_mesh()
    lms = np.asarray(landmarks, dtype=np.float64)
    k = min(lms.shape[1], 3)
    scale = float(np.linalg.norm(lms[263, :k] - lms[33, :k]))  # with z: barely changes with yaw
    ratio = _signed_area(np.asarray(points)[:, :2], mesh.triangles) / max(scale, 1e-6) ** 2 / mesh.area
    front = ratio > 0
    if not front.any():
        return np.zeros(len(ratio))
    return np.clip(ratio / np.median(ratio[front]), 0.0, 1.0)


# ----------------------------------------------------------------------------------------------- warping
def _inverse_affines(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle, the affine map destination -> source as [M, 3, 2] (rows: x, y, 1 coefficients), and a
    mask of triangles that are not degenerate in the destination."""
    d = dst[triangles]  # [M, 3, 2]
    dh = np.concatenate([d, np.ones(d.shape[:2] + (1,))], axis=2)  # [M, 3, 3]
    det = np.linalg.det(dh)
    ok = np.abs(det) > 1e-6
    coef = np.zeros((len(triangles), 3, 2))
    if ok.any():
        coef[ok] = np.linalg.solve(dh[ok], src[triangles[ok]])
    return coef, ok


def warp_image(
    src_img: np.ndarray,
    src_pts: np.ndarray,
    dst_pts: np.ndarray,
    dst_shape: tuple[int, ...],
    triangles: np.ndarray,
    *,
    border: int = cv2.BORDER_REFLECT101,
) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-affine warp: each triangle of ``src_pts`` is mapped affinely onto the same triangle of
    ``dst_pts``. Returns (warped image of ``dst_shape[:2]`` with zeros where no triangle lands, bool mask of
    covered pixels). Source landmark positions land exactly on the destination positions. Where destination
    triangles overlap, the later one in ``triangles`` wins (pass them far to near)."""
    raster = rasterise(dst_pts, (int(dst_shape[0]), int(dst_shape[1])), triangles)
    return remap(src_img, src_pts, raster), raster.covered()


@dataclass
class Raster:
    """Which destination triangle covers each pixel, inside the mesh's bounding box: ``label`` [h, w] int32
    (-1 = none) at offset (x0, y0) of a frame of ``shape``; ``dst`` are the destination points and
    ``triangles`` the triangle list the labels index."""

    label: np.ndarray
    x0: int
    y0: int
    shape: tuple[int, int]
    dst: np.ndarray
    triangles: np.ndarray

    def covered(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=bool)
        if self.label.size:
            h, w = self.label.shape
            out[self.y0:self.y0 + h, self.x0:self.x0 + w] = self.label >= 0
        return out

    def per_triangle(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """A float32 [H, W] image of one value per triangle (``fill`` where no triangle lands)."""
        out = np.full(self.shape, fill, np.float32)
        if self.label.size:
            h, w = self.label.shape
            lut = np.append(np.asarray(values, np.float32), np.float32(fill))
            out[self.y0:self.y0 + h, self.x0:self.x0 + w] = lut[self.label]  # label -1 → the last entry
        return out


def rasterise(dst_pts: np.ndarray, shape: tuple[int, int], triangles: np.ndarray,
              order: np.ndarray | None = None) -> Raster:
    """Label image of the destination triangles (one ``cv2.fillConvexPoly`` each, only inside the mesh's
    bounding box). ``order``: indices of the triangles to draw, in drawing order (later ones win where they
    overlap); default all, in list order. Degenerate destination triangles are not drawn."""
    height, width = int(shape[0]), int(shape[1])
    dst = np.asarray(dst_pts, dtype=np.float64)[:, :2]
    triangles = np.asarray(triangles, dtype=np.int32)
    ids = np.arange(len(triangles)) if order is None else np.asarray(order, dtype=np.int64)
    d = dst[triangles[ids]] if len(ids) else np.zeros((0, 3, 2))
    det = np.cross(d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]) if len(ids) else np.zeros(0)
    ids = ids[np.abs(det) > 1e-6]
    empty = Raster(np.zeros((0, 0), np.int32), 0, 0, (height, width), dst, triangles)
    if not len(ids):
        return empty
    lo = np.floor(dst[triangles[ids]].reshape(-1, 2).min(axis=0)).astype(int)
    hi = np.ceil(dst[triangles[ids]].reshape(-1, 2).max(axis=0)).astype(int) + 1
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], width), min(hi[1], height)
    if x1 <= x0 or y1 <= y0:
        return empty
    label = np.full((y1 - y0, x1 - x0), -1, dtype=np.int32)
    fixed = np.round((dst[triangles[ids]] - (x0, y0)) * 16).astype(np.int32)  # 4 fractional bits, shift=4
    for k, tid in enumerate(ids):
        cv2.fillConvexPoly(label, fixed[k], int(tid), lineType=cv2.LINE_8, shift=4)
    return Raster(label, x0, y0, (height, width), dst, triangles)


def remap(src_img: np.ndarray, src_pts: np.ndarray, raster: Raster, *,
          border: int = cv2.BORDER_REFLECT101, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Sample ``src_img`` through each labelled pixel's triangle map (destination → source, all maps solved
    in one batched ``np.linalg.solve``; one ``cv2.remap``, bilinear unless ``interpolation`` says otherwise).
    Zeros where no triangle lands."""
    height, width = raster.shape
    out = np.zeros((height, width) + src_img.shape[2:], dtype=src_img.dtype)
    if not raster.label.size:
        return out
    src = np.asarray(src_pts, dtype=np.float64)[:, :2]
    coef, _ = _inverse_affines(src, raster.dst, raster.triangles)
    label = raster.label
    inside = label >= 0
    idx = np.maximum(label, 0)
    h, w = label.shape
    x0, y0 = raster.x0, raster.y0
    # per-pixel coefficients of its triangle's map: one contiguous take per coefficient (faster than [h, w, 6])
    c = [np.take(col, idx) for col in coef.reshape(len(raster.triangles), 6).T.astype(np.float32)]
    xs = np.arange(x0, x0 + w, dtype=np.float32)[None, :]
    ys = np.arange(y0, y0 + h, dtype=np.float32)[:, None]
    map_x = c[0] * xs
    map_x += c[2] * ys
    map_x += c[4]
    map_y = c[1] * xs
    map_y += c[3] * ys
    map_y += c[5]
    warped = cv2.remap(src_img, map_x, map_y, interpolation=interpolation, borderMode=border)
    warped[~inside] = 0
    out[y0:y0 + h, x0:x0 + w] = warped
    return out


# ------------------------------------------------------------------------------------------------- masks
def _fill(shape: tuple[int, ...], polygon: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape[:2], dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 255, lineType=cv2.LINE_8, shift=4)
    return mask


def face_mask(pts: np.ndarray, shape: tuple[int, ...], *, forehead: bool = True, cut_mouth: bool = False) -> np.ndarray:
    """Hard face mask (uint8 0/255) of ``shape[:2]``: the face oval, with the forehead extension by default,
    optionally without the mouth interior (inner-lip polygon). ``pts``: 478 landmarks or face_points."""
    pts = np.asarray(pts, dtype=np.float64)
    points = pts[:, :2] if pts.shape[0] == NUM_FACE_POINTS else face_points(pts)
    mask = _fill(shape, extended_oval(points) if forehead else points[FACE_OVAL])
    if cut_mouth:
        mask[_fill(shape, points[INNER_LIPS]) > 0] = 0
    return mask


def stats_mask(pts: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Where skin colour is measured: the inner face (the oval shrunk by 20 % towards its centre), without
    eyes and mouth, so hair, background, teeth and eye whites do not bias the statistics."""
    pts = np.asarray(pts, dtype=np.float64)[:, :2]
    oval = pts[FACE_OVAL]
    centre = oval.mean(axis=0)
    mask = _fill(shape, centre + 0.8 * (oval - centre))
    for ring in (OUTER_LIPS, RIGHT_EYE, LEFT_EYE):
        mask[_fill(shape, pts[ring]) > 0] = 0
    return mask


# ------------------------------------------------------------------------------------------------ colour
@dataclass(frozen=True)
class ColourStats:
    """Per-channel LAB mean and standard deviation over ``count`` pixels."""

    mean: np.ndarray  # [3]
    std: np.ndarray  # [3]
    count: int

    @staticmethod
    def pool(stats: list[ColourStats]) -> ColourStats:
        """Statistics of the union of the pixel sets (moments combined, weighted by pixel count)."""
        stats = [s for s in stats if s.count > 0]
        if not stats:
            raise ValueError("no pixels to pool colour statistics from")
        n = np.array([s.count for s in stats], dtype=np.float64)
        means = np.stack([s.mean for s in stats])
        second = np.stack([s.std**2 + s.mean**2 for s in stats])
        mean = (n[:, None] * means).sum(0) / n.sum()
        var = (n[:, None] * second).sum(0) / n.sum() - mean**2
        return ColourStats(mean, np.sqrt(np.maximum(var, 0)), int(n.sum()))


def _to_lab(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def colour_stats(img: Image, mask: np.ndarray) -> ColourStats:
    """LAB mean/std of ``img`` (uint8 RGB) over the pixels where ``mask`` > 0."""
    sel = mask > 0
    if not sel.any():
        return ColourStats(np.zeros(3), np.ones(3), 0)
    lab = _to_lab(img[sel][None])[0].astype(np.float64)  # one long row: cvtColor is slow on [N, 1] images
    return ColourStats(lab.mean(0), lab.std(0), int(sel.sum()))


def robust_colour_stats(img: Image, mask: np.ndarray) -> ColourStats:
    """Like `colour_stats` but median and 1.4826 × median absolute deviation: a few stray hair or brow
    pixels in the region do not widen the statistics."""
    sel = mask > 0
    if not sel.any():
        return ColourStats(np.zeros(3), np.ones(3), 0)
    lab = _to_lab(img[sel][None])[0].astype(np.float64)
    med = np.median(lab, axis=0)
    return ColourStats(med, 1.4826 * np.median(np.abs(lab - med), axis=0), int(sel.sum()))


def apply_colour_transfer(img: Image, source: ColourStats, target: ColourStats, max_gain: float = 2.0) -> Image:
    """Shift and scale ``img``'s LAB channels so pixels with ``source`` statistics get ``target``'s.
    The std ratio is clamped to [1/max_gain, max_gain] so a near-flat region cannot explode the contrast."""
    gain = np.clip(target.std / np.maximum(source.std, 1e-6), 1.0 / max_gain, max_gain)
    lab = (_to_lab(img) - source.mean.astype(np.float32)) * gain.astype(np.float32) + target.mean.astype(np.float32)
    lab[..., 0] = np.clip(lab[..., 0], 0, 100)
    rgb = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def match_colour(img: Image, img_mask: np.ndarray, ref: Image, ref_mask: np.ndarray) -> Image:
    """``img`` recoloured so its statistics inside ``img_mask`` equal ``ref``'s inside ``ref_mask``."""
    return apply_colour_transfer(img, colour_stats(img, img_mask), colour_stats(ref, ref_mask))


# ------------------------------------------------------------------------------------------------- blend
def feather_alpha(mask: np.ndarray, radius: int) -> np.ndarray:
    """Soft alpha in [0, 1] that is exactly 0 outside ``mask``: erode by the blur's reach, then blur."""
    radius = max(int(radius), 1)
    k = 2 * radius + 1
    hard = cv2.erode((mask > 0).astype(np.uint8), np.ones((k, k), np.uint8))  # rect: separable, fast
    alpha = cv2.GaussianBlur(hard.astype(np.float32), (k, k), sigmaX=radius / 2.0)
    alpha[mask == 0] = 0.0
    return alpha


def blend(
    fg: Image, bg: Image, mask: np.ndarray, *, mode: str = "feather", feather_px: int | None = None,
    weight: np.ndarray | None = None,
) -> Image:
    """Composite ``fg`` over ``bg`` inside ``mask``; pixels outside the mask keep ``bg``'s values exactly.

    mode "feather": alpha blend with a soft edge of ``feather_px`` (default: 5 % of the mask's size).
    mode "poisson": ``cv2.seamlessClone`` (gradient-domain: matches the boundary, hides colour seams), with a
    fallback to feathering where OpenCV rejects the mask (e.g. touching the frame border).
    ``weight`` (float [H, W] in [0, 1], optional) scales the alpha further, e.g. to fade out hair."""
    if mode not in ("feather", "poisson"):
        raise ValueError(f"unknown blend mode {mode!r} (use 'feather' or 'poisson')")
    sel = mask > 0
    x0, y0, w, h = cv2.boundingRect(sel.astype(np.uint8))
    if w == 0 or h == 0:
        return bg.copy()
    x1, y1 = x0 + w, y0 + h
    if feather_px is None:
        feather_px = max(2, round(0.05 * max(y1 - y0, x1 - x0)))
    out = bg.copy()
    if mode == "poisson":
        try:
            centre = (int((x0 + x1 - 1) // 2), int((y0 + y1 - 1) // 2))
            if x0 < 1 or y0 < 1 or x1 > bg.shape[1] - 1 or y1 > bg.shape[0] - 1:
                raise cv2.error("mask touches the frame border")
            cloned = cv2.seamlessClone(fg, bg, np.where(sel, 255, 0).astype(np.uint8), centre, cv2.NORMAL_CLONE)
            fg = cloned  # then feather the clone's edge too, for a seam-free boundary
        except cv2.error as exc:
            log.debug("seamlessClone refused the mask (%s); feathering instead", exc)
    # Pad the box by the feather radius so the blur sees the mask edge, and blend only inside it.
    p = feather_px + 1
    by0, by1 = max(y0 - p, 0), min(y1 + p, bg.shape[0])
    bx0, bx1 = max(x0 - p, 0), min(x1 + p, bg.shape[1])
    alpha = feather_alpha(mask[by0:by1, bx0:bx1], feather_px)
    if weight is not None:
        alpha *= weight[by0:by1, bx0:bx1]
    alpha = alpha[..., None]
    f = fg[by0:by1, bx0:bx1].astype(np.float32)
    b = bg[by0:by1, bx0:bx1].astype(np.float32)
    out[by0:by1, bx0:bx1] = np.clip(np.round(b + alpha * (f - b)), 0, 255).astype(np.uint8)
    return out


# ------------------------------------------------------------------------------------------------- hair
UPPER_BROWS = RIGHT_BROW_UPPER + LEFT_BROW_UPPER[::-1]  # both brows' upper edges, image left to right


def skin_likelihood(img: Image, skin: ColourStats, tolerance: float = 2.0) -> np.ndarray:
    """Per-pixel likelihood in [0, 1] that a pixel has the skin colour ``skin`` (Gaussian in LAB, each
    channel's spread widened by ``tolerance``)."""
    lab = _to_lab(img)
    inv = (1.0 / (np.maximum(skin.std, 1.0) * tolerance)).astype(np.float32)
    d2 = np.zeros(lab.shape[:2], np.float32)
    for c in range(3):
        d2 += np.square((lab[..., c] - np.float32(skin.mean[c])) * inv[c])
    return np.exp(-0.5 * d2)


def hair_weight(donor_warped: Image, frame: Image, points: np.ndarray, mask: np.ndarray,
                donor_skin: ColourStats, target_skin: ColourStats) -> np.ndarray:
    """Alpha weight [H, W] that fades the pasted face out above the eyebrows where either the donor or the
    target shows no skin (a fringe, a hairline, a hat): the forehead is pasted only skin over skin, so neither
    the donor's hair lands on the target's forehead nor donor skin covers the target's fringe."""
    weight = np.ones(mask.shape[:2], np.float32)
    up = points[FOREHEAD_TOP] - points[CHIN]
    height = float(np.linalg.norm(up))
    if height < 1:
        return weight
    up /= height
    brow = points[UPPER_BROWS].mean(axis=0)
    x0, y0, w, h = cv2.boundingRect((mask > 0).astype(np.uint8))
    if w == 0 or h == 0:
        return weight
    ys, xs = np.mgrid[y0:y0 + h, x0:x0 + w].astype(np.float32)
    above = ((xs - brow[0]) * up[0] + (ys - brow[1]) * up[1]) / height  # face heights above the brows
    above = np.clip((above + 0.02) / 0.06, 0, 1).astype(np.float32)
    # only the forehead band needs the skin test
    bx, by, w, h = cv2.boundingRect(((above > 0) & (mask[y0:y0 + h, x0:x0 + w] > 0)).astype(np.uint8))
    if w == 0 or h == 0:
        return weight
    above = above[by:by + h, bx:bx + w]
    x0, y0 = x0 + bx, y0 + by
    region = (slice(y0, y0 + h), slice(x0, x0 + w))
    skin_both = skin_likelihood(donor_warped[region], donor_skin) * skin_likelihood(frame[region], target_skin)
    k = max(3, int(0.02 * height) | 1)
    skin_both = cv2.GaussianBlur(skin_both, (k, k), 0)
    weight[region] = 1.0 - above * (1.0 - skin_both)
    # the brows are the donor's, whole: they are not skin, so the test above would fade them out and leave
    # the target's brows (or none) showing through
    brows = np.zeros(mask.shape[:2], np.uint8)
    for ring in (RIGHT_BROW_RING, LEFT_BROW_RING):
        brows = np.maximum(brows, _fill(mask.shape, points[ring]))
    r = max(1, int(round(0.025 * height)))
    brows = cv2.GaussianBlur(cv2.dilate(brows, np.ones((2 * r + 1,) * 2, np.uint8)).astype(np.float32) / 255,
                             (2 * r + 1,) * 2, 0)
    return np.maximum(weight, brows)


# ---------------------------------------------------------------------------------------------- retouch
# The nostril openings: dark on every face, identity rather than blemish. Only the openings: left out with the
# skin under the nose, the donor's freckles there were pasted as a brown patch on the clean skin around it.
NOSTRILS = [60, 75, 79, 99, 238, 239, 290, 305, 309, 328, 458, 459]
RETOUCH_MARGIN = 0.012  # face heights: how far the features are grown, and the feather of the retouch's edge
RETOUCH_LOW = 0.05  # face heights: σ of the skin's shading (masked Gaussian); blotches up to ≈ 10 % lie below it
RETOUCH_FINE = 0.01  # face heights (at least 0.7 px): σ under which the skin's fine texture lies
RETOUCH_MID_KEEP = 0.3  # share of the mid band kept on plain skin (none of it inside a blotch)
RETOUCH_DARK = 5.0  # L units below the shading at which a spot counts fully as dark ...
RETOUCH_WARM = 0.1  # ... and relative chroma per lightness above it at which it counts fully as brown
RETOUCH_FINE_KEEP = 0.7  # share of the fine band kept: pores and grain, so the skin does not look like plastic


def masked_blur(x: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``x`` ([H, W] or [H, W, C]) over ``weight`` [H, W] only (normalised convolution): eyes,
    brows, hair and background next to the skin do not bleed into its average. Also the artifact gate's."""
    weight = np.asarray(weight, np.float32)
    w = weight if x.ndim == 2 else weight[..., None]
    num = cv2.GaussianBlur(x * w, (0, 0), sigma)
    den = cv2.GaussianBlur(weight, (0, 0), sigma)
    return num / np.maximum(den if x.ndim == 2 else den[..., None], 1e-3)


def plain_skin_weight(img: Image, landmarks: np.ndarray, skin: ColourStats | None = None) -> np.ndarray:
    """float32 [H, W] in [0, 1]: how surely a pixel is the face's plain skin (cheeks, nose, chin, forehead),
    1 inside and feathered to 0 at the eyes, brows, lips, nostrils (each grown by `RETOUCH_MARGIN`),
    the face outline and wherever the colour is not skin (hair, background; `skin_likelihood`, blurred so a
    dark freckle is not mistaken for hair)."""
    landmarks = np.asarray(landmarks, np.float64)[:478, :2]
    pts = face_points(landmarks)
    height = face_height(pts)
    hard = face_mask(pts, img.shape)
    keep = np.zeros(img.shape[:2], np.uint8)
    for ring in (RIGHT_BROW_RING, LEFT_BROW_RING, RIGHT_EYE, LEFT_EYE, OUTER_LIPS):
        keep = np.maximum(keep, _fill(img.shape, pts[ring]))
    r = max(1, int(round(0.012 * height)))
    for x, y in np.round(pts[NOSTRILS]).astype(int):
        cv2.circle(keep, (int(x), int(y)), r, 255, -1)
    k = max(1, int(round(RETOUCH_MARGIN * height)))
    keep = cv2.dilate(keep, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1,) * 2))
    hard[keep > 0] = 0
    weight = feather_alpha(hard, k)
    skin = skin if skin is not None else colour_stats(img, stats_mask(pts, img.shape))
    if skin.count:
        lik = skin_likelihood(img, skin, tolerance=3.0)
        weight *= np.clip(2.0 * cv2.GaussianBlur(lik, (0, 0), max(0.03 * height, 1.0)), 0.0, 1.0)
        # skin-coloured hair (a blond fringe, a temple): the editor's own hairline and side tests
        weight *= donor_forehead_alpha(img, landmarks, skin) * donor_side_alpha(img, landmarks, skin)
    return weight


def retouch_skin(img: Image, landmarks: np.ndarray) -> Image:
    """The photo with its plain skin cleaned of blotches and freckles (`plain_skin_weight`; eyes, brows, lips,
    nostrils, hair untouched), by frequency separation in CIE-LAB:

    - shading: a masked Gaussian of the skin (σ = `RETOUCH_LOW` face heights), robust: spots darker *and*
      browner than it (`RETOUCH_DARK`, `RETOUCH_WARM`) drop out of its average in three passes, so a freckle
      cluster is filled from the skin around it while a neutral shadow stays part of the shading;
    - mid band (between the shading and σ = `RETOUCH_FINE`: the 1-10 % scale of freckles and brown patches):
      damped to `RETOUCH_MID_KEEP`, and removed inside blotches;
    - fine band: kept at `RETOUCH_FINE_KEEP` (pores and grain, so the skin does not look like plastic);
    - the lift that removing dark spots gives the skin is taken back at σ = 2 × `RETOUCH_LOW`, so the skin keeps
      its tone next to the untouched features.

    Why: the warp editor enlarges a donor's face onto a bigger one and colour-matches it, which turned the
    embedded astronaut's freckles into blotches that read as a skin disease; a cleaner donor is the upstream
    fix (the artifact gate cannot tell that mottle from a clean edit)."""
    _check_donor(img, landmarks)
    pts = np.asarray(landmarks, np.float64)[:478, :2]
    height = face_height(pts)
    weight = plain_skin_weight(img, pts)
    x0, y0, w, h = cv2.boundingRect((weight > 0).astype(np.uint8))
    if w == 0 or h == 0:
        return img.copy()
    pad = int(np.ceil(4 * RETOUCH_LOW * height)) + 2  # the blurs' reach
    x0, y0 = max(x0 - pad, 0), max(y0 - pad, 0)
    x1, y1 = min(x0 + w + 2 * pad, img.shape[1]), min(y0 + h + 2 * pad, img.shape[0])
    sl = (slice(y0, y1), slice(x0, x1))
    lab = _to_lab(img[sl])
    m = weight[sl]
    fine_cut = cv2.GaussianBlur(lab, (0, 0), max(RETOUCH_FINE * height, 0.7))
    low = masked_blur(lab, m, RETOUCH_LOW * height)
    warmth = np.hypot(fine_cut[..., 1], fine_cut[..., 2]) / np.maximum(fine_cut[..., 0], 1.0)

    def blotch(low: np.ndarray) -> np.ndarray:  # [0, 1]: darker *and* browner than the shading there
        dark = np.clip((low[..., 0] - fine_cut[..., 0]) / RETOUCH_DARK, 0, 1)
        low_warmth = np.hypot(low[..., 1], low[..., 2]) / np.maximum(low[..., 0], 1.0)
        return dark * np.clip((warmth / np.maximum(low_warmth, 1e-3) - 1) / RETOUCH_WARM, 0, 1)

    for _ in range(3):  # robust shading: blotches drop out of its average (a neutral shadow stays in)
        low = masked_blur(lab, m * (1 - blotch(low)), RETOUCH_LOW * height)
    blot = cv2.GaussianBlur(blotch(low), (0, 0), max(RETOUCH_FINE * height, 0.7))[..., None]
    mid, fine = fine_cut - low, lab - fine_cut
    # inside a blotch, its mid band goes entirely and its fine band (the blotch's own edge) halves again
    damp = (1 - RETOUCH_MID_KEEP * (1 - blot)) * mid + (1 - RETOUCH_FINE_KEEP * (1 - 0.5 * blot)) * fine
    out = lab - m[..., None] * damp
    # removing dark spots lifts the skin; take the lift back (σ = 2 × `RETOUCH_LOW`) so the retouched skin keeps
    # its tone next to the untouched eyes, brows and nostrils instead of framing them in a darker ring
    out += m[..., None] * masked_blur(m[..., None] * damp, m, 2 * RETOUCH_LOW * height)
    out[..., 0] = np.clip(out[..., 0], 0, 100)
    rgb = np.clip(np.round(cv2.cvtColor(out, cv2.COLOR_LAB2RGB) * 255.0), 0, 255).astype(np.uint8)
    res = img.copy()
    res[sl] = np.where((m > 0)[..., None], rgb, img[sl])  # untouched pixels stay exact (no LAB round trip)
    return res


RELIGHT_SIGMA = 0.08  # face heights: σ of the shading the pasted face takes from the frame


def relight_to_frame(warped: Image, frame: Image, weight: np.ndarray, sigma: float) -> Image:
    """The warped donor face under the frame's light: its CIE-LAB shading (a masked Gaussian of σ = ``sigma``
    px over ``weight``, the skin that is plain in both) is swapped for the frame's, its features and detail
    kept. Why: a donor photo brings its own light (the astronaut's orange-lit, shadowed left cheek and brow
    came out as a brown patch) and, retouched, looks flat and pasted; the frame's shading matches the head,
    neck and background around it and the clip's own lighting changes."""
    x0, y0, w, h = cv2.boundingRect((weight > 0.05).astype(np.uint8))
    if w == 0 or h == 0:
        return warped
    pad = int(np.ceil(3 * sigma)) + 2
    x0, y0 = max(x0 - pad, 0), max(y0 - pad, 0)
    x1, y1 = min(x0 + w + 2 * pad, frame.shape[1]), min(y0 + h + 2 * pad, frame.shape[0])
    sl = (slice(y0, y1), slice(x0, x1))
    lab_w, lab_f, m = _to_lab(warped[sl]), _to_lab(frame[sl]), weight[sl]
    lab = lab_w + masked_blur(lab_f, m, sigma) - masked_blur(lab_w, m, sigma)
    lab[..., 0] = np.clip(lab[..., 0], 0, 100)
    out = warped.copy()
    out[sl] = np.clip(np.round(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB) * 255.0), 0, 255).astype(np.uint8)
    return out


# ------------------------------------------------------------------------------------------ face transfer
def _valid(landmarks: np.ndarray) -> bool:
    return landmarks is not None and landmarks.shape[0] >= 478 and bool(np.isfinite(landmarks[:478, :2]).all())


def _check_donor(donor: Image, donor_landmarks: np.ndarray) -> None:
    if not isinstance(donor, np.ndarray) or donor.ndim != 3 or donor.shape[2] != 3 or donor.dtype != np.uint8:
        raise ValueError(f"donor must be a uint8 [H, W, 3] RGB image, got {getattr(donor, 'shape', None)}")
    if not _valid(np.asarray(donor_landmarks)):
        raise ValueError("donor landmarks must be 478 finite (x, y) points (no face found in the donor?)")


def donor_forehead_alpha(donor: Image, landmarks: np.ndarray, skin: ColourStats) -> np.ndarray:
    """float32 [H, W] in [0, 1]: 0 on the donor's forehead above its own hairline (a fringe, a hat brim),
    1 elsewhere. The hairline is found per column of the face: walking up from the brows, the first pixels
    that are not the colour of the forehead's skin (measured robustly in a band just above the brows) start
    the hair. Pasting stops there, so a donor's fringe never lands on the target's forehead as a ghost of
    hair; above it the target's own forehead shows (the hair gate then decides what the target shows)."""
    alpha = np.ones(donor.shape[:2], np.float32)
    if not skin.count:
        return alpha
    pts = face_points(landmarks)
    height = face_height(pts)
    up = pts[FOREHEAD_TOP] - pts[CHIN]
    up = up / max(np.linalg.norm(up), 1e-6)
    right = np.array([-up[1], up[0]])
    brows = pts[UPPER_BROWS]
    keep = np.zeros(donor.shape[:2], np.uint8)
    for ring in (RIGHT_BROW_RING, LEFT_BROW_RING, RIGHT_EYE, LEFT_EYE):
        keep = np.maximum(keep, _fill(donor.shape, pts[ring]))
    r = max(1, int(round(0.02 * height)))
    keep = cv2.dilate(keep, np.ones((2 * r + 1,) * 2, np.uint8))
    # the forehead's own skin, in a band just above the brows: tighter statistics than the whole face's
    # (which include shadows), so hair of nearly skin brightness still stands out
    band = _fill(donor.shape, np.concatenate([brows + up * 0.02 * height, (brows + up * 0.07 * height)[::-1]]))
    band[keep > 0] = 0
    ref = robust_colour_stats(donor, band)
    if not ref.count or np.linalg.norm(ref.mean - skin.mean) > 12:  # the band is hair too: use the face's
        ref = skin
    ref = ColourStats(ref.mean, np.maximum(ref.std, (4.0, 2.0, 2.0)), ref.count)  # shading is not hair
    region = face_mask(pts, donor.shape)
    x0, y0, w, h = cv2.boundingRect(region)
    if w == 0 or h == 0:
        return alpha
    sl = (slice(y0, y0 + h), slice(x0, x0 + w))
    # hair differs from forehead skin in colour or, when it is skin-coloured (blond, lit), in texture: strands
    # are full of fine detail where skin is smooth
    hair = covered_skin(donor, landmarks, ref, (x0, y0, w, h), tolerance=2.0, texture=2.5)
    ys, xs = np.mgrid[y0:y0 + h, x0:x0 + w].astype(np.float64)
    centre = brows.mean(axis=0)
    u = (xs - centre[0]) * right[0] + (ys - centre[1]) * right[1]
    v = (xs - centre[0]) * up[0] + (ys - centre[1]) * up[1]  # pixels above the brow line: v > 0
    sel = (region[sl] > 0) & (keep[sl] == 0) & (v > 0)
    if not (hair & sel).any():
        return alpha
    # per column of the face (bins along the brow line), the hairline is the lowest height above the brows
    # where most of the next 0.05 face heights is hair: one dark freckle is not a hairline
    step = max(1.0, 0.01 * height)
    ub = np.floor((u - u.min()) / max(2.0, 0.02 * height)).astype(int)
    vb = np.floor(np.maximum(v, 0) / step).astype(int)
    nu, nv = int(ub.max()) + 1, int(vb.max()) + 1
    count = np.zeros((nu, nv))
    hairy = np.zeros((nu, nv))
    np.add.at(count, (ub[sel], vb[sel]), 1)
    np.add.at(hairy, (ub[sel], vb[sel]), hair[sel].astype(float))
    k = max(2, int(round(0.05 * height / step)))
    kernel = np.ones(k)
    run_n = np.apply_along_axis(lambda r: np.convolve(r, kernel)[k - 1:], 1, count)
    run_h = np.apply_along_axis(lambda r: np.convolve(r, kernel)[k - 1:], 1, hairy)
    starts = (run_h >= 0.5 * run_n) & (run_n >= 3)
    hairline = np.where(starts.any(axis=1), starts.argmax(axis=1) * step, np.inf)
    from scipy.ndimage import median_filter, minimum_filter

    hl = median_filter(np.where(np.isfinite(hairline), hairline, 1e6), size=5, mode="nearest")
    hl = minimum_filter(hl, size=3, mode="nearest")  # a gap between two hairy columns is hair too
    found = hairline[np.isfinite(hairline)]
    if len(found) >= 0.3 * len(hairline):  # a fringe: columns it hides from the test are hair as well
        hl = np.minimum(hl, np.percentile(found, 25) + 0.04 * height)
    feather = max(1.0, 0.03 * height)
    a = np.clip((hl[ub] - v) / feather, 0.0, 1.0).astype(np.float32)
    a[v <= 0] = 1.0
    alpha[sl] = cv2.GaussianBlur(a, (0, 0), max(0.015 * height, 0.8))
    return alpha


SIDE_BAND = 0.12  # face heights: the outer band of the face where a donor's hair or dark background may reach in


def donor_side_alpha(donor: Image, landmarks: np.ndarray, skin: ColourStats) -> np.ndarray:
    """float32 [H, W] in [0, 1]: 0 where the outer band of the donor's face (``SIDE_BAND`` face heights in
    from its outline, the temples and cheeks' edges) is not skin: hair over a temple, a shadowed or dark
    background at the jaw. The mesh's outer triangles touch forehead or brow points, so the per-triangle
    occlusion test (`donor_clear`) never sees them, and their texture was pasted as a dark smear down one
    side of the face. There the clip's own skin shows instead (it is the outer seam of the composite)."""
    alpha = np.ones(donor.shape[:2], np.float32)
    if not skin.count:
        return alpha
    pts = face_points(landmarks)
    height = face_height(pts)
    region = face_mask(pts, donor.shape)
    x0, y0, w, h = cv2.boundingRect(region)
    if w == 0 or h == 0:
        return alpha
    r = max(1, int(round(SIDE_BAND * height)))
    inner = cv2.erode(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    keep = np.zeros(donor.shape[:2], np.uint8)  # features are not skin and are never cut
    for ring in (RIGHT_BROW_RING, LEFT_BROW_RING, RIGHT_EYE, LEFT_EYE, OUTER_LIPS):
        keep = np.maximum(keep, _fill(donor.shape, pts[ring]))
    k = max(1, int(round(0.03 * height)))
    keep = cv2.dilate(keep, np.ones((2 * k + 1,) * 2, np.uint8))
    sl = (slice(y0, y0 + h), slice(x0, x0 + w))
    band = (region[sl] > 0) & (inner[sl] == 0) & (keep[sl] == 0)
    covered = covered_skin(donor, landmarks, skin, (x0, y0, w, h), tolerance=2.5) & band
    soft = cv2.GaussianBlur(covered.astype(np.float32), (0, 0), max(0.02 * height, 0.8))
    alpha[sl] = np.clip(1.0 - 1.5 * soft, 0.0, 1.0)
    return alpha


def covered_skin(img: Image, landmarks: np.ndarray, skin: ColourStats, box: tuple[int, int, int, int],
                 tolerance: float = 2.0, texture: float = 3.0) -> np.ndarray:
    """bool [h, w] over ``box`` = (x0, y0, w, h) of ``img``: pixels that do not look like the face's plain
    skin, by colour (skin likelihood < 0.15 at ``tolerance``) or, for skin-coloured hair, by texture (fine
    detail above ``texture`` × the median of the face's own smooth skin, `stats_mask`). Hair, hands,
    microphones and sunglasses are covered; so are the eyes, brows and lips, which callers exclude."""
    x0, y0, w, h = box
    sl = (slice(y0, y0 + h), slice(x0, x0 + w))
    height = face_height(np.asarray(landmarks)[:, :2])
    lik = cv2.GaussianBlur(skin_likelihood(img[sl], skin, tolerance=tolerance), (0, 0), max(0.01 * height, 0.8))
    lum = cv2.GaussianBlur(_to_lab(img[sl])[..., 0], (0, 0), 0.7)
    tex = cv2.GaussianBlur(np.abs(cv2.Laplacian(lum, cv2.CV_32F)), (0, 0), max(0.015 * height, 1.0))
    smooth = stats_mask(landmarks, img.shape)[sl] > 0  # cheeks, nose, chin: the face's plain skin
    skin_tex = float(np.median(tex[smooth])) if smooth.any() else float(np.median(tex))
    return (lik < 0.15) | (tex > texture * skin_tex + 0.3)


def triangle_skin(img: Image, points: np.ndarray, landmarks: np.ndarray, skin: ColourStats,
                  mesh: CanonicalMesh | None = None) -> np.ndarray:
    """[M] share of each plain-skin mesh triangle's pixels in ``img`` that look like skin (`covered_skin`);
    1 for triangles that are not plain skin (features, forehead) or that cover no pixel. Low values mean
    something covers the face there: hair, a hand, sunglasses, a microphone."""
    mesh = mesh or canonical_mesh()
    raster = rasterise(points, img.shape[:2], mesh.triangles)
    out = np.ones(len(mesh.triangles))
    if not raster.label.size:
        return out
    h, w = raster.label.shape
    covered = covered_skin(img, landmarks, skin, (raster.x0, raster.y0, w, h), tolerance=2.5)
    sel = raster.label >= 0
    n = np.bincount(raster.label[sel], minlength=len(out))
    bad = np.bincount(raster.label[sel], weights=covered[sel].astype(float), minlength=len(out))
    has = (n > 0) & mesh.skin
    out[has] = 1.0 - bad[has] / n[has]
    return out


def donor_clear(img: Image, landmarks: np.ndarray, skin: ColourStats | None = None,
                mesh: CanonicalMesh | None = None) -> np.ndarray:
    """[M] in [0, 1]: how uncovered each plain-skin triangle of a donor photo is (`triangle_skin` mapped so
    that ≥ 80 % skin-like pixels count as clear and ≤ 40 % as covered); 1 on other triangles."""
    mesh = mesh or canonical_mesh()
    if skin is None or not skin.count:
        return np.ones(len(mesh.triangles))
    return np.clip((triangle_skin(img, face_points(landmarks), landmarks, skin, mesh) - 0.4) / 0.4, 0.0, 1.0)


def donor_reliability(img: Image, landmarks: np.ndarray, skin: ColourStats | None = None,
                      mesh: CanonicalMesh | None = None) -> np.ndarray:
    """[M] in [0, 1]: how trustworthy each triangle's texture is in a donor photo, the product of its
    visibility (`triangle_visibility`) and of being uncovered (`donor_clear`)."""
    mesh = mesh or canonical_mesh()
    return triangle_visibility(face_points(landmarks), landmarks, mesh) * donor_clear(img, landmarks, skin, mesh)


def mirror_weights(direct: np.ndarray, mirrored: np.ndarray, trust: float = 0.75, margin: float = 0.15) -> np.ndarray:
    """[M] weight of the donor's own texture per triangle, the rest coming from its mirror image: 1 where the
    donor shows the triangle well (reliability ≥ ``trust``) or the mirror is not clearly better (by
    ``margin``: a nostril is dark on both sides, and blending a face with its mirror image ghosts it), else
    shared by squared reliability."""
    d2, m2 = np.square(direct), np.square(mirrored)
    own = (direct >= trust) | (mirrored <= direct + margin)
    return np.where(own, 1.0, d2 / np.maximum(d2 + m2, 1e-6))


NOSTRIL_GROW = 0.02  # face heights: how far the clip's own nostrils reach out from their landmarks
EYE_GROW = 0.012  # ... and its own eyes beyond the lid contour (the lash line)


def openings_alpha(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """float32 [H, W]: 1 on the eyeballs (inside the lid margins) and the nostril openings, soft at their
    edges: where the warp editor shows the clip's own face. How much of them shows depends on the clip's gaze,
    blinks and head pitch, which one still photo cannot follow (its eyes looked like dark holes, its nostrils
    like dark spots on the nose)."""
    pts = np.asarray(points, np.float64)[:, :2]
    height = face_height(pts)
    inside = np.maximum(_fill(shape, pts[RIGHT_EYE]), _fill(shape, pts[LEFT_EYE]))
    # with the lid margins and lash lines: a donor's lash line squeezed onto narrower eyes looked drawn on
    e = max(1, int(round(EYE_GROW * height)))
    eyes = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * e + 1,) * 2))
    nose = np.zeros(shape[:2], np.uint8)
    tip = pts[NOSE_TIP, 0]
    for side in (pts[NOSTRILS][pts[NOSTRILS, 0] < tip], pts[NOSTRILS][pts[NOSTRILS, 0] >= tip]):
        if len(side) >= 3:
            nose = np.maximum(nose, _fill(shape, cv2.convexHull(side.astype(np.float32))[:, 0].astype(np.float64)))
    # grown: a donor's nostrils, wider or more visible than the clip's, left a dark rim around the clip's
    r = max(1, int(round(NOSTRIL_GROW * height)))
    nose = cv2.dilate(nose, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
    nose = cv2.GaussianBlur(nose.astype(np.float32) / 255, (0, 0), max(r / 2, 0.7))
    eyes = np.maximum(cv2.GaussianBlur(eyes.astype(np.float32) / 255, (0, 0), max(e / 2, 0.7)), inside / 255)
    return np.maximum(eyes, nose).astype(np.float32)


class FaceTransfer:
    """A donor face prepared once (triangulation, resolution, colour, per-triangle visibility) and pasted onto
    any number of frames.

    ``target_stats``: the target's skin colour (pooled over the clip). With it, the donor is recoloured to
    it (``colour``) and the forehead is pasted only skin over skin (``hair_gate``, see `hair_weight`).

    Visibility, both ends: a triangle the donor shows badly (turned away, folded, covered by hair) is taken
    from the donor's mirror image instead, where that side shows it better (``mirror``; the mirror image of a
    face is the same face); in each frame, triangles that face away from the camera are not drawn at all,
    and the rest are drawn far to near, so a turned head's nose covers its far cheek instead of the far
    cheek's texture smearing over the nose.

    Light, eyes and nostrils: the pasted face takes the frame's shading (``relight``, see `relight_to_frame`)
    and leaves the frame's eyeballs, lash lines and nostril openings (``keep_target_openings``, see
    `openings_alpha`): a still photo's eyes stretched over the clip's open or closed ones looked like dark holes
    and fixed the gaze, whereas the clip's own eyes blink and look in sync with V_a; lids, brows and skin stay
    the donor's."""

    def __init__(
        self,
        donor: Image,
        donor_landmarks: np.ndarray,
        *,
        target_stats: ColourStats | None = None,
        target_face_height: float | None = None,
        colour: bool = True,
        hair_gate: bool = True,
        blend_mode: str = "feather",
        keep_target_mouth: bool = True,
        mirror: bool = True,
        relight: bool = True,
        keep_target_openings: bool = True,
    ):
        _check_donor(donor, donor_landmarks)
        lms = np.array(donor_landmarks, dtype=np.float64)[:478]
        pts = lms[:, :2]
        # Keep only the donor's face region (what the mesh can sample): less to resize, recolour and carry.
        ext = face_points(pts)
        margin = 0.05 * face_height(pts) + 2
        x0, y0 = np.maximum(np.floor(ext.min(axis=0) - margin), 0).astype(int)
        x1, y1 = np.ceil(ext.max(axis=0) + margin).astype(int) + 1
        donor = np.ascontiguousarray(donor[y0:y1, x0:x1])
        lms[:, :2] -= (x0, y0)
        # Shrink a donor much larger than the target face first (INTER_AREA): remap alone would alias.
        if target_face_height and face_height(lms) > 1.5 * target_face_height:
            f = 1.5 * target_face_height / face_height(lms)
            h, w = donor.shape[:2]
            size = (max(1, round(w * f)), max(1, round(h * f)))
            donor = resize_image(donor, size)  # shrinking: INTER_AREA
            scale = np.array([size[0] / w, size[1] / h])
            lms[:, :2] = (lms[:, :2] + 0.5) * scale - 0.5  # pixel centres, as cv2.resize maps them
            if lms.shape[1] > 2:
                lms[:, 2] *= scale[0]
        skin = stats_mask(lms, donor.shape)
        if colour and target_stats is not None:
            # contrast gain kept near 1: a dark, flat donor stretched 2x blows out its eye whites
            donor = apply_colour_transfer(donor, colour_stats(donor, skin), target_stats, max_gain=1.5)
        self.mesh = canonical_mesh()
        self.donor = donor
        self.donor_skin = colour_stats(donor, skin)
        # a 4th channel travels with the texture: where the donor's face may be pasted at all
        visible = donor_forehead_alpha(donor, lms, self.donor_skin) if hair_gate else np.ones(donor.shape[:2])
        if hair_gate:
            visible = visible * donor_side_alpha(donor, lms, self.donor_skin)
        channels = [donor, np.round(visible * 255).astype(np.uint8)]
        if relight:  # a 5th: where the donor shows plain skin, over which its shading is measured
            channels.append(np.round(plain_skin_weight(donor, lms, self.donor_skin) * 255).astype(np.uint8))
        self.relight = relight
        self.keep_target_openings = keep_target_openings
        self.donor_rgba = np.dstack(channels)
        self.target_skin = target_stats if hair_gate else None
        self.src_points = face_points(lms)
        self.triangles = self.mesh.triangles
        self.blend_mode = blend_mode
        self.keep_target_mouth = keep_target_mouth
        # the mirror image, used only where it shows a triangle better than the donor itself
        self.reliability = donor_reliability(donor, lms, self.donor_skin, self.mesh)
        self.weights: np.ndarray | None = None
        self.paste: np.ndarray | None = None  # per triangle: 0 where the donor's skin is covered on both sides
        if mirror:
            flipped = np.ascontiguousarray(self.donor_rgba[:, ::-1])
            flipped_lms = mirror_landmarks(lms, donor.shape[1])
            mirrored = donor_reliability(flipped[..., :3], flipped_lms, self.donor_skin, self.mesh)
            weights = mirror_weights(self.reliability, mirrored)
            if (weights < 0.99).any():
                self.weights = weights
                self.mirror_donor = flipped
                self.mirror_points = face_points(flipped_lms)
            clear = np.maximum(donor_clear(donor, lms, self.donor_skin, self.mesh),
                               donor_clear(flipped[..., :3], flipped_lms, self.donor_skin, self.mesh))
            # the frame may show through only on the lower face (a microphone or a hand at the chin): above
            # the nose tip, the frame's own eyes, brows and glasses would show through the donor face as
            # ghosts, and a doubtful donor triangle there (a dark eye socket read as "covered") looks far
            # better pasted than a glimpse of the subject
            tpl = self.mesh.points
            lower = (tpl[self.triangles][..., 1] > tpl[NOSE_TIP, 1]).all(axis=1)
            clear = np.where(lower, clear, 1.0)
            if (clear < 0.99).any():
                self.paste = clear

    def apply(self, frame: Image, landmarks: np.ndarray, frame_landmarks: np.ndarray | None = None) -> Image:
        """The donor face warped onto ``landmarks`` and blended into ``frame`` (a copy); frames without a
        valid face come back unchanged. ``frame_landmarks``: where the frame's face really is, when
        ``landmarks`` moved its features (`headswapbench.reshape`): the frame's own face is first warped to
        ``landmarks`` too, so the eyes and mouth it shows through sit where the donor's features do."""
        if not _valid(np.asarray(landmarks)):
            return frame.copy()
        dst = face_points(landmarks)
        # front-facing triangles only, far to near (MediaPipe z grows away from the camera)
        front = np.flatnonzero(_signed_area(dst, self.triangles) / self.mesh.area > 0)
        depth = face_depth(landmarks)[self.triangles[front]].mean(axis=1)
        raster = rasterise(dst, frame.shape[:2], self.triangles, front[np.argsort(-depth, kind="stable")])
        covered = raster.covered()
        if frame_landmarks is not None and _valid(np.asarray(frame_landmarks)):
            # inside the face mask only (its outline does not move): outside, the frame stays bit-exact; bicubic,
            # as the shift is small and sub-pixel: bilinear softened the clip's own eyes and mouth (the gate's blur)
            inside = covered & (face_mask(dst, frame.shape) > 0)
            own = remap(frame, face_points(frame_landmarks), raster, interpolation=cv2.INTER_CUBIC)
            frame = np.where(inside[..., None], own, frame)
        warped = remap(self.donor_rgba, self.src_points, raster)
        if self.weights is not None:
            other = remap(self.mirror_donor, self.mirror_points, raster)
            w = raster.per_triangle(self.weights, fill=1.0)
            k = max(3, int(0.04 * face_height(dst)) | 1)  # soften the seams between direct and mirrored
            w = cv2.GaussianBlur(w, (k, k), 0)[..., None]
            warped = np.clip(np.round(other + w * (warped.astype(np.float32) - other)), 0, 255).astype(np.uint8)
        warped, visible = np.ascontiguousarray(warped[..., :3]), warped[..., 3:].astype(np.float32) / 255
        if self.relight:
            plain = visible[..., 1] * plain_skin_weight(frame, landmarks, self.target_skin)
            lit = relight_to_frame(warped, frame, plain, RELIGHT_SIGMA * face_height(dst))
        else:
            lit = warped
        visible = np.ascontiguousarray(visible[..., 0])
        if self.paste is not None:  # covered on both sides (a microphone at the chin): the frame shows through
            k = max(3, int(0.04 * face_height(dst)) | 1)
            visible = visible * cv2.GaussianBlur(raster.per_triangle(self.paste, fill=1.0), (k, k), 0)
        mask = face_mask(dst, frame.shape, cut_mouth=self.keep_target_mouth)
        mask[~covered] = 0
        weight = visible
        if self.keep_target_openings:
            weight = weight * (1.0 - openings_alpha(dst, frame.shape))
        if self.target_skin is not None and self.donor_skin.count:  # the donor's skin test: on its own light
            weight = weight * hair_weight(warped, frame, dst, mask, self.donor_skin, self.target_skin)
        return blend(lit, frame, mask, mode=self.blend_mode, weight=weight)


def face_onto_frame(
    frame: Image,
    frame_landmarks: np.ndarray,
    donor: Image,
    donor_landmarks: np.ndarray,
    *,
    colour: bool = True,
    hair_gate: bool = True,
    blend_mode: str = "feather",
    keep_target_mouth: bool = True,
    mirror: bool = True,
    relight: bool = True,
    keep_target_openings: bool = True,
) -> Image:
    """Put the donor's face onto one frame, following the frame's landmarks (colour matched to the frame); the
    options are `face_onto_video`'s. One frame has no neutral face to measure, so its proportions stay its own
    (no ``reshape``)."""
    if not _valid(np.asarray(frame_landmarks)):
        return frame.copy()
    pts = np.asarray(frame_landmarks, dtype=np.float64)[:478, :2]
    stats = colour_stats(frame, stats_mask(pts, frame.shape))
    transfer = FaceTransfer(donor, donor_landmarks, target_stats=stats if stats.count else None,
                            target_face_height=face_height(pts), colour=colour, hair_gate=hair_gate,
                            blend_mode=blend_mode, keep_target_mouth=keep_target_mouth, mirror=mirror,
                            relight=relight, keep_target_openings=keep_target_openings)
    return transfer.apply(frame, frame_landmarks)


def smooth_landmarks(landmarks: np.ndarray, sigma: float) -> np.ndarray:
    """Centred Gaussian smoothing over time (``sigma`` in frames) within each run of frames with a face;
    runs are never smoothed across a gap, and frames without a face stay NaN. Removes detector jitter
    without the lag of a causal filter."""
    out = np.array(landmarks, dtype=np.float64, copy=True)
    if sigma <= 0 or len(out) < 2:
        return out
    from scipy.ndimage import gaussian_filter1d

    valid = np.isfinite(out[:, :478, :2]).all(axis=(1, 2))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(int), [0]])))
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start > 1:
            out[start:stop] = gaussian_filter1d(out[start:stop], sigma, axis=0, mode="nearest")
    return out


def clip_colour_stats(frames: np.ndarray, landmarks: np.ndarray, max_frames: int = 8) -> ColourStats | None:
    """Skin statistics of a clip pooled over up to ``max_frames`` face frames spread over the whole clip."""
    valid = np.flatnonzero(np.isfinite(landmarks[:, :478, :2]).all(axis=(1, 2)))
    if not len(valid):
        return None
    picks = valid[np.unique(np.linspace(0, len(valid) - 1, min(max_frames, len(valid))).round().astype(int))]
    stats = [colour_stats(frames[t], stats_mask(landmarks[t], frames[t].shape)) for t in picks]
    try:
        return ColourStats.pool(stats)
    except ValueError:
        return None


def engine_steps(what: str, relight: bool = True, keep_target_openings: bool = True, reshape: bool = True) -> dict:
    """The optional steps of `face_onto_video` as plug-in options (the warp editor's and the warp swapper's),
    each read as a strict on/off value (`headswapbench.options.option_flag`)."""
    from .options import option_flag

    steps = {"relight": relight, "keep_target_openings": keep_target_openings, "reshape": reshape}
    return {name: option_flag(value, name, what) for name, value in steps.items()}


def face_onto_video(
    video: Video,
    video_landmarks: np.ndarray,
    donor: Image,
    donor_landmarks: np.ndarray,
    *,
    progress: bool = True,
    smooth_sigma: float = 1.0,
    colour: bool = True,
    hair_gate: bool = True,
    blend_mode: str = "feather",
    keep_target_mouth: bool = True,
    mirror: bool = True,
    relight: bool = True,
    keep_target_openings: bool = True,
    reshape: bool = True,
) -> Video:
    """Put the donor's face onto every frame of ``video`` following ``video_landmarks`` [T, 478, 2|3]
    (NaN rows where there is no face: those frames pass through unchanged). Same frame count, size, fps.

    Colour is transferred once per clip and landmarks are smoothed lightly over time, so the pasted face
    does not flicker. ``colour``: recolour the donor to the clip's skin; ``hair_gate``: paste the forehead
    only skin over skin; ``keep_target_mouth``: show the clip's own mouth interior (see module docstring);
    ``mirror``: borrow the donor's mirrored side where it shows a triangle better; ``relight``: the frame's
    shading on the pasted face; ``keep_target_openings``: the clip's own eyeballs, lash lines and nostrils
    (see `FaceTransfer`);
    ``reshape``: the clip's eyes, brows, nose and mouth moved to where the donor's sit in its face
    (`headswapbench.reshape`), so the proportions change with the face."""
    from tqdm.auto import tqdm

    lms = np.asarray(video_landmarks, dtype=np.float64)
    if lms.ndim != 3 or lms.shape[0] != video.num_frames or lms.shape[1] < 478 or lms.shape[2] < 2:
        raise ValueError(
            f"video_landmarks must be [T={video.num_frames}, 478, 2|3], got {tuple(lms.shape)}"
        )
    _check_donor(donor, donor_landmarks)
    lms = smooth_landmarks(lms, smooth_sigma)
    valid = np.isfinite(lms[:, :478, :2]).all(axis=(1, 2))
    frames = video.frames.copy()
    if not valid.any():
        return Video(frames, video.fps)
    heights = [face_height(lms[t]) for t in np.flatnonzero(valid)]
    stats = clip_colour_stats(video.frames, lms)
    transfer = FaceTransfer(donor, donor_landmarks, target_stats=stats, target_face_height=float(np.median(heights)),
                            colour=colour, hair_gate=hair_gate, blend_mode=blend_mode,
                            keep_target_mouth=keep_target_mouth, mirror=mirror, relight=relight,
                            keep_target_openings=keep_target_openings)
    moved = None
    if reshape:
        from .reshape import reshape_landmarks, shape_offsets

        found = shape_offsets(donor_landmarks, lms)
        if found is not None:
            moved = reshape_landmarks(lms, found[0])
    for t in tqdm(np.flatnonzero(valid), desc="warp face", unit="frame", disable=not progress, leave=False):
        if moved is None:
            frames[t] = transfer.apply(video.frames[t], lms[t])
        else:
            frames[t] = transfer.apply(video.frames[t], moved[t], frame_landmarks=lms[t])
    return Video(frames, video.fps)
