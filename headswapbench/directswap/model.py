"""The DirectSwap network: an SD-1.5-shaped image U-Net inflated to video with AnimateDiff motion modules.

Conditioning is mask-free: the driving clip's VAE latents are concatenated to the noisy latents on the
channel axis (``conv_in`` grows from 4 to 8 channels; the new input channels start at zero so a pretrained
image U-Net behaves exactly as before), and the reference identity enters through cross-attention as
CLIP-vision patch tokens of I_ref mapped to ``cross_attention_dim`` by a small projection.

Weights are read only from safetensors: a downloaded checkpoint can never execute code."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from torch import nn

from ..errors import HeadSwapBenchError
from ..fileio import atomic_path, atomic_write_json, atomic_write_text
from .config import CONFIG_FILE, DirectSwapConfig

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
ARCHITECTURE_FILE = "architecture.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class DirectSwapDenoiser(nn.Module):
    """The trainable part: the motion U-Net (8 input channels) and the reference-token projection."""

    def __init__(self, unet: nn.Module, encoder_dim: int):
        super().__init__()
        self.unet = unet
        dim = unet.config.cross_attention_dim
        self.ref_proj = nn.Sequential(nn.Linear(encoder_dim, dim), nn.LayerNorm(dim))

    def forward(self, noisy: torch.Tensor, timesteps: torch.Tensor, driving: torch.Tensor,
                ref_tokens: torch.Tensor, ref_keep: torch.Tensor | None = None) -> torch.Tensor:
        """noisy, driving: [B,4,T,h,w] latents; ref_tokens: [B,S,E] encoder tokens; ref_keep: [B] 1/0 (0 = null
        reference: zero context, used for classifier-free guidance). Returns predicted noise [B,4,T,h,w]."""
        num_frames = noisy.shape[2]
        context = self.ref_proj(ref_tokens)
        if ref_keep is not None:
            context = context * ref_keep.to(context.dtype)[:, None, None]
        # UNetMotionModel wants one context per frame: (batch·frames, seq, dim)
        context = context.repeat_interleave(num_frames, dim=0)
        x = torch.cat([noisy, driving.to(noisy.dtype)], dim=1)
        return self.unet(x, timesteps, encoder_hidden_states=context).sample


class DirectSwapModel(nn.Module):
    """Denoiser plus the frozen VAE and image encoder, with the pre/post-processing both training and
    inference use."""

    def __init__(self, config: DirectSwapConfig, denoiser: DirectSwapDenoiser, vae: nn.Module,
                 image_encoder: nn.Module):
        super().__init__()
        self.config = config
        self.denoiser = denoiser
        self.vae = vae
        self.image_encoder = image_encoder
        self.vae.requires_grad_(False)
        self.image_encoder.requires_grad_(False)

    # -- encoders -------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_video(self, frames: torch.Tensor, chunk: int = 16) -> torch.Tensor:
        """frames [B,T,3,H,W] in [-1,1] → latents [B,4,T,h,w] (posterior mean × scaling factor; the mean
        keeps training deterministic, which exact resume relies on)."""
        b, t = frames.shape[:2]
        flat = frames.reshape(b * t, *frames.shape[2:]).to(self.vae.dtype)
        lat = torch.cat([self.vae.encode(flat[i:i + chunk]).latent_dist.mode() for i in range(0, b * t, chunk)])
        lat = lat * self.vae.config.scaling_factor
        return lat.reshape(b, t, *lat.shape[1:]).permute(0, 2, 1, 3, 4).contiguous()

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor, chunk: int = 16) -> torch.Tensor:
        """latents [B,4,T,h,w] → frames [B,T,3,H,W] in [-1,1]."""
        b, c, t = latents.shape[:3]
        flat = latents.permute(0, 2, 1, 3, 4).reshape(b * t, c, *latents.shape[3:]) / self.vae.config.scaling_factor
        flat = flat.to(self.vae.dtype)
        img = torch.cat([self.vae.decode(flat[i:i + chunk]).sample for i in range(0, b * t, chunk)])
        return img.reshape(b, t, *img.shape[1:])

    @torch.no_grad()
    def encode_reference(self, images: torch.Tensor) -> torch.Tensor:
        """images [B,3,H,W] in [0,1] → CLIP-vision tokens [B,S,E] (penultimate layer: patch + class tokens)."""
        size = self.image_encoder.config.image_size
        x = nn.functional.interpolate(images.float(), size=(size, size), mode="bicubic", align_corners=False,
                                      antialias=True).clamp(0, 1)
        mean = torch.tensor(CLIP_MEAN, device=x.device)[:, None, None]
        std = torch.tensor(CLIP_STD, device=x.device)[:, None, None]
        x = ((x - mean) / std).to(self.image_encoder.dtype)
        out = self.image_encoder(pixel_values=x, output_hidden_states=True)
        return out.hidden_states[-2]

    def architecture(self) -> dict:
        return {
            "unet": dict(self.denoiser.unet.config),
            "vae": dict(self.vae.config),
            "image_encoder": self.image_encoder.config.to_dict(),
            "encoder_dim": self.denoiser.ref_proj[0].in_features,
        }

    def num_parameters(self) -> dict:
        def count(m) -> int:
            return sum(p.numel() for p in m.parameters())

        return {"denoiser": count(self.denoiser), "vae": count(self.vae), "image_encoder": count(self.image_encoder)}


# -- building ---------------------------------------------------------------------------------------------
def _pretrained_or_config(kind: str, repo_id: str | None, load, build, init: dict, **kw):
    """Try ``load(repo_id)`` (safetensors only), else ``build()``; record which happened in ``init``."""
    if repo_id:
        try:
            obj = load(repo_id, **kw)
            init[kind] = {"source": "hub", "id": repo_id, **{k: v for k, v in kw.items() if v is not None}}
            log.info("directswap: %s initialised from %s", kind, repo_id)
            return obj
        except Exception as exc:  # noqa: BLE001 -- offline, gated, no safetensors ...: fall back, recorded
            cause = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
            init[kind] = {"source": "config (random init)", "wanted": repo_id, "cause": cause}
            log.warning("directswap: %s NOT initialised from %s (%s); using a random init from the config",
                        kind, repo_id, cause)
            return build()
    init[kind] = {"source": "config (random init)"}
    log.info("directswap: %s built from config (random init)", kind)
    return build()


def inflate_conv_in(unet2d: nn.Module, extra_channels: int) -> None:
    """Grow conv_in by ``extra_channels`` input channels initialised to zero (pretrained output unchanged)."""
    old = unet2d.conv_in
    new = nn.Conv2d(old.in_channels + extra_channels, old.out_channels, old.kernel_size, old.stride, old.padding,
                    dtype=old.weight.dtype, device=old.weight.device)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[:, : old.in_channels] = old.weight
        new.bias.copy_(old.bias)
    unet2d.conv_in = new
    unet2d.register_to_config(in_channels=old.in_channels + extra_channels)


def build_model(config: DirectSwapConfig, pretrained: bool = True) -> DirectSwapModel:
    """Assemble a fresh model: parts from their Hub ids when ``pretrained`` and available (HF cache or
    download), else from the config with a seeded random init. ``config.init`` records the outcome."""
    from diffusers import AutoencoderKL, MotionAdapter, UNet2DConditionModel, UNetMotionModel
    from transformers import CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(config.seed)
    init: dict = {}
    rev = config.revision
    use = (lambda x: x) if pretrained else (lambda x: None)
    unet2d = _pretrained_or_config(
        "unet", use(config.unet_id),
        lambda i, **kw: UNet2DConditionModel.from_pretrained(i, use_safetensors=True, **kw),
        lambda: UNet2DConditionModel(**config.unet), init, subfolder=config.unet_subfolder, revision=rev)
    adapter = _pretrained_or_config(
        "motion_adapter", use(config.motion_adapter_id),
        lambda i, **kw: MotionAdapter.from_pretrained(i, use_safetensors=True, **kw),
        lambda: MotionAdapter(**config.motion_adapter), init, revision=rev)
    vae = _pretrained_or_config(
        "vae", use(config.vae_id),
        lambda i, **kw: AutoencoderKL.from_pretrained(i, use_safetensors=True, **kw),
        lambda: AutoencoderKL(**config.vae), init, subfolder=config.vae_subfolder, revision=rev)
    encoder = _pretrained_or_config(
        "image_encoder", use(config.image_encoder_id),
        lambda i, **kw: CLIPVisionModel.from_pretrained(i, use_safetensors=True, **kw),
        lambda: CLIPVisionModel(CLIPVisionConfig(**config.image_encoder)), init, revision=rev)
    latent_channels = vae.config.latent_channels
    if unet2d.config.in_channels != latent_channels:
        raise HeadSwapBenchError(f"config {config.name}: U-Net in_channels {unet2d.config.in_channels} != VAE "
                                 f"latent_channels {latent_channels}")
    inflate_conv_in(unet2d, latent_channels)  # + driving latents
    from diffusers.utils import logging as diffusers_logging

    verbosity = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()  # from_unet2d warns about a no-op dtype cast on every build
    try:
        unet = UNetMotionModel.from_unet2d(unet2d, adapter)
    finally:
        diffusers_logging.set_verbosity(verbosity)
    del unet2d, adapter
    config.init = init
    denoiser = DirectSwapDenoiser(unet, encoder.config.hidden_size)
    return DirectSwapModel(config, denoiser, vae, encoder).eval()


def _build_from_architecture(config: DirectSwapConfig, arch: dict) -> DirectSwapModel:
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKL, UNetMotionModel
    from transformers import CLIPVisionConfig, CLIPVisionModel

    with init_empty_weights():
        unet = UNetMotionModel.from_config(arch["unet"])
        vae = AutoencoderKL.from_config(arch["vae"])
        enc_cfg = {k: v for k, v in arch["image_encoder"].items() if k not in ("transformers_version",)}
        encoder = CLIPVisionModel(CLIPVisionConfig(**enc_cfg))
        denoiser = DirectSwapDenoiser(unet, int(arch["encoder_dim"]))
        return DirectSwapModel(config, denoiser, vae, encoder)


# -- saving and loading ----------------------------------------------------------------------------------
def model_card(config: DirectSwapConfig, extra: str = "") -> str:
    smoke = (
        "**SMOKE MODEL.** This is the tiny `directswap-tiny` configuration trained for a few minutes on CPU to "
        "prove the training and inference code runs end to end. Its outputs are meaningless; never report them "
        "as DirectSwap's quality.\n\n" if config.smoke_model else "")
    init = "\n".join(f"- {k}: {v}" for k, v in config.init.items()) or "- (not recorded)"
    return (f"---\nlibrary_name: headswapbench\ntags: [head-swap, video-diffusion, directswap"
            f"{', smoke-model' if config.smoke_model else ''}]\n---\n"
            f"# DirectSwap — {config.name}{' (smoke model)' if config.smoke_model else ''}\n\n{smoke}"
            f"Mask-free video diffusion head swapper (SD-1.5-shaped U-Net + AnimateDiff motion modules, driving "
            f"latents concatenated on the input channels, CLIP-vision reference tokens in cross-attention), trained "
            f"with the MEAR loss. Resolution {config.resolution}², window {config.num_frames} frames.\n\n"
            f"## Initialisation\n{init}\n\n{extra}\n"
            f"Weights: `{WEIGHTS_FILE}` (safetensors only). Load with "
            f"`headswapbench.directswap.load_model(folder)` or the `directswap` swapper.\n")


def save_model(model: DirectSwapModel, folder: str | Path, card_extra: str = "") -> Path:
    """Write config.json, architecture.json, model.safetensors and README.md (model card) into ``folder``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "name": model.config.name, "smoke_model": str(model.config.smoke_model)}
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp), metadata=meta)
    atomic_write_json(folder / ARCHITECTURE_FILE, model.architecture())
    model.config.save(folder / CONFIG_FILE)
    atomic_write_text(folder / "README.md", model_card(model.config, card_extra))
    return folder


