"""Gather results.json files and decide which ones may be ranked together.

Comparability rule (documented in docs/leaderboard.md): results are grouped per dataset split
(``dataset.name`` + ``dataset.split``). Within a split, the reference ``dataset.checksum`` is the one given with
``--dataset-checksum`` (repeatable), else the most common one; then the reference ``settings_hash`` among the
files left is the one given with ``--settings-hash`` (repeatable), else the most common one. A tie between two
equally common values goes to the group holding the newest file (``created_at``), then to the smaller hash, so
the choice never depends on file order. Every file that is not ranked gets one sentence saying why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headswapbench.errors import InvalidResultsError
from headswapbench.fileio import sha256_json
from headswapbench.results import load_results, results_key

RESULTS_NAME = "results.json"
REPORT_NAME = "report.html"


@dataclass
class Loaded:
    """One valid results file and what sits beside it."""

    path: Path
    results: dict[str, Any]
    content_hash: str
    report: Path | None = None

    @property
    def split_key(self) -> tuple[str, str]:
        return self.results["dataset"]["name"], self.results["dataset"]["split"]

    @property
    def checksum(self) -> str:
        return self.results["dataset"]["checksum"]

    @property
    def settings_hash(self) -> str:
        return self.results["settings_hash"]

    @property
    def created_at(self) -> str:
        return self.results["created_at"]


@dataclass
class Refused:
    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class Collection:
    accepted: list[Loaded] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    reference: list[dict[str, Any]] = field(default_factory=list)  # the group chosen per split, and why


def discover(inputs: Iterable[str | Path]) -> tuple[list[Path], list[Refused]]:
    """Expand files and folders (recursively, ``results.json``) into a de-duplicated, ordered path list."""
    paths: list[Path] = []
    refused: list[Refused] = []
    seen: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(p.rglob(RESULTS_NAME))
            if not found:
                refused.append(Refused(str(p), f"folder holds no {RESULTS_NAME}"))
        elif p.exists():
            found = [p]
        else:
            refused.append(Refused(str(p), "not found"))
            found = []
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                paths.append(f)
    return paths, refused


def load_all(paths: Sequence[Path]) -> tuple[list[Loaded], list[Refused]]:
    loaded, refused = [], []
    for p in paths:
        try:
            obj = load_results(p)
        except InvalidResultsError as exc:
            refused.append(Refused(str(p), _strip_path(str(exc), p)))
            continue
        report = p.parent / REPORT_NAME
        loaded.append(Loaded(p, obj, sha256_json(obj), report if report.is_file() else None))
    return loaded, refused


def _strip_path(msg: str, path: Path) -> str:
    prefix = f"{path}: "
    return msg.removeprefix(prefix)


def _pick(values: list[tuple[str, str]]) -> str:
    """Most common value; ties go to the value with the newest created_at, then the smaller value."""
    counts = Counter(v for v, _ in values)
    newest: dict[str, str] = {}
    for v, created in values:
        newest[v] = max(newest.get(v, ""), created)
    # sorted(reverse=True) is stable, so equal (count, newest) keep the ascending order of the value itself
    return max(sorted(counts), key=lambda v: (counts[v], newest[v]))


def select(
    loaded: list[Loaded],
    dataset_checksums: Sequence[str] = (),
    settings_hashes: Sequence[str] = (),
) -> Collection:
    """Apply the comparability rule and the duplicate rule; keep input order among the accepted."""
    out = Collection()
    by_split: dict[tuple[str, str], list[Loaded]] = {}
    for item in loaded:
        by_split.setdefault(item.split_key, []).append(item)

    keep: set[int] = set()
    for split_key, items in by_split.items():
        ref: dict[str, Any] = {"dataset": split_key[0], "split": split_key[1], "files": len(items)}
        if dataset_checksums:
            ok_sums = set(dataset_checksums)
            ref["dataset_checksum"], ref["dataset_checksum_rule"] = sorted(ok_sums), "--dataset-checksum"
        else:
            chosen = _pick([(i.checksum, i.created_at) for i in items])
            ok_sums = {chosen}
            ref["dataset_checksum"], ref["dataset_checksum_rule"] = [chosen], "most common"
        remaining = []
        for i in items:
            if i.checksum in ok_sums:
                remaining.append(i)
            else:
                rule = ("not among --dataset-checksum" if dataset_checksums
                        else f"most common for split '{split_key[1]}', pass --dataset-checksum to choose")
                out.refused.append(Refused(str(i.path), f"dataset checksum {i.checksum[:12]} differs from the "
                                           f"reference {_short(ok_sums)} ({rule})"))
        if settings_hashes:
            ok_settings = set(settings_hashes)
            ref["settings_hash"], ref["settings_hash_rule"] = sorted(ok_settings), "--settings-hash"
        elif remaining:
            chosen = _pick([(i.settings_hash, i.created_at) for i in remaining])
            ok_settings = {chosen}
            ref["settings_hash"], ref["settings_hash_rule"] = [chosen], "most common"
        else:
            ok_settings = set()
        for i in remaining:
            if i.settings_hash in ok_settings:
                keep.add(id(i))
            else:
                rule = ("not among --settings-hash" if settings_hashes
                        else f"most common for split '{split_key[1]}', pass --settings-hash to choose")
                out.refused.append(Refused(str(i.path), f"metric settings hash {i.settings_hash[:12]} differs from "
                                           f"the reference {_short(ok_settings)} ({rule})"))
        out.reference.append(ref)

    first_by_content: dict[str, Loaded] = {}
    first_by_key: dict[tuple, Loaded] = {}
    for item in loaded:
        if id(item) not in keep:
            continue
        if item.content_hash in first_by_content:
            out.refused.append(Refused(str(item.path), f"identical to {first_by_content[item.content_hash].path}"))
            continue
        key = (*results_key(item.results), item.checksum)
        if key in first_by_key:
            m = item.results["method"]
            out.refused.append(Refused(str(item.path), f"duplicate of {first_by_key[key].path}: same method "
                                       f"{m['name']} {m['version']} on the same split and settings "
                                       "(the first one given is kept)"))
            continue
        first_by_content[item.content_hash] = item
        first_by_key[key] = item
        out.accepted.append(item)
    return out


def _short(values: set[str]) -> str:
    return ", ".join(sorted(v[:12] for v in values)) or "(none)"


def collect(inputs: Iterable[str | Path], dataset_checksums: Sequence[str] = (),
            settings_hashes: Sequence[str] = ()) -> Collection:
    """discover → load/validate → comparability + duplicates. Refusals keep the order files were met."""
    paths, missing = discover(inputs)
    loaded, invalid = load_all(paths)
    result = select(loaded, dataset_checksums, settings_hashes)
    result.refused = missing + invalid + result.refused
    return result
