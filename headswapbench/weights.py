"""The weights manager: one table of every model file the toolkit can use, and one way to get each.

A file is found in the cache (``$HEADSWAPBENCH_WEIGHTS``, else ``<cache_dir>/weights``), or downloaded into
it and checked against its sha256, or — when that is impossible (offline, no access) — reported by a single
`MissingWeightsError` naming the file, its URL, its sha256 and the exact path to place it at. Files that ship
inside a PyPI wheel (MediaPipe FaceMesh, dlib ResNet, LPIPS linear heads) are listed as ``bundled`` so the
table stays complete and results can record every model's hash.
"""

from __future__ import annotations

import importlib.util
import os
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import ChecksumError, HeadSwapBenchError, MissingWeightsError
from .fileio import atomic_path, cache_dir, sha256_file


@dataclass(frozen=True)
class WeightSpec:
    """One model file (kind 'url'), one file in a Hub repo ('hub'), a whole Hub repo snapshot ('hub-repo'),
    or a file inside an installed package ('bundled'). ``sha256`` may be a full digest, a prefix of at least
    8 hex digits (the convention of torchvision/pytorch-fid file names), or None when not pinned."""

    name: str
    filename: str
    url: str
    sha256: str | None = None
    size: int | None = None  # bytes, approximate for repos
    license: str = "unknown"
    description: str = ""
    kind: str = "url"  # url | hub | hub-repo | bundled
    repo_id: str | None = None
    revision: str | None = None
    package: str | None = None  # for bundled: the package whose folder holds `filename`

    def to_dict(self) -> dict:
        return asdict(self)


WEIGHTS: dict[str, WeightSpec] = {}


def register_weight(spec: WeightSpec) -> WeightSpec:
    """Add a model file to the table (plug-ins call this for their own files)."""
    old = WEIGHTS.get(spec.name)
    if old is not None and old != spec:
        raise HeadSwapBenchError(f"weight '{spec.name}' is already registered with different details")
    WEIGHTS[spec.name] = spec
    return spec


def weights_dir() -> Path:
    env = os.environ.get("HEADSWAPBENCH_WEIGHTS")
    return Path(env).expanduser() if env else cache_dir() / "weights"


def offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HEADSWAPBENCH_OFFLINE", "HF_HUB_OFFLINE"))


def get_spec(name: str) -> WeightSpec:
    if name not in WEIGHTS:
        import difflib

        close = difflib.get_close_matches(name, WEIGHTS, n=3)
        raise HeadSwapBenchError(f"unknown model file '{name}'" + (f"; did you mean {close}?" if close else "")
                                 + f" Known: {', '.join(sorted(WEIGHTS))}")
    return WEIGHTS[name]


def target_path(spec: WeightSpec) -> Path:
    """Where the file lives (or must be placed)."""
    if spec.kind == "bundled":
        found = importlib.util.find_spec(spec.package or "")
        if found is None or not found.submodule_search_locations:
            raise MissingWeightsError(spec.name, spec.filename, spec.url, spec.sha256, f"<package {spec.package}>",
                                      f"package '{spec.package}' is not installed (pip install {spec.package})")
        return Path(list(found.submodule_search_locations)[0]) / spec.filename
    if spec.kind == "hub-repo":  # a whole snapshot folder; `filename` is a file that proves it is complete
        return weights_dir() / spec.name
    return weights_dir() / spec.name / spec.filename


def _matches(digest: str, expected: str | None) -> bool:
    return expected is None or digest.startswith(expected.lower())


def verify(name: str) -> dict:
    """Re-hash a present file: {'name', 'path', 'present', 'sha256', 'ok'}."""
    spec = get_spec(name)
    path = target_path(spec)
    if spec.kind == "hub-repo":
        present = (path / spec.filename).is_file()
        return {"name": name, "path": str(path), "present": present, "sha256": None, "ok": present}
    if not path.is_file():
        return {"name": name, "path": str(path), "present": False, "sha256": None, "ok": False}
    digest = sha256_file(path)
    return {"name": name, "path": str(path), "present": True, "sha256": digest, "ok": _matches(digest, spec.sha256)}


