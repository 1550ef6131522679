"""Identity cosines, replacement and retrieval on hand-built embeddings with known answers."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from headswapbench.metrics.base import (
    ID_COS_DRIVING,
    ID_COS_REF,
    ID_COS_TARGET,
    ID_TOP1,
    ID_TOP5,
    REPLACEMENT,
)
from headswapbench.metrics.identity import IdentityMetric, IdentityRetrieval

from headswapbench.errors import HeadSwapBenchError
from headswapbench.evaluation.metric import ClipData
from headswapbench.types import Video

E = 8


def _unit(i: int) -> np.ndarray:
    v = np.zeros(E)
    v[i] = 1.0
    return v


def _clip_an(rows):
    rows = np.asarray(rows, dtype=np.float32).reshape(-1, E)
    return SimpleNamespace(identity=rows, identity_frames=np.arange(len(rows)))


def _data(out_rows, ref, tgt_rows=None, drv_rows=None, clip_id="c", subject="s") -> ClipData:
    frames = np.zeros((2, 4, 4, 3), np.uint8)
    return ClipData(
        clip_id, subject, Video(frames, 25.0),
        output_analysis=_clip_an(out_rows),
        reference_analysis=SimpleNamespace(identity=np.asarray(ref, np.float32)) if ref is not None else None,
        target_analysis=_clip_an(tgt_rows) if tgt_rows is not None else None,
        driving_analysis=_clip_an(drv_rows) if drv_rows is not None else None,
    )


def test_cosines_and_replacement_known_values():
    e0, e1, e2 = _unit(0), _unit(1), _unit(2)
    # two output frames: one equal to e0, one at 60° from e0 in the e0/e1 plane
    f2 = np.cos(np.pi / 3) * e0 + np.sin(np.pi / 3) * e1
    res = IdentityMetric().compute(_data([e0, f2], ref=e0, tgt_rows=[e0, e0], drv_rows=[e1, e2]))
    assert res[ID_COS_REF] == pytest.approx((1.0 + 0.5) / 2)
    assert res[ID_COS_TARGET] == pytest.approx(0.75)
    # driving clip identity = normalised mean of e1, e2 = (e1+e2)/√2; cos(e0)=0, cos(f2)=sin60/√2
    assert res[ID_COS_DRIVING] == pytest.approx((0 + np.sin(np.pi / 3) / np.sqrt(2)) / 2)
    assert res[REPLACEMENT] == 1.0
    # an output that still shows the driving identity is not a replacement
    res = IdentityMetric().compute(_data([e1, e1], ref=e0, drv_rows=[e1]))
    assert res[ID_COS_REF] == pytest.approx(0.0) and res[ID_COS_DRIVING] == pytest.approx(1.0)
    assert res[REPLACEMENT] == 0.0 and math.isnan(res[ID_COS_TARGET])


def test_target_cosine_pairs_frame_t_with_frame_t():
    """Output frame t against target frame t, over the frames embedded on both sides (here 0 and 4): a target
    whose identity drifts scores 1 against itself, which a mean-identity comparison would not."""
    e0, e1 = _unit(0), _unit(1)
    drift = [e0, (e0 + e1) / np.sqrt(2), e1]  # the target's face turns: its mean identity matches no frame
    tgt = SimpleNamespace(identity=np.asarray(drift, np.float32), identity_frames=np.array([0, 2, 4]))
    out = SimpleNamespace(identity=np.asarray(drift, np.float32), identity_frames=np.array([0, 2, 4]))
    data = _data([e0], ref=e0)
    data.output_analysis, data.target_analysis = out, tgt
    assert IdentityMetric().compute(data)[ID_COS_TARGET] == pytest.approx(1.0, abs=1e-12)
    mean_identity = (e0 + (e0 + e1) / np.sqrt(2) + e1) / np.linalg.norm(e0 + (e0 + e1) / np.sqrt(2) + e1)
    assert float(np.mean([f @ mean_identity for f in drift])) < 0.95  # what the old definition gave
    # the output lost its face on frame 2: only frames 0 and 4 pair up
    data.output_analysis = SimpleNamespace(identity=np.asarray([e0, e0], np.float32), identity_frames=np.array([0, 4]))
    assert IdentityMetric().compute(data)[ID_COS_TARGET] == pytest.approx((1.0 + 0.0) / 2)
    data.output_analysis = SimpleNamespace(identity=np.asarray([e0], np.float32), identity_frames=np.array([1]))
    assert math.isnan(IdentityMetric().compute(data)[ID_COS_TARGET])  # no frame embedded on both sides


def test_unnormalised_rows_are_normalised_and_no_face_gives_nan():
    res = IdentityMetric().compute(_data([3 * _unit(0)], ref=2 * _unit(0), drv_rows=[_unit(1)]))
    assert res[ID_COS_REF] == pytest.approx(1.0)
    empty = IdentityMetric().compute(_data(np.zeros((0, E)), ref=_unit(0), drv_rows=[_unit(1)]))
    assert all(math.isnan(v) for v in empty.values())


def test_retrieval_top1_top5_known_ranks():
    # 7 subjects with orthogonal reference identities e0..e6. Clip queries:
    #   clip a (subject 0): exactly e0 → rank 0 (top-1 hit)
    #   clip b (subject 1): mostly e2, a bit of e1 → own subject ranked 2nd (top-5 hit, top-1 miss)
    #   clip c (subject 2): built so that 5 other subjects beat it → rank 5 (top-5 miss)
    m = IdentityRetrieval()
    refs = {f"s{s}": _unit(s) for s in range(7)}
    qc = 0.1 * _unit(2) + sum(_unit(k) for k in (0, 1, 3, 4, 5))
    clips = [("a", "s0", _unit(0)), ("b", "s1", 0.5 * _unit(1) + _unit(2)), ("c", "s2", qc)]
    for s, ref in refs.items():  # every subject contributes its reference once (clips without a query)
        m.add({"clip_id": np.array(f"g-{s}"), "subject": np.array(s), "query": np.full(E, np.nan), "reference": ref})
    for cid, subject, q in clips:
        feats = m.extract(_data([q], ref=refs[subject], clip_id=cid, subject=subject))
        m.add(feats)
    res = m.compute()
    assert res[ID_TOP1] == pytest.approx(1 / 3)
    assert res[ID_TOP5] == pytest.approx(2 / 3)
    per = m.per_clip()
    assert per["a"] == {ID_TOP1: 1.0, ID_TOP5: 1.0} and per["b"] == {ID_TOP1: 0.0, ID_TOP5: 1.0}
    assert per["c"] == {ID_TOP1: 0.0, ID_TOP5: 0.0}
    assert math.isnan(per["g-s0"][ID_TOP1])
    assert m.counts() == {"clips": 3, "subjects": 7, "clips_without_face": 7}


def test_retrieval_undefined_with_too_few_subjects():
    m = IdentityRetrieval()
    for s in range(3):
        m.update(_data([_unit(s)], ref=_unit(s), clip_id=f"c{s}", subject=f"s{s}"))
    res = m.compute()
    assert res[ID_TOP1] == 1.0  # 3 subjects: top-1 defined
    assert math.isnan(res[ID_TOP5])  # top-5 among 3 subjects would always hit: reported as undefined


def test_registry_and_plugin_metric_info():
    from headswapbench.evaluation.metric import METRIC_INFO, METRICS, ClipMetric, MetricInfo, register_info

    assert set(METRICS.names()) >= {"identity", "identity_retrieval", "keypoints", "pose", "expression", "psnr",
                                    "ssim", "lpips", "flicker", "fid", "fvd"}
    for name in ("identity", "keypoints", "psnr", "flicker"):
        cls = METRICS.get(name)
        assert all(k in METRIC_INFO for k in cls.keys)
    assert METRIC_INFO[ID_COS_REF].higher_is_better is True and METRIC_INFO["keypoint_nme"].higher_is_better is False

    class Sharpness(ClipMetric):
        name = "sharpness"
        keys = ("sharpness_test_key",)

        def compute(self, data):
            return {"sharpness_test_key": 1.0}

    with pytest.raises(HeadSwapBenchError, match="register_info"):
        _ = Sharpness().infos
    register_info(MetricInfo("sharpness_test_key", True, "a.u.", "test plug-in key"))
    try:
        assert [(i.name, i.version) for i in Sharpness().infos] == [("sharpness_test_key", "1")]
        with pytest.raises(ValueError, match="already described"):
            register_info(MetricInfo("sharpness_test_key", False, "a.u.", "different"))
    finally:
        METRIC_INFO.pop("sharpness_test_key")
