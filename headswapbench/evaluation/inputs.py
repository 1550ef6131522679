"""The split an evaluation reads: resolved from a folder, a Hub id or a ``Split`` object, and watched for changes.

Why watch it: a method runs between loading the split and scoring it, and a method can write anywhere its
user can. One that overwrote the split's target with its own output scored PSNR 80 under the genuine
checksum. So every split file's ``os.stat`` is recorded when the split is loaded (after it was verified) and
compared again before scoring; a file whose size, mtime, ctime or inode changed is re-hashed against
SHA256SUMS and, if its content changed, the run stops with the list of changed files. ctime cannot be set back
by a user (``os.utime`` sets mtime, and bumps ctime), so restoring an mtime does not hide a write. Cost: one
``stat`` per file (3 per clip), measured in docs/evaluate.md; files are only re-hashed when their stat moved.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HeadSwapBenchError, InvalidSplitError

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SplitChangedError(HeadSwapBenchError):
    """The split's files changed while the evaluation ran (between swap and score)."""


def _stat_key(path: Path) -> tuple[int, ...]:
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


@dataclass
class SplitSnapshot:
    """``os.stat`` of every file the split's rows name, and the sha256 each must have (from SHA256SUMS)."""

    root: Path
    stats: dict[Path, tuple[int, ...]] = field(default_factory=dict)
    sums: dict[Path, str] = field(default_factory=dict)

    @classmethod
    def take(cls, split) -> SplitSnapshot:
        from ..split import read_checksums

        snap = cls(Path(split.root))
        listed = read_checksums(Path(split.root))
        for row in split.rows:
            for path in (split.driving_path(row), split.reference_path(row), split.target_path(row)):
                snap.stats[path] = _stat_key(path)
                rel = path.relative_to(split.root).as_posix()
                if rel in listed:
                    snap.sums[path] = listed[rel]
        return snap

    def changed(self) -> list[str]:
        """Files whose content is no longer what was loaded (stat moved and, where listed, sha256 differs)."""
        from ..fileio import sha256_file

        out = []
        for path, key in self.stats.items():
            try:
                now = _stat_key(path)
            except OSError:
                out.append(f"{path.relative_to(self.root)} (gone)")
                continue
            if now == key:
                continue
            if path in self.sums and path.is_file() and not path.is_symlink() and sha256_file(path) == self.sums[path]:
                self.stats[path] = now  # touched, or rewritten with the same bytes: content is unchanged
                continue
            out.append(str(path.relative_to(self.root)))
        return out

    def check(self, when: str) -> None:
        changed = self.changed()
        if changed:
            listed = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            raise SplitChangedError(
                f"the split's files changed {when}: {listed}. Something (the method?) wrote into the split; "
                f"scores against it would be wrong. Restore the split (re-download or rebuild it) and run again")


def resolve_split(split: Any, name: str = "test", revision: str | None = None, token: str | None = None,
                  verify: str = "sha256"):
    """``(Split, dataset dict)`` from a local split folder, a Hub id ``ORG/NAME`` or a ``Split`` object.

    A ``Split`` object is re-loaded from its folder (and verified like a path), so the results' checksum and
    clip count are those of the split on disk; one whose rows differ from the folder's is refused."""
    from ..split import Split, load_split
    from ..swappers.external import check_clip_id

    given_rows = None
    if isinstance(split, Split):
        given_rows = [r.clip_id for r in split.rows]
        name, split = split.name, split.root
    path = Path(split)
    if path.exists():
        s = load_split(path, name, verify=verify)
        ds_name, rev = path.resolve().name, revision
        try:  # a folder fetched earlier by `headswapbench download` keeps its Hub name and pinned commit
            from ..hub import hub_source

            origin = hub_source(path)
            ds_name, rev = origin.get("repo", ds_name), origin.get("commit", rev)
        except ImportError:
            pass
    elif isinstance(split, str) and HUB_ID.match(split):
        try:
            from .. import hub
        except ImportError as exc:
            raise HeadSwapBenchError(f"'{split}' is not a local folder, and Hub support is unavailable ({exc})") from None
        root = hub.download_split(split, revision=revision, split=name, token=token)  # verified on download
        rev = hub.hub_source(root).get("commit") or revision  # the pinned commit, not a moving branch
        s = load_split(root, name, verify="exists")
        ds_name = split
    else:
        raise InvalidSplitError(f"no split folder at '{split}' (and it is not a Hub id of the form ORG/NAME)")
    if given_rows is not None and given_rows != [r.clip_id for r in s.rows]:
        raise InvalidSplitError(f"the Split object's rows differ from {s.folder / 'metadata.jsonl'}: a subset cannot "
                                "be scored as the split (its results would carry the whole split's checksum)")
    for row in s.rows:
        try:
            check_clip_id(row.clip_id)
        except HeadSwapBenchError as exc:
            raise InvalidSplitError(f"{s.folder / 'metadata.jsonl'}: {exc}") from None
    dataset = {"name": ds_name, "revision": rev, "split": name, "num_clips": len(s.rows), "checksum": s.checksum(),
               "num_subjects": len(s.subjects)}
    return s, dataset


__all__ = ["HUB_ID", "SplitChangedError", "SplitSnapshot", "resolve_split"]
