"""`headswapbench report DIR`: one self-contained HTML page for an evaluation run.

The page shows the protocol the run was scored under, the metric table (mean, 95 % CI with n and the number
of subjects it resamples, direction, definition), a side-by-side grid (driving | reference | output | target)
of the best and worst clips by the primary metric (default: the protocol's headline), so a reader sees *what*
a number means, and every clip's values in a table sortable by any column, linked to ``per_clip.csv``.

Media are embedded as base64 data URIs by default, so the single file opens from disk, mails and archives
without breaking; ``embed=False`` copies them into ``<name>_files/`` beside the page with relative links
instead (for large grids). A run folder is read as untrusted (``headswapbench.safeio``): a symlink or any
non-regular file is never embedded or copied (shown as missing), and the per-clip file named in results.json
must sit in the run folder itself. Videos are the toolkit's H.264 mp4 files, which browsers play. The page has no
script and no external resource: the per-clip table sorts with CSS alone (a radio button per column and
direction selects a precomputed ``order`` for every row).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import os
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from ..errors import HeadSwapBenchError
from ..safeio import UnsafeFileError, read_bytes, read_json, read_text

PRIMARY_PREFERENCE = ("identity_cosine_target", "identity_cosine_ref", "lpips", "keypoint_nme", "ssim", "psnr")
MIME = {".mp4": "video/mp4", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
MAX_MEDIA_BYTES = 256 * 1024 * 1024
MAX_TABLE_BYTES = 64 * 1024 * 1024


def _load_run(run_dir: Path) -> tuple[dict, list[dict], dict]:
    from ..results import load_results

    res_path = run_dir / "results.json"
    if not res_path.is_file():
        raise HeadSwapBenchError(f"{run_dir}: no results.json (run `headswapbench evaluate ... --out {run_dir}` first)")
    results = load_results(res_path)
    rows: list[dict] = []
    name = results.get("per_clip_file") or "per_clip.csv"
    if not isinstance(name, str) or Path(name).name != name:
        raise HeadSwapBenchError(f"{res_path}: per_clip_file {name!r} must be a file name inside the run folder")
    pc = run_dir / name
    try:
        if pc.is_file() or pc.is_symlink():
            rows = list(csv.DictReader(io.StringIO(read_text(pc, max_bytes=MAX_TABLE_BYTES), newline="")))
        elif results.get("per_clip"):
            rows = [dict(r, status="done") for r in results["per_clip"]]
        run_file = run_dir / "run.json"
        run = read_json(run_file) if run_file.is_file() or run_file.is_symlink() else {}
    except UnsafeFileError as exc:
        raise HeadSwapBenchError(str(exc)) from None
    return results, rows, run if isinstance(run, dict) else {}


def _value(row: dict, key: str) -> float:
    try:
        v = float(row.get(key))
    except (TypeError, ValueError):
        return math.nan
    return v


def choose_primary(results: dict, rows: list[dict], primary: str | None = None) -> str | None:
    """The metric that ranks clips: the one asked for, else the protocol's headline, else the first preferred
    metric with values."""
    metrics = results["metrics"]
    if primary:
        if primary not in metrics:
            raise HeadSwapBenchError(f"--primary {primary}: not a metric of this run ({', '.join(metrics)})")
        if metrics[primary].get("higher_is_better") is None:
            raise HeadSwapBenchError(f"--primary {primary}: a diagnostic without a direction cannot rank clips")
        return primary
    headline = (results.get("protocol") or {}).get("headline")
    candidates = [headline] if headline else []
    candidates += [k for k in (*PRIMARY_PREFERENCE, *metrics) if k not in candidates]
    for k in candidates:
        e = metrics.get(k)
        if e and e.get("available", True) and e.get("higher_is_better") is not None and \
                any(math.isfinite(_value(r, k)) for r in rows):
            return k
    return None


def best_and_worst(rows: list[dict], key: str, higher_is_better: bool, k: int) -> tuple[list[dict], list[dict]]:
    scored = [r for r in rows if r.get("status", "done") == "done" and math.isfinite(_value(r, key))]
    scored.sort(key=lambda r: (_value(r, key), r["clip_id"]), reverse=higher_is_better)
    best = scored[:k]
    worst = [r for r in reversed(scored[-k:]) if r not in best] if scored else []
    return best, worst


class _Media:
    """Turns a file into a src attribute: a data URI, or a copy beside the page with a relative link."""

    def __init__(self, page: Path, embed: bool):
        self.embed = embed
        self.page = page
        self.folder = page.parent / f"{page.stem}_files"
        self.copied = 0

    def src(self, path: Path | None, name: str) -> str | None:
        """None for a missing file, a symlink (it could point at any file of this machine), a non-regular
        file or a file that is not an image/video by its suffix: nothing but the clip itself is ever shown."""
        if path is None or Path(path).suffix.lower() not in MIME:
            return None
        path = Path(path)
        try:
            data = read_bytes(path, max_bytes=MAX_MEDIA_BYTES)
        except UnsafeFileError:
            return None
        if self.embed:
            return f"data:{MIME[path.suffix.lower()]};base64,{base64.b64encode(data).decode('ascii')}"
        self.folder.mkdir(parents=True, exist_ok=True)
        dest = self.folder / f"{name}{path.suffix.lower()}"
        dest.write_bytes(data)
        self.copied += 1
        return f"{self.folder.name}/{dest.name}"


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def metric_table(results: dict) -> str:
    headline = (results.get("protocol") or {}).get("headline")
    out = [('<table class="metrics"><thead><tr><th>metric</th><th></th><th>mean</th><th>95% CI</th><th>n</th>'
            '<th>subjects</th><th>unit</th><th>definition</th><th>note</th></tr></thead><tbody>')]
    for name, e in results["metrics"].items():
        hib = e.get("higher_is_better")
        arrow = "&uarr;" if hib else ("&darr;" if hib is False else "&middot;")
        avail = e.get("available", e.get("mean") is not None)
        ci = e.get("ci95")
        ci_s = f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""
        note = "" if avail else (f"unavailable ({html.escape(str(e.get('code', '')))}): "
                                 + html.escape(str(e.get("reason", "")).splitlines()[0][:160]))
        if avail and not ci:
            note = "set level: no interval"
        label = html.escape(name) + (' <span class="headline" title="headline metric">&#9733;</span>'
                                     if name == headline else "")
        fp = e.get("fingerprint_hash")
        definition = html.escape(str(e.get("description", ""))) + (
            f' <span class="fp" title="fingerprint {html.escape(fp)}">v{html.escape(str(e.get("version", "?")))}'
            f' &middot; {html.escape(fp[:8])}</span>' if fp else "")
        out.append(f'<tr class="{"" if avail else "unavailable"}"><td>{label}</td><td>{arrow}</td>'
                   f'<td class="num">{_fmt(e.get("mean"))}</td><td class="num">{ci_s}</td>'
                   f'<td class="num">{_fmt(e.get("n"))}</td><td class="num">{_fmt(e.get("n_subjects"))}</td>'
                   f'<td>{_fmt(e.get("unit"))}</td><td class="def">{definition}</td><td>{note}</td></tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def _sort_ranks(rows: list[dict], col: str, numeric: bool) -> tuple[list[int], list[int]]:
    """Per row, its position when sorted ascending and descending by ``col`` (empty values last both ways)."""
    def val(r: dict):
        return _value(r, col) if numeric else str(r.get(col) or "")

    def missing(v) -> bool:
        return (isinstance(v, float) and math.isnan(v)) or v == ""

    present = [i for i, r in enumerate(rows) if not missing(val(r))]
    absent = [i for i, r in enumerate(rows) if missing(val(r))]
    by = sorted(present, key=lambda i: (val(rows[i]), rows[i]["clip_id"]))
    asc, desc = [0] * len(rows), [0] * len(rows)
    for pos, i in enumerate(by + absent):
        asc[i] = pos
    for pos, i in enumerate(by[::-1] + absent):
        desc[i] = pos
    return asc, desc


def per_clip_table(results: dict, rows: list[dict], csv_href: str | None) -> str:
    """Every clip's values, sortable by any column without a script (see the module doc)."""
    if not rows:
        return ""
    keys = [k for k, e in results["metrics"].items() if e.get("level", "clip") == "clip" and any(k in r for r in rows)]
    cols = [("clip_id", False), ("subject_id", False), ("status", False), ("code", False), *((k, True) for k in keys)]
    cols = [(c, num) for c, num in cols if any(c in r for r in rows)]
    ranks = [_sort_ranks(rows, c, num) for c, num in cols]
    css = [".pc-row { grid-template-columns: 13rem 8rem 4.5rem 8rem " + " ".join(["6.5rem"] * len(keys)) + "; }"]
    radios = ['<input type="radio" name="pc-sort" id="pc-none" class="pc-radio" checked>']
    head = []
    for i, (c, _) in enumerate(cols):
        radios.append(f'<input type="radio" name="pc-sort" id="pc-{i}-a" class="pc-radio">'
                      f'<input type="radio" name="pc-sort" id="pc-{i}-d" class="pc-radio">')
        head.append(f'<div>{html.escape(c)} <label for="pc-{i}-a" title="sort ascending">&#9650;</label>'
                    f'<label for="pc-{i}-d" title="sort descending">&#9660;</label></div>')
        css.append(f"#pc-{i}-a:checked ~ .pc-body .pc-row {{ order: var(--a{i}); }} "
                   f"#pc-{i}-d:checked ~ .pc-body .pc-row {{ order: var(--d{i}); }} "
                   f"#pc-{i}-a:checked ~ .pc-head label[for=pc-{i}-a], #pc-{i}-d:checked ~ .pc-head "
                   f"label[for=pc-{i}-d] {{ color: #06c; font-weight: 700; }}")
    body = []
    for j, r in enumerate(rows):
        style = ";".join(f"--a{i}:{a[j]};--d{i}:{d[j]}" for i, (a, d) in enumerate(ranks))
        cells = "".join(f'<div class="{"num" if num else ""}">{_fmt(_value(r, c)) if num else _fmt(r.get(c, ""))}'
                        "</div>" for c, num in cols)
        body.append(f'<div class="pc-row" data-clip="{html.escape(str(r["clip_id"]))}" style="{style}">{cells}</div>')
    link = (f' The same values: <a href="{html.escape(csv_href)}">per_clip.csv</a>.' if csv_href else "")
    return (f'<h2>Per clip</h2><p class="note">{len(rows)} clips; sort by any column with &#9650; / &#9660;.{link}</p>'
            f'<style>{" ".join(css)}</style><section class="per-clip">{"".join(radios)}'
            f'<div class="pc-head pc-row">{"".join(head)}</div><div class="pc-body">{"".join(body)}</div></section>')


