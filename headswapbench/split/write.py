"""Writing a dataset in the split contract: media, each split's metadata.jsonl, ``SHA256SUMS``, the card.

    write_dataset(out, {"train": rows, "test": rows}, files, DatasetInfo(...))

Which subject goes to which split is the caller's decision (``pipelines.package`` for a build); this module
only refuses a dataset that breaks the contract (a subject or clip in two splits, unsafe names, missing media).
Order of writes makes a killed run harmless: media first (each atomically), then a split's metadata.jsonl (a
split exists once its metadata does), then SHA256SUMS, then the card."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidSplitError
from ..fileio import atomic_path, atomic_write_text, json_default, sha256_file
from .card import DatasetInfo, dataset_stats, write_card
from .checksums import write_manifest
from .paths import FILE_COLUMNS, METADATA_FILE, check_clip_id, check_split_name, safe_relpath
from .read import find_splits, load_split
from .schema import FLOAT_COLUMNS, TripletRow, canonical_file_names

MEDIA_KINDS = {"driving": "driving_file_name", "reference": "reference_file_name", "target": "target_file_name"}

log = logging.getLogger(__name__)


def _place(src: Path, dst: Path) -> None:
    """Put `src` at `dst` atomically (hard link when possible, else copy); skip when already identical."""
    src = Path(src)
    if not src.is_file():
        raise InvalidSplitError(f"media file {src} does not exist")
    if dst.is_file():
        try:
            if os.path.samefile(src, dst):
                return
        except OSError:
            pass
        if dst.stat().st_size == src.stat().st_size and sha256_file(dst) == sha256_file(src):
            return
    with atomic_path(dst) as tmp:
        tmp.unlink()
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)


@dataclass
class ColumnPlan:
    """One key order and numeric type for every metadata row of a dataset.

    ``datasets`` infers each split's schema from its own metadata.jsonl and refuses splits whose schemas
    differ. So every row gets every key (missing → null), a column holding any float is written as float, and
    a float column that is null in *every* row of one split (inferred there as type null) is written as NaN in
    that split only: the one JSON value pyarrow reads as float64. ``load_split`` then reads NaN, i.e.
    "not computed", exactly where it would have read None."""

    keys: list[str]
    floats: set[str]
    nan_in_split: dict[str, set[str]] = field(default_factory=dict)

    def apply(self, d: dict, split: str | None = None) -> dict:
        nan_keys = self.nan_in_split.get(split, set())
        out = {}
        for k in self.keys:
            v = d.get(k)
            if k in self.floats and isinstance(v, int) and not isinstance(v, bool):
                v = float(v)
            elif v is None and k in nan_keys:
                v = float("nan")
            out[k] = v
        return out


def plan_columns(rows_by_split: Mapping[str, Iterable[TripletRow]]) -> ColumnPlan:
    keys: dict[str, None] = {}
    floats = set(FLOAT_COLUMNS)
    typed: dict[str, set[str]] = {}
    dicts = {name: [r.to_dict() for r in rows] for name, rows in rows_by_split.items()}
    for name, ds in dicts.items():
        typed[name] = set()
        for d in ds:
            for k, v in d.items():
                keys.setdefault(k, None)
                if isinstance(v, float):
                    floats.add(k)
                if v is not None:
                    typed[name].add(k)
    everywhere = set().union(*typed.values()) if typed else set()
    nan = {name: {k for k in floats & everywhere if k not in typed[name]} for name in dicts if dicts[name]}
    return ColumnPlan(list(keys), floats, {k: v for k, v in nan.items() if v})


def package_split(out_dir: str | Path, split: str, rows: Iterable[TripletRow],
                  files: Mapping[str, Mapping[str, str | Path]] | None = None,
                  columns: ColumnPlan | None = None) -> Path:
    """Write one split: media into ``<out_dir>/<split>/{driving,reference,target}/``, then metadata.jsonl.

    ``files`` maps clip_id → {"driving": path, "reference": path, "target": path} of the media to place (hard
    linked or copied; rows get the canonical file names). Without ``files`` the media must already be at the
    rows' file names inside the split folder. Rows are written sorted by clip_id (stable bytes, stable
    checksum). ``columns`` (from ``plan_columns``) gives every row the same keys and types. Returns the
    metadata path."""
    check_split_name(split)
    split_dir = Path(out_dir) / split
    rows = sorted(rows, key=lambda r: r.clip_id)
    seen: set[str] = set()
    lines = []
    for row in rows:
        check_clip_id(row.clip_id)
        if row.clip_id in seen:
            raise InvalidSplitError(f"duplicate clip_id '{row.clip_id}' in split '{split}'")
        seen.add(row.clip_id)
        if files is not None:
            if row.clip_id not in files:
                raise InvalidSplitError(f"no media given for clip '{row.clip_id}'")
            media = files[row.clip_id]
            missing = [k for k in MEDIA_KINDS if k not in media]
            if missing:
                raise InvalidSplitError(f"clip '{row.clip_id}': no {missing} file given")
            names = canonical_file_names(row.clip_id, Path(media["reference"]).suffix or ".png")
            for kind, column in MEDIA_KINDS.items():
                _place(Path(media[kind]), split_dir / names[column])
                setattr(row, column, names[column])
        for column in FILE_COLUMNS:
            path = safe_relpath(split_dir, getattr(row, column), column)
            if not path.is_file():
                raise InvalidSplitError(f"clip '{row.clip_id}': {column} {path} does not exist")
        d = row.to_dict() if columns is None else columns.apply(row.to_dict(), split)
        lines.append(json.dumps(d, ensure_ascii=False, sort_keys=False, default=json_default))
    if not lines:
        raise InvalidSplitError(f"split '{split}' has no rows")
    meta = split_dir / METADATA_FILE
    atomic_write_text(meta, "\n".join(lines) + "\n")
    _remove_unnamed_media(split_dir, {getattr(r, c) for r in rows for c in FILE_COLUMNS})
    return meta


def _remove_unnamed_media(split_dir: Path, named: set[str]) -> None:
    """Delete media no row names (left by an earlier write with other clips): kept, they would be published
    with the split, and ``verify_split`` refuses a split folder holding them."""
    for column in FILE_COLUMNS:
        folder = split_dir / FILE_COLUMNS[column][0]
        for p in sorted(folder.iterdir()) if folder.is_dir() else ():
            rel = f"{folder.name}/{p.name}"
            if p.is_file() and not p.is_symlink() and not p.name.startswith(".") and rel not in named:
                log.warning("removing %s: no row of split '%s' names it", p, split_dir.name)
                p.unlink()


def write_checksums(root: str | Path) -> Path:
    """``SHA256SUMS`` over every split's media and metadata.jsonl (paths relative to the root, sorted)."""
    root = Path(root)
    return write_manifest(root, [rel for name in find_splits(root)
                                 for rel in load_split(root, name, verify="none").files()])


