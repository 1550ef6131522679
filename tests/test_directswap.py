"""DirectSwap end to end on a mini split built from ../shared/data: model building, training (loss falls,
exact resume, CLI), save → load → swap, safetensors-only loading. Uses the directswap-tiny SMOKE MODEL."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from headswapbench.directswap.config import DirectSwapConfig
from headswapbench.errors import HeadSwapBenchError
from headswapbench.split import TripletRow
from headswapbench.types import Video

# subject → (clip file, reference frame index); the driving clip of each triplet is ANOTHER subject's clip:
# a synthetic stand-in for the edited V_c (same frame count; labelled editor="synthetic-other-subject").
SUBJECTS = {"klobuchar": "edtalk_mouth_source", "expr": "edtalk_expression_source", "d19": "lp_d19"}
FRAMES, SIZE = 12, 96


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The tiny model's ops are so small that thread hand-offs dominate: one thread is ~5x faster on a busy
    2-core CI machine (measured 0.11 vs 0.68 s per training step)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def mini_split(tmp_path_factory, shared_data):
    return build_mini_split(tmp_path_factory.mktemp("ds-split"), shared_data)


def build_mini_split(root, shared_data):
    """3 subjects x 12 frames at 96x96 from the real clips in ../shared/data (driving: synthetic stand-in)."""
    from headswapbench.video import read_video, write_image, write_video

    names = list(SUBJECTS)
    clips = {s: read_video(shared_data / "videos" / f"{SUBJECTS[s]}.mp4", num_frames=FRAMES, size=SIZE) for s in names}
    refs = {s: read_video(shared_data / "videos" / f"{SUBJECTS[s]}.mp4", start=60, num_frames=1, size=SIZE).frames[0]
            for s in names}
    rows = []
    for i, s in enumerate(names):
        other = names[(i + 1) % len(names)]
        cid = f"{s}-000"
        write_video(root / "train" / "target" / f"{cid}.mp4", clips[s])
        write_video(root / "train" / "driving" / f"{cid}.mp4", Video(clips[other].frames, clips[s].fps))
        write_image(root / "train" / "reference" / f"{cid}.png", refs[s])
        rows.append(TripletRow(
            clip_id=cid, subject_id=s, source_video=SUBJECTS[s], start_frame=0, num_frames=FRAMES,
            fps=clips[s].fps, width=SIZE, height=SIZE, driving_file_name=f"driving/{cid}.mp4",
            reference_file_name=f"reference/{cid}.png", target_file_name=f"target/{cid}.mp4",
            editor="synthetic-other-subject", prompt="SYNTHETIC: driving is another subject's real clip").to_dict())
    (root / "train" / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def tiny_config(**kw) -> DirectSwapConfig:
    cfg = DirectSwapConfig.load("directswap-tiny")
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


def test_dataset_windows_and_landmarks(mini_split):
    from headswapbench.directswap.data import TripletWindows

    ds = TripletWindows(mini_split, "train", resolution=64, num_frames=8, progress=False)
    assert len(ds) == 3 and ds.lengths == [FRAMES] * 3
    s = ds.sample(seed=0, n=4)
    assert s.driving.shape == s.target.shape == (8, 3, 64, 64) and s.reference.shape == (3, 64, 64)
    assert -1 <= s.driving.min() and s.driving.max() <= 1
    lm = s.landmarks[..., :2]
    assert torch.isfinite(lm).all() and lm.min() >= 0 and lm.max() <= 64  # faces found, model-res pixels
    again = ds.sample(seed=0, n=4)  # the n-th sample is a pure function of (seed, n)
    assert again.clip_id == s.clip_id and again.start == s.start and torch.equal(again.target, s.target)
    epoch0 = {ds.sample(0, n).clip_id for n in range(3)}
    assert epoch0 == {r.clip_id for r in ds.rows}  # every clip once per epoch


def test_conv_in_inflation_keeps_pretrained_output():
    from diffusers import UNet2DConditionModel

    from headswapbench.directswap.model import inflate_conv_in

    cfg = tiny_config()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**cfg.unet).eval()
    x, ctx = torch.randn(1, 4, 8, 8), torch.randn(1, 5, 32)
    with torch.no_grad():
        before = unet(x, 10, encoder_hidden_states=ctx).sample
        inflate_conv_in(unet, 4)
        assert unet.conv_in.in_channels == 8 and unet.config.in_channels == 8
        assert torch.all(unet.conv_in.weight[:, 4:] == 0)
        after = unet(torch.cat([x, torch.randn(1, 4, 8, 8)], 1), 10, encoder_hidden_states=ctx).sample
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-6)


def test_build_records_init_and_loads_local_pretrained(tmp_path):
    """A part whose Hub id is unavailable falls back to the config and says so; one that resolves (here a
    local diffusers folder) is loaded from safetensors."""
    from diffusers import UNet2DConditionModel

    from headswapbench.directswap.model import build_model

    torch.manual_seed(1)
    src = UNet2DConditionModel(**tiny_config().unet)
    src.save_pretrained(tmp_path / "unet-src")  # safetensors by default
    cfg = tiny_config(unet_id=str(tmp_path / "unet-src"), unet_subfolder=None,
                      motion_adapter_id="guoyww/animatediff-motion-adapter-v1-5-3")
    model = build_model(cfg)
    assert cfg.init["unet"]["source"] == "hub" and cfg.init["unet"]["id"] == str(tmp_path / "unet-src")
    assert cfg.init["motion_adapter"]["source"] == "config (random init)"
    assert cfg.init["motion_adapter"]["wanted"] == "guoyww/animatediff-motion-adapter-v1-5-3"
    assert cfg.init["vae"] == {"source": "config (random init)"}
    torch.testing.assert_close(model.denoiser.unet.conv_in.weight[:, :4], src.conv_in.weight)
    torch.testing.assert_close(model.denoiser.unet.conv_out.weight, src.conv_out.weight)


def test_training_loss_falls_on_fixed_batch(mini_split):
    """Overfit check: 40 AdamW steps on one fixed batch (fixed noise and timesteps) cut the MEAR loss."""
    from diffusers import DDPMScheduler

    from headswapbench.directswap.data import TripletWindows, collate
    from headswapbench.directswap.model import build_model
    from headswapbench.directswap.train import diffusion_loss

    cfg = tiny_config(reference_dropout=0.0)
    model = build_model(cfg, pretrained=False)
    ds = TripletWindows(mini_split, "train", resolution=64, num_frames=8, progress=False)
    batch = collate([ds.sample(0, 0), ds.sample(0, 1)])
    opt = torch.optim.AdamW(model.denoiser.parameters(), lr=2e-3, weight_decay=0)
    sched = DDPMScheduler(**cfg.scheduler)
    model.denoiser.train()
    losses = []
    for _ in range(40):
        loss = diffusion_loss(model, model.denoiser, sched, batch, noise_seed=123, device=torch.device("cpu"))
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def _weights(folder):
    return load_file(str(folder / "model.safetensors"))


@pytest.fixture(scope="module")
def trained(mini_split, tmp_path_factory):
    """Run A: 4 steps in one go (checkpoint every 2). Run B: 2 steps, then --resume to 4 via the CLI."""
    from headswapbench.cli.main import main
    from headswapbench.directswap.train import train

    base = tmp_path_factory.mktemp("ds-runs")
    cfg_file = tiny_config(checkpoint_every=2, batch_size=1, gradient_accumulation_steps=2).save(base / "cfg.json")
    a = train(mini_split, cfg_file, base / "a", max_steps=4, progress=False)
    b1 = train(mini_split, cfg_file, base / "b", max_steps=2, progress=False)
    rc = main(["train", "directswap", "--data", str(mini_split), "--config", str(cfg_file), "--out",
               str(base / "b"), "--resume", "--max-steps", "4", "--json"])
    assert rc == 0
    return {"a": base / "a", "b": base / "b", "summary_a": a, "summary_b1": b1, "base": base}


def test_resume_is_exact(trained):
    a, b = trained["a"], trained["b"]
    wa, wb = _weights(a / "model"), _weights(b / "model")
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    ha = json.loads((a / "checkpoints" / "step-00000004" / "trainer_state.json").read_text())["history"]
    hb = json.loads((b / "checkpoints" / "step-00000004" / "trainer_state.json").read_text())["history"]
    assert ha == hb and len(ha) == 4
    summary_b = json.loads((b / "summary.json").read_text())
    assert summary_b["resumed_from_step"] == 2 and summary_b["steps_run"] == 2
    # and training moved the weights away from the step-2 checkpoint
    w2 = _weights(b / "checkpoints" / "step-00000002")
    assert not torch.equal(w2["denoiser.unet.conv_in.weight"], wb["denoiser.unet.conv_in.weight"])


def test_run_outputs_are_labelled_and_complete(trained):
    a = trained["a"]
    lines = (a / "loss.csv").read_text().splitlines()
    assert lines[0] == "step,loss,lr" and len(lines) == 5
    assert (a / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = (a / "model" / "README.md").read_text()
    assert "SMOKE MODEL" in card and "never report" in card
    saved = json.loads((a / "model" / "config.json").read_text())
    assert saved["smoke_model"] is True and saved["init"]["unet"]["source"] == "config (random init)"
    assert sorted(p.name for p in (a / "model").iterdir()) == [
        "README.md", "architecture.json", "config.json", "model.safetensors"]
    assert not list(a.rglob("*.bin")) and not list(a.rglob("*.pt"))  # safetensors only
    with pytest.raises(HeadSwapBenchError, match="--resume"):  # never silently overwrite a run
        from headswapbench.directswap.train import train

        train(trained["base"] / "unused", trained["base"] / "cfg.json", a)


def test_save_load_swap(trained, mini_split, monkeypatch):
    from headswapbench.directswap.swapper import DirectSwapSwapper
    from headswapbench.swappers import SWAPPERS
    from headswapbench.swappers.external import make_swapper
    from headswapbench.video import read_image, read_video

    assert SWAPPERS.get("directswap") is DirectSwapSwapper
    drv = read_video(mini_split / "train" / "driving" / "d19-000.mp4")
    drv = Video(np.concatenate([drv.frames, drv.frames[:5]])[:, :, :80], drv.fps)  # 17 frames, 96x80: > window
    ref = read_image(mini_split / "train" / "reference" / "d19-000.png")
    sw = DirectSwapSwapper(trained["a"] / "model", steps=2, guidance=2.0, seed=3)
    out = sw.swap(drv, ref)
    assert out.frames.shape == drv.frames.shape and out.frames.dtype == np.uint8 and out.fps == drv.fps
    assert sw.describe()["smoke_model"] is True and sw.describe()["name"] == "directswap-smoke"
    assert sw.describe()["smoke"] is True  # evaluate turns this into settings.smoke (leaderboard warning)
    again = DirectSwapSwapper(trained["a"] / "model", steps=2, guidance=2.0, seed=3).swap(drv, ref)
    assert np.array_equal(out.frames, again.frames)  # seeded
    monkeypatch.setenv("HEADSWAPBENCH_DIRECTSWAP_WEIGHTS", str(trained["a"] / "model"))
    monkeypatch.setenv("HEADSWAPBENCH_DIRECTSWAP_STEPS", "1")
    viaenv = make_swapper("directswap")
    assert viaenv.steps == 1
    short = Video(drv.frames[:3], drv.fps)
    assert viaenv.swap(short, ref).frames.shape == short.frames.shape
    euler = DirectSwapSwapper(trained["a"] / "model", steps=2, guidance=1.0, scheduler="euler", overlap=0)
    assert euler.swap(drv, ref).frames.shape == drv.frames.shape  # no-CFG path, Euler, minimal overlap


def test_no_weights_is_a_clear_error(monkeypatch, tmp_path):
    from headswapbench.directswap.swapper import DirectSwapSwapper

    monkeypatch.delenv("HEADSWAPBENCH_DIRECTSWAP_WEIGHTS", raising=False)
    with pytest.raises(HeadSwapBenchError, match="HEADSWAPBENCH_DIRECTSWAP_WEIGHTS"):
        DirectSwapSwapper()
    with pytest.raises(HeadSwapBenchError, match="cannot fetch"):  # Hub id, offline
        DirectSwapSwapper("someone/directswap-weights")


class _Exploit:
    """Unpickling this would create a file: proof that the loader never unpickles."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickled_checkpoint_is_refused(trained, tmp_path):
    from headswapbench.directswap.model import load_model

    folder = tmp_path / "evil"
    folder.mkdir()
    for name in ("config.json", "architecture.json"):
        (folder / name).write_bytes((trained["a"] / "model" / name).read_bytes())
    marker = tmp_path / "pwned"
    (folder / "model.bin").write_bytes(pickle.dumps(_Exploit(marker)))
    with pytest.raises(HeadSwapBenchError, match="refusing to load pickled"):
        load_model(folder)
    (folder / "model.safetensors").write_bytes(pickle.dumps(_Exploit(marker)))  # pickle disguised as safetensors
    with pytest.raises(HeadSwapBenchError, match="safetensors"):
        load_model(folder)
    assert not marker.exists()


def test_cli_bad_split_is_one_clear_error(tmp_path, capsys):
    from headswapbench.cli.main import main

    rc = main(["train", "directswap", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "no split 'train'" in err and "Traceback" not in err
