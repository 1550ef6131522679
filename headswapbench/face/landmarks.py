"""Dense face landmarks for the main subject of a clip or photo.

Backends sit behind `LandmarkModel`: 'facemesh' (MediaPipe legacy FaceMesh with refined eyes/iris, 478
points; its models ship inside the mediapipe 0.10.14 wheel, so it runs offline) and 'tasks' (MediaPipe Tasks
FaceLandmarker, same 478 points plus 52 blendshapes and a facial transformation matrix; needs the
downloaded ``face_landmarker.task``, see `tasks.py`).

Landmarks are pixel coordinates: x, y in pixels of the input frame, z in the same pixel scale as x
(MediaPipe's z is relative to the face centre, smaller = nearer the camera)."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..registry import Registry
from .topology import NUM_LANDMARKS
from .tracking import SubjectTracker, box_size, pick_main_face, same_face

# mediapipe 0.10.14 calls a protobuf API that protobuf 4.25 deprecates, once per graph; nothing to act on.
warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated", category=UserWarning)


@dataclass
class FaceResult:
    """One face in one frame."""

    landmarks: np.ndarray  # float32 [478, 3] pixels
    box: np.ndarray  # float32 [4] x0, y0, x1, y1: extent of the landmarks' x, y
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # backend extras (blendshapes, matrix)


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    xy = landmarks[:, :2]
    return np.array([*xy.min(0), *xy.max(0)], dtype=np.float32)


def _to_pixels(norm_landmarks, width: int, height: int, x0: float = 0.0, y0: float = 0.0) -> np.ndarray:
    a = np.array([(p.x, p.y, p.z) for p in norm_landmarks], dtype=np.float32)
    a[:, 0] = a[:, 0] * width + x0
    a[:, 1] = a[:, 1] * height + y0
    a[:, 2] = a[:, 2] * width
    return a


@contextlib.contextmanager
def _native_stderr_muted():
    """Mute file descriptor 2 (not just ``sys.stderr``): MediaPipe's C++ graph threads log straight to it."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def warm_graph(make_graph):
    """Build a MediaPipe graph and run it once on a blank frame with stderr muted: start-up prints TFLite/absl
    logs (XNNPACK delegate, "feedback manager" warnings) that say nothing about the user's input and would
    bury the one line a CLI error prints. A blank frame finds no face, so tracking state stays empty."""
    with _native_stderr_muted():
        graph = make_graph()
        graph.process(np.zeros((64, 64, 3), np.uint8))
    return graph


def _rgb(frame: np.ndarray) -> np.ndarray:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected a uint8 [H, W, 3] RGB frame, got {frame.dtype} {frame.shape}")
    return np.ascontiguousarray(frame)


def crop_box(box: np.ndarray, frame_hw: tuple[int, int], scale: float = 1.8) -> tuple[int, int, int, int]:
    """Square crop of `scale` times the face size around the box centre, clipped to the frame."""
    h, w = frame_hw
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(box[2] - box[0], box[3] - box[1]) * scale / 2
    x0, y0 = int(max(0, np.floor(cx - half))), int(max(0, np.floor(cy - half)))
    x1, y1 = int(min(w, np.ceil(cx + half))), int(min(h, np.ceil(cy + half)))
    return x0, y0, x1, y1


class VideoLandmarker:
    """Per-clip, stateful landmarker: call `process(frame)` on consecutive frames, then `close()`."""

    def process(self, frame: np.ndarray) -> FaceResult | None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LandmarkModel:
    """A landmark backend. `video()` opens a tracking session for one clip; `image()` handles one photo."""

    name: str = ""
    version: str = ""
    num_points: int = NUM_LANDMARKS

    def video(self) -> VideoLandmarker:  # pragma: no cover - interface
        raise NotImplementedError

    def image(self, img: np.ndarray) -> FaceResult | None:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "num_points": self.num_points}


