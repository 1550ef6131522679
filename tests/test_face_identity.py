"""Identity embeddings: the dlib backend separates same-person from different-person pairs on the real media
(SOURCES.tsv same_person_links: videos/lp_d18.mp4 ↔ images/lp_d19.jpg); the download-only backends fail with
one clear message offline; ArcFace's and AdaFace's real loading/alignment/preprocessing code runs on stand-in
weights in the exact published formats; a model file that is not the pinned one is refused before it loads."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import zipfile
from pathlib import Path

import numpy as np
import pytest

from headswapbench import weights as W
from headswapbench.errors import ChecksumError, FaceNotFoundError, MissingWeightsError
from headswapbench.face import get_identity_model
from headswapbench.face.identity import ArcFaceIdentity, cosine, five_points
from tests.helpers.face_shared import clip_analysis, image_analysis


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
    _pin_stand_in(monkeypatch, "arcface-buffalo-l", pack)
    with zipfile.ZipFile(pack) as zf:
        _pin_stand_in(monkeypatch, "arcface-w600k-r50", data=zf.read("buffalo_l/w600k_r50.onnx"))
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


def test_a_fake_arcface_model_is_refused_before_it_loads(tmp_path, monkeypatch):
    """The reported attack: a constant-output ONNX in place of w600k_r50.onnx made two different people the
    same person (similarity 1.0). The extracted member is pinned by its full sha256, so it never loads."""
    from onnx import TensorProto, helper, numpy_helper

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path / "w"))
    graph = helper.make_graph(  # SYNTHETIC: ignores its input, returns the same 512-d vector for every face
        [helper.make_node("ReduceMean", ["input.1"], ["m"], keepdims=0), helper.make_node("Mul", ["m", "z"], ["zero"]),
         helper.make_node("Add", ["zero", "c"], ["683"])],
        "constant", [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, [512])],
        initializer=[numpy_helper.from_array(np.zeros(1, np.float32), "z"),
                     numpy_helper.from_array(np.ones(512, np.float32), "c")])
    fake = W.target_path(W.get_spec("arcface-w600k-r50"))
    fake.parent.mkdir(parents=True)
    fake.write_bytes(helper.make_model(graph).SerializeToString())
    with pytest.raises(ChecksumError) as exc:
        ArcFaceIdentity()
    msg = str(exc.value)
    assert str(fake) in msg and W.get_spec("arcface-w600k-r50").sha256 in msg  # file, expected ...
    assert "bytes, which does not match" in msg and "weights fetch arcface-w600k-r50" in msg  # ... actual, fix
    assert "\n" not in msg


def _pin_stand_in(monkeypatch, name, path=None, data=None):
    """Pin a table entry to a SYNTHETIC stand-in file (its own sha256 and size), as if it were published."""
    data = Path(path).read_bytes() if data is None else data
    spec = dataclasses.replace(W.get_spec(name), sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    monkeypatch.setitem(W.WEIGHTS, name, spec)
    return spec


def _stand_in_adaface(path, seed: int = 0, prefix: str = "model.net.") -> dict:
    """A SYNTHETIC stand-in for CVLface's model.safetensors: our IR-101's keys, shapes and dtypes under the
    published ``model.net.`` prefix, with seeded random values (not AdaFace's weights)."""
    import torch
    from safetensors.torch import save_file

    from headswapbench.face.iresnet import _build

    rng = np.random.default_rng(seed)
    with torch.device("meta"):
        skeleton = _build()().state_dict()
    state = {}
    for k, v in skeleton.items():
        if v.dtype == torch.int64:  # num_batches_tracked
            state[prefix + k] = torch.from_numpy(rng.integers(0, 1000, v.shape))
        elif k.endswith("running_var"):
            state[prefix + k] = torch.from_numpy(rng.uniform(0.5, 1.5, v.shape).astype(np.float32))
        else:
            state[prefix + k] = torch.from_numpy(rng.standard_normal(v.shape, np.float32) * 0.05)
    save_file(state, str(path), metadata={"format": "pt"})  # as transformers' save_pretrained writes it
    return state


@pytest.fixture(scope="module")
def adaface_stand_in(tmp_path_factory):
    path = tmp_path_factory.mktemp("adaface") / "model.safetensors"
    return path, _stand_in_adaface(path, seed=1)


def test_adaface_ir101_matches_the_published_checkpoint_layout(adaface_stand_in):
    """Our IR-101 has exactly the published file's tensors: a stand-in saved in its format (same keys,
    shapes, dtypes, metadata) is byte-for-byte as long as the pinned model.safetensors (260,980,552 bytes),
    it has the 917 entries an independent check counted in it, and every key loads with strict=True."""
    from headswapbench.face.iresnet import load_ir101, map_state_dict

    path, state = adaface_stand_in
    assert len(state) == 917
    assert path.stat().st_size == W.get_spec("adaface-ir101").size == 260_980_552
    model = load_ir101(path)  # strict=True inside: a missing or extra key would raise
    own = model.state_dict()
    assert set(own) == set(map_state_dict(state)) and all(k.startswith("model.net.") for k in state)
    for k in ("input_layer.0.weight", "body.3.shortcut_layer.0.weight", "output_layer.3.weight"):
        np.testing.assert_array_equal(own[k].numpy(), state["model.net." + k].numpy())
    assert sum(p.numel() for p in model.parameters()) == 65_150_912  # "65M parameters" on the model card


def test_adaface_key_mapping_refuses_other_checkpoints(tmp_path):
    import torch

    from headswapbench.errors import HeadSwapBenchError
    from headswapbench.face.iresnet import load_ir101, map_state_dict

    t = torch.zeros(1)
    assert map_state_dict({"net.a": t, "net.b": t}) == {"a": t, "b": t}  # CVLface pretrained_model/model.pt
    with pytest.raises(HeadSwapBenchError, match="not a CVLface IR-101 state dict"):
        map_state_dict({"model.input_layer.0.weight": t, "head.kernel": t})  # original AdaFace .ckpt (BGR)
    from safetensors.torch import save_file

    save_file({"model.net.input_layer.0.weight": torch.zeros(64, 3, 3, 3)}, str(tmp_path / "partial.safetensors"))
    with pytest.raises(HeadSwapBenchError, match="does not fit AdaFace IR-101"):
        load_ir101(tmp_path / "partial.safetensors")


def test_adaface_loads_a_state_dict_and_runs_no_repo_code(adaface_stand_in, shared_images, tmp_path, monkeypatch):
    """Stand-in weights (SYNTHETIC, random) in the exact format, pinned for the test: the AdaFace backend
    loads them into our network, never executes files found beside them (a CVLface-style wrapper.py that
    would leave a marker), feeds the network the 112-px ArcFace crop as RGB, (x/255 - 0.5)/0.5 (checked
    against an independent numpy preprocessing, and not BGR), and returns the L2-normalised output."""
    from headswapbench.face.identity import AdaFaceIdentity
    from headswapbench.video import read_image

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path / "w"))
    stand_in, state = adaface_stand_in
    path = W.target_path(W.get_spec("adaface-ir101"))
    path.parent.mkdir(parents=True)
    path.symlink_to(stand_in)
    marker = tmp_path / "remote-code-ran"
    (path.parent / "wrapper.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (path.parent / "config.json").write_text('{"auto_map": {"AutoModel": "wrapper.Model"}}')
    _pin_stand_in(monkeypatch, "adaface-ir101", stand_in)
    model = AdaFaceIdentity()
    assert not marker.exists()
    assert model.describe()["weights"]["pinned"] is True  # the (test-)pinned file was used
    loaded = model._model.state_dict()
    for k in ("input_layer.0.weight", "body.48.res_layer.4.weight", "output_layer.4.running_var"):
        np.testing.assert_array_equal(loaded[k].numpy(), state["model.net." + k].numpy())
    seen = []
    net_in_use = model._model

    def spy(t):  # records exactly what the network is fed and returns
        seen.append((t.clone(), net_in_use(t)))
        return seen[-1][1]

    model._model = spy
    photo = next(p for p in shared_images if p.name == "lp_d8.jpg")
    img, lm = read_image(photo), image_analysis(str(photo)).landmarks
    got = model.embed_faces(img, [lm])[0]
    crop = ArcFaceIdentity.aligned(img, lm).astype(np.float64)  # RGB
    rgb = ((crop / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None].astype(np.float32)
    bgr = ((crop[..., ::-1] / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None].astype(np.float32)
    fed, out = seen[0]
    np.testing.assert_allclose(fed.numpy(), rgb, atol=1e-6)
    assert np.abs(fed.numpy() - bgr).max() > 0.1
    ref = out[0].numpy()
    np.testing.assert_allclose(got, ref / np.linalg.norm(ref), atol=1e-6)


def test_adaface_refuses_an_unpinned_swap_of_its_weights(tmp_path, monkeypatch):
    """Another file in place of the pinned one, of exactly its size, is refused by its full sha256."""
    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path / "w"))
    from headswapbench.face.identity import AdaFaceIdentity

    path = W.target_path(W.get_spec("adaface-ir101"))
    path.parent.mkdir(parents=True)
    with open(path, "wb") as fh:  # sparse: same size as the real file, only the full sha256 tells them apart
        fh.truncate(W.get_spec("adaface-ir101").size)
    with pytest.raises(ChecksumError, match="which does not match the pinned 2ea535a4"):
        AdaFaceIdentity()


def test_no_remote_code_loading_anywhere():
    """No code path may ask transformers/diffusers to run code from a downloaded repo."""
    repo = Path(__file__).resolve().parents[1]
    offenders = [f"{p.relative_to(repo)}:{i}" for folder in ("headswapbench", "metrics", "pipelines", "leaderboard")
                 for p in (repo / folder).rglob("*.py")
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if "trust_remote_code" in line]
    assert offenders == []


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