def _cell(src: str | None, kind: str, label: str) -> str:
    if src is None:
        return f'<div class="missing">{html.escape(label)} not found (or not a regular file)</div>'
    if kind == "image":
        return f'<img src="{src}" alt="{html.escape(label)}">'
    return f'<video src="{src}" autoplay loop muted playsinline controls title="{html.escape(label)}"></video>'


def _grid(title: str, clips: list[dict], key: str, paths: dict[str, dict], media: _Media) -> str:
    if not clips:
        return ""
    parts = [f"<h2>{html.escape(title)}</h2>", '<div class="grid">', '<div class="head">clip</div>']
    parts += [f'<div class="head">{h}</div>' for h in ("driving", "reference", "output", "target")]
    for r in clips:
        cid = r["clip_id"]
        p = paths.get(cid, {})
        parts.append(f'<div class="clip"><b>{html.escape(cid)}</b>subject {html.escape(str(r.get("subject_id", "")))}'
                     f'<br>{html.escape(key)} = {_fmt(_value(r, key))}</div>')
        for col, kind in (("driving", "video"), ("reference", "image"), ("output", "video"), ("target", "video")):
            parts.append(_cell(media.src(p.get(col), f"{cid}_{col}"), kind, f"{cid} {col}"))
    parts.append("</div>")
    return "\n".join(parts)


