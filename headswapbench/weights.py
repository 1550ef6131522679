"""The weights manager: one table of every model file the toolkit can use, one way to get each, and one
check that a file is what it claims before anything loads it.

A file is found in the cache (``$HEADSWAPBENCH_WEIGHTS``, else ``<cache_dir>/weights``), or downloaded into
it, or — when that is impossible (offline, no access) — reported by a single `MissingWeightsError` naming
the file, its URL, its sha256 and the exact path to place it at. Files that ship inside a PyPI wheel
(MediaPipe FaceMesh, dlib models) are listed as ``bundled`` so the table stays complete and their hashes
are checked like any other.

**Pinned or not.** A table entry is *pinned* when it carries the file's full sha256 (64 hex digits; the
8-digit prefixes in torchvision-style file names are not enough: anyone can make a file with a given
prefix). Every file is checked before use by `resolve` (which `weight_path` calls):

- it must be a regular file (not a FIFO, device or folder), not empty;
- pinned: its size and full sha256 must equal the pin, else one `ChecksumError` naming the file, the
  expected and the actual value, and what to do;
- not pinned (or an explicit stand-in path): its bytes must look like the declared format (ONNX, zip, a
  MediaPipe ``.task`` bundle, TFLite, torch, TorchScript, safetensors), else one `InvalidWeightsError`.

`fingerprint(name)` gives what results record per model file: ``{"sha256", "pinned"}``, where ``pinned``
is true only when the file actually used is the pinned one (a stand-in given by path never is).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import stat
import struct
import urllib.request
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import ChecksumError, HeadSwapBenchError, MissingWeightsError
from .fileio import atomic_path, cache_dir, sha256_file

_FULL_SHA256 = re.compile(r"^[0-9a-f]{64}$")
FORMATS = ("onnx", "zip", "task", "tflite", "torch", "torchscript", "safetensors", "json", "opaque")
_SUFFIX_FORMAT = {".onnx": "onnx", ".zip": "zip", ".task": "task", ".tflite": "tflite", ".pth": "torch",
                  ".pt": "torch", ".ckpt": "torch", ".bin": "torch", ".safetensors": "safetensors", ".json": "json"}


class InvalidWeightsError(HeadSwapBenchError):
    """A model file that is not what it claims: wrong format, empty, or not a regular file."""


@dataclass(frozen=True)
class WeightSpec:
    """One model file: downloaded from a URL ('url'), one file of a revision-pinned Hub repo ('hub'), a
    whole Hub repo snapshot ('hub-repo'), a file inside an installed package ('bundled'), or one member of
    another entry's archive ('member', ``archive`` names that entry).

    ``sha256`` is the file's full digest, or None when no trustworthy value is known (the file is then
    *unpinned*: usable, checked for its format, and recorded as ``pinned: false``). ``size`` is exact for
    pinned files, approximate otherwise. ``format`` defaults from the file name's suffix."""

    name: str
    filename: str
    url: str
    sha256: str | None = None
    size: int | None = None
    license: str = "unknown"
    description: str = ""
    kind: str = "url"  # url | hub | hub-repo | bundled | member
    repo_id: str | None = None
    revision: str | None = None
    package: str | None = None  # for bundled: the package whose folder holds `filename`
    archive: str | None = None  # for member: the weight name of the archive that holds `filename`
    format: str = ""  # one of FORMATS; "" = from the suffix of `filename`

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    @property
    def file_format(self) -> str:
        return self.format or _SUFFIX_FORMAT.get(Path(self.filename).suffix.lower(), "opaque")

    def to_dict(self) -> dict:
        return {**asdict(self), "pinned": self.pinned, "format": self.file_format}


WEIGHTS: dict[str, WeightSpec] = {}


def register_weight(spec: WeightSpec) -> WeightSpec:
    """Add a model file to the table (plug-ins call this for their own files)."""
    if spec.sha256 is not None and not _FULL_SHA256.match(spec.sha256):
        raise HeadSwapBenchError(f"weight '{spec.name}': sha256 must be the full 64-hex digest in lower case, or "
                                 f"None when it is not known (got {spec.sha256!r}; a prefix proves nothing)")
    if spec.file_format not in FORMATS:
        raise HeadSwapBenchError(f"weight '{spec.name}': unknown format {spec.file_format!r} (one of {FORMATS})")
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
    if spec.kind == "member":
        return weights_dir() / get_spec(spec.archive).name / spec.filename
    return weights_dir() / spec.name / spec.filename


