"""Identity retrieval: where each query's own subject ranks in a gallery of one embedding per subject.

One home for the maths shared by the ``identity_retrieval`` metric (a swapper's outputs as queries) and the
identity-leak baseline of a built split (the driving clips V_c themselves as queries, i.e. what a swapper scores
by doing nothing). Gallery entry of a subject = the re-normalised mean of its reference embeddings; similarity
= cosine; ties count in the query's favour; top-k is undefined (NaN) unless there are more than k subjects.

    names, gallery = subject_gallery({"s0": [e0, e1], "s1": [e2]})
    ranks = own_subject_ranks(names, gallery, ["s0", "s1"], [q0, q1])   # 0 = own subject is the nearest
    top_k_rate(ranks, 1, len(names))                                    # share of queries ranked first
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return v / n


def subject_gallery(embeddings: Mapping[str, Sequence[np.ndarray]]) -> tuple[list[str], np.ndarray]:
    """Sorted subject names and their [S, E] gallery rows (re-normalised mean of each subject's finite,
    non-empty embeddings; a subject without one is left out)."""
    names, rows = [], []
    for subject in sorted(embeddings):
        ok = [np.asarray(e, np.float64) for e in embeddings[subject]
              if e is not None and np.size(e) and np.isfinite(e).all()]
        if ok:
            names.append(subject)
            rows.append(np.mean(ok, axis=0))
    return names, (_unit(np.stack(rows)) if rows else np.zeros((0, 0)))


def own_subject_ranks(names: Sequence[str], gallery: np.ndarray, subjects: Sequence[str],
                      queries: Sequence[np.ndarray | None]) -> np.ndarray:
    """Per query, the 0-based rank of its own subject in the gallery by cosine (how many subjects are strictly
    more similar); NaN when the query is missing or not finite, or its subject has no gallery entry."""
    index = {s: i for i, s in enumerate(names)}
    ranks = np.full(len(queries), np.nan)
    for j, (subject, q) in enumerate(zip(subjects, queries)):
        if subject not in index or q is None or not np.size(q) or not np.isfinite(q).all():
            continue
        sims = gallery @ _unit(q)
        ranks[j] = float((sims > sims[index[subject]]).sum())
    return ranks


def top_k_hits(ranks: np.ndarray, k: int, num_subjects: int) -> np.ndarray:
    """Per query 1.0 / 0.0 (own subject among the k nearest), NaN where undefined."""
    ranks = np.asarray(ranks, np.float64)
    if num_subjects <= k:
        return np.full(ranks.shape, np.nan)
    return np.where(np.isfinite(ranks), (ranks < k).astype(np.float64), np.nan)


def top_k_rate(ranks: np.ndarray, k: int, num_subjects: int) -> float:
    """Share of the defined queries whose own subject is among the k nearest (NaN if none is defined or there
    are no more than k subjects)."""
    hits = top_k_hits(ranks, k, num_subjects)
    hits = hits[np.isfinite(hits)]
    return float(hits.mean()) if hits.size else math.nan
