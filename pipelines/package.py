"""The build's packaging decisions: which split each subject goes to (identity-disjoint, seeded, stable), and
how many clips a subject may bring (``--max-clips-per-subject``).

Writing the dataset (media, metadata.jsonl, SHA256SUMS, card) is the core's ``headswapbench.split.write_dataset``;
the build calls it with the rows this module assigned."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from ..errors import InvalidSplitError
from ..reasons import Reason
from ..split.paths import SPLIT_NAME
from ..split.schema import TripletRow

DEFAULT_RATIOS: dict[str, float] = {"train": 0.8, "val": 0.1, "test": 0.1}


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


# ------------------------------------------------------------------------------------------ balance
def cap_clips_per_subject(rows: Sequence[TripletRow], cap: int) -> tuple[list[TripletRow], dict[str, dict]]:
    """Keep at most ``cap`` clips per subject: the best-synchronised (lowest ``sync_nme``, then clip id, so the
    choice is deterministic and independent of order or sharding). → (kept rows, clip_id → {code, reason} of
    the dropped ones, recorded as ``subject_cap``)."""
    if cap < 1:
        raise InvalidSplitError(f"--max-clips-per-subject must be at least 1, got {cap}")
    by_subject: dict[str, list[TripletRow]] = {}
    for r in rows:
        by_subject.setdefault(r.subject_id, []).append(r)
    kept, dropped = [], {}
    for subject, group in sorted(by_subject.items()):
        ranked = sorted(group, key=lambda r: (_nme(r), r.clip_id))
        kept.extend(ranked[:cap])
        for r in ranked[cap:]:
            dropped[r.clip_id] = {
                "code": Reason.SUBJECT_CAP.value,
                "reason": f"subject {subject} has {len(group)} clips; --max-clips-per-subject {cap} keeps the "
                          f"{cap} best-synchronised (this one's landmark NME {_nme(r):.4g})",
            }
    order = {r.clip_id: i for i, r in enumerate(rows)}
    return sorted(kept, key=lambda r: order[r.clip_id]), dropped


def _nme(row: TripletRow) -> float:
    v = row.sync_nme
    return float(v) if v is not None and math.isfinite(float(v)) else math.inf
