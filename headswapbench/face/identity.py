"""Identity embeddings behind one small interface.

Backends (all L2-normalised; similarity = cosine; `same_person` = similarity ≥ the backend's threshold):

- 'dlib' (offline default): dlib's ResNet-34 face descriptor, 128-D, from the face-recognition-models wheel;
  the face is aligned by dlib's 5-point shape predictor and `dlib.get_face_chip` (150 px, padding 0.25), the
  same recipe as the `face_recognition` package. The predictor is seeded with a box derived from our
  MediaPipe landmarks (mapped to the box statistics of dlib's own HOG detector), so no second face detector runs.
- 'arcface': insightface's ArcFace R50 (w600k_r50.onnx from the buffalo_l pack, 512-D) through onnxruntime,
  aligned to the standard ArcFace 5-point template (eye centres from the MediaPipe irises, nose tip, mouth
  corners) with insightface's `norm_crop`. Weights via the weights manager ('arcface-buffalo-l').
- 'adaface': AdaFace IR-101 (WebFace12M, CVLface release on the Hub), same 112-px ArcFace alignment.
  Weights via the weights manager ('adaface-ir101').

Thresholds: 'dlib' 0.92 cosine, measured on the project's real media (see docs/face.md); the others use
values from their papers' verification protocols, documented as such."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import FaceNotFoundError, HeadSwapBenchError
from ..registry import Registry
from .topology import ALIGNMENT_5


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = l2_normalise(np.asarray(a).reshape(-1)), l2_normalise(np.asarray(b).reshape(-1))
    return float(a @ b)


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """ArcFace's 5 points (image-left eye, image-right eye, nose tip, image-left and image-right mouth corner)
    from MediaPipe's 478 landmarks (iris centres 468 / 473)."""
    return np.asarray(landmarks, np.float32)[ALIGNMENT_5, :2]


class IdentityModel:
    """Embeds aligned faces; `embed_faces(image, landmarks_list)` is the primitive, the rest builds on it."""

    name: str = ""
    version: str = ""
    dim: int = 0
    threshold: float = 0.5  # cosine similarity at or above which two faces count as the same person
    threshold_source: str = ""

    def embed_faces(self, image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:  # pragma: no cover
        """[N, dim] L2-normalised embeddings of the faces given by their [478, 3] landmarks in `image`."""
        raise NotImplementedError

    def embed_image(self, image: np.ndarray) -> np.ndarray:
        """Embedding of a photo's main face (found with the default landmark model)."""
        from .landmarks import get_landmark_model

        face = get_landmark_model("facemesh").image(np.asarray(image))
        if face is None:
            raise FaceNotFoundError(f"no face found in the image ({image.shape[1]}x{image.shape[0]}) to embed")
        return self.embed_faces(image, [face.landmarks])[0]

    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        return cosine(a, b)

    def same_person(self, a: np.ndarray, b: np.ndarray) -> bool:
        return self.similarity(a, b) >= self.threshold

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "dim": self.dim, "threshold": self.threshold,
                "threshold_source": self.threshold_source, "similarity": "cosine of L2-normalised embeddings"}


