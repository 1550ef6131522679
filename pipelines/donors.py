"""Donor bank of the ``warp`` editor: face photos screened once for quality and visibility, cached.

The warp editor can only move texture that its donor photo shows. A donor turned far to one side, looking
down, with hair across the face, blurred, monochrome or with its mouth wide open gives a driving clip with
smears, ghosted eyes or washed-out skin, however good the warp. So every photo is screened before it may be
used, and each clip then gets a donor whose pose suits it (`DonorBank.choose`).

Screening scores (``DonorScreen.scores``) and the default limits (`DonorLimits`; measured on the 8 embedded
sample photos and the 12 photos of ../shared/data/images, see docs/editors.md):

| score | meaning | default limit |
|---|---|---|
| ``face_px`` | chin-to-forehead height of the face, pixels | ≥ 80 |
| ``yaw``, ``pitch`` | head pose, degrees (``headswapbench.face.pose``) | abs(yaw) ≤ 25, abs(pitch) ≤ 20 |
| ``eye_open`` | lid gap of the less open eye, inter-ocular units | ≥ 0.06 (downcast, squinting or closed eyes smear) |
| ``mouth_open`` | inner-lip gap, inter-ocular units | ≤ 0.25 (lips stretched over a closed mouth) |
| ``sharpness`` | fine / mid detail energy of the face at 128 px face height (`detail_ratio`) | ≥ 0.12 |
| ``clipped`` | share of face pixels burnt out or crushed (L* > 97 or < 2) | ≤ 0.05 |
| ``chroma`` | median chroma of the skin (CIE LAB) | ≥ 3 (a monochrome photo has none) |
| ``occluded`` | share of plain-skin mesh triangles covered on *both* sides of the face (a mirror cannot help) | ≤ 0.20 |
| ``uneven_light`` | spread (P95 − P5) of the skin's low-frequency brightness over its median: hard side light, deep shadows | ≤ 0.70 |
| ``bridge_detail`` | fine detail across the nose bridge over the plain skin's: glasses frames, hair across the face | ≤ 1.25 |

A bank is built once per donor source: landmarks and scores are cached under
``cache_dir()/donors/<sha256 of the photo>-<screen version>.json``, so later builds skip the face mesh and
the screening. The limits are applied when the bank is read, so changing them needs no re-screening.

    bank = DonorBank("photos/")                   # or DonorBank(None): the embedded sample photos
    bank.usable()                                 # screened donors that passed, sorted by id
    choice = bank.choose(order, clip_pose=(yaw, pitch))   # pose-compatible donor, mirrored if that fits
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from headswapbench.errors import FaceNotFoundError, HeadSwapBenchError
from headswapbench.reasons import Reason
from headswapbench.types import Image

SCREEN_VERSION = 2
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
SCREEN_FACE_PX = 128  # sharpness is measured with the face resampled to this height (a 256² clip's face size)
MIRROR_MARGIN = 4.0  # degrees: flip a donor only when that brings its pose clearly closer (faces are not symmetric)


@dataclass(frozen=True)
class DonorLimits:
    """Screening limits (see the module docstring for what each score measures and why)."""

    min_face_px: float = 80.0
    max_yaw: float = 25.0
    max_pitch: float = 20.0
    min_eye_open: float = 0.06
    max_mouth_open: float = 0.25
    min_sharpness: float = 0.12
    max_clipped: float = 0.05
    min_chroma: float = 3.0
    max_occluded: float = 0.20
    max_uneven_light: float = 0.70
    max_bridge_detail: float = 1.25

    def failures(self, s: dict[str, float]) -> list[str]:
        """The failed checks, each as 'score value vs limit' (empty: the donor passes)."""
        checks = [
            ("face_px", s["face_px"] >= self.min_face_px, f">= {self.min_face_px:g}"),
            ("yaw", abs(s["yaw"]) <= self.max_yaw, f"|yaw| <= {self.max_yaw:g}"),
            ("pitch", abs(s["pitch"]) <= self.max_pitch, f"|pitch| <= {self.max_pitch:g}"),
            ("eye_open", s["eye_open"] >= self.min_eye_open, f">= {self.min_eye_open:g}"),
            ("mouth_open", s["mouth_open"] <= self.max_mouth_open, f"<= {self.max_mouth_open:g}"),
            ("sharpness", s["sharpness"] >= self.min_sharpness, f">= {self.min_sharpness:g}"),
            ("clipped", s["clipped"] <= self.max_clipped, f"<= {self.max_clipped:g}"),
            ("chroma", s["chroma"] >= self.min_chroma, f">= {self.min_chroma:g}"),
            ("occluded", s["occluded"] <= self.max_occluded, f"<= {self.max_occluded:g}"),
            ("uneven_light", s["uneven_light"] <= self.max_uneven_light, f"<= {self.max_uneven_light:g}"),
            ("bridge_detail", s["bridge_detail"] <= self.max_bridge_detail, f"<= {self.max_bridge_detail:g}"),
        ]
        return [f"{k} {s[k]:.3g} (needs {need})" for k, ok, need in checks if not ok]


@dataclass
class DonorScreen:
    """One screened photo: its face landmarks (photo pixels), scores and, given limits, its failures."""

    donor_id: str
    source: str
    landmarks: np.ndarray  # [478, 3]
    scores: dict[str, float]
    failed: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failed

    def record(self) -> dict[str, Any]:
        """What a clip's metadata keeps about its donor."""
        return {"id": self.donor_id, "source": self.source, "scores": dict(self.scores)}


