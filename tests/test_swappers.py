"""Swappers and output sources: built-in bounds, the command template (no shell, quoting, timeout,
failure), the predictions folder (expected names only), and `headswapbench swap`."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from headswapbench.errors import HeadSwapBenchError, RegistryError
from headswapbench.swappers import SWAPPERS, SwapContext, Swapper
from headswapbench.swappers.external import (
    ClipFiles,
    CommandSource,
    PredictionsSource,
    SwapFailed,
    SwapperSource,
    check_clip_id,
    make_swapper,
    resolve_source,
)
from headswapbench.types import Video


@pytest.fixture
def clip(eval_split) -> ClipFiles:
    f = eval_split / "test"
    return ClipFiles("klobuchar-000", f / "driving/klobuchar-000.mp4", f / "reference/klobuchar-000.png",
                     f / "target/klobuchar-000.mp4")


def _video(t=3, v=0):
    return Video(np.full((t, 8, 8, 3), v, np.uint8), 25.0)


def test_builtin_noop_and_oracle():
    noop, oracle = make_swapper("noop"), make_swapper("oracle")
    drv, tgt = _video(v=10), _video(v=200)
    assert noop.swap(drv, drv.frames[0]) is drv and not noop.needs_target
    assert oracle.needs_target
    assert oracle.swap(drv, drv.frames[0], SwapContext(target=tgt)) is tgt
    with pytest.raises(HeadSwapBenchError, match="genuine target"):
        oracle.swap(drv, drv.frames[0], SwapContext())
    assert oracle.describe()["name"] == "oracle" and "builtin" in oracle.describe()["source"]
    assert make_swapper("headswapbench.swappers.builtin:NoopSwapper").name == "noop"  # module:attr
    assert {"noop", "oracle", "warp"} <= set(SWAPPERS.names())
    with pytest.raises(RegistryError, match="noop"):  # close-match suggestion
        make_swapper("noopp")


def test_lossless_file_path(clip, tmp_path):
    SwapperSource("noop").produce(clip, tmp_path / "n.mp4")
    SwapperSource("oracle").produce(clip, tmp_path / "o.mp4")
    assert (tmp_path / "n.mp4").read_bytes() == clip.driving.read_bytes()
    assert (tmp_path / "o.mp4").read_bytes() == clip.target.read_bytes()


def test_exactly_one_source(tmp_path):
    with pytest.raises(HeadSwapBenchError, match=r"exactly one .* \(got none\)"):
        resolve_source()
    with pytest.raises(HeadSwapBenchError, match="--swapper and --predictions"):
        resolve_source(swapper="noop", predictions=tmp_path)
    with pytest.raises(HeadSwapBenchError, match="lacks \\{reference\\}"):
        resolve_source(command="prog {driving} {output}")
    with pytest.raises(HeadSwapBenchError, match="no such folder"):
        resolve_source(predictions=tmp_path / "nope")
    assert isinstance(resolve_source(predictions=tmp_path), PredictionsSource)


SCRIPT = textwrap.dedent("""
    import json, shutil, sys, time
    mode, drv, ref, out = sys.argv[1:5]
    if mode == "sleep":
        time.sleep(60)
    if mode == "fail":
        print("boom: model crashed", file=sys.stderr); sys.exit(3)
    if mode == "silent":
        sys.exit(0)
    json.dump(sys.argv[1:], open(out + ".argv.json", "w"))
    shutil.copyfile(drv, out)