# ------------------------------------------------------------------------------------------ the check
@dataclass(frozen=True)
class CheckedFile:
    """A model file that passed `resolve`: where it is, its full sha256, and whether it is the pinned one."""

    name: str
    path: Path
    sha256: str | None  # None for a hub-repo folder
    pinned: bool

    def fingerprint(self) -> dict:
        return {"sha256": self.sha256, "pinned": self.pinned}


_DIGESTS: dict[tuple, str] = {}


def _digest(path: Path, st: os.stat_result) -> str:
    """Full sha256, computed once per process per (file, size, mtime)."""
    key = (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = sha256_file(path)
    return _DIGESTS[key]


def _regular_file(spec: WeightSpec, path: Path) -> os.stat_result:
    try:
        st = os.stat(path)  # follows a symlink: what matters is what would be read
    except FileNotFoundError:
        raise MissingWeightsError(spec.name, spec.filename, spec.url, spec.sha256, path, "the file does not exist") from None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidWeightsError(f"{path}: model file '{spec.filename}' ({spec.name}) is not a regular file "
                                  "(a folder, FIFO or device); replace it with the real file")
    if st.st_size == 0:
        raise InvalidWeightsError(f"{path}: model file '{spec.filename}' ({spec.name}) is empty (0 bytes); "
                                  f"delete it and fetch it again (`headswapbench weights fetch {spec.name}`)")
    return st


def sniff_format(path: str | Path, fmt: str) -> str | None:
    """None when the file's bytes look like ``fmt``, else what is wrong (cheap: headers and indexes only)."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(64)
    if fmt == "opaque":
        return None
    if fmt == "tflite":
        return None if head[4:8] == b"TFL3" else "not a TFLite flatbuffer (no 'TFL3' identifier)"
    if fmt == "json":
        try:
            json.loads(path.read_text(encoding="utf-8"))
            return None
        except (ValueError, UnicodeDecodeError) as exc:
            return f"not JSON ({exc})"
    if fmt == "safetensors":
        if len(head) < 8:
            return "too short for a safetensors header"
        (n,) = struct.unpack("<Q", head[:8])
        if not 1 < n <= min(path.stat().st_size - 8, 100 * 1024**2):
            return "not a safetensors file (its header length is out of range)"
        with open(path, "rb") as fh:
            fh.seek(8)
            try:
                header = json.loads(fh.read(n))
            except ValueError:
                return "not a safetensors file (its header is not JSON)"
        return None if isinstance(header, dict) and header else "not a safetensors file (empty header)"
    if fmt == "onnx":
        if head[:1] != b"\x08":  # protobuf field 1 (ir_version), varint
            return "not an ONNX model (it does not start with an ONNX ir_version field)"
        try:
            import onnx
        except ImportError:  # pragma: no cover - onnx ships with the toolkit's dependencies
            return None
        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as exc:  # noqa: BLE001 - protobuf raises its own DecodeError types
            return f"not an ONNX model ({type(exc).__name__}: {exc})"
        return None if model.graph.node and model.graph.input and model.graph.output else \
            "an ONNX file without a graph (no nodes, inputs or outputs)"
    if fmt in ("zip", "task", "torch", "torchscript"):
        legacy_torch = head.startswith(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19")  # torch.save before 1.6
        if fmt == "torch" and legacy_torch:
            return None
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError):
            return {"zip": "not a zip archive", "task": "not a MediaPipe .task bundle (not a zip archive)",
                    "torch": "not a torch.save file (neither a zip archive nor a legacy torch pickle)",
                    "torchscript": "not a TorchScript archive (not a zip archive)"}[fmt]
        if not names:
            return "an empty zip archive"
        if fmt == "task" and not any(n.endswith(".tflite") for n in names):
            return "not a MediaPipe .task bundle (no .tflite model inside)"
        if fmt == "torch" and not any(n.endswith("data.pkl") for n in names):
            return "not a torch.save file (no data.pkl inside the archive)"
        if fmt == "torchscript" and not (any(n.endswith("constants.pkl") for n in names)
                                         and any("/code/" in n for n in names)):
            return "not a TorchScript archive (no code/ and constants.pkl inside)"
        return None
    raise HeadSwapBenchError(f"unknown weight format {fmt!r}")  # pragma: no cover - register_weight refuses it


def check_file(name: str, path: str | Path, explicit: bool = False) -> CheckedFile:
    """Check one file against the table entry ``name``. ``explicit``: a path the user chose (a stand-in or a
    local copy): a hash that differs from the pin is allowed and recorded as ``pinned: false``."""
    spec = get_spec(name)
    path = Path(path)
    if spec.kind == "hub-repo" and not explicit:
        proof = path / spec.filename
        if not proof.is_file():
            raise MissingWeightsError(spec.name, spec.filename, spec.url, None, path, "the snapshot is incomplete")
        return CheckedFile(name, path, None, False)
    st = _regular_file(spec, path)
    if spec.pinned and not explicit:
        if spec.size and st.st_size != spec.size:
            raise ChecksumError(f"{path}: model file '{spec.filename}' ({name}) is {st.st_size:,} bytes, which does not "
                                f"match the pinned file's {spec.size:,} bytes (sha256 {spec.sha256}); it is not the expected file — "
                                f"delete it and run `headswapbench weights fetch {name}` ({spec.url})")
        digest = _digest(path, st)
        if digest != spec.sha256:
            raise ChecksumError(f"{path}: model file '{spec.filename}' ({name}) has sha256 {digest}, which does not "
                                f"match the pinned {spec.sha256}; it is not the expected file — delete it and run "
                                f"`headswapbench weights fetch {name}` ({spec.url})")
        return CheckedFile(name, path, digest, True)
    digest = _digest(path, st)
    if spec.pinned and digest == spec.sha256:
        return CheckedFile(name, path, digest, True)
    problem = sniff_format(path, spec.file_format)
    if problem:
        raise InvalidWeightsError(f"{path}: model file '{spec.filename}' ({name}) is {problem}; expected a "
                                  f"{spec.file_format} file" + ("" if explicit else f" from {spec.url}"))
    return CheckedFile(name, path, digest, False)


def resolve(name: str, path: str | Path | None = None, download: bool = True) -> CheckedFile:
    """The checked model file ``name``: the table's file (downloaded if allowed), or ``path`` instead (a
    stand-in or a local copy, recorded as pinned only if it is byte-identical to the pinned file)."""
    if path is not None:
        return check_file(name, path, explicit=True)
    return check_file(name, _locate(get_spec(name), download))


def weight_path(name: str, download: bool = True) -> Path:
    """Local path of a checked model file (or repo folder), downloading it if allowed."""
    return resolve(name, download=download).path


def fingerprint(name: str, path: str | Path | None = None, sha256: str | None = None) -> dict:
    """What results record for one model file: ``{"sha256": <full digest of the file used>, "pinned": bool}``.
    ``pinned`` is true only when that file is the one the table pins. Give ``sha256`` (the digest a metric
    already holds, e.g. from ``resolve_weight``) to skip touching the file; else ``path`` or the table's file
    is checked (never downloaded)."""
    if sha256 is not None:
        return {"sha256": sha256, "pinned": sha256 == get_spec(name).sha256}
    return resolve(name, path, download=False).fingerprint()


def verify(name: str) -> dict:
    """Re-check a file without loading or downloading it: {'name', 'path', 'present', 'sha256', 'expected',
    'pinned', 'status', 'ok', 'problem'}; status is ok | unpinned | mismatch | invalid | missing."""
    spec = get_spec(name)
    row = {"name": name, "path": None, "present": False, "sha256": None, "expected": spec.sha256,
           "pinned": spec.pinned, "status": "missing", "ok": False, "problem": None}
    try:
        path = target_path(spec)
        row["path"] = str(path)
        if spec.kind == "hub-repo":
            row["present"] = (path / spec.filename).is_file()
            row.update(status="unpinned" if row["present"] else "missing", ok=row["present"])
            return row
        row["present"] = os.path.lexists(path)
        if not row["present"]:
            return row
        checked = check_file(name, path)
        row.update(sha256=checked.sha256, status="ok" if checked.pinned else "unpinned", ok=True)
    except MissingWeightsError as exc:
        row.update(problem=str(exc).splitlines()[0])
    except ChecksumError as exc:
        st = os.stat(path)
        row.update(status="mismatch", problem=str(exc), sha256=_digest(Path(path), st) if stat.S_ISREG(st.st_mode) else None)
    except InvalidWeightsError as exc:
        row.update(status="invalid", problem=str(exc))
    return row


def describe(name: str) -> dict:
    """What results.json records about a model file: name, file, source, pinned hash, the hash actually used
    and whether it is the pinned one."""
    spec = get_spec(name)
    info = {"name": name, "file": spec.filename, "pinned_sha256": spec.sha256, "source": spec.url,
            "revision": spec.revision, "pinned": False}
    try:
        info.update(resolve(name, download=False).fingerprint())
    except MissingWeightsError:
        pass
    return info


# ---------------------------------------------------------------------------------------------- locating
def _download_url(spec: WeightSpec, dest: Path) -> None:
    from tqdm.auto import tqdm

    req = urllib.request.Request(spec.url, headers={"User-Agent": "headswapbench"})
    with urllib.request.urlopen(req, timeout=30) as resp, atomic_path(dest) as tmp:
        total = int(resp.headers.get("Content-Length") or 0) or None
        limit = int(spec.size * 1.5) + (1 << 20) if spec.size else None
        with open(tmp, "wb") as fh, tqdm(total=total, unit="B", unit_scale=True, desc=spec.filename) as bar:
            written = 0
            while block := resp.read(1 << 20):
                written += len(block)
                if limit and written > limit:
                    raise ChecksumError(f"{spec.url}: the download is larger than {limit:,} bytes; it is not "
                                        f"the expected {spec.filename}")
                fh.write(block)
                bar.update(len(block))
        if spec.pinned:
            digest = sha256_file(tmp)
            if digest != spec.sha256:
                raise ChecksumError(f"{spec.url}: downloaded {spec.filename} has sha256 {digest}, which does not "
                                    f"match the pinned {spec.sha256}; nothing was kept")


def _check_hub_reachable(timeout: float = 3.0) -> None:
    """Fail in seconds, not after huggingface_hub's five retries with backoff (≈ 25 s of log lines), when the
    Hub cannot be reached: HF_HUB_OFFLINE is set, or its host does not resolve or connect."""
    import socket
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise OSError("HF_HUB_OFFLINE is set")
    url = urlsplit(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise OSError(f"cannot reach {url.hostname}:{port} ({exc.strerror or exc}); offline?") from None


def _download_hub(spec: WeightSpec, dest: Path) -> Path:
    from huggingface_hub import hf_hub_download, snapshot_download

    _check_hub_reachable()
    if spec.kind == "hub-repo":
        return Path(snapshot_download(spec.repo_id, revision=spec.revision, local_dir=dest))
    got = Path(hf_hub_download(spec.repo_id, spec.filename, revision=spec.revision, local_dir=dest.parent))
    if spec.pinned:
        digest = sha256_file(got)
        if digest != spec.sha256:
            got.unlink()
            raise ChecksumError(f"{spec.repo_id}@{spec.revision}/{spec.filename}: sha256 {digest} does not "
                                f"match the pinned {spec.sha256}; nothing was kept")
    return got


def _extract_member(spec: WeightSpec, dest: Path, download: bool) -> Path:
    from .archives import ArchiveError, Limits, extract_member

    pack = weight_path(spec.archive, download=download)  # the archive is checked (pinned) before it is opened
    try:
        return extract_member(pack, spec.filename, dest, Limits(max_members=256, max_total_bytes=8 * 1024**3))
    except ArchiveError as exc:
        raise InvalidWeightsError(f"{pack}: {exc}") from None


def _locate(spec: WeightSpec, download: bool) -> Path:
    """Where the file is, fetching or extracting it when absent and allowed (no checks: see check_file)."""
    path = target_path(spec)
    present = (path / spec.filename).is_file() if spec.kind == "hub-repo" else os.path.lexists(path)
    if present:
        return path
    if spec.kind == "bundled":
        raise MissingWeightsError(spec.name, spec.filename, spec.url, spec.sha256, path,
                                  f"not found inside the installed package '{spec.package}'")
    if spec.kind == "member":
        return _extract_member(spec, path, download)
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


# ---------------------------------------------------------------------------------------------- the table
# Where each pin comes from: the bundled files were hashed from the wheels the project pins (mediapipe
# 0.10.14, face-recognition-models 0.3.0); every downloaded file's digest was found, identical, in several
# independent public projects that pin the same URL (and for the torchvision/pytorch-fid files it starts with
# the 8 hex digits in the published file name). Entries still without a trustworthy digest stay unpinned.
ADAFACE_REPO = "minchul/cvlface_adaface_ir101_webface12m"
ADAFACE_REVISION = "54f602a0737bd1ee4a4e7e9fd089a485f397fefd"

_BUILTIN = [
    # Face analysis
    WeightSpec("facemesh", "modules/face_landmark/face_landmark_with_attention.tflite",
               "https://pypi.org/project/mediapipe/0.10.14/",
               "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4", 2_495_106, "Apache-2.0",
               "MediaPipe legacy FaceMesh (478 points with refine_landmarks); ships in the mediapipe 0.10.14 wheel",
               kind="bundled", package="mediapipe"),
    WeightSpec("facemesh-detector", "modules/face_detection/face_detection_full_range_sparse.tflite",
               "https://pypi.org/project/mediapipe/0.10.14/",
               "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1", 676_746, "Apache-2.0",
               "MediaPipe full-range face detector used by the FaceMesh backend; ships in the mediapipe 0.10.14 wheel",
               kind="bundled", package="mediapipe"),
    WeightSpec("face-landmarker", "face_landmarker.task",
               "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/face_landmarker.task",
               "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff", 3_758_596, "Apache-2.0",
               "MediaPipe Tasks FaceLandmarker: 478 points, 52 blendshapes, facial transformation matrix"),
    WeightSpec("dlib-resnet", "models/dlib_face_recognition_resnet_model_v1.dat",
               "https://pypi.org/project/face-recognition-models/0.3.0/",
               "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30", 22_466_066, "CC0-1.0",
               "dlib ResNet-34 face descriptor (128-D); ships in face-recognition-models 0.3.0",
               kind="bundled", package="face_recognition_models", format="opaque"),
    WeightSpec("dlib-shape5", "models/shape_predictor_5_face_landmarks.dat",
               "https://pypi.org/project/face-recognition-models/0.3.0/",
               "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888", 9_150_489, "CC0-1.0",
               "dlib 5-point shape predictor for face-chip alignment", kind="bundled",
               package="face_recognition_models", format="opaque"),
    WeightSpec("arcface-buffalo-l", "buffalo_l.zip",
               "https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip",
               "80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f", 288_621_354,
               "non-commercial research (insightface model zoo)",
               "insightface buffalo_l pack: SCRFD detector + ArcFace R50 (w600k_r50.onnx), 512-D"),
    WeightSpec("arcface-w600k-r50", "w600k_r50.onnx",
               "https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip",
               "4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43", 174_383_860,
               "non-commercial research (insightface model zoo)",
               "ArcFace R50 (WebFace600K) recognition model, extracted from the buffalo_l pack",
               kind="member", archive="arcface-buffalo-l"),
    WeightSpec("adaface-ir101", "model.safetensors",
               f"https://huggingface.co/{ADAFACE_REPO}/resolve/{ADAFACE_REVISION}/model.safetensors",
               "2ea535a43877bd3de8091903935c783ce335be66a9f8917fae9a7a18ae4bbf56", 260_980_552,
               "MIT (CVLface code); weights trained on WebFace12M (research use)",
               "AdaFace IR-101 trained on WebFace12M (CVLface release), a plain state dict loaded into our own "
               "IR-101 (headswapbench.face.iresnet); no code from the repo runs", kind="hub",
               repo_id=ADAFACE_REPO, revision=ADAFACE_REVISION),
    # Metrics
    WeightSpec("lpips-alexnet", "alexnet-owt-7be5be79.pth",
               "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
               "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02", 244_408_911,
               "BSD-3-Clause (torchvision)", "AlexNet backbone used by LPIPS (linear heads ship in the lpips wheel)"),
    WeightSpec("lpips-vgg16", "vgg16-397923af.pth", "https://download.pytorch.org/models/vgg16-397923af.pth",
               "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0", 553_433_881,
               "BSD-3-Clause (torchvision)", "VGG-16 backbone for LPIPS-vgg"),
    WeightSpec("fid-inception", "pt_inception-2015-12-05-6726825d.pth",
               "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
               "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2", 95_628_359, "Apache-2.0",
               "Inception-v3 (TF 2015-12-05 port) used by FID"),
    WeightSpec("fvd-i3d", "i3d_torchscript.pt", "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1",
               "bec6519f66ea534e953026b4ae2c65553c17bf105611c746d904657e5860a5e2", 51_235_320, "Apache-2.0",
               "I3D (Kinetics-400) TorchScript used by FVD (StyleGAN-V release)", format="torchscript"),
    # DirectSwap initialisation (whole Hub repos, loaded with from_pretrained): not pinned — no revision or
    # per-file digests are recorded for them yet; results that use them say `pinned: false`.
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
