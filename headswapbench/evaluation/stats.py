"""Means with 95 % confidence intervals from a clustered bootstrap over *subjects*.

Why subjects, not clips: the ten clips of one person share face, lighting and camera, so their scores are
correlated; resampling clips would pretend there are 1,040 independent samples and give intervals that are
too narrow. Each bootstrap replicate draws subjects with replacement, takes *all* of their clips and
averages those clips (the same clip-weighted mean as the point estimate). Seeded, so intervals are
reproducible. NaN values (a metric undefined for a clip, e.g. no face in any frame) are excluded and counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0


def bootstrap_ci(
    values: np.ndarray,
    clusters: np.ndarray,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile CI of the clip-weighted mean under a cluster (subject) bootstrap.

    ``values`` [n] finite floats, ``clusters`` [n] subject labels. With a single subject no resampling is
    possible: the interval collapses to the mean (reported with ``n_subjects=1`` so readers can tell)."""
    values = np.asarray(values, dtype=np.float64)
    labels, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    k = len(labels)
    if values.size == 0:
        return (math.nan, math.nan)
    sums = np.bincount(inverse, weights=values, minlength=k)
    counts = np.bincount(inverse, minlength=k).astype(np.float64)
    if k == 1:
        m = float(sums[0] / counts[0])
        return (m, m)
    rng = np.random.default_rng(seed)
    # Multinomial draw counts per subject for every replicate: [resamples, k], memory-light and vectorised.
    draws = rng.multinomial(k, np.full(k, 1.0 / k), size=resamples).astype(np.float64)
    means = (draws @ sums) / (draws @ counts)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return (float(lo), float(hi))


def aggregate(
    rows: Iterable[Mapping[str, Any]],
    key: str,
    subject_key: str = "subject_id",
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> dict[str, Any]:
    """``{mean, ci95: [lo, hi], n, n_subjects, n_nan}`` of ``row[key]`` over per-clip rows (the mean over clips:
    a macro average, every clip weighs the same).

    Rows missing the key or holding None/NaN count in ``n_nan`` and are left out; ``n`` counts the values
    used. With no usable value the mean and interval are None (never a made-up number)."""
    vals, subs, n_nan = [], [], 0
    for row in rows:
        v = row.get(key)
        try:
            f = float(v) if v is not None else math.nan
        except (TypeError, ValueError):
            f = math.nan
        if not math.isfinite(f):
            n_nan += 1
            continue
        if subject_key not in row or row[subject_key] is None:
            raise ValueError(f"per-clip row without '{subject_key}': {dict(row)!r}")
        vals.append(f)
        subs.append(str(row[subject_key]))
    if not vals:
        return {"mean": None, "ci95": None, "n": 0, "n_subjects": 0, "n_nan": n_nan}
    arr = np.asarray(vals)
    lo, hi = bootstrap_ci(arr, np.asarray(subs), resamples=resamples, seed=seed, level=level)
    return {
        "mean": float(arr.mean()),
        "ci95": [lo, hi],
        "n": int(arr.size),
        "n_subjects": len(set(subs)),
        "n_nan": n_nan,
    }
