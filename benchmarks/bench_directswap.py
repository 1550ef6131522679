"""DirectSwap: training step time and inference seconds per frame for the directswap-tiny SMOKE MODEL on CPU,
the size of the real (SD-1.5-shaped) config with one CPU forward of its denoiser, and GPU figures for the real
config when CUDA is available. Inputs are random tensors (timing does not depend on content).

    python -m benchmarks directswap           # BENCH_DIRECTSWAP_REAL=0 skips the real-size CPU forward
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numpy as np
import torch


def _batch(cfg, bs: int, g: torch.Generator) -> dict:
    r, t = cfg.resolution, cfg.num_frames
    lm = torch.rand(bs, t, 478, 2, generator=g) * r * 0.5 + r * 0.25  # a face-sized cloud of landmarks
    return {"driving": torch.rand(bs, t, 3, r, r, generator=g) * 2 - 1,
            "target": torch.rand(bs, t, 3, r, r, generator=g) * 2 - 1,
            "reference": torch.rand(bs, 3, r, r, generator=g), "landmarks": lm}


def _train_step_time(model, cfg, device, steps: int, bs: int = 1, autocast_dtype=None) -> float:
    from diffusers import DDPMScheduler

    from headswapbench.directswap.train import diffusion_loss

    sched = DDPMScheduler(**cfg.scheduler)
    opt = torch.optim.AdamW([p for p in model.denoiser.parameters() if p.requires_grad], lr=1e-5)
    batch = _batch(cfg, bs, torch.Generator().manual_seed(0))
    model.denoiser.train()

    def autocast():
        return torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype else torch.autocast(
            device.type, enabled=False)

    times = []
    for i in range(steps + 1):  # first step is warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = diffusion_loss(model, model.denoiser, sched, batch, i, device, autocast)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    model.denoiser.eval()
    return float(np.median(times[1:]))


def _infer_time(model, num_frames: int, size: int, steps: int) -> float:
    from headswapbench.directswap.swapper import generate

    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (num_frames, size, size, 3), dtype=np.uint8)
    ref = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    t0 = time.perf_counter()
    generate(model, clip, ref, steps=steps, guidance=model.config.guidance_scale, seed=0)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / num_frames


def run(out_dir: Path) -> dict:
    from headswapbench.directswap.config import DirectSwapConfig
    from headswapbench.directswap.model import build_model

    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict = {"note": "directswap-tiny is a SMOKE MODEL: timings only, no quality", "cpu_threads_default":
                     torch.get_num_threads()}
    cpu = torch.device("cpu")
    tiny = DirectSwapConfig.load("directswap-tiny")
    model = build_model(tiny, pretrained=False)
    figures["tiny_params"] = model.num_parameters()
    default_threads = torch.get_num_threads()
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)
        key = f"tiny_cpu_{threads}thr"
        figures[f"{key}_train_step_s (batch 1, {tiny.num_frames}f @ {tiny.resolution}px)"] = round(
            _train_step_time(model, tiny, cpu, steps=10), 4)
        figures[f"{key}_infer_s_per_frame (24f @ 96px, {tiny.inference_steps} DDIM steps, CFG)"] = round(
            _infer_time(model, 24, 96, tiny.inference_steps), 4)
    torch.set_num_threads(default_threads)
    del model

    real = DirectSwapConfig.load("directswap-sd15")
    t0 = time.perf_counter()
    big = build_model(real, pretrained=False)  # SD-1.5 shape, random init, fp32
    figures["real_build_s"] = round(time.perf_counter() - t0, 1)
    params = big.num_parameters()
    figures["real_params"] = params
    figures["real_fp32_weights_GiB"] = round(sum(params.values()) * 4 / 2**30, 2)
    figures["real_train_state_GiB_fp32_adamw (denoiser w+grad+2 moments)"] = round(params["denoiser"] * 16 / 2**30, 2)
    if os.environ.get("BENCH_DIRECTSWAP_REAL", "1") != "0":
        with torch.no_grad():  # one denoiser forward on 2 frames at the real latent size (64x64 = 512px)
            lat = real.latent_size
            x = torch.randn(1, 4, 2, lat, lat)
            tokens = torch.randn(1, 257, big.image_encoder.config.hidden_size)
            t0 = time.perf_counter()
            big.denoiser(x, torch.tensor([500]), x, tokens)
            figures["real_cpu_denoiser_forward_s_per_frame (fp32, 512px)"] = round((time.perf_counter() - t0) / 2, 2)
    figures["peak_rss_GiB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    if torch.cuda.is_available():
        dev = torch.device("cuda")
        big.to(dev)
        big.vae.to(dtype=torch.bfloat16)
        big.image_encoder.to(dtype=torch.bfloat16)
        big.denoiser.unet.enable_gradient_checkpointing()
        torch.cuda.reset_peak_memory_stats()
        step = _train_step_time(big, real, dev, steps=3, autocast_dtype=torch.bfloat16)
        figures["real_gpu_train_it_per_s (batch 1, 16f @ 512px, bf16 autocast, grad ckpt)"] = round(1 / step, 3)
        figures["real_gpu_train_peak_mem_GiB"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        big.to(dtype=torch.float16)
        torch.cuda.reset_peak_memory_stats()
        figures["real_gpu_infer_s_per_frame (32f @ 512px, 25 DDIM steps, CFG, fp16)"] = round(
            _infer_time(big, 32, 512, 25), 3)
        figures["real_gpu_infer_peak_mem_GiB"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        figures["gpu"] = torch.cuda.get_device_name()
    return figures
