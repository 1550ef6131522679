"""Where a method's outputs come from, behind one small interface (``OutputSource``):

- ``SwapperSource``: a registered ``Swapper`` (built-in name, entry point, or ``module:attr``), run in-process;
- ``CommandSource``: any program in any language, run once per clip from a template such as
  ``"python run.py --src {driving} --ref {reference} --out {output}"``;
- ``PredictionsSource``: a folder of precomputed outputs named ``<clip_id>.mp4``.

Why the command is never given to a shell: file names in a split are untrusted data. The template is split
with ``shlex`` once, and each placeholder is replaced *inside* its argument, so a path with spaces, quotes or
``;`` reaches the program as one literal argument. The program writes to a temporary name that is renamed
into place only after it exits 0, so a killed or failing program never leaves a half-written output that a
later run would mistake for a finished one.

Why a predictions folder is only read at the expected names: it may hold anything (other runs, symlinks to
elsewhere); the runner opens ``<folder>/<clip_id>.mp4`` for the split's clip ids and nothing else.
"""

from __future__ import annotations

import inspect
import os
import re
import shlex
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import HeadSwapBenchError
from .base import SWAPPERS, SwapContext, Swapper

REQUIRED_PLACEHOLDERS = ("{driving}", "{reference}", "{output}")
_SAFE_CLIP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class SwapFailed(HeadSwapBenchError):
    """One clip's swap failed (program exit status, timeout, missing output). Recorded for that clip."""


@dataclass
class ClipFiles:
    """The files of one triplet. ``target`` is handed only to sources whose method ``needs_target``."""

    clip_id: str
    driving: Path
    reference: Path
    target: Path | None = None


def check_clip_id(clip_id: str) -> str:
    """Clip ids become file names (``outputs/<clip_id>.mp4``); refuse any that could name another file."""
    if not _SAFE_CLIP_ID.match(clip_id) or ".." in clip_id:
        raise HeadSwapBenchError(
            f"clip id {clip_id!r} cannot be used as a file name (allowed: letters, digits, '.', '_', '-'; "
            "must not start with '.' or contain '..')"
        )
    return clip_id


class OutputSource:
    """Produces (or locates) the output video of each clip."""

    kind = "source"
    writes_outputs = True  # False: outputs already exist (predictions folder), no swap stage
    needs_target = False

    def describe(self) -> dict:
        """Recorded as ``method`` in results.json."""
        raise NotImplementedError

    def output_path(self, clip_id: str, outputs_dir: Path) -> Path:
        return Path(outputs_dir) / f"{check_clip_id(clip_id)}.mp4"

    def produce(self, clip: ClipFiles, output: Path) -> None:
        """Write ``output`` (atomically) for one clip; raise ``SwapFailed`` with the cause on failure."""
        raise NotImplementedError


# ----------------------------------------------------------------------------------------------------------
def make_swapper(spec: str | Swapper | type, device: str = "cpu", options: dict | None = None) -> Swapper:
    """A ``Swapper`` instance from a registry name, ``module:attr``, a class, or an instance. ``device`` is
    passed to constructors that accept it; ``options`` (``--swapper-opt k=v``) are constructor keywords."""
    from ..options import check_kwargs

    options = dict(options or {})
    obj = SWAPPERS.get(spec) if isinstance(spec, str) else spec
    if isinstance(obj, Swapper):
        if options:
            raise HeadSwapBenchError(f"swapper options {sorted(options)} cannot apply to an already built swapper")
        return obj
    if not callable(obj):
        raise HeadSwapBenchError(f"swapper '{spec}' is neither a Swapper subclass nor a factory")
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        params = {}
    check_kwargs(obj, options, f"swapper '{spec}'")
    inst = obj(device=device, **options) if "device" in params else obj(**options)
    if not isinstance(inst, Swapper):
        raise HeadSwapBenchError(f"swapper '{spec}' built a {type(inst).__name__}, not a headswapbench Swapper")
    return inst


class SwapperSource(OutputSource):
    """Runs a ``Swapper`` in-process. The instance is built lazily (and rebuilt in each Ray worker rather
    than pickled with its model weights)."""

    kind = "swapper"

    def __init__(self, swapper: str | Swapper | type, device: str = "cpu", options: dict | None = None):
        self.spec = swapper
        self.device = device
        self.options = dict(options or {})
        self._swapper: Swapper | None = swapper if isinstance(swapper, Swapper) else None
        # resolved now, so an unknown name fails before any work starts
        self.needs_target = bool(self.swapper.needs_target)

    @property
    def swapper(self) -> Swapper:
        if self._swapper is None:
            self._swapper = make_swapper(self.spec, self.device, self.options)
        return self._swapper

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if isinstance(self.spec, str):
            state["_swapper"] = None
        return state

    def describe(self) -> dict:
        return self.swapper.describe()

    def produce(self, clip: ClipFiles, output: Path) -> None:
        from ..types import Video
        from ..video import read_image, read_video, write_video

        sw = self.swapper
        target = clip.target if sw.needs_target else None
        if hasattr(sw, "swap_files"):  # lossless path (built-ins copy the file: no re-encode)
            sw.swap_files(clip.driving, clip.reference, output, target=target)
            return
        driving = read_video(clip.driving)
        reference = read_image(clip.reference)
        ctx = SwapContext(clip_id=clip.clip_id, driving_path=clip.driving, reference_path=clip.reference,
                          target=read_video(clip.target) if target is not None else None)
        result = sw.swap(driving, reference, ctx)
        if not isinstance(result, Video):
            raise SwapFailed(f"swapper '{sw.name}' returned {type(result).__name__}, not a Video")
        write_video(output, result, fps=driving.fps)


# ----------------------------------------------------------------------------------------------------------
def _tail(text: bytes | str | None, limit: int = 1500) -> str:
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


