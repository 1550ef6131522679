"""A torch ``Dataset`` over a packaged split, for training swappers (DirectSwap) on (driving, reference, target).

    ds = TripletDataset("out/", "train", num_frames=16, random_crop=True, size=256)
    item = ds[0]   # driving [T,3,H,W] float in [-1,1], reference [3,H,W], target [T,3,H,W], clip_id, ...

Driving and target are read at the *same* frame indices (the pair is frame-synchronised; a crop that
desynchronised them would teach the model to ignore motion). Only the window's frames are decoded
(frame-accurate random access), so long clips cost what the window costs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import HeadSwapBenchError
from ..split import load_split


def to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 [..., H, W, 3] → float [..., 3, H, W] in [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(frames)).float().div_(127.5).sub_(1.0)
    return t.movedim(-1, -3)


class TripletDataset(Dataset):
    """Items of one split. ``num_frames``: window length (None = whole clip); ``random_crop``: random window
    start (torch RNG, so ``torch.manual_seed`` and DataLoader worker seeding make it reproducible), else the
    window starts at ``start``; ``frame_stride``: take every n-th frame; ``size``: resize (int = square, or
    (w, h)); ``verify``: passed to ``load_split`` ('exists', 'sha256', 'none')."""

    def __init__(self, root: str | Path, split: str = "train", *, num_frames: int | None = None,
                 random_crop: bool = False, start: int = 0, frame_stride: int = 1,
                 size: int | tuple[int, int] | None = None, verify: str = "exists"):
        self.split = load_split(root, split, verify=verify)
        self.rows = self.split.rows
        if num_frames is not None and num_frames < 1:
            raise HeadSwapBenchError(f"num_frames must be >= 1, got {num_frames}")
        if frame_stride < 1:
            raise HeadSwapBenchError(f"frame_stride must be >= 1, got {frame_stride}")
        self.num_frames, self.random_crop, self.start = num_frames, random_crop, int(start)
        self.frame_stride, self.size = int(frame_stride), size

    def __len__(self) -> int:
        return len(self.rows)

    def window(self, length: int) -> np.ndarray:
        """Source frame indices of one item's window inside a clip of ``length`` frames."""
        span = length if self.num_frames is None else (self.num_frames - 1) * self.frame_stride + 1
        if span > length:
            raise HeadSwapBenchError(f"a window of {self.num_frames} frames (stride {self.frame_stride}) needs "
                                     f"{span} frames; the clip has {length}")
        if self.random_crop:
            first = int(torch.randint(0, length - span + 1, (1,)).item())
        else:
            first = min(self.start, length - span)
        return np.arange(first, first + span, self.frame_stride)

    def __getitem__(self, index: int) -> dict:
        from ..video import read_frames, read_image, resize_frames, resize_image

        row = self.rows[index]
        d_path, t_path = self.split.driving_path(row), self.split.target_path(row)
        d_info, t_info = self.split.probe_pair(row)  # refuses a pair that is not frame-synchronised
        try:
            idx = self.window(d_info.num_frames)
        except HeadSwapBenchError as exc:
            raise HeadSwapBenchError(f"clip {row.clip_id}: {exc}") from None
        driving = resize_frames(read_frames(d_path, idx, d_info), self.size)
        target = resize_frames(read_frames(t_path, idx, t_info), self.size)
        if driving.shape != target.shape:
            raise HeadSwapBenchError(f"clip {row.clip_id}: driving {driving.shape} and target {target.shape} differ")
        reference = resize_image(read_image(self.split.reference_path(row)), self.size or driving.shape[2:0:-1])
        return {"driving": to_tensor(driving), "reference": to_tensor(reference), "target": to_tensor(target),
                "clip_id": row.clip_id, "subject_id": row.subject_id, "frame_indices": torch.from_numpy(idx)}
