"""The two built-in bounds of every metric: ``noop`` (the driving clip unchanged: nothing swapped, so the
replacement rate should be ≈ 0) and ``oracle`` (the genuine target: paired metrics are perfect).

Both also implement ``swap_files``, a lossless path the evaluation runner prefers when a swapper has it: the
output file is a byte copy of the input file, so no H.264 re-encode blurs the bound (PSNR is exactly
infinite for the oracle, identity cosine to the driving clip exactly that of the driving clip for noop)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import HeadSwapBenchError
from ..fileio import atomic_path
from ..types import Image, Video
from .base import SwapContext, Swapper


def _copy(src: Path, dst: Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


class NoopSwapper(Swapper):
    """Returns the driving clip: the lower bound of identity replacement."""

    name = "noop"
    version = "1"

    def swap(self, driving: Video, reference: Image, context: SwapContext | None = None) -> Video:
        return driving

    def swap_files(self, driving: Path, reference: Path, output: Path, target: Path | None = None) -> None:
        _copy(Path(driving), output)


class OracleSwapper(Swapper):
    """Returns the genuine target V_a: the upper bound of every paired metric. Reads the target, which no
    other swapper may do; the runner passes it only because ``needs_target`` is True."""

    name = "oracle"
    version = "1"
    needs_target = True

    def swap(self, driving: Video, reference: Image, context: SwapContext | None = None) -> Video:
        if context is None or context.target is None:
            raise HeadSwapBenchError("the 'oracle' swapper needs the genuine target clip (SwapContext.target)")
        return context.target

    def swap_files(self, driving: Path, reference: Path, output: Path, target: Path | None = None) -> None:
        if target is None:
            raise HeadSwapBenchError("the 'oracle' swapper needs the genuine target clip file")
        _copy(Path(target), output)
