"""Turn accepted results into boards: one table per (dataset, split, dataset checksum, settings hash).

Ranking per metric uses the direction stored in the results (``higher_is_better``; null = diagnostic, shown
but never ranked). Three numbers per cell:
- ``rank``: position by mean (equal means share a rank);
- ``ci_rank``: 1 + the number of methods whose 95 % interval lies entirely on the better side of this one's
  (the "statistically distinguishable" rank used by LMSYS-style boards; a missing interval counts as the
  mean alone);
- ``tied_with_best``: not the best, but its interval overlaps the best's, so the data cannot separate them.

Counts use sorted lists and bisection (n log n), so 300 methods x 20 metrics rank in milliseconds. A metric
whose files disagree on its direction is shown but not ranked (no file's claim wins over another's).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Collection as AbstractSet
from typing import Any

from headswapbench.results import settings_labels

from .collect import Loaded

MAX_SLUG = 80  # file names stay far below the 255-byte limit


def slugify(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:MAX_SLUG].strip("-.") or "x"


def _interval(cell: dict[str, Any]) -> tuple[float, float]:
    ci = cell.get("ci95")
    return (ci[0], ci[1]) if ci else (cell["mean"], cell["mean"])


def rank_metric(cells: list[dict[str, Any] | None], higher_is_better: bool) -> list[dict[str, Any]]:
    """Rank annotations for one metric across rows (None or unavailable cells get none)."""
    sign = 1.0 if higher_is_better else -1.0
    live = [i for i, c in enumerate(cells) if c and c.get("available")]
    out: list[dict[str, Any]] = [{} for _ in cells]
    if not live:
        return out
    scores = {i: sign * cells[i]["mean"] for i in live}
    best_score = max(scores.values())
    best = [i for i in live if scores[i] == best_score]
    # "better side" in score space: for lower-is-better, score = -value, so the interval flips
    iv = {i: sorted((sign * a, sign * b)) for i, (a, b) in ((i, _interval(cells[i])) for i in live)}
    best_lo = min(iv[i][0] for i in best)
    best_hi = max(iv[i][1] for i in best)
    sorted_scores = sorted(scores.values())
    sorted_lows = sorted(lo for lo, _ in iv.values())
    for i in live:
        rank = 1 + len(live) - bisect_right(sorted_scores, scores[i])  # methods with a strictly better mean
        ci_rank = 1 + len(live) - bisect_right(sorted_lows, iv[i][1])  # intervals entirely on the better side
        is_best = i in best
        overlaps = iv[i][1] >= best_lo and iv[i][0] <= best_hi
        out[i] = {"rank": rank, "ci_rank": ci_rank, "best": is_best, "tied_with_best": (not is_best) and overlaps}
    return out


def build_boards(accepted: list[Loaded], sort_by: str | None = None,
                 pinned: AbstractSet[str] = frozenset()) -> list[dict[str, Any]]:
    """Group accepted results into boards and annotate every metric cell with its ranks. ``pinned`` names the
    references the maintainer chose ("dataset_checksum", "settings_hash"); a split with several boards on an
    unpinned value says so on each of them."""
    groups: dict[tuple[str, str, str, str], list[Loaded]] = {}
    for item in accepted:
        ds = item.results["dataset"]
        groups.setdefault((ds["name"], ds["split"], ds["checksum"], item.settings_hash), []).append(item)
    per_split: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name, split, checksum, shash in groups:
        per_split.setdefault((name, split), []).append((checksum, shash))

    boards = []
    ids: Counter[str] = Counter()
    for (name, split, checksum, shash), items in groups.items():
        metrics, conflicts = _metric_columns(items)
        rows = [_row(item) for item in items]
        _unique_slugs(rows)
        for m in metrics:
            if m["higher_is_better"] is None:
                continue
            cells = [r["metrics"].get(m["name"]) for r in rows]
            for cell, ann in zip(cells, rank_metric(cells, m["higher_is_better"])):
                if cell is not None:
                    cell.update(ann)
        primary = _primary(metrics, rows, sort_by)
        if primary:
            rows.sort(key=lambda r: (r["metrics"].get(primary, {}).get("rank", 10**9), r["method"]["name"]))
        first = items[0].results
        num_clips = Counter(i.results["dataset"]["num_clips"] for i in items).most_common(1)[0][0]
        board_id = slugify(f"{name[:40]}-{split[:20]}-{checksum[:8]}-{shash[:8]}")
        ids[board_id.lower()] += 1  # look-alike names or hash prefixes must not share pages or anchors
        if ids[board_id.lower()] > 1:
            board_id = f"{board_id}-{ids[board_id.lower()]}"
        for r in rows:
            r["details"] = f"details/{board_id}/{r['slug']}.html"
        siblings = per_split[(name, split)]
        labels = settings_labels(first["settings"])
        for key, what, flag, value in (("dataset_checksum", "dataset checksums", "--dataset-checksum", 0),
                                       ("settings_hash", "settings hashes", "--settings-hash", 1)):
            distinct = {s[value] for s in siblings}
            if key not in pinned and len(distinct) > 1:
                labels.append(f"not pinned: split '{split}' has results on {len(distinct)} {what}, each on its own "
                              f"board; the maintainer has not chosen the reference ({flag})")
        labels += [f"not ranked: {m}: {why}" for m, why in conflicts.items()]
        boards.append({
            "id": board_id,
            "dataset": {"name": name, "split": split, "checksum": checksum, "num_clips": num_clips,
                        "revisions": sorted({i.results["dataset"].get("revision") or "local" for i in items})},
            "settings_hash": shash,
            "pinned": {"dataset_checksum": "dataset_checksum" in pinned, "settings_hash": "settings_hash" in pinned},
            "settings": first["settings"],
            "labels": labels,
            "primary_metric": primary,
            "metrics": metrics,
            "rows": rows,
        })
    return boards


def _metric_columns(items: list[Loaded]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Union of metric names in first-seen order; unit/description from the first file that states them.
    A metric whose files disagree on its direction becomes a diagnostic (shown, not ranked): returned with why."""
    cols: dict[str, dict[str, Any]] = {}
    directions: dict[str, set] = {}
    for item in items:
        for name, e in item.results["metrics"].items():
            col = cols.setdefault(name, {"name": name, "label": e.get("label") or name,
                                         "higher_is_better": e.get("higher_is_better"),
                                         "unit": e.get("unit"), "description": e.get("description")})
            directions.setdefault(name, set()).add(e.get("higher_is_better"))
            for k in ("unit", "description"):
                if col[k] is None and e.get(k):
                    col[k] = e[k]
    conflicts = {}
    for name, seen in directions.items():
        if len(seen) > 1:
            cols[name]["higher_is_better"] = None
            words = sorted({True: "higher is better", False: "lower is better", None: "diagnostic"}[d] for d in seen)
            conflicts[name] = f"the results disagree on its direction ({', '.join(words)})"
    return list(cols.values()), conflicts


