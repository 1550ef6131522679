"""DirectSwap training on accelerate: mixed precision, gradient accumulation, gradient checkpointing,
periodic checkpoints and exact resume, multi-GPU through ``accelerate launch``.

Exact resume: every random draw of step ``s`` (which clips, which windows, noise, timesteps, reference
dropout) comes from generators seeded by ``(seed, s, micro-batch, rank)``, and a checkpoint holds the full
model (safetensors), the AdamW state (safetensors) and the step. Training N steps, stopping, and resuming for
N more gives the same weights as 2N steps in one go (same number of processes and config).

Output folder::

    config.json            the training config (with `init`: where each part was initialised from)
    checkpoints/step-XXXXXXXX/  model folder (loadable) + optimizer.safetensors + trainer_state.json
    model/                 final model folder: config.json, architecture.json, model.safetensors, README.md
    loss.csv, loss.png     the loss curve
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import os
import re
import shutil
import time
from pathlib import Path

import torch

from ..errors import HeadSwapBenchError
from ..fileio import atomic_path, atomic_write_json, atomic_write_text
from .config import CONFIG_FILE, DirectSwapConfig
from .data import TripletWindows, _seed, collate
from .loss import landmark_map, mear_loss, mear_weights, motion_map
from .model import DirectSwapModel, build_model, load_model, save_model

log = logging.getLogger(__name__)
CKPT_RE = re.compile(r"^step-(\d{8})$")
OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FILE = "trainer_state.json"


# -- one step's maths (shared by the trainer and the overfit test) ---------------------------------------
def make_noise(shape, num_train_timesteps: int, batch: int, dropout: float, seed: int):
    """Noise, timesteps and reference-keep mask from one seeded generator (CPU, so any device agrees)."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(shape, generator=g)
    timesteps = torch.randint(0, num_train_timesteps, (batch,), generator=g)
    keep = (torch.rand(batch, generator=g) >= dropout).float()
    return noise, timesteps, keep


def mear_weight_map(config: DirectSwapConfig, target: torch.Tensor, landmarks: torch.Tensor,
                    latent_hw: tuple[int, int]) -> torch.Tensor | None:
    """The MEAR weight ``1 + α·m + β·l`` at latent resolution, or None for plain MSE (α = β = 0)."""
    if not config.mear_alpha and not config.mear_beta:
        return None
    m = motion_map(target, latent_hw) if config.mear_alpha else None
    sigma = max(config.mear_sigma * latent_hw[0], 0.5)
    frame_hw = tuple(target.shape[-2:])
    lmap = landmark_map(landmarks, frame_hw, latent_hw, sigma) if config.mear_beta else None
    return mear_weights(m, lmap, config.mear_alpha, config.mear_beta)


def diffusion_loss(model: DirectSwapModel, denoiser, scheduler, batch: dict, noise_seed: int,
                   device: torch.device, autocast=contextlib.nullcontext) -> torch.Tensor:
    """Encode the batch, noise the target latents, predict the noise, return the MEAR loss."""
    cfg = model.config
    driving = model.encode_video(batch["driving"].to(device)).float()
    target = model.encode_video(batch["target"].to(device)).float()
    tokens = model.encode_reference(batch["reference"].to(device))
    noise, t, keep = make_noise(target.shape, scheduler.config.num_train_timesteps, target.shape[0],
                                cfg.reference_dropout, noise_seed)
    noise, t, keep = noise.to(device), t.to(device), keep.to(device)
    noisy = scheduler.add_noise(target, noise, t)
    weight = mear_weight_map(cfg, batch["target"], batch["landmarks"], tuple(target.shape[-2:]))
    with autocast():
        pred = denoiser(noisy, t, driving, tokens, keep)
    return mear_loss(pred, noise, None if weight is None else weight.to(device), normalize=cfg.mear_normalize)


