"""Check every output before any metric runs: readable, same frame count, size and fps as its driving clip.

Why before scoring, and all at once: a method that writes 24 fps instead of 25, or drops the last frame,
would otherwise get numbers computed on misaligned frames (silently wrong) or fail deep inside a metric one
clip at a time. Checking headers only (``video.probe``) is cheap, so every clip is checked and every problem
is listed in one report; the run then stops with that list, or (``skip_invalid``) scores the valid clips and
records the rest as failures in the results' coverage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HeadSwapBenchError
from ..reasons import Reason

FPS_TOLERANCE = 0.01  # frames per second; containers store rates as rationals (30000/1001 vs 29.97)


class InvalidOutputsError(HeadSwapBenchError):
    """Some outputs cannot be scored; the message lists every problem per clip."""

    def __init__(self, report: ValidationReport):
        self.report = report
        super().__init__(report.format(hint=True))


@dataclass
class ValidationReport:
    """Problems per clip (``problems[clip_id]`` non-empty = invalid) over ``checked`` clips."""

    checked: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)  # clip → reason code (headswapbench.reasons)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def valid(self) -> list[str]:
        return [c for c in self.checked if c not in self.problems]

    @property
    def invalid(self) -> list[str]:
        return [c for c in self.checked if c in self.problems]

    def add(self, clip_id: str, problems: list[str], code: str = Reason.INVALID_OUTPUT.value) -> None:
        self.checked.append(clip_id)
        if problems:
            self.problems[clip_id] = list(problems)
            self.codes[clip_id] = str(code)

    def to_dict(self) -> dict[str, Any]:
        return {"checked": len(self.checked), "valid": len(self.valid), "invalid": len(self.invalid),
                "problems": self.problems, "codes": self.codes}

    def format(self, hint: bool = False, limit: int = 200) -> str:
        n_bad = len(self.problems)
        lines = [f"{n_bad} of {len(self.checked)} outputs cannot be scored:"]
        for clip_id in self.invalid[:limit]:
            lines.append(f"  {clip_id}: " + "; ".join(self.problems[clip_id]))
        if n_bad > limit:
            lines.append(f"  … and {n_bad - limit} more (see validation.json)")
        if hint:
            lines.append("fix these outputs, or pass --skip-invalid to score the others and count these as failures")
        return "\n".join(lines)


def expected_format(driving: str | Path, single_frame_ok: bool = False) -> dict[str, Any]:
    """What an output must match: the driving clip's frame count, displayed size and frame rate. An image
    method (scored on the middle frame) may instead deliver one frame (``single_frame_ok``)."""
    from ..video import probe

    info = probe(driving)
    return {"num_frames": info.cfr_num_frames(), "width": info.display_width, "height": info.display_height,
            "fps": float(info.fps), "single_frame_ok": single_frame_ok}


def check_output(path: str | Path, expected: dict[str, Any]) -> list[str]:
    """Every way the output at ``path`` differs from ``expected`` (empty list = valid)."""
    from ..errors import VideoError
    from ..video import probe

    path = Path(path)
    if path.is_symlink():
        return [f"{path.name} is a symbolic link, not a file the method wrote"]
    if not path.exists():
        return [f"missing output {path.name}"]
    if not path.is_file():
        return [f"{path.name} is not a regular file"]
    if path.stat().st_size == 0:
        return [f"{path.name} is empty (0 bytes)"]
    try:
        info = probe(path)
    except VideoError as exc:
        return [f"unreadable: {exc.cause}"]
    except Exception as exc:  # noqa: BLE001 - unanticipated container error: still a per-clip problem
        return [f"unreadable: {type(exc).__name__}: {exc}"]
    problems = []
    n = info.cfr_num_frames()
    if n != expected["num_frames"] and not (n == 1 and expected.get("single_frame_ok")):
        problems.append(f"{n} frames, driving clip has {expected['num_frames']}")
    size, want = (info.display_width, info.display_height), (expected["width"], expected["height"])
    if size != want:
        problems.append(f"size {size[0]}x{size[1]}, driving clip is {want[0]}x{want[1]}")
    if abs(float(info.fps) - expected["fps"]) > FPS_TOLERANCE:
        problems.append(f"{float(info.fps):.3f} fps, driving clip has {expected['fps']:.3f}")
    return problems


def check_device(device: str) -> str:
    """Refuse a device name torch does not know, or CUDA on a machine without it, before any work (a swapper
    that ignores the device would otherwise run on the CPU silently, one that uses it would fail mid-run)."""
    import re

    if not re.fullmatch(r"cpu|cuda(:\d+)?", str(device)):
        raise HeadSwapBenchError(f"--device {device!r}: expected cpu, cuda or cuda:N")
    if device != "cpu":
        from .metric import torch_device

        torch_device(device)
    return device
