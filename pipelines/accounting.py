"""The build's ledger: the fate of every input video and of every clip cut from it, with reason codes and hints.

Read from the stage manifests (and the package step's decisions), never from the sentences in them. Two
balances hold by construction, per input and in total, and tests assert them:

    videos in  = used + Σ skipped by reason + Σ failed by reason + pending
    clips cut  = kept + Σ rejected by reason + pending

A video is *used* when ingest cut it into clip windows, *skipped* when ingest refused all of it (the code says
why), *failed* on an unforeseen error (retried on the next run), *pending* when a later run or another shard
still has to ingest it. Every clip window a used (or fully rejected) video gave is *cut*; each ends *kept* (a
row of the dataset), *rejected* at ingest (its window), edit, filter or package with one code, or *pending*
(a stage after it has not run yet). Failed items count as rejections under their code (``error`` for a bug).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping, Sequence

from headswapbench.reasons import DESCRIPTIONS, HINTS, Reason, code_of

DONE, SKIPPED, FAILED = "done", "skipped", "failed"
CLIP_STAGES = ("ingest", "edit", "filter", "package")
RETRY_HINT = "a failure, not a verdict: rerun the build to retry it (the traceback is in the stage's manifest)"


def hint_for(code: Reason, status: str = SKIPPED) -> str:
    """What would change the outcome: ``reasons.HINTS``; a failure is retried by rerunning."""
    if status == FAILED:
        return f"{HINTS[code]}; or {RETRY_HINT}" if code in HINTS and code != Reason.ERROR else RETRY_HINT
    return HINTS.get(code, "")


class _Input:
    """One input video's ledger while it is being filled."""

    def __init__(self, key: str, path: str):
        self.key, self.path = key, path
        self.fate, self.skip = "pending", None
        self.cut = self.kept = self.pending = 0
        self.groups: dict[tuple[str, str, str], dict[str, str]] = {}  # (stage, code, status) → clip → detail

    def reject(self, stage: str, clip_id: str, record: Mapping) -> None:
        code = code_of(record.get("code"))
        status = FAILED if record.get("status") == FAILED else SKIPPED
        self.groups.setdefault((stage, code.value, status), {})[clip_id] = str(record.get("reason") or
                                                                                DESCRIPTIONS[code])

    def as_dict(self) -> dict:
        rejections = []
        for (stage, code, status), clips in sorted(self.groups.items(),
                                                   key=lambda kv: (CLIP_STAGES.index(kv[0][0]), kv[0][1])):
            rejections.append({"stage": stage, "code": code, "status": status, "count": len(clips),
                               "hint": hint_for(Reason(code), status), "clips": dict(sorted(clips.items()))})
        by_reason: Counter = Counter()
        for r in rejections:
            by_reason[r["code"]] += r["count"]
        return {"input": self.path, "video_id": self.key, "fate": self.fate,
                **({"skip": self.skip} if self.skip else {}),
                "clips_cut": self.cut, "kept": self.kept, "pending": self.pending,
                "rejected": sum(by_reason.values()), "rejected_by_reason": dict(sorted(by_reason.items())),
                "rejections": rejections}


def account(videos: Sequence[tuple[str, str]], ingest: Mapping[str, dict], edit: Mapping[str, dict],
            filtered: Mapping[str, dict], package: Mapping | None) -> dict:
    """Ledger of a build: ``inputs`` (one entry per video), ``totals`` and the ``reasons`` seen.

    ``videos``: (video id, path relative to RAW_DIR) of every input found; ``ingest``/``edit``/``filtered``: the
    stages' merged manifest records; ``package``: the package step's ``{"kept": [clip ids], "dropped": {clip id:
    {code, reason}}}``, or None when it has not run (clips past the filter are then pending)."""
    entries: dict[str, _Input] = {key: _Input(key, path) for key, path in videos}
    for key in ingest:
        entries.setdefault(key, _Input(key, key))  # recorded but no longer in RAW_DIR: still accounted
    kept = set((package or {}).get("kept") or ())
    dropped = (package or {}).get("dropped") or {}
    for key, e in entries.items():
        rec = ingest.get(key)
        if rec is None:
            continue
        result = rec.get("result") or {}
        for window in result.get("rejected_clips") or ():
            e.cut += 1
            e.reject("ingest", window["clip_id"], window)
        if rec["status"] != DONE:
            code = code_of(rec.get("code"))
            e.fate = FAILED if rec["status"] == FAILED else SKIPPED
            e.skip = {"code": code.value, "reason": rec.get("reason") or DESCRIPTIONS[code],
                      "hint": hint_for(code, rec["status"])}
            continue
        e.fate = "used"
        for clip in result.get("clips") or ():
            cid = clip["clip_id"]
            e.cut += 1
            er, fr = edit.get(cid), filtered.get(cid)
            if er is None:
                e.pending += 1
            elif er["status"] != DONE:
                e.reject("edit", cid, er)
            elif fr is None:
                e.pending += 1
            elif fr["status"] != DONE:
                e.reject("filter", cid, fr)
            elif cid in dropped:
                e.reject("package", cid, dropped[cid])
            elif cid in kept:
                e.kept += 1
            else:
                e.pending += 1  # the package step has not run (or another shard's)
    inputs = [e.as_dict() for e in sorted(entries.values(), key=lambda e: e.path)]
    return {"inputs": inputs, "totals": _totals(inputs), "reasons": _reasons(inputs)}


