"""FID / FVD: the Fréchet distance against a direct scipy computation and pytorch-fid's, the running
moments against numpy, the whole FID against pytorch-fid on the same images with the same (stand-in)
Inception weight file, and FVD's windowing and TorchScript loading with a stand-in detector."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
from headswapbench.metrics.base import FID, FVD
from headswapbench.metrics.fid import FIDMetric, GaussianStats, frechet_distance, frechet_distance_features

from headswapbench.evaluation.metric import ClipData
from headswapbench.types import Video


def _random_stats(rng, dim, n):
    a = rng.normal(size=(n, dim)) @ rng.normal(size=(dim, dim)) * 0.3 + rng.normal(size=dim)
    return a.mean(0), np.cov(a, rowvar=False)


def _scipy_frechet(mu1, s1, mu2, s2) -> float:
    """The textbook formula with scipy's general matrix square root."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_frechet_matches_scipy_and_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(0)
    mu1, s1 = _random_stats(rng, 64, 500)
    mu2, s2 = _random_stats(rng, 64, 500)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert ours == pytest.approx(_scipy_frechet(mu1, s1, mu2, s2), rel=1e-7)
    assert ours == pytest.approx(calculate_frechet_distance(mu1, s1, mu2, s2), rel=1e-7)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-7)
    # hand case: identical covariances I, means 3 apart → distance 9
    assert frechet_distance(np.zeros(4), np.eye(4), np.array([3.0, 0, 0, 0]), np.eye(4)) == pytest.approx(9.0)
    # diagonal covariances: tr(S1 + S2 - 2 sqrt(S1 S2)) = sum (sqrt a - sqrt b)^2
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    assert frechet_distance(np.zeros(3), np.diag(a), np.zeros(3), np.diag(b)) == pytest.approx(1 + 0 + 4)


def test_low_rank_form_matches_scipy():
    """Fewer samples than dimensions (rank-deficient covariances, the small-set case): the exact SVD form
    from feature rows equals the textbook formula, and GaussianStats picks it while it keeps the rows."""
    rng = np.random.default_rng(2)
    f1 = rng.normal(size=(12, 40)) * 2 + 1
    f2 = rng.normal(size=(9, 40))
    mu1, s1 = f1.mean(0), np.cov(f1, rowvar=False)
    mu2, s2 = f2.mean(0), np.cov(f2, rowvar=False)
    expected = _scipy_frechet(mu1, s1, mu2, s2)
    assert frechet_distance_features(f1, f2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    a, b = GaussianStats(40), GaussianStats(40)
    a.add(f1[:5])
    a.add(f1[5:])
    b.add(f2)
    assert a.features() is not None and a.frechet(b) == pytest.approx(expected, rel=1e-6)
    big = GaussianStats(40)
    big.add(rng.normal(size=(41, 40)))  # more rows than dimensions: rows dropped, moments only
    assert big.features() is None


def test_running_moments_match_numpy_and_merge():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 16)) * 5 + 100  # large offset: the float64 running form must stay accurate
    whole, part1, part2 = GaussianStats(16), GaussianStats(16), GaussianStats(16)
    whole.add(x)
    part1.add(x[:120])
    part2.add(x[120:])
    part1.merge(part2)
    for s in (whole, part1):
        mu, cov = s.mean_cov()
        np.testing.assert_allclose(mu, x.mean(0), rtol=1e-12)
        np.testing.assert_allclose(cov, np.cov(x, rowvar=False), rtol=1e-8, atol=1e-9)
    with pytest.raises(ValueError, match="non-finite"):
        whole.add(np.full((1, 16), np.nan))


# ---------------------------------------------------------------------------------------------------------
# Whole FID vs pytorch-fid with the same stand-in weight file
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def standin_inception(tmp_path_factory):
    """A stand-in for pt_inception-2015-12-05-6726825d.pth (synthetic: the real file cannot be downloaded
    here): torchvision's Inception-v3 layout with 1008 classes (the FID network has the same state-dict
    keys), fixed random init, BatchNorm statistics calibrated on one random batch so activations stay O(1)."""
    import torch
    import torchvision

    torch_home = tmp_path_factory.mktemp("torch_home")
    path = torch_home / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None
    net.train()
    with torch.no_grad():
        net(torch.rand(4, 3, 299, 299) * 2 - 1)
    torch.save(net.state_dict(), path)
    return torch_home, path


