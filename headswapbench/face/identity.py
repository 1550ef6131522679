"""Identity embeddings behind one small interface.

Backends (all L2-normalised; similarity = cosine; `same_person` = similarity ≥ the backend's threshold):

- 'dlib' (offline default): dlib's ResNet-34 face descriptor, 128-D, from the face-recognition-models wheel;
  the face is aligned by dlib's 5-point shape predictor and `dlib.get_face_chip` (150 px, padding 0.25), the
  same recipe as the `face_recognition` package. The predictor is seeded with a box derived from our
  MediaPipe landmarks (mapped to the box statistics of dlib's own HOG detector), so no second face detector runs.
- 'arcface': insightface's ArcFace R50 (w600k_r50.onnx from the buffalo_l pack, 512-D) through onnxruntime,
  aligned to the standard ArcFace 5-point template (eye centres from the MediaPipe irises, nose tip, mouth
  corners) with insightface's `norm_crop`. Weights via the weights manager ('arcface-w600k-r50', extracted
  from the pinned 'arcface-buffalo-l' pack; both pinned by full sha256).
- 'adaface': AdaFace IR-101 (WebFace12M, CVLface release on the Hub), same 112-px ArcFace alignment. The
  network is ours (`headswapbench.face.iresnet`); the pinned safetensors file is loaded as a state dict,
  so nothing from the weights repo runs. Weights via the weights manager ('adaface-ir101').

Devices and batching: ``get_identity_model(name, device)``. 'adaface' runs on any torch device (``cuda[:N]``);
'arcface' uses onnxruntime's CUDA provider on ``cuda`` when the installed onnxruntime has it (else the CPU; the
instance's ``providers`` says which, and it is not in the cache key); 'dlib' is CPU-only (``cpu_only``). Faces are
embedded in batches (``embed_crops``, ``batch_size`` crops per forward); the device and batch size never enter
``describe()`` and so never a cache key or fingerprint: they do not change the numbers beyond float rounding
(see docs/evaluate.md for the measured tolerance). fp32 everywhere.

Thresholds: 'dlib' 0.92 cosine, measured on the project's real media (see docs/face.md); the others use
values from their papers' verification protocols, documented as such."""

