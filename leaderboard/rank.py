"""Turn accepted results into boards and rank them column by column.

A board is one (dataset, split, dataset checksum, protocol id). Each column (result key) is ranked only among
the results whose fingerprint for that key equals the protocol's **reference** (``ReferenceFingerprints``:
derived from the shipped protocol, or the maintainer's ``--reference`` file; never decided by the files on
the board). A cell that differs is shown but *left off* that column with what differs
(``fingerprint_difference``: "identity backend dlib vs adaface", "smoke model", ...); a result missing a key
(a ``--metrics psnr,ssim`` run, a run from before a metric existed) simply has no cell there and ranks on
the others. A column without a reference (a custom protocol, a key the protocol does not score, a model file
the maintainer's machine lacks) is shown but not ranked, with the reason. A smoke model is left off every
column.

Ranking per metric uses the direction stored in the results (``higher_is_better``; null = diagnostic, shown
but never ranked). Three numbers per ranked cell:
- ``rank``: position by mean (equal means share a rank);
- ``ci_rank``: 1 + the number of methods whose 95 % interval lies entirely on the better side of this one's
  (the "statistically distinguishable" rank used by LMSYS-style boards; a missing interval counts as the
  mean alone);
- ``tied_with_best``: not the best, but its interval overlaps the best's, so the data cannot separate them.

Counts use sorted lists and bisection (n log n), so 300 methods x 20 metrics rank in milliseconds. A metric
whose files disagree on its direction is shown but not ranked (no file's claim wins over another's).

Numbers published in the literature under a board's protocol on its split (``protocol.published_results``)
ride along as ``published`` rows: shown apart, never ranked.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping
from typing import Any

from headswapbench.fingerprint import ReferenceFingerprints, fingerprint_difference, unpinned_weights
from headswapbench.protocol import ProtocolError, published_results, shipped_protocol
from headswapbench.results import settings_labels

from .collect import Loaded

MAX_SLUG = 80  # file names stay far below the 255-byte limit
FEW_SUBJECTS = 10  # below this a subject bootstrap has little to resample (the evaluation warns too)
SMOKE = "smoke model"
CELL_FIELDS = ("mean", "ci95", "n", "n_subjects", "available", "reason", "unit", "fingerprint_hash")


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


def is_smoke(results: Mapping[str, Any]) -> bool:
    """Tiny or untrained models: said by the settings, the method, or a metric's fingerprint."""
    if results["settings"].get("smoke") is True or results["method"].get("smoke") is True:
        return True
    return any(isinstance(e.get("fingerprint"), dict) and (e["fingerprint"].get("settings") or {}).get("smoke")
               for e in results["metrics"].values())


