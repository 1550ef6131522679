"""The split layout and its one set of safety rules: which names a split may hold, and what a media file is.

Every check of a name from outside goes through ``file_name_problem``: a metadata row's file columns
(``safe_relpath``, run by ``load_split``), the files found in a split folder on disk (``check_split_files``,
run by ``verify_split``) and the names a Hub repo lists before anything is downloaded (``check_member``). So a
name one of them refuses, all of them refuse. A file's first bytes must also match its suffix (``sniff_media``):
a renamed script stays a script."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InvalidSplitError

CARD_FILE = "README.md"  # at the dataset root: the dataset card
CHECKSUMS_FILE = "SHA256SUMS"  # at the dataset root, `sha256sum -c` format, paths relative to the root
METADATA_FILE = "metadata.jsonl"  # in each split folder
VIDEO_SUFFIXES = {".mp4"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
MEDIA_SUFFIXES = VIDEO_SUFFIXES | IMAGE_SUFFIXES
FILE_COLUMNS = {  # column → (sub-folder, allowed suffixes)
    "driving_file_name": ("driving", VIDEO_SUFFIXES),
    "reference_file_name": ("reference", IMAGE_SUFFIXES),
    "target_file_name": ("target", VIDEO_SUFFIXES),
}
COLUMN_OF_FOLDER = {folder: column for column, (folder, _) in FILE_COLUMNS.items()}
SPLIT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # what the writer accepts (also a safe folder name)
CLIP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # what the writer accepts (also a safe file stem)
UNSAFE = "not a safe relative path inside the split folder"


def file_name_problem(rel: str, column: str) -> str | None:
    """Why ``rel`` cannot be the ``column`` file of a split, or None when it can.

    The one rule: ``<folder>/<name><suffix>``, relative to the split folder, with the column's folder and one
    of its media suffixes; no absolute path, drive (``:``), backslash, ``.``/``..``/empty part, control
    character or hidden name (hidden files are never uploaded, so a split naming one could not be
    downloaded)."""
    folder, suffixes = FILE_COLUMNS[column]
    if not isinstance(rel, str) or not rel:
        return UNSAFE
    parts = rel.split("/")
    if rel.startswith("/") or "\\" in rel or ":" in rel or any(ord(ch) < 32 or ch == "\x7f" for ch in rel) \
            or any(part in ("", ".", "..") for part in parts):
        return UNSAFE
    if len(parts) != 2 or parts[0] != folder:
        return f"not a file directly inside the split's {folder}/ folder"
    if parts[1].startswith("."):
        return "not a visible file (hidden files are never uploaded)"
    if Path(parts[1]).suffix.lower() not in suffixes:
        return f"not a media file of its folder (allowed: {sorted(suffixes)})"
    return None


def safe_relpath(split_dir: Path, rel: str, column: str) -> Path:
    """The path of a metadata row's ``column`` file inside ``split_dir``; refuses any name the rule refuses."""
    problem = file_name_problem(rel, column)
    if problem:
        raise InvalidSplitError(f"{column} '{rel}' is {problem}")
    full = (split_dir / rel).resolve()
    if split_dir.resolve() not in full.parents:  # the name is safe, so only a symlinked folder gets here
        raise InvalidSplitError(f"{column} '{rel}' resolves outside the split folder ({full})")
    return full


def member_problem(rel: str) -> str | None:
    """Why a file found in a split folder (``rel`` relative to it) is not one the contract allows, or None.
    Allowed: the metadata, and any name the rule accepts for the column of the folder it is in."""
    if rel == METADATA_FILE:
        return None
    column = COLUMN_OF_FOLDER.get(rel.split("/")[0]) if isinstance(rel, str) else None
    problem = file_name_problem(rel, column or "driving_file_name")
    if column is None and problem != UNSAFE:
        return f"not a media file of the split contract (folders: {', '.join(sorted(COLUMN_OF_FOLDER))})"
    return problem


def check_member(split: str, rel: str, *, refusing: str = "refusing the split") -> None:
    """Raise for a file of split folder ``split`` (on disk or in a Hub listing) that the contract refuses."""
    problem = member_problem(rel)
    if problem:
        raise InvalidSplitError(f"{split}/{rel} is {problem}; {refusing}")


def check_split_files(root: Path, split: str, ignore_hidden: bool = False) -> None:
    """Every file in the split folder must be metadata.jsonl or a media file of its column's folder, and no
    entry may be a symbolic link. ``ignore_hidden`` skips dot-files (temp files of a killed local run; never
    uploaded, never downloaded)."""
    split_dir = Path(root) / split
    for p in sorted(split_dir.rglob("*")):
        rel = p.relative_to(split_dir).as_posix()
        if ignore_hidden and p.name.startswith("."):
            continue
        if p.is_symlink():
            raise InvalidSplitError(f"{split}/{rel} is a symbolic link; refusing the split")
        if p.is_dir():
            if rel not in COLUMN_OF_FOLDER:
                raise InvalidSplitError(f"{split}/{rel}/ is not a folder of the split contract "
                                        f"(allowed: {sorted(COLUMN_OF_FOLDER)}); refusing the split")
            continue
        check_member(split, rel)


_SIGNATURES = {".png": [b"\x89PNG\r\n\x1a\n"], ".jpg": [b"\xff\xd8\xff"], ".jpeg": [b"\xff\xd8\xff"]}


def sniff_media(path: Path) -> bool:
    """True when the file's first bytes match its suffix (MP4 'ftyp' box, PNG or JPEG signature)."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    suffix = Path(path).suffix.lower()
    if suffix == ".mp4":
        return len(head) >= 8 and head[4:8] == b"ftyp"
    return any(head.startswith(sig) for sig in _SIGNATURES.get(suffix, []))


def check_split_name(split: str) -> None:
    if not isinstance(split, str) or not SPLIT_NAME.match(split):
        raise InvalidSplitError(f"split name '{split}' must be lower-case letters, digits or '_'")


def check_clip_id(clip_id: str) -> None:
    if not isinstance(clip_id, str) or not CLIP_ID.match(clip_id):
        raise InvalidSplitError(f"clip_id '{clip_id}' is not a safe file name ([A-Za-z0-9._-])")
