"""Identity embeddings: the dlib backend separates same-person from different-person pairs on the real media
(SOURCES.tsv same_person_links: videos/lp_d18.mp4 ↔ images/lp_d19.jpg); the download-only backends fail with
one clear message offline, and ArcFace's real loading/alignment/preprocessing code runs on a stand-in ONNX."""

from __future__ import annotations

import itertools
import zipfile

import numpy as np
import pytest
from _face_shared import clip_analysis, image_analysis

from headswapbench.errors import FaceNotFoundError, MissingWeightsError
from headswapbench.face import get_identity_model
from headswapbench.face.identity import ArcFaceIdentity, cosine, five_points


def _linked_pairs(sources):
    pairs = []
    for row in sources:
        link = row.get("same_person_links") or ""
        if link.startswith("same person:"):
            other = link.split(":", 1)[1].split("(")[0].strip()
            pairs.append(tuple(sorted((row["file"], other))))
    return sorted(set(pairs))


def _embedding(shared_data, rel: str) -> np.ndarray:
    path = shared_data / rel
    if rel.startswith("videos/"):
        return clip_analysis(str(path), identity="dlib").mean_identity()
    return image_analysis(str(path)).identity


def test_same_person_pair_scores_above_threshold_and_above_different_people(shared_data, sources):
    model = get_identity_model("dlib")
    linked = _linked_pairs(sources)
    assert ("images/lp_d19.jpg", "videos/lp_d18.mp4") in linked
    files = ["videos/lp_d18.mp4"] + [f"images/{p.name}" for p in sorted((shared_data / "images").iterdir())]
    emb = {f: _embedding(shared_data, f) for f in files}
    same = [model.similarity(emb[a], emb[b]) for a, b in linked if a in emb and b in emb]
    different = {(a, b): model.similarity(emb[a], emb[b])
                 for a, b in itertools.combinations(files, 2) if tuple(sorted((a, b))) not in linked}
    assert same and min(same) >= model.threshold
    # every different-person pair that involves the linked person is below the threshold ...
    for (a, b), s in different.items():
        if "lp_d18" in a + b or "lp_d19" in a + b:
            assert s < model.threshold, (a, b, s)
    # ... and the same-person score beats 95 % of all different-person pairs (dlib confuses a few look-alikes)
    assert min(same) > np.percentile(list(different.values()), 95)
    assert np.median(list(different.values())) < model.threshold - 0.05


def test_frames_of_one_clip_are_the_same_person(shared_data):
    a = clip_analysis(str(shared_data / "videos/lp_d18.mp4"), identity="dlib")
    model = get_identity_model("dlib")
    assert a.identity.shape == (len(a.identity_frames), 128) and 8 <= len(a.identity_frames) <= 16
    np.testing.assert_allclose(np.linalg.norm(a.identity, axis=1), 1.0, atol=1e-5)
    sims = a.identity @ a.identity.T
    assert sims.min() >= model.threshold
    assert a.face_found[a.identity_frames].all()


def test_identity_sample_rule():
    from headswapbench.face import identity_sample

    assert len(identity_sample(216)) <= 16 and len(identity_sample(216)) >= 15
    assert identity_sample(10, "all").tolist() == list(range(10))
    assert identity_sample(10, 4).tolist() == [2, 6]


def test_cosine_matches_hand_computation():
    assert cosine([1, 0], [0, 1]) == pytest.approx(0.0)
    assert cosine([3, 4], [6, 8]) == pytest.approx(1.0)
    assert cosine([1, 1], [1, 0]) == pytest.approx(np.sqrt(0.5))


def test_embed_image_without_a_face_raises():
    with pytest.raises(FaceNotFoundError):
        get_identity_model("dlib").embed_image(np.full((200, 200, 3), 200, np.uint8))


@pytest.mark.parametrize("name", ["arcface", "adaface"])
def test_download_only_backends_fail_clearly_offline(name, tmp_path, monkeypatch):
    from headswapbench.face.identity import IDENTITY_MODELS

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path / "weights"))
    with pytest.raises(MissingWeightsError) as exc:
        IDENTITY_MODELS.get(name)()
    msg = str(exc.value)
    assert "download it from" in msg and str(tmp_path / "weights") in msg


def _stand_in_arcface(path):
    """A tiny ONNX graph with ArcFace's interface (N×3×112×112 → N×512): per-channel mean, then a fixed matrix."""
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).normal(size=(3, 512)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["input.1"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["flat"]),
         helper.make_node("MatMul", ["flat", "W"], ["683"])],
        "stand_in_arcface",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["N", 512])],
        initializer=[numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("buffalo_l/w600k_r50.onnx", model.SerializeToString())
    return w


def test_arcface_loading_alignment_and_preprocessing_on_a_stand_in_model(shared_images, tmp_path, monkeypatch):
    """Stand-in weights (synthetic, random): checks unpacking, onnxruntime session, 5-point alignment and input
    normalisation against an independent numpy computation — not ArcFace's accuracy."""
    import cv2
    from skimage.transform import SimilarityTransform

    from headswapbench.video import read_image

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path / "w"))
    pack = tmp_path / "w" / "arcface-buffalo-l" / "buffalo_l.zip"
    pack.parent.mkdir(parents=True)
    w = _stand_in_arcface(pack)
    model = ArcFaceIdentity()
    img = read_image(next(p for p in shared_images if p.name == "fr_biden2.jpg"))
    lm = image_analysis(str(next(p for p in shared_images if p.name == "fr_biden2.jpg"))).landmarks
    got = model.embed_faces(img, [lm])[0]
    # independent reference: ArcFace 112-px template, similarity warp, (x - 127.5) / 127.5, mean, matrix
    dst = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                    [41.5493, 92.3655], [70.7299, 92.2041]])
    tf = SimilarityTransform.from_estimate(five_points(lm), dst) if hasattr(SimilarityTransform, "from_estimate") \
        else SimilarityTransform()
    if not hasattr(SimilarityTransform, "from_estimate"):
        tf.estimate(five_points(lm), dst)
    crop = cv2.warpAffine(img, tf.params[:2], (112, 112)).astype(np.float32)
    ref = ((crop - 127.5) / 127.5).mean((0, 1)) @ w
    np.testing.assert_allclose(got, ref / np.linalg.norm(ref), atol=1e-4)
    assert model.dim == 512 and model.describe()["name"] == "arcface"


