"""The shared vocabulary: decoded videos and images as plain numpy arrays.

Frames are always uint8 RGB, shape [T, H, W, 3]; images are uint8 RGB [H, W, 3]. Keeping the in-memory
type this plain lets any swapper, metric or editor exchange data without adapters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Image = np.ndarray  # uint8 [H, W, 3] RGB


@dataclass
class Video:
    """A decoded clip at a constant frame rate."""

    frames: np.ndarray  # uint8 [T, H, W, 3] RGB
    fps: float

    def __post_init__(self) -> None:
        f = self.frames
        if not isinstance(f, np.ndarray) or f.ndim != 4 or f.shape[-1] != 3:
            shape = getattr(f, "shape", None)
            raise ValueError(f"Video.frames must be a [T, H, W, 3] array, got shape {shape}")
        if f.dtype != np.uint8:
            raise ValueError(f"Video.frames must be uint8, got {f.dtype}")
        if not self.fps or self.fps <= 0:
            raise ValueError(f"Video.fps must be positive, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    def __len__(self) -> int:
        return self.num_frames
