"""Identity metrics, read from the shared analysis' identity embeddings (L2-normalised rows, one per sampled
frame with a face; the backend — dlib offline, ArcFace/AdaFace real — is recorded by the analysis).

Definitions (per clip):
- ``identity_cosine_ref``: mean over the output's identity frames of cos(output frame, I_ref);
- ``identity_cosine_target``: **frame-paired** — mean over frames t embedded in both videos of
  cos(output frame t, target frame t). Both analyses embed the same frame indices (``face.identity_sample``
  depends only on the frame count and the stride, and output and target have the same frame count, checked
  before scoring), so a frame pairs with the same moment of the genuine clip and the oracle scores 1
  (comparing with the target's *mean* identity gave 0.996). Frames where either side has no face are left
  out (``face_missing_output`` counts the output's losses);
- ``identity_cosine_driving``: mean over the output's identity frames of the cosine to the *clip identity* of
  V_c, the re-normalised mean of its frame embeddings (the identity that should be gone, not a moment);
- ``replacement``: 1.0 if ``identity_cosine_ref > identity_cosine_driving`` else 0.0 — the output looks more
  like the person it should show than like the person it was given; its mean is the replacement rate.
An output with no identity frame (no face found) gets NaN for all four (excluded and counted by stats).

Set level (``identity_retrieval``): gallery = one embedding per subject (re-normalised mean of that subject's
reference embeddings); query = each clip's output clip identity; top-k = share of clips whose own subject is
among the k most similar gallery entries. Undefined (NaN) unless there are more than k subjects.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from headswapbench.evaluation.metric import ClipData, ClipMetric, SetMetric
from headswapbench.face.retrieval import own_subject_ranks, subject_gallery, top_k_hits, top_k_rate

from .base import ID_COS_DRIVING, ID_COS_REF, ID_COS_TARGET, ID_TOP1, ID_TOP5, REPLACEMENT


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return v / n


def frame_embeddings(analysis: Any) -> np.ndarray:
    """[N, E] finite, normalised identity rows of a clip analysis (N may be 0)."""
    if analysis is None:
        return np.zeros((0, 0))
    if getattr(analysis, "identity", None) is None:
        raise ValueError("the analysis has no identity embeddings (analysed with identity=None?)")
    ident = np.asarray(analysis.identity, dtype=np.float64)
    if ident.ndim == 1:  # an ImageAnalysis: one embedding
        ident = ident[None]
    if ident.size == 0:
        return ident.reshape(0, ident.shape[-1] if ident.ndim == 2 else 0)
    ident = _normalise(ident)
    return ident[np.isfinite(ident).all(axis=1)]


def clip_identity(analysis: Any) -> np.ndarray | None:
    """Re-normalised mean of a clip's (or image's) identity embeddings; None when it has none."""
    emb = frame_embeddings(analysis)
    if not len(emb):
        return None
    return _normalise(emb.mean(axis=0))


def paired_cosine(out_analysis: Any, tgt_analysis: Any) -> float:
    """Mean of cos(output frame t, target frame t) over the frames t embedded in both analyses (NaN if none)."""
    frames = []
    for a in (out_analysis, tgt_analysis):
        idx = getattr(a, "identity_frames", None)
        if idx is None:
            raise ValueError("frame-paired identity needs the analyses' identity_frames (a video analysis)")
        frames.append(np.asarray(idx, dtype=np.int64))
    out, tgt = (_normalise(np.asarray(a.identity, dtype=np.float64)) for a in (out_analysis, tgt_analysis))
    if out.shape[-1] != tgt.shape[-1] and len(out) and len(tgt):
        raise ValueError(f"identity embeddings differ in size ({out.shape[-1]} vs {tgt.shape[-1]}); analyse all "
                         "videos with the same identity backend")
    _, i, j = np.intersect1d(frames[0], frames[1], assume_unique=True, return_indices=True)
    cos = (out[i] * tgt[j]).sum(axis=1)
    cos = cos[np.isfinite(cos)]
    return float(cos.mean()) if cos.size else math.nan


class IdentityMetric(ClipMetric):
    """Identity cosine to the reference, target and driving clip, and the per-clip replacement indicator."""

    name = "identity"
    keys = (ID_COS_REF, ID_COS_TARGET, ID_COS_DRIVING, REPLACEMENT)

    def compute(self, data: ClipData) -> dict[str, float]:
        data.require("output_analysis")
        out = frame_embeddings(data.output_analysis)
        result = {k: math.nan for k in self.keys}
        if not len(out):
            return result
        if data.target_analysis is not None:
            result[ID_COS_TARGET] = paired_cosine(data.output_analysis, data.target_analysis)
        for key, analysis in ((ID_COS_REF, data.reference_analysis), (ID_COS_DRIVING, data.driving_analysis)):
            ident = clip_identity(analysis) if analysis is not None else None
            if ident is not None:
                if ident.shape[-1] != out.shape[-1]:
                    raise ValueError(
                        f"clip '{data.clip_id}': identity embeddings differ in size ({out.shape[-1]} vs "
                        f"{ident.shape[-1]}); analyse all videos with the same identity backend"
                    )
                result[key] = float((out @ ident).mean())
        if math.isfinite(result[ID_COS_REF]) and math.isfinite(result[ID_COS_DRIVING]):
            result[REPLACEMENT] = 1.0 if result[ID_COS_REF] > result[ID_COS_DRIVING] else 0.0
        return result


class IdentityRetrieval(SetMetric):
    """Top-1 / top-5 identity retrieval of each output among all subjects' reference identities."""

    name = "identity_retrieval"
    keys = (ID_TOP1, ID_TOP5)

    def reset(self) -> None:
        self.state = {"clip_ids": [], "subjects": [], "queries": [], "gallery": {}}

    def extract(self, data: ClipData) -> dict[str, np.ndarray]:
        data.require("output_analysis", "reference_analysis")
        query = clip_identity(data.output_analysis)
        ref = clip_identity(data.reference_analysis)
        dim = (query if query is not None else ref if ref is not None else np.zeros(0)).shape[-1]
        return {
            "clip_id": np.array(data.clip_id),
            "subject": np.array(str(data.subject_id)),
            "query": query if query is not None else np.full(dim, np.nan),
            "reference": ref if ref is not None else np.full(dim, np.nan),
        }

    def add(self, features: dict[str, np.ndarray]) -> None:
        subject = str(features["subject"])
        ref = np.asarray(features["reference"], dtype=np.float64)
        if np.isfinite(ref).all() and ref.size:
            self.state["gallery"].setdefault(subject, []).append(ref)
        self.state["clip_ids"].append(str(features["clip_id"]))
        self.state["subjects"].append(subject)
        self.state["queries"].append(np.asarray(features["query"], dtype=np.float64))

    def _ranks(self) -> tuple[list[str], np.ndarray]:
        """Gallery subjects and, per clip, the 0-based rank of its own subject (NaN: no query/ no gallery)."""
        names, gallery = subject_gallery(self.state["gallery"])
        return names, own_subject_ranks(names, gallery, self.state["subjects"], self.state["queries"])

    def per_clip(self) -> dict[str, dict[str, float]]:
        """Per-clip hit indicators (for bootstrap intervals over subjects); NaN where undefined."""
        names, ranks = self._ranks()
        hits = {key: top_k_hits(ranks, k, len(names)) for key, k in ((ID_TOP1, 1), (ID_TOP5, 5))}
        return {cid: {key: float(h[i]) for key, h in hits.items()} for i, cid in enumerate(self.state["clip_ids"])}

    def compute(self) -> dict[str, float]:
        names, ranks = self._ranks()
        return {key: top_k_rate(ranks, k, len(names)) for key, k in ((ID_TOP1, 1), (ID_TOP5, 5))}

    def counts(self) -> dict[str, int]:
        _, ranks = self._ranks()
        return {"clips": int(np.isfinite(ranks).sum()), "subjects": len(self.state["gallery"]),
                "clips_without_face": int((~np.isfinite(ranks)).sum())}