class FaceMeshLandmarks(LandmarkModel):
    """MediaPipe legacy FaceMesh (refine_landmarks=True → 478 points) + full-range face_detection.

    Video: FaceMesh runs in tracking mode (static_image_mode=False, fast: it re-uses the previous frame's
    landmarks instead of detecting every frame). Its face is accepted when it continues the tracked subject;
    otherwise (no face, or FaceMesh latched onto someone else) the full-range detector finds the subject near
    its last position and FaceMesh runs on a crop around it. Photos: detector picks the main face, FaceMesh
    runs (static mode) on a crop around it, which also handles small faces in large photos."""

    name = "facemesh"

    def __init__(self, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 patience: int = 15):
        import mediapipe as mp

        from .. import weights

        for name in ("facemesh", "facemesh-detector"):  # the wheel's model files, checked before MediaPipe loads them
            weights.weight_path(name)
        self.version = f"mediapipe-{mp.__version__}-legacy-facemesh-refined"
        self._mp = mp
        self.min_detection_confidence = min_detection_confidence
        self.min_tracking_confidence = min_tracking_confidence
        self.patience = patience

    def describe(self) -> dict:
        if not hasattr(self, "_described"):
            from .. import weights

            self._described = {**super().describe(), "min_detection_confidence": self.min_detection_confidence,
                               "min_tracking_confidence": self.min_tracking_confidence,
                               "weights": weights.describe("facemesh"),
                               "detector_weights": weights.describe("facemesh-detector")}
        return dict(self._described)

    # building blocks shared by the video and photo paths
    def _mesh(self, static: bool):
        return warm_graph(lambda: self._mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static, max_num_faces=1, refine_landmarks=True,
            min_detection_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence))

    def _detector(self, model_selection: int = 1):
        return warm_graph(lambda: self._mp.solutions.face_detection.FaceDetection(
            model_selection=model_selection, min_detection_confidence=self.min_detection_confidence))

    @staticmethod
    def _detect(detector, frame: np.ndarray) -> list[np.ndarray]:
        h, w = frame.shape[:2]
        res = detector.process(frame)
        boxes = []
        for det in res.detections or []:
            rb = det.location_data.relative_bounding_box
            x0, y0 = rb.xmin * w, rb.ymin * h
            boxes.append(np.array([x0, y0, x0 + rb.width * w, y0 + rb.height * h], dtype=np.float32))
        return [b for b in boxes if box_size(b) > 4]

    @staticmethod
    def _mesh_full(mesh, frame: np.ndarray) -> FaceResult | None:
        res = mesh.process(frame)
        if not res.multi_face_landmarks:
            return None
        lm = _to_pixels(res.multi_face_landmarks[0].landmark, frame.shape[1], frame.shape[0])
        return FaceResult(lm, landmark_box(lm))

    @staticmethod
    def _mesh_crop(mesh, frame: np.ndarray, box: np.ndarray) -> FaceResult | None:
        x0, y0, x1, y1 = crop_box(box, frame.shape[:2])
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
        res = mesh.process(crop)
        if not res.multi_face_landmarks:
            return None
        lm = _to_pixels(res.multi_face_landmarks[0].landmark, x1 - x0, y1 - y0, x0, y0)
        return FaceResult(lm, landmark_box(lm))

    def video(self) -> VideoLandmarker:
        return _FaceMeshVideo(self)

    def image(self, img: np.ndarray) -> FaceResult | None:
        img = _rgb(img)
        if not hasattr(self, "_photo_graphs"):  # built once: graph construction costs more than one photo
            self._photo_graphs = (self._detector(1), self._detector(0), self._mesh(static=True))
        det_full, det_short, mesh = self._photo_graphs
        boxes = self._detect(det_full, img) or self._detect(det_short, img)
        i = pick_main_face(boxes, img.shape[:2])
        if i is not None:
            face = self._mesh_crop(mesh, img, boxes[i])
            if face is not None:
                return face
        return self._mesh_full(mesh, img)


class _FaceMeshVideo(VideoLandmarker):
    def __init__(self, model: FaceMeshLandmarks):
        self.model = model
        self.mesh = model._mesh(static=False)
        self.crop_mesh = model._mesh(static=True)
        self.detector = model._detector(1)
        self.tracker = SubjectTracker(patience=model.patience)
        self.recoveries = 0  # frames where the detector+crop path was needed (diagnostics)

    def process(self, frame: np.ndarray) -> FaceResult | None:
        frame = _rgb(frame)
        hw = frame.shape[:2]
        face = self.model._mesh_full(self.mesh, frame)
        if self.tracker.has_subject:
            if face is not None and self.tracker.choose([face.box], hw) == 0:
                self.tracker.update(face.box)
                return face
        elif face is not None:
            # No subject yet: accept FaceMesh's face only if it is the detector's main face.
            boxes = self.model._detect(self.detector, frame)
            i = pick_main_face(boxes, hw)
            if i is None or same_face(boxes[i], face.box, max_shift=0.6, max_scale=2.2):
                self.tracker.update(face.box)
                return face
            return self._recover(frame, boxes[i])
        boxes = self.model._detect(self.detector, frame)
        i = self.tracker.choose(boxes, hw)
        return self._recover(frame, boxes[i]) if i is not None else self._miss()

    def _recover(self, frame: np.ndarray, box: np.ndarray) -> FaceResult | None:
        face = self.model._mesh_crop(self.crop_mesh, frame, box)
        if face is None:
            return self._miss()
        self.recoveries += 1
        self.tracker.update(face.box)
        return face

    def _miss(self) -> None:
        self.tracker.update(None)

    def close(self) -> None:
        for g in (self.mesh, self.crop_mesh, self.detector):
            g.close()


LANDMARK_MODELS: Registry = Registry("landmark model", LandmarkModel, "headswapbench.landmark_models")
LANDMARK_MODELS.register("facemesh", FaceMeshLandmarks)
LANDMARK_MODELS.register("tasks", "headswapbench.face.tasks:TasksLandmarks")

_CACHE: dict[str, LandmarkModel] = {}


def get_landmark_model(name: str = "facemesh") -> LandmarkModel:
    """The landmark backend by name ('facemesh' offline, 'tasks' with downloaded weights); one instance each."""
    if isinstance(name, LandmarkModel):
        return name
    if name not in _CACHE:
        _CACHE[name] = LANDMARK_MODELS.get(name)()
    return _CACHE[name]