class CommandSource(OutputSource):
    """Runs ``template`` once per clip, without a shell, with a per-clip ``timeout`` (seconds)."""

    kind = "command"

    def __init__(self, template: str, timeout: float | None = 600.0, name: str | None = None,
                 version: str = "unspecified", cwd: str | Path | None = None):
        try:
            argv = shlex.split(template)
        except ValueError as exc:
            raise HeadSwapBenchError(f"--command template cannot be parsed ({exc}): {template}") from None
        if not argv:
            raise HeadSwapBenchError("--command template is empty")
        missing = [p for p in REQUIRED_PLACEHOLDERS if not any(p in a for a in argv)]
        if missing:
            raise HeadSwapBenchError(
                f"--command template lacks {', '.join(missing)} (it must contain {{driving}}, {{reference}} and "
                f"{{output}}): {template}"
            )
        if "{" in argv[0]:
            raise HeadSwapBenchError("--command: the program (first word) must not be a placeholder")
        self.template = template
        self.argv = argv
        self.timeout = float(timeout) if timeout else None
        self.name = name or Path(argv[0]).name
        self.version = version
        self.cwd = str(cwd) if cwd else None

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "source": f"command: {self.template}"}

    def command_for(self, clip: ClipFiles, output: Path) -> list[str]:
        """The argument list for one clip: placeholders replaced inside each argument, never re-split."""
        values = {"{driving}": str(clip.driving), "{reference}": str(clip.reference), "{output}": str(output),
                  "{clip_id}": clip.clip_id}
        out = []
        for arg in self.argv:
            for key, val in values.items():
                arg = arg.replace(key, val)
            out.append(arg)
        return out

    def produce(self, clip: ClipFiles, output: Path) -> None:
        output = Path(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.parent / f".{output.stem}.{uuid.uuid4().hex[:8]}.partial{output.suffix}"
        argv = self.command_for(clip, tmp)
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, cwd=self.cwd, start_new_session=True)
        except FileNotFoundError:
            raise SwapFailed(f"command not found: {argv[0]}") from None
        except PermissionError:
            raise SwapFailed(f"command is not executable: {argv[0]}") from None
        try:
            try:
                _, err = proc.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                _, err = proc.communicate()
                raise SwapFailed(f"timeout: command ran longer than {self.timeout:g} s and was killed"
                                 + (f"; stderr: {_tail(err)}" if err else "")) from None
            if proc.returncode != 0:
                raise SwapFailed(f"command exited with status {proc.returncode}"
                                 + (f"; stderr: {_tail(err)}" if err else " (no stderr)"))
            if not tmp.is_file() or tmp.stat().st_size == 0:
                raise SwapFailed(f"command exited 0 but wrote no output file at {output}"
                                 + (f"; stderr: {_tail(err)}" if err else ""))
            os.replace(tmp, output)
        finally:
            if proc.poll() is None:
                _kill_group(proc)
            if tmp.exists():
                tmp.unlink()


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the program and anything it started (it runs in its own session, so its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


# ----------------------------------------------------------------------------------------------------------
class PredictionsSource(OutputSource):
    """Precomputed outputs: ``<folder>/<clip_id>.mp4``. Nothing else in the folder is opened, and a name that
    resolves outside the folder (a symlink to elsewhere) is reported instead of read."""

    kind = "predictions"
    writes_outputs = False

    def __init__(self, folder: str | Path, name: str | None = None, version: str = "unspecified"):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            why = "is a file, not a folder of <clip_id>.mp4" if self.folder.exists() else "no such folder"
            raise HeadSwapBenchError(f"--predictions {self.folder}: {why}")
        self.name = name or self.folder.resolve().name
        self.version = version

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "source": f"predictions: {self.folder.resolve()}"}

    def output_path(self, clip_id: str, outputs_dir: Path | None = None) -> Path:
        return self.folder / f"{check_clip_id(clip_id)}.mp4"

    def check_inside(self, path: Path) -> str | None:
        """A problem string when ``path`` resolves outside the folder, else None."""
        if path.is_symlink() or path.exists():
            real = path.resolve()
            if real.parent != self.folder.resolve():
                return f"{path.name} resolves outside the predictions folder ({real}); not read"
        return None

    def produce(self, clip: ClipFiles, output: Path) -> None:  # pragma: no cover - never called
        raise HeadSwapBenchError("a predictions folder has no swap step")


# ----------------------------------------------------------------------------------------------------------
def resolve_source(swapper: str | None = None, command: str | None = None, predictions: str | Path | None = None,
                   *, timeout: float | None = 600.0, name: str | None = None, version: str = "unspecified",
                   device: str = "cpu", swapper_options: dict | None = None) -> OutputSource:
    """The one source the user asked for (exactly one of the three, else a clear error)."""
    given = {"--swapper": swapper, "--command": command, "--predictions": predictions}
    chosen = [k for k, v in given.items() if v]
    if len(chosen) != 1:
        got = f"got {' and '.join(chosen)}" if chosen else "got none"
        raise HeadSwapBenchError(f"give exactly one of --swapper NAME, --command TEMPLATE, --predictions DIR ({got})")
    if swapper_options and not swapper:
        raise HeadSwapBenchError("--swapper-opt applies to --swapper only")
    if swapper:
        return SwapperSource(swapper, device=device, options=swapper_options)
    if command:
        return CommandSource(command, timeout=timeout, name=name, version=version)
    return PredictionsSource(predictions, name=name, version=version)


def source_from(obj: Any, device: str = "cpu") -> OutputSource:
    """Accept an ``OutputSource``, a ``Swapper`` (instance/class) or a registry name in the Python API."""
    if isinstance(obj, OutputSource):
        return obj
    return SwapperSource(obj, device=device)
