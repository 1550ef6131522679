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
    from leaderboard_fixtures import results_for, write_run

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
