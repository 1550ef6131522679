"""TripletDataset over a packaged split: shapes, value range, frame-synchronised windows, random crops.
Media are SYNTHETIC: each frame's pixels encode its own index, so window positions can be read back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from headswapbench.errors import HeadSwapBenchError
from headswapbench.split import TripletRow, write_dataset


@pytest.fixture(scope="module")
def split_root(tmp_path_factory):
    from headswapbench.types import Video
    from headswapbench.video import write_image, write_video

    src, root = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("ds")
    T, H, W = 12, 32, 64  # width a multiple of 32: decord mis-shapes other widths (reported to the lead)
    frames = np.zeros((T, H, W, 3), np.uint8)
    for t in range(T):
        frames[t] = 20 * t  # flat grey level = 20 * frame index (survives H.264 within a few levels)
    write_video(src / "t.mp4", Video(frames, 25.0))
    write_video(src / "d.mp4", Video(255 - frames, 25.0))
    write_image(src / "r.png", np.full((64, 64, 3), 200, np.uint8))
    row = TripletRow(clip_id="c0", subject_id="s0", source_video="synthetic", start_frame=0, num_frames=T, fps=25.0,
                     width=W, height=H, driving_file_name="", reference_file_name="", target_file_name="")
    write_dataset(root, {"train": [row]}, {"c0": {"driving": src / "d.mp4", "target": src / "t.mp4",
                                                     "reference": src / "r.png"}})
    return root


def _level(t: torch.Tensor) -> np.ndarray:
    """Per-frame grey level back in 0..255 from [-1, 1] tensors [T, 3, H, W]."""
    return ((t + 1) * 127.5).mean(dim=(1, 2, 3)).numpy()


def test_whole_clip_shapes_and_range(split_root):
    from headswapbench.pipelines.torch_dataset import TripletDataset

    ds = TripletDataset(split_root, "train")
    item = ds[0]
    assert len(ds) == 1 and item["clip_id"] == "c0" and item["subject_id"] == "s0"
    assert item["driving"].shape == (12, 3, 32, 64) == item["target"].shape
    assert item["reference"].shape == (3, 32, 64)  # resized to the clip when no size is given
    for k in ("driving", "reference", "target"):
        assert item[k].dtype == torch.float32 and -1.0 <= item[k].min() and item[k].max() <= 1.0
    assert np.allclose(_level(item["target"]), 20 * np.arange(12), atol=3)
    assert np.allclose(_level(item["driving"]), 255 - 20 * np.arange(12), atol=3)
    assert abs(float(item["reference"].mean()) - (200 / 127.5 - 1)) < 0.01


def test_window_crop_is_synchronised_and_seeded(split_root):
    from headswapbench.pipelines.torch_dataset import TripletDataset

    ds = TripletDataset(split_root, "train", num_frames=4, frame_stride=2, random_crop=True, size=16)
    starts = set()
    for seed in range(12):
        torch.manual_seed(seed)
        item = ds[0]
        idx = item["frame_indices"].numpy()
        assert item["driving"].shape == (4, 3, 16, 16) and item["reference"].shape == (3, 16, 16)
        assert np.array_equal(np.diff(idx), [2, 2, 2]) and 0 <= idx[0] and idx[-1] <= 11
        assert np.allclose(_level(item["target"]), 20 * idx, atol=3)  # the frames are the ones claimed ...
        assert np.allclose(_level(item["driving"]), 255 - 20 * idx, atol=3)  # ... in both streams
        torch.manual_seed(seed)
        assert torch.equal(ds[0]["frame_indices"], item["frame_indices"])
        starts.add(int(idx[0]))
    assert len(starts) > 2
    fixed = TripletDataset(split_root, "train", num_frames=3, start=5)
    assert fixed[0]["frame_indices"].tolist() == [5, 6, 7]


def test_window_longer_than_clip_is_a_clear_error(split_root):
    from headswapbench.pipelines.torch_dataset import TripletDataset

    with pytest.raises(HeadSwapBenchError, match="clip c0: .*needs 13 frames; the clip has 12"):
        TripletDataset(split_root, "train", num_frames=13)[0]


def test_driving_and_target_of_different_length_are_refused(split_root, tmp_path):
    """Used to train on the shorter length silently; a triplet must be frame-synchronised."""
    import shutil

    from headswapbench.pipelines.torch_dataset import TripletDataset

    from headswapbench.types import Video
    from headswapbench.video import write_video

    root = tmp_path / "ds"
    shutil.copytree(split_root, root)
    write_video(root / "train" / "driving" / "c0.mp4", Video(np.zeros((10, 32, 64, 3), np.uint8), 25.0))
    with pytest.raises(HeadSwapBenchError, match="clip c0: driving has 10 frames but target has 12"):
        TripletDataset(root, "train", verify="none")[0]


def test_dataloader_batches(split_root):
    from headswapbench.pipelines.torch_dataset import TripletDataset

    loader = torch.utils.data.DataLoader(TripletDataset(split_root, "train", num_frames=2, size=8), batch_size=1)
    batch = next(iter(loader))
    assert batch["driving"].shape == (1, 2, 3, 8, 8) and batch["clip_id"] == ["c0"]


def test_both_training_loaders_refuse_a_frame_count_mismatch_the_same_way(split_root, tmp_path):
    """TripletDataset and DirectSwap's TripletWindows read through the core split reader (Split.probe_pair):
    DirectSwap used to train on the shorter length with a warning; both now stop with one error naming the clip."""
    import shutil

    from headswapbench.pipelines.torch_dataset import TripletDataset

    from headswapbench.directswap.data import TripletWindows
    from headswapbench.errors import InvalidSplitError
    from headswapbench.types import Video
    from headswapbench.video import write_video

    assert TripletWindows(split_root, "train", resolution=16, num_frames=4, landmarks=False).lengths == [12]
    root = tmp_path / "ds"
    shutil.copytree(split_root, root)
    write_video(root / "train" / "target" / "c0.mp4", Video(np.zeros((9, 32, 64, 3), np.uint8), 25.0))
    errors = []
    for load in (lambda: TripletDataset(root, "train", verify="none")[0],
                 lambda: TripletWindows(root, "train", resolution=16, num_frames=4, landmarks=False, verify="none")):
        with pytest.raises(InvalidSplitError, match="clip c0: driving has 12 frames but target has 9") as info:
            load()
        errors.append(str(info.value))
    assert errors[0] == errors[1]
