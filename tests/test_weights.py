"""Weights manager: cache lookup, sha256 checks, downloads from a loopback server, the offline message."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading

import pytest

from headswapbench import weights as W
from headswapbench.cli.main import main
from headswapbench.errors import ChecksumError, MissingWeightsError


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
