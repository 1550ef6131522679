"""Training data for DirectSwap: (driving V_c, reference I_ref, target V_a) windows from a packaged split.

It reads the split through the core split reader (``headswapbench.split``), like the build's
``TripletDataset``, and refuses a triplet whose driving and target frame counts differ the same way
(``Split.probe_pair``). Which clip and which window a training sample uses
is a pure function of (seed, sample number), so a resumed run sees exactly the data order of an
uninterrupted one without saving any sampler state."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import HeadSwapBenchError
from ..split import Split, load_split

log = logging.getLogger(__name__)
MEMORY_CACHE_BYTES = 2 << 30  # decode whole clips once when the resized split fits in this much RAM


@dataclass
class Sample:
    clip_id: str
    start: int
    driving: torch.Tensor  # [T,3,H,W] float in [-1,1]
    target: torch.Tensor  # [T,3,H,W] float in [-1,1]
    reference: torch.Tensor  # [3,H,W] float in [0,1]
    landmarks: torch.Tensor  # [T,478,2] target landmarks in model-resolution pixels, NaN where no face


def _to_tensor(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def _seed(*parts: int) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "little") & (2**63 - 1)


def window_indices(start: int, num_frames: int, length: int) -> np.ndarray:
    """Frame indices of a window; clips shorter than the window repeat their last frame."""
    return np.minimum(np.arange(start, start + num_frames), length - 1)


class TripletWindows:
    """Random-access windows of the triplets of one split at the model resolution."""

    def __init__(self, root: str | Path, split: str = "train", *, resolution: int, num_frames: int,
                 landmarks: bool = True, verify: str = "exists", progress: bool = True):
        self.split: Split = load_split(root, split, verify=verify)
        self.resolution, self.num_frames = resolution, num_frames
        self.rows = self.split.rows
        self.lengths, self.sizes = [], []
        for row in self.rows:
            d, t = self.split.probe_pair(row)  # refuses a pair that is not frame-synchronised
            n = t.cfr_num_frames()
            if n < 1:
                raise HeadSwapBenchError(f"clip '{row.clip_id}': driving or target has no frames")
            self.lengths.append(n)
            self.sizes.append((t.display_width, t.display_height))
        total = sum(self.lengths) * 2 * 3 * resolution**2
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] | None = {} if total <= MEMORY_CACHE_BYTES else None
        self._refs: dict[int, torch.Tensor] = {}
        self._landmarks: list[np.ndarray | None] = [None] * len(self.rows)
        if landmarks:
            self._analyse(progress)

    def __len__(self) -> int:
        return len(self.rows)

    def _analyse(self, progress: bool) -> None:
        """Target-clip landmarks for the MEAR map (face analysis caches them on disk)."""
        from ..face import analyze_video

        for i, row in enumerate(tqdm(self.rows, desc="landmarks for MEAR", disable=not progress, unit="clip")):
            a = analyze_video(self.split.target_path(row), identity=None, cache=True, progress=False)
            w, h = self.sizes[i]
            lm = a.landmarks[: self.lengths[i], :, :2].astype(np.float32).copy()
            lm[..., 0] *= self.resolution / w
            lm[..., 1] *= self.resolution / h
            if len(lm) < self.lengths[i]:
                pad = np.full((self.lengths[i] - len(lm), *lm.shape[1:]), np.nan, np.float32)
                lm = np.concatenate([lm, pad])
            self._landmarks[i] = lm
            if not a.face_found.any():
                log.warning("clip %s: no face found in the target; its MEAR landmark map is zero", row.clip_id)

    def max_start(self, index: int) -> int:
        return max(0, self.lengths[index] - self.num_frames)

    def _frames(self, index: int, start: int) -> tuple[np.ndarray, np.ndarray]:
        from ..video import read_video

        row, res, n = self.rows[index], self.resolution, self.num_frames
        idx = window_indices(start, n, self.lengths[index])
        if self._cache is not None:
            if index not in self._cache:
                kw = {"size": res, "num_frames": self.lengths[index]}
                self._cache[index] = (read_video(self.split.driving_path(row), **kw).frames,
                                      read_video(self.split.target_path(row), **kw).frames)
            d, t = self._cache[index]
            return d[idx], t[idx]
        kw = {"size": res, "start": start, "num_frames": min(n, self.lengths[index] - start)}
        d = read_video(self.split.driving_path(row), **kw).frames
        t = read_video(self.split.target_path(row), **kw).frames
        local = idx - start
        return d[np.minimum(local, len(d) - 1)], t[np.minimum(local, len(t) - 1)]

    def reference(self, index: int) -> torch.Tensor:
        if index not in self._refs:
            from ..video import read_image, resize_image

            img = resize_image(read_image(self.split.reference_path(self.rows[index])), self.resolution)
            self._refs[index] = torch.from_numpy(img).permute(2, 0, 1).float() / 255.0
        return self._refs[index]

    def get(self, index: int, start: int) -> Sample:
        d, t = self._frames(index, start)
        idx = window_indices(start, self.num_frames, self.lengths[index])
        lm = self._landmarks[index]
        lms = torch.from_numpy(lm[idx]) if lm is not None else torch.full((self.num_frames, 478, 2), float("nan"))
        return Sample(self.rows[index].clip_id, start, _to_tensor(d), _to_tensor(t), self.reference(index), lms)

    def sample(self, seed: int, n: int) -> Sample:
        """The n-th training sample of the run: epoch-wise shuffled clips, a random window in each."""
        size = len(self)
        epoch, pos = divmod(n, size)
        perm = torch.randperm(size, generator=torch.Generator().manual_seed(_seed(seed, epoch)))
        index = int(perm[pos])
        rng = np.random.default_rng(_seed(seed, epoch, index))
        return self.get(index, int(rng.integers(0, self.max_start(index) + 1)))


def collate(samples: list[Sample]) -> dict[str, torch.Tensor | list]:
    return {
        "clip_id": [s.clip_id for s in samples],
        "driving": torch.stack([s.driving for s in samples]),
        "target": torch.stack([s.target for s in samples]),
        "reference": torch.stack([s.reference for s in samples]),
        "landmarks": torch.stack([s.landmarks for s in samples]),
    }
