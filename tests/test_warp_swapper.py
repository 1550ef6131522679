"""The classical `warp` swapper on real footage: same frame count/size/fps as the driving clip, identity moved
towards the reference (dlib, offline), a clear error when the reference has no face."""

from __future__ import annotations

import numpy as np
import pytest

from headswapbench.errors import FaceNotFoundError
from headswapbench.swappers import SWAPPERS, SwapContext
from headswapbench.types import Video


def test_warp_swapper_moves_identity_towards_the_reference(shared_data):
    from headswapbench.face import analyze_image, analyze_video
    from headswapbench.face.identity import cosine
    from headswapbench.video import read_image, read_video

    driving = read_video(shared_data / "videos" / "edtalk_mouth_source.mp4", num_frames=24)  # 256², 25 fps
    reference = read_image(shared_data / "images" / "edtalk_leijun.png")  # a different person
    swapper = SWAPPERS.get("warp")()
    out = swapper.swap(driving, reference)
    assert out.frames.shape == driving.frames.shape and out.fps == driving.fps and out.frames.dtype == np.uint8
    assert swapper.describe()["name"] == "warp"

    ref = analyze_image(reference).identity
    drv = analyze_video(driving, identity_every=4, progress=False).mean_identity()
    res = analyze_video(out, identity_every=4, progress=False).mean_identity()
    # measured: sim(driving, ref) 0.81 -> sim(output, ref) 0.95; sim(output, driving) 0.85
    assert cosine(res, ref) > cosine(drv, ref) + 0.05
    assert cosine(res, ref) > cosine(res, drv)  # closer to the reference than to the driving identity


def test_warp_swapper_needs_a_face_in_the_reference(tmp_path):
    blank = np.full((128, 128, 3), 127, np.uint8)
    driving = Video(np.zeros((2, 64, 64, 3), np.uint8), 25.0)
    ctx = SwapContext(clip_id="c1", reference_path=tmp_path / "ref.png")
    with pytest.raises(FaceNotFoundError, match="warp swapper: no face.*ref.png"):
        SWAPPERS.get("warp")().swap(driving, blank, ctx)


def test_warp_swapper_refuses_a_driving_clip_without_any_face(shared_data, tmp_path):
    """Used to return the driving clip unchanged (exit 0 from `swap`) when no frame had a face."""
    from headswapbench.video import read_image

    reference = read_image(shared_data / "images" / "lp_d9.jpg")
    driving = Video(np.full((4, 96, 96, 3), 90, np.uint8), 25.0)
    ctx = SwapContext(clip_id="c1", driving_path=tmp_path / "blank.mp4", reference_path=tmp_path / "ref.png")
    with pytest.raises(FaceNotFoundError, match="no face found on any of the 4 driving frames.*blank.mp4"):
        SWAPPERS.get("warp")().swap(driving, reference, ctx)
