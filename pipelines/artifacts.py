"""Artifact gate: is an edited clip V_c visibly broken inside the face, whatever editor made it?

Sync and identity scores cannot see a smear: a dark patch over half the face, ghosted double eyes, a blurred
or melted face or erased brows keep the landmarks where they were. So the filter also compares V_c with V_a
*inside the face*, with measures that a legitimately different face passes: each one judges V_c against its
own frame first (its own skin colour, its own features) and only then against V_a.

Every sampled frame of both clips is brought to one canonical face frame (a similarity fit of its own rigid
landmarks onto the face template, 128 px high), so the same regions mean the same parts of the face in both
clips. Per clip pair (median over the sampled frames):

| score | what it measures | broken when |
|---|---|---|
| ``hole_patch`` | worst plain-skin cell (4 × 4; eyes, brows, lips, nostrils masked) by share of near-black pixels (< 0.35 × the skin median), V_c minus V_a | holes, black patches |
| ``dark_patch`` | the same with dark pixels (< 0.6 × the skin's 75th percentile, which half a face in shadow cannot pull down) | dark smears |
| ``patch_delta_e`` | worst cell's colour distance (ΔE76) from the frame's own skin median, V_c minus V_a | regions off the face's colour |
| ``chroma_ratio`` / ``contrast_ratio`` | skin chroma / brightness IQR inside the face, V_c / V_a | washed-out, grey skin |
| ``sharpness_ratio`` | mean gradient magnitude inside the face, V_c / V_a | blur (low) or noise (high) |
| ``structure`` | normalised cross-correlation of the two faces' band-pass images (G₁ − G₃), V_c registered to V_a's features plus the one static offset between the faces, at V_c's own head pose, both then aligned feature by feature (`_registered`: a new identity's other proportions are not lost structure, a drifting melt still is) | ghosting, melted or shredded structure |
| ``feature_presence`` | weakest of brows, eyes, mouth: its share of the face's fine structure or its darkness against the skin around it, V_c / V_a | erased brows, missing features |
| ``flicker`` | band-pass change between consecutive frames inside the face, V_c / V_a (motion aligned away) | flicker, boiling texture |
| ``side_dark`` | worst skin cell's brightness against its left-right mirror cell, V_c's ratio below V_a's (relative) | one-sided dark smears (a shade from temple to cheek) |
| ``texture_ratio`` | RMS fine detail (gray − G₂) on plain skin only, V_c / V_a | mottled, noisy skin (only the extreme is caught: see docs/build.md) |
| ``occluder_remnant`` | share of the eye band (brows to nose tip) where V_a shows an occluder, chroma per lightness < 0.6 × its skin's, and V_c still shows it, < 0.8 × its own skin's (`relative_warmth`) | ghosted glasses, a subject's hair or frame left showing through the new face (an unedited glasses-wearer fails it too; the identity check rejects that pair anyway) |
| ``blotch_patch`` | share of plain skin in brown blotches (darker than 0.8 × the lit skin next to it and 1.15 × warmer than the skin around it; `blotch_share`), V_c minus V_a | blotchy skin: brown patches, freckle clusters, mottle (the mid scales ``texture_ratio`` cannot see) |

Each score has a limit (`ArtifactSettings`, calibrated on real clips of ../shared/data against edits broken on
purpose, `break_edit`: docs/build.md, "Artifact gate: calibration", reproduced by
``python -m benchmarks.bench_artifacts calibrate``). ``artifact_score`` is the worst score as a fraction of
its limit (≥ 1: rejected as ``edit_artifact``, ``artifact_check`` says which), so clips sort by how close they
are to broken.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

CANON = 128  # side of the canonical face frame, pixels
_SCALE = 56.0  # pixels per inter-ocular distance in the canonical frame (the face is ≈ 106 px high)
_CENTRE = (64.0, 66.0)  # where the template origin lands
GRID = 4  # skin cells per side for patch_delta_e
NOSE_BOTTOM = [1, 2, 19, 44, 64, 79, 97, 98, 99, 166, 219, 240, 274, 294, 309, 326, 327, 328, 392, 439, 460]


@dataclass(frozen=True)
class ArtifactSettings:
    """Limits of the artifact gate (docs/build.md, "Artifact gate: calibration", gives the measurements)."""

    max_hole_patch: float = 0.15
    max_dark_patch: float = 0.35
    max_patch_delta_e: float = 8.0
    min_chroma_ratio: float = 0.7
    min_contrast_ratio: float = 0.5
    min_sharpness_ratio: float = 0.85
    max_sharpness_ratio: float = 2.0
    min_structure: float = 0.5  # registered faces: clean v5 edits 0.54–0.92, melted median 0.47 (docs/build.md)
    min_feature_presence: float = 0.45
    max_flicker: float = 3.0
    max_side_dark: float = 0.30
    max_texture_ratio: float = 2.5
    max_blotch_patch: float = 0.04  # v4 warp edits (retouched donor): clean ≤ 0.008 (docs/build.md)
    max_occluder_remnant: float = 0.01
    samples: int = 8  # frames sampled per clip (each with its successor, for flicker)

    def limits(self) -> dict[str, tuple[str, str, float]]:
        """check → (score, 'max' | 'min', limit)."""
        return {
            "hole_patch": ("hole_patch", "max", self.max_hole_patch),
            "dark_patch": ("dark_patch", "max", self.max_dark_patch),
            "patch_delta_e": ("patch_delta_e", "max", self.max_patch_delta_e),
            "chroma_ratio": ("chroma_ratio", "min", self.min_chroma_ratio),
            "contrast_ratio": ("contrast_ratio", "min", self.min_contrast_ratio),
            "blur": ("sharpness_ratio", "min", self.min_sharpness_ratio),
            "noise": ("sharpness_ratio", "max", self.max_sharpness_ratio),
            "structure": ("structure", "min", self.min_structure),
            "feature_presence": ("feature_presence", "min", self.min_feature_presence),
            "flicker": ("flicker", "max", self.max_flicker),
            "side_dark": ("side_dark", "max", self.max_side_dark),
            "mottled": ("texture_ratio", "max", self.max_texture_ratio),
            "blotchy": ("blotch_patch", "max", self.max_blotch_patch),
            "occluder": ("occluder_remnant", "max", self.max_occluder_remnant),
        }


# ------------------------------------------------------------------------------------ the canonical frame
@dataclass(frozen=True)
class CanonicalRegions:
    """Masks in the canonical face frame (bool [CANON, CANON]), built once from the face template."""

    face: np.ndarray  # the face oval (no forehead extension: every editor changes at least this)
    skin: np.ndarray  # plain skin: oval shrunk by 15 %, without eyes, brows, lips (dilated) and nostrils
    cells: list[np.ndarray]  # skin split into a GRID × GRID grid over the face box (cells with enough pixels)
    mirror_pairs: list[tuple[int, int]]  # (cell, its left-right mirror cell) index pairs into ``cells``
    features: dict[str, tuple[np.ndarray, np.ndarray]]  # name → (feature mask, surrounding skin ring)
    template: np.ndarray  # [478, 2] template landmarks in canonical pixels
    eye_band: np.ndarray  # brows to nose tip, where glasses sit: oval shrunk 5 %, without eyes, brows, lips


def _to_canon(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, np.float64)[:, :2] * _SCALE + np.asarray(_CENTRE)


@lru_cache(maxsize=1)
def canonical_regions() -> CanonicalRegions:
    import cv2

    from headswapbench import warp as W
    from headswapbench.face import topology as topo
    from headswapbench.face.pose import load_template

    tpl = _to_canon(load_template().landmarks)
    shape = (CANON, CANON)

    def poly(idx, grow: float = 1.0) -> np.ndarray:
        p = tpl[idx]
        c = p.mean(axis=0)
        m = np.zeros(shape, np.uint8)
        cv2.fillPoly(m, [np.round((c + grow * (p - c)) * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
        return m > 0

    def dilate(m: np.ndarray, r: int) -> np.ndarray:
        return cv2.dilate(m.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0

    face = poly(topo.FACE_OVAL)
    right_brow, left_brow = poly(W.RIGHT_BROW_RING), poly(W.LEFT_BROW_RING)
    right_eye, left_eye = poly(topo.RIGHT_EYE), poly(topo.LEFT_EYE)
    mouth = poly(topo.OUTER_LIPS)
    features_all = right_brow | left_brow | right_eye | left_eye | mouth
    # the nostrils and the shadow under the nose: dark on every face, by how much is identity
    nostrils = np.zeros(shape, bool)
    for i in NOSE_BOTTOM:
        x, y = np.round(tpl[i]).astype(int)
        nostrils[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3] = True
    nostrils = dilate(nostrils, 3)
    skin = poly(topo.FACE_OVAL, 0.85) & ~dilate(features_all, 4) & ~nostrils
    ys, xs = np.nonzero(face)
    y_edges = np.linspace(ys.min(), ys.max() + 1, GRID + 1)
    x_edges = np.linspace(xs.min(), xs.max() + 1, GRID + 1)
    yy, xx = np.mgrid[0:CANON, 0:CANON]
    cells, where = [], {}
    for i in range(GRID):
        for j in range(GRID):
            c = skin & (yy >= y_edges[i]) & (yy < y_edges[i + 1]) & (xx >= x_edges[j]) & (xx < x_edges[j + 1])
            if c.sum() >= 40:
                where[(i, j)] = len(cells)
                cells.append(c)
    pairs = [(k, where[(i, GRID - 1 - j)]) for (i, j), k in where.items() if (i, GRID - 1 - j) in where and j != GRID - 1 - j]
    features = {}
    for name, m, r in (("right_brow", right_brow, 3), ("left_brow", left_brow, 3), ("right_eye", right_eye, 2),
                       ("left_eye", left_eye, 2), ("mouth", mouth, 2)):
        grown = dilate(m, r)
        ring = dilate(grown, 5) & ~dilate(features_all, 2) & face
        features[name] = (grown, ring)
    yy = np.mgrid[0:CANON, 0:CANON][0]
    eye_band = (poly(topo.FACE_OVAL, 0.95) & ~dilate(right_eye | left_eye, 2) & ~dilate(right_brow | left_brow, 1)
                & ~dilate(mouth, 2) & (yy > tpl[W.RIGHT_BROW_RING, 1].max()) & (yy < tpl[topo.NOSE_TIP, 1] + 4))
    return CanonicalRegions(face, skin, cells, pairs, features, tpl, eye_band)


def align_face(frame: np.ndarray, landmarks: np.ndarray, per_feature: bool = False) -> np.ndarray | None:
    """The frame warped so its face (a similarity fit of the rigid landmarks) sits in the canonical frame:
    uint8 [CANON, CANON, 3]; None without a valid face.

    ``per_feature``: inside the face mesh each triangle is mapped onto the template's instead (piecewise
    affine), so every feature lands on the template's place wherever it sits in this face. The `structure`
    check compares faces so: a new identity has other proportions (the warp editor moves the features to the
    donor's, a generative editor draws them elsewhere), and after a similarity fit its displaced eyes and
    brows read as lost structure. The other checks keep the similarity fit: a ghost of the clip's glasses
    sits where the clip's were, not where the edit's features moved."""
    import cv2

    from headswapbench import warp as W
    from headswapbench.face.pose import load_template
    from headswapbench.video import resize_image

    lms = np.asarray(landmarks, np.float64)
    if lms.shape[0] < 478 or not np.isfinite(lms[:478, :2]).all():
        return None
    tpl = load_template()
    idx = tpl.rigid
    src = lms[idx, :2]
    dst = _to_canon(tpl.landmarks[idx])
    m, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    if m is None:
        return None
    scale = float(np.hypot(m[0, 0], m[0, 1]))
    img, points = frame, lms[:478, :2]
    if scale < 0.5:  # a large face: shrink it first so the warp does not alias, and fit again on the shrunk one
        f = min(1.0, 2 * scale)
        img = resize_image(frame, (max(1, round(frame.shape[1] * f)), max(1, round(frame.shape[0] * f))))
        points = (points + 0.5) * (img.shape[1] / frame.shape[1], img.shape[0] / frame.shape[0]) - 0.5  # pixel centres
        m, _ = cv2.estimateAffinePartial2D(points[idx], dst, method=cv2.LMEDS)
        if m is None:
            return None
    out = cv2.warpAffine(img, m, (CANON, CANON), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if not per_feature:
        return out
    mesh, covered = W.warp_image(img, W.face_points(points), _canonical_face_points(), out.shape,
                                 W.canonical_mesh().triangles)
    out[covered] = mesh[covered]
    return out


@lru_cache(maxsize=1)
def _canonical_face_points() -> np.ndarray:
    from headswapbench import warp as W
    from headswapbench.face.pose import load_template

    return W.face_points(_to_canon(load_template().landmarks))


# ------------------------------------------------------------------------------------------ measures
def detail_ratio(gray: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Fine-to-mid detail energy of a grey image: E|g − G₁g|² / E|G₁g − G₃g|² (Gᵥ: Gaussian blur of σ = v
    px), inside ``mask``. Blur removes the finest scale first, so the ratio falls with blur whatever the
    content; the absolute Laplacian energy would instead rank smooth skin as blurry."""
    import cv2

    g = np.asarray(gray, np.float32)
    g1 = cv2.GaussianBlur(g, (0, 0), 1.0)
    g3 = cv2.GaussianBlur(g, (0, 0), 3.0)
    sel = np.ones(g.shape, bool) if mask is None else np.asarray(mask) > 0
    if not sel.any():
        return float("nan")
    fine = float(np.mean(np.square(g - g1)[sel]))
    mid = float(np.mean(np.square(g1 - g3)[sel]))
    return fine / max(mid, 1e-6)


def _hog(gray: np.ndarray, mask: np.ndarray, cell: int = 8, bins: int = 9) -> np.ndarray:
    """Gradient-orientation histograms (unsigned, magnitude-weighted) of the cells mostly inside ``mask``,
    each cell L2-normalised, concatenated: the layout of the face's edges, not their strength."""
    import cv2

    g = np.asarray(gray, np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy) * mask
    ang = (np.arctan2(gy, gx) % np.pi) / np.pi * bins
    b = np.minimum(ang.astype(int), bins - 1)
    n = CANON // cell
    hist = np.zeros((n, n, bins), np.float64)
    cy, cx = np.mgrid[0:CANON, 0:CANON] // cell
    np.add.at(hist, (cy.ravel(), cx.ravel(), b.ravel()), mag.ravel())
    inside = mask.reshape(n, cell, n, cell).mean(axis=(1, 3)) > 0.5
    h = hist[inside]
    return (h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-6)).ravel()


