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

How a command is run and stopped (`run_command`): its stdout and stderr go to temporary files, never pipes,
so a descendant that keeps them open cannot make the evaluator wait; the outcome is the program's own exit
status and the deadline, nothing else. The program starts in its own session, with a per-clip token in its
environment (``HEADSWAPBENCH_SWAP_TOKEN``) that its descendants inherit. When it exits, times out, or the
evaluator is interrupted (SIGINT, SIGTERM, SIGHUP), its process group is killed and so is every process that
carries the token (found through /proc, no cgroups needed) — which reaches descendants that left the group
with ``setsid`` — before the output is looked at. The partial file's name carries the evaluator's pid and
start time; a partial left by an evaluator that was SIGKILLed is removed (and its leftover processes
killed) by the next run that writes the same output.

Why a predictions folder is only read at the expected names: it may hold anything (other runs, symlinks to
elsewhere); the runner opens ``<folder>/<clip_id>.mp4`` for the split's clip ids and nothing else.
"""

from __future__ import annotations

import contextlib
import glob
import inspect
import math
import os
import re
import shlex
import signal
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import HeadSwapBenchError
from ..reasons import Reason
from .base import SWAPPERS, SwapContext, Swapper

REQUIRED_PLACEHOLDERS = ("{driving}", "{reference}", "{output}")
_SAFE_CLIP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class SwapFailed(HeadSwapBenchError):
    """One clip's swap failed (program exit status, timeout, missing output). Recorded for that clip, with
    its reason code: ``swap_timeout``, ``no_output``, ``invalid_output`` or (default) ``swap_failed``."""

    def __init__(self, message: str, code: Reason = Reason.SWAP_FAILED):
        super().__init__(message)
        self.code = Reason(code)


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
def check_timeout(timeout: float | None, what: str = "--timeout") -> float | None:
    """A per-clip time limit: a positive, finite number of seconds, or None (no limit)."""
    if timeout is None:
        return None
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        raise HeadSwapBenchError(f"{what} {timeout!r}: must be a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise HeadSwapBenchError(f"{what} {timeout!r}: must be a positive, finite number of seconds")
    return value


class CommandSource(OutputSource):
    """Runs ``template`` once per clip, without a shell, with a per-clip ``timeout`` (seconds; None = none)."""

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
        self.timeout = check_timeout(timeout)
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
        remove_stale_partials(output)
        token = _new_token()
        tmp = partial_path(output, token)
        _IN_FLIGHT.add(token)
        try:
            result = run_command(self.command_for(clip, tmp), token, self.timeout, cwd=self.cwd)
            err = f"; stderr: {result.stderr_tail}" if result.stderr_tail else ""
            if result.timed_out:
                raise SwapFailed(f"timeout: command ran longer than {self.timeout:g} s and was killed{err}",
                                 Reason.SWAP_TIMEOUT)
            if result.returncode != 0:
                status = (f"was killed by signal {-result.returncode}" if result.returncode < 0
                          else f"exited with status {result.returncode}")
                raise SwapFailed(f"command {status}" + (err or " (no stderr)"))
            try:
                st = os.lstat(tmp)
            except FileNotFoundError:
                raise SwapFailed(f"command exited 0 but wrote no output file at {output}{err}",
                                 Reason.NO_OUTPUT) from None
            if not stat.S_ISREG(st.st_mode):
                raise SwapFailed(f"command exited 0 but its output at {output} is a link or special file, "
                                 "not a regular file; not used", Reason.INVALID_OUTPUT)
            if st.st_size == 0:
                raise SwapFailed(f"command exited 0 but wrote no output file at {output} (the file is empty){err}",
                                 Reason.NO_OUTPUT)
            os.replace(tmp, output)
        finally:
            _IN_FLIGHT.discard(token)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


# ----------------------------------------------------------------------------------------------------------
# Running one command: files instead of pipes, a deadline, and the whole process tree stopped afterwards
# ----------------------------------------------------------------------------------------------------------
TOKEN_ENV = "HEADSWAPBENCH_SWAP_TOKEN"
PARTIAL = ".partial"
_IN_FLIGHT: set[str] = set()  # tokens of this process's commands still running
_TAIL_BYTES = 4096


class SwapInterrupted(SystemExit):
    """The evaluator got SIGTERM/SIGHUP while a command ran: the command's tree was stopped, its partial
    file removed, and the evaluator exits with 128 + the signal number."""


@dataclass
class CommandResult:
    returncode: int | None  # None when it was killed at the deadline
    timed_out: bool
    seconds: float
    stderr_tail: str


def _process_start(pid: int) -> str:
    """The kernel's start time of ``pid`` (clock ticks since boot), '' where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError):
        return ""


