"""DirectSwap: the benchmark's bundled baseline — a mask-free video diffusion head swapper (SD-1.5-shaped
U-Net + AnimateDiff motion modules, driving latents on the input channels, CLIP-vision reference tokens in
cross-attention) trained on the paired triplets with the MEAR loss. See docs/directswap.md.

Heavy modules (diffusers, transformers) load only when a model is built, trained or run."""

from .config import DirectSwapConfig, available_configs

__all__ = [
    "DirectSwapConfig",
    "DirectSwapSwapper",
    "available_configs",
    "build_model",
    "load_model",
    "save_model",
    "train",
]


def __getattr__(name: str):
    if name in ("build_model", "load_model", "save_model"):
        from . import model

        return getattr(model, name)
    if name == "train":
        from .train import train

        return train
    if name == "DirectSwapSwapper":
        from .swapper import DirectSwapSwapper

        return DirectSwapSwapper
    raise AttributeError(name)
