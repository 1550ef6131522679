"""Subject-clustered bootstrap: checked against exact enumeration of the bootstrap distribution on small
hand-built cases, plus edge cases (one subject, NaNs) and a coverage property on simulated clustered data."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from headswapbench.evaluation.stats import aggregate, bootstrap_ci


def _exact_cluster_bootstrap(groups: dict[str, list[float]]) -> list[tuple[float, float]]:
    """(replicate mean, probability) of every outcome of drawing k subjects with replacement."""
    names = sorted(groups)
    k = len(names)
    out: Counter = Counter()
    for draw in itertools.product(names, repeat=k):  # k^k equally likely ordered draws
        vals = [v for s in draw for v in groups[s]]
        out[round(sum(vals) / len(vals), 12)] += 1
    total = k**k
    return sorted((m, c / total) for m, c in out.items())


def _quantile_atom(dist: list[tuple[float, float]], q: float) -> float:
    acc = 0.0
    for m, p in dist:
        acc += p
        if acc >= q:
            return m
    return dist[-1][0]


def test_hand_computed_two_subjects():
    # subject a: two clips scoring 0; subject b: one clip scoring 1.
    # Replicates: aa → 0 (p=1/4), ab/ba → 1/3 (p=1/2), bb → 1 (p=1/4): CI = [0, 1], mean = 1/3.
    rows = [{"subject_id": "a", "x": 0.0}, {"subject_id": "a", "x": 0.0}, {"subject_id": "b", "x": 1.0}]
    res = aggregate(rows, "x")
    assert res["mean"] == pytest.approx(1 / 3)
    assert res["ci95"] == [0.0, 1.0]
    assert res["n"] == 3 and res["n_subjects"] == 2 and res["n_nan"] == 0


def test_matches_exact_enumeration_three_subjects():
    groups = {"a": [0.1, 0.2, 0.3, 0.2], "b": [0.9], "c": [0.5, 0.7]}
    dist = _exact_cluster_bootstrap(groups)
    lo_exact, hi_exact = _quantile_atom(dist, 0.025), _quantile_atom(dist, 0.975)
    values = np.array([v for s in sorted(groups) for v in groups[s]])
    clusters = np.array([s for s in sorted(groups) for _ in groups[s]])
    lo, hi = bootstrap_ci(values, clusters, resamples=20000, seed=1)
    assert lo == pytest.approx(lo_exact, abs=1e-9)
    assert hi == pytest.approx(hi_exact, abs=1e-9)


def test_resamples_subjects_not_clips():
    # One subject with 50 identical clips and one with a single different clip: a clip-level bootstrap would
    # give a narrow interval around 0; the subject-level one must reach the lone subject's value (bb draws).
    rows = [{"subject_id": "big", "x": 0.0}] * 50 + [{"subject_id": "small", "x": 10.0}]
    res = aggregate(rows, "x", resamples=4000)
    assert res["ci95"][1] == pytest.approx(10.0)
    assert res["ci95"][0] == 0.0


def test_one_subject_and_nans():
    rows = [{"subject_id": "s", "x": v} for v in (1.0, 3.0, math.nan, None)] + [{"subject_id": "s"}]
    res = aggregate(rows, "x")
    assert res["mean"] == 2.0 and res["ci95"] == [2.0, 2.0]
    assert res["n"] == 2 and res["n_subjects"] == 1 and res["n_nan"] == 3
    empty = aggregate([{"subject_id": "s", "x": math.nan}], "x")
    assert empty["mean"] is None and empty["ci95"] is None and empty["n_nan"] == 1


def test_seeded_and_row_without_subject_raises():
    vals = np.random.default_rng(0).normal(size=40)
    rows = [{"subject_id": str(i % 8), "x": float(v)} for i, v in enumerate(vals)]
    assert aggregate(rows, "x", seed=3) == aggregate(rows, "x", seed=3)
    assert aggregate(rows, "x", seed=3)["ci95"] != aggregate(rows, "x", seed=4)["ci95"]
    with pytest.raises(ValueError, match="subject_id"):
        aggregate([{"x": 1.0}], "x")


def test_coverage_on_clustered_data():
    """Simulated clustered scores (subject effect sd 1, clip noise sd 0.5, 30 subjects x 5 clips, true mean
    0): the 95 % interval should cover 0 in roughly 95 % of datasets (percentile bootstrap runs a little
    under nominal with 30 clusters, hence the band)."""
    rng = np.random.default_rng(123)
    hits, trials = 0, 200
    for t in range(trials):
        subj = rng.normal(0, 1, 30)
        vals = (subj[:, None] + rng.normal(0, 0.5, (30, 5))).ravel()
        lo, hi = bootstrap_ci(vals, np.repeat(np.arange(30), 5), resamples=500, seed=t)
        hits += lo <= 0.0 <= hi
    assert 0.88 <= hits / trials <= 0.99
