"""Untrusted zip and tar archives: the one place the toolkit unpacks them (Hub splits, model packs).

An archive is data from outside, so every rule is checked from its index *before* a byte is written, and
again while copying (a zip header may under-state a member's size; a tar member is read as it streams):

- at most ``max_members`` members (a million empty entries exhaust inodes and time);
- at most ``max_total_bytes`` uncompressed in all, at most ``max_ratio`` × the archive's own size (a 300 KB
  zip that expands to 300 MB is refused, media archives barely compress), and no more than the free disk;
- no member name that is absolute, contains ``..`` or a backslash, or resolves outside the target folder;
- no links, devices, FIFOs — only regular files and folders.

Every refusal is one `ArchiveError` naming the archive, the member and the rule.
"""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import HeadSwapBenchError

ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
_CHUNK = 1 << 20


class ArchiveError(HeadSwapBenchError):
    """An archive breaks one of the extraction rules, or cannot be read."""


@dataclass(frozen=True)
class Limits:
    """Caps for one extraction. The defaults suit a Hub split (media, already compressed)."""

    max_members: int = 100_000
    max_total_bytes: int = 200 * 1024**3
    max_ratio: float = 20.0  # uncompressed total / archive size
    ratio_floor_bytes: int = 64 * 1024**2  # small archives may expand to this much whatever the ratio


@dataclass(frozen=True)
class _Member:
    name: str
    size: int
    kind: str  # file | dir | other
    ref: object  # ZipInfo or TarInfo


class _CappedStream:
    """A decompressed tar stream that stops once it has produced more than ``cap`` bytes: a tar has no index,
    so listing a compressed tar decompresses it, and a tar.gz bomb must not cost minutes to refuse."""

    def __init__(self, raw, cap: int, archive: Path):
        self.raw, self.cap, self.archive = raw, cap, archive

    def _check(self) -> None:
        if self.raw.tell() > self.cap:
            raise ArchiveError(f"archive {self.archive.name}: expands to more than {self.cap:,} bytes from "
                               f"{self.archive.stat().st_size:,} (a decompression bomb?)")

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self._check()
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        pos = self.raw.seek(offset, whence)
        self._check()
        return pos

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.raw.close()


def _tar(archive: Path, limits: Limits) -> tarfile.TarFile:
    import bz2
    import gzip
    import lzma

    name = archive.name.lower()
    opener = (gzip.open if name.endswith((".tar.gz", ".tgz")) else bz2.open if name.endswith(".tar.bz2")
              else lzma.open if name.endswith(".tar.xz") else None)
    if opener is None:
        return tarfile.open(archive, "r:")
    cap = _allowed(archive, limits) + 1024 * limits.max_members + (1 << 20)  # tar headers and padding
    return tarfile.open(fileobj=_CappedStream(opener(archive, "rb"), cap, archive), mode="r:")


def _allowed(archive: Path, limits: Limits) -> int:
    return min(limits.max_total_bytes, max(limits.ratio_floor_bytes, int(limits.max_ratio * archive.stat().st_size)))


def _members(archive: Path, limits: Limits) -> list[_Member]:
    name = archive.name.lower()
    try:
        if name.endswith(ZIP_SUFFIXES):
            with zipfile.ZipFile(archive) as zf:
                out = []
                for info in zf.infolist():
                    mode = (info.external_attr >> 16) & 0o170000
                    kind = "dir" if info.is_dir() else "other" if mode not in (0, 0o100000) else "file"
                    out.append(_Member(info.filename, int(info.file_size), kind, info))
                return out
        if name.endswith(TAR_SUFFIXES):
            with _tar(archive, limits) as tf:
                return [_Member(m.name, int(m.size), "dir" if m.isdir() else "file" if m.isfile()
                                       else "other", m) for m in tf.getmembers()]
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise ArchiveError(f"archive {archive.name}: cannot be read ({type(exc).__name__}: {exc})") from None
    raise ArchiveError(f"archive {archive.name}: not a {'/'.join(ZIP_SUFFIXES + TAR_SUFFIXES)} file")


def _check_name(archive: Path, name: str, base: Path) -> Path:
    pp = PurePosixPath(name)
    if not name or pp.is_absolute() or ".." in pp.parts or "\\" in name or "\x00" in name:
        raise ArchiveError(f"archive {archive.name}: member '{name}' escapes the extraction folder")
    target = (base / pp).resolve()
    if base != target and base not in target.parents:
        raise ArchiveError(f"archive {archive.name}: member '{name}' escapes the extraction folder")
    return target