def test_tasks_landmarker_fails_clearly_without_its_model_file(tmp_path, monkeypatch):
    from headswapbench.face import LANDMARK_MODELS

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path / "weights"))
    with pytest.raises(MissingWeightsError) as exc:
        LANDMARK_MODELS.get("tasks")()
    msg = str(exc.value)
    assert "face_landmarker.task" in msg and "storage.googleapis.com" in msg
    assert str(tmp_path / "weights" / "face-landmarker") in msg


_STAND_IN_WRAPPER = '''
import numpy as np
import torch
from transformers import PretrainedConfig, PreTrainedModel


class StandInConfig(PretrainedConfig):
    model_type = "standin_adaface"


class StandInModel(PreTrainedModel):
    config_class = StandInConfig

    def __init__(self, config):
        super().__init__(config)
        # relative path, as CVLface's wrapper: only works if the loader enters the repo folder. Kept as a
        # numpy attribute so transformers' meta-device initialisation leaves it alone.
        self.w = np.load("pretrained_model/model.npy")
        self.post_init()

    def forward(self, x):
        return x.mean((2, 3)) @ torch.from_numpy(self.w)
'''


def test_adaface_remote_code_loading_on_a_stand_in_repo(shared_images, tmp_path, monkeypatch):
    """Synthetic stand-in Hub repo with CVLface's layout (config.json auto_map → wrapper.py, weights read
    relative to the repo): checks the trust_remote_code loading, cwd/sys.path restore, alignment and input
    normalisation against numpy — not AdaFace's accuracy."""
    import json
    import os
    import sys

    from safetensors.torch import save_file

    from headswapbench import weights
    from headswapbench.face.identity import AdaFaceIdentity
    from headswapbench.video import read_image

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path / "w"))
    repo = weights.target_path(weights.get_spec("adaface-ir101"))
    (repo / "pretrained_model").mkdir(parents=True)
    (repo / "wrapper.py").write_text(_STAND_IN_WRAPPER)
    (repo / "config.json").write_text(json.dumps({"model_type": "standin_adaface", "auto_map": {
        "AutoConfig": "wrapper.StandInConfig", "AutoModel": "wrapper.StandInModel"}}))
    w = np.random.default_rng(0).normal(size=(3, 512)).astype(np.float32)
    np.save(repo / "pretrained_model" / "model.npy", w)
    save_file({}, str(repo / "model.safetensors"))
    cwd = os.getcwd()
    model = AdaFaceIdentity()
    assert os.getcwd() == cwd and str(repo) not in sys.path
    photo = next(p for p in shared_images if p.name == "lp_d8.jpg")
    img, lm = read_image(photo), image_analysis(str(photo)).landmarks
    got = model.embed_faces(img, [lm])[0]
    crop = ArcFaceIdentity.aligned(img, lm).astype(np.float32)
    ref = ((crop - 127.5) / 127.5).mean((0, 1)) @ w
    np.testing.assert_allclose(got, ref / np.linalg.norm(ref), atol=1e-4)


def test_tasks_result_parsing_and_main_subject_choice():
    """The Tasks backend's conversion of a FaceLandmarker result (synthetic stand-in object with the Tasks
    result's fields) to pixel landmarks + extras, and the main-face choice among several faces."""
    from types import SimpleNamespace

    from headswapbench.face.tasks import TasksLandmarks

    def face(cx, cy, half):
        rng = np.random.default_rng(int(cx * 100))
        pts = rng.uniform(-half, half, size=(478, 3)) + [cx, cy, 0]
        return [SimpleNamespace(x=x, y=y, z=z) for x, y, z in pts]

    result = SimpleNamespace(
        face_landmarks=[face(0.15, 0.15, 0.08), face(0.5, 0.5, 0.1)],
        face_blendshapes=[[SimpleNamespace(score=0.1 * k) for k in range(52)]] * 2,
        facial_transformation_matrixes=[np.eye(4) * 2, np.eye(4)])
    model = object.__new__(TasksLandmarks)  # no model file needed for the conversion code
    faces = model.faces(result, width=200, height=100)
    assert len(faces) == 2
    assert faces[1].landmarks[:, 0].min() >= 80 and faces[1].landmarks[:, 0].max() <= 120  # x * width
    assert faces[1].landmarks[:, 1].min() >= 40 and faces[1].landmarks[:, 1].max() <= 60  # y * height
    assert faces[0].extras["blendshapes"].shape == (52,) and faces[0].extras["blendshapes"][3] == pytest.approx(0.3)
    np.testing.assert_array_equal(faces[0].extras["transform_matrix"], np.eye(4) * 2)
    from headswapbench.face.tracking import pick_main_face

    assert pick_main_face([f.box for f in faces], (100, 200)) == 1  # the central face, not the corner one
