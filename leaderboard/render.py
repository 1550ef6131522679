"""Render a leaderboard document (see ``site.build_document``) as JSON, CSV, Markdown, one static HTML page and
one detail page per result.

The HTML pages open from disk: CSS, JavaScript and the bar charts (SVG) are inlined, nothing is fetched.
Numbers in one column share their decimals (chosen from the column's magnitude) so they line up.

Everything a submitter wrote is data, never markup: HTML is escaped and a Content-Security-Policy lets only
the page's own script run (by hash; the detail pages run none); Markdown escapes HTML and its own syntax and
keeps each value on one line; CSV cells that a spreadsheet would run as a formula get a leading quote
(OWASP CSV injection). Any finite number renders, however large, without overflowing.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import math
import re
from collections import Counter
from html import escape
from importlib import resources
from typing import Any

from headswapbench.safeio import one_line

ARROW = {True: "↑", False: "↓", None: "·"}


# ------------------------------------------------------------------------------------------------------
# numbers
# ------------------------------------------------------------------------------------------------------
def column_decimals(values: list[float]) -> int:
    """Decimals giving ~3 significant digits for the column's largest magnitude (0.0312, 0.612, 25.3, 145)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not finite:
        return 2
    return max(0, min(6, 2 - math.floor(math.log10(max(finite)))))


def fmt(x: float | None, decimals: int) -> str:
    if x is None:
        return "–"
    return f"{x:,.{decimals}f}" if abs(x) < 1e15 else f"{x:.3g}"  # 1e308 as 1e+308, not 309 digits


def _board_decimals(board: dict[str, Any]) -> dict[str, int]:
    out = {}
    for m in board["metrics"]:
        vals = [r["metrics"].get(m["name"], {}).get("mean") for r in board["rows"]]
        out[m["name"]] = column_decimals([v for v in vals if v is not None])
    return out


def split_metrics(board: dict[str, Any]) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], list[str]]]]:
    """Metrics some method could compute (table columns) vs metrics no method could (listed once, with the
    distinct reasons, instead of a column of n/a)."""
    shown, hidden = [], []
    for m in board["metrics"]:
        cells = [r["metrics"].get(m["name"]) for r in board["rows"]]
        if any(c and c.get("available") for c in cells):
            shown.append(m)
        else:
            reasons = sorted({c.get("reason", "") for c in cells if c} or {"not reported"})
            hidden.append((m, reasons))
    return shown, hidden


def subjects_text(cell: dict[str, Any]) -> str:
    """How many subjects the interval resamples, said beside it ("6 subjects")."""
    k = cell.get("n_subjects")
    return f"{k:,} subject{'s' if k != 1 else ''}" if isinstance(k, int) else "subjects not recorded"


def _cell_text(cell: dict[str, Any] | None, d: int) -> str:
    if cell is None:
        return "not reported"
    if not cell.get("available"):
        return "n/a"
    ci = cell.get("ci95")
    return fmt(cell["mean"], d) + (f" [{fmt(ci[0], d)}, {fmt(ci[1], d)}] ({subjects_text(cell)})" if ci else "")


def replicates_text(board: dict[str, Any]) -> str:
    """How the board's intervals were made: "95 % intervals, subject-level cluster bootstrap, 10,000 replicates"."""
    iv = board["intervals"]
    levels = ", ".join(f"{round(100 * x, 1):g} %" for x in iv["levels"]) or "95 %"
    reps = iv["replicates"]
    what = (" or ".join(f"{r:,}" for r in reps) + " replicates") if reps else "replicates not recorded"
    if reps and iv["unrecorded"]:
        what += f" ({iv['unrecorded']} file(s) do not record theirs)"
    return f"{levels} intervals, {iv['kind']}, {what}"


