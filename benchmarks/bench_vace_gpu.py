"""Wan2.1-VACE at real size on a GPU: seconds per 121-frame 512² clip and peak GPU memory of the `vace` editor.

The pipeline is the published architecture with **random weights** (same shapes, same FLOPs and memory as the
real checkpoint; the pixels are meaningless), so it runs without downloading anything. The clip goes through the
editor's whole path: landmarks, segmented head mask, face-mesh control, donor reference, overlapping windows
(121 frames = 2 windows of 81), composite. Without CUDA it reports the reason and writes no figures.

    python -m benchmarks vace_gpu                                  # via the runner: bench_out/vace_gpu.json
    python -m benchmarks.bench_vace_gpu --model 1.3B               # direct; prints JSON
    python -m benchmarks.bench_vace_gpu --model 14B --cpu-offload  # the 14B model, weights offloaded to CPU RAM
    python -m benchmarks.bench_vace_gpu --transformer-config transformer/config.json   # a checkout's real config

Figures: ``seconds_per_clip`` (wall, CUDA-synchronised, after a short warm-up window), ``seconds_per_window``,
``seconds_per_denoise_step`` (window time / steps: both CFG branches), ``prep_and_composite_seconds`` (the rest:
landmarks, masks, reference, composite; CPU), ``peak_allocated_gib`` / ``peak_reserved_gib``
(torch.cuda.max_memory_*), parameter counts, device, versions. Check the script without a GPU: ``--model tiny``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .common import SHARED_DATA

# WanVACETransformer3DModel configs of the diffusers checkpoints (the class defaults are the 14B's);
# --transformer-config replaces them with a checkpoint's own transformer/config.json.
TRANSFORMER_CONFIGS = {
    "1.3B": {"num_attention_heads": 12, "attention_head_dim": 128, "ffn_dim": 8960, "num_layers": 30,
             "vace_layers": list(range(0, 30, 2)), "text_dim": 4096, "freq_dim": 256, "in_channels": 16,
             "out_channels": 16, "patch_size": [1, 2, 2], "cross_attn_norm": True,
             "qk_norm": "rms_norm_across_heads", "eps": 1e-6, "rope_max_seq_len": 1024, "vace_in_channels": 96},
    "14B": {"num_attention_heads": 40, "attention_head_dim": 128, "ffn_dim": 13824, "num_layers": 40,
            "vace_layers": list(range(0, 40, 5)), "text_dim": 4096, "freq_dim": 256, "in_channels": 16,
            "out_channels": 16, "patch_size": [1, 2, 2], "cross_attn_norm": True,
            "qk_norm": "rms_norm_across_heads", "eps": 1e-6, "rope_max_seq_len": 1024, "vace_in_channels": 96},
}
# google/umt5-xxl encoder (both VACE checkpoints ship it as text_encoder/)
UMT5_XXL = {"vocab_size": 256384, "d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_layers": 24, "num_heads": 64,
            "feed_forward_proj": "gated-gelu", "relative_attention_num_buckets": 32,
            "relative_attention_max_distance": 128, "tie_word_embeddings": False, "dropout_rate": 0.0}


def build_random_pipeline(model: str = "1.3B", device: str = "cuda", dtype: str = "bfloat16",
                          transformer_config: str | None = None):
    """WanVACEPipeline with the real architecture and random weights, built straight on ``device``: transformer
    and text encoder in ``dtype`` (fp32 for the modules diffusers keeps in fp32), the VAE in float32."""
    import tempfile

    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanVACEPipeline, WanVACETransformer3DModel
    from headswapbench.pipelines.edit import _tiny_tokenizer
    from transformers import UMT5Config, UMT5EncoderModel

    cfg = dict(TRANSFORMER_CONFIGS[model])
    if transformer_config:
        cfg = {k: v for k, v in json.loads(Path(transformer_config).read_text()).items() if not k.startswith("_")}
    torch_dtype = getattr(torch, dtype)
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch_dtype)  # build in bf16: a 17B model never exists in fp32 on the GPU
        with torch.device(device):
            transformer = WanVACETransformer3DModel(**cfg)
            text_encoder = UMT5EncoderModel(UMT5Config(**UMT5_XXL))
    finally:
        torch.set_default_dtype(previous)
    keep = transformer._keep_in_fp32_modules  # what from_pretrained keeps in fp32, matched the same way
    for name, tensor in [*transformer.named_parameters(), *transformer.named_buffers()]:
        if any(k in name for k in keep) and tensor.is_floating_point():
            tensor.data = tensor.data.to(torch.float32)
    with torch.device(device):
        vae = AutoencoderKLWan()  # Wan2.1 VAE defaults, float32
    for m in (transformer, text_encoder, vae):
        m.eval().requires_grad_(False)
    # byte-level tokenizer (offline): the prompt is padded to max_sequence_length, so the cost is the real one
    tokenizer = _tiny_tokenizer(Path(tempfile.mkdtemp(prefix="hsb-vace-gpu-tok-")))
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    return WanVACEPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                           scheduler=scheduler)


def _clip(frames: int, size: int):
    """A real clip from ../shared/data when present, else an embedded SYNTHETIC sample clip."""
    from headswapbench.samples import make_sample_clip
    from headswapbench.video import read_video

    real = SHARED_DATA / "videos" / "lp_d10.mp4"  # 448 frames at 30 fps
    if real.is_file():
        return read_video(real, num_frames=frames, size=size), f"real: {real.name}"
    return make_sample_clip("tom_hanks", num_frames=frames, size=size).video, "SYNTHETIC: sample tom_hanks"


def measure(model: str = "1.3B", steps: int = 30, frames: int = 121, size: int = 512, cpu_offload: bool = False,
            transformer_config: str | None = None, device: str = "cuda") -> dict:
    """Time one clip through the editor. ``model="tiny"`` with ``device="cpu"`` checks this script without a GPU
    (tiny random pipeline; no memory figures)."""
    import diffusers
    import torch
    from headswapbench.pipelines.vace import DEFAULT_MODEL, MODEL_14B, VaceEditor, build_tiny_pipeline, plan_windows

    cuda = device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    clip, source = _clip(frames, size)
    t0 = time.perf_counter()
    if model == "tiny":
        pipe = build_tiny_pipeline()
    else:
        pipe = build_random_pipeline(model, transformer_config=transformer_config,
                                     device="cpu" if cpu_offload else device)
    build_s = time.perf_counter() - t0
    params = {k: round(sum(p.numel() for p in getattr(pipe, k).parameters()) / 1e9, 3)
              for k in ("transformer", "text_encoder", "vae")}
    editor = VaceEditor(model_id={"1.3B": DEFAULT_MODEL, "14B": MODEL_14B}.get(model, model), steps=steps,
                        size=size, device=device, cpu_offload=cpu_offload, progress=False)
    editor.set_pipeline(pipe)
    prompt, attrs = editor.sample_prompt(0, clip=clip)
    # warm-up: one short window (CUDA context, kernels, the segmenter) outside the timed clip
    steps_saved, editor.steps = editor.steps, 2
    editor.apply(type(clip)(clip.frames[-9:].copy(), clip.fps), prompt, 0)
    editor.steps = steps_saved
    window_s: list[float] = []
    run_window = editor._run_window

    def timed(*a, **k):
        sync()
        t = time.perf_counter()
        out = run_window(*a, **k)
        sync()
        window_s.append(round(time.perf_counter() - t, 2))
        return out

    editor._run_window = timed
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    sync()
    t0 = time.perf_counter()
    out = editor.apply(clip, prompt, 0)  # everything: landmarks, masks, windows, composite
    sync()
    clip_s = time.perf_counter() - t0
    assert out.frames.shape == clip.frames.shape
    gib = 1024 ** 3
    return {
        "model": model, "weights": "random (real architecture)" if model != "tiny" else "tiny random",
        "clip": source, "frames": frames, "size": size, "steps": steps, "guidance": editor.guidance,
        "windows": plan_windows(frames, editor.window, editor.overlap), "cpu_offload": cpu_offload,
        "params_billion": params, "build_random_pipeline_s": round(build_s, 1),
        "seconds_per_clip": round(clip_s, 1), "seconds_per_window": window_s,
        "seconds_per_denoise_step": round(sum(window_s) / len(window_s) / steps, 3),
        "prep_and_composite_seconds": round(clip_s - sum(window_s), 2),
        "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / gib, 2) if cuda else None,
        "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / gib, 2) if cuda else None,
        "device": torch.cuda.get_device_name() if cuda else "cpu", "torch": torch.__version__,
        "cuda": torch.version.cuda, "diffusers": diffusers.__version__, "donor": attrs.get("donor"),
    }


def run(out_dir: Path) -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device: run `python -m benchmarks vace_gpu` on a GPU machine"}
    return {"1.3B": measure("1.3B")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=[*TRANSFORMER_CONFIGS, "tiny"], default="1.3B",
                    help="tiny: the tiny random pipeline on the CPU, to check this script without a GPU")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--frames", type=int, default=121)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--cpu-offload", action="store_true", help="enable_model_cpu_offload (less GPU memory)")
    ap.add_argument("--transformer-config", help="a checkpoint's transformer/config.json instead of the built-in")
    args = ap.parse_args(argv)
    import torch

    device = "cpu" if args.model == "tiny" else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"skipped": "no CUDA device"}))
        return 0
    print(json.dumps(measure(args.model, args.steps, args.frames, args.size, args.cpu_offload,
                             args.transformer_config, device), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