class DlibIdentity(IdentityModel):
    name = "dlib"
    dim = 128
    threshold = 0.92
    threshold_source = ("dlib's standard L2 0.6 on raw descriptors converted with their measured mean norm 1.45 "
                        "(1 - 0.6^2 / (2 * 1.45^2) = 0.914, rounded up); on ../shared/data same-person pairs "
                        "score >= 0.935, different people median 0.835 (docs/face.md)")

    def __init__(self, num_jitters: int = 0):
        import dlib

        from .. import weights

        self.version = f"dlib-{dlib.__version__}-resnet-v1"
        self._rec_path = weights.weight_path("dlib-resnet")
        self._sp_path = weights.weight_path("dlib-shape5")
        self._rec = dlib.face_recognition_model_v1(str(self._rec_path))
        self._sp = dlib.shape_predictor(str(self._sp_path))
        self._dlib = dlib
        self.num_jitters = num_jitters

    def describe(self) -> dict:
        if not hasattr(self, "_described"):  # hashing the model files once is enough
            from .. import weights

            self._described = {**super().describe(), "num_jitters": self.num_jitters,
                               "weights": [weights.describe("dlib-resnet"), weights.describe("dlib-shape5")]}
        return dict(self._described)

    @staticmethod
    def dlib_box(landmarks: np.ndarray) -> tuple[int, int, int, int]:
        """A box like dlib's HOG detector's for this face: measured on the project's photos, dlib's box has
        ~1.05× the landmark extent's width, ~0.88× its height, centred ~2 % lower."""
        x0, y0 = landmarks[:, :2].min(0)
        x1, y1 = landmarks[:, :2].max(0)
        w, h = x1 - x0, y1 - y0
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 0.02 * h
        hw, hh = 0.525 * w, 0.44 * h
        return round(float(cx - hw)), round(float(cy - hh)), round(float(cx + hw)), round(float(cy + hh))

    def chip(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The 150×150 aligned face chip dlib's ResNet expects."""
        rect = self._dlib.rectangle(*self.dlib_box(landmarks))
        shape = self._sp(image, rect)
        return self._dlib.get_face_chip(image, shape, size=150, padding=0.25)

    def embed_faces(self, image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        image = np.ascontiguousarray(image)
        if not landmarks:
            return np.zeros((0, self.dim), np.float32)
        chips = [self.chip(image, lm) for lm in landmarks]
        desc = self._rec.compute_face_descriptor(chips, self.num_jitters)
        return l2_normalise(np.array([np.asarray(d) for d in desc], np.float32))


class ArcFaceIdentity(IdentityModel):
    """ArcFace R50 from insightface's buffalo_l pack (onnxruntime, CPU)."""

    name = "arcface"
    dim = 512
    threshold = 0.28
    threshold_source = "common insightface verification threshold for w600k_r50 (not measured here: weights offline)"
    weight_name = "arcface-buffalo-l"
    member = "w600k_r50.onnx"

    def __init__(self):
        import onnxruntime as ort

        from .. import weights

        pack = weights.weight_path(self.weight_name)
        self._onnx = self._extract(pack)
        self._sess = ort.InferenceSession(str(self._onnx), providers=["CPUExecutionProvider"])
        self._input = self._sess.get_inputs()[0].name
        self.version = f"insightface-buffalo_l/{self.member}"
        self.dim = int(self._sess.get_outputs()[0].shape[-1])

    def _extract(self, pack: Path) -> Path:
        """The recognition model from the pack (a zip, extracted once beside it), or the file itself."""
        if pack.suffix != ".zip":
            return pack
        out = pack.parent / self.member
        if not out.exists():
            from ..fileio import atomic_path

            with zipfile.ZipFile(pack) as zf:
                names = [n for n in zf.namelist() if n.endswith("/" + self.member) or n == self.member]
                if not names:
                    raise HeadSwapBenchError(f"{pack}: no {self.member} inside the model pack")
                with atomic_path(out) as tmp:
                    tmp.write_bytes(zf.read(names[0]))
        return out

    def describe(self) -> dict:
        from .. import weights
        from ..fileio import sha256_file

        return {**super().describe(), "weights": weights.describe(self.weight_name),
                "onnx_sha256": sha256_file(self._onnx)}

    @staticmethod
    def aligned(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        from insightface.utils.face_align import norm_crop

        return norm_crop(image, five_points(landmarks), image_size=112)

    def embed_faces(self, image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        if not landmarks:
            return np.zeros((0, self.dim), np.float32)
        crops = np.stack([self.aligned(image, lm) for lm in landmarks]).astype(np.float32)  # RGB
        blob = ((crops - 127.5) / 127.5).transpose(0, 3, 1, 2)
        out = np.concatenate([self._sess.run(None, {self._input: blob[i:i + 1]})[0] for i in range(len(blob))])
        return l2_normalise(out)


class AdaFaceIdentity(IdentityModel):
    """AdaFace IR-101 (CVLface release on the Hub, loaded with its own model code via transformers)."""

    name = "adaface"
    dim = 512
    threshold = 0.30
    threshold_source = "typical cosine threshold for AdaFace IR-101 on LFW-style verification (not measured here)"
    weight_name = "adaface-ir101"

    def __init__(self):
        from .. import weights

        repo = weights.weight_path(self.weight_name)
        import os
        import sys

        import torch
        from transformers import AutoModel

        # The CVLface wrapper resolves its files relative to the working directory and imports its own
        # modules from the repo folder (as in the model card's loader): enter it, then restore both.
        cwd, sys.path[:0] = os.getcwd(), [str(repo)]
        try:
            os.chdir(repo)
            self._model = AutoModel.from_pretrained(str(repo), trust_remote_code=True).eval()
        except Exception as exc:  # noqa: BLE001 - remote model code can raise anything; report it in one line
            raise HeadSwapBenchError(f"{repo}: cannot load the AdaFace model ({type(exc).__name__}: {exc})") from None
        finally:
            os.chdir(cwd)
            if str(repo) in sys.path:
                sys.path.remove(str(repo))
        self._torch = torch
        self.version = "cvlface_adaface_ir101_webface12m"

    def embed_faces(self, image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        if not landmarks:
            return np.zeros((0, self.dim), np.float32)
        crops = np.stack([ArcFaceIdentity.aligned(image, lm) for lm in landmarks]).astype(np.float32)
        x = self._torch.from_numpy(((crops / 255.0 - 0.5) / 0.5).transpose(0, 3, 1, 2).copy())
        with self._torch.no_grad():
            out = self._model(x)
        out = out[0] if isinstance(out, (tuple, list)) else out
        return l2_normalise(out.cpu().numpy())


IDENTITY_MODELS: Registry = Registry("identity model", IdentityModel, "headswapbench.identity_models")
IDENTITY_MODELS.register("dlib", DlibIdentity)
IDENTITY_MODELS.register("arcface", ArcFaceIdentity)
IDENTITY_MODELS.register("adaface", AdaFaceIdentity)

_CACHE: dict[str, IdentityModel] = {}


def get_identity_model(name: str = "dlib") -> IdentityModel:
    """Identity backend by name ('dlib' offline; 'arcface', 'adaface' need their downloaded weights)."""
    if isinstance(name, IdentityModel):
        return name
    if name not in _CACHE:
        _CACHE[name] = IDENTITY_MODELS.get(name)()
    return _CACHE[name]
