"""Weights manager: cache lookup, sha256 checks, downloads from a loopback server, the offline message."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading

import pytest

from headswapbench import weights as W
from headswapbench.cli.main import main
from headswapbench.errors import ChecksumError, HeadSwapBenchError, MissingWeightsError
from headswapbench.weights import InvalidWeightsError


@pytest.fixture
def fake_spec(monkeypatch, tmp_path):
    payload = b"synthetic weights for a test" * 1000
    digest = hashlib.sha256(payload).hexdigest()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = payload if self.path == "/good.bin" else b"tampered"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    good = W.WeightSpec("test-good", "good.bin", f"{base}/good.bin", digest, len(payload))
    bad = W.WeightSpec("test-bad", "bad.bin", f"{base}/bad.bin", digest, len(payload))
    monkeypatch.setitem(W.WEIGHTS, good.name, good)
    monkeypatch.setitem(W.WEIGHTS, bad.name, bad)
    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield good, bad, payload
    server.shutdown()


def test_download_checks_sha256_and_caches(fake_spec):
    good, bad, payload = fake_spec
    path = W.weight_path(good.name)
    assert path.read_bytes() == payload and path.parent.name == good.name
    assert W.verify(good.name)["ok"]
    with pytest.raises(ChecksumError, match="does not match"):
        W.weight_path(bad.name)
    assert not W.target_path(bad).exists()  # nothing half-written or unverified left behind


def test_offline_missing_file_names_file_url_sha_and_place(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path))
    with pytest.raises(MissingWeightsError) as exc:
        W.weight_path("fid-inception")
    msg = str(exc.value)
    spec = W.WEIGHTS["fid-inception"]
    assert spec.filename in msg and spec.url in msg and spec.sha256 in msg
    assert str(tmp_path / "fid-inception" / spec.filename) in msg


def test_unreachable_url_gives_one_clear_error(monkeypatch, tmp_path):
    spec = W.WeightSpec("test-unreachable", "x.bin", "http://127.0.0.1:9/x.bin", None)
    monkeypatch.setitem(W.WEIGHTS, spec.name, spec)
    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(MissingWeightsError, match="download failed"):
        W.weight_path(spec.name)


def test_bundled_files_resolve_inside_their_wheels():
    for name in ("facemesh", "dlib-resnet", "dlib-shape5"):
        assert W.weight_path(name).is_file()


def test_cli_list_fetch_verify(fake_spec, capsys):
    good, _, _ = fake_spec
    assert main(["weights", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"fid-inception", "lpips-alexnet", "fvd-i3d", "arcface-buffalo-l"}
    assert main(["weights", "fetch", good.name, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["ok"]
    assert main(["weights", "verify", good.name]) == 0
    W.target_path(good).write_bytes(b"corrupted")
    assert main(["weights", "verify", good.name]) == 1


# ------------------------------------------------------------------------------------ pins and checks
def _pinned_to(monkeypatch, name, data: bytes, **changes):
    """Pin a table entry to SYNTHETIC bytes (their own sha256 and size), as if they were the published file."""
    import dataclasses

    spec = dataclasses.replace(W.get_spec(name), sha256=hashlib.sha256(data).hexdigest(), size=len(data), **changes)
    monkeypatch.setitem(W.WEIGHTS, name, spec)
    return spec


def test_every_model_file_is_pinned_by_full_sha256_or_listed_as_unpinned():
    unpinned = {n for n, s in W.WEIGHTS.items() if not s.pinned}
    assert unpinned == {"sd15", "animatediff-v1-5-3", "clip-vit-l14"}  # whole Hub snapshots, no digests yet
    for spec in W.WEIGHTS.values():
        assert spec.sha256 is None or (len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0)
    # torchvision / pytorch-fid file names carry the first 8 hex digits of the full digest we pin
    for name in ("lpips-alexnet", "lpips-vgg16", "fid-inception"):
        spec = W.get_spec(name)
        assert spec.sha256[:8] in spec.filename
    assert W.get_spec("adaface-ir101").revision == W.ADAFACE_REVISION and len(W.ADAFACE_REVISION) == 40
    with pytest.raises(HeadSwapBenchError, match="full 64-hex digest"):
        W.register_weight(W.WeightSpec("plugin-model", "m.onnx", "https://example.org/m.onnx", "7be5be79"))


def test_bundled_files_match_their_pins():
    """The wheel files (mediapipe 0.10.14, face-recognition-models 0.3.0) are the ones hashed for the table."""
    for name in ("facemesh", "facemesh-detector", "dlib-resnet", "dlib-shape5"):
        row = W.verify(name)
        assert row["status"] == "ok" and row["sha256"] == W.get_spec(name).sha256, row
        assert W.fingerprint(name) == {"sha256": W.get_spec(name).sha256, "pinned": True}


@pytest.mark.timeout(30)
def test_zero_byte_fifo_and_device_files_are_refused_with_one_line(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path))
    target = W.target_path(W.get_spec("fid-inception"))
    target.parent.mkdir(parents=True)
    target.write_bytes(b"")
    with pytest.raises(InvalidWeightsError, match=r"is empty \(0 bytes\)"):
        W.weight_path("fid-inception")
    assert W.verify("fid-inception")["status"] == "invalid"
    target.unlink()
    os.mkfifo(target)  # reading it would block forever
    with pytest.raises(InvalidWeightsError, match="is not a regular file"):
        W.weight_path("fid-inception")
    target.unlink()
    target.symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(InvalidWeightsError, match="is not a regular file"):
        W.weight_path("fid-inception")


def test_garbage_face_landmarker_task_is_refused_before_mediapipe(tmp_path, monkeypatch):
    """Pinned: the hash refuses it. Unpinned (a plug-in's own .task): the format check refuses it. Never a
    MediaPipe traceback."""
    import dataclasses

    from headswapbench.face import LANDMARK_MODELS

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path))
    target = W.target_path(W.get_spec("face-landmarker"))
    target.parent.mkdir(parents=True)
    target.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(ChecksumError, match="face_landmarker.task.*does not match.*64184e22"):
        LANDMARK_MODELS.get("tasks")()
    monkeypatch.setitem(W.WEIGHTS, "face-landmarker", dataclasses.replace(W.get_spec("face-landmarker"), sha256=None))
    with pytest.raises(InvalidWeightsError, match="not a MediaPipe .task bundle"):
        LANDMARK_MODELS.get("tasks")()


def _onnx_bytes() -> bytes:
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    return helper.make_model(graph).SerializeToString()


def test_format_sniffing_accepts_real_formats_and_refuses_lookalikes(tmp_path):
    import io
    import zipfile

    import torch
    from safetensors.torch import save_file

    def zipped(names):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for n in names:
                zf.writestr(n, b"x")
        return buf.getvalue()

    good = tmp_path / "good"
    good.mkdir()
    (good / "m.onnx").write_bytes(_onnx_bytes())
    (good / "m.task").write_bytes(zipped(["face_detector.tflite", "face_landmarks_detector.tflite"]))
    (good / "m.tflite").write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 32)
    torch.save({"w": torch.zeros(2)}, good / "m.pth")
    torch.jit.script(torch.nn.Identity()).save(str(good / "m.pt"))
    save_file({"w": torch.zeros(2)}, str(good / "m.safetensors"))
    cases = {"onnx": "m.onnx", "task": "m.task", "tflite": "m.tflite", "torch": "m.pth", "torchscript": "m.pt",
             "safetensors": "m.safetensors", "zip": "m.task"}
    for fmt, name in cases.items():
        assert W.sniff_format(good / name, fmt) is None, fmt
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x08" + b"\xff" * 200)  # starts like ONNX, is not
    assert "not an ONNX model" in W.sniff_format(bad, "onnx")
    assert "no .tflite model inside" in W.sniff_format(good / "m.pth", "task")
    assert "not a TorchScript archive" in W.sniff_format(good / "m.pth", "torchscript")
    assert "TFL3" in W.sniff_format(good / "m.onnx", "tflite")
    assert "not a safetensors file" in W.sniff_format(good / "m.onnx", "safetensors")
    assert "not a torch.save file" in W.sniff_format(good / "m.onnx", "torch")


def test_cli_verify_reports_pinned_unpinned_mismatch_per_file(tmp_path, monkeypatch, capsys):
    import dataclasses

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path))
    data = _onnx_bytes()
    _pinned_to(monkeypatch, "arcface-w600k-r50", data)
    W.target_path(W.get_spec("arcface-w600k-r50")).parent.mkdir(parents=True)
    W.target_path(W.get_spec("arcface-w600k-r50")).write_bytes(data)
    unpinned = dataclasses.replace(W.get_spec("fid-inception"), name="test-unpinned", sha256=None)
    monkeypatch.setitem(W.WEIGHTS, unpinned.name, unpinned)
    W.target_path(unpinned).parent.mkdir(parents=True)
    import torch

    torch.save({"w": torch.zeros(1)}, W.target_path(unpinned))
    assert main(["weights", "verify", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["arcface-w600k-r50"]["status"] == "ok" and rows["arcface-w600k-r50"]["pinned"] is True
    assert rows["test-unpinned"]["status"] == "unpinned" and rows["test-unpinned"]["pinned"] is False
    assert rows["facemesh"]["status"] == "ok"  # bundled files are listed too
    W.target_path(W.get_spec("arcface-w600k-r50")).write_bytes(data[:-1] + b"\x00")  # same size, other bytes
    assert main(["weights", "verify", "arcface-w600k-r50", "--json"]) == 1
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == "mismatch" and row["expected"] in row["problem"] and row["sha256"] in row["problem"]
    assert main(["weights", "list", "--json"]) == 0
    listed = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["sd15"]["pinned"] is False and listed["fvd-i3d"]["pinned"] is True


def test_arcface_member_is_extracted_from_the_checked_pack_under_archive_caps(tmp_path, monkeypatch):
    import io
    import zipfile

    monkeypatch.setenv("HEADSWAPBENCH_WEIGHTS", str(tmp_path))
    onnx_bytes = _onnx_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("w600k_r50.onnx", onnx_bytes)  # the real pack holds its members at the top level
        zf.writestr("det_10g.onnx", onnx_bytes)
    _pinned_to(monkeypatch, "arcface-buffalo-l", buf.getvalue())
    _pinned_to(monkeypatch, "arcface-w600k-r50", onnx_bytes)
    pack = W.target_path(W.get_spec("arcface-buffalo-l"))
    pack.parent.mkdir(parents=True)
    pack.write_bytes(buf.getvalue())
    checked = W.resolve("arcface-w600k-r50")
    assert checked.path.read_bytes() == onnx_bytes and checked.pinned
    assert checked.path.parent == pack.parent
    # a pack that is a decompression bomb is refused before anything is written
    checked.path.unlink()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("w600k_r50.onnx", b"\x00" * (300 * 1024**2))
    _pinned_to(monkeypatch, "arcface-buffalo-l", bomb.getvalue())
    pack.write_bytes(bomb.getvalue())
    with pytest.raises(InvalidWeightsError, match="decompression bomb"):
        W.resolve("arcface-w600k-r50")
    assert not checked.path.exists()
