"""Contact sheet of a build: every clip, kept or rejected, as a mid-frame strip V_c | I_ref | V_a with its scores
and its fate, in one self-contained HTML file (``OUT_DIR/contact_sheet.html``).

Numbers cannot show a smear; a glance at 100 strips can. The page opens from disk with no network: images
are inline JPEG data URIs, all text is escaped, and a few lines of inline JavaScript sort the table by any
column (click a header; again to reverse) and filter kept / rejected rows.

    from headswapbench.pipelines.contact_sheet import SheetRow, write_contact_sheet
    write_contact_sheet(rows, "OUT/contact_sheet.html", title="my build")
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from headswapbench.fileio import atomic_write_text

STRIP_HEIGHT = 160  # pixels per tile in the strip
# score columns shown (and sortable), in order: key in the filter record → column title
SCORE_COLUMNS = {
    "artifact_score": "artifact score",
    "sync_nme": "landmark NME",
    "sync_expression_dynamic": "expression error",
    "sync_pose_worst_axis": "pose error (°)",
    "identity_similarity_to_target": "identity sim.",
}


@dataclass
class SheetRow:
    """One clip on the sheet. ``status`` is 'kept' or 'rejected'; ``stage`` the stage that rejected it."""

    clip_id: str
    subject: str = ""
    status: str = "kept"
    stage: str = ""
    code: str = ""
    detail: str = ""
    driving: str | Path | None = None
    target: str | Path | None = None
    reference: str | Path | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    editor_note: str = ""  # e.g. the warp editor's donor


def _mid_frame(path: str | Path | None) -> np.ndarray | None:
    if not path or not Path(path).is_file():
        return None
    from headswapbench.video import probe, read_frames

    try:
        info = probe(path)
        n = info.cfr_num_frames()
        return read_frames(path, [max(n // 2, 0)], info)[0]
    except Exception:  # a broken file shows as a blank tile; the row still says what happened
        return None


def _image(path: str | Path | None) -> np.ndarray | None:
    if not path or not Path(path).is_file():
        return None
    from headswapbench.video import read_image

    try:
        return read_image(path)
    except Exception:
        return None


def strip(driving: np.ndarray | None, reference: np.ndarray | None, target: np.ndarray | None,
          height: int = STRIP_HEIGHT) -> np.ndarray:
    """V_c | I_ref | V_a side by side at ``height`` px (a grey tile where one is missing)."""
    from headswapbench.video import resize_image

    tiles = []
    for img in (driving, reference, target):
        if img is None:
            tiles.append(np.full((height, height, 3), 96, np.uint8))
            continue
        w = max(1, round(img.shape[1] * height / img.shape[0]))
        tiles.append(resize_image(np.ascontiguousarray(img[..., :3]), (w, height)))
    gap = np.full((height, 3, 3), 255, np.uint8)
    return np.concatenate([tiles[0], gap, tiles[1], gap, tiles[2]], axis=1)


def data_uri(img: np.ndarray, quality: int = 82) -> str:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the strip as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _cell(value: Any, digits: int = 3) -> str:
    f = _num(value)
    if f is None:
        return '<td class="num" data-v="">–</td>'
    return f'<td class="num" data-v="{f!r}">{f:.{digits}f}</td>'


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;vertical-align:middle;text-align:left}
th[data-key]{cursor:pointer;user-select:none;background:#f4f4f4}
th[aria-sort=ascending]::after{content:" \\25B2"} th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.rejected td.status{color:#b00020;font-weight:600} tr.kept td.status{color:#1b7a1b;font-weight:600}
td.detail{max-width:28em;font-size:90%;color:#555}
img.strip{display:block;height:STRIPpx}
.legend{color:#555}
"""

