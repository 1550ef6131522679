"""CLI: `headswapbench analyze` outputs and `headswapbench identity` verdicts (in-process)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from headswapbench.cli.main import main


@pytest.fixture(scope="module")
def cut_clip(shared_data, tmp_path_factory):
    """First 40 frames of the real clip lp_d18.mp4, re-encoded (same person as images/lp_d19.jpg)."""
    from headswapbench.video import read_video, write_video

    path = tmp_path_factory.mktemp("clips") / "lp_d18_first40.mp4"
    write_video(path, read_video(shared_data / "videos" / "lp_d18.mp4", num_frames=40))
    return path


def test_analyze_writes_json_npz_and_overlay(cut_clip, tmp_path, capsys):
    from headswapbench.face.expression import DIM
    from headswapbench.video import probe

    out = tmp_path / "out"
    assert main(["analyze", str(cut_clip), "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    meta = json.loads((out / "analysis.json").read_text())
    assert meta["num_frames"] == 40 and meta["frames_with_face"] >= 38 and meta["fps"] == pytest.approx(30.0)
    assert {"landmarks", "pose", "expression", "identity"} <= set(meta["backends"])
    assert {"decode_s", "landmarks_s", "identity_s", "pose_expression_s"} <= set(meta["timings"])
    assert printed["frames_with_face"] == meta["frames_with_face"]
    with np.load(out / "analysis.npz") as z:
        assert z["landmarks"].shape == (40, 478, 3) and z["pose"].shape == (40, 3)
        assert z["expression"].shape == (40, DIM)
        n = len(z["identity_frames"])
        assert 1 <= n <= 16 and z["identity"].shape == (n, 128)
    info = probe(out / "overlay.mp4")
    assert info.num_frames == 40 and info.codec == "h264"


def test_analyze_human_output_and_bad_input(cut_clip, tmp_path, capsys):
    assert main(["analyze", str(cut_clip), "--out", str(tmp_path / "o"), "--no-overlay", "--identity", "none"]) == 0
    text = capsys.readouterr().out
    assert "frames with a face" in text and "pose" in text
    assert not (tmp_path / "o" / "overlay.mp4").exists()
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"garbage" * 50)
    assert main(["analyze", str(bad), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "broken.mp4" in err and "Traceback" not in err


def test_identity_command_same_and_different(cut_clip, shared_data, capsys):
    assert main(["identity", str(cut_clip), str(shared_data / "images" / "lp_d19.jpg"), "--json"]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["same_person"] is True and same["backend"] == "dlib"
    assert same["distance"] == pytest.approx(np.sqrt(2 - 2 * same["similarity"]), abs=1e-5)
    assert main(["identity", str(shared_data / "images" / "lp_d19.jpg"),
                 str(shared_data / "images" / "fr_biden2.jpg")]) == 0
    text = capsys.readouterr().out
    assert text.startswith("different people")
    assert json.loads(text.splitlines()[1])["same_person"] is False


def test_identity_command_no_face(tmp_path, shared_data, capsys):
    from headswapbench.video import write_image

    blank = tmp_path / "blank.png"
    write_image(blank, np.full((128, 128, 3), 40, np.uint8))
    assert main(["identity", str(blank), str(shared_data / "images" / "lp_d19.jpg")]) == 2
    err = capsys.readouterr().err
    assert "no face" in err and "blank.png" in err  # names the file at fault


def test_analyze_rejects_bad_identity_stride(cut_clip, tmp_path, capsys):
    assert main(["analyze", str(cut_clip), "--out", str(tmp_path / "o"), "--identity-every", "-3"]) == 2
    assert "--identity-every" in capsys.readouterr().err
