"""Reading a split: ``load_split`` checks an untrusted split before any media file is opened, ``Split`` is
the loaded result.

Before a row is returned, every file name in metadata passes the layout rule (``paths.file_name_problem``:
inside its column's folder, a media suffix), exists, and (unless told otherwise) is listed in, or matches,
the dataset's ``SHA256SUMS``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidSplitError
from .checksums import read_checksums, split_checksum, verify_file
from .paths import CHECKSUMS_FILE, FILE_COLUMNS, METADATA_FILE, safe_relpath
from .schema import TripletRow

VERIFY_MODES = ("exists", "sha256", "none")


@dataclass(repr=False)
class Split:
    """A loaded, validated split: ``root/<name>/metadata.jsonl`` and its media. ``len()`` counts its clips;
    iterating yields its rows."""

    root: Path
    name: str
    rows: list[TripletRow]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[TripletRow]:
        return iter(self.rows)

    def __repr__(self) -> str:
        return f"Split({self.name!r}, {len(self.rows)} clips, {len(self.subjects)} subjects, root={str(self.root)!r})"

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

    def files(self) -> list[str]:
        """Every file of the split, relative to the dataset root: metadata.jsonl, then each row's media."""
        return [f"{self.name}/{METADATA_FILE}",
                *(f"{self.name}/{getattr(r, column)}" for r in self.rows for column in FILE_COLUMNS)]

    def checksum(self) -> str:
        """Identity of the split's content: hash of its metadata and of every media file's sha256."""
        return split_checksum(self.root, self.name)

    def probe_pair(self, row: TripletRow):
        """(driving, target) ``VideoInfo`` of a row, refusing a pair whose frame counts differ.

        A triplet is frame-synchronised: frame i of the driving clip carries the motion of frame i of the
        target. When the counts differ, no window pairs them correctly, so every training loader stops here
        with the clip's name instead of training on a guess (truncating to the shorter one)."""
        from ..video import probe

        d_path, t_path = self.driving_path(row), self.target_path(row)
        d, t = probe(d_path), probe(t_path)
        counts = [(d.num_frames, t.num_frames, ""),
                  (d.cfr_num_frames(), t.cfr_num_frames(), " at a constant frame rate")]
        for nd, nt, how in counts:
            if nd != nt:
                raise InvalidSplitError(f"clip {row.clip_id}: driving has {nd} frames but target has {nt}{how} "
                                        f"({d_path}, {t_path}); a triplet must be frame-synchronised")
        return d, t


def find_splits(root: str | Path) -> list[str]:
    """Names of the splits at a dataset root (folders holding a metadata.jsonl), sorted."""
    root = Path(root)
    return sorted(p.name for p in root.iterdir() if (p / METADATA_FILE).is_file()) if root.is_dir() else []


def _read_rows(meta: Path, split_dir: Path) -> list[TripletRow]:
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
    return rows


def load_split(root: str | Path, name: str = "test", verify: str = "exists") -> Split:
    """Load and check a split. ``verify``: 'exists' (files present, listed in the manifest when there is
    one), 'sha256' (also re-hash every file against the manifest), or 'none' (names checked, files not)."""
    if verify not in VERIFY_MODES:
        raise InvalidSplitError(f"verify='{verify}' is not one of {list(VERIFY_MODES)}")
    root = Path(root)
    split_dir = root / name
    meta = split_dir / METADATA_FILE
    if not meta.is_file():
        raise InvalidSplitError(f"no split '{name}' at {root} (missing {meta}); "
                                f"splits found: {find_splits(root) or 'none'}")
    rows = _read_rows(meta, split_dir)
    if verify == "none":
        return Split(root=root, name=name, rows=rows)
    sums = read_checksums(root)
    if verify == "sha256" and not sums:
        raise InvalidSplitError(f"{root / CHECKSUMS_FILE} is missing; cannot verify checksums")
    for row in rows:
        for column in FILE_COLUMNS:
            rel = getattr(row, column)
            if not safe_relpath(split_dir, rel, column).is_file():
                raise InvalidSplitError(f"clip '{row.clip_id}': {column} '{rel}' does not exist in {split_dir}")
            key = f"{name}/{rel}"
            if sums and key not in sums:
                raise InvalidSplitError(f"clip '{row.clip_id}': '{key}' is not listed in {CHECKSUMS_FILE}")
            if verify == "sha256":
                verify_file(root, key, sums)
    return Split(root=root, name=name, rows=rows)