def build_boards(accepted: list[Loaded], sort_by: str | None = None,
                 references: Mapping[str, ReferenceFingerprints] | None = None) -> list[dict[str, Any]]:
    """Group accepted results into boards and annotate every metric cell: ranked (with its ranks) or left off
    (with what differs from the reference). ``references``: protocol id → its reference; a protocol without
    one has no ranked column."""
    references = references or {}
    groups: dict[tuple[str, str, str, str], list[Loaded]] = {}
    for item in accepted:
        ds = item.results["dataset"]
        groups.setdefault((ds["name"], ds["split"], ds["checksum"], item.protocol_id), []).append(item)
    per_split: dict[tuple[str, str, str], set[str]] = {}
    for name, split, checksum, pid in groups:
        per_split.setdefault((name, split, pid), set()).add(checksum)

    boards = []
    ids: Counter[str] = Counter()
    for (name, split, checksum, pid), items in groups.items():
        ref = references.get(pid)
        ref_hashes = {k: ref.hash(k) for k in ref.fingerprints} if ref is not None else {}
        smoke = [is_smoke(i.results) for i in items]
        metrics, conflicts = _metric_columns(items)
        rows = [_row(item) for item in items]
        _unique_slugs(rows)
        left_off = []
        for m in metrics:
            m["reference"], m["not_ranked"] = _column_reference(m["name"], pid, ref)
            if m["name"] in conflicts:
                m["not_ranked"] = conflicts[m["name"]]
            rankable = m["not_ranked"] is None and m["higher_is_better"] is not None
            cells = []
            for r, item, is_smoked in zip(rows, items, smoke):
                cell = r["metrics"].get(m["name"])
                if cell is None or not cell.get("available"):
                    cells.append(None)
                    continue
                why = SMOKE if is_smoked else _left_off_reason(m["name"], item.results["metrics"][m["name"]], ref,
                                                               ref_hashes.get(m["name"]))
                if why:
                    cell["left_off"] = why
                    if rankable:
                        left_off.append({"method": r["method"]["name"], "version": r["method"]["version"],
                                         "slug": r["slug"], "metric": m["name"], "reason": why})
                cell["ranked"] = rankable and not why
                cells.append(cell if cell["ranked"] else None)
            m["ranked_rows"] = sum(c is not None for c in cells)
            if rankable:
                for cell, ann in zip(cells, rank_metric(cells, m["higher_is_better"])):
                    if cell is not None:
                        cell.update(ann)
        shipped = shipped_protocol(pid)
        primary = _primary(metrics, sort_by, shipped.headline if shipped is not None else None)
        if primary:
            rows.sort(key=lambda r: (r["metrics"].get(primary, {}).get("rank", 10**9), r["method"]["name"],
                                     r["method"]["version"]))
        num_clips = Counter(i.results["dataset"]["num_clips"] for i in items).most_common(1)[0][0]
        board_id = slugify(f"{name[:40]}-{split[:20]}-{checksum[:8]}-{pid[:30]}")
        ids[board_id.lower()] += 1  # look-alike names or hash prefixes must not share pages or anchors
        if ids[board_id.lower()] > 1:
            board_id = f"{board_id}-{ids[board_id.lower()]}"
        for r in rows:
            r["details"] = f"details/{board_id}/{r['slug']}.html"
        labels = _shared_row_labels(rows)
        pinned_by = items[0].checksum_pinned_by
        siblings = per_split[(name, split, pid)]
        if pinned_by is None and len(siblings) > 1:
            labels.append(f"not pinned: split '{split}' has results under {pid} on {len(siblings)} dataset "
                          "checksums, each on its own board; the maintainer has not chosen the reference "
                          "(--dataset-checksum)")
        subjects = _subjects(items)
        if subjects is not None and subjects < FEW_SUBJECTS:
            labels.append(f"few subjects: this split has {subjects} subject{'s' if subjects != 1 else ''}; 95 % "
                          f"intervals from a subject bootstrap over fewer than {FEW_SUBJECTS} subjects are unreliable")
        labels += [f"not ranked: {m}: {why}" for m, why in conflicts.items()]
        published = _published(name, split, pid)
        boards.append({
            "id": board_id,
            "dataset": {"name": name, "split": split, "checksum": checksum, "num_clips": num_clips,
                        "num_subjects": subjects,
                        "revisions": sorted({i.results["dataset"].get("revision") or "local" for i in items})},
            "protocol": _protocol_info(pid, items),
            "reference_source": ref.source if ref is not None else None,
            "pinned": {"dataset_checksum": pinned_by is not None, "dataset_checksum_by": pinned_by},
            "intervals": _intervals(items),
            "labels": labels,
            "primary_metric": primary,
            "metrics": metrics,
            "rows": rows,
            "left_off": left_off,
            "published": published,
        })
    return boards


def _column_reference(key: str, pid: str, ref: ReferenceFingerprints | None) -> tuple[dict | None, str | None]:
    """The column's reference fingerprint (hash and who decided), or why the column has none."""
    if ref is None:
        shipped = shipped_protocol(pid) is not None
        return None, (f"no reference fingerprint for protocol {pid}: "
                      + ("it could not be derived here" if shipped else
                         "it is not a protocol this toolkit ships (a custom file or another version); "
                         "pass the maintainer's --reference FILE"))
    if key in ref.fingerprints:
        return {"fingerprint_hash": ref.hash(key), "source": ref.source}, None
    if key in ref.unknown:
        return None, f"no reference fingerprint: {ref.unknown[key]}"
    return None, f"no reference fingerprint: {key} is not a metric of protocol {pid} ({ref.source})"


def _left_off_reason(key: str, entry: dict[str, Any], ref: ReferenceFingerprints | None, ref_hash: str | None) -> str | None:
    """Why an available cell of a result that is not a smoke model is not ranked on its column (None = it is
    comparable). ``ref_hash``: the hash of the column's reference fingerprint, None when there is none."""
    fp = entry.get("fingerprint")
    if fp is None:
        return "no fingerprint (results made before schema 2)"
    if ref is None or ref_hash is None:
        return None  # the column itself is not ranked, and says why
    if entry.get("fingerprint_hash") == ref_hash:  # validated on load: the hash of this very fingerprint
        return None
    return fingerprint_difference(fp, ref.fingerprints[key]) or \
        "fingerprint differs from the reference"


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


def _primary(metrics: list[dict[str, Any]], sort_by: str | None, headline: str | None) -> str | None:
    """``--sort-by``, else the shipped protocol's headline metric when its column ranks anyone, else the first
    ranked column (evaluation lists the headline one first) among those most rows rank on."""
    ranked = [m for m in metrics if m["higher_is_better"] is not None and m["not_ranked"] is None]
    if sort_by and sort_by in {m["name"] for m in ranked}:
        return sort_by
    if not ranked:
        return None
    if any(m["name"] == headline and m["ranked_rows"] for m in ranked):
        return headline
    # the first ranked metric (evaluation lists the headline one first) among those most rows rank on
    top = max(m["ranked_rows"] for m in ranked)
    return next(m["name"] for m in ranked if m["ranked_rows"] == top) if top else None


