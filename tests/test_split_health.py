"""Split health (clips per subject, warnings, the balancing cap), the shared identity-retrieval maths, and what
the dataset card says about both, on hand-made cases with answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from headswapbench.face.retrieval import own_subject_ranks, subject_gallery, top_k_hits, top_k_rate
from headswapbench.split import (
    DatasetInfo,
    cap_for_share,
    dataset_stats,
    health_warnings,
    subject_balance,
    write_dataset,
)
from tests.helpers.split_rows import make_media as _media
from tests.helpers.split_rows import make_row as _row


def test_subject_balance_by_hand():
    b = subject_balance(["a"] * 10 + ["b"] * 2 + ["c"])
    assert b["subjects"] == 3 and b["clips"] == 13
    assert b["clips_per_subject"] == {"min": 1, "median": 2.0, "max": 10}
    assert b["largest_subject"] == {"subject_id": "a", "clips": 10, "share": round(10 / 13, 4)}
    assert b["balancing_cap"] is None  # 3 subjects: one always holds ≥ 1/3 > 30 %
    assert subject_balance([])["subjects"] == 0


def test_cap_for_share_by_hand():
    # 4 subjects with 10, 3, 3, 3 clips: cap 3 → 3/12 = 25 % ≤ 30 %; cap 4 → 4/13 = 31 % > 30 %
    assert cap_for_share([10, 3, 3, 3]) == 3
    assert cap_for_share([10, 3, 3, 3, 3]) == 5  # 5/17 = 29.4 %; 6/18 = 33 %
    assert cap_for_share([1, 1, 1]) is None
    assert cap_for_share([2, 2, 2, 2]) == 2  # already balanced: no cap needed below the maximum


def test_health_warnings_name_the_problem_and_the_fix():
    stats = {
        "train": subject_balance(["a"] * 9 + ["b"]),  # train is never warned about
        "test": subject_balance(["c"] * 10 + ["d"] * 3 + ["e"] * 3 + ["f"] * 3),
    }
    warnings = health_warnings(stats)
    assert len(warnings) == 2, warnings
    assert "'test' has 4 subject(s), fewer than 10" in warnings[0]
    assert "subject c holds 10 of 19 clips (53% > 30%)" in warnings[1]
    assert "--max-clips-per-subject 3" in warnings[1]
    big = {"test": subject_balance([f"s{i}" for i in range(12) for _ in range(2)])}
    assert health_warnings(big) == []


def test_retrieval_ranks_by_hand():
    e = np.eye(3)
    names, gallery = subject_gallery({"b": [e[1]], "a": [e[0], np.array([0.6, 0.8, 0.0])], "empty": [],
                                      "nan": [np.full(3, np.nan)]})
    assert names == ["a", "b"]  # subjects with no finite embedding are left out
    # a's entry: mean of e0 and (0.6, 0.8, 0) = (0.8, 0.4, 0) normalised
    assert gallery[0] == pytest.approx(np.array([0.8, 0.4, 0.0]) / math.hypot(0.8, 0.4))
    queries = [e[0], e[1], np.array([0.1, 1.0, 0.0]), None, e[2]]
    ranks = own_subject_ranks(names, gallery, ["a", "b", "a", "a", "zz"], queries)
    # q0 → a first; q1 → b first; q2 is nearer b (cos 0.995) than a (0.53): a ranks second; None / unknown: NaN
    assert ranks[:3].tolist() == [0.0, 0.0, 1.0] and np.isnan(ranks[3:]).all()
    assert top_k_rate(ranks, 1, len(names)) == pytest.approx(2 / 3)
    assert np.isnan(top_k_rate(ranks, 5, len(names)))  # undefined with no more than k subjects
    assert top_k_hits(ranks, 1, 2)[:3].tolist() == [1.0, 1.0, 0.0]
    # ties count in the query's favour
    names, gallery = subject_gallery({"a": [e[0]], "b": [e[0]]})
    assert own_subject_ranks(names, gallery, ["b"], [e[0]]).tolist() == [0.0]


def test_card_shows_split_health_and_the_leak_baseline(tmp_path):
    media = _media(tmp_path / "src", 5)
    rows = {"train": [_row("c0", "s0")], "test": [_row("c1", "s1"), _row("c2", "s1"), _row("c3", "s2"),
                                                  _row("c4", "s3")]}
    leak = {"test": {"top1": 0.75, "chance": round(1 / 3, 4), "subjects": 3, "clips": 4}}
    stats = write_dataset(tmp_path / "ds", rows, media,
                          DatasetInfo(max_clips_per_subject=2, leak_baseline=leak))
    assert stats == dataset_stats(tmp_path / "ds")
    assert stats["test"]["clips_per_subject"] == {"min": 1, "median": 1.0, "max": 2}
    text = (tmp_path / "ds" / "README.md").read_text()
    meta = yaml.safe_load(text.split("---\n")[1])["headswapbench"]
    assert meta["statistics"]["test"]["largest_subject"] == {"subject_id": "s1", "clips": 2, "share": 0.5}
    assert meta["identity_leak_baseline"] == leak
    assert meta["split"]["max_clips_per_subject"] == 2
    assert meta["health"]["warnings"] == health_warnings(stats) and len(meta["health"]["warnings"]) == 2
    assert "| test | 3 | 4 | 1 / 1 / 2 | 50% | 0.75 | 0.33 |" in text
    assert "| train | 1 | 1 | 1 / 1 / 1 | 100% | n/a | n/a |" in text
    assert "**Warning:** split 'test' has 3 subject(s)" in text
