"""One page per ranked result, rendered by the leaderboard itself from the validated results.json.

This replaces copying a submitter's report.html onto the site: a page someone else wrote can run script on the
published site, link private files or show numbers other than the ones ranked. Here every value is taken from
the validated file and escaped, and the page carries no script at all (its Content-Security-Policy says so).
It shows the ranked numbers with their intervals and board ranks, the trust status, coverage and failures,
the metric settings, the environment and the per-clip values.
"""

from __future__ import annotations

import json
from html import escape
from operator import itemgetter
from typing import Any

from headswapbench.safeio import one_line

from .render import ARROW, STATUS_TEXT, _trust, _trust_badge, column_decimals, fmt, page, subjects_text

MAX_TEXT = 300  # a reason or a per-clip text value is cut here (the file keeps all of it)
CLIPS_SHOWN = 10


def _text(v: Any) -> str:
    return escape(one_line(v, MAX_TEXT))


def _dl(items: list[tuple[str, str]]) -> str:
    return '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _metrics_table(board: dict[str, Any], row: dict[str, Any], entries: dict[str, Any]) -> str:
    cols = {m["name"]: m for m in board["metrics"]}
    head = ("<tr><th class='text'>metric</th><th></th><th class='text'>unit</th><th>mean</th><th>95 % CI</th>"
            "<th>n</th><th>subjects</th><th>rank</th><th>CI-aware rank</th><th class='text'>fingerprint</th>"
            "<th class='text'>note</th></tr>")
    out = ['<div class="table-scroll"><table class="lb plain"><thead>', head, "</thead><tbody>"]
    for name, e in entries.items():
        cell = row["metrics"].get(name, {})
        hib = cols.get(name, {}).get("higher_is_better", e.get("higher_is_better"))
        unit = _text(e.get("unit") or "")
        if not e.get("available"):
            out.append(f'<tr class="unavailable"><td class="text"><code>{escape(name)}</code></td><td>{ARROW[hib]}</td>'
                       f'<td class="text">{unit}</td><td colspan="7" class="na-cell">n/a</td>'
                       f'<td class="text reason">{_text(e.get("reason", ""))}</td></tr>')
            continue
        d = column_decimals([e["mean"]] + list(e.get("ci95") or []))
        ci = e.get("ci95")
        ci_text = f"{fmt(ci[0], d)} – {fmt(ci[1], d)}" if ci else "no interval"
        note = "best on the board" if cell.get("best") else (
            "interval overlaps the best" if cell.get("tied_with_best") else "")
        column = cols.get(name, {})
        if hib is None:
            note = "diagnostic, not ranked"
        elif cell.get("left_off"):
            note = f"left off this column: {cell['left_off']}"
        elif column.get("not_ranked"):
            note = f"column not ranked: {column['not_ranked']}"
        if cell.get("unpinned"):
            note += ("; " if note else "") + f"unpinned weights: {', '.join(cell['unpinned'])}"
        subjects = subjects_text(e) if ci else "–"
        fp = str(e.get("fingerprint_hash") or "")[:12]
        out.append(f'<tr><td class="text"><code>{escape(name)}</code></td><td>{ARROW[hib]}</td>'
                   f'<td class="text">{unit}</td><td>{escape(fmt(e["mean"], d))}</td><td>{escape(ci_text)}</td>'
                   f'<td>{e["n"]:,}</td><td>{escape(subjects)}</td><td>{cell.get("rank", "–")}</td>'
                   f'<td>{cell.get("ci_rank", "–")}</td><td class="text"><code>{escape(fp)}</code></td>'
                   f'<td class="text{" reason" if cell.get("left_off") else ""}">{_text(note)}</td></tr>')
    out.append("</tbody></table></div>")
    return "".join(out)


def _failures(coverage: dict[str, Any]) -> str:
    failures = coverage.get("failures")
    if not isinstance(failures, dict) or not failures:
        return ""
    rows = "".join(f"<tr><td class='text'><code>{_text(k)}</code></td><td class='text reason'>{_text(v)}</td></tr>"
                   for k, v in failures.items())
    return ('<h3>Clips that failed</h3><div class="table-scroll"><table class="lb plain"><thead><tr>'
            "<th class='text'>clip</th><th class='text'>reason</th></tr></thead><tbody>" + rows + "</tbody></table></div>")


def _numeric(v: Any) -> bool:
    return type(v) in (int, float)


def _clip_key(board: dict[str, Any], results: dict[str, Any], present: set[str]) -> tuple[str, bool] | None:
    """The metric that orders the clips: the board's primary one, else the first ranked metric with values."""
    cols = {m["name"]: m["higher_is_better"] for m in board["metrics"]}
    order = [board["primary_metric"]] + [k for k in results["metrics"] if k != board["primary_metric"]]
    for k in order:
        if k in present and cols.get(k) is not None:
            return k, bool(cols[k])
    return None