def _bandpass(gray: np.ndarray) -> np.ndarray:
    """The face's structure at the scale of eyelids, lips and nostrils: G(σ=1) − G(σ=3), canonical pixels."""
    import cv2

    return cv2.GaussianBlur(gray, (0, 0), 1.0) - cv2.GaussianBlur(gray, (0, 0), 3.0)


BLOTCH_DARK = 0.8  # a blotch is at most this fraction of the lit skin next to it ...
BLOTCH_WARM = 1.15  # ... and at least this many times the chroma per lightness around it (brown, not a shadow)
BLOTCH_REACH = 6  # canonical px (≈ 6 % of the face height): how far "next to it" reaches


def blotch_share(lab: np.ndarray, skin: np.ndarray) -> float:
    """Share of plain skin inside brown blotches (CIE-LAB ``lab``, canonical frame): where the skin (blurred
    within ``skin``, σ = 1 px) is darker than `BLOTCH_DARK` × the lit skin within `BLOTCH_REACH` (the
    brightest of the σ = 2 px skin there, smoothed: blotches next to each other cannot darken their own
    reference) *and* warmer, its chroma per lightness above `BLOTCH_WARM` × that of the skin around it
    (σ = 8 px). Freckle clusters, brown patches and mottle of 2-10 % of the face height count; a shadow
    (darker but not browner), the face's smooth shading and a thin crease hardly do."""
    import cv2

    from headswapbench.warp import masked_blur

    lum = lab[..., 0]
    warmth = np.hypot(lab[..., 1], lab[..., 2]) / np.maximum(lum, 1.0)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * BLOTCH_REACH + 1,) * 2)
    lit = cv2.dilate(np.where(skin, masked_blur(lum, skin, 2.0), 0).astype(np.float32), disk)
    dark = masked_blur(lum, skin, 1.0) < BLOTCH_DARK * masked_blur(lit, skin, BLOTCH_REACH / 2)
    warm = masked_blur(warmth, skin, 1.0) > BLOTCH_WARM * masked_blur(warmth, skin, 8.0)
    return float(np.mean((dark & warm)[skin]))


