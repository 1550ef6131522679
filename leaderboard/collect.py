"""Gather results.json files and decide which dataset version each split is ranked on.

Comparability rule (documented in docs/leaderboard.md): a board is one dataset split (``dataset.name`` +
``dataset.split``) on one dataset checksum under one protocol (``protocol.id``); within a board each column
ranks only the results whose fingerprint for that key equals the protocol's reference (``rank``). Which
dataset version is the reference is never the submitters' choice: ``--dataset-checksum`` (repeatable) pins
it, else a protocol that declares its split's checksum (``[dataset]`` in the protocol file) pins it for its
results; every other value is refused with its reason. Without either nothing is voted on: each checksum gets
its own board, labelled "not pinned", so no number of files can make honest results "another dataset".
Checksums may be given as a unique prefix (the tool prints 12 characters); an ambiguous prefix stops the
build naming what it matches. ``--settings-hash`` is retired: the settings that matter are compared column
by column, through the fingerprints.

Verification is the maintainer's too: ``verified`` is true only for files whose content hash (the sha256 of the
file's bytes, what ``sha256sum`` prints) is on the maintainers' list (``--verified FILE``). The file's own
``provenance.verified`` is a claim and is shown as one.

Every file that is not ranked gets one line saying why; files are read as untrusted (``headswapbench.safeio``).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headswapbench.errors import HeadSwapBenchError, InvalidResultsError
from headswapbench.fingerprint import ReferenceFingerprints, fingerprint_hash, read_reference
from headswapbench.protocol import shipped_protocol
from headswapbench.results import parse_results, protocol_id, read_results_bytes, results_key
from headswapbench.safeio import UnsafeFileError, one_line, read_text

RESULTS_NAME = "results.json"
MIN_PREFIX = 8  # dataset checksums (board ids carry 8 characters, tables 12)
MIN_VERIFIED_PREFIX = 16  # a trust list: 64 bits, out of reach of a brute-forced look-alike file
MAX_VERIFIED_BYTES = 1 << 20


@dataclass
class Loaded:
    """One valid results file and what sits beside it."""

    path: Path
    results: dict[str, Any]
    content_hash: str  # sha256 of the file's bytes
    verified: bool = False  # on the maintainers' list (never the file's own claim)
    checksum_pinned_by: str | None = None  # "--dataset-checksum" or "protocol <id>"; None = not pinned

    @property
    def split_key(self) -> tuple[str, str]:
        return self.results["dataset"]["name"], self.results["dataset"]["split"]

    @property
    def checksum(self) -> str:
        return self.results["dataset"]["checksum"]

    @property
    def protocol_id(self) -> str:
        return protocol_id(self.results)

    @property
    def created_at(self) -> str:
        return self.results["created_at"]


@dataclass
class Refused:
    path: str
    reason: str

    def __post_init__(self) -> None:  # both come from outside (file names, values): one printable line each
        self.path, self.reason = one_line(self.path), one_line(self.reason)

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class Collection:
    accepted: list[Loaded] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    reference: list[dict[str, Any]] = field(default_factory=list)  # the checksum chosen per split, and why
    verification: dict[str, Any] = field(default_factory=dict)  # the maintainers' list and what it matched


def discover(inputs: Iterable[str | Path]) -> tuple[list[Path], list[Refused]]:
    """Expand files and folders (recursively, ``results.json``) into a de-duplicated, ordered path list."""
    paths: list[Path] = []
    refused: list[Refused] = []
    seen: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = _walk(p)
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


def _walk(root: Path) -> list[Path]:
    """Every entry named results.json under ``root``, without entering symlinked folders (one could lead
    anywhere on this machine: a private run, the whole file system). Entries that are not regular files are
    kept, so they are refused with their reason instead of silently skipped."""
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        if RESULTS_NAME in files or RESULTS_NAME in dirs:
            found.append(Path(folder) / RESULTS_NAME)
    return sorted(found)


def load_all(paths: Sequence[Path]) -> tuple[list[Loaded], list[Refused]]:
    """Read and validate each file; a bad file is refused with its reason and never stops the others."""
    loaded, refused = [], []
    for p in paths:
        try:
            data = read_results_bytes(p)
            obj = parse_results(data, p)
        except InvalidResultsError as exc:
            refused.append(Refused(str(p), _strip_path(str(exc), p)))
            continue
        except Exception as exc:  # noqa: BLE001 - a validator bug on one hostile file must not stop the build
            refused.append(Refused(str(p), f"could not be validated ({type(exc).__name__}: {exc})"))
            continue
        loaded.append(Loaded(p, obj, hashlib.sha256(data).hexdigest()))
    return loaded, refused


def _strip_path(msg: str, path: Path) -> str:
    prefix = f"{path}: "
    return msg.removeprefix(prefix)


def resolve_prefixes(given: Sequence[str], known: Iterable[str], flag: str, min_chars: int = MIN_PREFIX) -> list[str]:
    """Each hash given in full or as a unique prefix of a ``known`` one, as the full value. A prefix matching
    nothing stays as given (it then matches no file); an ambiguous or too short one is refused by name."""
    values = sorted(set(known))
    out = []
    for raw in given:
        g = raw.strip().lower()
        if not re.fullmatch(r"[0-9a-f]+", g):
            raise HeadSwapBenchError(f"{flag} {one_line(raw)!r}: not a hexadecimal hash")
        if len(g) < min_chars:
            raise HeadSwapBenchError(f"{flag} {g}: too short, give at least {min_chars} characters of the hash")
        matches = [v for v in values if v.startswith(g)]
        if len(matches) > 1:
            raise HeadSwapBenchError(f"{flag} {g}: ambiguous prefix, matches {', '.join(m[:20] + '…' for m in matches)}"
                                     "; give more characters")
        out.append(matches[0] if matches else g)
    return out


def read_verified(path: str | Path) -> list[str]:
    """The maintainers' list of verified results: one content hash (or prefix) per line; ``#`` starts a
    comment and anything after the hash on a line is a note."""
    try:
        text = read_text(path, max_bytes=MAX_VERIFIED_BYTES)
    except UnsafeFileError as exc:
        raise HeadSwapBenchError(f"--verified {exc}") from None
    return [line.split("#", 1)[0].split()[0] for line in text.splitlines() if line.split("#", 1)[0].strip()]


def read_references(paths: Sequence[str | Path]) -> list[ReferenceFingerprints]:
    """The maintainer's reference files (``--reference``, repeatable)."""
    return [ref for p in paths for ref in read_reference(p)]