def _new_token() -> str:
    return f"{os.getpid()}-{_process_start(os.getpid()) or '0'}-{uuid.uuid4().hex[:12]}"


def partial_path(output: Path, token: str) -> Path:
    return output.parent / f".{output.stem}.{token}{PARTIAL}{output.suffix}"


def _owner_alive(token: str) -> bool:
    """Whether the evaluator that wrote this token still runs (pid alive and, where known, same start time)."""
    pid_s, start, *_ = token.split("-")
    pid = int(pid_s)
    if pid == os.getpid() and start == (_process_start(pid) or "0"):
        return token in _IN_FLIGHT
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process with that pid: leave its file alone
    now = _process_start(pid)
    return not now or start in ("0", now)


def remove_stale_partials(output: Path) -> list[Path]:
    """Remove partial files for ``output`` left by evaluators that no longer run (killed with SIGKILL), after
    killing any processes of theirs that still carry their token. Returns the files removed."""
    pattern = re.compile(rf"\.{re.escape(output.stem)}\.(\d+-\d+-[0-9a-f]+){re.escape(PARTIAL)}{re.escape(output.suffix)}")
    removed = []
    for p in output.parent.glob(f".{glob.escape(output.stem)}.*{PARTIAL}{glob.escape(output.suffix)}"):
        m = pattern.fullmatch(p.name)
        if not m or _owner_alive(m.group(1)):
            continue
        kill_token_holders(m.group(1))
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
            removed.append(p)
    return removed


def token_holders(token: str) -> list[int]:
    """Pids of processes whose environment carries ``token`` (Linux /proc; [] elsewhere)."""
    needle = f"{TOKEN_ENV}={token}\0".encode()
    me, pids = os.getpid(), []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for name in entries:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                if needle in fh.read():
                    pids.append(int(name))
        except OSError:  # gone, or not ours to read
            continue
    return pids


def kill_token_holders(token: str, rounds: int = 5) -> int:
    """SIGKILL every process carrying ``token``, again until none is left (a fork may race a scan)."""
    killed = 0
    for _ in range(rounds):
        pids = token_holders(token)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.02)
    return killed


def _stop_tree(proc: subprocess.Popen, token: str) -> None:
    """Kill the command, its process group and every process carrying its token; reap the command."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # the group outlives its leader while members remain
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    kill_token_holders(token)


@contextlib.contextmanager
def _termination_unwinds():
    """While a command runs in the main thread, SIGTERM and SIGHUP raise `SwapInterrupted` instead of
    ending the process on the spot, so the command's tree is stopped and its partial file removed (SIGINT
    already raises KeyboardInterrupt). Handlers someone else installed are left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise SwapInterrupted(128 + signum)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _tail(fh) -> str:
    fh.flush()
    size = fh.seek(0, os.SEEK_END)
    fh.seek(max(0, size - _TAIL_BYTES))
    text = fh.read().decode("utf-8", "replace").strip()
    return "…" + text[-1500:] if size > _TAIL_BYTES or len(text) > 1500 else text


def run_command(argv: list[str], token: str, timeout: float | None, cwd: str | None = None) -> CommandResult:
    """Run ``argv`` (no shell) in its own session with ``token`` in its environment; wait for its exit or the
    deadline; then stop its whole tree (see the module docstring) and return what happened."""
    env = {**os.environ, TOKEN_ENV: token}
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out_log, tempfile.TemporaryFile() as err_log, _termination_unwinds():
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out_log, stderr=err_log, cwd=cwd,
                                    env=env, start_new_session=True)
        except FileNotFoundError:
            raise SwapFailed(f"command not found: {argv[0]}") from None
        except PermissionError:
            raise SwapFailed(f"command is not executable: {argv[0]}") from None
        except OSError as exc:
            raise SwapFailed(f"command cannot start: {argv[0]} ({exc.strerror or exc})") from None
        timed_out = False
        try:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
        finally:
            _stop_tree(proc, token)  # also on KeyboardInterrupt / SwapInterrupted
        return CommandResult(None if timed_out else proc.returncode, timed_out, time.monotonic() - t0,
                             _tail(err_log))


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
