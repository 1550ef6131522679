"""Build the leaderboard site: collect → rank → render, written all at once.

The site is assembled in a temporary folder beside ``out`` and swapped into place at the end, so a failure
(or a kill) never leaves a half-written site; an existing folder is only replaced when it is a previous
leaderboard site (holds leaderboard.json), never an unrelated folder.

Nothing a submitter sends is copied onto the site: every page is rendered by the toolkit from validated
results (a ``report.html`` beside a results.json is ignored; see ``details`` for the per-result page).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headswapbench.errors import HeadSwapBenchError
from headswapbench.fileio import ensure_dir
from headswapbench.fingerprint import ReferenceFingerprints

from .collect import Collection, Loaded, collect, read_references, read_verified, references_for
from .details import render_details
from .rank import build_boards
from .render import render_csv, render_html, render_json, render_markdown

LEADERBOARD_VERSION = 1
SITE_FILES = ("leaderboard.json", "leaderboard.csv", "leaderboard.md", "index.html")


def build_document(col: Collection, title: str = "HeadSwapBench leaderboard", sort_by: str | None = None,
                   references: Sequence[ReferenceFingerprints] = ()) -> tuple[dict[str, Any], list[tuple[dict, Loaded]]]:
    """The leaderboard as one JSON-able dict (what leaderboard.json holds) + the row ↔ file pairing.
    ``references``: the maintainer's (``--reference``); protocols without one use the shipped protocol's."""
    from headswapbench import __version__

    refs = references_for((i.protocol_id for i in col.accepted), references)
    boards = build_boards(col.accepted, sort_by=sort_by, references=refs)
    if sort_by and boards and not any(b["primary_metric"] == sort_by for b in boards):
        ranked = sorted({m["name"] for b in boards for m in b["metrics"]
                         if m["higher_is_better"] is not None and m["not_ranked"] is None})
        raise HeadSwapBenchError(f"--sort-by {sort_by}: not a ranked metric of these results; choose one of {ranked}")
    by_path = {str(i.path): i for i in col.accepted}
    pairs = [(r, by_path[r["source_file"]]) for b in boards for r in b["rows"]]
    doc = {
        "leaderboard_version": LEADERBOARD_VERSION,
        "title": title,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "toolkit_version": __version__,
        "reference": col.reference,
        "fingerprint_references": {pid: {"source": r.source,
                                         "fingerprints": {k: {"fingerprint_hash": r.hash(k), "fingerprint": fp}
                                                          for k, fp in r.fingerprints.items()},
                                         "unknown": r.unknown} for pid, r in refs.items()},
        "verification": col.verification,
        "boards": boards,
        "refused": [r.to_dict() for r in col.refused],
    }
    return doc, pairs


def write_site(doc: dict[str, Any], pairs: list[tuple[dict, Loaded]], out: str | Path) -> Path:
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "leaderboard.json").exists())):
        raise HeadSwapBenchError(f"{out}: exists and is not a leaderboard site (no leaderboard.json); "
                                 "choose an empty or new folder")
    ensure_dir(out.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise HeadSwapBenchError(f"{out}: cannot write the site here ({exc.strerror or exc})") from None
    try:
        board_of = {id(r): b for b in doc["boards"] for r in b["rows"]}
        for row, item in pairs:
            page = tmp / row["details"]
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(render_details(doc, board_of[id(row)], row, item.results), encoding="utf-8")
        (tmp / "leaderboard.json").write_text(render_json(doc), encoding="utf-8")
        (tmp / "leaderboard.csv").write_text(render_csv(doc), encoding="utf-8", newline="")
        (tmp / "leaderboard.md").write_text(render_markdown(doc), encoding="utf-8")
        (tmp / "index.html").write_text(render_html(doc), encoding="utf-8")
        os.chmod(tmp, 0o755)
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def build_site(inputs: Iterable[str | Path], out: str | Path, *, dataset_checksums: Sequence[str] = (),
               references: Sequence[str | Path | ReferenceFingerprints] = (),
               verified: str | Path | Sequence[str] | None = None,
               sort_by: str | None = None, title: str = "HeadSwapBench leaderboard",
               strict: bool = False) -> dict[str, Any]:
    """Collect, validate, rank and write the site. ``verified``: the maintainers' list (a file, or the hashes
    themselves); ``references``: the maintainer's reference fingerprints (files written by ``protocols
    fingerprints``, results files they vouch for, or ``ReferenceFingerprints``). Raises when nothing can be
    ranked (or, with ``strict``, when anything was refused); returns the leaderboard document."""
    if isinstance(verified, (str, Path)):
        verified = read_verified(verified)
    refs = [r for r in references if isinstance(r, ReferenceFingerprints)]
    refs += read_references([r for r in references if not isinstance(r, ReferenceFingerprints)])
    col = collect(inputs, dataset_checksums, verified)
    reasons = "\n".join(f"  {r.path}: {r.reason}" for r in col.refused)
    if not col.accepted:
        raise HeadSwapBenchError("no results could be ranked" + (f":\n{reasons}" if reasons else " (no input)"))
    if strict and col.refused:
        raise HeadSwapBenchError(f"{len(col.refused)} file(s) refused (--strict):\n{reasons}")
    doc, pairs = build_document(col, title=title, sort_by=sort_by, references=refs)
    write_site(doc, pairs, out)
    return doc
