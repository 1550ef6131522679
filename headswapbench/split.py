"""The split-on-disk contract (see README "Split on disk"): reading, safety checks and checksums.

A split fetched from anywhere is untrusted. Before any media file is opened, `load_split` checks that every
file name in metadata stays inside the split folder, has a media suffix, exists, and (unless told otherwise)
matches the sha256 in the dataset's ``SHA256SUMS`` manifest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path, PurePosixPath

from .errors import InvalidSplitError
from .fileio import sha256_file

CHECKSUMS_FILE = "SHA256SUMS"  # at the dataset root, `sha256sum -c` format, paths relative to the root
METADATA_FILE = "metadata.jsonl"
VIDEO_SUFFIXES = {".mp4"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
FILE_COLUMNS = {  # column → (sub-folder, allowed suffixes)
    "driving_file_name": ("driving", VIDEO_SUFFIXES),
    "reference_file_name": ("reference", IMAGE_SUFFIXES),
    "target_file_name": ("target", VIDEO_SUFFIXES),
}


@dataclass
class TripletRow:
    """One metadata.jsonl row: driving clip V_c (new head), reference image I_ref, genuine target V_a."""

    clip_id: str
    subject_id: str
    source_video: str
    start_frame: int
    num_frames: int
    fps: float
    width: int
    height: int
    driving_file_name: str
    reference_file_name: str
    target_file_name: str
    editor: str = ""
    editor_version: str = ""
    prompt: str = ""
    seed: int = 0
    sync_nme: float | None = None
    sync_expression_dynamic: float | None = None
    identity_similarity_to_target: float | None = None
    extra: dict = field(default_factory=dict)  # any further columns, kept verbatim

    @classmethod
    def from_dict(cls, d: dict) -> "TripletRow":
        known = {f.name for f in fields(cls)} - {"extra"}
        missing = [k for k in ("clip_id", "subject_id", *FILE_COLUMNS) if k not in d]
        if missing:
            raise InvalidSplitError(f"metadata row {d.get('clip_id', '?')!r} lacks column(s) {missing}")
        bad = [k for k in ("clip_id", "subject_id", *FILE_COLUMNS) if not isinstance(d[k], str) or not d[k]]
        if bad:
            raise InvalidSplitError(f"metadata row {d.get('clip_id', '?')!r}: column(s) {bad} must be non-empty "
                                    f"strings, got {[d[k] for k in bad]}")
        kwargs = {k: d[k] for k in known if k in d}
        kwargs.setdefault("source_video", "")
        kwargs.setdefault("start_frame", 0)
        kwargs.setdefault("num_frames", 0)
        kwargs.setdefault("fps", 0.0)
        kwargs.setdefault("width", 0)
        kwargs.setdefault("height", 0)
        return cls(**kwargs, extra={k: v for k, v in d.items() if k not in known})

    def to_dict(self) -> dict:
        d = asdict(self)
        extra = d.pop("extra")
        d.update(extra)
        return d


@dataclass
class Split:
    """A loaded, validated split: ``root/<name>/metadata.jsonl`` and its media."""

    root: Path
    name: str
    rows: list[TripletRow]

    @property
    def folder(self) -> Path:
        return self.root / self.name

    def driving_path(self, row: TripletRow) -> Path:
        return self.folder / row.driving_file_name

    def reference_path(self, row: TripletRow) -> Path:
        return self.folder / row.reference_file_name

    def target_path(self, row: TripletRow) -> Path:
        return self.folder / row.target_file_name

    def row(self, clip_id: str) -> TripletRow:
        for r in self.rows:
            if r.clip_id == clip_id:
                return r
        raise KeyError(clip_id)

    @property
    def subjects(self) -> list[str]:
        return sorted({r.subject_id for r in self.rows})

    def checksum(self) -> str:
        """Identity of the split's content: hash of its metadata and of every media file's sha256."""
        return split_checksum(self.root, self.name)


def safe_relpath(split_dir: Path, rel: str, column: str) -> Path:
    """Resolve a metadata file name inside `split_dir`, refusing anything that could escape it."""
    sub, suffixes = FILE_COLUMNS[column]
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or "\\" in rel or any(part in ("..", "") for part in p.parts) or ":" in rel:
        raise InvalidSplitError(f"{column} '{rel}' is not a safe relative path inside the split folder")
    if p.suffix.lower() not in suffixes:
        raise InvalidSplitError(f"{column} '{rel}' is not a media file (allowed: {sorted(suffixes)})")
    full = (split_dir / p).resolve()
    base = split_dir.resolve()
    if base not in full.parents:
        raise InvalidSplitError(f"{column} '{rel}' resolves outside the split folder ({full})")
    return full


def read_checksums(root: Path) -> dict[str, str]:
    path = root / CHECKSUMS_FILE
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


def split_checksum(root: str | Path, name: str) -> str:
    """sha256 over metadata.jsonl and the manifest lines of the split's files (cheap: no media re-hash)."""
    root = Path(root)
    meta = root / name / METADATA_FILE
    sums = read_checksums(root)
    h = hashlib.sha256(meta.read_bytes())
    for rel in sorted(k for k in sums if k.startswith(f"{name}/")):
        h.update(f"{sums[rel]}  {rel}\n".encode())
    return h.hexdigest()