def _totals(inputs: list[dict]) -> dict:
    fates = Counter(i["fate"] for i in inputs)
    skipped = Counter(i["skip"]["code"] for i in inputs if i["fate"] == SKIPPED)
    failed = Counter(i["skip"]["code"] for i in inputs if i["fate"] == FAILED)
    by_reason: Counter = Counter()
    by_stage: dict[str, Counter] = {}
    for i in inputs:
        for r in i["rejections"]:
            by_reason[r["code"]] += r["count"]
            by_stage.setdefault(r["stage"], Counter())[r["code"]] += r["count"]
    return {
        "videos": {"in": len(inputs), "used": fates["used"], "skipped_by_reason": dict(sorted(skipped.items())),
                   "failed_by_reason": dict(sorted(failed.items())), "pending": fates["pending"],
                   "with_kept_clips": sum(1 for i in inputs if i["kept"])},
        "clips": {"cut": sum(i["clips_cut"] for i in inputs), "kept": sum(i["kept"] for i in inputs),
                  "pending": sum(i["pending"] for i in inputs), "rejected": sum(by_reason.values()),
                  "rejected_by_reason": dict(sorted(by_reason.items())),
                  "rejected_by_stage": {s: dict(sorted(by_stage[s].items())) for s in CLIP_STAGES if s in by_stage}},
    }


def _reasons(inputs: list[dict]) -> dict:
    """Every code seen, with its stage(s), meaning, hint and how many videos and clips it took."""
    videos: Counter = Counter(i["skip"]["code"] for i in inputs if i.get("skip"))
    clips: Counter = Counter()
    stages: dict[str, set] = {}
    for i in inputs:
        if i.get("skip"):
            stages.setdefault(i["skip"]["code"], set()).add("ingest")
        for r in i["rejections"]:
            clips[r["code"]] += r["count"]
            stages.setdefault(r["code"], set()).add(r["stage"])
    out = {}
    for code in sorted(stages, key=lambda c: (-(videos[c] + clips[c]), c)):
        reason = Reason(code)
        out[code] = {"stages": [s for s in CLIP_STAGES if s in stages[code]], "videos": videos[code],
                     "clips": clips[code], "description": DESCRIPTIONS[reason], "hint": HINTS.get(reason, "")}
    return out


def rejected_clips(ledger: dict) -> dict[str, dict]:
    """clip_id → {input, stage, code, status, reason, hint} of every rejected clip (for per-clip views such as
    the contact sheet: one place decides a clip's fate)."""
    out = {}
    for i in ledger["inputs"]:
        for r in i["rejections"]:
            for cid, detail in r["clips"].items():
                out[cid] = {"input": i["input"], "stage": r["stage"], "code": r["code"], "status": r["status"],
                            "reason": detail, "hint": r["hint"]}
    return out


def check_balance(ledger: dict) -> list[str]:
    """The sums that must hold (empty when they all do): per input and in total."""
    problems = []
    for i in ledger["inputs"]:
        if i["clips_cut"] != i["kept"] + i["pending"] + sum(i["rejected_by_reason"].values()):
            problems.append(f"{i['input']}: {i['clips_cut']} cut != {i['kept']} kept + {i['pending']} pending + "
                            f"{i['rejected_by_reason']}")
    v, c = ledger["totals"]["videos"], ledger["totals"]["clips"]
    if v["in"] != v["used"] + v["pending"] + sum(v["skipped_by_reason"].values()) + sum(v["failed_by_reason"].values()):
        problems.append(f"videos: {v}")
    if c["cut"] != c["kept"] + c["pending"] + sum(c["rejected_by_reason"].values()):
        problems.append(f"clips: {c}")
    return problems


INPUT_COLUMNS = ["input", "fate", "clips_cut", "kept", "pending", "rejected", "rejected_by_reason", "video_code",
                 "video_reason"]


def inputs_csv(inputs: list[dict]) -> str:
    """One row per input (for many inputs: grep it, sort it, open it in a spreadsheet)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, INPUT_COLUMNS, lineterminator="\n")
    w.writeheader()
    for i in inputs:
        skip = i.get("skip") or {}
        w.writerow({**{k: i[k] for k in INPUT_COLUMNS[:6]},
                    "rejected_by_reason": ";".join(f"{k}={n}" for k, n in i["rejected_by_reason"].items()),
                    "video_code": skip.get("code", ""), "video_reason": skip.get("reason", "")})
    return buf.getvalue()