def screen_scores(image: Image, landmarks: np.ndarray) -> dict[str, float]:
    """Every screening score of one face photo (see the module docstring)."""
    import cv2

    from headswapbench import warp as W
    from headswapbench.face.expression import MEASURES, pose_and_expression
    from headswapbench.video import resize_image

    from .artifacts import detail_ratio

    lms = np.asarray(landmarks, np.float64)[:478]
    pose, expr = pose_and_expression(lms[None])
    measures = dict(zip(MEASURES, expr[0][: len(MEASURES)].tolist()))
    height = W.face_height(lms)
    face = W.face_mask(lms, image.shape, forehead=False) > 0
    # sharpness at a fixed face scale, so photo resolution and face size do not change the measure
    f = SCREEN_FACE_PX / max(height, 1.0)
    size = (max(1, round(image.shape[1] * f)), max(1, round(image.shape[0] * f)))
    small = resize_image(image, size)
    small_face = resize_image(face.astype(np.uint8), size, cv2.INTER_NEAREST) > 0
    sharp = detail_ratio(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), small_face)
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    lum = lab[..., 0][face]
    skin = W.stats_mask(lms, image.shape) > 0
    chroma = float(np.median(np.hypot(lab[..., 1][skin], lab[..., 2][skin]))) if skin.any() else 0.0
    # occlusion: a skin triangle covered on this side can be borrowed from the other; covered on both cannot
    stats = W.colour_stats(image, skin.astype(np.uint8))
    mesh = W.canonical_mesh()
    pts = W.face_points(lms)
    flipped = np.ascontiguousarray(image[:, ::-1])
    flipped_lms = W.mirror_landmarks(lms, image.shape[1])
    clear = W.triangle_skin(image, pts, lms, stats, mesh)
    clear_m = W.triangle_skin(flipped, W.face_points(flipped_lms), flipped_lms, stats, mesh)
    occluded = float((np.maximum(clear, clear_m) < 0.6)[mesh.skin].mean())
    # light: the skin's low-frequency brightness (normalised convolution over plain skin only)
    sigma = 0.06 * height
    low = cv2.GaussianBlur(lab[..., 0] * skin, (0, 0), sigma) / np.maximum(
        cv2.GaussianBlur(skin.astype(np.float32), (0, 0), sigma), 1e-3)
    lit = low[skin] if skin.any() else np.ones(1)
    uneven = float((np.percentile(lit, 95) - np.percentile(lit, 5)) / max(np.median(lit), 1.0))
    # across the nose bridge: glasses frames (or hair) show as fine detail where skin is smooth
    bridge = W._fill(image.shape, lms[[193, 168, 417, 351, 6, 122], :2]) > 0
    detail = cv2.GaussianBlur(np.abs(cv2.Laplacian(cv2.GaussianBlur(lab[..., 0], (0, 0), 0.7), cv2.CV_32F)),
                              (0, 0), max(0.015 * height, 1.0))
    bridge_detail = float(np.median(detail[bridge]) / max(np.median(detail[skin]), 1e-3)) if bridge.any() else 0.0
    return {
        "face_px": round(float(height), 1),
        "yaw": round(float(pose[0, 0]), 2),
        "pitch": round(float(pose[0, 1]), 2),
        "roll": round(float(pose[0, 2]), 2),
        "eye_open": round(float(min(measures["eye_open_r"], measures["eye_open_l"])), 4),
        "mouth_open": round(float(measures["mouth_open"]), 4),
        "sharpness": round(float(sharp), 4),
        "clipped": round(float(np.mean((lum > 97) | (lum < 2))) if lum.size else 1.0, 4),
        "chroma": round(chroma, 2),
        "occluded": round(occluded, 4),
        "occluded_one_side": round(float((clear < 0.6)[mesh.skin].mean()), 4),
        "uneven_light": round(uneven, 4),
        "bridge_detail": round(bridge_detail, 4),
    }


