"""The Swapper plug-in interface: put the reference identity's head onto the driving clip."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..registry import Registry
from ..types import Image, Video


@dataclass
class SwapContext:
    """What an evaluation knows about the clip beyond the two inputs (file paths for external programs,
    the genuine target for the `oracle` bound). Swappers other than `oracle` must not read `target`."""

    clip_id: str = ""
    driving_path: Path | None = None
    reference_path: Path | None = None
    target: Video | None = None


class Swapper:
    """Subclass, set ``name``/``version`` and implement ``swap``. The output must have the driving clip's
    frame count, size and fps."""

    name: str = "swapper"
    version: str = "0"
    needs_target: bool = False  # only the `oracle` upper bound

    def swap(self, driving: Video, reference: Image, context: SwapContext | None = None) -> Video:
        raise NotImplementedError

    def describe(self) -> dict:
        """Recorded as ``method`` in results.json."""
        return {"name": self.name, "version": self.version, "source": f"{type(self).__module__}:{type(self).__qualname__}"}


SWAPPERS: Registry[Swapper] = Registry("swapper", base=Swapper, entry_point_group="headswapbench.swappers")