def _primary(metrics: list[dict[str, Any]], rows: list[dict[str, Any]], sort_by: str | None) -> str | None:
    ranked = [m["name"] for m in metrics if m["higher_is_better"] is not None]
    if sort_by and sort_by in ranked:
        return sort_by
    if not ranked:
        return None
    # the first ranked metric (evaluation lists the headline one first) among those most rows could compute
    avail = {n: sum(1 for r in rows if r["metrics"].get(n, {}).get("available")) for n in ranked}
    top = max(avail.values())
    return next(n for n in ranked if avail[n] == top)


def _row(item: Loaded) -> dict[str, Any]:
    r = item.results
    cov = r["coverage"]
    labels = []
    if cov["scored"] < r["dataset"]["num_clips"]:
        labels.append(f"partial: {cov['scored']} of {r['dataset']['num_clips']} clips scored")
    claim = r["provenance"].get("verified") is True
    return {
        "method": r["method"],
        "slug": slugify(f"{r['method']['name']}-{r['method']['version']}"),
        "toolkit_version": r["toolkit_version"],
        "created_at": r["created_at"],
        "dataset_revision": r["dataset"].get("revision"),
        # verified = on the maintainers' list; what the file says about itself is only a claim
        "verified": item.verified,
        "provenance": {**{k: v for k, v in r["provenance"].items() if k != "verified"}, "claimed_verified": claim},
        "content_hash": item.content_hash,
        "coverage": cov,
        "environment": r.get("environment") or {},
        "labels": labels,
        "details": None,  # the detail page the site writes for this row (set per board)
        "source_file": str(item.path),
        "metrics": {k: {kk: vv for kk, vv in v.items() if kk in
                        ("mean", "ci95", "n", "available", "reason", "unit")}
                    for k, v in r["metrics"].items()},
    }


def _unique_slugs(rows: list[dict[str, Any]]) -> None:
    """Slugs name files: unique within a board even on case-insensitive file systems."""
    seen: Counter[str] = Counter()
    for r in rows:
        key = r["slug"].lower()
        seen[key] += 1
        if seen[key] > 1:
            r["slug"] = f"{r['slug']}-{seen[key]}"
            seen[r["slug"].lower()] += 1