""")


@pytest.fixture
def script(tmp_path) -> Path:
    p = tmp_path / "tool dir; rm -rf x" / "swap it.py"
    p.parent.mkdir()
    p.write_text(SCRIPT)
    return p


def _cmd(script: Path, mode: str, timeout: float = 30.0) -> CommandSource:
    # the script path itself has spaces and a ';' — quoted once in the template, passed as one argument
    return CommandSource(f"{sys.executable} '{script}' {mode} {{driving}} {{reference}} {{output}}", timeout=timeout)


def test_command_quotes_paths_safely(clip, script, tmp_path):
    """Split paths with spaces and quotes reach the program as single literal arguments (no shell)."""
    assert " " in str(clip.driving) and "'" in str(clip.driving) and '"' in str(clip.driving)
    out = tmp_path / "out dir" / "klobuchar-000.mp4"
    _cmd(script, "copy").produce(clip, out)
    assert out.read_bytes() == clip.driving.read_bytes()
    argv = json.loads(next(out.parent.glob("*.argv.json")).read_text())
    assert argv[:3] == ["copy", str(clip.driving), str(clip.reference)]
    assert not [p for p in out.parent.iterdir() if ".partial" in p.name and p.suffix == ".mp4"]  # temp renamed


def test_command_timeout_failure_and_missing_output(clip, script, tmp_path):
    out = tmp_path / "o.mp4"
    with pytest.raises(SwapFailed, match="timeout: command ran longer than 1 s"):
        _cmd(script, "sleep", timeout=1).produce(clip, out)
    with pytest.raises(SwapFailed, match="exited with status 3; stderr: boom: model crashed"):
        _cmd(script, "fail").produce(clip, out)
    with pytest.raises(SwapFailed, match="exited 0 but wrote no output"):
        _cmd(script, "silent").produce(clip, out)
    with pytest.raises(SwapFailed, match="command not found"):
        CommandSource("no-such-program-xyz {driving} {reference} {output}").produce(clip, out)
    assert list(tmp_path.glob("*.mp4")) == []  # nothing half-written left behind


def test_predictions_expected_names_only(tmp_path):
    folder = tmp_path / "preds"
    folder.mkdir()
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"x")
    (folder / "a.mp4").symlink_to(outside)
    src = PredictionsSource(folder)
    assert src.output_path("a", None) == folder / "a.mp4"
    assert "outside the predictions folder" in src.check_inside(folder / "a.mp4")
    assert src.check_inside(folder / "missing.mp4") is None
    for bad in ("../x", "a/b", ".hidden", "", "a..b"):
        with pytest.raises(HeadSwapBenchError, match="cannot be used as a file name"):
            check_clip_id(bad)


def test_swap_cli(clip, tmp_path, script, capsys):
    from headswapbench.cli.main import main

    out = tmp_path / "cli.mp4"
    assert main(["swap", "--swapper", "noop", str(clip.driving), str(clip.reference), "--out", str(out)]) == 0
    assert out.read_bytes() == clip.driving.read_bytes()
    assert main(["swap", "--swapper", "oracle", str(clip.driving), str(clip.reference), "--out", str(out)]) == 2
    assert "needs the genuine target" in capsys.readouterr().err
    cmd = f"{sys.executable} '{script}' copy {{driving}} {{reference}} {{output}}"
    assert main(["swap", "--command", cmd, str(clip.driving), str(clip.reference), "--out", str(out),
                 "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["problems"] == [] and info["method"]["source"].startswith("command:")


class DeviceSwapper(Swapper):
    name, version = "device-aware", "1"

    def __init__(self, device: str = "cpu"):
        self.device = device

    def swap(self, driving, reference, context=None):
        return driving


def test_device_reaches_swappers_that_take_it():
    assert SwapperSource(DeviceSwapper, device="cuda:1").swapper.device == "cuda:1"  # built lazily with it
    assert make_swapper("noop", device="cuda").name == "noop"  # swappers without a device argument still build
    with pytest.raises(HeadSwapBenchError, match="not a headswapbench Swapper"):
        make_swapper(lambda: object())


# ------------------------------------------------------------------ --command: deadlines and process trees
HOSTILE = textwrap.dedent("""
    import os, subprocess, sys, time
    mode, pidfile, drv, ref, out = sys.argv[1:6]
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    if mode == "setsid-holds-stdout":  # a grandchild in its own session keeps stdout/stderr open
        g = subprocess.Popen(sleeper, start_new_session=True)
    elif mode == "group-child":  # a grandchild left behind in the command's own process group
        g = subprocess.Popen(sleeper)
    else:  # "sleep": the command itself runs long, after starting the output
        open(out, "wb").write(b"half")
        g = subprocess.Popen(sleeper, start_new_session=True)
    open(pidfile, "w").write(f"{os.getpid()} {g.pid}")
    if mode == "sleep":
        time.sleep(120)
    open(out, "wb").write(b"finished output")
""")


@pytest.fixture
def hostile(tmp_path) -> Path:
    p = tmp_path / "hostile.py"
    p.write_text(HOSTILE)
    return p


@pytest.fixture
def dummy_clip(tmp_path) -> ClipFiles:
    (tmp_path / "d.mp4").write_bytes(b"d")
    (tmp_path / "r.png").write_bytes(b"r")
    return ClipFiles("c0", tmp_path / "d.mp4", tmp_path / "r.png")


def _gone(pid: int, within: float = 5.0) -> bool:
    """True once ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def _pids(pidfile: Path) -> tuple[int, int]:
    a, b = pidfile.read_text().split()
    return int(a), int(b)


@pytest.mark.timeout(60)
def test_a_setsid_grandchild_holding_stdout_cannot_stretch_the_deadline(hostile, dummy_clip, tmp_path):
    """The reported case: the child exits 0 at once but a setsid grandchild holds stdout; with pipes the
    evaluator waited 50 s past --timeout 5 and called it a timeout. Now: success in well under the deadline,
    decided by the child's exit status, and the escaped grandchild is killed."""
    import time

    out, pidfile = tmp_path / "out" / "c0.mp4", tmp_path / "pids"
    src = CommandSource(f"{sys.executable} {hostile} setsid-holds-stdout {pidfile} {{driving}} {{reference}} "
                        "{output}", timeout=5)
    t0 = time.monotonic()
    src.produce(dummy_clip, out)
    assert time.monotonic() - t0 < 4.5
    assert out.read_bytes() == b"finished output"
    child, grandchild = _pids(pidfile)
    assert _gone(child) and _gone(grandchild)


