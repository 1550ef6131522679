"""Packaging: identity-disjoint seeded split assignment, the on-disk contract, SHA256SUMS, the dataset card and
``datasets.load_dataset``. Media here are SYNTHETIC random-noise clips (real H.264 / PNG files)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from headswapbench.pipelines.package import assign_split, assign_splits, subject_unit

from headswapbench.errors import InvalidSplitError
from headswapbench.split import DatasetInfo, load_split, write_dataset
from tests.helpers.split_rows import make_media as _media
from tests.helpers.split_rows import make_row as _row


# ------------------------------------------------------------------------------------------------- splits
def test_assign_split_hash_by_hand():
    # the documented rule: u = first 8 bytes of sha256("seed:subject") / 2**64, cut at cumulative ratios
    u = int.from_bytes(hashlib.sha256(b"7:alice").digest()[:8], "big") / 2**64
    assert subject_unit("alice", 7) == u
    expected = "train" if u < 0.8 else "val" if u < 0.9 else "test"
    assert assign_split("alice", {"train": 0.8, "val": 0.1, "test": 0.1}, seed=7) == expected


def test_assign_split_ratios_seed_and_stability():
    subjects = [f"s{i:04d}" for i in range(3000)]
    got = {s: assign_split(s, seed=0) for s in subjects}
    share = Counter(got.values())
    assert abs(share["train"] / 3000 - 0.8) < 0.03 and abs(share["test"] / 3000 - 0.1) < 0.02
    more = assign_splits(subjects + [f"new{i}" for i in range(500)], seed=0)  # inputs added: nobody moves
    assert all(more[s] == got[s] for s in subjects)
    other_seed = {s: assign_split(s, seed=1) for s in subjects}
    assert sum(other_seed[s] != got[s] for s in subjects) > 300


def test_assign_splits_tiny_dataset_has_no_empty_split():
    for seed in range(20):
        out = assign_splits(["a", "b", "c"], {"train": 0.8, "val": 0.1, "test": 0.1}, seed=seed)
        assert set(out.values()) == {"train", "val", "test"}
    two = assign_splits(["a", "b"], seed=3)
    assert "test" in two.values() and len(set(two.values())) == 2  # test is filled before val
    assert assign_splits(["solo"], {"test": 1.0}) == {"solo": "test"}
    with pytest.raises(InvalidSplitError):
        assign_split("x", {"train": -1.0, "test": 1.0})


# ---------------------------------------------------------------------------------------------- packaging
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    media = _media(tmp_path_factory.mktemp("src"), 4)
    rows = {"train": [_row("c0", "s0", extra={"attributes": {"donor": "a"}}),
                      _row("c1", "s0", extra={"attributes": {"donor": "b"}})],
            "val": [_row("c2", "s1", extra={"attributes": {"donor": "a"}, "sync_pose_worst_axis": 2})],  # int here ...
            "test": [_row("c3", "s2", extra={"attributes": {"donor": "c"}, "sync_pose_worst_axis": 1.5})]}  # float there
    info = DatasetInfo(editor={"name": "synthetic"}, filter={"max_nme": 0.05}, split_seed=0)
    stats = write_dataset(root, rows, media, info)
    return root, media, stats


def test_layout_metadata_and_checksums(built):
    root, media, stats = built
    assert stats["train"]["clips"] == 2 and stats["train"]["subjects"] == 1 and stats["test"]["frames"] == 4
    assert (root / "train" / "driving" / "c0.mp4").read_bytes() == media["c0"]["driving"].read_bytes()
    assert (root / "test" / "reference" / "c3.png").read_bytes() == media["c3"]["reference"].read_bytes()
    row = json.loads((root / "train" / "metadata.jsonl").read_text().splitlines()[0])
    assert row["driving_file_name"] == "driving/c0.mp4" and row["attributes"] == {"donor": "a"}
    # same keys and types in every split (datasets refuses differing schemas): all-null float column -> NaN
    assert "sync_pose_worst_axis" in row and np.isnan(row["sync_pose_worst_axis"])
    assert json.loads((root / "val" / "metadata.jsonl").read_text())["sync_pose_worst_axis"] == 2.0
    listed = dict(line.split("  ", 1)[::-1] for line in (root / "SHA256SUMS").read_text().splitlines())
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {"README.md", "SHA256SUMS"}
    assert set(listed) == on_disk  # every media file and metadata.jsonl, nothing else
    for rel, digest in listed.items():  # independent sha256sum -c
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == digest
    for split in ("train", "val", "test"):
        assert load_split(root, split, verify="sha256").rows


def test_card_front_matter(built):
    root, _, _ = built
    text = (root / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["license"] and "video-to-video" in meta["task_categories"]
    cfg = meta["configs"][0]
    assert {d["split"] for d in cfg["data_files"]} == {"train", "val", "test"}
    assert meta["headswapbench"]["statistics"]["val"]["subjects"] == 1
    assert meta["headswapbench"]["filter"] == {"max_nme": 0.05}
    assert "| train | 2 | 1 | 8 | 24x16 | 25 |" in text


def test_datasets_load_dataset_every_split(built, tmp_path):
    import datasets

    root, media, _ = built
    ds = datasets.load_dataset(str(root), cache_dir=str(tmp_path / "hf-datasets"))
    assert set(ds) == {"train", "val", "test"}
    assert ds["train"].num_rows == 2 and ds["test"].num_rows == 1
    for split in ds.values():
        for item in split:
            for col in ("driving", "reference", "target"):
                assert Path(item[col]["path"]).is_file(), (col, item[col])
    item = ds["test"][0]
    assert Path(item["driving"]["path"]).read_bytes() == media["c3"]["driving"].read_bytes()
    img = ds["test"].cast_column("reference", datasets.Image())[0]["reference"]
    from headswapbench.video import read_image

    assert np.array_equal(np.asarray(img.convert("RGB")), read_image(media["c3"]["reference"]))


def test_repackaging_is_idempotent(built):
    root, _, _ = built
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    rows = {s: load_split(root, s).rows for s in ("train", "val", "test")}
    write_dataset(root, rows, None, DatasetInfo(editor={"name": "synthetic"}, filter={"max_nme": 0.05}))
    after = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert before == after


def test_package_refuses_leaks_and_unsafe_ids(tmp_path):
    media = _media(tmp_path / "src", 2)
    with pytest.raises(InvalidSplitError, match="subject 's0' is in both"):
        write_dataset(tmp_path / "a", {"train": [_row("c0", "s0")], "test": [_row("c1", "s0")]}, media)
    bad = {"../evil": media["c0"]}
    with pytest.raises(InvalidSplitError, match="not a safe file name"):
        write_dataset(tmp_path / "b", {"test": [_row("../evil", "s0")]}, bad)
    with pytest.raises(InvalidSplitError, match="no media given"):
        write_dataset(tmp_path / "c", {"test": [_row("zzz", "s0")]}, media)


def test_repackaging_with_other_splits_removes_the_stale_split(tmp_path):
    """A rebuild that moves subjects must not leave the old split behind: it would be listed in SHA256SUMS
    and the card, and would put one subject in two splits."""
    from headswapbench.split import load_split, read_checksums

    media = _media(tmp_path / "m", 2)
    root = tmp_path / "ds"
    write_dataset(root, {"train": [_row("c0", "s0")], "test": [_row("c1", "s1")]}, media)
    assert (root / "train" / "metadata.jsonl").is_file()
    write_dataset(root, {"test": [_row("c0", "s0"), _row("c1", "s1")]}, media)
    assert not (root / "train").exists()
    assert all(k.startswith("test/") for k in read_checksums(root))
    assert {r.subject_id for r in load_split(root, "test", verify="sha256").rows} == {"s0", "s1"}
    card = (root / "README.md").read_text()
    assert "test/" in card and "train/" not in card  # the card's data_files name only the current split