def load_split(root: str | Path, name: str = "test", verify: str = "exists") -> Split:
    """Load and check a split. ``verify``: 'exists' (files present, listed in the manifest when there is
    one), 'sha256' (also re-hash every file against the manifest), or 'none'."""
    root = Path(root)
    split_dir = root / name
    meta = split_dir / METADATA_FILE
    if not meta.is_file():
        avail = sorted(p.name for p in root.iterdir() if (p / METADATA_FILE).is_file()) if root.is_dir() else []
        raise InvalidSplitError(f"no split '{name}' at {root} (missing {meta}); splits found: {avail or 'none'}")
    rows: list[TripletRow] = []
    seen: set[str] = set()
    for n, line in enumerate(meta.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidSplitError(f"{meta}:{n}: invalid JSON ({exc.msg})") from None
        if not isinstance(d, dict):
            raise InvalidSplitError(f"{meta}:{n}: a row must be a JSON object")
        try:
            row = TripletRow.from_dict(d)
            for column in FILE_COLUMNS:
                safe_relpath(split_dir, getattr(row, column), column)
        except InvalidSplitError as exc:  # the row alone does not know where it came from
            raise InvalidSplitError(f"{meta}:{n}: {exc}") from None
        if row.clip_id in seen:
            raise InvalidSplitError(f"{meta}:{n}: duplicate clip_id '{row.clip_id}'")
        seen.add(row.clip_id)
        rows.append(row)
    if not rows:
        raise InvalidSplitError(f"{meta} has no rows")
    sums = read_checksums(root) if verify != "none" else {}
    for row in rows:
        for column in FILE_COLUMNS:
            rel = getattr(row, column)
            path = safe_relpath(split_dir, rel, column)
            if verify == "none":
                continue
            if not path.is_file():
                raise InvalidSplitError(f"clip '{row.clip_id}': {column} '{rel}' does not exist in {split_dir}")
            key = f"{name}/{rel}"
            if sums and key not in sums:
                raise InvalidSplitError(f"clip '{row.clip_id}': '{key}' is not listed in {CHECKSUMS_FILE}")
            if verify == "sha256":
                if not sums:
                    raise InvalidSplitError(f"{root / CHECKSUMS_FILE} is missing; cannot verify checksums")
                if sha256_file(path) != sums[key]:
                    raise InvalidSplitError(f"checksum mismatch for '{key}' (file changed or corrupt)")
    return Split(root=root, name=name, rows=rows)
