"""The split package's one set of name rules, seen through every door a name comes in by: a metadata row
(``load_split``), a file in a split folder (``verify_split``, run after a download and before a publish) and
a Hub listing (``download_split`` refuses before fetching a byte). Also the row builder and ``Split`` itself.
Media here are SYNTHETIC random-noise clips (real H.264 / PNG files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from headswapbench.errors import InvalidSplitError
from headswapbench.split import (
    FILE_COLUMNS,
    DatasetInfo,
    Split,
    TripletRow,
    canonical_file_names,
    load_split,
    verify_split,
    write_dataset,
)
from tests.helpers.fake_hub import FakeHub
from tests.helpers.split_rows import make_media

# names relative to the split folder; the metadata column is the one of the name's folder (driving otherwise)
HOSTILE = [
    "../train/driving/clip0.mp4",  # climbs out of the split
    "driving/../../x.mp4",
    "/etc/passwd.mp4",  # absolute
    "driving\\x.mp4",  # backslash separator
    "driving/C:x.mp4",  # drive-relative on Windows
    "driving//x.mp4",  # empty part
    "driving/./x.mp4",  # dot part
    "driving/x\n.mp4",  # control character (would break a SHA256SUMS line)
    "driving/.x.mp4",  # hidden: never uploaded, so a split naming it could not be downloaded
    "driving/run.sh",  # not media
    "driving/x.mp4.sh",
    "reference/x.mp4",  # media, but not of its folder
    "target/x.png",
    "driving/sub/x.mp4",  # not directly in its folder
    "x.mp4",  # in no folder
    "notes/x.mp4",  # in a folder the contract does not have
]
ACCEPTED = ["driving/x.mp4", "driving/X.MP4", "target/a-b_c.1.mp4", "reference/x.jpg", "reference/x.JPEG"]
ON_DISK = [n for n in HOSTILE if ".." not in n.split("/") and not n.startswith("/") and "//" not in n
           and "/./" not in n]  # the names a file system can hold inside the split folder


def _column(name: str) -> str:
    folder = name.split("/")[0]
    return next((c for c, (sub, _) in FILE_COLUMNS.items() if sub == folder), "driving_file_name")


def _media(folder: Path, n: int) -> dict[str, dict[str, Path]]:
    return make_media(folder, n, seed=0, shape=(3, 16, 16, 3), prefix="clip")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dataset")
    media = _media(tmp_path_factory.mktemp("media"), 3)
    rows = {"train": [TripletRow.for_clip("clip0", "s0"), TripletRow.for_clip("clip1", "s0")],
            "test": [TripletRow.for_clip("clip2", "s1", num_frames=3, fps=25.0, width=16, height=16)]}
    write_dataset(root, rows, media, DatasetInfo(editor={"name": "synthetic"}))
    return root


def _with_metadata_name(dataset: Path, tmp_path: Path, name: str) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(dataset, root)
    row = json.loads((root / "test" / "metadata.jsonl").read_text())
    row[_column(name)] = name
    (root / "test" / "metadata.jsonl").write_text(json.dumps(row) + "\n")
    return root


# ------------------------------------------------------------------------------- one rule, three doors
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_name_in_metadata_is_refused_by_the_reader(dataset, tmp_path, name):
    root = _with_metadata_name(dataset, tmp_path, name)
    with pytest.raises(InvalidSplitError, match=rf"(?s)metadata.jsonl:1: {_column(name)} '.*' is not"):
        load_split(root, "test", verify="none")  # refused from the name alone, before any file is looked at


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_name_in_metadata_loads(dataset, tmp_path, name):
    root = _with_metadata_name(dataset, tmp_path, name)
    assert getattr(load_split(root, "test", verify="none").rows[0], _column(name)) == name


@pytest.mark.parametrize("name", ON_DISK)
def test_hostile_file_in_a_split_folder_is_refused_by_verify(dataset, tmp_path, name):
    root = tmp_path / "ds"
    shutil.copytree(dataset, root)
    path = root / "test" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"#!/bin/sh\necho pwned\n")
    with pytest.raises(InvalidSplitError, match="refusing the split"):
        verify_split(root, "test")


def test_symbolic_links_are_refused(dataset, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(dataset, root)
    (root / "test" / "driving" / "extra.mp4").symlink_to(root / "train" / "driving" / "clip0.mp4")
    with pytest.raises(InvalidSplitError, match="symbolic link"):
        verify_split(root, "test")
    (root / "test" / "driving" / "extra.mp4").unlink()
    outside = tmp_path / "elsewhere"
    shutil.move(root / "test" / "target", outside)
    (root / "test" / "target").symlink_to(outside)  # a safe name, but the folder leads out of the split
    with pytest.raises(InvalidSplitError, match="resolves outside the split folder"):
        load_split(root, "test", verify="none")


@pytest.fixture(scope="module")
def hub_with_repos(dataset):
    """One fake Hub holding, per name, a copy of the published dataset with one extra listed file."""
    base = {p.relative_to(dataset).as_posix(): p.read_bytes() for p in dataset.rglob("*") if p.is_file()}
    mp4 = base["test/driving/clip2.mp4"]
    with FakeHub() as hub:
        for i, name in enumerate(HOSTILE + ACCEPTED):
            hub.add_repo("dataset", f"org/r{i}", files={**base, f"test/{name}": mp4})
        yield hub


def _download(hub, monkeypatch, tmp_path, name: str):
    from headswapbench.hub import download_split

    hub.patch(monkeypatch)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    n_before = len(hub.requests)
    repo = f"org/r{(HOSTILE + ACCEPTED).index(name)}"
    try:
        download_split(repo, split="test", token=False, out_dir=tmp_path / "dl")
        error = None
    except InvalidSplitError as exc:
        error = str(exc)
    return error, [r for r in hub.requests[n_before:] if "/resolve/" in r["path"]]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_name_in_a_hub_listing_is_refused_before_download(hub_with_repos, monkeypatch, tmp_path, name):
    error, fetched = _download(hub_with_repos, monkeypatch, tmp_path, name)
    assert error is not None and "refusing to download the split" in error
    assert fetched == []  # refused from the listing alone


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_name_in_a_hub_listing_passes_the_listing_check(hub_with_repos, monkeypatch, tmp_path, name):
    error, fetched = _download(hub_with_repos, monkeypatch, tmp_path, name)
    assert fetched  # the listing was accepted, so the split was fetched ...
    assert f"test/{name} is named by no row" in error  # ... and then refused: no row names the extra file
    assert not (tmp_path / "dl" / "test").exists()


def test_rewriting_a_split_with_fewer_clips_removes_their_media(tmp_path):
    """Media of clips dropped since the last write must go: kept, they would be published with the split."""
    media = _media(tmp_path / "m", 2)
    root = tmp_path / "ds"
    write_dataset(root, {"test": [TripletRow.for_clip("clip0", "s0"), TripletRow.for_clip("clip1", "s1")]}, media)
    (root / "test" / "driving" / ".clip9.tmp.mp4").write_bytes(b"")  # a temp file of a killed run: not ours
    write_dataset(root, {"test": [TripletRow.for_clip("clip0", "s0")]}, media)
    assert sorted(p.name for p in (root / "test" / "target").iterdir()) == ["clip0.mp4"]
    assert (root / "test" / "driving" / ".clip9.tmp.mp4").exists()
    assert len(verify_split(root, "test", ignore_hidden=True)) == 1
    shutil.copy(media["clip1"]["target"], root / "test" / "target" / "clip1.mp4")  # a file no row names
    with pytest.raises(InvalidSplitError, match="test/target/clip1.mp4 is named by no row"):
        verify_split(root, "test", ignore_hidden=True)


# ---------------------------------------------------------------------------------------- rows and Split
def test_for_clip_builds_the_contract_row():
    row = TripletRow.for_clip("c0", "s0", fps=25.0, editor="warp", sync_pose_worst_axis=1.5, reference_suffix=".JPG")
    assert (row.driving_file_name, row.reference_file_name, row.target_file_name) == \
        ("driving/c0.mp4", "reference/c0.jpg", "target/c0.mp4")
    assert row.fps == 25.0 and row.editor == "warp" and row.extra == {"sync_pose_worst_axis": 1.5}
    assert row.to_dict()["sync_pose_worst_axis"] == 1.5 and TripletRow.from_dict(row.to_dict()) == row
    assert canonical_file_names("c0")["reference_file_name"] == "reference/c0.png"
    with pytest.raises(InvalidSplitError, match="subject_id"):
        TripletRow.for_clip("c0", "")


def test_split_is_sized_iterable_and_has_a_one_line_repr(dataset):
    split = load_split(dataset, "train")
    assert isinstance(split, Split) and len(split) == 2
    assert [r.clip_id for r in split] == ["clip0", "clip1"]
    assert repr(split) == f"Split('train', 2 clips, 1 subjects, root={str(dataset)!r})"
    assert "\n" not in repr(split)
    assert split.files()[0] == "train/metadata.jsonl" and "train/reference/clip1.png" in split.files()


def test_unknown_verify_mode_is_refused(dataset):
    with pytest.raises(InvalidSplitError, match="verify='sha265' is not one of"):
        load_split(dataset, "test", verify="sha265")