def _download_url(spec: WeightSpec, dest: Path) -> None:
    from tqdm.auto import tqdm

    req = urllib.request.Request(spec.url, headers={"User-Agent": "headswapbench"})
    with urllib.request.urlopen(req, timeout=30) as resp, atomic_path(dest) as tmp:
        total = int(resp.headers.get("Content-Length") or 0) or None
        with open(tmp, "wb") as fh, tqdm(total=total, unit="B", unit_scale=True, desc=spec.filename) as bar:
            while block := resp.read(1 << 20):
                fh.write(block)
                bar.update(len(block))
        digest = sha256_file(tmp)
        if not _matches(digest, spec.sha256):
            raise ChecksumError(f"{spec.url}: sha256 {digest} does not match the pinned {spec.sha256}")


def _download_hub(spec: WeightSpec, dest: Path) -> Path:
    from huggingface_hub import hf_hub_download, snapshot_download

    if spec.kind == "hub-repo":
        return Path(snapshot_download(spec.repo_id, revision=spec.revision, local_dir=dest))
    got = Path(hf_hub_download(spec.repo_id, spec.filename, revision=spec.revision, local_dir=dest.parent))
    digest = sha256_file(got)
    if not _matches(digest, spec.sha256):
        got.unlink()
        raise ChecksumError(f"{spec.repo_id}/{spec.filename}: sha256 {digest} does not match the pinned {spec.sha256}")
    return got


def weight_path(name: str, download: bool = True) -> Path:
    """Local path of a model file (or repo folder), downloading it if allowed; else MissingWeightsError."""
    spec = get_spec(name)
    path = target_path(spec)
    if spec.kind == "hub-repo" and (path / spec.filename).is_file():
        return path
    if spec.kind != "hub-repo" and path.is_file():
        if spec.kind != "bundled" and spec.sha256 and len(spec.sha256) == 64 and path.stat().st_size and \
                not _matches(sha256_file(path), spec.sha256):
            raise ChecksumError(f"{path}: sha256 differs from the pinned {spec.sha256}; delete it and fetch again")
        return path
    if spec.kind == "bundled":
        raise MissingWeightsError(spec.name, spec.filename, spec.url, spec.sha256, path,
                                  f"not found inside the installed package '{spec.package}'")
    if not download or offline():
        why = "offline mode (HF_HUB_OFFLINE/HEADSWAPBENCH_OFFLINE set)" if offline() else "not in the cache"
        raise MissingWeightsError(spec.name, spec.filename, spec.url, spec.sha256, path, why)
    try:
        if spec.kind in ("hub", "hub-repo"):
            return _download_hub(spec, path)
        _download_url(spec, path)
        return path
    except ChecksumError:
        raise
    except Exception as exc:  # network, HTTP, gated repo ...: one clear message instead of a urllib traceback
        raise MissingWeightsError(spec.name, spec.filename, spec.url, spec.sha256, path,
                                  f"download failed ({type(exc).__name__}: {exc})") from None


def describe(name: str) -> dict:
    """What results.json records about a model file: name, file, pinned hash, and the hash actually used."""
    spec = get_spec(name)
    info = {"name": name, "file": spec.filename, "pinned_sha256": spec.sha256, "source": spec.url}
    try:
        path = target_path(spec)
        if path.is_file():
            info["sha256"] = sha256_file(path)
    except MissingWeightsError:
        pass
    return info


