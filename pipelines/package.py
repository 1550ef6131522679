"""Package kept triplets into identity-disjoint splits on disk (the contract in DESIGN.md "Split on disk").

Layout written::

    <root>/README.md                        dataset card (YAML front matter: license, configs per split, stats)
    <root>/SHA256SUMS                       sha256 of every media file and metadata.jsonl (read by split.py)
    <root>/<split>/metadata.jsonl           one TripletRow per line
    <root>/<split>/{driving,target}/<clip_id>.mp4, <root>/<split>/reference/<clip_id>.png

Order of writes makes a killed run harmless: media first (each atomically), then a split's metadata.jsonl
(a split exists once its metadata does), then SHA256SUMS, then the card."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidSplitError
from ..fileio import atomic_path, atomic_write_text, sha256_file
from ..split import CHECKSUMS_FILE, FILE_COLUMNS, METADATA_FILE, TripletRow

DEFAULT_RATIOS: dict[str, float] = {"train": 0.8, "val": 0.1, "test": 0.1}
SPLIT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
CLIP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MEDIA_KINDS = {"driving": "driving_file_name", "reference": "reference_file_name", "target": "target_file_name"}

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------ split assignment
def _check_ratios(ratios: Mapping[str, float]) -> dict[str, float]:
    ratios = dict(ratios)
    if not ratios or any(v < 0 for v in ratios.values()) or sum(ratios.values()) <= 0:
        raise InvalidSplitError(f"split ratios {ratios} must be non-negative and sum to more than 0")
    bad = [k for k in ratios if not SPLIT_NAME.match(k)]
    if bad:
        raise InvalidSplitError(f"split name(s) {bad} must be lower-case letters, digits or '_'")
    total = sum(ratios.values())
    return {k: v / total for k, v in ratios.items()}


def subject_unit(subject_id: str, seed: int = 0) -> float:
    """The subject's fixed position in [0, 1): sha256 of ``seed:subject_id`` (no dependence on other subjects)."""
    digest = hashlib.sha256(f"{int(seed)}:{subject_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _intervals(ratios: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    out, lo = {}, 0.0
    items = list(ratios.items())
    for i, (name, r) in enumerate(items):
        hi = 1.0 if i == len(items) - 1 else lo + r
        out[name] = (lo, hi)
        lo = hi
    return out


def assign_split(subject_id: str, ratios: Mapping[str, float] | None = None, seed: int = 0) -> str:
    """Split of one subject: its hash position falls in one ratio interval (in the ratios' order).

    Identity-disjoint by construction (a subject has one position), seeded, and stable when subjects are
    added or removed: no other subject's split changes."""
    ratios = _check_ratios(ratios or DEFAULT_RATIOS)
    u = subject_unit(subject_id, seed)
    for name, (lo, hi) in _intervals(ratios).items():
        if lo <= u < hi and hi > lo:
            return name
    return next(n for n, r in reversed(list(ratios.items())) if r > 0)


def assign_splits(subject_ids: Iterable[str], ratios: Mapping[str, float] | None = None,
                  seed: int = 0) -> dict[str, str]:
    """Split of every subject: ``assign_split``, then a repair so tiny datasets get no empty split.

    With few subjects, hashing alone can leave a split with a non-zero ratio empty (e.g. 5 subjects at
    80/10/10 leave ``test`` empty about half the time). Each empty split (filled in reverse ratio order, so
    ``test`` before ``val`` before ``train``) takes the subject nearest to its interval from a split that has
    more than one. Repairs only happen while a split is empty, so once every split has a subject of its own the
    assignment is exactly the per-subject hash and stays stable as data is added."""
    ratios = _check_ratios(ratios or DEFAULT_RATIOS)
    subjects = sorted(set(subject_ids))
    out = {s: assign_split(s, ratios, seed) for s in subjects}
    spans = _intervals(ratios)
    for name in [n for n, r in reversed(list(ratios.items())) if r > 0]:
        counts = Counter(out.values())
        if counts[name]:
            continue
        lo, hi = spans[name]
        donors = [s for s in subjects if counts[out[s]] > 1]
        if not donors:
            continue
        u = {s: subject_unit(s, seed) for s in donors}
        best = min(donors, key=lambda s: (max(lo - u[s], u[s] - hi, 0.0), s))
        out[best] = name
    return out


# --------------------------------------------------------------------------------------------- packaging
def canonical_file_names(clip_id: str, reference_suffix: str = ".png") -> dict[str, str]:
    """The contract's file names of one triplet, relative to the split folder."""
    return {"driving_file_name": f"driving/{clip_id}.mp4",
            "reference_file_name": f"reference/{clip_id}{reference_suffix.lower()}",
            "target_file_name": f"target/{clip_id}.mp4"}


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


def package_split(out_dir: str | Path, split: str, rows: Iterable[TripletRow],
                  files: Mapping[str, Mapping[str, str | Path]] | None = None,
                  columns: ColumnPlan | None = None) -> Path:
    """Write one split: media into ``<out_dir>/<split>/{driving,reference,target}/``, then metadata.jsonl.

    ``files`` maps clip_id → {"driving": path, "reference": path, "target": path} of the media to place (hard
    linked or copied; rows get the canonical file names). Without ``files`` the media must already be at the
    rows' file names inside the split folder. Rows are written sorted by clip_id (stable bytes, stable
    checksum). ``columns`` (from ``plan_columns``) gives every row the same keys and types. Returns the
    metadata path."""
    if not SPLIT_NAME.match(split):
        raise InvalidSplitError(f"split name '{split}' must be lower-case letters, digits or '_'")
    split_dir = Path(out_dir) / split
    rows = sorted(rows, key=lambda r: r.clip_id)
    seen: set[str] = set()
    lines = []
    for row in rows:
        if not CLIP_ID.match(row.clip_id):
            raise InvalidSplitError(f"clip_id '{row.clip_id}' is not a safe file name ([A-Za-z0-9._-])")
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
        from ..split import safe_relpath

        for column in FILE_COLUMNS:
            path = safe_relpath(split_dir, getattr(row, column), column)
            if not path.is_file():
                raise InvalidSplitError(f"clip '{row.clip_id}': {column} {path} does not exist")
        d = row.to_dict() if columns is None else columns.apply(row.to_dict(), split)
        lines.append(json.dumps(d, ensure_ascii=False, sort_keys=False, default=_json_default))
    if not lines:
        raise InvalidSplitError(f"split '{split}' has no rows")
    meta = split_dir / METADATA_FILE
    atomic_write_text(meta, "\n".join(lines) + "\n")
    return meta


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
    floats = {"fps", "sync_nme", "sync_expression_dynamic", "identity_similarity_to_target"}
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


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def find_splits(root: str | Path) -> list[str]:
    root = Path(root)
    return sorted(p.name for p in root.iterdir() if (p / METADATA_FILE).is_file()) if root.is_dir() else []


def write_checksums(root: str | Path) -> Path:
    """``SHA256SUMS`` over every split's media and metadata.jsonl (paths relative to the root, sorted)."""
    from tqdm.auto import tqdm

    from ..split import load_split

    root = Path(root)
    rels: list[str] = []
    for name in find_splits(root):
        split = load_split(root, name, verify="none")
        rels.append(f"{name}/{METADATA_FILE}")
        for row in split.rows:
            rels.extend(f"{name}/{getattr(row, c)}" for c in FILE_COLUMNS)
    lines = [f"{sha256_file(root / rel)}  {rel}" for rel in tqdm(sorted(set(rels)), desc="sha256", unit="file",
                                                                 leave=False, disable=len(rels) < 50)]
    path = root / CHECKSUMS_FILE
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


@dataclass
class DatasetInfo:
    """What the card says about how the data was made (the build fills it in)."""

    name: str = "HeadSwapBench (local build)"
    license: str = "other"
    license_note: str = ("Derived from the input videos: the licence of those videos applies. Driving clips are "
                         "synthetic edits (new heads); targets and references are real footage.")
    editor: dict = field(default_factory=dict)
    filter: dict = field(default_factory=dict)
    ingest: dict = field(default_factory=dict)
    split_seed: int = 0
    split_ratios: dict = field(default_factory=lambda: dict(DEFAULT_RATIOS))
    sources: str = ""
    toolkit_version: str = ""


def dataset_stats(root: str | Path) -> dict:
    """Per-split counts (clips, subjects, frames, resolutions, fps) read from the metadata."""
    from ..split import load_split

    root = Path(root)
    stats = {}
    for name in find_splits(root):
        rows = load_split(root, name, verify="none").rows
        res = Counter(f"{r.width}x{r.height}" for r in rows)
        stats[name] = {"clips": len(rows), "subjects": len({r.subject_id for r in rows}),
                       "frames": sum(int(r.num_frames) for r in rows),
                       "frames_per_clip": sorted({int(r.num_frames) for r in rows}),
                       "resolution": dict(sorted(res.items())), "fps": sorted({float(r.fps) for r in rows}),
                       "editors": sorted({f"{r.editor} {r.editor_version}".strip() for r in rows})}
    return stats


def package_dataset(out_dir: str | Path, rows_by_split: Mapping[str, Iterable[TripletRow]],
                    files: Mapping[str, Mapping[str, str | Path]] | None = None,
                    info: DatasetInfo | None = None) -> dict:
    """Write every split, check identity-disjointness, then SHA256SUMS and the dataset card. Returns stats."""
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
    for stale in set(find_splits(out_dir)) - current:
        # left by an earlier build with other --splits or subject assignments: keeping it would list it in
        # SHA256SUMS and the card, and could put one subject in two splits (it is rebuilt from .work on demand)
        log.warning("removing split folder %s left by an earlier build (not in this build's splits)", out_dir / stale)
        shutil.rmtree(out_dir / stale)
    for split in sorted(current):
        package_split(out_dir, split, rows_by_split[split], files, columns)
    write_checksums(out_dir)
    from .card import write_card

    write_card(out_dir, info or DatasetInfo())
    return dataset_stats(out_dir)