OCCLUDER_NEUTRAL = 0.6  # V_a: chroma per lightness below this × the skin around it: not skin (a frame, hair)
REMNANT_NEUTRAL = 0.8  # V_c: still below this × its own skin's: the occluder shows through
SKIN_WARMTH_MIN = 0.03  # skin chroma per lightness below this (≈ a tenth of real skin's): grey footage


def relative_warmth(lab: np.ndarray, reg: CanonicalRegions) -> np.ndarray:
    """Chroma per lightness (σ = 0.7 px, within the eye band) over that of the plain skin around it (σ = 8 px),
    on the eye band's pixels. Skin, lit or shaded, is ≈ 1; glasses frames (metal, black or clear plastic) and
    hair are neutral against it, < 1."""
    from headswapbench.warp import masked_blur

    warmth = np.hypot(lab[..., 1], lab[..., 2]) / np.maximum(lab[..., 0], 1.0)
    near = masked_blur(warmth, reg.eye_band, 0.7)
    around = masked_blur(warmth, reg.skin, 8.0)
    # grey footage has no skin chroma to stand out from: no occluder can be seen, so none is reported
    return np.where(around > SKIN_WARMTH_MIN, near / np.maximum(around, SKIN_WARMTH_MIN), 1.0)[reg.eye_band]


