"""PSNR / SSIM against scikit-image, LPIPS against the lpips package with the same (stand-in) weights, and
the flicker measure on hand-built cases. Inputs are real frames from ../shared/data.

Tolerances:
- PSNR: 1e-3 dB (ours is piq's definition from exact integer squared differences). Both compute 10·log10(range²/MSE) over all pixels and channels in float64; piq adds 1e-8
  to the MSE (on a [0, 1] scale), which lowers a value by 10·log10(1 + 1e-8/MSE): ~2e-4 dB at 36 dB
  (measured here), 0.04 dB at 60 dB; it is also what caps identical frames at 80 dB instead of infinity.
- SSIM: 2e-4 absolute. Same definition (11x11 gaussian, sigma 1.5, K1 0.01, K2 0.03, population
  covariances, valid window positions, mean over channels) once piq's automatic 2x down-sampling is off
  (our setting) and skimage runs with ``gaussian_weights=True, use_sample_covariance=False``; they differ
  only in float32 (ours, piq) vs float64 (skimage) arithmetic and separable-vs-2-D filtering.
- LPIPS: 1e-5 absolute: same network, same weights, same inputs; only batching differs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from headswapbench.metrics.base import FLICKER, LPIPS, PSNR, SSIM
from headswapbench.metrics.paired import LPIPSMetric, PSNRMetric, SSIMMetric
from headswapbench.metrics.temporal import FlickerMetric

from headswapbench.evaluation.metric import ClipData
from headswapbench.types import Video


@pytest.fixture(scope="module")
def real_pair(shared_data):
    """6 frames of a real talking-head clip (target) and an imperfect copy (output): shifted by one frame,
    plus mild noise — a realistic, non-trivial pair."""
    from headswapbench.video import read_frames

    frames = read_frames(shared_data / "videos" / "lp_d18.mp4", list(range(0, 14, 2)))[:, ::4, ::4]
    rng = np.random.default_rng(0)
    tgt = np.ascontiguousarray(frames[:6])
    out = np.clip(frames[1:7].astype(int) + rng.integers(-6, 7, tgt.shape), 0, 255).astype(np.uint8)
    return out, tgt


def _clip(out, tgt) -> ClipData:
    return ClipData("c", "s", Video(out, 25.0), target=Video(tgt, 25.0))


def test_psnr_matches_skimage(real_pair):
    from skimage.metrics import peak_signal_noise_ratio

    out, tgt = real_pair
    ours = PSNRMetric(batch_size=4).per_frame(_clip(out, tgt))
    ref = [peak_signal_noise_ratio(t, o, data_range=255) for o, t in zip(out, tgt)]
    np.testing.assert_allclose(ours, ref, atol=1e-3)
    assert PSNRMetric().compute(_clip(out, tgt))[PSNR] == pytest.approx(np.mean(ref), abs=1e-3)


def test_ssim_matches_skimage(real_pair):
    from skimage.metrics import structural_similarity

    out, tgt = real_pair
    ours = SSIMMetric(batch_size=4).per_frame(_clip(out, tgt))
    ref = [structural_similarity(t, o, data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False) for o, t in zip(out, tgt)]
    np.testing.assert_allclose(ours, ref, atol=2e-4)
    assert 0.2 < np.mean(ref) < 0.99  # a non-trivial pair


def test_ssim_cpu_and_gpu_paths_agree(real_pair):
    """The CPU path (separable float32, cv2) and the path a GPU device takes (piq.ssim in float32) give the
    same SSIM within the stated tolerance, so the device does not change the number."""
    import piq
    import torch
    from headswapbench.metrics.paired import ssim_frames

    out, tgt = real_pair
    x = torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255
    y = torch.from_numpy(tgt).permute(0, 3, 1, 2).float() / 255
    gpu_path = piq.ssim(x, y, data_range=1.0, kernel_size=11, kernel_sigma=1.5, downsample=False,
                        reduction="none").numpy()
    np.testing.assert_allclose(ssim_frames(out, tgt), gpu_path, atol=2e-4)


@pytest.fixture(scope="module")
def standin_alexnet(tmp_path_factory):
    """A stand-in for alexnet-owt-7be5be79.pth: torchvision AlexNet with a fixed random init (synthetic
    weights; the real file cannot be downloaded here), saved where torchvision/lpips look for it."""
    import torch
    import torchvision

    torch_home = tmp_path_factory.mktemp("torch_home")
    path = torch_home / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    path.parent.mkdir(parents=True)
    torch.manual_seed(1234)
    torch.save(torchvision.models.alexnet().state_dict(), path)
    return torch_home, path


def test_lpips_equals_lpips_package_with_same_weights(real_pair, standin_alexnet, monkeypatch):
    import lpips
    import torch

    torch_home, path = standin_alexnet
    out, tgt = real_pair
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    reference = lpips.LPIPS(net="alex", verbose=False).eval()  # loads the same file via torchvision's cache
    x = torch.from_numpy(out).permute(0, 3, 1, 2).float() / 127.5 - 1
    y = torch.from_numpy(tgt).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        ref = reference(x, y).flatten().numpy()
    metric = LPIPSMetric(batch_size=4, lpips_weights=path)
    ours = metric.per_frame(_clip(out, tgt))
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    assert ref.min() > 1e-3  # the comparison is not between zeros
    assert metric.compute(_clip(tgt, tgt))[LPIPS] == pytest.approx(0.0, abs=1e-7)
    assert metric.weights()["lpips-alexnet"] != metric.settings()["linear_heads_sha256"]


def test_lpips_stand_in_fails_the_pinned_hash_through_the_manager(standin_alexnet, tmp_path, monkeypatch):
    """Without an explicit override the file comes from the weights manager, whose pinned full sha256
    (7be5be79…) the random stand-in cannot match: a clear ChecksumError, never a silent wrong LPIPS."""
    from headswapbench.errors import ChecksumError

    _, path = standin_alexnet
    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path))
    (tmp_path / "lpips-alexnet").mkdir()
    (tmp_path / "lpips-alexnet" / path.name).write_bytes(path.read_bytes())
    with pytest.raises(ChecksumError, match="7be5be79"):
        LPIPSMetric()


def test_missing_weights_make_metrics_unavailable_not_fatal(tmp_path, monkeypatch):
    from headswapbench.errors import HeadSwapBenchError
    from headswapbench.evaluation.metric import load_metrics

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path))
    metrics, missing = load_metrics(["psnr", "lpips", "fid", "fvd", "flicker"])
    assert [m.name for m in metrics] == ["psnr", "flicker"]
    assert set(missing) == {"lpips", "fid", "fvd"}
    assert "alexnet-owt-7be5be79.pth" in str(missing["lpips"]) and "i3d_torchscript.pt" in str(missing["fvd"])
    with pytest.raises(HeadSwapBenchError, match="unknown metric option"):
        load_metrics(["psnr"], options={"no_such_option": 1})


def test_oracle_is_perfect_on_paired_metrics(real_pair):
    _, tgt = real_pair
    d = _clip(tgt.copy(), tgt)
    assert PSNRMetric().compute(d)[PSNR] == pytest.approx(80.0)  # piq's ceiling for identical frames
    assert SSIMMetric().compute(d)[SSIM] == pytest.approx(1.0, abs=1e-6)
    assert FlickerMetric().compute(d)[FLICKER] == 0.0


def test_flicker_hand_cases():
    rng = np.random.default_rng(0)
    tgt = rng.integers(40, 200, (5, 16, 16, 3)).astype(np.uint8)
    # a constant brightness offset changes no frame-to-frame difference → 0
    assert FlickerMetric().compute(_clip(tgt + 10, tgt))[FLICKER] == pytest.approx(0.0, abs=1e-4)
    # alternate frames +d / -d (grey, all channels): every change is off by 2d → flicker 2d
    d = 5
    signs = np.array([1, -1, 1, -1, 1])[:, None, None, None]
    out = (tgt.astype(int) + d * signs).astype(np.uint8)
    assert FlickerMetric().compute(_clip(out, tgt))[FLICKER] == pytest.approx(2 * d, rel=1e-5)
    # a frozen output misses the target's motion: equals the target's own mean |ΔY|
    frozen = np.repeat(tgt[:1], 5, axis=0)
    expected = np.abs(np.diff(tgt.astype(np.float64) @ [0.299, 0.587, 0.114], axis=0)).mean()  # BT.601 luma
    assert FlickerMetric(batch_size=2).compute(_clip(frozen, tgt))[FLICKER] == pytest.approx(expected, rel=1e-5)
    assert math.isnan(FlickerMetric().compute(_clip(tgt[:1], tgt[:1]))[FLICKER])


def test_fast_paths_refuse_what_they_cannot_score():
    """Frames smaller than the SSIM window, mismatched stacks and non-uint8 input are refused with a
    ValueError (a coded metric_failed in a run), never a silent NaN or a wrong dB figure."""
    from headswapbench.metrics.paired import psnr_frames, ssim_frames

    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (1, 10, 40, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="smaller than the 11-px SSIM window"):
        ssim_frames(small, small[:, ::-1].copy())
    a = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="one shape"):
        psnr_frames(a[:2], a)
    with pytest.raises(ValueError, match="uint8"):
        psnr_frames(a.astype(np.float32) / 255, a.astype(np.float32) / 255)
