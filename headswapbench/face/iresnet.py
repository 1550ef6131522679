"""AdaFace's IR-101 network, written here so that loading AdaFace runs no code from its weights repo.

The network is the ``IR_101`` backbone of AdaFace (Kim et al., CVPR 2022, github.com/mk-minchul/AdaFace,
``net.py``), which is insightface's "improved residual" ResNet as used by AdaFace and re-published
unchanged in CVLface (github.com/mk-minchul/CVLface, ``models/iresnet/model.py``, ``IR_101``):

- input layer: 3×3 conv 3→64 (stride 1, no bias), BatchNorm, PReLU; input 112×112;
- body: 49 ``BasicBlockIR`` units in four stages of 3, 13, 30 and 3 units with 64, 128, 256 and 512
  channels; the first unit of each stage has stride 2 (112 → 56 → 28 → 14 → 7). A unit is
  ``res = BN → conv3×3 → BN → PReLU → conv3×3(stride) → BN`` plus a shortcut that is ``MaxPool2d(1, stride)``
  when the channel count is unchanged and ``conv1×1(stride) → BN`` otherwise;
- output layer: BatchNorm2d(512) → Dropout(0.4) → flatten → Linear(512·7·7 → 512) →
  BatchNorm1d(512, affine=False): a 512-d feature (AdaFace L2-normalises it; so do we).

Module names and order are the reference's, so a state dict's keys match ours one to one.

**Weights and key mapping.** The pinned file is CVLface's ``model.safetensors`` of
``minchul/cvlface_adaface_ir101_webface12m`` (revision-pinned, full sha256 in headswapbench.weights).
It is a plain tensor dict (safetensors cannot hold code). Its keys are the backbone's keys under the
prefix of CVLface's wrappers: ``model.net.<key>`` (the Hugging Face wrapper holds ``model``, an
``IResNetModel`` that holds ``net``, the backbone). CVLface's ``pretrained_model/model.pt`` holds the
same tensors as ``net.<key>``. `map_state_dict` strips exactly one of these prefixes and nothing else;
every key must then load with ``strict=True``.

**Colour order and normalisation.** AdaFace's own reference inference (``inference.py``, ``to_input``)
feeds its original checkpoints *BGR* pixels scaled as ``(x / 255 - 0.5) / 0.5``. The CVLface release of
the same WebFace12M model takes *RGB* with the same scaling (its model card: ``ToTensor()`` then
``Normalize(mean=0.5, std=0.5)`` on an RGB image; its ``color_space`` is RGB, so its wrapper does not
flip channels), and an independent check found it reproduces the BGR original exactly when fed RGB.
So `preprocess` gives RGB, ``(x / 255 - 0.5) / 0.5``, NCHW float32 — for the CVLface file only; the
original ``.ckpt`` files (BGR, with a classifier head and training state) are not accepted.

**Alignment.** AdaFace aligns faces to the ArcFace 5-point template at 112×112 (its ``align_trans``
reference points with ``default_square=True``), the same template insightface's ``norm_crop`` uses;
the caller provides such crops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import HeadSwapBenchError

STAGES = ((64, 64, 3), (64, 128, 13), (128, 256, 30), (256, 512, 3))  # (in, out, units) of IR-101
PREFIXES = ("model.net.", "net.")  # CVLface model.safetensors / pretrained_model/model.pt
INPUT_SIZE = 112
EMBEDDING_DIM = 512


def _build():
    import torch.nn as nn

    class BasicBlockIR(nn.Module):
        def __init__(self, in_channel: int, depth: int, stride: int):
            super().__init__()
            if in_channel == depth:
                self.shortcut_layer = nn.MaxPool2d(1, stride)
            else:
                self.shortcut_layer = nn.Sequential(nn.Conv2d(in_channel, depth, (1, 1), stride, bias=False),
                                                    nn.BatchNorm2d(depth))
            self.res_layer = nn.Sequential(
                nn.BatchNorm2d(in_channel),
                nn.Conv2d(in_channel, depth, (3, 3), (1, 1), 1, bias=False),
                nn.BatchNorm2d(depth),
                nn.PReLU(depth),
                nn.Conv2d(depth, depth, (3, 3), stride, 1, bias=False),
                nn.BatchNorm2d(depth))

        def forward(self, x):
            return self.res_layer(x) + self.shortcut_layer(x)

    class IR101(nn.Module):
        """AdaFace / CVLface ``IR_101`` for 112×112 input, 512-d output (see the module docstring)."""

        def __init__(self):
            super().__init__()
            self.input_layer = nn.Sequential(nn.Conv2d(3, 64, (3, 3), 1, 1, bias=False), nn.BatchNorm2d(64),
                                             nn.PReLU(64))
            units = []
            for in_c, out_c, n in STAGES:
                units.append(BasicBlockIR(in_c, out_c, 2))
                units += [BasicBlockIR(out_c, out_c, 1) for _ in range(n - 1)]
            self.body = nn.Sequential(*units)
            self.output_layer = nn.Sequential(nn.BatchNorm2d(512), nn.Dropout(0.4), nn.Flatten(),
                                              nn.Linear(512 * 7 * 7, EMBEDDING_DIM),
                                              nn.BatchNorm1d(EMBEDDING_DIM, affine=False))

        def forward(self, x):
            return self.output_layer(self.body(self.input_layer(x)))

    return IR101


def ir101():
    """A fresh (randomly initialised) IR-101, in eval mode."""
    return _build()().eval()


def map_state_dict(state: dict, source: str | Path = "state dict") -> dict:
    """Published checkpoint keys → ours: strip the one CVLface wrapper prefix all keys share."""
    keys = list(state)
    for prefix in PREFIXES:
        if keys and all(k.startswith(prefix) for k in keys):
            return {k[len(prefix):]: v for k, v in state.items()}
    if keys and all(not k.startswith(("model.", "net.", "head.")) for k in keys):
        return dict(state)  # already bare backbone keys
    raise HeadSwapBenchError(f"{source}: not a CVLface IR-101 state dict (keys must all start with one of "
                             f"{PREFIXES}; first keys: {keys[:3]})")


def read_state_dict(path: str | Path) -> dict:
    """Tensors only: safetensors, or ``torch.load(weights_only=True)`` for .pt/.pth (no pickle code runs)."""
    import torch

    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt file, or a pickle that weights_only refuses
        raise HeadSwapBenchError(f"{path}: cannot read the AdaFace state dict ({type(exc).__name__}: {exc})") from None


def load_ir101(path: str | Path, device: str = "cpu"):
    """Our IR-101 with the checkpoint at ``path`` loaded strictly (every key, every shape). The network is
    built on the meta device (no wasted random init) and takes the file's tensors as its own."""
    import torch

    state = map_state_dict(read_state_dict(path), path)
    with torch.device("meta"):
        model = _build()()
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()
        raise HeadSwapBenchError(f"{path}: the state dict does not fit AdaFace IR-101 ({' '.join(first[:3])[:400]})") from None
    # channels-last: oneDNN's faster convolution layout on the CPU (≈ 15 % less per face here; embeddings equal to 1e-6)
    return model.to(device, memory_format=torch.channels_last).eval()


def preprocess(crops_rgb: np.ndarray) -> np.ndarray:
    """[N, 112, 112, 3] uint8 RGB aligned crops → [N, 3, 112, 112] float32, ``(x / 255 - 0.5) / 0.5``."""
    x = np.asarray(crops_rgb, np.float32)
    if x.ndim != 4 or x.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
        raise HeadSwapBenchError(f"AdaFace needs [N, 112, 112, 3] RGB crops, got {x.shape}")
    return np.ascontiguousarray(((x / 255.0 - 0.5) / 0.5).transpose(0, 3, 1, 2))


__all__ = ["INPUT_SIZE", "PREFIXES", "ir101", "load_ir101", "map_state_dict", "preprocess", "read_state_dict"]