def frame_measures(face: np.ndarray, nxt: np.ndarray | None = None, features_aligned: np.ndarray | None = None
                   ) -> dict[str, Any]:
    """Per-frame raw measures of one aligned face (uint8 [CANON, CANON, 3]); ``nxt``: the next frame aligned
    with the same fit, for flicker; ``features_aligned``: the same frame aligned feature by feature
    (`align_face(per_feature=True)`), whose fine structure `structure` compares (default: ``face``).
    Comparisons with the other clip happen in `compare`."""
    import cv2

    reg = canonical_regions()
    lab = cv2.cvtColor(face.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    lum = lab[..., 0]
    skin_lab = lab[reg.skin]
    skin_med = np.median(skin_lab, axis=0)
    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY).astype(np.float32)
    band = _bandpass(gray)
    energy = np.abs(band)
    face_energy = max(float(energy[reg.face].mean()), 1e-3)
    # dark relative to the face's own lit skin (P75: a smear over half the face cannot drag it down), and
    # near-black relative to its median skin (holes)
    p75 = float(np.percentile(skin_lab[:, 0], 75))
    dark = lum < 0.6 * p75
    hole = lum < 0.35 * skin_med[0]
    q75, q25 = np.percentile(lum[reg.face], [75, 25])
    features = {}
    for name, (m, ring) in reg.features.items():
        around = float(np.median(lum[ring])) if ring.any() else float(skin_med[0])
        features[name] = {"detail": float(energy[m].mean()) / face_energy,
                          "dark": max(around - float(np.percentile(lum[m], 20)), 0.0) / max(around, 1.0)}
    # skin texture: band-pass energy on plain skin only (features excluded), mottling and blotches
    fine = gray - cv2.GaussianBlur(gray, (0, 0), 2.0)
    out = {
        "cell_lum": [float(np.median(lum[c])) for c in reg.cells],
        "skin_texture": float(np.sqrt(np.mean(np.square(fine[reg.skin])))),
        "blotch": blotch_share(lab, reg.skin),
        "warmth": relative_warmth(lab, reg),
        "cell_dark": [float(dark[c].mean()) for c in reg.cells],
        "cell_hole": [float(hole[c].mean()) for c in reg.cells],
        "cell_colour": [float(np.linalg.norm(lab[c].mean(axis=0) - skin_med)) for c in reg.cells],
        "chroma": float(np.median(np.hypot(skin_lab[:, 1], skin_lab[:, 2]))),
        "contrast": float(q75 - q25),
        "sharpness": float(np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))[reg.face].mean()),
        "band": (band if features_aligned is None else
                 _bandpass(cv2.cvtColor(features_aligned, cv2.COLOR_RGB2GRAY).astype(np.float32)))[reg.face],
        "features": features,
    }
    if nxt is not None:
        nb = _bandpass(cv2.cvtColor(nxt, cv2.COLOR_RGB2GRAY).astype(np.float32))
        out["change"] = float(np.abs(nb - band)[reg.face].mean())
    return out


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / max(np.sqrt((a * a).sum() * (b * b).sum()), 1e-6))


