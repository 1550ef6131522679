"""From per-clip records to numbers: one row per clip (status, reason code, values), ``per_clip.csv``, and one
entry per result key (macro mean over clips with a subject-bootstrap interval, or a set-level value), each
failure carried as a code from ``headswapbench.reasons`` beside its message."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_write_text
from ..reasons import Reason
from ..runner import DONE
from .metric import ClipMetric, SetMetric
from .stats import aggregate

SWAP_CODES = {Reason.SWAP_FAILED.value, Reason.SWAP_TIMEOUT.value, Reason.NO_OUTPUT.value, Reason.INVALID_OUTPUT.value}


def swap_failure_code(record: dict) -> str:
    """The code of a failed swap record: the one the failure carried when it is a swap code, else swap_failed."""
    code = record.get("code")
    return code if code in SWAP_CODES else Reason.SWAP_FAILED.value


def result_keys(metric_objs: list) -> list[str]:
    return [k for m in metric_objs if isinstance(m, ClipMetric) for k in m.keys]


def per_clip_rows(rows, report, score_records: dict, metric_objs: list) -> list[dict]:
    """One row per clip of this run: clip_id, subject_id, status, code, reason, errors, then every clip key."""
    keys = result_keys(metric_objs)
    out = []
    for r in rows:
        row: dict[str, Any] = {"clip_id": r.clip_id, "subject_id": r.subject_id, "errors": {}}
        rec = score_records.get(r.clip_id)
        if r.clip_id in report.problems:
            row.update(status="invalid", code=report.codes.get(r.clip_id, Reason.INVALID_OUTPUT.value),
                       reason="; ".join(report.problems[r.clip_id]))
        elif rec is None:
            row.update(status="pending", code=None, reason="not scored")
        elif rec["status"] != DONE:
            code = rec.get("code")
            row.update(status=rec["status"], reason=rec.get("reason", ""),
                       code=code if code not in (None, Reason.ERROR.value) else Reason.SCORE_FAILED.value)
        else:
            errs = (rec.get("result") or {}).get("errors") or {}
            errs = {k: (v if isinstance(v, dict) else {"code": Reason.METRIC_FAILED.value, "message": str(v)})
                    for k, v in errs.items()}
            row.update(status=DONE, errors=errs, code=Reason.METRIC_FAILED.value if errs else None,
                       reason="; ".join(f"{k}: {v['message']}" for k, v in errs.items()))
        scores = ((rec or {}).get("result") or {}).get("scores", {}) if row["status"] == DONE else {}
        for k in keys:
            v = scores.get(k)
            row[k] = float(v) if v is not None else math.nan
        out.append(row)
    return out


def write_per_clip(path: Path, rows: list[dict], metric_objs: list) -> None:
    cols = ["clip_id", "subject_id", "status", "code", "reason", *result_keys(metric_objs)]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None or (isinstance(v, float) and math.isnan(v)) else
                        (repr(v) if isinstance(v, float) else v)) for k, v in r.items()})
    atomic_write_text(path, buf.getvalue())


def unavailable(code: str, reason: str, **extra: Any) -> dict[str, Any]:
    """The entry of a key that has no number, with its code and the reason in words."""
    return {"mean": None, "ci95": None, "n": 0, "available": False, "code": str(code), "reason": str(reason), **extra}


def _failures(scored: list[dict], metric_name: str) -> list[str]:
    return [r["errors"][metric_name]["message"] for r in scored if metric_name in r.get("errors", {})]


def clip_entries(m: ClipMetric, scored: list[dict], replicates: int, seed: int, level: float) -> dict[str, dict]:
    out = {}
    failed = _failures(scored, m.name)
    for k in m.keys:
        a = aggregate(scored, k, resamples=replicates, seed=seed, level=level)
        if failed:
            a["failed_clips"] = len(failed)
        if a["mean"] is not None:
            out[k] = dict(a, available=True)
        elif failed:
            out[k] = unavailable(Reason.METRIC_FAILED, f"failed on {len(failed)} of {len(scored)} clips: {failed[0]}",
                                 n_nan=a["n_nan"], failed_clips=len(failed))
        elif scored:
            out[k] = unavailable(Reason.METRIC_UNDEFINED, f"undefined (NaN) on all {len(scored)} scored clips: e.g. "
                                 "no face found, or the backend it needs is not in use", n_nan=a["n_nan"])
        else:
            out[k] = unavailable(Reason.SCORE_FAILED, "no clip could be scored")
    return out


def set_entries(m: SetMetric, scored: list[dict], features_dir: Path) -> dict[str, dict]:
    """Fold the stored per-clip features of ``m`` into its set-level value(s)."""
    m.reset()
    n_feat = 0
    for row in scored:
        path = features_dir / f"{row['clip_id']}.npz"
        if not path.exists():
            continue
        with np.load(path) as z:
            feats = {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(m.name + "/")}
        if feats:
            m.add(feats)
            n_feat += 1
    failed = _failures(scored, m.name)
    code, why = None, ""
    try:
        values = m.compute() if n_feat else {}
    except Exception as exc:  # noqa: BLE001 - recorded as the reason it is unavailable
        values, code, why = {}, Reason.METRIC_FAILED, f"{type(exc).__name__}: {exc}"
    if not n_feat:
        code, why = ((Reason.METRIC_FAILED, f"failed on {len(failed)} of {len(scored)} clips: {failed[0]}") if failed
                     else (Reason.SCORE_FAILED, "no clip produced features"))
    counts = dict(m.counts()) if n_feat else {}
    out = {}
    for k in m.keys:
        v = values.get(k)
        if v is None or not math.isfinite(float(v)):
            out[k] = unavailable(code or Reason.METRIC_UNDEFINED,
                                 why or f"{m.name} is undefined on this set ({counts or 'no counts'})")
        else:
            out[k] = {"mean": float(v), "ci95": None, "n": counts.get("clips", n_feat), "available": True, **counts}
    return out


__all__ = ["clip_entries", "per_clip_rows", "result_keys", "set_entries", "swap_failure_code", "unavailable",
           "write_per_clip"]