# -- checkpoints -----------------------------------------------------------------------------------------
def list_checkpoints(out: Path) -> list[tuple[int, Path]]:
    ck = out / "checkpoints"
    if not ck.is_dir():
        return []
    found = []
    for p in ck.iterdir():
        m = CKPT_RE.match(p.name)
        if m and (p / STATE_FILE).is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def _optimizer_to_safetensors(opt_state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for idx, st in opt_state["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"state.{idx}.{k}"] = v.detach().to("cpu").contiguous()
            else:
                scalars[f"{idx}.{k}"] = v
    return tensors, {"param_groups": opt_state["param_groups"], "scalars": scalars}


def _optimizer_from_safetensors(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for key, v in tensors.items():
        _, idx, name = key.split(".", 2)
        state.setdefault(int(idx), {})[name] = v
    for key, v in meta.get("scalars", {}).items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = v
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(out: Path, step: int, model: DirectSwapModel, optimizer, history: list, extra: dict) -> Path:
    """Write ``checkpoints/step-XXXXXXXX`` atomically (temp folder renamed into place)."""
    from safetensors.torch import save_file

    final = out / "checkpoints" / f"step-{step:08d}"
    tmp = out / "checkpoints" / f".tmp-step-{step:08d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    save_model(model, tmp, card_extra=f"Training checkpoint at step {step}.")
    tensors, meta = _optimizer_to_safetensors(optimizer.state_dict())
    save_file(tensors, str(tmp / OPTIMIZER_FILE))
    atomic_write_json(tmp / STATE_FILE, {"step": step, "optimizer": meta, "history": history, **extra})
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def _prune(out: Path, keep: int) -> None:
    for _, p in list_checkpoints(out)[:-keep] if keep > 0 else []:
        shutil.rmtree(p, ignore_errors=True)


# -- loss curve ------------------------------------------------------------------------------------------
def write_loss_curve(out: Path, history: list[list], title: str) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["step", "loss", "lr"])
    w.writerows(history)
    atomic_write_text(out / "loss.csv", buf.getvalue())
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h[0] for h in history]
    losses = [h[1] for h in history]
    k = max(1, len(losses) // 20)
    smooth = [sum(losses[max(0, i - k + 1): i + 1]) / len(losses[max(0, i - k + 1): i + 1])
              for i in range(len(losses))]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(steps, losses, lw=0.8, alpha=0.5, label="loss")
    ax.plot(steps, smooth, lw=1.5, label=f"moving mean ({k})")
    ax.set_xlabel("step")
    ax.set_ylabel("MEAR loss")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    with atomic_path(out / "loss.png") as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


# -- the training run ------------------------------------------------------------------------------------
def _lr_at(config: DirectSwapConfig, step: int) -> float:
    if config.warmup_steps <= 0:
        return config.learning_rate
    return config.learning_rate * min(1.0, (step + 1) / config.warmup_steps)


def train(data: str | Path, config: str | Path | DirectSwapConfig = "directswap-tiny", out: str | Path = "runs/ds",
          *, split: str = "train", resume: bool = False, max_steps: int | None = None, pretrained: bool = True,
          progress: bool = True) -> dict:
    """Train DirectSwap on a packaged split; returns a summary dict (also written to ``out/summary.json``)."""
    from accelerate import Accelerator
    from diffusers import DDPMScheduler
    from tqdm.auto import tqdm

    out = Path(out)
    saved_cfg = out / CONFIG_FILE
    ckpts = list_checkpoints(out) if resume else []
    if resume and not ckpts:
        log.warning("--resume: no checkpoint in %s; starting from scratch", out / "checkpoints")
    if ckpts:
        asked = config.name if isinstance(config, DirectSwapConfig) else str(config)
        config = DirectSwapConfig.load(saved_cfg if saved_cfg.is_file() else ckpts[-1][1])
        log.info("directswap: --resume uses the run's own config %s (%s); --config %s is ignored",
                 saved_cfg, config.name, asked)
    elif not isinstance(config, DirectSwapConfig):
        config = DirectSwapConfig.load(config)
    if not resume and list_checkpoints(out):
        raise HeadSwapBenchError(f"{out} already holds checkpoints; pass --resume to continue or choose a new --out")
    if max_steps is not None:
        config.max_steps = int(max_steps)
    try:
        accelerator = Accelerator(mixed_precision=config.mixed_precision, gradient_accumulation_steps=1)
    except (ValueError, RuntimeError) as exc:
        raise HeadSwapBenchError(f"config {config.name}: cannot set up accelerate ({exc})") from None
    device, rank, world = accelerator.device, accelerator.process_index, accelerator.num_processes
    main = accelerator.is_main_process
    if config.smoke_model and main:
        log.warning("directswap: %s is a SMOKE MODEL (tiny, for testing the code); its outputs are meaningless",
                    config.name)

    with accelerator.main_process_first():  # the main process fills the landmark cache, the others read it
        dataset = TripletWindows(data, split, resolution=config.resolution, num_frames=config.num_frames,
                                 landmarks=bool(config.mear_beta), progress=progress and main)
    start_step, history = 0, []
    if ckpts:
        step0, ck = ckpts[-1]
        model = load_model(ck)
        state = json.loads((ck / STATE_FILE).read_text())
        start_step, history = int(state["step"]), [list(h) for h in state["history"]]
        config.init = model.config.init
        model.config = config
        log.info("directswap: resuming from %s (step %d)", ck, step0)
    else:
        model = build_model(config, pretrained=pretrained)
        state = None
    if main:
        out.mkdir(parents=True, exist_ok=True)
        config.save(saved_cfg)
    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(config.mixed_precision, torch.float32)
    for frozen in (model.vae, model.image_encoder):
        frozen.to(device)
        if weight_dtype != torch.float32:
            frozen.to(dtype=weight_dtype)
    denoiser = model.denoiser
    denoiser.train()
    if config.gradient_checkpointing:
        denoiser.unet.enable_gradient_checkpointing()
    params = [p for p in denoiser.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, betas=(config.adam_beta1, config.adam_beta2),
                                  eps=config.adam_eps, weight_decay=config.weight_decay)
    if state is not None:
        from safetensors.torch import load_file

        tensors = {k: v.clone() for k, v in load_file(str(ck / OPTIMIZER_FILE)).items()}  # aligned copies
        optimizer.load_state_dict(_optimizer_from_safetensors(tensors, state["optimizer"]))
    denoiser, optimizer = accelerator.prepare(denoiser, optimizer)
    if state is not None and state.get("grad_scaler") and accelerator.scaler is not None:
        accelerator.scaler.load_state_dict(state["grad_scaler"])
    scheduler = DDPMScheduler(**config.scheduler)
    ga, bs = config.gradient_accumulation_steps, config.batch_size

    t0 = time.perf_counter()
    bar = tqdm(total=config.max_steps, initial=start_step, desc=f"train {config.name}", disable=not (progress and main),
               unit="step")
    step = start_step
    for step in range(start_step, config.max_steps):
        lr = _lr_at(config, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        total = torch.zeros((), device=device)
        for micro in range(ga):
            first = ((step * ga + micro) * world + rank) * bs
            batch = collate([dataset.sample(config.seed, first + j) for j in range(bs)])
            sync = micro == ga - 1
            with contextlib.nullcontext() if sync else accelerator.no_sync(denoiser):
                loss = diffusion_loss(model, denoiser, scheduler, batch, _seed(config.seed, step, micro, rank),
                                      device, accelerator.autocast) / ga
                accelerator.backward(loss)
            total += loss.detach()
        if config.max_grad_norm:
            accelerator.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = accelerator.reduce(total, "mean").item()
        if not math.isfinite(loss_value):
            raise HeadSwapBenchError(f"training diverged at step {step + 1}: loss is {loss_value}")
        done = step + 1
        if done % config.log_every == 0 or done == config.max_steps:
            history.append([done, loss_value, lr])
        bar.update(1)
        bar.set_postfix(loss=f"{loss_value:.4f}")
        if done % config.checkpoint_every == 0 or done == config.max_steps:
            accelerator.wait_for_everyone()
            if main:
                extra = {"grad_scaler": accelerator.scaler.state_dict() if accelerator.scaler else None,
                         "num_processes": world}
                save_checkpoint(out, done, model, optimizer, history, extra)
                _prune(out, config.keep_checkpoints)
                write_loss_curve(out, history, _title(config))
    bar.close()
    accelerator.wait_for_everyone()
    seconds = time.perf_counter() - t0
    summary = {
        "out": str(out), "config": config.name, "smoke_model": config.smoke_model, "steps": config.max_steps,
        "resumed_from_step": start_step if ckpts else None, "steps_run": config.max_steps - start_step,
        "seconds": round(seconds, 2),
        "seconds_per_step": round(seconds / max(1, config.max_steps - start_step), 4),
        "first_loss": history[0][1] if history else None, "final_loss": history[-1][1] if history else None,
        "num_processes": world, "device": str(device), "mixed_precision": config.mixed_precision,
        "init": config.init, "model_dir": str(out / "model"), "loss_csv": str(out / "loss.csv"),
        "loss_png": str(out / "loss.png"), "num_clips": len(dataset),
    }
    if main:
        note = (f"Trained {config.max_steps} steps on split '{split}' of {data} ({len(dataset)} clips); final loss "
                f"{summary['final_loss']}.")
        save_model(model, out / "model", card_extra=note)
        write_loss_curve(out, history, _title(config))
        atomic_write_json(out / "summary.json", summary)
    return summary


def _title(config: DirectSwapConfig) -> str:
    return f"DirectSwap {config.name}{' (SMOKE MODEL)' if config.smoke_model else ''}: training loss"