def compare(driving: list[dict], target: list[dict]) -> dict[str, Any]:
    """Clip-level scores from per-frame measures of V_c (``driving``) and V_a (``target``), same frames."""
    def med(values) -> float:
        return float(np.median(values))

    def ratio(key: str, floor: float) -> float:
        return med([r[key] for r in driving]) / max(med([r[key] for r in target]), floor)

    dark_c, dark_a = np.array([r["cell_dark"] for r in driving]), np.array([r["cell_dark"] for r in target])
    col_c, col_a = np.array([r["cell_colour"] for r in driving]), np.array([r["cell_colour"] for r in target])
    # presence of each feature in V_c against V_a: its share of the face's fine structure, or its darkness
    # against the skin around it, whichever holds up better (a new identity's brows may be lighter but still
    # drawn, or fainter but still dark); the weakest feature counts
    presence = {}
    for name in driving[0]["features"]:
        rel = [med([r["features"][name][k] for r in driving]) / max(med([r["features"][name][k] for r in target]), floor)
               for k, floor in (("detail", 0.2), ("dark", 0.03))]
        presence[name] = max(rel)
    weakest = min(presence, key=presence.get)
    hole_c, hole_a = np.array([r["cell_hole"] for r in driving]), np.array([r["cell_hole"] for r in target])
    # one-sided darkening: each skin cell's brightness against its left-right mirror cell, V_c's ratio below
    # V_a's (a face lit from one side has the same asymmetry in both clips; a smear has it in V_c only)
    pairs = canonical_regions().mirror_pairs
    if pairs:
        a_idx, b_idx = np.array(pairs).T
        lum_c, lum_a = np.array([r["cell_lum"] for r in driving]), np.array([r["cell_lum"] for r in target])
        ratio_c = lum_c[:, a_idx] / np.maximum(lum_c[:, b_idx], 1.0)
        ratio_a = lum_a[:, a_idx] / np.maximum(lum_a[:, b_idx], 1.0)
        side_dark = med(np.max(np.maximum(ratio_a - ratio_c, 0.0) / np.maximum(ratio_a, 1e-3), axis=1))
    else:
        side_dark = 0.0
    scores: dict[str, Any] = {
        "hole_patch": med(np.max(hole_c - hole_a, axis=1)),
        "dark_patch": med(np.max(dark_c - dark_a, axis=1)),
        "patch_delta_e": med(np.max(col_c - col_a, axis=1)),
        "chroma_ratio": ratio("chroma", 2.0),
        "contrast_ratio": ratio("contrast", 2.0),
        "sharpness_ratio": ratio("sharpness", 1.0),
        "side_dark": side_dark,
        "texture_ratio": ratio("skin_texture", 0.5),
        "blotch_patch": med([r["blotch"] for r in driving]) - med([r["blotch"] for r in target]),
        # V_a's occluders (neutral against its skin) that V_c still shows neutral against its own skin
        "occluder_remnant": med([np.mean((a["warmth"] < OCCLUDER_NEUTRAL) & (c["warmth"] < REMNANT_NEUTRAL))
                                 for c, a in zip(driving, target)]),
        "structure": med([_ncc(c["band"], a["band"]) for c, a in zip(driving, target)]),
        "feature_presence": float(presence[weakest]),
        "weakest_feature": weakest,
    }
    if all("change" in r for r in driving + target):
        scores["flicker"] = ratio("change", 0.3)
    return scores


