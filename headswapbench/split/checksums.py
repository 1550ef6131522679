"""``SHA256SUMS``: the dataset's checksum manifest (``sha256sum -c`` format, paths relative to the root), the
check of one file against it, and the split checksum that results.json records."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from ..errors import InvalidSplitError
from ..fileio import atomic_write_text, sha256_file
from .paths import CHECKSUMS_FILE, METADATA_FILE


def read_checksums(root: str | Path) -> dict[str, str]:
    """{path relative to the root: sha256} from the manifest; {} when there is none."""
    path = Path(root) / CHECKSUMS_FILE
    if not path.exists():
        return {}
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        digest, _, rel = line.partition("  ")
        if len(digest) != 64 or not rel:
            raise InvalidSplitError(f"{path}:{n}: not a 'sha256  path' line")
        out[rel] = digest
    return out


def write_manifest(root: str | Path, rels: Iterable[str]) -> Path:
    """Hash the files ``rels`` (relative to ``root``) and write them, sorted, as the manifest (atomically)."""
    from tqdm.auto import tqdm

    root = Path(root)
    rels = sorted(set(rels))
    lines = [f"{sha256_file(root / rel)}  {rel}" for rel in tqdm(rels, desc="sha256", unit="file", leave=False,
                                                                   disable=len(rels) < 50)]
    path = root / CHECKSUMS_FILE
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def verify_file(root: str | Path, rel: str, sums: dict[str, str], what: str = "file") -> None:
    """Re-hash ``root/rel`` against its manifest line (which must exist)."""
    if rel not in sums:
        raise InvalidSplitError(f"'{rel}' is not listed in {CHECKSUMS_FILE}")
    if sha256_file(Path(root) / rel) != sums[rel]:
        raise InvalidSplitError(f"checksum mismatch for '{rel}' ({what} changed or corrupt)")


def split_checksum(root: str | Path, name: str) -> str:
    """sha256 over metadata.jsonl and the manifest lines of the split's files (cheap: no media re-hash)."""
    root = Path(root)
    meta = root / name / METADATA_FILE
    sums = read_checksums(root)
    h = hashlib.sha256(meta.read_bytes())
    for rel in sorted(k for k in sums if k.startswith(f"{name}/")):
        h.update(f"{sums[rel]}  {rel}\n".encode())
    return h.hexdigest()