_JS = """
(function(){
  var table=document.getElementById('sheet'), body=table.tBodies[0];
  function key(td){var v=td.getAttribute('data-v'); if(v===null){v=td.textContent;}
    var n=parseFloat(v); return (v!=='' && !isNaN(n) && isFinite(v)) ? n : (v===''? null : v.toLowerCase());}
  function sortBy(th){
    var idx=th.cellIndex, asc=th.getAttribute('aria-sort')!=='ascending';
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){c.removeAttribute('aria-sort');});
    th.setAttribute('aria-sort', asc?'ascending':'descending');
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){var x=key(a.cells[idx]), y=key(b.cells[idx]);
      if(x===null&&y===null)return 0; if(x===null)return 1; if(y===null)return -1;
      var r=(typeof x===typeof y)?(x<y?-1:x>y?1:0):(typeof x==='number'?-1:1); return asc?r:-r;});
    rows.forEach(function(r){body.appendChild(r);});
  }
  Array.prototype.forEach.call(table.querySelectorAll('th[data-key]'),function(th){
    th.addEventListener('click',function(){sortBy(th);});});
  var f=document.getElementById('f-status');
  f.addEventListener('change',function(){Array.prototype.forEach.call(body.rows,function(r){
    r.style.display=(!f.value||r.classList.contains(f.value))?'':'none';});});
})();
"""


def render(rows: list[SheetRow], title: str = "HeadSwapBench build", note: str = "") -> str:
    """The contact sheet's HTML (self-contained). Rows come sorted by artifact score, worst first."""
    e = html.escape
    rows = sorted(rows, key=lambda r: -(_num(r.scores.get("artifact_score")) or -1.0))
    kept = sum(r.status == "kept" for r in rows)
    by_reason: dict[str, int] = {}
    for r in rows:
        if r.status != "kept":
            by_reason[r.code or "unknown"] = by_reason.get(r.code or "unknown", 0) + 1
    reasons = ", ".join(f"{e(k)} {v}" for k, v in sorted(by_reason.items())) or "none"
    head = "".join(f'<th data-key="{e(k)}">{e(t)}</th>' for k, t in SCORE_COLUMNS.items())
    out = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>{e(title)} — contact sheet</title><style>{_CSS.replace('STRIP', str(STRIP_HEIGHT))}</style></head><body>",
        f"<h1>{e(title)} — contact sheet</h1>",
        f'<p class="legend">{len(rows)} clips: {kept} kept, {len(rows) - kept} rejected ({reasons}). '
        "Each strip is the middle frame of V_c (the edited driving clip) | I_ref (the reference) | V_a (the real "
        "target). Click a column header to sort.</p>",
        f'<p class="legend">{e(note)}</p>' if note else "",
        '<p><label>show <select id="f-status"><option value="">all</option><option value="kept">kept</option>'
        '<option value="rejected">rejected</option></select></label></p>',
        '<table id="sheet"><thead><tr><th data-key="clip">clip</th><th>V_c | I_ref | V_a</th>'
        f'<th data-key="status">status</th><th data-key="reason">reason</th>{head}'
        '<th data-key="subject">subject</th><th data-key="editor">editor</th></tr></thead><tbody>',
    ]
    for r in rows:
        img = strip(_mid_frame(r.driving), _image(r.reference), _mid_frame(r.target))
        status = "kept" if r.status == "kept" else "rejected"
        reason = e(r.code) + (f' <span class="detail">({e(r.stage)})</span>' if r.stage else "")
        cells = "".join(_cell(r.scores.get(k)) for k in SCORE_COLUMNS)
        out.append(
            f'<tr class="{status}" id="clip-{e(r.clip_id)}"><td data-v="{e(r.clip_id)}">{e(r.clip_id)}</td>'
            f'<td><img class="strip" alt="{e(r.clip_id)}: V_c | I_ref | V_a" src="{data_uri(img)}"></td>'
            f'<td class="status" data-v="{status}">{status}</td>'
            f'<td data-v="{e(r.code)}">{reason}<div class="detail">{e(r.detail)}</div></td>{cells}'
            f'<td data-v="{e(r.subject)}">{e(r.subject)}</td><td data-v="{e(r.editor_note)}" class="detail">'
            f"{e(r.editor_note)}</td></tr>")
    out.append(f"</tbody></table><script>{_JS}</script></body></html>")
    return "\n".join(out)


def write_contact_sheet(rows: list[SheetRow], path: str | Path, title: str = "HeadSwapBench build",
                        note: str = "") -> Path:
    """Write the sheet atomically; returns its path."""
    path = Path(path)
    atomic_write_text(path, render(rows, title, note))
    return path