def badness(scores: dict[str, Any], s: ArtifactSettings) -> dict[str, float]:
    """Each score as a fraction of its limit (≥ 1: over the limit). 'min' limits use limit / value."""
    out = {}
    for key, (name, kind, limit) in s.limits().items():
        v = scores.get(name)
        if v is None or not np.isfinite(v):
            out[key] = float("inf")  # a score that cannot be computed cannot vouch for the clip
        elif kind == "max":
            out[key] = max(v, 0.0) / limit
        else:
            out[key] = limit / max(v, 1e-6)
    return out


# -------------------------------------------------------------------------------------------- the gate
def sample_frames(num_frames: int, found_a: np.ndarray, found_c: np.ndarray, samples: int) -> list[int]:
    """Up to ``samples`` frame indices t spread over the clip where both clips have a face at t and t + 1."""
    both = np.asarray(found_a, bool)[:num_frames] & np.asarray(found_c, bool)[:num_frames]
    ok = np.flatnonzero(both[:-1] & both[1:]) if num_frames > 1 else np.flatnonzero(both)
    if not len(ok):
        return []
    pick = np.unique(np.linspace(0, len(ok) - 1, min(samples, len(ok))).round().astype(int))
    return [int(i) for i in ok[pick]]


def artifact_scores(target_path, driving_path, target, driving, s: ArtifactSettings | None = None) -> dict[str, Any]:
    """Every artifact score for one pair (paths to V_a and V_c, and their ClipAnalysis), plus
    ``artifact_score`` (the worst badness) and ``artifact_check`` (which score it is)."""
    from headswapbench.video import probe, read_frames

    s = s or ArtifactSettings()
    n = min(target.num_frames, driving.num_frames)
    picks = sample_frames(n, target.face_found, driving.face_found, s.samples)
    if not picks:
        return {"artifact_score": None, "artifact_check": "no_frames"}
    idx = sorted({t for p in picks for t in (p, p + 1) if t < n})
    frames = {}
    for name, path in (("target", target_path), ("driving", driving_path)):
        info = probe(path)
        frames[name] = dict(zip(idx, read_frames(path, idx, info)))
    rows: dict[str, list[dict]] = {"target": [], "driving": []}
    registered = {"target": target.landmarks, "driving": _registered(target.landmarks, driving.landmarks, picks)}
    for t in picks:
        for name, analysis in (("target", target), ("driving", driving)):
            face = align_face(frames[name][t], analysis.landmarks[t])
            nxt = align_face(frames[name][t + 1], analysis.landmarks[t]) if t + 1 in frames[name] else None
            if face is None:
                break
            by_feature = align_face(frames[name][t], registered[name][t], per_feature=True)
            rows[name].append(frame_measures(face, nxt, by_feature))
        if len(rows["target"]) != len(rows["driving"]):
            rows["target"] = rows["target"][: len(rows["driving"])]
            rows["driving"] = rows["driving"][: len(rows["target"])]
    if not rows["driving"]:
        return {"artifact_score": None, "artifact_check": "no_frames"}
    scores = compare(rows["driving"], rows["target"])
    bad = badness(scores, s)
    worst = max(bad, key=bad.get)
    out: dict[str, Any] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in scores.items()}
    out["artifact_score"] = round(bad[worst], 4) if np.isfinite(bad[worst]) else None
    out["artifact_check"] = worst
    out["artifact_frames"] = len(rows["driving"])
    return out


def _registered(target_lms: np.ndarray, driving_lms: np.ndarray, picks: list[int]) -> np.ndarray:
    """Where V_c's features should sit in each of ``picks`` for the `structure` check: V_a's frontalised face
    plus the one static offset between the two (the median over ``picks`` of V_c minus V_a, frontalised,
    `headswapbench.reshape`), put where V_c's own outline is. A new identity's other proportions are static
    and so registered away; a melting, drifting face is not, where V_c's own landmarks would follow the melt
    and hide it. Frames that cannot be registered keep V_c's own landmarks."""
    from headswapbench.reshape import frontalise, place

    a, c = np.asarray(target_lms, np.float64), np.array(driving_lms, dtype=np.float64, copy=True)
    dims = 3 if a.shape[-1] >= 3 and c.shape[-1] >= 3 else 2
    finite = [t for t in picks if np.isfinite(a[t, :478, :dims]).all() and np.isfinite(c[t, :478, :dims]).all()]
    frontal = {t: (frontalise(a[t, :478, :dims]), frontalise(c[t, :478, :dims])) for t in finite}
    diffs = [fc - fa for fa, fc in frontal.values() if fa is not None and fc is not None]
    if not diffs:
        return c
    static = np.median(np.stack(diffs), axis=0)
    for t, (fa, _) in frontal.items():
        moved = None if fa is None else place(fa + static, c[t, :478, :dims])
        if moved is not None:
            c[t, :478, :2] = moved[:, :2]
    return c