def _row(item: Loaded) -> dict[str, Any]:
    r = item.results
    smoke = is_smoke(r)
    cov = r["coverage"]
    labels = settings_labels(r["settings"])
    if smoke and not any(x.startswith("smoke test") for x in labels):
        labels.insert(0, "smoke test: tiny/untrained models, numbers are not comparable to real ones")
    if cov["scored"] < r["dataset"]["num_clips"]:
        labels.append(f"partial: {cov['scored']} of {r['dataset']['num_clips']} clips scored")
    unpinned = sorted({w for e in r["metrics"].values() if e.get("available")
                       for w in unpinned_weights(e.get("fingerprint"))})
    if unpinned:  # said once per row; each cell below says its own files
        labels.append(f"unpinned weights: {', '.join(unpinned)} (not the sha256 any protocol or the weights table "
                      "pins; the numbers may come from other model files)")
    claim = r["provenance"].get("verified") is True
    metrics = {}
    for k, v in r["metrics"].items():
        cell = {kk: vv for kk, vv in v.items() if kk in CELL_FIELDS}
        flagged = unpinned_weights(v.get("fingerprint")) if v.get("available") else []
        if flagged:
            cell["unpinned"] = flagged
        metrics[k] = cell
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
        "settings_hash": r["settings_hash"],
        "smoke": smoke,
        "overrides": list((r.get("protocol") or {}).get("overrides") or []),
        "replicates": (r.get("protocol") or {}).get("replicates"),
        "coverage": cov,
        "environment": r.get("environment") or {},
        "labels": labels,
        "unpinned_weights": unpinned,
        "details": None,  # the detail page the site writes for this row (set per board)
        "source_file": str(item.path),
        "metrics": metrics,
    }


def _shared_row_labels(rows: list[dict[str, Any]]) -> list[str]:
    """Labels every row of the board carries are said once, on the board; the rest stay on their rows."""
    shared = [x for x in rows[0]["labels"] if all(x in r["labels"] for r in rows[1:])] if rows else []
    for r in rows:
        r["labels"] = [x for x in r["labels"] if x not in shared]
    return shared


def _subjects(items: list[Loaded]) -> int | None:
    """How many subjects the split has: the dataset's count, else the largest count a metric interval used."""
    counts = [i.results["dataset"].get("num_subjects") for i in items]
    counts = [c for c in counts if isinstance(c, int)]
    if not counts:
        counts = [e["n_subjects"] for i in items for e in i.results["metrics"].values()
                  if isinstance(e.get("n_subjects"), int) and e.get("available")]
    return max(counts) if counts else None


def _intervals(items: list[Loaded]) -> dict[str, Any]:
    """How the intervals on the board were made: level and bootstrap replicates, as the files record them."""
    protos = [i.results.get("protocol") or {} for i in items]
    reps = sorted({p["replicates"] for p in protos if isinstance(p.get("replicates"), int)})
    levels = sorted({p["level"] for p in protos if isinstance(p.get("level"), (int, float))})
    return {"kind": "subject-level cluster bootstrap", "replicates": reps, "levels": levels,
            "unrecorded": sum(1 for p in protos if not isinstance(p.get("replicates"), int))}


def _protocol_info(pid: str, items: list[Loaded]) -> dict[str, Any]:
    shipped = shipped_protocol(pid)
    block = items[0].results.get("protocol") or {}
    return {"id": pid, "shipped": shipped is not None,
            "official": shipped.is_official if shipped is not None else False,
            "title": shipped.title if shipped is not None else str(block.get("label") or pid)}


def _published(name: str, split: str, pid: str) -> list[dict[str, Any]]:
    """Numbers reported in the literature under this board's protocol on this split (quoted, never ranked)."""
    proto = shipped_protocol(pid)
    if proto is None:
        return []
    try:
        rows = published_results(proto.name)
    except ProtocolError:
        return []
    return [{"method": r.method, "role": r.role, "label": r.label, "source": dict(r.source),
             "metrics": dict(r.metrics), "not_implemented": dict(r.not_implemented)}
            for r in rows if (r.dataset, r.split, r.protocol_id) == (name, split, pid)]


def _unique_slugs(rows: list[dict[str, Any]]) -> None:
    """Slugs name files: unique within a board even on case-insensitive file systems."""
    seen: Counter[str] = Counter()
    for r in rows:
        key = r["slug"].lower()
        seen[key] += 1
        if seen[key] > 1:
            r["slug"] = f"{r['slug']}-{seen[key]}"
            seen[r["slug"].lower()] += 1
