"""Smoke check on real footage (../shared/data) with the offline face backends (FaceMesh + dlib).

lp_d18.mp4 and images/lp_d19.jpg show the same man (SOURCES.tsv); edtalk_mouth_source.mp4 shows a different
person. A "perfect swap" output (the genuine clip itself) must be close to the reference and far from the
driving identity (replacement 1); a "noop" output (the driving clip) the other way round (replacement 0).
A clip against itself has zero geometric error; against itself two frames later, a small positive one.
"""

from __future__ import annotations

import pytest
from headswapbench.metrics.base import (
    ID_COS_DRIVING,
    ID_COS_REF,
    ID_COS_TARGET,
    KEYPOINT_NME,
    POSE_ERROR,
    REPLACEMENT,
)
from headswapbench.metrics.geometry import ExpressionError, KeypointNME, PoseError
from headswapbench.metrics.identity import IdentityMetric

from headswapbench.evaluation.metric import ClipData
from headswapbench.types import Video


@pytest.fixture(scope="module")
def clips(shared_data):
    from headswapbench.face import analyze_image, analyze_video
    from headswapbench.video import read_frames, read_image

    person = Video(read_frames(shared_data / "videos" / "lp_d18.mp4", list(range(0, 48, 2))), 15.0)
    later = Video(read_frames(shared_data / "videos" / "lp_d18.mp4", list(range(2, 50, 2))), 15.0)
    other = Video(read_frames(shared_data / "videos" / "edtalk_mouth_source.mp4", list(range(0, 48, 2))), 12.5)
    reference = read_image(shared_data / "images" / "lp_d19.jpg")
    kw = {"identity_every": 6, "progress": False}
    return {
        "person": (person, analyze_video(person, **kw)),
        "later": (later, analyze_video(later, identity=None, progress=False)),
        "other": (other, analyze_video(other, **kw)),
        "reference": (reference, analyze_image(reference)),
    }


def _data(clips, output: str) -> ClipData:
    (out, out_a), (tgt, tgt_a) = clips[output], clips["person"]
    (drv, drv_a), (ref, ref_a) = clips["other"], clips["reference"]
    return ClipData("real", "lp_d18", out, target=tgt, driving=drv, reference=ref, output_analysis=out_a,
                    target_analysis=tgt_a, driving_analysis=drv_a, reference_analysis=ref_a)


def test_identity_same_person_high_other_person_low(clips):
    swap = IdentityMetric().compute(_data(clips, "person"))  # output = the genuine clip: a perfect swap
    assert swap[ID_COS_TARGET] > 0.95 and swap[ID_COS_REF] > 0.95
    assert swap[ID_COS_DRIVING] < swap[ID_COS_REF] - 0.1
    assert swap[REPLACEMENT] == 1.0
    noop = IdentityMetric().compute(_data(clips, "other"))  # output = the driving clip: nothing replaced
    assert noop[ID_COS_DRIVING] > 0.95 and noop[ID_COS_REF] < noop[ID_COS_DRIVING] - 0.1
    assert noop[REPLACEMENT] == 0.0


def test_geometry_zero_on_itself_small_on_shifted(clips):
    same = _data(clips, "person")
    assert KeypointNME().compute(same)[KEYPOINT_NME] == 0.0
    assert PoseError().compute(same)[POSE_ERROR] == 0.0
    shifted = _data(clips, "later")
    nme = KeypointNME().compute(shifted)[KEYPOINT_NME]
    assert 0.0 < nme < 0.05  # neighbouring frames of a talking head: well under 5 % of the eye distance
    assert 0.0 < PoseError().compute(shifted)[POSE_ERROR] < 5.0
    assert ExpressionError().compute(shifted)["expression_error"] > 0.0