def left_off_groups(board: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """The board's left-off cells as (method, reason, [metrics]): a smoke model is one line, not twenty."""
    groups: dict[tuple[str, str], list[str]] = {}
    for x in board["left_off"]:
        groups.setdefault((f"{x['method']} {x['version']}", x["reason"]), []).append(x["metric"])
    return [(m, why, keys) for (m, why), keys in groups.items()]


def not_ranked_columns(board: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Columns with values that are shown but not ranked (no reference, conflicting directions), with why."""
    out = []
    for m in board["metrics"]:
        if m["not_ranked"] and any((r["metrics"].get(m["name"]) or {}).get("available") for r in board["rows"]):
            out.append((m, m["not_ranked"]))
    return out


def published_columns(board: dict[str, Any]) -> list[str]:
    """The result keys the published rows report, in the board's column order, then any others."""
    keys = [k for p in board["published"] for k in p["metrics"]]
    order = [m["name"] for m in board["metrics"] if m["name"] in keys]
    return order + [k for k in dict.fromkeys(keys) if k not in order]


# ------------------------------------------------------------------------------------------------------
# JSON / CSV / Markdown
# ------------------------------------------------------------------------------------------------------
def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


CSV_COLUMNS = ["dataset", "split", "dataset_checksum", "protocol", "kind", "method", "version", "source",
               "verified", "labels", "metric", "higher_is_better", "unit", "mean", "ci95_lo", "ci95_hi", "n",
               "n_subjects", "replicates", "available", "reason", "ranked", "left_off", "rank", "ci_rank", "best",
               "tied_with_best", "fingerprint_hash", "unpinned_weights", "clips_scored", "clips_expected",
               "reported_in"]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def csv_cell(v: Any) -> Any:
    """A value a spreadsheet shows as text: a string starting like a formula gets a leading ``'`` (OWASP CSV
    injection); numbers, and strings that are plain numbers such as "-0.5", stay numeric."""
    if isinstance(v, str) and v.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(v):
        return "'" + v
    return v


def render_csv(doc: dict[str, Any]) -> str:
    """Long format: one line per board x method x metric (boards may differ in their metric sets), then the
    board's published rows (``kind`` = published, ``reported_in`` = their source, never ranked). Lines end in
    CRLF (RFC 4180), so a CR or LF inside a value gets the value quoted instead of starting a new row."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\r\n")
    w.writeheader()
    for b in doc["boards"]:
        where = {"dataset": b["dataset"]["name"], "split": b["dataset"]["split"],
                 "dataset_checksum": b["dataset"]["checksum"], "protocol": b["protocol"]["id"]}
        cols = {m["name"]: m for m in b["metrics"]}
        for r in b["rows"]:
            for m in b["metrics"]:
                c = r["metrics"].get(m["name"])
                if c is None:
                    continue
                ci = c.get("ci95") or [None, None]
                w.writerow({k: csv_cell(v) for k, v in {
                    **where, "kind": "reproduced",
                    "method": r["method"]["name"], "version": r["method"]["version"],
                    "source": r["method"].get("source"), "verified": r["verified"],
                    "labels": "; ".join(b["labels"] + r["labels"]), "metric": m["name"],
                    "higher_is_better": m["higher_is_better"], "unit": m.get("unit"), "mean": c.get("mean"),
                    "ci95_lo": ci[0], "ci95_hi": ci[1], "n": c.get("n"), "n_subjects": c.get("n_subjects"),
                    "replicates": r.get("replicates"), "available": c.get("available"), "reason": c.get("reason"),
                    "ranked": bool(c.get("ranked")),
                    "left_off": c.get("left_off") or (m["not_ranked"] if c.get("available") else None),
                    "rank": c.get("rank"), "ci_rank": c.get("ci_rank"),
                    "best": c.get("best"), "tied_with_best": c.get("tied_with_best"),
                    "fingerprint_hash": c.get("fingerprint_hash"), "unpinned_weights": ";".join(c.get("unpinned", [])),
                    "clips_scored": r["coverage"]["scored"], "clips_expected": r["coverage"]["expected"],
                }.items()})
        for p in b["published"]:
            for key, value in p["metrics"].items():
                m = cols.get(key, {})
                w.writerow({k: csv_cell(v) for k, v in {
                    **where, "kind": "published", "method": p["method"], "source": p["role"],
                    "labels": p["label"], "metric": key, "higher_is_better": m.get("higher_is_better"),
                    "unit": m.get("unit"), "mean": value, "available": True, "ranked": False,
                    "reported_in": f"{p['source'].get('id', '')} {p['source'].get('url', '')}".strip(),
                }.items()})
    return buf.getvalue()


_MD_SYNTAX = re.compile(r"([\\`*_\[\]|~])")


def _md_escape(s: Any) -> str:
    """Submitter text as inert Markdown on one line: whitespace runs (newlines too) become one space, HTML is
    escaped (``<script>`` shows as text) and Markdown's own syntax is backslash-escaped (no links, code,
    emphasis or table cells)."""
    text = one_line(" ".join(str(s).split()), 300)
    return _MD_SYNTAX.sub(r"\\\1", escape(text, quote=False))


def _status(r: dict[str, Any]) -> str:
    if r["verified"]:
        return "verified"
    return "self-reported (claims verified)" if r["provenance"].get("claimed_verified") else "self-reported"


def render_markdown(doc: dict[str, Any]) -> str:
    lines = [f"# {_md_escape(doc['title'])}", "",
             (f"Generated {doc['generated_at']} by headswapbench {doc['toolkit_version']}. "
             "Cells: mean [95 % CI] (subjects the interval resamples); **bold** = best, ≈ = 95 % CI overlaps the "
             "best, ⊘ = left off that column (listed below); ↑ higher is better, ↓ lower is better, · diagnostic "
             "(not ranked). Each column ranks only results whose fingerprint equals the protocol's reference."), ""]
    for b in doc["boards"]:
        ds = b["dataset"]
        subjects = f"{ds['num_subjects']:,} subjects · " if isinstance(ds.get("num_subjects"), int) else ""
        pin = "pinned" if b["pinned"]["dataset_checksum"] else "not pinned"
        lines += [f"## {_md_escape(ds['name'])} / {_md_escape(ds['split'])} · {_md_escape(b['protocol']['id'])}", "",
                  (f"{ds['num_clips']} clips · {subjects}dataset checksum `{ds['checksum'][:12]}` ({pin}) · protocol "
                   f"{_md_escape(b['protocol']['title'])} · {_md_escape(replicates_text(b))} · revision "
                   f"{_md_escape(', '.join(ds['revisions']))}"), ""]
        lines += [f"> **Warning:** {_md_escape(label)}" for label in b["labels"]]
        if b["labels"]:
            lines.append("")
        dec = _board_decimals(b)
        shown, hidden = split_metrics(b)
        head = ["#", "Method"] + [f"{m['name']} {ARROW[m['higher_is_better']]}" for m in shown] + ["Status"]
        lines += ["| " + " | ".join(head) + " |",
                  "|" + "|".join(["---:", ":---"] + ["---:"] * len(shown) + [":---"]) + "|"]
        primary = b["primary_metric"]
        for r in b["rows"]:
            rank = r["metrics"].get(primary, {}).get("rank", "–") if primary else "–"
            cells = []
            for m in shown:
                c = r["metrics"].get(m["name"])
                text = _cell_text(c, dec[m["name"]])
                if c and c.get("best"):
                    text = f"**{text}**"
                elif c and c.get("tied_with_best"):
                    text = f"≈ {text}"
                elif c and c.get("left_off"):
                    text = f"⊘ {text}"
                cells.append(text)
            status = _md_escape(_status(r) + "".join(f"; {label}" for label in r["labels"]))
            name = _md_escape(f"{r['method']['name']} {r['method']['version']}")
            if r.get("details"):
                name = f"[{name}]({r['details']})"  # our own page; the path is built from slugs
            lines.append("| " + " | ".join([str(rank), name, *cells, status]) + " |")
        if b["left_off"]:
            lines += ["", "Left off a column (shown, not ranked there):"] + [
                f"- {_md_escape(m)}: {', '.join(f'`{k}`' for k in keys)}: {_md_escape(why)}"
                for m, why, keys in left_off_groups(b)]
        unranked = not_ranked_columns(b)
        if unranked:
            lines += ["", "Columns shown but not ranked:"] + [f"- `{m['name']}`: {_md_escape(why)}"
                                                             for m, why in unranked]
        if hidden:
            lines += ["", "Not computed for any method:"] + [f"- `{m['name']}`: {_md_escape('; '.join(reasons))}"
                                                             for m, reasons in hidden]
        hidden_names = {m["name"] for m, _ in hidden}
        unavailable = [(r["method"]["name"], k, c["reason"]) for r in b["rows"] for k, c in r["metrics"].items()
                       if not c.get("available") and k not in hidden_names]
        if unavailable:
            lines += ["", "Unavailable metrics:"] + [f"- {_md_escape(n)}: `{k}`: {_md_escape(reason)}"
                                                     for n, k, reason in unavailable]
        if b["published"]:
            keys = published_columns(b)
            arrows = {m["name"]: ARROW[m["higher_is_better"]] for m in b["metrics"]}
            lines += ["", f"### Reported in the literature ({len(b['published'])} methods, not reproduced here, "
                      "never ranked with the rows above)", "",
                      "| Method | Role | " + " | ".join(f"{k} {arrows.get(k, '')}".strip() for k in keys)
                      + " | Reported in |",
                      "|:---|:---|" + "---:|" * len(keys) + ":---|"]
            for p in b["published"]:
                vals = [quoted(p["metrics"][k]) if k in p["metrics"] else "–" for k in keys]
                extra = "".join(f"; also {_md_escape(k)} {v.get('value')} (not implemented here)"
                                for k, v in p["not_implemented"].items())
                lines.append(f"| {_md_escape(p['method'])} | {_md_escape(p['role'])} | " + " | ".join(vals)
                             + f" | {_md_escape(p['label'])} ({_md_escape(p['source'].get('url', ''))}){extra} |")
        lines.append("")
    if doc["refused"]:
        lines += ["## Refused files", ""] + [f"- {_md_escape(x['path'])}: {_md_escape(x['reason'])}"
                                             for x in doc["refused"]] + [""]
    return "\n".join(lines)


def quoted(v: float) -> str:
    """A published number as the paper wrote it (0.7019 stays 0.7019; no column rounding)."""
    return f"{v:g}"


# ------------------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------------------
def _asset(name: str) -> str:
    return resources.files("headswapbench.leaderboard").joinpath(name).read_text(encoding="utf-8")


def _wbr(name: str) -> str:
    """Let long metric names wrap after underscores in narrow headers."""
    return escape(name).replace("_", "_<wbr>")


def _nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (call it on values scaled to about [-10, 10])."""
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def svg_chart(board: dict[str, Any], metric: dict[str, Any], d: int) -> str:
    """Horizontal bars (mean) with 95 % error bars, best first; inline SVG, no script."""
    name = metric["name"]
    hib = metric["higher_is_better"]
    rows = [(r, r["metrics"][name]) for r in board["rows"] if r["metrics"].get(name, {}).get("ranked")]
    if not rows:  # nothing ranked on this column: draw what was computed, as diagnostics
        hib = None
        rows = [(r, r["metrics"][name]) for r in board["rows"] if r["metrics"].get(name, {}).get("available")]
    if not rows:
        return ""
    rows.sort(key=lambda rc: (rc[1].get("rank", 0) if hib is not None else 0,
                              -rc[1]["mean"] if hib in (True, None) else rc[1]["mean"]))
    names = Counter(r["method"]["name"] for r, _ in rows)
    pts = [v for _, c in rows for v in ([c["mean"]] + list(c.get("ci95") or []))]
    # work in units of a power of ten of the largest value: ticks stay round, and nothing overflows even at
    # 1e308 (where hi - lo alone is infinite)
    biggest = max(abs(float(v)) for v in pts)
    scale = 10.0 ** math.floor(math.log10(biggest)) if biggest > 0 else 1.0
    lo, hi = min(0.0, *(v / scale for v in pts)), max(0.0, *(v / scale for v in pts))
    if hi == lo:
        hi = lo + 1.0
    ticks = _nice_ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    width, label_w, right_pad, row_h, top, bottom = 360, 112, 58, 22, 6, 22
    plot_w = width - label_w - right_pad
    height = top + row_h * len(rows) + bottom

    def x(v: float) -> float:
        return label_w + (v / scale - lo) / (hi - lo) * plot_w

    parts = [(f'<svg class="bars" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{escape(name)} by method">')]
    for t in ticks:
        value = t * scale
        if not math.isfinite(value):
            continue
        parts.append(f'<line class="grid" x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top}" y2="{height - bottom}"/>'
                     f'<text x="{x(value):.1f}" y="{height - 7}" text-anchor="middle">{escape(_tick(value))}</text>')
    for i, (r, c) in enumerate(rows):
        y = top + i * row_h
        cls = "diag" if hib is None else ("best" if c.get("best") else "tied" if c.get("tied_with_best") else "")
        x0, x1 = sorted((x(0.0), x(c["mean"])))
        label = r["method"]["name"]
        if names[label] > 1:  # two versions of one method: say which bar is which
            label = f'{label} {r["method"]["version"]}'
        short = label if len(label) <= 16 else label[:15] + "…"
        parts.append(f'<text class="lab" x="{label_w - 8}" y="{y + 15}" text-anchor="end"><title>{escape(label)} '
                     f'{escape(r["method"]["version"])}</title>{escape(short)}</text>')
        parts.append(f'<rect class="b {cls}" x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 8}" '
                     f'rx="2"><title>{escape(label)}: {escape(_cell_text(c, d))}</title></rect>')
        end = x(c["mean"])
        if c.get("ci95"):
            a, b = x(c["ci95"][0]), x(c["ci95"][1])
            ym = y + row_h / 2
            parts.append(f'<line class="err" x1="{a:.1f}" x2="{b:.1f}" y1="{ym}" y2="{ym}"/>'
                         f'<line class="err" x1="{a:.1f}" x2="{a:.1f}" y1="{ym - 4}" y2="{ym + 4}"/>'
                         f'<line class="err" x1="{b:.1f}" x2="{b:.1f}" y1="{ym - 4}" y2="{ym + 4}"/>')
            end = max(end, b)
        parts.append(f'<text class="val" x="{end + 5:.1f}" y="{y + 15}">{escape(fmt(c["mean"], d))}</text>')
    parts.append(f'<line class="axis" x1="{x(0.0):.1f}" x2="{x(0.0):.1f}" y1="{top}" y2="{height - bottom}"/>')
    parts.append("</svg>")
    unit = f' <span class="unit">{escape(metric["unit"])}</span>' if metric.get("unit") else ""
    note = ' <span class="unit">not ranked</span>' if metric.get("not_ranked") else ""
    return (f'<figure class="chart" data-metric="{escape(name)}"><figcaption>{escape(metric["label"])} '
            f'<span class="dir">{ARROW[metric["higher_is_better"]]}</span>{unit}{note}</figcaption>'
            f'{"".join(parts)}</figure>')


def _version(v: str) -> str:
    return f"v{v}" if v[:1].isdigit() else v


def _tick(t: float) -> str:
    t = round(t, 12) if abs(t) >= 1e-6 else t  # 0.30000000000000004 -> 0.3
    return f"{t:g}" if abs(t) < 1e5 else f"{t:.2g}"


def _th(key: str, label_html: str, best: str, cls: str = "", title: str = "", type_: str = "num",
        sorted_dir: str | None = None) -> str:
    attrs = f' data-key="{escape(key)}" data-best="{best}" data-type="{type_}" tabindex="0"'
    if cls:
        attrs += f' class="{cls}"'
    if title:
        attrs += f' title="{escape(title)}"'
    if sorted_dir:
        attrs += f' aria-sort="{sorted_dir}"'
    return f"<th{attrs}>{label_html}</th>"


def _board_html(b: dict[str, Any]) -> str:
    ds = b["dataset"]
    dec = _board_decimals(b)
    primary = b["primary_metric"]
    bid = escape(b["id"])
    proto = b["protocol"]
    subjects = (f'<div><dt>subjects</dt><dd>{ds["num_subjects"]:,}</dd></div>'
                if isinstance(ds.get("num_subjects"), int) else "")
    out = [(f'<section class="board" id="board-{bid}" data-split="{escape(ds["split"])}" '
           f'data-protocol="{escape(proto["id"])}">'),
           '<div class="board-head">',
           f'<h2>{escape(ds["name"])}<span class="split">{escape(ds["split"])}</span>'
           f'<span class="proto" title="{escape(proto["title"])}">{escape(proto["id"])}</span></h2>',
           '<dl class="meta">',
           f'<div><dt>clips</dt><dd>{ds["num_clips"]:,}</dd></div>',
           subjects,
           f'<div><dt>methods</dt><dd>{len(b["rows"])}</dd></div>',
           (f'<div><dt>dataset checksum</dt><dd><code title="{escape(ds["checksum"])}">{escape(ds["checksum"][:12])}'
           f'</code> {_pin(b)}</dd></div>'),
           f'<div><dt>protocol</dt><dd>{escape(proto["title"])}</dd></div>',
           f'<div><dt>intervals</dt><dd class="replicates">{escape(replicates_text(b))}</dd></div>',
           f'<div><dt>revision</dt><dd>{escape(", ".join(ds["revisions"]))}</dd></div>',
           "</dl>",
           _references_html(b),
           "</div>"]
    for label in b["labels"]:
        kind, _, rest = label.partition(":")
        out.append(f'<div class="banner"><strong>{escape(kind)}:</strong>{escape(rest)}</div>')

    shown, hidden = split_metrics(b)
    hib_best = {True: "descending", False: "ascending", None: "descending"}
    head = [_th("rank", "#", "ascending", "rank-col", f"rank by {primary}" if primary else "rank"),
            _th("method", "Method", "ascending", "text method-col", type_="text")]
    for m in shown:
        unit = f'<span class="unit">{escape(m["unit"])}</span>' if m.get("unit") else ""
        hib = m["higher_is_better"] if not m["not_ranked"] else None
        dcls = "dir" if hib is not None else "dir none"
        tip = {True: "higher is better", False: "lower is better", None: "diagnostic, not ranked"}[hib]
        if m["not_ranked"]:
            tip = f"not ranked: {m['not_ranked']}"
        title = f'{m["name"]}: {tip}' + (f' — {m["description"]}' if m.get("description") else "")
        badge = '<span class="unit unranked">not ranked</span>' if m["not_ranked"] else ""
        head.append(_th(f'm:{m["name"]}', f'{_wbr(m["label"])}<span class="{dcls}">{ARROW[m["higher_is_better"]]}'
                        f'</span>{unit}{badge}', hib_best[m["higher_is_better"]], "num", title,
                        sorted_dir=hib_best[m["higher_is_better"]] if m["name"] == primary else None))
    head.append(_th("clips", 'Clips<span class="unit">scored</span>', "descending", "num"))
    out.append('<div class="table-scroll"><table class="lb" data-board="' + bid + '">')
    out.append("<thead><tr>" + "".join(head) + "</tr></thead><tbody>")
    for r in b["rows"]:
        mname = r["method"]["name"]
        card = f'm-{bid}-{escape(r["slug"])}'
        prank = r["metrics"].get(primary, {}).get("rank") if primary else None
        badges = [_trust_badge(r)]
        badges += [f'<span class="badge warn" title="{escape(x)}">{escape(x.split(":")[0])}</span>'
                   for x in r["labels"]]
        if r.get("details"):
            badges.append(f'<a class="badge report" href="{escape(r["details"])}">details ↗</a>')
        cells = [f'<td class="rank" data-v="{prank if prank is not None else ""}">{prank if prank else "–"}</td>',
                 (f'<td class="method" data-v="{escape(mname)}"><a class="to-details" href="#{card}">{escape(mname)}'
                 f'</a><span class="ver">{escape(_version(r["method"]["version"]))}</span>{"".join(badges)}</td>')]
        for m in shown:
            cells.append(_cell_html(r["metrics"].get(m["name"]), dec[m["name"]]))
        cov = r["coverage"]
        cells.append(f'<td class="num" data-v="{cov["scored"]}"><span class="mean">{cov["scored"]:,}</span>'
                     f'<span class="ci">of {cov["expected"]:,}{", " + str(cov["failed"]) + " failed" if cov["failed"] else ""}'
                     '</span></td>')
        out.append(f'<tr data-name="{escape(mname.lower())}">' + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    if b["left_off"]:
        out.append('<div class="left-off"><strong>Left off a column</strong> (shown greyed with ⊘, not ranked there: '
                   "its fingerprint is not the protocol's reference):<ul>" + "".join(
                       f'<li><span class="who">{escape(who)}</span> · '
                       f'{", ".join(f"<code>{escape(k)}</code>" for k in keys)}: '
                       f'<span class="reason">{escape(why)}</span></li>' for who, why, keys in left_off_groups(b))
                   + "</ul></div>")
    unranked = not_ranked_columns(b)
    if unranked:
        out.append('<div class="not-computed not-ranked"><strong>Shown but not ranked:</strong><ul>' + "".join(
            f'<li><code>{escape(m["name"])}</code>: {escape(why)}</li>' for m, why in unranked) + "</ul></div>")
    if hidden:
        out.append('<div class="not-computed"><strong>Not computed for any method:</strong><ul>' + "".join(
            f'<li><code>{escape(m["name"])}</code> {ARROW[m["higher_is_better"]]}: '
            f'{escape("; ".join(reasons))}</li>' for m, reasons in hidden) + "</ul></div>")
    if b["published"]:
        out.append(_published_html(b))

    charts = [svg_chart(b, m, dec[m["name"]]) for m in b["metrics"]]
    charts = [c for c in charts if c]
    if charts:
        out.append('<div class="section-title">Per-metric means with 95 % intervals (ranked results)</div>')
        out.append('<p class="chart-note">Bars: mean; whiskers: 95 % interval.<span class="swatch" '
                   'style="background:var(--accent)"></span>best<span class="swatch" style="background:var(--tie)">'
                   '</span>interval overlaps the best<span class="swatch" style="background:var(--bar)"></span>'
                   'separated from the best<span class="swatch" style="background:#cfd5df"></span>diagnostic or not '
                   'ranked</p>')
        out.append('<div class="charts">' + "".join(charts) + "</div>")
    out.append('<div class="section-title">Method details</div><div class="details">')
    out += [_details_html(b, r) for r in b["rows"]]
    out.append("</div></section>")
    return "\n".join(out)


def _cell_html(c: dict[str, Any] | None, d: int) -> str:
    if c is None:
        return '<td class="num" data-v=""><span class="na" title="not reported in this results file">—</span></td>'
    if not c.get("available"):
        return f'<td class="num" data-v=""><span class="na" title="{escape(c.get("reason", ""))}">n/a</span></td>'
    ci = c.get("ci95")
    ci_html = (f'<span class="ci">{escape(fmt(ci[0], d))} – {escape(fmt(ci[1], d))}</span>'
               f'<span class="nsub">{escape(subjects_text(c))}</span>' if ci else '<span class="ci">no CI</span>')
    pin = (f'<span class="badge warn unpinned" title="unpinned weights: {escape(", ".join(c["unpinned"]))}">'
           "unpinned</span>" if c.get("unpinned") else "")
    if c.get("left_off"):
        return (f'<td class="num off" data-v="" title="left off this column: {escape(c["left_off"])}">'
                f'<span class="mean">⊘ {escape(fmt(c["mean"], d))}</span>{ci_html}{pin}</td>')
    cls = "num best" if c.get("best") else "num tied" if c.get("tied_with_best") else "num"
    if not c.get("ranked"):
        cls += " unranked"
    tip = f'n = {c.get("n")}' + (f', CI-aware rank {c["ci_rank"]}' if "ci_rank" in c else "")
    rank_attr = f' data-rank="{c["rank"]}"' if "rank" in c else ""
    return (f'<td class="{cls}" data-v="{c["mean"]!r}"{rank_attr} title="{escape(tip)}">'
            f'<span class="mean">{escape(fmt(c["mean"], d))}</span>{ci_html}{pin}</td>')


def _references_html(b: dict[str, Any]) -> str:
    """Which fingerprint each column is ranked against, and who decided (never the files on the board)."""
    rows = "".join(f'<li><code>{escape(m["name"])}</code>: '
                   + (f'<code>{escape(m["reference"]["fingerprint_hash"][:12])}</code>' if m.get("reference")
                      else f'none ({escape(m["not_ranked"] or "")})') + "</li>" for m in b["metrics"])
    source = escape(b["reference_source"] or "no reference for this protocol")
    return (f'<details class="settings-json references"><summary>reference fingerprints</summary><p>{source}</p>'
            f"<ul>{rows}</ul></details>")


def _published_html(b: dict[str, Any]) -> str:
    """The published rows: their own table, labelled, no rank column, never mixed into the ranking above."""
    keys = published_columns(b)
    cols = {m["name"]: m for m in b["metrics"]}
    sources = {p["label"] for p in b["published"]}
    head = "".join(f'<th>{_wbr(k)}<span class="dir">{ARROW[cols[k]["higher_is_better"]] if k in cols else ""}'
                   "</span></th>" for k in keys)
    body = []
    for p in b["published"]:
        vals = "".join(f'<td class="num">{escape(quoted(p["metrics"][k]))}</td>' if k in p["metrics"]
                       else '<td class="num"><span class="na">—</span></td>' for k in keys)
        extra = "".join(f'<span class="also">also reports {escape(k)} = {escape(str(v.get("value")))} '
                        f'({escape(str(v.get("defined_in", "")))}; not implemented here)</span>'
                        for k, v in p["not_implemented"].items())
        url = p["source"].get("url", "")
        src = (f'<a href="{escape(url)}" rel="noopener noreferrer">{escape(p["label"])}</a>' if url.startswith("https://")
               else escape(p["label"]))
        body.append(f'<tr class="published-row"><td class="text method"><span class="name">{escape(p["method"])}'
                    f'</span> <span class="badge published">reported</span>{extra}</td>'
                    f'<td class="text role">{escape(p["role"])}</td>{vals}<td class="text src">{src}</td></tr>')
    return ('<div class="published" data-board="' + escape(b["id"]) + '">'
            f'<div class="section-title">Published numbers, {escape(", ".join(sorted(sources)))}</div>'
            '<p class="chart-note">Numbers as the paper reports them on this split under this protocol: quoted, not '
            "reproduced here, and never ranked with the results above (they have no results file, interval or "
            "fingerprint to check).</p>"
            '<div class="table-scroll"><table class="lb plain published-table"><thead><tr>'
            f'<th class="text">Method</th><th class="text">Role</th>{head}<th class="text">Source</th></tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div></div>')


def _pin(b: dict[str, Any]) -> str:
    by = b["pinned"].get("dataset_checksum_by")
    text = ("pinned by the maintainer" if by == "--dataset-checksum" else f"pinned by {by}" if by else "not pinned")
    return f'<span class="pin{" on" if by else ""}">{escape(text)}</span>'



STATUS_TEXT = {
    "verified": "verified by the maintainers (the file's content hash is on their list)",
    "claim": "self-reported: the file claims to be verified, but it is not on the maintainers' list",
    "self": "self-reported (not verified)",
}


def _trust(r: dict[str, Any]) -> str:
    return "verified" if r["verified"] else "claim" if r["provenance"].get("claimed_verified") else "self"


def _trust_badge(r: dict[str, Any]) -> str:
    kind = _trust(r)
    if kind == "verified":
        return f'<span class="badge verified" title="{STATUS_TEXT[kind]}">verified</span>'
    return f'<span class="badge self" title="{escape(STATUS_TEXT[kind])}">self-reported</span>'


def _details_html(b: dict[str, Any], r: dict[str, Any]) -> str:
    m, p, env, cov = r["method"], r["provenance"], r["environment"], r["coverage"]
    items = [
        ("source", escape(str(m.get("source", "")))),
        ("toolkit version", escape(r["toolkit_version"])),
        ("evaluated at", escape(r["created_at"])),
        ("settings hash", f'<code>{escape(r["settings_hash"])}</code>'),
        ("dataset revision", escape(r["dataset_revision"] or "none (local, unpublished split)")),
        ("generated by", escape(p["generated_by"])),
        ("evaluated by", escape(p["evaluated_by"])),
        ("status", escape(STATUS_TEXT[_trust(r)])),
        ("clips", f'{cov["scored"]:,} scored, {cov["failed"]:,} failed, of {cov["expected"]:,}'),
        ("environment", escape(", ".join(f"{k} {v}" for k, v in env.items() if v not in (None, "")))),
        ("results file", f'<code>{escape(r["source_file"])}</code>'),
        ("content hash", f'<code>{escape(r["content_hash"])}</code>'),
    ]
    if r.get("details"):
        items.append(("details", f'<a href="{escape(r["details"])}">{escape(r["details"])}</a>'))
    for label in b["labels"] + r["labels"]:
        items.append(("warning", escape(label)))
    off = [(k, c["left_off"]) for k, c in r["metrics"].items() if c.get("left_off")]
    if off:
        items.append(("left off", "<ul>" + "".join(
            f'<li><code>{escape(k)}</code>: <span class="reason">{escape(why)}</span></li>' for k, why in off)
            + "</ul>"))
    una = [(k, c.get("reason", "")) for k, c in r["metrics"].items() if not c.get("available")]
    if una:
        items.append(("unavailable metrics", "<ul>" + "".join(
            f'<li><code>{escape(k)}</code>: <span class="reason">{escape(reason)}</span></li>' for k, reason in una)
            + "</ul>"))
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    return (f'<details class="method-card" id="m-{escape(b["id"])}-{escape(r["slug"])}"><summary>{escape(m["name"])} '
            f'<span class="src">{escape(_version(m["version"]))} · {escape(str(m.get("source", "")))}</span></summary><dl>{body}</dl></details>')


def render_html(doc: dict[str, Any]) -> str:
    boards = doc["boards"]
    splits = sorted({b["dataset"]["split"] for b in boards})
    protocols: dict[str, str] = {}
    for b in boards:
        tag = "" if b["protocol"]["official"] else " (not the published protocol)"
        protocols.setdefault(b["protocol"]["id"], b["protocol"]["id"] + tag)
    opt = '<option value="">all</option>'
    split_opts = opt + "".join(f'<option value="{escape(s)}">{escape(s)}</option>' for s in splits)
    proto_opts = opt + "".join(f'<option value="{escape(h)}">{escape(t)}</option>' for h, t in protocols.items())
    n_methods = len({(r["method"]["name"], r["method"]["version"]) for b in boards for r in b["rows"]})
    body = [
        '<header class="top"><div class="wrap">',
        f'<h1>{escape(doc["title"])}</h1>',
        (f'<p class="sub">{n_methods} method{"s" if n_methods != 1 else ""} · {len(boards)} '
        f'board{"s" if len(boards) != 1 else ""} · generated {escape(doc["generated_at"])} with headswapbench '
        f'{escape(doc["toolkit_version"])}</p></div></header>'),
        '<main class="wrap">',
        '<div class="filters">',
        f'<label>Split<select id="f-split">{split_opts}</select></label>',
        f'<label>Protocol<select id="f-protocol">{proto_opts}</select></label>',
        ('<span class="legend"><b>↑</b> higher is better · <b>↓</b> lower is better · '
        '<b style="color:var(--good)">bold</b> best · <b style="color:var(--accent)">≈</b> 95 % interval overlaps '
        'the best · <b>⊘</b> left off that column · click a column to sort</span>'),
        "</div>",
        *(_board_html(b) for b in boards),
        '<div class="empty" id="empty">No board matches the filter.</div>',
    ]
    if doc["refused"]:
        body.append(f'<details class="refused"><summary>{len(doc["refused"])} file(s) not ranked</summary><ul>' +
                    "".join(f'<li><code>{escape(x["path"])}</code>: {escape(x["reason"])}</li>'
                            for x in doc["refused"]) + "</ul></details>")
    body.append('<footer>A board is one dataset split, dataset checksum and protocol. Each column ranks only the '
                "results whose fingerprint for it equals the protocol's reference (derived from the shipped protocol "
                "or given by the maintainer); the others are shown with ⊘ and what differs. Intervals are 95 % "
                "bootstrap intervals over subjects as reported in each results.json; the rank column is the "
                "position by the board's primary metric. Published numbers are quoted apart and never ranked. "
                "Data: leaderboard.json, leaderboard.csv.</footer></main>")
    return page(doc["title"], "\n".join(body), _asset("page.js"))


def page(title: str, body_html: str, js: str | None = None) -> str:
    """A whole HTML page around ``body_html``. The Content-Security-Policy allows inline styles and exactly
    one script, ours (by its sha256), and nothing from anywhere else: even markup that slipped past escaping
    could not run or fetch anything. ``js=None``: a page without any script."""
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    script = ""
    if js is not None:
        text = f"\n{js}\n"
        digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
        csp += f"; script-src 'sha256-{digest}'"
        script = f"<script>{text}</script>"
    else:
        csp += "; script-src 'none'"
    parts = {"title": escape(title), "csp": csp, "css": _asset("page.css"), "body": body_html, "script": script}
    # one pass over the template only, so text inside the data can never be taken for a placeholder
    return re.sub(r"\{\{(\w+)\}\}", lambda mo: parts[mo.group(1)], _asset("page.html"))