from __future__ import annotations

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
    """Embeds aligned faces. Two steps: ``crop(image, landmarks)`` (the aligned face, small) and
    ``embed_crops(crops, batch_size)`` (the network, batched); ``embed_faces(image, landmarks_list)`` is both.
    A backend that only overrides ``embed_faces`` still works: its "crop" is then the frame itself."""

    name: str = ""
    version: str = ""
    dim: int = 0
    device: str = "cpu"
    # True: runs on the CPU only, whatever the device (dlib, and any plug-in that does not say otherwise); the
    # evaluation runner then embeds inside its face-analysis worker processes (``--workers``). False: a
    # network that takes ``device``; the runner embeds in its main process, batched, on ``--device``.
    cpu_only: bool = True
    threshold: float = 0.5  # cosine similarity at or above which two faces count as the same person
    threshold_source: str = ""

    def embed_faces(self, image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:  # pragma: no cover
        """[N, dim] L2-normalised embeddings of the faces given by their [478, 3] landmarks in `image`."""
        raise NotImplementedError

    def crop(self, image: np.ndarray, landmarks: np.ndarray):
        """What ``embed_crops`` needs for one face (default: the frame and its landmarks)."""
        return (np.ascontiguousarray(image), np.asarray(landmarks))

    def embed_crops(self, crops: list, batch_size: int = 16) -> np.ndarray:
        """[N, dim] embeddings of ``crop()`` results, ``batch_size`` faces per forward."""
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        return np.concatenate([self.embed_faces(img, [lm]) for img, lm in crops]).astype(np.float32)

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

    def crop(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return self.chip(np.ascontiguousarray(image), landmarks)

    def embed_crops(self, crops: list, batch_size: int = 16) -> np.ndarray:
        """dlib's ResNet on each chip, one chip per call exactly as ``embed_faces`` does for one face (so the
        numbers are the same as before and independent of ``batch_size`` bit for bit; dlib runs on the CPU)."""
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        desc = [np.asarray(self._rec.compute_face_descriptor([c], self.num_jitters)[0]) for c in crops]
        return l2_normalise(np.array(desc, np.float32))

    def embed_faces(self, image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        image = np.ascontiguousarray(image)
        if not landmarks:
            return np.zeros((0, self.dim), np.float32)
        chips = [self.chip(image, lm) for lm in landmarks]
        desc = self._rec.compute_face_descriptor(chips, self.num_jitters)
        return l2_normalise(np.array([np.asarray(d) for d in desc], np.float32))


class ArcFaceIdentity(IdentityModel):
    """ArcFace R50 from insightface's buffalo_l pack (onnxruntime: CUDA provider on ``cuda`` when installed)."""

    name = "arcface"
    cpu_only = False
    dim = 512
    threshold = 0.28
    threshold_source = "common insightface verification threshold for w600k_r50 (not measured here: weights offline)"
    weight_name = "arcface-w600k-r50"  # extracted from 'arcface-buffalo-l' by the weights manager, both pinned

    def __init__(self, device: str = "cpu"):
        import onnxruntime as ort

        from .. import weights

        self._weights = weights.resolve(self.weight_name)
        self._onnx = self._weights.path
        self.device = device
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            index = int(device.split(":", 1)[1]) if ":" in device else 0
            providers = [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]
        self.providers = [p if isinstance(p, str) else p[0] for p in providers]
        try:
            self._sess = ort.InferenceSession(str(self._onnx), providers=providers)
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own error types
            raise HeadSwapBenchError(f"{self._onnx}: onnxruntime cannot load the ArcFace model "
                                     f"({type(exc).__name__}: {exc})") from None
        self._input = self._sess.get_inputs()[0].name
        self.version = "insightface-buffalo_l/w600k_r50.onnx"
        self.dim = int(self._sess.get_outputs()[0].shape[-1])

    def describe(self) -> dict:
        from .. import weights

        return {**super().describe(), "weights": [weights.describe("arcface-buffalo-l"),
                                                  weights.describe(self.weight_name)],
                "onnx_sha256": self._weights.sha256}

    @staticmethod
    def aligned(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        from insightface.utils.face_align import norm_crop

        return norm_crop(image, five_points(landmarks), image_size=112)

    def crop(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return self.aligned(image, landmarks)

    def embed_crops(self, crops: list, batch_size: int = 16) -> np.ndarray:
        if not len(crops):
            return np.zeros((0, self.dim), np.float32)
        blob = ((np.stack(crops).astype(np.float32) - 127.5) / 127.5).transpose(0, 3, 1, 2)  # RGB
        step = batch_size if self._batched else 1
        out = np.concatenate([self._sess.run(None, {self._input: np.ascontiguousarray(blob[i:i + step])})[0]
                              for i in range(0, len(blob), step)])
        return l2_normalise(out)

    @property
    def _batched(self) -> bool:
        """The ONNX graph takes a batch (a symbolic first dimension), not exactly one face."""
        first = self._sess.get_inputs()[0].shape[0]
        return not isinstance(first, int) or first != 1

    def embed_faces(self, image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        return self.embed_crops([self.aligned(image, lm) for lm in landmarks])


class AdaFaceIdentity(IdentityModel):
    """AdaFace IR-101 (WebFace12M): our network (`headswapbench.face.iresnet`), CVLface's pinned safetensors.

    Input: the 112×112 ArcFace-template crop (`ArcFaceIdentity.aligned`, RGB), scaled ``(x/255 - 0.5)/0.5``;
    output: the 512-d feature, L2-normalised (see iresnet's docstring for why RGB is right for this file)."""

    name = "adaface"
    cpu_only = False
    dim = 512
    threshold = 0.30
    threshold_source = "typical cosine threshold for AdaFace IR-101 on LFW-style verification (not measured here)"
    weight_name = "adaface-ir101"

    def __init__(self, weights_path: str | None = None, device: str = "cpu"):
        import torch

        from .. import weights
        from .iresnet import load_ir101

        self._weights = weights.resolve(self.weight_name, weights_path)
        self.device = device
        self._model = load_ir101(self._weights.path, device)
        self._torch = torch
        self.version = f"cvlface_adaface_ir101_webface12m@{weights.ADAFACE_REVISION[:12]}"

    def describe(self) -> dict:
        from .. import weights

        return {**super().describe(), "weights": {**weights.describe(self.weight_name),
                                                  **self._weights.fingerprint()},
                "network": "headswapbench.face.iresnet.IR101", "input": "RGB 112x112, (x/255-0.5)/0.5"}

    def crop(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return ArcFaceIdentity.aligned(image, landmarks)

    def embed_crops(self, crops: list, batch_size: int = 16) -> np.ndarray:
        """IR-101 forwards of ``batch_size`` crops each, on ``self.device``, fp32."""
        from .iresnet import preprocess

        if not len(crops):
            return np.zeros((0, self.dim), np.float32)
        x = preprocess(np.stack(crops))
        out = []
        with self._torch.inference_mode():
            for i in range(0, len(x), max(1, int(batch_size))):
                xb = self._torch.from_numpy(x[i:i + batch_size]).to(self.device,
                                                                     memory_format=self._torch.channels_last)
                out.append(self._model(xb).float().cpu().numpy())
        return l2_normalise(np.concatenate(out))

    def embed_faces(self, image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        return self.embed_crops([self.crop(image, lm) for lm in landmarks], batch_size=max(1, len(landmarks)))


IDENTITY_MODELS: Registry = Registry("identity model", IdentityModel, "headswapbench.identity_models")
IDENTITY_MODELS.register("dlib", DlibIdentity)
IDENTITY_MODELS.register("arcface", ArcFaceIdentity)
IDENTITY_MODELS.register("adaface", AdaFaceIdentity)

_CACHE: dict[tuple[str, str], IdentityModel] = {}


def get_identity_model(name: str = "dlib", device: str = "cpu") -> IdentityModel:
    """Identity backend by name ('dlib' offline; 'arcface', 'adaface' need their downloaded weights), built
    once per process and device. A backend whose constructor takes no ``device`` (dlib, most plug-ins) runs
    where it runs (the CPU) whatever ``device`` says."""
    import inspect

    if isinstance(name, IdentityModel):
        return name
    key = (name, device)
    if key not in _CACHE:
        cls = IDENTITY_MODELS.get(name)
        try:
            takes_device = "device" in inspect.signature(cls).parameters
        except (TypeError, ValueError):
            takes_device = False
        _CACHE[key] = cls(device=device) if takes_device and device != "cpu" else cls()
    return _CACHE[key]