def check_archive(archive: str | Path, limits: Limits = Limits(), *, free_bytes: int | None = None) -> list:
    """Every rule that can be checked from the index; returns the members. Nothing is written."""
    archive = Path(archive)
    if not archive.is_file():
        raise ArchiveError(f"archive {archive}: not a regular file")
    members = _members(archive, limits)
    if len(members) > limits.max_members:
        raise ArchiveError(f"archive {archive.name}: {len(members):,} members, more than the limit of "
                           f"{limits.max_members:,}")
    for m in members:
        if m.kind == "other":
            raise ArchiveError(f"archive {archive.name}: member '{m.name}' is a link, device or FIFO, "
                               "not a regular file")
    total = sum(m.size for m in members if m.kind == "file")
    allowed = _allowed(archive, limits)
    if total > allowed:
        raise ArchiveError(f"archive {archive.name}: expands to {total:,} bytes from {archive.stat().st_size:,}, "
                           f"more than the limit of {allowed:,} (a decompression bomb?)")
    if free_bytes is not None and total > free_bytes:
        raise ArchiveError(f"archive {archive.name}: needs {total:,} bytes but only {free_bytes:,} are free")
    return members


def _copy_capped(src, dst_path: Path, cap: int, archive: Path, name: str) -> int:
    written = 0
    with open(dst_path, "wb") as dst:
        while block := src.read(_CHUNK):
            written += len(block)
            if written > cap:
                raise ArchiveError(f"archive {archive.name}: member '{name}' is larger than its header says")
            dst.write(block)
    return written


def _open(archive: Path, limits: Limits):
    return zipfile.ZipFile(archive) if archive.name.lower().endswith(ZIP_SUFFIXES) else _tar(archive, limits)


def _open_member(tf_or_zf, m: _Member):
    return tf_or_zf.open(m.ref) if isinstance(tf_or_zf, zipfile.ZipFile) else tf_or_zf.extractfile(m.ref)


def safe_extract(archive: str | Path, into: str | Path, limits: Limits = Limits()) -> list[Path]:
    """Extract every member of an untrusted archive into ``into``; returns the files written."""
    archive, into = Path(archive), Path(into)
    into.mkdir(parents=True, exist_ok=True)
    base = into.resolve()
    members = check_archive(archive, limits, free_bytes=shutil.disk_usage(base).free)
    targets = [(m, _check_name(archive, m.name, base)) for m in members]
    budget = sum(m.size for m in members if m.kind == "file")
    written, out = 0, []
    try:
        with _open(archive, limits) as handle:
            for m, t in targets:
                if m.kind == "dir":
                    t.mkdir(parents=True, exist_ok=True)
                    continue
                t.parent.mkdir(parents=True, exist_ok=True)
                if t.is_symlink() or (t.exists() and not t.is_file()):
                    raise ArchiveError(f"archive {archive.name}: member '{m.name}' would write through a link "
                                       "or over a folder")
                src = _open_member(handle, m)
                with src:
                    written += _copy_capped(src, t, m.size, archive, m.name)
                if written > budget:  # pragma: no cover - each member is already capped at its declared size
                    raise ArchiveError(f"archive {archive.name}: expands beyond its declared size")
                out.append(t)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"archive {archive.name}: extraction failed ({type(exc).__name__}: {exc})") from None
    return out


def extract_member(archive: str | Path, member: str, dest: str | Path, limits: Limits = Limits()) -> Path:
    """Extract the one member named ``member`` (or ending in ``/member``) to the file ``dest`` (atomically)."""
    from .fileio import atomic_path

    archive, dest = Path(archive), Path(dest)
    members = check_archive(archive, limits)
    found = [m for m in members if m.kind == "file" and (m.name == member or m.name.endswith("/" + member))]
    if not found:
        raise ArchiveError(f"archive {archive.name}: no member named {member}")
    if len(found) > 1:
        raise ArchiveError(f"archive {archive.name}: {len(found)} members named {member}; which one is meant "
                           "is ambiguous")
    m = found[0]
    try:
        with _open(archive, limits) as handle, atomic_path(dest) as tmp, _open_member(handle, m) as src:
            _copy_capped(src, tmp, m.size, archive, m.name)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"archive {archive.name}: cannot extract {member} ({type(exc).__name__}: {exc})") from None
    return dest


__all__ = ["ArchiveError", "Limits", "check_archive", "extract_member", "safe_extract"]
