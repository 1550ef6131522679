"""MediaPipe Tasks FaceLandmarker backend ('tasks'): the same 478 points as FaceMesh plus 52 ARKit-style
blendshape scores and the 4×4 facial transformation matrix per frame (stored in `ClipAnalysis.extras` as
``blendshapes`` [T, 52] and ``transform_matrix`` [T, 4, 4]).

It needs ``face_landmarker.task`` (weights manager entry 'face-landmarker', downloaded from Google's model
storage); offline without it, constructing the backend raises one `MissingWeightsError` naming the URL, the
sha256 and where to put the file. Several faces are requested per frame and the main subject is chosen and
followed with the same rules as the FaceMesh backend (tracking.py)."""

from __future__ import annotations

import numpy as np

from .landmarks import FaceResult, LandmarkModel, VideoLandmarker, _rgb, _to_pixels, landmark_box
from .tracking import SubjectTracker, pick_main_face

WEIGHT_NAME = "face-landmarker"


class TasksLandmarks(LandmarkModel):
    name = "tasks"

    def __init__(self, num_faces: int = 3, min_detection_confidence: float = 0.5):
        import mediapipe as mp

        from .. import weights

        self.model_path = weights.weight_path(WEIGHT_NAME)
        self._mp = mp
        self.num_faces = num_faces
        self.min_detection_confidence = min_detection_confidence
        self.version = f"mediapipe-{mp.__version__}-tasks-face_landmarker"

    def describe(self) -> dict:
        from .. import weights

        return {**super().describe(), "num_faces": self.num_faces, "weights": weights.describe(WEIGHT_NAME),
                "extras": ["blendshapes[52]", "transform_matrix[4,4]"]}

    def _landmarker(self, video: bool):
        from mediapipe.tasks.python import BaseOptions, vision

        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_faces=self.num_faces, min_face_detection_confidence=self.min_detection_confidence,
            output_face_blendshapes=True, output_facial_transformation_matrixes=True)
        try:
            return vision.FaceLandmarker.create_from_options(opts)
        except Exception as exc:  # noqa: BLE001 - MediaPipe raises RuntimeError/ValueError from its C++ core
            from ..errors import HeadSwapBenchError

            raise HeadSwapBenchError(f"{self.model_path}: MediaPipe cannot load this face_landmarker.task "
                                     f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None

    def faces(self, result, width: int, height: int) -> list[FaceResult]:
        out = []
        for k, norm in enumerate(result.face_landmarks or []):
            lm = _to_pixels(norm, width, height)
            extras = {}
            if result.face_blendshapes:
                extras["blendshapes"] = np.array([c.score for c in result.face_blendshapes[k]], np.float32)
            if result.facial_transformation_matrixes:
                extras["transform_matrix"] = np.asarray(result.facial_transformation_matrixes[k], np.float32)
            out.append(FaceResult(lm, landmark_box(lm), extras))
        return out

    def _image(self, frame: np.ndarray):
        return self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=frame)

    def video(self) -> VideoLandmarker:
        return _TasksVideo(self)

    def image(self, img: np.ndarray) -> FaceResult | None:
        img = _rgb(img)
        with self._landmarker(video=False) as lmk:
            faces = self.faces(lmk.detect(self._image(img)), img.shape[1], img.shape[0])
        i = pick_main_face([f.box for f in faces], img.shape[:2])
        return None if i is None else faces[i]


class _TasksVideo(VideoLandmarker):
    def __init__(self, model: TasksLandmarks):
        self.model = model
        self.lmk = model._landmarker(video=True)
        self.tracker = SubjectTracker()
        self.t_ms = 0

    def process(self, frame: np.ndarray) -> FaceResult | None:
        frame = _rgb(frame)
        self.t_ms += 40  # strictly increasing timestamps are all VIDEO mode needs
        faces = self.model.faces(self.lmk.detect_for_video(self.model._image(frame), self.t_ms),
                                 frame.shape[1], frame.shape[0])
        i = self.tracker.choose([f.box for f in faces], frame.shape[:2])
        self.tracker.update(None if i is None else faces[i].box)
        return None if i is None else faces[i]

    def close(self) -> None:
        self.lmk.close()