def write_dataset(out_dir: str | Path, rows_by_split: Mapping[str, Iterable[TripletRow]],
                  files: Mapping[str, Mapping[str, str | Path]] | None = None,
                  info: DatasetInfo | None = None, *, replace: bool = True) -> dict:
    """Write every split, then SHA256SUMS and the dataset card over every split at ``out_dir``. Returns stats.

    Refuses a subject or a clip_id in two of the given splits. ``replace``: the dataset holds exactly these
    splits afterwards (split folders left by an earlier write are removed: kept, they would be listed in
    SHA256SUMS and the card, and could put one subject in two splits); False adds or rewrites these splits and
    keeps the others (the Hub adapter fetches one split at a time)."""
    out_dir = Path(out_dir)
    rows_by_split = {k: list(v) for k, v in rows_by_split.items()}
    owner: dict[str, str] = {}
    for split, rows in rows_by_split.items():
        for r in rows:
            prev = owner.setdefault(r.subject_id, split)
            if prev != split:
                raise InvalidSplitError(f"subject '{r.subject_id}' is in both '{prev}' and '{split}'")
    clip_owner: dict[str, str] = {}
    for split, rows in rows_by_split.items():
        for r in rows:
            if clip_owner.setdefault(r.clip_id, split) != split:
                raise InvalidSplitError(f"clip_id '{r.clip_id}' is in two splits")
    columns = plan_columns(rows_by_split)
    current = {split for split, rows in rows_by_split.items() if rows}
    for stale in set(find_splits(out_dir)) - current if replace else ():
        log.warning("removing split folder %s left by an earlier build (not in this build's splits)", out_dir / stale)
        shutil.rmtree(out_dir / stale)
    for split in sorted(current):
        package_split(out_dir, split, rows_by_split[split], files, columns)
    write_checksums(out_dir)
    write_card(out_dir, info or DatasetInfo())
    return dataset_stats(out_dir)