@dataclass(frozen=True)
class DonorChoice:
    """The donor a clip gets: which photo, whether it is mirrored to face the clip's way, and how far its
    pose is from the clip's (degrees: |Δyaw| + |Δpitch| after the mirroring)."""

    donor: DonorScreen
    mirrored: bool
    pose_gap: float

    def record(self) -> dict[str, Any]:
        return {**self.donor.record(), "mirrored": self.mirrored, "pose_gap_deg": round(self.pose_gap, 2)}


class DonorBank:
    """Screened donor photos from a folder (``folder``; the donor id is the file stem) or, without one, the
    embedded sample photos (ids ``sample:<name>``). Screening runs once per photo and is cached."""

    def __init__(self, folder: str | Path | None = None, limits: DonorLimits | None = None):
        self.folder = Path(folder).expanduser() if folder else None
        self.limits = limits or DonorLimits()
        self._screens: dict[str, DonorScreen] | None = None
        self._images: dict[str, Image] = {}

    # sources -------------------------------------------------------------------------------------------
    def _sources(self) -> dict[str, Any]:
        """donor id → a photo path, or a sample name."""
        if self.folder is not None:
            if not self.folder.is_dir():
                raise HeadSwapBenchError(f"donor folder {self.folder} does not exist")
            pool = {p.stem: p for p in sorted(self.folder.iterdir())
                    if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}
            if not pool:
                raise HeadSwapBenchError(f"donor folder {self.folder} has no photos ({sorted(IMAGE_SUFFIXES)})")
            return pool
        from headswapbench.samples import PHOTO_NAMES

        return {f"sample:{name}": name for name in PHOTO_NAMES}

    def image(self, donor_id: str) -> Image:
        """The donor photo (RGB uint8), in the pixel frame of its screened landmarks."""
        if donor_id not in self._images:
            src = self._sources().get(donor_id)
            if src is None:
                raise HeadSwapBenchError(f"unknown donor '{donor_id}'; donors: {', '.join(self._sources())}")
            if isinstance(src, Path):
                from headswapbench.video import read_image

                self._images[donor_id] = read_image(src)
            else:
                from headswapbench.samples import sample_photo

                self._images[donor_id] = sample_photo(src).image
        return self._images[donor_id]

    def _screen_one(self, donor_id: str, src: Any) -> DonorScreen:
        from headswapbench.fileio import atomic_write_json, cache_dir, sha256_file

        if isinstance(src, Path):
            content, source = sha256_file(src), str(src)
        else:
            from headswapbench import samples

            content = hashlib.sha256(f"sample:{src}:{samples.SAMPLES_VERSION}".encode()).hexdigest()
            source = f"embedded sample photo {src}"
        path = cache_dir() / "donors" / f"{content[:32]}-v{SCREEN_VERSION}.json"
        try:
            cached = json.loads(path.read_text())
            lms = np.asarray(cached["landmarks"], np.float32)
            scores = cached["scores"]
        except (OSError, ValueError, KeyError):
            lms, scores = self._measure(donor_id, src)
            if lms is not None:
                # exactly what a cached read gives back: a fresh and a cached screen give the same edits
                lms = np.asarray(np.asarray(lms, np.float32).round(3), np.float32)
                atomic_write_json(path, {"landmarks": lms.round(3).tolist(), "scores": scores,
                                         "screen_version": SCREEN_VERSION}, indent=None)
        if lms is None:
            return DonorScreen(donor_id, source, np.full((478, 3), np.nan, np.float32), scores,
                               failed=["no face found in the photo"])
        return DonorScreen(donor_id, source, lms, scores, failed=self.limits.failures(scores))

    def _measure(self, donor_id: str, src: Any) -> tuple[np.ndarray | None, dict]:
        if isinstance(src, Path):
            from headswapbench.face import analyze_image

            try:
                img = self.image(donor_id)
                lms = np.asarray(analyze_image(img, identity=None).landmarks, np.float32)
            except FaceNotFoundError:
                return None, {}
            except HeadSwapBenchError as exc:  # unreadable photo: screened out, with the reason
                raise HeadSwapBenchError(f"donor photo {src}: {exc}") from None
        else:
            from headswapbench.samples import sample_photo

            try:
                photo = sample_photo(src)
            except FaceNotFoundError:
                return None, {}
            img, lms = photo.image, np.asarray(photo.landmarks, np.float32)
            self._images[donor_id] = img
        return lms, screen_scores(img, lms)

    # the bank ------------------------------------------------------------------------------------------
    def screens(self) -> dict[str, DonorScreen]:
        """Every photo, screened (cached after the first call), by id."""
        if self._screens is None:
            self._screens = {k: self._screen_one(k, src) for k, src in sorted(self._sources().items())}
        return self._screens

    def usable(self) -> list[DonorScreen]:
        """The donors that passed screening, sorted by id; when none did, `FaceNotFoundError` (code
        ``no_donor``) naming every photo's failures."""
        screens = self.screens()
        ok = [d for d in screens.values() if d.passed]
        if not ok:
            where = str(self.folder) if self.folder else "the embedded sample photos"
            why = "; ".join(f"{d.donor_id}: {', '.join(d.failed)}" for d in screens.values())
            raise FaceNotFoundError(f"no donor photo in {where} passed screening ({why[:800]})", code=Reason.NO_DONOR)
        return ok

    def summary(self) -> dict[str, Any]:
        """Screening results for the build report and the editor's options (ids, pass/fail, why)."""
        screens = self.screens()
        return {"donors": str(self.folder) if self.folder else "samples", "screen_version": SCREEN_VERSION,
                "limits": asdict(self.limits), "num_photos": len(screens),
                "usable": sorted(k for k, d in screens.items() if d.passed),
                "rejected": {k: d.failed for k, d in screens.items() if not d.passed}}

    def choose(self, order: list[str], clip_pose: tuple[float, float] | None, max_pose_gap: float = 15.0,
               exclude: set[str] | frozenset = frozenset()) -> DonorChoice | None:
        """The first usable donor in ``order`` (minus ``exclude``) whose pose is within ``max_pose_gap`` of
        the clip's median (yaw, pitch), mirrored when that brings its yaw closer (by ``MIRROR_MARGIN``); when
        none is that close, the closest. None when every usable donor is excluded."""
        usable = {d.donor_id: d for d in self.usable()}
        best: DonorChoice | None = None
        for donor_id in order:
            d = usable.get(donor_id)
            if d is None or donor_id in exclude:
                continue
            if clip_pose is None or not all(np.isfinite(clip_pose)):
                return DonorChoice(d, False, float("nan"))
            yaw, pitch = d.scores["yaw"], d.scores["pitch"]
            gaps = [abs(yaw - clip_pose[0]) + abs(pitch - clip_pose[1]),  # as photographed
                    abs(-yaw - clip_pose[0]) + abs(pitch - clip_pose[1])]  # mirrored: yaw changes sign
            mirrored = gaps[1] < gaps[0] - MIRROR_MARGIN
            choice = DonorChoice(d, mirrored, gaps[int(mirrored)])
            if choice.pose_gap <= max_pose_gap:
                return choice
            if best is None or choice.pose_gap < best.pose_gap:
                best = choice
        return best


def clip_pose(pose: np.ndarray) -> tuple[float, float] | None:
    """Median (yaw, pitch) over a clip's frames with a face ([T, 3] degrees, NaN rows ignored)."""
    pose = np.asarray(pose, np.float64)
    ok = np.isfinite(pose).all(axis=1)
    if not ok.any():
        return None
    yaw, pitch = np.median(pose[ok, :2], axis=0)
    return float(yaw), float(pitch)