def references_for(protocol_ids: Iterable[str], given: Sequence[ReferenceFingerprints] = ()
                   ) -> dict[str, ReferenceFingerprints]:
    """Per protocol id on the boards, the reference its columns are ranked against: the maintainer's (every
    ``--reference`` for that id, merged; two that disagree on a key stop the build), else the one derived from
    the shipped protocol by the runner's own code, else none (a custom protocol or another version)."""
    from headswapbench.evaluation.reference import expected_fingerprints

    mine: dict[str, ReferenceFingerprints] = {}
    for ref in given:
        into = mine.setdefault(ref.protocol, ReferenceFingerprints(ref.protocol, {}, {}, ref.source))
        for key, fp in ref.fingerprints.items():
            if key in into.fingerprints and fingerprint_hash(into.fingerprints[key]) != fingerprint_hash(fp):
                raise HeadSwapBenchError(f"--reference: two files give different fingerprints for {one_line(key)} "
                                         f"under {one_line(ref.protocol)} ({into.source}; {ref.source})")
            into.fingerprints[key] = fp
        if ref.source not in into.source:
            into.source += f"; {ref.source}"
    out = {}
    for pid in sorted(set(protocol_ids)):
        if pid in mine:
            out[pid] = mine[pid]
        elif (proto := shipped_protocol(pid)) is not None:
            out[pid] = expected_fingerprints(proto)
    return out