@pytest.mark.timeout(60)
def test_a_grandchild_left_in_the_group_is_killed_after_success(hostile, dummy_clip, tmp_path):
    out, pidfile = tmp_path / "c0.mp4", tmp_path / "pids"
    CommandSource(f"{sys.executable} {hostile} group-child {pidfile} {{driving}} {{reference}} {{output}}",
                  timeout=10).produce(dummy_clip, out)
    assert out.read_bytes() == b"finished output" and _gone(_pids(pidfile)[1])


@pytest.mark.timeout(60)
def test_timeout_kills_the_whole_tree_and_leaves_no_partial(hostile, dummy_clip, tmp_path):
    import time

    out, pidfile = tmp_path / "o" / "c0.mp4", tmp_path / "pids"
    src = CommandSource(f"{sys.executable} {hostile} sleep {pidfile} {{driving}} {{reference}} {{output}}",
                        timeout=1.5)
    t0 = time.monotonic()
    with pytest.raises(SwapFailed, match="timeout: command ran longer than 1.5 s and was killed") as exc:
        src.produce(dummy_clip, out)
    assert exc.value.code == "swap_timeout"
    assert time.monotonic() - t0 < 6
    child, grandchild = _pids(pidfile)
    assert _gone(child) and _gone(grandchild)
    assert list(out.parent.iterdir()) == []  # neither the output nor a .partial


def test_timeout_must_be_positive_and_finite():
    for bad in ("nan", "inf", float("nan"), float("inf"), -1, 0, "soon"):
        with pytest.raises(HeadSwapBenchError, match="--timeout .*must be"):
            CommandSource("prog {driving} {reference} {output}", timeout=bad)
    assert CommandSource("prog {driving} {reference} {output}", timeout=None).timeout is None


def test_an_output_that_is_a_symlink_is_not_used(dummy_clip, tmp_path):
    script = tmp_path / "link.py"
    script.write_text("import os, sys; os.symlink('/etc/passwd', sys.argv[3])\n")
    out = tmp_path / "c0.mp4"
    with pytest.raises(SwapFailed, match="is a link or special file") as exc:
        CommandSource(f"{sys.executable} {script} {{driving}} {{reference}} {{output}}").produce(dummy_clip, out)
    assert exc.value.code == "invalid_output"
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


EVALUATOR = textwrap.dedent("""
    import sys
    from pathlib import Path
    from headswapbench.swappers.external import ClipFiles, CommandSource
    hostile, pidfile, d, r, out = sys.argv[1:6]
    CommandSource(f"{sys.executable} {hostile} sleep {pidfile} {{driving}} {{reference}} {{output}}",
                  timeout=100).produce(ClipFiles("c0", Path(d), Path(r)), Path(out))
""")


def _start_evaluator(hostile, dummy_clip, tmp_path):
    import subprocess
    import time

    script = tmp_path / "evaluator.py"
    script.write_text(EVALUATOR)
    out, pidfile = tmp_path / "o" / "c0.mp4", tmp_path / "pids"
    proc = subprocess.Popen([sys.executable, str(script), str(hostile), str(pidfile), str(dummy_clip.driving),
                             str(dummy_clip.reference), str(out)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else "slow"
        time.sleep(0.05)
    time.sleep(0.1)
    return proc, out, pidfile


@pytest.mark.timeout(90)
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_terminated_evaluator_kills_its_command_and_removes_the_partial(sig, hostile, dummy_clip, tmp_path):
    import signal

    proc, out, pidfile = _start_evaluator(hostile, dummy_clip, tmp_path)
    child, grandchild = _pids(pidfile)
    assert list(out.parent.glob(".c0.*.partial.mp4"))  # the command has started its output
    proc.send_signal(getattr(signal, sig))
    rc = proc.wait(timeout=30)
    assert rc != 0
    assert _gone(child) and _gone(grandchild)
    assert list(out.parent.iterdir()) == []


@pytest.mark.timeout(90)
def test_after_a_sigkilled_evaluator_the_next_run_removes_its_partial_and_processes(hostile, dummy_clip, tmp_path,
                                                                                    script):
    import signal

    proc, out, pidfile = _start_evaluator(hostile, dummy_clip, tmp_path)
    child, grandchild = _pids(pidfile)
    proc.send_signal(signal.SIGKILL)  # nothing can be cleaned up in the dying process
    proc.wait(timeout=30)
    (stale,) = out.parent.glob(".c0.*.partial.mp4")
    assert not _gone(child, within=0.2)  # the orphaned command still runs ...
    _cmd(script, "copy").produce(dummy_clip, out)  # ... until the next run writes the same output
    assert not stale.exists() and out.read_bytes() == dummy_clip.driving.read_bytes()
    assert _gone(child) and _gone(grandchild)
    assert [p.name for p in out.parent.iterdir() if p.name.endswith(".partial.mp4")] == []
