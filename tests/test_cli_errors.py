"""Bad input on the CLI: one line `error: <thing at fault>: <cause>`, exit 2, never a traceback.

Each test is a regression test for a case found by exercising the commands by hand; all stop before any
long work, so the file runs in a few seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from headswapbench.cli.main import main


def _one_error_line(capsys, *must_name: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, err
    for s in must_name:
        assert s in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def a_file(tmp_path) -> Path:
    f = tmp_path / "afile"
    f.write_text("not a folder")
    return f


def test_output_under_a_file_is_one_error_line(a_file, shared_data, tmp_path, capsys):
    """Output paths whose parent is a file used to end in a FileExistsError traceback (fileio.ensure_dir)."""
    video = shared_data / "videos" / "lp_d12.mp4"
    image = shared_data / "images" / "lp_d9.jpg"
    assert main(["swap", str(video), str(image), "--swapper", "noop", "--out", str(a_file / "o.mp4")]) == 2
    _one_error_line(capsys, str(a_file), "is a file")
    # analyze checks its output folder before analysing (fast failure, no lost work)
    assert main(["analyze", str(video), "--out", str(a_file / "sub")]) == 2
    _one_error_line(capsys, str(a_file / "sub"))
    assert main(["analyze", str(video), "--out", str(a_file)]) == 2
    _one_error_line(capsys, str(a_file))
    assert main(["evaluate", str(tmp_path / "nosplit"), "--swapper", "noop", "--out", str(a_file / "run")]) == 2
    _one_error_line(capsys, str(a_file / "run"))


def test_output_file_that_is_a_directory(shared_data, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    out.mkdir()
    video = shared_data / "videos" / "lp_d12.mp4"
    assert main(["swap", str(video), str(shared_data / "images" / "lp_d9.jpg"), "--swapper", "noop",
                 "--out", str(out)]) == 2
    _one_error_line(capsys, str(out), "directory")


def test_leaderboard_site_under_a_file(a_file, tmp_path, capsys):
    from tests.helpers.leaderboard_fixtures import results_for, write_run

    path = write_run(tmp_path / "runs", "noop", results_for("noop"))
    assert main(["leaderboard", "build", str(path), "--out", str(a_file / "site")]) == 2
    _one_error_line(capsys, str(a_file))


def test_fileio_ensure_dir_and_atomic_path_refuse_unwritable(a_file, tmp_path):
    from headswapbench.errors import HeadSwapBenchError
    from headswapbench.fileio import atomic_write_text, ensure_dir

    assert ensure_dir(tmp_path / "a" / "b").is_dir()
    with pytest.raises(HeadSwapBenchError, match="afile"):
        ensure_dir(a_file / "x")
    with pytest.raises(HeadSwapBenchError, match="afile"):
        atomic_write_text(a_file / "x" / "y.txt", "hi")
    with pytest.raises(HeadSwapBenchError, match="directory"):
        atomic_write_text(tmp_path / "a", "hi")


def _fake_split(root: Path, rows: list[dict] | None = None) -> Path:
    """A split folder whose media are placeholder bytes (every check here fails before media are decoded)."""
    import json

    from headswapbench.fileio import sha256_file

    rows = rows or [{"clip_id": "c0", "subject_id": "s0", "driving_file_name": "driving/c0.mp4",
                     "reference_file_name": "reference/c0.png", "target_file_name": "target/c0.mp4"}]
    folder = root / "test"
    for sub, suffix in (("driving", "mp4"), ("reference", "png"), ("target", "mp4")):
        (folder / sub).mkdir(parents=True)
        (folder / sub / f"c0.{suffix}").write_bytes(b"placeholder " + sub.encode())
    (folder / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "SHA256SUMS").write_text("".join(f"{sha256_file(p)}  {p.relative_to(root).as_posix()}\n"
                                             for p in sorted(folder.rglob("*")) if p.is_file()))
    return root


def test_evaluate_refuses_a_file_that_differs_from_the_manifest(tmp_path, capsys):
    """A changed/corrupt local file used to be scored under the manifest's (official) dataset checksum."""
    root = _fake_split(tmp_path / "split")
    (root / "test" / "target" / "c0.mp4").write_bytes(b"edited after packaging")
    assert main(["evaluate", str(root), "--swapper", "noop", "--out", str(tmp_path / "run")]) == 2
    _one_error_line(capsys, "test/target/c0.mp4", "checksum mismatch")


@pytest.mark.parametrize("column,value", [("target_file_name", None), ("clip_id", 5), ("subject_id", "")])
def test_evaluate_malformed_metadata_row_names_file_and_line(tmp_path, capsys, column, value):
    """A null/non-string file name used to crash deep in pathlib with a TypeError traceback."""
    row = {"clip_id": "c0", "subject_id": "s0", "driving_file_name": "driving/c0.mp4",
           "reference_file_name": "reference/c0.png", "target_file_name": "target/c0.mp4", column: value}
    root = _fake_split(tmp_path / "split", [row])
    assert main(["evaluate", str(root), "--swapper", "noop", "--out", str(tmp_path / "run")]) == 2
    _one_error_line(capsys, "metadata.jsonl:1", column)


def test_evaluate_unsafe_file_name_names_the_metadata_line(tmp_path, capsys):
    row = {"clip_id": "c0", "subject_id": "s0", "driving_file_name": "../../../etc/passwd.mp4",
           "reference_file_name": "reference/c0.png", "target_file_name": "target/c0.mp4"}
    root = _fake_split(tmp_path / "split", [row])
    assert main(["evaluate", str(root), "--swapper", "noop", "--out", str(tmp_path / "run")]) == 2
    _one_error_line(capsys, "metadata.jsonl:1", "not a safe relative path")