@pytest.fixture(scope="module")
def two_sets(shared_data):
    """Real frames of two different people (an 'output' set and a 'target' set), 4 each, 120 px."""
    from headswapbench.video import read_frames

    a = read_frames(shared_data / "videos" / "lp_d18.mp4", list(range(0, 40, 10)))[:, ::4, ::4]
    b = read_frames(shared_data / "videos" / "lp_d19.mp4", list(range(0, 40, 10)))[:, ::4, ::4]
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


def _write_pngs(root, sets):
    from PIL import Image

    dirs = []
    for name, frames in sets:
        (root / name).mkdir()
        for i, f in enumerate(frames):
            Image.fromarray(f).save(root / name / f"{i:03d}.png")
        dirs.append(str(root / name))
    return dirs


@pytest.fixture(scope="module")
def fid_metric(standin_inception):
    return FIDMetric(batch_size=5, fid_weights=standin_inception[1])


def test_fid_statistics_equal_pytorch_fid(standin_inception, fid_metric, two_sets, tmp_path, monkeypatch):
    """pytorch-fid reads the same frames as PNG files and runs its own Inception on the same weight file: its
    activations (and so mean/covariance) must equal ours, and our FID must be the Fréchet distance of its
    activations (the distance functions are checked against scipy and pytorch-fid above; the full
    pytorch-fid FID, whose 2048-d scipy sqrtm takes minutes on 2 cores, is the slow test below)."""
    import torch
    from pytorch_fid.fid_score import get_activations
    from pytorch_fid.inception import InceptionV3

    torch_home, _ = standin_inception
    out, tgt = two_sets
    d_out, d_tgt = _write_pngs(tmp_path, [("out", out), ("tgt", tgt)])
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    ref_model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    with torch.no_grad():
        ref = [get_activations(sorted(Path(d).glob("*.png")), ref_model, 5, 2048, "cpu", 0) for d in (d_out, d_tgt)]

    metric = fid_metric
    metric.reset()
    half = len(out) // 2  # two clips, to exercise accumulation across clips
    for sl in (slice(0, half), slice(half, None)):
        metric.update(ClipData("c", "s", Video(out[sl], 25.0), target=Video(tgt[sl], 25.0)))
    for role, acts in zip(("output", "target"), ref):
        feats = metric.state[role].features()
        np.testing.assert_allclose(feats, acts, rtol=1e-4, atol=1e-4 * np.abs(acts).max())
        mu, sigma = metric.state[role].mean_cov()
        np.testing.assert_allclose(mu, acts.mean(0), rtol=1e-4, atol=1e-4 * np.abs(acts).max())
        np.testing.assert_allclose(sigma, np.cov(acts, rowvar=False), atol=1e-3 * np.abs(acts).max() ** 2)
    ours = metric.compute()[FID]
    assert ours == pytest.approx(frechet_distance_features(*ref), rel=1e-5)
    assert ours > 1.0
    counts = metric.counts()
    assert counts["clips"] == 2 and counts["frames_output"] == len(out) and counts["input_sizes"] == ["120x120"]
    s = metric.settings()
    assert s["frame_stride"] == 1 and "299" in s["resize"] and len(metric.weights()["fid-inception"]) == 64


@pytest.mark.slow
def test_fid_equals_pytorch_fid_end_to_end(standin_inception, fid_metric, two_sets, tmp_path, monkeypatch):
    from pytorch_fid.fid_score import calculate_fid_given_paths

    torch_home, _ = standin_inception
    out, tgt = two_sets
    dirs = _write_pngs(tmp_path, [("out", out), ("tgt", tgt)])
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    ref = calculate_fid_given_paths(dirs, batch_size=5, device="cpu", dims=2048, num_workers=0)
    fid_metric.reset()
    fid_metric.update(ClipData("c", "s", Video(out, 25.0), target=Video(tgt, 25.0)))
    # rank-deficient covariances (few samples in 2048-d): pytorch-fid's scipy sqrtm of the non-symmetric
    # product carries ~1e-6 relative noise; our eigenvalue form is exact up to float64.
    assert fid_metric.compute()[FID] == pytest.approx(ref, rel=1e-4)


