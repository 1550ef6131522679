"""Filter: keep an edited clip V_c only if it is a usable driving input for the real clip V_a.

A pair is kept when V_c's face is not visibly broken (the artifact gate, `pipelines/artifacts.py`), frame
by frame follows V_a's (landmarks, expression, head pose), is temporally stable, and V_c's identity really
differs from V_a's (otherwise the triplet leaks the
target's identity into the driving clip and the benchmark rewards copying). Every clip, kept or rejected,
keeps all of its scores; a rejected one also gets the first failed check as its reason.

The thresholds are measured on ../shared/data (see docs/build.md, "Filter defaults", reproduced by
``benchmarks/bench_build.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from headswapbench.face.measures import (
    angle_diff,
    expression_measures_dynamic_rms,
    expression_measures_rms,
    landmark_jitter,
    landmark_nme,
)
from headswapbench.reasons import Reason
from headswapbench.runner import SkipItem

from .artifacts import ArtifactSettings, artifact_scores, artifact_verdict


@dataclass(frozen=True)
class FilterSettings:
    """Acceptance thresholds (docs/build.md gives the measurements behind each default)."""

    # Measured on ../shared/data (docs/build.md): V_a vs itself re-encoded at CRF 35 / its warp edit /
    # itself lagged 4 frames / shifted 3 % → NME medians 0.012 / 0.018 / 0.039 / 0.147, maxima 0.019 / 0.055 /
    # 0.43 / 0.17. Limits sit above the clean edits' maxima with room for a generative editor's noise.
    max_nme: float = 0.06  # mean per-frame landmark NME (inter-ocular), V_c vs V_a
    max_nme_p95: float = 0.10  # 95th percentile over frames: no stretch of badly desynchronised frames
    max_expression_dynamic: float = 0.03  # sync_expression_dynamic (re-encode, warp max 0.018; lag-4 median 0.024)
    max_pose_worst_axis: float = 6.0  # worst-axis mean |Δangle|, degrees (re-encode max 1.7, warp max 5.1)
    # cosine V_c vs V_a must stay BELOW this (the head changed); None = the identity backend's own
    # same-person threshold (dlib 0.92, ArcFace 0.28 …), so the pair is never "the same person" to it
    max_identity_similarity: float | None = None
    max_jitter_excess: float = 0.02  # V_c jitter minus V_a's, inter-ocular units/frame (warp max 0.008)
    min_face_ratio: float = 0.95  # share of frames where V_c still has a trackable face
    identity_samples: int = 8  # faces embedded per clip for the identity check (dlib ≈ 0.1 s each on CPU)
    # the artifact gate: is V_c visibly broken inside the face? (pipelines/artifacts.py, docs/build.md)
    artifacts: ArtifactSettings = field(default_factory=ArtifactSettings)


def _cos(a: np.ndarray | None, b: np.ndarray | None) -> float:
    if a is None or b is None:
        return float("nan")
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def sync_scores(target, driving) -> dict[str, float]:
    """All filter scores between two ClipAnalysis objects of the same length (V_a = target, V_c = driving)."""
    n = min(target.num_frames, driving.num_frames)
    both = np.asarray(target.face_found[:n], bool) & np.asarray(driving.face_found[:n], bool)
    la, lc = np.asarray(target.landmarks[:n], np.float64), np.asarray(driving.landmarks[:n], np.float64)
    scores: dict[str, float] = {
        "face_ratio": float(np.mean(driving.face_found[:n])) if n else 0.0,
        "frames_compared": int(both.sum()),
    }
    if both.any():
        nme = landmark_nme(lc[both], la[both])
        scores["sync_nme"] = float(np.mean(nme))
        scores["sync_nme_p95"] = float(np.percentile(nme, 95))
    if target.expression is not None and driving.expression is not None and both.any():
        ea = np.asarray(target.expression[:n], np.float64)[both]
        ec = np.asarray(driving.expression[:n], np.float64)[both]
        # the dynamic distance decides (each clip's own mean removed, so a new identity's resting mouth width
        # or eye size is not counted as an expression error); the raw difference is kept as information
        scores["sync_expression_dynamic"] = float(np.mean(expression_measures_dynamic_rms(ec, ea)))
        scores["sync_expression_raw"] = float(np.mean(expression_measures_rms(ec, ea)))
    if target.pose is not None and driving.pose is not None and both.any():
        pa, pc = np.asarray(target.pose[:n], np.float64), np.asarray(driving.pose[:n], np.float64)
        scores["sync_pose_worst_axis"] = float(angle_diff(pc[both], pa[both]).mean(0).max())
    scores["identity_similarity_to_target"] = _cos(target.mean_identity(), driving.mean_identity())
    backend = (getattr(target, "backends", None) or {}).get("identity") or {}
    if backend.get("threshold") is not None:
        scores["identity_threshold"] = float(backend["threshold"])
    ja, jc = (
        landmark_jitter(np.where(both[:, None, None], la, np.nan)),
        landmark_jitter(np.where(both[:, None, None], lc, np.nan)),
    )
    scores["jitter_target"], scores["jitter_driving"] = ja, jc
    scores["jitter_excess"] = jc - ja
    return {
        k: (
            None
            if isinstance(v, float) and not np.isfinite(v)
            else round(v, 6)
            if isinstance(v, float)
            else v
        )
        for k, v in scores.items()
    }


def verdict(scores: dict[str, Any], s: FilterSettings) -> tuple[Reason, str] | None:
    """The first failed check as (code, detail), or None when the pair is kept. Order: the cheapest to
    explain first (no face), then a visibly broken edit (artifacts), then the leak (identity), then
    synchronisation, then stability."""

    def bad(key: str, limit: float, above: bool = True) -> bool:
        v = scores.get(key)
        if v is None or not np.isfinite(v):
            return True  # a score that cannot be computed cannot vouch for the pair
        return v > limit if above else v < limit

    if bad("face_ratio", s.min_face_ratio, above=False) or not scores.get("frames_compared"):
        return Reason.FACE_LOST, f"edited clip has a trackable face in {scores.get('face_ratio', 0):.0%} of frames"
    # the artifact gate's scores are there whenever the filter ran it (None inside: not computable → fails)
    broken = artifact_verdict(scores, s.artifacts) if "artifact_score" in scores else None
    if broken:
        return Reason.EDIT_ARTIFACT, broken
    id_limit = (
        s.max_identity_similarity
        if s.max_identity_similarity is not None
        else scores.get("identity_threshold")
    )
    if (
        id_limit is None
        or bad("identity_similarity_to_target", id_limit)
        or scores["identity_similarity_to_target"] >= id_limit
    ):
        return (
            Reason.IDENTITY_UNCHANGED,
            f"identity similarity to the target {scores.get('identity_similarity_to_target')} >= {id_limit}",
        )
    if bad("sync_nme", s.max_nme):
        return Reason.LANDMARK_DESYNC, f"NME {scores.get('sync_nme')} > {s.max_nme}"
    if bad("sync_nme_p95", s.max_nme_p95):
        return Reason.LANDMARK_DESYNC, f"NME p95 {scores.get('sync_nme_p95')} > {s.max_nme_p95}"
    if bad("sync_expression_dynamic", s.max_expression_dynamic):
        return (
            Reason.EXPRESSION_DESYNC,
            f"expression error {scores.get('sync_expression_dynamic')} > {s.max_expression_dynamic}",
        )
    if bad("sync_pose_worst_axis", s.max_pose_worst_axis):
        return Reason.POSE_DESYNC, f"pose error {scores.get('sync_pose_worst_axis')} deg > {s.max_pose_worst_axis}"
    if bad("jitter_excess", s.max_jitter_excess):
        return (
            Reason.TEMPORAL_JITTER,
            f"landmark jitter excess {scores.get('jitter_excess')} > {s.max_jitter_excess}",
        )
    return None


def identity_stride(num_frames: int, s: FilterSettings) -> int:
    """Stride of the frames the filter embeds (``identity_samples`` per clip); the package step's leak baseline
    passes the same, so V_c's cached analysis is reused."""
    return max(1, -(-int(num_frames) // max(s.identity_samples, 1)))


def filter_pair(target_path, driving_path, s: FilterSettings) -> dict[str, Any]:
    """Analyse V_a and V_c and return their scores, or raise SkipItem(code, detail, **scores)."""
    from headswapbench.face import analyze_video
    from headswapbench.video import probe

    every = identity_stride(probe(target_path).num_frames, s)
    target = analyze_video(target_path, identity_every=every, progress=False)
    driving = analyze_video(driving_path, identity_every=every, progress=False)
    scores = sync_scores(target, driving)
    scores.update(artifact_scores(target_path, driving_path, target, driving, s.artifacts))
    rejected = verdict(scores, s)
    if rejected:
        raise SkipItem(*rejected, **scores)
    return scores
