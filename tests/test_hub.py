"""Hub IO through the real huggingface_hub client against a loopback fake Hub (tests/helpers/fake_hub.py).

The split media here are SYNTHETIC (random-noise clips written as real H.264 mp4 / png files): these tests
check transport, verification and refusal, not faces."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from headswapbench.errors import HeadSwapBenchError, InvalidSplitError
from headswapbench.split import TripletRow, load_split, write_dataset
from tests.helpers.fake_hub import FakeHub
from tests.helpers.split_rows import make_media

TOKEN = "hf_write_token"


def _synthetic_media(folder: Path, n: int, seed: int = 0) -> dict[str, dict[str, Path]]:
    return make_media(folder, n, seed=seed, shape=(3, 16, 16, 3), prefix="clip")


def _row(clip_id: str, subject: str) -> TripletRow:
    return TripletRow(clip_id=clip_id, subject_id=subject, source_video="synthetic.mp4", start_frame=0,
                      num_frames=3, fps=25.0, width=16, height=16, driving_file_name="", reference_file_name="",
                      target_file_name="", editor="synthetic", editor_version="0", prompt="noise", seed=1,
                      sync_nme=0.01, sync_expression_dynamic=0.02, identity_similarity_to_target=0.1)


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dataset")
    files = _synthetic_media(tmp_path_factory.mktemp("media"), 3)
    write_dataset(root, {"train": [_row("clip0", "s0"), _row("clip1", "s0")], "test": [_row("clip2", "s1")]}, files)
    return root


@pytest.fixture
def hub(monkeypatch):
    with FakeHub(tokens={TOKEN: "alice", "hf_other": "bob"}) as h:
        h.patch(monkeypatch)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        yield h


def _publish(hub, packaged, repo="alice/hsb"):
    from headswapbench.hub import publish_split

    return publish_split(packaged, repo, token=TOKEN)


def test_round_trip_publish_download_equals_original(hub, packaged, tmp_path):
    from headswapbench.hub import download_split, hub_source

    info = _publish(hub, packaged)
    assert info["splits"] == {"test": 1, "train": 2}
    uploaded = hub.repos[("dataset", "alice/hsb")].files
    assert sorted(uploaded) == sorted(
        ["README.md", "SHA256SUMS", "test/metadata.jsonl", "train/metadata.jsonl"]
        + [f"{s}/{k}/clip{i}.{'png' if k == 'reference' else 'mp4'}" for s, ids in (("train", (0, 1)), ("test", (2,)))
           for i in ids for k in ("driving", "reference", "target")])
    assert all(r["authorization"] == f"Bearer {TOKEN}" for r in hub.requests if r["method"] == "POST")

    root = download_split("alice/hsb", split="test", token=False, out_dir=tmp_path / "dl")
    original, fetched = load_split(packaged, "test", verify="sha256"), load_split(root, "test", verify="sha256")
    assert [r.to_dict() for r in fetched.rows] == [r.to_dict() for r in original.rows]
    assert fetched.checksum() == original.checksum()
    for col in ("driving_file_name", "reference_file_name", "target_file_name"):
        rel = getattr(original.rows[0], col)
        assert (root / "test" / rel).read_bytes() == (packaged / "test" / rel).read_bytes()
    assert not (root / "train").exists()  # only the asked split travels
    import datasets  # ... and the card was trimmed to it, so datasets loads the partial download

    ds = datasets.load_dataset(str(root), cache_dir=str(tmp_path / "hf-datasets"))
    assert set(ds) == {"test"} and ds["test"][0]["clip_id"] == "clip2"
    assert hub_source(root)["commit"] == hub.repos[("dataset", "alice/hsb")].heads["main"]


def test_publish_as_pull_request(hub, packaged):
    from headswapbench.hub import publish_split

    _publish(hub, packaged)
    info = publish_split(packaged, "alice/hsb", token="hf_other", create_pr=True, splits=["test"])
    assert info["pr_url"].endswith("/datasets/alice/hsb/discussions/1")
    pr = hub.repos[("dataset", "alice/hsb")].prs[0]
    assert "test/metadata.jsonl" in pr.files and not any(p.startswith("train/") for p in pr.files)


def _tamper(hub, path: str, data: bytes, repo="alice/hsb") -> None:
    hub._commit(hub.repos[("dataset", repo)], "main", {path: data}, "tamper", "")  # a new commit, like an attacker's


def test_tampered_media_refused(hub, packaged, tmp_path):
    from headswapbench.hub import download_split

    _publish(hub, packaged)
    other = (packaged / "train" / "driving" / "clip0.mp4").read_bytes()  # a valid mp4, wrong content
    _tamper(hub, "test/driving/clip2.mp4", other)
    with pytest.raises(InvalidSplitError, match="checksum mismatch for 'test/driving/clip2.mp4'.*were deleted"):
        download_split("alice/hsb", split="test", token=False, out_dir=tmp_path / "dl")
    assert not (tmp_path / "dl" / "test").exists()  # nothing untrusted left behind


def test_tampered_metadata_refused(hub, packaged, tmp_path):
    from headswapbench.hub import download_split

    _publish(hub, packaged)
    meta = (packaged / "test" / "metadata.jsonl").read_text().replace('"prompt": "noise"', '"prompt": "changed"')
    _tamper(hub, "test/metadata.jsonl", meta.encode())
    with pytest.raises(InvalidSplitError, match="metadata changed"):
        download_split("alice/hsb", split="test", token=False, out_dir=tmp_path / "dl")


def test_metadata_path_escape_refused(hub, packaged, tmp_path):
    from headswapbench.hub import download_split

    _publish(hub, packaged)
    row = json.loads((packaged / "test" / "metadata.jsonl").read_text())
    row["driving_file_name"] = "../train/driving/clip0.mp4"
    _tamper(hub, "test/metadata.jsonl", (json.dumps(row) + "\n").encode())
    with pytest.raises(InvalidSplitError, match="not a safe relative path"):
        download_split("alice/hsb", split="test", token=False, out_dir=tmp_path / "dl")


def test_non_media_file_refused_before_download(hub, packaged, tmp_path):
    from headswapbench.hub import download_split

    _publish(hub, packaged)
    _tamper(hub, "test/driving/run.sh", b"#!/bin/sh\necho pwned\n")
    n_before = len(hub.requests)
    with pytest.raises(InvalidSplitError, match="test/driving/run.sh.*not a media file"):
        download_split("alice/hsb", split="test", token=False, out_dir=tmp_path / "dl")
    assert not any("/resolve/" in r["path"] for r in hub.requests[n_before:])  # refused from the listing alone


def test_disguised_non_media_refused(hub, packaged, tmp_path):
    """A script renamed .mp4, listed in metadata and SHA256SUMS with its true hash, is still refused."""
    import hashlib

    from headswapbench.hub import download_split

    _publish(hub, packaged)
    script = b"#!/bin/sh\necho pwned\n" * 4
    sums = (packaged / "SHA256SUMS").read_text().splitlines()
    sums = [f"{hashlib.sha256(script).hexdigest()}  test/target/clip2.mp4" if line.endswith("test/target/clip2.mp4")
            else line for line in sums]
    _tamper(hub, "test/target/clip2.mp4", script)
    _tamper(hub, "SHA256SUMS", ("\n".join(sums) + "\n").encode())
    with pytest.raises(InvalidSplitError, match="does not start like a .mp4 file"):
        download_split("alice/hsb", split="test", token=False, out_dir=tmp_path / "dl")


def test_gated_repo_needs_token_with_access(hub, packaged, tmp_path):
    from headswapbench.hub import download_split

    files = {p: b for p, b in _published_files(hub, packaged).items()}
    hub.add_repo("dataset", "yananwang-MBZUAI/HeadSwapBench", files, gated=True)
    repo = "yananwang-MBZUAI/HeadSwapBench"
    with pytest.raises(HeadSwapBenchError, match=r"gated dataset and no token was given.*accept its conditions"):
        download_split(repo, token=False, out_dir=tmp_path / "a")
    with pytest.raises(HeadSwapBenchError, match="gated dataset and the token given has no access"):
        download_split(repo, token="hf_other", out_dir=tmp_path / "b")
    hub.grant("dataset", repo, "hf_other")
    root = download_split(repo, token="hf_other", out_dir=tmp_path / "c")
    assert len(load_split(root, "test").rows) == 1


def _published_files(hub, packaged) -> dict[str, bytes]:
    _publish(hub, packaged, repo="alice/source")
    return dict(hub.repos[("dataset", "alice/source")].files)


def test_missing_repo_and_revision_are_clear(hub, tmp_path):
    from headswapbench.hub import download_split

    with pytest.raises(HeadSwapBenchError, match="not found on the Hub"):
        download_split("nobody/nothing", token=False, out_dir=tmp_path / "x")
    hub.add_repo("dataset", "alice/empty", {"README.md": b"hi"})
    with pytest.raises(HeadSwapBenchError, match="revision not found"):
        download_split("alice/empty", revision="v9", token=False, out_dir=tmp_path / "y")


def test_upstream_layout_adapter(hub, tmp_path):
    """A repo laid out as <split>/<clip>/{driving.mp4, ref.png, gt.mp4} + metadata.csv maps onto the contract."""
    from headswapbench.hub import download_split, hub_source

    media = _synthetic_media(tmp_path / "m", 2, seed=3)
    files = {}
    for cid, f in media.items():
        files[f"test/{cid}/driving.mp4"] = f["driving"].read_bytes()
        files[f"test/{cid}/ref.png"] = f["reference"].read_bytes()
        files[f"test/{cid}/gt.mp4"] = f["target"].read_bytes()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["clip", "subject_id"])
    w.writerows([["clip0", "personA"], ["clip1", "personB"]])
    files["test/metadata.csv"] = buf.getvalue().encode()
    files["README.md"] = b"---\nlicense: other\n---\n"
    hub.add_repo("dataset", "org/upstream", files)
    root = download_split("org/upstream", token=False, out_dir=tmp_path / "dl")
    split = load_split(root, "test", verify="sha256")
    assert sorted((r.clip_id, r.subject_id) for r in split.rows) == [("test__clip0", "personA"),
                                                                     ("test__clip1", "personB")]
    row = split.row("test__clip0")
    assert (root / "test" / row.target_file_name).read_bytes() == files["test/clip0/gt.mp4"]
    assert (root / "test" / row.reference_file_name).read_bytes() == files["test/clip0/ref.png"]
    assert (row.num_frames, row.width, row.height) == (3, 16, 16)
    assert hub_source(root)["layout"] == "upstream"
    import datasets

    ds = datasets.load_dataset(str(root), cache_dir=str(tmp_path / "hf-datasets"))
    assert sorted(ds["test"]["subject_id"]) == ["personA", "personB"]


def test_cli_download_and_publish(hub, packaged, tmp_path, capsys):
    from headswapbench.cli.main import main

    assert main(["publish", str(packaged), "--repo", "alice/cli", "--token", TOKEN, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["splits"] == {"test": 1, "train": 2}
    assert main(["download", "--repo", "alice/cli", "--split", "train", "--out", str(tmp_path / "d"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["clips"] == 2 and got["subjects"] == 1 and got["verified"] == "sha256"
    assert main(["download", "--repo", "alice/nope", "--out", str(tmp_path / "e")]) == 2
    assert "not found on the Hub" in capsys.readouterr().err


def test_missing_manifest_or_manifest_line_refused(hub, packaged, tmp_path):
    from headswapbench.hub import download_split

    _publish(hub, packaged)
    sums = (packaged / "SHA256SUMS").read_text().splitlines()
    _tamper(hub, "SHA256SUMS", ("\n".join(x for x in sums if not x.endswith("test/reference/clip2.png")) + "\n").encode())
    with pytest.raises(InvalidSplitError, match="'test/reference/clip2.png' is not listed in SHA256SUMS"):
        download_split("alice/hsb", split="test", token=False, out_dir=tmp_path / "a")
    repo = hub.repos[("dataset", "alice/hsb")]
    hub._commit(repo, "main", {}, "drop manifest", "", deleted=["SHA256SUMS"])
    with pytest.raises(InvalidSplitError, match="SHA256SUMS is missing"):
        download_split("alice/hsb", split="test", token=False, out_dir=tmp_path / "b")


def test_download_unknown_split_of_a_contract_repo_is_refused(hub, packaged, tmp_path, capsys):
    """Used to fall through to the upstream adapter and repackage the repo's test+train clips as the asked
    split (exit 0, wrong data)."""
    from headswapbench.cli.main import main

    _publish(hub, packaged, "alice/splits")
    assert main(["download", "--repo", "alice/splits", "--split", "nosuch", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "no split 'nosuch'" in err and "['test', 'train']" in err and "Traceback" not in err
    assert not (tmp_path / "d" / "nosuch").exists()


def test_download_into_an_unusable_folder_is_one_line(hub, packaged, tmp_path, capsys):
    from headswapbench.cli.main import main

    _publish(hub, packaged, "alice/out")
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert main(["download", "--repo", "alice/out", "--out", str(blocker / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(blocker) in err and "Traceback" not in err


# ------------------------------------------------------------------------------------ hostile archives
def _zip(entries: list[tuple[str, bytes]], compress: bool = True, links: dict | None = None) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)  # a symlink entry, as `zip --symlinks` writes it
            zf.writestr(info, target)
    return buf.getvalue()


def test_upstream_zip_bomb_is_refused_before_anything_is_written(hub, tmp_path):
    """The reported case: a ~300 KB zip that expands to 300 MB. Refused from its index, in one line."""
    from headswapbench.hub import download_split

    bomb = _zip([("test/clip0/driving.mp4", b"\x00" * (300 * 1024**2))])
    assert len(bomb) < 400_000
    hub.add_repo("dataset", "org/bomb", {"test/clips.zip": bomb, "README.md": b"---\nlicense: other\n---\n"})
    with pytest.raises(InvalidSplitError, match=r"clips.zip: expands to 314,572,800 bytes .* decompression bomb"):
        download_split("org/bomb", token=False, out_dir=tmp_path / "dl")
    extracted = list((tmp_path / "dl").rglob(".extracted/**/*.mp4"))
    assert extracted == []


def test_archive_rules_refuse_escapes_links_devices_and_member_floods(tmp_path):
    import tarfile

    from headswapbench.archives import ArchiveError, Limits, safe_extract

    cases = {
        "dotdot.zip": (_zip([("../evil.txt", b"x")]), "escapes the extraction folder"),
        "absolute.zip": (_zip([("/tmp/evil.txt", b"x")]), "escapes the extraction folder"),
        "backslash.zip": (_zip([("..\\evil.txt", b"x")]), "escapes the extraction folder"),
        "link.zip": (_zip([("a.txt", b"x")], links={"b.mp4": "/etc/passwd"}), "is a link, device or FIFO"),
        "flood.zip": (_zip([(f"f{i}", b"") for i in range(50)], compress=False), "50 members, more than the limit"),
    }
    for name, (data, why) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ArchiveError, match=why):
            safe_extract(tmp_path / name, tmp_path / "out" / name, Limits(max_members=40))
    for kind, add in (("symlink", lambda tf: tf.addfile(_tar_info("s.mp4", tarfile.SYMTYPE, "/etc/passwd"))),
                      ("device", lambda tf: tf.addfile(_tar_info("d.mp4", tarfile.CHRTYPE))),
                      ("fifo", lambda tf: tf.addfile(_tar_info("p.mp4", tarfile.FIFOTYPE)))):
        path = tmp_path / f"{kind}.tar"
        with tarfile.open(path, "w") as tf:
            add(tf)
        with pytest.raises(ArchiveError, match="is a link, device or FIFO"):
            safe_extract(path, tmp_path / "out" / kind)
    # nothing was written outside (or inside) by any refused archive
    assert not (tmp_path / "evil.txt").exists() and not list((tmp_path / "out").rglob("*.mp4"))
    # an honest archive extracts, in full, byte for byte
    good = tmp_path / "good.tar.gz"
    with tarfile.open(good, "w:gz") as tf:
        data = b"media" * 1000
        info = _tar_info("test/clip0/driving.mp4", tarfile.REGTYPE)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    written = safe_extract(good, tmp_path / "ok")
    assert [p.read_bytes() for p in written] == [data]


def _tar_info(name: str, kind, linkname: str = ""):
    import tarfile

    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def test_archive_member_larger_than_its_header_is_stopped(tmp_path):
    """A zip whose header under-states a member's size cannot write more than it declared."""
    import zipfile

    from headswapbench.archives import ArchiveError, safe_extract

    path = tmp_path / "liar.zip"
    path.write_bytes(_zip([("a.mp4", b"A" * 10_000)], compress=False))
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.infolist()[0]
    # shrink the declared size in the central directory (offset 24 of the entry) to 100 bytes
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24:cd + 28] = (100).to_bytes(4, "little")
    raw[info.header_offset + 22:info.header_offset + 26] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError):
        safe_extract(path, tmp_path / "out")
    assert not (tmp_path / "out" / "a.mp4").exists() or (tmp_path / "out" / "a.mp4").stat().st_size <= 100