def _clip_paths(run: dict) -> dict[str, dict]:
    """clip_id → {driving, reference, output, target} paths, from the run's record of its split and outputs."""
    from ..split import load_split

    out: dict[str, dict] = {}
    root, name = run.get("split_root"), run.get("split_name")
    if not root or not Path(root).is_dir():
        return out
    try:
        split = load_split(root, name or "test", verify="none")
    except HeadSwapBenchError:
        return out
    outputs = Path(run["outputs"]) if run.get("outputs") else None
    for r in split.rows:
        out[r.clip_id] = {"driving": split.driving_path(r), "reference": split.reference_path(r),
                          "target": split.target_path(r),
                          "output": outputs / f"{r.clip_id}.mp4" if outputs else None}
    return out


def write_report(run_dir: str | Path, out: str | Path | None = None, *, primary: str | None = None, k: int = 3,
                 embed: bool = True) -> Path:
    """Write the HTML report of the evaluation in ``run_dir`` (default ``run_dir/report.html``)."""
    from .. import __version__
    from ..fileio import atomic_write_text

    run_dir = Path(run_dir)
    results, rows, run = _load_run(run_dir)
    page = Path(out) if out else run_dir / "report.html"
    media = _Media(page, embed)
    key = choose_primary(results, rows, primary)
    grids = ""
    if key is None:
        grids = '<p class="note">No clip has a value for any ranked metric, so no clip grid is shown.</p>'
    else:
        hib = bool(results["metrics"][key]["higher_is_better"])
        best, worst = best_and_worst(rows, key, hib, k)
        paths = _clip_paths(run)
        grids = (_grid(f"Best clips by {key}", best, key, paths, media)
                 + _grid(f"Worst clips by {key}", worst, key, paths, media))
        if not paths:
            grids += '<p class="missing">The split folder recorded in run.json is not available; media not shown.</p>'
    m, d, cov = results["method"], results["dataset"], results.get("coverage", {})
    proto = results.get("protocol") or {}
    standing = ("official" if proto.get("official") else
                "overridden: " + "; ".join(proto.get("overrides") or []) if proto.get("overrides") else
                "not the published protocol")
    protocol_line = (f"protocol <b>{html.escape(str(proto.get('label', proto.get('id', ''))))}</b> "
                     f"<code>{html.escape(str(proto.get('id', '')))}</code> ({html.escape(standing)})"
                     if proto else "protocol not recorded (results from before schema 2)")
    csv_path = run_dir / (results.get("per_clip_file") or "per_clip.csv")
    csv_href = Path(os.path.relpath(csv_path.resolve(), page.resolve().parent)).as_posix() if csv_path.is_file() \
        else None
    meta = (f"{protocol_line}<br>method <b>{html.escape(m['name'])}</b> {html.escape(m.get('version') or '')} "
            f"(<code>{html.escape(m.get('source', ''))}</code>) &middot; dataset <b>{html.escape(d['name'])}</b> "
            f"split {html.escape(d['split'])}, {cov.get('scored', '?')} of {cov.get('expected', d['num_clips'])} "
            f"clips scored &middot; settings <code>{results['settings_hash'][:12]}</code> &middot; "
            f"{html.escape(results.get('created_at', ''))}")
    template = Template(resources.files("headswapbench.evaluation").joinpath("report_template.html").read_text("utf-8"))
    text = template.substitute(
        title=html.escape(f"HeadSwapBench report: {m['name']} on {d['name']}/{d['split']}"), meta=meta,
        metric_table=metric_table(results), grids=grids, per_clip=per_clip_table(results, rows, csv_href),
        version=html.escape(__version__),
        media_note="embedded in this file" if embed else f"in {html.escape(media.folder.name)}/ beside this file")
    atomic_write_text(page, text)
    return page