@pytest.mark.parametrize("args, message", [
    (["--metric-opt", "fid_frame_strid=2"], "unknown metric option(s) fid_frame_strid"),
    (["--metrics", "psnr,ssmi"], "unknown metric 'ssmi'. Did you mean 'ssim'"),
    (["--protocol", "headswapbench-v2"], "unknown protocol 'headswapbench-v2'"),
    (["--identity", "adafce"], "unknown identity model 'adafce'"),
    (["--batch-size", "0"], "--batch-size 0"),
])
def test_evaluate_options_are_checked_before_anything_runs(tmp_path, capsys, args, message):
    """Checked against the protocol and the registries before the split is read or a model loads."""
    assert main(["evaluate", str(tmp_path / "nosplit"), "--swapper", "noop", "--out", str(tmp_path / "run"),
                 *args]) == 2
    _one_error_line(capsys, message)
    assert not (tmp_path / "run").exists()


def test_leaderboard_unknown_sort_metric_is_refused(tmp_path, capsys):
    """An unknown --sort-by used to be ignored silently (the board ranked by another metric)."""
    from tests.helpers.leaderboard_fixtures import results_for, write_run

    path = write_run(tmp_path / "runs", "noop", results_for("noop"))
    assert main(["leaderboard", "build", str(path), "--out", str(tmp_path / "site"), "--sort-by", "nosuch"]) == 2
    _one_error_line(capsys, "--sort-by nosuch", "keypoint_nme")
    assert not (tmp_path / "site").exists()
    assert main(["leaderboard", "build", str(path), "--out", str(tmp_path / "site"), "--sort-by", "psnr"]) == 0


def test_swap_needs_one_method_and_real_files(shared_data, tmp_path, capsys):
    video, image = shared_data / "videos" / "lp_d12.mp4", shared_data / "images" / "lp_d9.jpg"
    out = str(tmp_path / "o.mp4")
    assert main(["swap", str(video), str(image), "--out", out]) == 2
    line = _one_error_line(capsys, "--swapper", "--command")
    assert "--predictions" not in line  # swap has no such option
    assert main(["swap", str(tmp_path), str(image), "--swapper", "noop", "--out", out]) == 2
    _one_error_line(capsys, str(tmp_path), "directory")
    missing = str(tmp_path / "missing.mp4")  # used to be a FileNotFoundError traceback
    assert main(["swap", str(video), str(image), "--swapper", "oracle", "--target", missing, "--out", out]) == 2
    _one_error_line(capsys, missing, "no such file")


@pytest.mark.parametrize("command", ["swap", "evaluate"])
def test_bad_device_and_timeout_are_refused_before_work(command, shared_data, tmp_path, capsys):
    """--device banana used to traceback in torch (evaluate) or be ignored (swap); --device cuda on a machine
    without CUDA ran the warp swapper on the CPU silently; --timeout -1 killed every command at once."""
    import torch

    video, image = shared_data / "videos" / "lp_d12.mp4", shared_data / "images" / "lp_d9.jpg"
    head = (["swap", str(video), str(image), "--out", str(tmp_path / "o.mp4")] if command == "swap"
            else ["evaluate", str(tmp_path / "nosplit"), "--out", str(tmp_path / "run")])
    assert main([*head, "--swapper", "noop", "--device", "banana"]) == 2
    _one_error_line(capsys, "--device 'banana'")
    assert main([*head, "--swapper", "noop", "--timeout", "-1"]) == 2
    _one_error_line(capsys, "--timeout -1", "positive")
    for endless in ("nan", "inf"):  # both used to be accepted (nan <= 0 is false)
        assert main([*head, "--swapper", "noop", "--timeout", endless]) == 2
        _one_error_line(capsys, f"--timeout {endless}", "finite")
    if not torch.cuda.is_available():
        assert main([*head, "--swapper", "warp", "--device", "cuda:0"]) == 2
        _one_error_line(capsys, "cuda:0", "not available")
    assert not (tmp_path / "run").exists() and not (tmp_path / "o.mp4").exists()


def test_error_output_is_one_line_even_after_mediapipe_starts(shared_data, tmp_path):
    """MediaPipe's C++ start-up logs (TFLite XNNPACK INFO, absl 'feedback manager' warnings) and a protobuf
    deprecation warning used to print 6 lines around the one error line. Run in a fresh process: those logs
    appear once per process, so an in-process test could miss them."""
    import subprocess
    import sys

    import numpy as np

    from headswapbench.video import write_image

    blank = tmp_path / "blank.png"
    write_image(blank, np.full((96, 96, 3), 40, np.uint8))
    r = subprocess.run([sys.executable, "-m", "headswapbench.cli.main", "identity", str(blank),
                        str(shared_data / "images" / "lp_d19.jpg")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"error: {blank}: no face found in the image (96x96)"], r.stderr


def test_predictions_that_is_a_file(a_file, tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nosplit"), "--predictions", str(a_file), "--out", str(tmp_path / "r")]) == 2
    _one_error_line(capsys, str(a_file), "is a file")


def test_build_with_only_unusable_videos_or_unknown_editor_says_why(tmp_path):
    from headswapbench.cli.main import main

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "text.mp4").write_text("not a video")
    (raw / "empty.mp4").touch()
    assert main(["build", str(raw), str(tmp_path / "out"), "--editor", "nosuch", "--no-progress"]) == 2
    assert not (tmp_path / "out" / ".work").exists()  # refused before any ingest work
    with pytest.raises(Exception) as exc:
        from headswapbench.pipelines.build import BuildConfig, run_build

        run_build(BuildConfig(raw_dir=raw, out_dir=tmp_path / "out", progress=False))
    assert "no usable clip in 2 video(s)" in str(exc.value) and "empty" in str(exc.value)