# ---------------------------------------------------------------------------------------------- the table
_BUILTIN = [
    # Face analysis
    WeightSpec("facemesh", "modules/face_landmark/face_landmark_with_attention.tflite",
               "https://pypi.org/project/mediapipe/0.10.14/", None, 2_500_000, "Apache-2.0",
               "MediaPipe legacy FaceMesh (478 points with refine_landmarks); ships in the mediapipe 0.10.14 wheel",
               kind="bundled", package="mediapipe"),
    WeightSpec("face-landmarker", "face_landmarker.task",
               "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/face_landmarker.task",
               None, 3_758_596, "Apache-2.0",
               "MediaPipe Tasks FaceLandmarker: 478 points, 52 blendshapes, facial transformation matrix"),
    WeightSpec("dlib-resnet", "models/dlib_face_recognition_resnet_model_v1.dat",
               "https://pypi.org/project/face-recognition-models/", None, 22_466_066, "CC0-1.0",
               "dlib ResNet-34 face descriptor (128-D); ships in face-recognition-models",
               kind="bundled", package="face_recognition_models"),
    WeightSpec("dlib-shape5", "models/shape_predictor_5_face_landmarks.dat",
               "https://pypi.org/project/face-recognition-models/", None, 9_150_489, "CC0-1.0",
               "dlib 5-point shape predictor for face-chip alignment", kind="bundled",
               package="face_recognition_models"),
    WeightSpec("arcface-buffalo-l", "buffalo_l.zip",
               "https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip", None, 288_621_354,
               "non-commercial research (insightface model zoo)",
               "insightface buffalo_l pack: SCRFD detector + ArcFace R50 (w600k_r50.onnx), 512-D"),
    WeightSpec("adaface-ir101", "config.json",
               "https://huggingface.co/minchul/cvlface_adaface_ir101_webface12m", None, 261_000_000, "MIT",
               "AdaFace IR-101 trained on WebFace12M (CVLface release)", kind="hub-repo",
               repo_id="minchul/cvlface_adaface_ir101_webface12m"),
    # Metrics
    WeightSpec("lpips-alexnet", "alexnet-owt-7be5be79.pth",
               "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", "7be5be79", 244_408_911,
               "BSD-3-Clause (torchvision)", "AlexNet backbone used by LPIPS (linear heads ship in the lpips wheel)"),
    WeightSpec("lpips-vgg16", "vgg16-397923af.pth", "https://download.pytorch.org/models/vgg16-397923af.pth",
               "397923af", 553_433_881, "BSD-3-Clause (torchvision)", "VGG-16 backbone for LPIPS-vgg"),
    WeightSpec("fid-inception", "pt_inception-2015-12-05-6726825d.pth",
               "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
               "6726825d", 95_628_359, "Apache-2.0", "Inception-v3 (TF 2015-12-05 port) used by FID"),
    WeightSpec("fvd-i3d", "i3d_torchscript.pt", "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1",
               None, 51_235_320, "Apache-2.0", "I3D (Kinetics-400) TorchScript used by FVD (StyleGAN-V release)"),
    # DirectSwap initialisation (whole Hub repos, loaded with from_pretrained)
    WeightSpec("sd15", "model_index.json", "https://huggingface.co/stable-diffusion-v1-5/stable-diffusion-v1-5",
               None, 5_000_000_000, "CreativeML OpenRAIL-M", "Stable Diffusion 1.5: image U-Net and VAE for DirectSwap",
               kind="hub-repo", repo_id="stable-diffusion-v1-5/stable-diffusion-v1-5"),
    WeightSpec("animatediff-v1-5-3", "config.json", "https://huggingface.co/guoyww/animatediff-motion-adapter-v1-5-3",
               None, 1_800_000_000, "Apache-2.0", "AnimateDiff motion adapter v1.5.3", kind="hub-repo",
               repo_id="guoyww/animatediff-motion-adapter-v1-5-3"),
    WeightSpec("clip-vit-l14", "config.json", "https://huggingface.co/openai/clip-vit-large-patch14",
               None, 1_700_000_000, "MIT", "CLIP ViT-L/14 image encoder (DirectSwap reference tokens)",
               kind="hub-repo", repo_id="openai/clip-vit-large-patch14"),
]
for _spec in _BUILTIN:
    register_weight(_spec)