def select(
    loaded: list[Loaded],
    dataset_checksums: Sequence[str] = (),
    verified: Sequence[str] | None = None,
) -> Collection:
    """Apply the reference dataset checksum (the maintainer's, else the protocol's, else one board per value),
    the verified list and the duplicate rule; keep input order among the accepted."""
    out = Collection()
    sums = resolve_prefixes(dataset_checksums, (i.checksum for i in loaded), "--dataset-checksum")
    if verified is not None:
        hashes = set(resolve_prefixes(verified, (i.content_hash for i in loaded), "--verified",
                                      MIN_VERIFIED_PREFIX))
        for i in loaded:
            i.verified = i.content_hash in hashes
        out.verification = {"rule": "--verified", "listed": len(hashes),
                            "matched": sum(i.verified for i in loaded)}
    else:
        out.verification = {"rule": "no --verified list: every result is self-reported", "listed": 0, "matched": 0}

    by_split: dict[tuple[str, str], list[Loaded]] = {}
    for item in loaded:
        by_split.setdefault(item.split_key, []).append(item)

    keep: set[int] = set()
    for split_key, items in by_split.items():
        ref: dict[str, Any] = {"dataset": split_key[0], "split": split_key[1], "files": len(items)}
        declared = {} if sums else _declared_checksums(split_key, items)
        if sums:
            ref["dataset_checksum"], ref["dataset_checksum_rule"] = sorted(set(sums)), "--dataset-checksum"
        elif declared:
            ref["dataset_checksum"] = sorted(set(declared.values()))
            ref["dataset_checksum_rule"] = ("declared by protocol " + ", ".join(sorted(declared))
                                            + "; other protocols: not pinned, one board per dataset checksum")
        else:
            ref["dataset_checksum"] = sorted({i.checksum for i in items})
            ref["dataset_checksum_rule"] = "not pinned: one board per dataset checksum"
        for i in items:
            want = sums or ([declared[i.protocol_id]] if i.protocol_id in declared else None)
            if want is None:
                keep.add(id(i))
            elif i.checksum in want:
                i.checksum_pinned_by = "--dataset-checksum" if sums else f"protocol {i.protocol_id}"
                keep.add(id(i))
            elif sums:
                out.refused.append(Refused(str(i.path), f"dataset checksum {i.checksum[:12]} is not the "
                                           f"maintainers' reference {_short(sums)} (--dataset-checksum)"))
            else:
                out.refused.append(Refused(str(i.path), f"dataset checksum {i.checksum[:12]} is not the one "
                                           f"protocol {i.protocol_id} declares for this split ({want[0][:12]})"))
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
                                       f"{m['name']} {m['version']} on the same split, dataset checksum and "
                                       f"protocol {item.protocol_id} (the first one given is kept)"))
            continue
        first_by_content[item.content_hash] = item
        first_by_key[key] = item
        out.accepted.append(item)
    return out


def _declared_checksums(split_key: tuple[str, str], items: list[Loaded]) -> dict[str, str]:
    """Protocol id → the dataset checksum its shipped file declares for this split (none declare one yet)."""
    out = {}
    for pid in {i.protocol_id for i in items}:
        proto = shipped_protocol(pid)
        ds = proto.dataset if proto is not None else {}
        if ds.get("checksum") and ds.get("name", split_key[0]) == split_key[0] \
                and ds.get("split", split_key[1]) == split_key[1]:
            out[pid] = ds["checksum"]
    return out


def _short(values: Iterable[str]) -> str:
    return ", ".join(sorted(v[:12] for v in values)) or "(none)"


def collect(inputs: Iterable[str | Path], dataset_checksums: Sequence[str] = (),
            verified: Sequence[str] | None = None) -> Collection:
    """discover → load/validate → reference checksum + verified list + duplicates. Refusals keep the order files
    were met."""
    paths, missing = discover(inputs)
    loaded, invalid = load_all(paths)
    result = select(loaded, dataset_checksums, verified)
    result.refused = missing + invalid + result.refused
    return result
