"""MEAR loss, temporal windows and config: hand-computed cases (fast, no model)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from headswapbench.directswap.config import DirectSwapConfig, available_configs
from headswapbench.directswap.loss import (
    IRISES,
    LEFT_EYE,
    LIPS,
    RIGHT_EYE,
    landmark_emphasis,
    landmark_map,
    mear_loss,
    mear_weights,
    motion_map,
)
from headswapbench.directswap.swapper import temporal_windows
from headswapbench.errors import HeadSwapBenchError


def test_alpha_beta_zero_is_exactly_plain_mse():
    g = torch.Generator().manual_seed(0)
    pred, eps = torch.randn(2, 4, 3, 5, 5, generator=g), torch.randn(2, 4, 3, 5, 5, generator=g)
    m, lmap = torch.rand(2, 3, 5, 5, generator=g), torch.rand(2, 3, 5, 5, generator=g)
    w = mear_weights(m, lmap, 0.0, 0.0)
    assert torch.equal(w, torch.ones_like(w))
    for normalize in (False, True):
        got = mear_loss(pred, eps, w, normalize=normalize)
        torch.testing.assert_close(got, F.mse_loss(pred, eps), rtol=0, atol=0)


def test_mear_loss_hand_computed():
    # B=1, C=2, T=1, h=1, w=2; errors (pred - eps): channel 0 -> [1, 2], channel 1 -> [0, 3]
    pred = torch.tensor([[[[[1.0, 2.0]]], [[[0.0, 3.0]]]]])
    eps = torch.zeros_like(pred)
    m = torch.tensor([[[[0.0, 1.0]]]])  # [B,T,h,w]
    lmap = torch.tensor([[[[0.5, 0.0]]]])
    w = mear_weights(m, lmap, alpha=2.0, beta=4.0)  # 1 + 2m + 4l = [3, 3]
    assert w.tolist() == [[[[3.0, 3.0]]]]
    w = mear_weights(m, lmap, alpha=3.0, beta=0.0)  # non-uniform: [1, 4]
    assert w.tolist() == [[[[1.0, 4.0]]]]
    # squared errors: pixel0 -> 1 (c0) + 0 (c1); pixel1 -> 4 + 9 ; weighted: 1*1 + 1*0 + 4*4 + 4*9 = 53; n = 4
    assert mear_loss(pred, eps, w).item() == pytest.approx(53 / 4)
    # normalised by mean(w) = 2.5
    assert mear_loss(pred, eps, w, normalize=True).item() == pytest.approx(53 / 4 / 2.5)
    assert mear_loss(pred, eps, None).item() == pytest.approx((1 + 4 + 0 + 9) / 4)


def test_motion_map_hand_computed():
    # one clip, 3 frames, 1 channel... use 3 channels to check the channel mean; 2x2 pixels, no downsampling
    f0 = torch.zeros(3, 2, 2)
    f1 = f0.clone()
    f1[:, 0, 0] = torch.tensor([1.0, 2.0, 3.0])  # mean |diff| = 2 at (0,0)
    f2 = f1.clone()
    f2[0, 1, 1] = 3.0  # mean |diff| = 1 at (1,1)
    m = motion_map(torch.stack([f0, f1, f2])[None], (2, 2))
    expected = torch.tensor([
        [[1.0, 0.0], [0.0, 0.0]],  # frame 0 reuses the 0->1 difference
        [[1.0, 0.0], [0.0, 0.0]],
        [[0.0, 0.0], [0.0, 0.5]],
    ])
    torch.testing.assert_close(m[0], expected)
    # downsampling to 1x1 averages: frame diffs 2/4=0.5, 0.5, 1/4=0.25 -> normalised 1, 1, 0.5
    torch.testing.assert_close(motion_map(torch.stack([f0, f1, f2])[None], (1, 1)).flatten(),
                               torch.tensor([1.0, 1.0, 0.5]))
    assert motion_map(torch.zeros(1, 4, 3, 2, 2), (2, 2)).abs().sum() == 0  # static clip: no motion, no NaN


def test_landmark_map_hand_computed():
    k = 478
    lm = torch.full((1, 2, k, 2), float("nan"))
    lm[0, 0, 0] = torch.tensor([1.0, 2.0])  # landmark 0 (lips: emphasis 1.0) at x=1, y=2 (pixel coords, 4x4)
    lm[0, 0, 1] = torch.tensor([3.0, 0.0])  # landmark 1 (face oval: emphasis 0.5)
    out = landmark_map(lm, frame_size=(4, 4), size=(4, 4), sigma=1.0)
    assert out.shape == (1, 2, 4, 4)
    e = math.exp(-0.5)
    assert out[0, 0, 2, 1].item() == pytest.approx(1.0)  # at the emphasised landmark
    assert out[0, 0, 2, 2].item() == pytest.approx(e)  # one pixel away
    assert out[0, 0, 0, 3].item() == pytest.approx(0.5)  # at the plain landmark: 0.5 (max-normalised by 1.0)
    assert out[0, 0, 3, 3].item() == pytest.approx(max(0.5 * math.exp(-4.5), math.exp(-2.5)))
    assert torch.all(out[0, 1] == 0)  # frame without a face
    # latent at half resolution: pixel centre (x+0.5)/2-0.5 -> landmark at (1,2) sits at (0.25, 0.75)
    half = landmark_map(lm, frame_size=(4, 4), size=(2, 2), sigma=1.0)
    d2 = 0.25**2 + 0.25**2  # to latent pixel (0,1)
    raw = torch.tensor([[math.exp(-(0.25**2 + 0.75**2) / 2), math.exp(-(0.75**2 + 0.75**2) / 2)],
                        [math.exp(-d2 / 2), math.exp(-(0.75**2 + 0.25**2) / 2)]])
    plain = 0.5 * torch.tensor([[math.exp(-((1.25 - 0) ** 2 + 0.25**2) / 2), math.exp(-(0.25**2 + 0.25**2) / 2)],
                                [math.exp(-((1.25) ** 2 + 1.25**2) / 2), math.exp(-(0.25**2 + 1.25**2) / 2)]])
    expect = torch.maximum(raw, plain)
    torch.testing.assert_close(half[0, 0], expect / expect.max())


def test_landmark_groups_match_mediapipe():
    from mediapipe.python.solutions import face_mesh_connections as fm

    def idx(conn):
        return sorted({i for e in conn for i in e})

    assert sorted(LIPS) == idx(fm.FACEMESH_LIPS)
    assert sorted(LEFT_EYE) == idx(fm.FACEMESH_LEFT_EYE)
    assert sorted(RIGHT_EYE) == idx(fm.FACEMESH_RIGHT_EYE)
    assert set(idx(fm.FACEMESH_IRISES)) <= set(IRISES)
    s = landmark_emphasis()
    assert s[list(LIPS)].min() == 1.0 and s[10] == 0.5  # 10: forehead, not emphasised


@pytest.mark.parametrize("num,window,overlap", [(5, 8, 2), (20, 8, 2), (17, 8, 4), (121, 16, 4), (9, 8, 0)])
def test_temporal_windows_cover_and_crossfade(num, window, overlap):
    ws = temporal_windows(num, window, overlap)
    total = torch.zeros(num)
    for s, e, w in ws:
        assert 0 <= s < e <= num and e - s == min(window, num)
        assert torch.all(w > 0)
        total[s:e] += w
    assert torch.all(total > 0)
    for (s0, e0, _), (s1, _e1, _) in itertools.pairwise(ws):
        assert s1 > s0 and e0 - s1 >= overlap  # consecutive windows share at least `overlap` frames
    overlaps = [e0 - s1 for (_, e0, _), (s1, _, _) in itertools.pairwise(ws)]
    if overlaps and 2 * max(overlaps) <= window:  # ramps don't collide: an exact linear cross-fade summing to 1
        (s0, e0, w0), (s1, _, w1) = ws[0], ws[1]
        ov = e0 - s1
        torch.testing.assert_close(w1[:ov], torch.arange(1, ov + 1) / (ov + 1))
        torch.testing.assert_close(w0[-ov:] + w1[:ov], torch.ones(ov))
        torch.testing.assert_close(total, torch.ones(num))


def test_config_roundtrip_and_errors(tmp_path):
    assert {"directswap-tiny", "directswap-sd15"} <= set(available_configs())
    tiny = DirectSwapConfig.load("directswap-tiny")
    assert tiny.smoke_model and tiny.resolution == 64 and tiny.latent_size == 8
    sd = DirectSwapConfig.load("directswap-sd15")
    assert not sd.smoke_model and sd.unet["cross_attention_dim"] == 768 and sd.latent_size == 64
    path = tiny.save(tmp_path / "c.json")
    assert DirectSwapConfig.load(path) == tiny
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "no_such_key": 1}')
    with pytest.raises(HeadSwapBenchError, match="no_such_key"):
        DirectSwapConfig.load(bad)
    with pytest.raises(HeadSwapBenchError, match="not found"):
        DirectSwapConfig.load("directswap-nope")
    with pytest.raises(HeadSwapBenchError, match="mixed_precision"):
        DirectSwapConfig(mixed_precision="fp8")