def test_fid_frame_stride_and_too_few_frames(fid_metric, two_sets):
    out, tgt = two_sets
    fid_metric.frame_stride = 3
    try:
        feats = fid_metric.extract(ClipData("c", "s", Video(out, 25.0), target=Video(tgt, 25.0)))
    finally:
        fid_metric.frame_stride = 1
    assert feats["output"].shape == (2, 2048)  # frames 0 and 3 of 4
    fid_metric.reset()
    fid_metric.add({k: v[:1] if k != "input_size" else v for k, v in feats.items()})
    assert math.isnan(fid_metric.compute()[FID])  # one frame per side: no covariance, no number
    with pytest.raises(ValueError, match="fid_frame_stride"):
        FIDMetric(fid_frame_stride=0)


# ---------------------------------------------------------------------------------------------------------
# FVD with a stand-in TorchScript detector
# ---------------------------------------------------------------------------------------------------------
def test_fvd_windows_and_distance(standin_i3d, two_sets):
    import torch
    from headswapbench.metrics.fvd import FVDMetric, window_starts

    assert window_starts(121) == [0, 16, 32, 48, 64, 80, 96] and window_starts(15) == []
    rng = np.random.default_rng(0)
    clips = [(rng.integers(0, 255, (40, 24, 24, 3), dtype=np.uint8),
              rng.integers(0, 255, (40, 24, 24, 3), dtype=np.uint8)) for _ in range(3)]
    metric = FVDMetric(batch_size=1, fvd_weights=standin_i3d)
    for out, tgt in clips:
        metric.update(ClipData("c", "s", Video(out, 25.0), target=Video(tgt, 25.0)))
    # independent recomputation: call the detector on the windows by hand
    det = torch.jit.load(str(standin_i3d))

    def feats(v):
        wins = np.stack([v[0:16], v[16:32]])  # 40 frames → 2 windows, last 8 frames dropped
        x = torch.from_numpy(wins).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
        return det(x, rescale=False, resize=True, return_features=True).numpy()

    fo = np.concatenate([feats(o) for o, _ in clips])
    ft = np.concatenate([feats(t) for _, t in clips])
    expected = _scipy_frechet(fo.mean(0), np.cov(fo, rowvar=False), ft.mean(0), np.cov(ft, rowvar=False))
    assert metric.compute()[FVD] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert metric.counts() == {"clips": 3, "windows": 6, "clips_too_short": 0}
    metric.update(ClipData("short", "s", Video(clips[0][0][:10], 25.0), target=Video(clips[0][1][:10], 25.0)))
    assert metric.counts()["clips_too_short"] == 1


def test_fvd_rejects_a_file_that_is_not_torchscript(tmp_path):
    from headswapbench.metrics.fvd import FVDMetric

    from headswapbench.errors import HeadSwapBenchError

    bad = tmp_path / "i3d_torchscript.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(HeadSwapBenchError, match="i3d_torchscript.pt.*is not a TorchScript archive"):
        FVDMetric(fvd_weights=bad)


def test_a_fake_i3d_in_the_cache_is_refused_by_its_pinned_hash(standin_i3d, tmp_path, monkeypatch):
    """The reported attack: a valid TorchScript that is not StyleGAN-V's I3D (it gave FVD 0.0) placed where
    the real file goes. The cache copy is checked against the full pinned sha256 and refused in one line."""
    from headswapbench.metrics.fvd import FVDMetric

    from headswapbench import weights as W
    from headswapbench.errors import ChecksumError

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path))
    spec = W.get_spec("fvd-i3d")
    (tmp_path / "fvd-i3d").mkdir()
    (tmp_path / "fvd-i3d" / spec.filename).write_bytes(standin_i3d.read_bytes())
    with pytest.raises(ChecksumError) as exc:
        FVDMetric()
    assert spec.sha256 in str(exc.value) and "i3d_torchscript.pt" in str(exc.value)
    row = W.verify("fvd-i3d")
    assert row["status"] == "mismatch" and row["present"] and not row["ok"]


def test_a_stand_in_given_by_path_is_recorded_as_unpinned(standin_i3d):
    """An explicit weights path is allowed (a local copy, a stand-in) but its fingerprint says whether it is
    the pinned file: results carry ``pinned: false`` for anything else."""
    from headswapbench import weights as W
    from headswapbench.fileio import sha256_file

    fp = W.fingerprint("fvd-i3d", standin_i3d)
    assert fp == {"sha256": sha256_file(standin_i3d), "pinned": False}
    assert W.fingerprint("fvd-i3d", sha256=fp["sha256"]) == fp  # from a digest a metric already holds
    assert W.fingerprint("fvd-i3d", sha256=W.get_spec("fvd-i3d").sha256)["pinned"] is True
