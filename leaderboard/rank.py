"""Turn accepted results into boards: one table per (dataset, split, dataset checksum, settings hash).

Ranking per metric uses the direction stored in the results (``higher_is_better``; null = diagnostic, shown
but never ranked). Three numbers per cell:
- ``rank``: position by mean (equal means share a rank);
- ``ci_rank``: 1 + the number of methods whose 95 % interval lies entirely on the better side of this one's
  (the "statistically distinguishable" rank used by LMSYS-style boards; a missing interval counts as the
  mean alone);
- ``tied_with_best``: not the best, but its interval overlaps the best's, so the data cannot separate them.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from headswapbench.results import settings_labels

from .collect import Loaded


def slugify(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


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
    for i in live:
        rank = 1 + sum(1 for j in live if scores[j] > scores[i])
        ci_rank = 1 + sum(1 for j in live if iv[j][0] > iv[i][1])
        is_best = i in best
        overlaps = iv[i][1] >= best_lo and iv[i][0] <= best_hi
        out[i] = {"rank": rank, "ci_rank": ci_rank, "best": is_best, "tied_with_best": (not is_best) and overlaps}
    return out


def build_boards(accepted: list[Loaded], sort_by: str | None = None) -> list[dict[str, Any]]:
    """Group accepted results into boards and annotate every metric cell with its ranks."""
    groups: dict[tuple[str, str, str, str], list[Loaded]] = {}
    for item in accepted:
        ds = item.results["dataset"]
        groups.setdefault((ds["name"], ds["split"], ds["checksum"], item.settings_hash), []).append(item)

    boards = []
    for (name, split, checksum, shash), items in groups.items():
        metrics = _metric_columns(items)
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
        boards.append({
            "id": slugify(f"{name}-{split}-{checksum[:8]}-{shash[:8]}"),
            "dataset": {"name": name, "split": split, "checksum": checksum, "num_clips": num_clips,
                        "revisions": sorted({i.results["dataset"].get("revision") or "local" for i in items})},
            "settings_hash": shash,
            "settings": first["settings"],
            "labels": settings_labels(first["settings"]),
            "primary_metric": primary,
            "metrics": metrics,
            "rows": rows,
        })
    return boards


def _metric_columns(items: list[Loaded]) -> list[dict[str, Any]]:
    """Union of metric names in first-seen order; direction/unit from the first file that states them."""
    cols: dict[str, dict[str, Any]] = {}
    for item in items:
        for name, e in item.results["metrics"].items():
            col = cols.setdefault(name, {"name": name, "label": e.get("label") or name,
                                         "higher_is_better": e.get("higher_is_better"),
                                         "unit": e.get("unit"), "description": e.get("description")})
            for k in ("unit", "description"):
                if col[k] is None and e.get(k):
                    col[k] = e[k]
    return list(cols.values())


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
    return {
        "method": r["method"],
        "slug": slugify(f"{r['method']['name']}-{r['method']['version']}"),
        "toolkit_version": r["toolkit_version"],
        "created_at": r["created_at"],
        "dataset_revision": r["dataset"].get("revision"),
        "provenance": r["provenance"],
        "coverage": cov,
        "environment": r.get("environment") or {},
        "labels": labels,
        "report": None,  # filled by the site writer when a report.html was copied
        "source_file": str(item.path),
        "metrics": {k: {kk: vv for kk, vv in v.items() if kk in
                        ("mean", "ci95", "n", "available", "reason", "unit")}
                    for k, v in r["metrics"].items()},
    }


def _unique_slugs(rows: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for r in rows:
        seen[r["slug"]] += 1
        if seen[r["slug"]] > 1:
            r["slug"] = f"{r['slug']}-{seen[r['slug']]}"
