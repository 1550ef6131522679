"""DirectSwap configuration: one JSON file describes the model's shape, where its parts are initialised
from, how it is trained and how it samples. Named configs ship in ``directswap/configs/<name>.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import HeadSwapBenchError
from ..fileio import atomic_write_json

CONFIG_DIR = Path(__file__).parent / "configs"
CONFIG_FILE = "config.json"


@dataclass
class DirectSwapConfig:
    """Everything needed to rebuild, train and run a DirectSwap model.

    ``unet``/``vae``/``motion_adapter``/``image_encoder`` are constructor kwargs used when a part is built from
    config; the ``*_id`` fields name Hub repositories tried first (``None``: always build from config).
    ``init`` is filled in by training: which part came from which source (Hub id or random init)."""

    name: str = "directswap"
    smoke_model: bool = False  # a tiny model that only proves the code runs: never report its quality
    resolution: int = 512  # square model resolution; clips are resized to it and back
    num_frames: int = 16  # temporal window of the motion module
    # --- architecture (from-config fallback) ---
    unet: dict = field(default_factory=dict)  # UNet2DConditionModel kwargs (SD-1.5 shape, in_channels 4)
    motion_adapter: dict = field(default_factory=dict)  # MotionAdapter kwargs
    vae: dict = field(default_factory=dict)  # AutoencoderKL kwargs
    image_encoder: dict = field(default_factory=dict)  # transformers CLIPVisionConfig kwargs
    scheduler: dict = field(default_factory=dict)  # DDPM/DDIM common kwargs (betas, timesteps)
    # --- pretrained sources (Hub ids), tried before the configs ---
    unet_id: str | None = None
    unet_subfolder: str | None = "unet"
    vae_id: str | None = None
    vae_subfolder: str | None = "vae"
    motion_adapter_id: str | None = None
    image_encoder_id: str | None = None
    revision: str | None = None
    # --- training ---
    seed: int = 0
    learning_rate: float = 1e-5
    weight_decay: float = 1e-2
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    batch_size: int = 1  # per optimizer step, over all processes
    gradient_accumulation_steps: int = 1
    mixed_precision: str = "no"  # no | fp16 | bf16
    gradient_checkpointing: bool = False
    max_steps: int = 1000
    checkpoint_every: int = 250
    keep_checkpoints: int = 2
    log_every: int = 1
    reference_dropout: float = 0.1  # share of steps trained with the null reference (classifier-free guidance)
    mear_alpha: float = 1.0  # weight of the motion map m
    mear_beta: float = 1.0  # weight of the landmark map l
    mear_sigma: float = 0.02  # landmark Gaussian sigma as a share of the latent side
    mear_normalize: bool = False  # divide the loss by mean(w) (keeps the loss scale of plain MSE)
    # --- inference ---
    inference_steps: int = 25
    guidance_scale: float = 2.0
    inference_scheduler: str = "ddim"  # ddim | euler
    window_overlap: int = 4  # frames shared by consecutive temporal windows
    # --- provenance, filled in by training ---
    init: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise HeadSwapBenchError(f"config {self.name}: mixed_precision must be no, fp16 or bf16, "
                                     f"not {self.mixed_precision!r}")
        if self.inference_scheduler not in ("ddim", "euler"):
            raise HeadSwapBenchError(f"config {self.name}: inference_scheduler must be ddim or euler")
        if not 0 <= self.window_overlap < self.num_frames:
            raise HeadSwapBenchError(f"config {self.name}: window_overlap must be in [0, num_frames)")
        if self.resolution % 8:
            raise HeadSwapBenchError(f"config {self.name}: resolution must be a multiple of 8")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> DirectSwapConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise HeadSwapBenchError(f"{source}: unknown DirectSwap config key(s) {unknown}")
        return cls(**d)

    def save(self, path: str | Path) -> Path:
        """Write ``config.json`` (or ``path`` itself when it names a .json file)."""
        path = Path(path)
        if path.suffix != ".json":
            path = path / CONFIG_FILE
        atomic_write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, name_or_path: str | Path) -> DirectSwapConfig:
        """A shipped config by name (``directswap-tiny``), a JSON file, or a folder holding config.json."""
        p = Path(name_or_path)
        if p.is_dir():
            p = p / CONFIG_FILE
        elif not p.exists() and (CONFIG_DIR / f"{name_or_path}.json").exists():
            p = CONFIG_DIR / f"{name_or_path}.json"
        if not p.is_file():
            raise HeadSwapBenchError(
                f"DirectSwap config '{name_or_path}' not found (a JSON file, a model folder, or one of: "
                f"{', '.join(available_configs())})")
        try:
            data: Any = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise HeadSwapBenchError(f"{p}: cannot read DirectSwap config ({exc})") from None
        if not isinstance(data, dict):
            raise HeadSwapBenchError(f"{p}: a DirectSwap config must be a JSON object")
        return cls.from_dict(data, source=str(p))

    @property
    def latent_size(self) -> int:
        return self.resolution // self.vae_scale_factor

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.get("block_out_channels", (128, 256, 512, 512))) - 1)


def available_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
