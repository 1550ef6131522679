"""``verify_split``: everything that must hold before an untrusted split (a download, or what is about to be
published) is decoded."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidSplitError
from .checksums import read_checksums, verify_file
from .paths import CHECKSUMS_FILE, FILE_COLUMNS, METADATA_FILE, check_split_files, sniff_media
from .read import Split, load_split


def verify_split(root: str | Path, split: str = "test", ignore_hidden: bool = False) -> Split:
    """Refuse an untrusted split before anything decodes it; returns the loaded ``Split``.

    Checks, in order: stray/non-media files, metadata paths (the name rules of ``paths``), every file listed in
    SHA256SUMS with a matching sha256 (metadata.jsonl too when listed), no media file that no row names (it
    would travel with the split unchecked), media signatures."""
    root = Path(root)
    if not (root / CHECKSUMS_FILE).is_file():
        raise InvalidSplitError(f"{root / CHECKSUMS_FILE} is missing: the split cannot be verified")
    check_split_files(root, split, ignore_hidden=ignore_hidden)
    loaded = load_split(root, split, verify="sha256")
    sums = read_checksums(root)
    meta_key = f"{split}/{METADATA_FILE}"
    if meta_key in sums:
        verify_file(root, meta_key, sums, what="metadata")
    named = set(loaded.files())
    for p in sorted((root / split).rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and rel not in named and not (ignore_hidden and p.name.startswith(".")):
            raise InvalidSplitError(f"{rel} is named by no row of {meta_key}; refusing the split")
    for row in loaded.rows:
        for column in FILE_COLUMNS:
            path = root / split / getattr(row, column)
            if not sniff_media(path):
                raise InvalidSplitError(f"{split}/{getattr(row, column)} does not start like a "
                                        f"{path.suffix} file; refusing the split")
    return loaded