def resolve_weights(weights: str | Path) -> Path:
    """A local model folder, or a Hub repo id fetched with huggingface_hub (only *.json/*.safetensors/*.md)."""
    p = Path(weights).expanduser()
    if p.exists():
        if not p.is_dir():
            raise HeadSwapBenchError(f"DirectSwap weights '{p}' must be a folder holding {CONFIG_FILE} and "
                                     f"{WEIGHTS_FILE}")
        return p
    if str(weights).count("/") != 1 or str(weights).startswith((".", "/", "~")):
        raise HeadSwapBenchError(f"DirectSwap weights '{weights}': no such folder, and not a Hub id (org/name)")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(str(weights), allow_patterns=["*.json", "*.safetensors", "*.md"]))
    except Exception as exc:  # noqa: BLE001 -- any Hub failure becomes one clear line
        raise HeadSwapBenchError(
            f"DirectSwap weights '{weights}': cannot fetch from the Hugging Face Hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). Download the repo on a "
            f"machine with internet (`huggingface-cli download {weights}`) or pass a local folder.") from None


def load_model(weights: str | Path, device: str | torch.device = "cpu",
               dtype: torch.dtype = torch.float32) -> DirectSwapModel:
    """Load a saved model folder (or Hub id). Only safetensors are read; pickled checkpoints are refused."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = resolve_weights(weights)
    wfile = folder / WEIGHTS_FILE
    if not wfile.is_file():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
        if pickles:
            raise HeadSwapBenchError(
                f"{folder}: refusing to load pickled checkpoint(s) {pickles}: DirectSwap reads weights only from "
                f"{WEIGHTS_FILE} (safetensors), which cannot execute code. Convert the checkpoint on a trusted "
                f"machine.")
        raise HeadSwapBenchError(f"{folder}: no {WEIGHTS_FILE} (a DirectSwap model folder holds {CONFIG_FILE}, "
                                 f"{ARCHITECTURE_FILE} and {WEIGHTS_FILE})")
    for needed in (CONFIG_FILE, ARCHITECTURE_FILE):
        if not (folder / needed).is_file():
            raise HeadSwapBenchError(f"{folder}: missing {needed}")
    config = DirectSwapConfig.load(folder / CONFIG_FILE)
    try:
        arch = json.loads((folder / ARCHITECTURE_FILE).read_text())
        model = _build_from_architecture(config, arch)
        # fresh, aligned copies: tensors viewing the file buffer can make CPU kernels round differently,
        # which would break bit-exact resume
        state = {k: v.clone() for k, v in load_file(str(wfile), device="cpu").items()}
    except SafetensorError as exc:
        raise HeadSwapBenchError(f"{wfile}: not a valid safetensors file ({exc})") from None
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise HeadSwapBenchError(f"{folder / ARCHITECTURE_FILE}: cannot rebuild the model ({exc})") from None
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise HeadSwapBenchError(f"{wfile}: weights do not match {ARCHITECTURE_FILE} "
                                 f"({str(exc).splitlines()[0]})") from None
    model.to(device)
    if dtype != torch.float32:
        model.to(dtype=dtype)
    return model.eval()
