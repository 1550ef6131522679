"""SYNTHETIC stand-ins for the published protocol's model files, in their exact formats and with the real
architectures, so a benchmark pays the real compute offline (the real files cannot be downloaded here).
Weights are fixed random: every number they give is meaningless; only the cost is real.

- ``alexnet-owt-7be5be79.pth`` (LPIPS backbone): torchvision AlexNet state dict;
- ``pt_inception-2015-12-05-6726825d.pth`` (FID): torchvision Inception-v3 layout with 1008 classes;
- ``i3d_torchscript.pt`` (FVD): TorchScript of an Inception-I3D (Carreira & Zisserman 2017: the Kinetics-400
  detector StyleGAN-V exports; same layers, channels, strides and 224² resize) with StyleGAN-V's call
  signature ``detector(x, rescale, resize, return_features)`` → 400-d;
- ``model.safetensors`` (AdaFace IR-101): our IR-101's keys under CVLface's ``model.net.`` prefix;
  `StandInAdaFace` is the AdaFace backend reading it (an identity plug-in: ``--identity
  benchmarks.standins:StandInAdaFace``, path from ``HSB_STANDIN_ADAFACE``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import nn

from headswapbench.face.identity import AdaFaceIdentity


class _Unit3d(nn.Module):
    def __init__(self, cin: int, cout: int, k: tuple[int, int, int] = (1, 1, 1), s: tuple[int, int, int] = (1, 1, 1)):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, k, s, padding=tuple(x // 2 for x in k), bias=False)
        self.bn = nn.BatchNorm3d(cout, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class _Mixed(nn.Module):
    def __init__(self, cin: int, c: tuple[int, int, int, int, int, int]):
        super().__init__()
        self.b0 = _Unit3d(cin, c[0])
        self.b1 = nn.Sequential(_Unit3d(cin, c[1]), _Unit3d(c[1], c[2], (3, 3, 3)))
        self.b2 = nn.Sequential(_Unit3d(cin, c[3]), _Unit3d(c[3], c[4], (3, 3, 3)))
        self.pool = nn.MaxPool3d(3, 1, 1)
        self.b3 = _Unit3d(cin, c[5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1(x), self.b2(x), self.b3(self.pool(x))], 1)


class InceptionI3D(nn.Module):
    """Inception-I3D's layers (Mixed_3b … Mixed_5c channel table of the paper) at 224² input, 400 logits."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            _Unit3d(3, 64, (7, 7, 7), (2, 2, 2)), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
            _Unit3d(64, 64), _Unit3d(64, 192, (3, 3, 3)), nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))
        self.mixed = nn.Sequential(
            _Mixed(192, (64, 96, 128, 16, 32, 32)), _Mixed(256, (128, 128, 192, 32, 96, 64)),
            nn.MaxPool3d(3, 2, 1),
            _Mixed(480, (192, 96, 208, 16, 48, 64)), _Mixed(512, (160, 112, 224, 24, 64, 64)),
            _Mixed(512, (128, 128, 256, 24, 64, 64)), _Mixed(512, (112, 144, 288, 32, 64, 64)),
            _Mixed(528, (256, 160, 320, 32, 128, 128)),
            nn.MaxPool3d(2, 2),
            _Mixed(832, (256, 160, 320, 32, 128, 128)), _Mixed(832, (384, 192, 384, 48, 128, 128)))
        self.logits = nn.Conv3d(1024, 400, 1)

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        if rescale:
            x = x / 127.5 - 1
        if resize:
            x = nn.functional.interpolate(x, size=(x.shape[2], 224, 224), mode="trilinear", align_corners=False)
        x = self.mixed(self.stem(x))
        x = nn.functional.adaptive_avg_pool3d(x, 1)
        return self.logits(x).flatten(1)


class StandInAdaFace(AdaFaceIdentity):
    """AdaFace IR-101 reading the stand-in file named by ``HSB_STANDIN_ADAFACE`` (benchmarks only)."""

    def __init__(self, device: str = "cpu"):
        super().__init__(weights_path=os.environ["HSB_STANDIN_ADAFACE"], device=device)


def write_standins(root: Path) -> dict[str, Path]:
    """Every stand-in file under ``root`` (written once; reused when present): metric option / env name →
    path."""
    import torchvision
    from safetensors.torch import save_file

    from headswapbench.face.iresnet import _build

    root.mkdir(parents=True, exist_ok=True)
    paths = {"lpips_weights": root / "alexnet-owt-7be5be79.pth",
             "fid_weights": root / "pt_inception-2015-12-05-6726825d.pth",
             "fvd_weights": root / "i3d_torchscript.pt", "adaface": root / "model.safetensors"}
    torch.manual_seed(0)
    if not paths["lpips_weights"].exists():
        torch.save(torchvision.models.alexnet().state_dict(), paths["lpips_weights"])
    if not paths["fid_weights"].exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008,
                                                  init_weights=False)
        torch.save(net.state_dict(), paths["fid_weights"])
    if not paths["fvd_weights"].exists():
        torch.jit.script(InceptionI3D().eval()).save(str(paths["fvd_weights"]))
    if not paths["adaface"].exists():
        state = {f"model.net.{k}": v.contiguous() for k, v in _build()().state_dict().items()}
        save_file(state, str(paths["adaface"]), metadata={"format": "pt"})
    return paths