def _per_clip(board: dict[str, Any], results: dict[str, Any]) -> str:
    """The best and worst ``CLIPS_SHOWN`` clips by the board's primary metric, with every metric the rows
    hold. All rows stay in the results file: a table of all 1,040 clips on each of 300 pages would multiply
    the build time for what the extremes already show."""
    rows = results.get("per_clip")
    if not isinstance(rows, list) or not rows:
        where = results.get("per_clip_file")
        return ('<p class="note">No per-clip rows in the results file'
                + (f" (they live in <code>{_text(where)}</code> beside it)" if isinstance(where, str) else "")
                + ".</p>")
    present = set().union(*rows)
    names = [k for k in results["metrics"] if k in present]
    chosen = _clip_key(board, results, present)
    if chosen is None:
        return f'<p class="note">{len(rows):,} per-clip rows, none with a value of a ranked metric.</p>'
    key, hib = chosen
    scored = sorted([r for r in rows if type(r.get(key)) in (int, float)], key=itemgetter(key), reverse=hib)
    best = scored[:CLIPS_SHOWN]
    worst = scored[max(len(best), len(scored) - CLIPS_SHOWN):][::-1]
    shown = best + worst
    dec = {k: column_decimals([r[k] for r in shown if _numeric(r.get(k))]) for k in names}
    head = "".join(f"<th>{escape(k)}</th>" for k in names)
    out = [f"<h3>Per-clip values: best and worst by <code>{escape(key)}</code></h3>",
           f'<p class="note">{len(rows):,} per-clip rows in the results file, {len(scored):,} with a {escape(key)} '
           f"value; the {len(best)} best and {len(worst)} worst are shown.</p>",
           '<div class="table-scroll"><table class="lb plain per-clip"><thead><tr><th class="text"></th>'
           f'<th class="text">clip</th><th class="text">subject</th>{head}</tr></thead><tbody>']
    for i, r in enumerate(shown):
        tag = "best" if i < len(best) else "worst"
        cells = "".join(f"<td>{escape(fmt(r[k], dec[k]))}</td>" if _numeric(r.get(k)) else "<td>–</td>" for k in names)
        out.append(f'<tr class="{tag}"><td class="text">{tag}</td><td class="text">{_text(r.get("clip_id", ""))}</td>'
                   f'<td class="text">{_text(r.get("subject_id", ""))}</td>{cells}</tr>')
    out.append("</tbody></table></div>")
    return "".join(out)


def _interval_text(results: dict[str, Any]) -> str:
    p = results.get("protocol") or {}
    level = p.get("level") if isinstance(p.get("level"), (int, float)) else 0.95
    reps = f"{p['replicates']:,} replicates" if isinstance(p.get("replicates"), int) else "replicates not recorded"
    seed = f", seed {p['seed']}" if isinstance(p.get("seed"), int) else ""
    subjects = results["dataset"].get("num_subjects")
    over = f" over {subjects:,} subjects" if isinstance(subjects, int) else ""
    return f"{round(100 * level, 1):g} % subject-level cluster bootstrap{over}, {reps}{seed}"


def render_details(doc: dict[str, Any], board: dict[str, Any], row: dict[str, Any], results: dict[str, Any]) -> str:
    """The detail page of ``row`` (on ``board``) from its validated ``results``; links are relative to
    ``row["details"]`` (``details/<board>/<slug>.html``)."""
    m, ds, cov, prov = results["method"], results["dataset"], results["coverage"], row["provenance"]
    back = f"../../index.html#board-{escape(board['id'])}"
    env = row["environment"]
    facts = [
        ("status", f'{_trust_badge(row)} {escape(STATUS_TEXT[_trust(row)])}'),
        ("source", _text(m.get("source", ""))),
        ("dataset", f'{_text(ds["name"])} / {_text(ds["split"])}, {ds["num_clips"]:,} clips, revision '
                    f'{_text(ds.get("revision") or "none (local, unpublished split)")}'),
        ("dataset checksum", f'<code>{escape(ds["checksum"])}</code>'),
        ("protocol", f'{_text(board["protocol"]["id"])} · {_text(board["protocol"]["title"])}'
                     + "".join(f"; override: {_text(o)}" for o in row["overrides"])),
        ("intervals", _text(_interval_text(results))),
        ("settings hash", f'<code>{escape(results["settings_hash"])}</code>'),
        ("content hash", f'<code>{escape(row["content_hash"])}</code> (sha256 of the results file: the value a '
                         "maintainer lists with <code>--verified</code>)"),
        ("clips", f'{cov["scored"]:,} scored, {cov["failed"]:,} failed, of {cov["expected"]:,} expected'),
        ("toolkit version", _text(results["toolkit_version"])),
        ("evaluated at", _text(results["created_at"])),
        ("generated by", _text(prov.get("generated_by", ""))),
        ("evaluated by", _text(prov.get("evaluated_by", ""))),
        ("environment", _text(", ".join(f"{k} {v}" for k, v in env.items() if v not in (None, "")))),
        ("results file", f'<code>{_text(row["source_file"])}</code>'),
    ]
    facts += [("warning", _text(label)) for label in board["labels"] + row["labels"]]
    body = [
        '<header class="top"><div class="wrap">',
        f'<h1>{_text(m["name"])} <span class="ver">{_text(m["version"])}</span></h1>',
        f'<p class="sub"><a href="{back}">← {_text(doc["title"])}</a> · {_text(ds["name"])} / {_text(ds["split"])} · '
        f'rendered by headswapbench {escape(doc["toolkit_version"])} from the validated results file</p>',
        '</div></header><main class="wrap detail">',
        '<section class="board"><div class="board-pad">', _dl(facts), "</div></section>",
        '<section class="board"><div class="board-pad"><h3>Metrics</h3>',
        _metrics_table(board, row, results["metrics"]), _failures(cov), "</div></section>",
        '<section class="board"><div class="board-pad"><h3>Metric settings</h3><pre class="settings">',
        escape(json.dumps(results["settings"], indent=2, sort_keys=True)), "</pre></div></section>",
        '<section class="board"><div class="board-pad">', _per_clip(board, results), "</div></section>",
        "<footer>Every value on this page comes from the results file named above, validated by the leaderboard "
        "and escaped; nothing the submitter wrote as HTML is shown. Arrows: ↑ higher is better, ↓ lower is "
        "better, · diagnostic.</footer></main>",
    ]
    return page(f"{m['name']} {m['version']} · {doc['title']}", "\n".join(body), js=None)