def artifact_verdict(scores: dict[str, Any], s: ArtifactSettings | None = None) -> str | None:
    """None when the edit looks clean, else the detail of the failed check(s) ('score value vs limit')."""
    s = s or ArtifactSettings()
    if scores.get("artifact_score") is None:
        return "no frame of both clips could be compared inside the face"
    bad = badness(scores, s)
    failed = [k for k, v in sorted(bad.items(), key=lambda kv: -kv[1]) if v >= 1.0]
    if not failed:
        return None
    limits = s.limits()
    parts = []
    for k in failed:
        name, kind, limit = limits[k]
        parts.append(f"{k}: {name} {scores.get(name)} {'>' if kind == 'max' else '<'} {limit}")
    return "; ".join(parts)


def settings_dict(s: ArtifactSettings) -> dict[str, Any]:
    return asdict(s)


# ----------------------------------------------------------------------- deliberately broken edits
BROKEN_KINDS = ("dark_smear", "side_shade", "ghost", "blur", "brows_erased", "washed_out", "melted", "holes", "blotchy")


def break_edit(frames: np.ndarray, landmarks: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """A clean edit broken on purpose, the way real editors break (the gate's calibration and tests):

    * ``dark_smear``: one half of the face darkened to 35 %, eyes and mouth still faintly showing through;
    * ``side_shade``: a soft brown shade from one temple down over that cheek, to 60 % brightness (what a
      donor's hair or shadowed temple warped onto the face looked like: subtle, one-sided, brows still there);
    * ``ghost``: the face blended half-and-half with itself shifted by 0.10 face heights: double features;
    * ``blur``: the face blurred (Gaussian, σ = 0.03 face heights);
    * ``brows_erased``: both brows painted over with the face's plain skin colour (and ``cv2.inpaint``);
    * ``washed_out``: the face pushed towards white with a third of its chroma;
    * ``melted``: a smooth random displacement of up to 0.10 face heights that drifts over the clip, plus
      noise (σ = 10 grey levels), as a diffusion model's melted, boiling face;
    * ``holes``: three dark holes of 0.1 face heights inside the face;
    * ``blotchy``: brown blotches of ≈ 0.05 face heights over the skin, up to 50 % darker (a smooth random
      field's peaks, fixed on the face: a donor's freckles and shadow patches, a diffusion model's mottle).

    ``frames`` [T, H, W, 3] uint8, ``landmarks`` [T, 478, 2|3] of the clean edit. Returns new frames."""
    import cv2

    from headswapbench import warp as W
    from headswapbench.face import topology as topo

    if kind not in BROKEN_KINDS:
        raise ValueError(f"unknown broken kind {kind!r}; kinds: {', '.join(BROKEN_KINDS)}")
    rng = np.random.default_rng(seed)
    out = np.array(frames, copy=True)
    T, H, Wd = out.shape[:3]
    side = rng.choice([-1.0, 1.0])
    fields = rng.standard_normal((2, 2, H, Wd)).astype(np.float32)  # the melt drifts between two fields
    holes = rng.uniform(-0.25, 0.25, (3, 2))
    if kind == "blotchy":  # drawn only here, so the other kinds' random draws stay as they were
        field = cv2.GaussianBlur(rng.standard_normal((256, 256)).astype(np.float32), (0, 0), 0.02 * 256)
        blotches = np.clip(field / max(float(field.std()), 1e-6) - 0.5, 0, 1)  # 256 px = one face height
    for t in range(T):
        lms = np.asarray(landmarks[t], np.float64)
        if not np.isfinite(lms[:478, :2]).all():
            continue
        pts = W.face_points(lms)
        fh = W.face_height(pts)
        frame = out[t]
        mask = cv2.GaussianBlur(W.face_mask(pts, frame.shape, forehead=False).astype(np.float32) / 255,
                                (0, 0), max(0.02 * fh, 1.0))[..., None]
        f = frame.astype(np.float32)
        if kind == "dark_smear":
            up = pts[topo.FOREHEAD_TOP] - pts[topo.CHIN]
            normal = np.array([up[1], -up[0]]) / max(np.linalg.norm(up), 1e-6)
            ys, xs = np.mgrid[0:H, 0:Wd]
            d = ((xs - pts[topo.NOSE_TIP, 0]) * normal[0] + (ys - pts[topo.NOSE_TIP, 1]) * normal[1]) * side
            half = np.clip(d / (0.05 * fh) + 0.5, 0, 1)[..., None].astype(np.float32)
            new = f * (1 - 0.65 * half * mask)
        elif kind == "side_shade":
            up = pts[topo.FOREHEAD_TOP] - pts[topo.CHIN]
            up = up / max(np.linalg.norm(up), 1e-6)
            normal = np.array([up[1], -up[0]])
            ys, xs = np.mgrid[0:H, 0:Wd]
            rel = np.stack([xs - pts[topo.NOSE_TIP, 0], ys - pts[topo.NOSE_TIP, 1]], -1) / fh
            u, v = (rel @ normal) * side, rel @ up  # u: towards the shaded side; v: up the face
            shade = np.clip((u - 0.08) / 0.08, 0, 1) * np.clip((v + 0.25) / 0.1, 0, 1)
            shade = cv2.GaussianBlur(shade.astype(np.float32), (0, 0), 0.03 * fh)[..., None]
            brown = np.array([0.62, 0.55, 0.48], np.float32)  # darker and warmer, as hair or a shadow
            new = f * (1 - shade * mask * (1 - brown))
        elif kind == "ghost":
            m = np.float32([[1, 0, 0.03 * fh], [0, 1, 0.10 * fh]])
            shifted = cv2.warpAffine(frame, m, (Wd, H), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
            new = f + mask * 0.5 * (shifted - f)
        elif kind == "blur":
            new = f + mask * (cv2.GaussianBlur(f, (0, 0), 0.03 * fh) - f)
        elif kind == "brows_erased":
            brows = np.zeros((H, Wd), np.uint8)
            for ring in (W.RIGHT_BROW_RING, W.LEFT_BROW_RING):
                brows = np.maximum(brows, W._fill(frame.shape, pts[ring]))
            r = max(1, int(0.04 * fh))
            brows = cv2.dilate(brows, np.ones((2 * r + 1, 2 * r + 1), np.uint8))
            # painted over with the face's own plain skin (a smooth fill, as a bad inpaint leaves)
            plain = W.stats_mask(lms, frame.shape) > 0
            skin = np.median(frame[plain], axis=0) if plain.any() else frame.reshape(-1, 3).mean(0)
            filled = cv2.inpaint(frame, brows, max(3, int(0.05 * fh)), cv2.INPAINT_TELEA).astype(np.float32)
            filled = 0.3 * filled + 0.7 * skin
            soft = cv2.GaussianBlur((brows > 0).astype(np.float32), (0, 0), max(0.01 * fh, 0.7))[..., None]
            new = f + soft * (filled - f)
        elif kind == "washed_out":
            lab = cv2.cvtColor(f / 255, cv2.COLOR_RGB2LAB)
            lab[..., 0] += 0.6 * (95 - lab[..., 0])
            lab[..., 1:] *= 0.33
            washed = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB) * 255
            new = f + mask * (washed - f)
        elif kind == "melted":
            s = 0.10 * fh
            w = 0.5 - 0.5 * np.cos(np.pi * t / max(T - 1, 1))
            field = ((1 - w) * fields[0] + w * fields[1]).astype(np.float32)
            dx = cv2.GaussianBlur(field[0], (0, 0), 0.08 * fh)
            dy = cv2.GaussianBlur(field[1], (0, 0), 0.08 * fh)
            norm = max(float(np.abs(np.stack([dx, dy])).max()), 1e-6)
            ys, xs = np.mgrid[0:H, 0:Wd].astype(np.float32)
            map_x, map_y = (xs + dx / norm * s).astype(np.float32), (ys + dy / norm * s).astype(np.float32)
            warped = cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
            warped = warped.astype(np.float32)
            warped += rng.normal(0, 10.0, warped.shape).astype(np.float32)
            new = f + mask * (warped - f)
        elif kind == "blotchy":
            # the field sampled in face coordinates (nose tip origin, face heights), so blotches stay on the skin
            ys, xs = np.mgrid[0:H, 0:Wd]
            u = (((xs - pts[topo.NOSE_TIP, 0]) / fh + 0.5) * 256).astype(np.float32)
            v = (((ys - pts[topo.NOSE_TIP, 1]) / fh + 0.5) * 256).astype(np.float32)
            patch = cv2.remap(blotches, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
            brown = np.array([0.66, 0.56, 0.48], np.float32)  # darker, and warmer: freckle brown
            new = f * (1 - patch * mask * (1 - brown))
        else:  # holes
            centre = pts[topo.FACE_OVAL].mean(axis=0)
            hole = np.zeros((H, Wd), np.uint8)
            for dxy in holes:
                c = centre + dxy * fh
                cv2.circle(hole, (int(c[0]), int(c[1])), max(2, int(0.05 * fh)), 1, -1)
            hm = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), 1.0)[..., None]
            new = f * (1 - 0.92 * hm)
        out[t] = np.clip(np.round(new), 0, 255).astype(np.uint8)
    return out