def test_a_tar_gz_bomb_is_refused_without_decompressing_all_of_it(tmp_path):
    """A tar has no index: listing a .tar.gz decompresses it. The stream is capped, so a bomb is refused
    after at most the allowed size, not after expanding in full."""
    import gzip
    import tarfile
    import time

    from headswapbench.archives import ArchiveError, Limits, safe_extract

    path = tmp_path / "bomb.tar.gz"
    size = 256 * 1024**2  # 256 MiB of zeros in ~0.3 MB
    with gzip.open(path, "wb", compresslevel=1) as gz, tarfile.open(fileobj=gz, mode="w|") as tf:
        info = tarfile.TarInfo("test/clip0/driving.mp4")
        info.size = size

        class Zeros:
            def __init__(self):
                self.left = size

            def read(self, n):
                n = min(n, self.left)
                self.left -= n
                return b"\x00" * n

        tf.addfile(info, Zeros())
    t0 = time.monotonic()
    with pytest.raises(ArchiveError, match="decompression bomb"):
        safe_extract(path, tmp_path / "out", Limits(max_members=10, ratio_floor_bytes=1024**2))
    assert time.monotonic() - t0 < 20 and not list((tmp_path / "out").rglob("*.mp4"))


def test_upstream_metadata_is_read_as_untrusted(tmp_path):
    """A hostile upstream metadata file (200,000-deep line, symlink to a private file, FIFO) is refused with
    one line, never a RecursionError, a leak or a hang."""
    import os

    from headswapbench.errors import InvalidSplitError
    from headswapbench.hub import SOURCE_FILE, _read_upstream_metadata, hub_source

    deep = tmp_path / "metadata.jsonl"
    deep.write_text('{"clip": "a"}\n' + "[" * 200_000 + "]" * 200_000 + "\n")
    with pytest.raises(InvalidSplitError, match="metadata.jsonl is unreadable: JSON nested more than 64 levels"):
        _read_upstream_metadata([deep])
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / "meta.json").symlink_to(deep)
    with pytest.raises(InvalidSplitError, match="is a symbolic link"):
        _read_upstream_metadata([tmp_path / "link" / "meta.json"])
    os.mkfifo(tmp_path / "meta.csv")
    with pytest.raises(InvalidSplitError, match="is a FIFO"):
        _read_upstream_metadata([tmp_path / "meta.csv"])
    (tmp_path / "ok.jsonl").write_text('{"a": 1}\n\n{"b": 2}\n')
    assert _read_upstream_metadata([tmp_path / "ok.jsonl"]) == [{"a": 1}, {"b": 2}]
    (tmp_path / "split").mkdir()
    (tmp_path / "split" / SOURCE_FILE).write_text("[" * 100 + "]" * 100)
    with pytest.raises(InvalidSplitError, match="nested more than 64"):
        hub_source(tmp_path / "split")
