"""Swappers and output sources: built-in bounds, the command template (no shell, quoting, timeout,
failure), the predictions folder (expected names only), and `headswapbench swap`."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import _eval_split
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

eval_split = _eval_split.eval_split  # session fixture


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
