"""The build's ledger (pipelines/accounting.py) on hand-made manifest records: every input and clip gets one
fate, the sums add up per input and in total, hints come from reasons.HINTS, and the printed table stays
readable for 6 inputs and for 600. The real build's ledger is checked in tests/test_build.py."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from headswapbench.pipelines.accounting import RETRY_HINT, account, check_balance, inputs_csv, rejected_clips
from headswapbench.pipelines.package import cap_clips_per_subject

from headswapbench.cli.build import MAX_INPUT_ROWS, render_report
from headswapbench.reasons import HINTS, Reason
from tests.helpers.split_rows import make_row as _row


def _done(result):
    return {"status": "done", "result": result}


def _skip(code, reason, status="skipped", **result):
    return {"status": status, "code": code, "reason": reason, "result": result}


VIDEOS = [("a", "a.mp4"), ("sub-b", "sub/b.mp4"), ("c", "c.mp4"), ("d", "d.mp4"), ("e", "e.mp4"),
          ("f", "f.mp4")]
INGEST = {
    "a": _done({"clips": [{"clip_id": f"a_{i}"} for i in range(6)],
                "rejected_clips": [{"clip_id": "a_9", "code": "head_cut_off", "reason": "needs 900 px, frame 640x480"}]}),
    "sub-b": _skip("too_short", "40 frames, fewer than one 48-frame clip"),
    "c": _skip("blurry", "face sharpness 12 < 40", rejected_clips=[
        {"clip_id": "c_0", "code": "blurry", "reason": "face sharpness 12 < 40"},
        {"clip_id": "c_1", "code": "blurry", "reason": "face sharpness 15 < 40"}]),
    "d": _skip("error", "RuntimeError: boom", status="failed"),
    # e: not ingested yet (another shard); f: used, nothing past ingest yet
    "f": _done({"clips": [{"clip_id": "f_0"}], "rejected_clips": []}),
    "gone": _skip("no_face", "no face found in 80% of frames"),  # recorded, since removed from RAW_DIR
}
EDIT = {"a_0": _done({}), "a_1": _done({}), "a_2": _done({}), "a_3": _done({}), "a_4": _done({}),
        "a_5": _skip("error", "ZeroDivisionError: division by zero", status="failed")}
FILTER = {"a_0": _done({}), "a_1": _skip("landmark_desync", "NME 0.07 > 0.06"), "a_2": _done({}),
          "a_3": _done({}), "a_4": _done({})}
PACKAGE = {"kept": ["a_0", "a_2"], "dropped": {"a_3": {"code": "no_reference", "reason": "no frame 2 s away"},
                                               "a_4": {"code": "subject_cap", "reason": "subject s has 3 clips"}}}


def test_every_input_and_clip_has_one_fate_and_the_sums_add_up():
    ledger = account(VIDEOS, INGEST, EDIT, FILTER, PACKAGE)
    assert check_balance(ledger) == []
    by = {i["input"]: i for i in ledger["inputs"]}
    assert list(by) == sorted(by) and set(by) == {p for _, p in VIDEOS} | {"gone"}
    a = by["a.mp4"]
    assert (a["fate"], a["clips_cut"], a["kept"], a["pending"]) == ("used", 7, 2, 0)
    assert a["rejected_by_reason"] == {"head_cut_off": 1, "error": 1, "landmark_desync": 1, "no_reference": 1,
                                       "subject_cap": 1}
    stages = [(r["stage"], r["code"], r["status"]) for r in a["rejections"]]
    assert stages == [("ingest", "head_cut_off", "skipped"), ("edit", "error", "failed"),
                      ("filter", "landmark_desync", "skipped"), ("package", "no_reference", "skipped"),
                      ("package", "subject_cap", "skipped")]
    first = a["rejections"][0]
    assert first["clips"] == {"a_9": "needs 900 px, frame 640x480"} and first["hint"] == HINTS[Reason.HEAD_CUT_OFF]
    assert a["rejections"][1]["hint"] == RETRY_HINT
    assert by["sub/b.mp4"]["fate"] == "skipped" and by["sub/b.mp4"]["skip"] == {
        "code": "too_short", "reason": "40 frames, fewer than one 48-frame clip", "hint": HINTS[Reason.TOO_SHORT]}
    c = by["c.mp4"]  # every window rejected: the video is skipped, and its two windows are accounted as clips
    assert (c["fate"], c["clips_cut"], c["rejected_by_reason"]) == ("skipped", 2, {"blurry": 2})
    assert by["d.mp4"]["fate"] == "failed" and by["d.mp4"]["skip"]["hint"] == RETRY_HINT
    assert by["e.mp4"]["fate"] == "pending" and by["e.mp4"]["clips_cut"] == 0
    assert (by["f.mp4"]["clips_cut"], by["f.mp4"]["pending"]) == (1, 1)
    v, c = ledger["totals"]["videos"], ledger["totals"]["clips"]
    assert v == {"in": 7, "used": 2, "skipped_by_reason": {"blurry": 1, "no_face": 1, "too_short": 1},
                 "failed_by_reason": {"error": 1}, "pending": 1, "with_kept_clips": 1}
    assert (c["cut"], c["kept"], c["pending"], c["rejected"]) == (10, 2, 1, 7)
    assert c["rejected_by_stage"] == {"ingest": {"blurry": 2, "head_cut_off": 1}, "edit": {"error": 1},
                                      "filter": {"landmark_desync": 1},
                                      "package": {"no_reference": 1, "subject_cap": 1}}
    reasons = ledger["reasons"]
    assert reasons["blurry"]["videos"] == 1 and reasons["blurry"]["clips"] == 2
    assert reasons["no_reference"]["hint"] == HINTS[Reason.NO_REFERENCE]
    assert list(reasons)[0] == "blurry"  # most frequent first
    per_clip = rejected_clips(ledger)
    assert len(per_clip) == c["rejected"] and per_clip["a_1"] == {
        "input": "a.mp4", "stage": "filter", "code": "landmark_desync", "status": "skipped",
        "reason": "NME 0.07 > 0.06", "hint": HINTS[Reason.LANDMARK_DESYNC]}


def test_without_the_package_step_clips_past_the_filter_are_pending():
    ledger = account(VIDEOS, INGEST, EDIT, FILTER, None)
    a = next(i for i in ledger["inputs"] if i["input"] == "a.mp4")
    assert (a["kept"], a["pending"]) == (0, 4) and check_balance(ledger) == []  # a_0, a_2, a_3, a_4


def test_a_broken_ledger_is_caught():
    ledger = account(VIDEOS, INGEST, EDIT, FILTER, PACKAGE)
    ledger["inputs"][0]["kept"] += 1
    ledger["totals"]["videos"]["used"] += 1
    assert len(check_balance(ledger)) == 2


def _report(ledger) -> dict:
    return {**ledger, "stages": {"ingest": {"items": 7, "done": 2, "skipped": 4, "failed": 1}}, "warnings":
            ["split 'test' has 1 subject(s), fewer than 10: ..."],
            "splits": {"test": {"subjects": 1, "clips": 2, "clips_per_subject": {"min": 2, "median": 2.0, "max": 2},
                                "largest_subject": {"subject_id": "s", "clips": 2, "share": 1.0},
                                "identity_leak_baseline": {"top1": None, "chance": 1.0}}}}


def test_table_for_a_few_inputs_has_a_row_per_input_and_the_hints():
    text = render_report(_report(account(VIDEOS, INGEST, EDIT, FILTER, PACKAGE)), Path("OUT"))
    assert text.startswith("7 input video(s): 2 used, 1 skipped blurry, 1 skipped no_face, 1 skipped too_short, "
                           "1 skipped error (failed), 1 not ingested yet\n10 clip(s) cut: 2 kept, 7 rejected, 1 pending")
    rows = [line.split() for line in text.splitlines()]
    assert ["a.mp4", "used", "7", "2", "5", "error=1,", "head_cut_off=1,", "landmark_desync=1,", "no_reference=1,",
            "subject_cap=1"] in rows
    assert any(r[:6] == ["sub/b.mp4", "skipped", "0", "0", "0", "too_short:"] for r in rows)
    assert ["total", "10", "2", "7"] in rows
    assert f"      → {HINTS[Reason.NO_REFERENCE]}" in text
    assert "warning: split 'test' has 1 subject(s)" in text and "OUT/build_inputs.csv" in text


def test_table_for_600_inputs_stays_short_and_points_to_the_csv():
    videos = [(f"v{i:03d}", f"v{i:03d}.mp4") for i in range(600)]
    ingest = {k: (_skip("no_face", "no face found in 90% of frames") if i % 50 == 0 else
                  _done({"clips": [{"clip_id": f"{k}_0"}], "rejected_clips": []}))
              for i, (k, _) in enumerate(videos)}
    edit = {f"{k}_0": _done({}) for k, _ in videos}
    filt = {f"{k}_0": _done({}) for k, _ in videos}
    ledger = account(videos, ingest, edit, filt, {"kept": [f"{k}_0" for k, _ in videos], "dropped": {}})
    assert check_balance(ledger) == [] and ledger["totals"]["videos"]["skipped_by_reason"] == {"no_face": 12}
    text = render_report(_report(ledger), Path("OUT"))
    assert len(text.splitlines()) < 40 and len(videos) > MAX_INPUT_ROWS
    assert "600 inputs: one row each in OUT/build_inputs.csv; 12 gave no kept clip, the first 10:" in text
    assert "v000.mp4" in text and "v550.mp4" not in text
    rows = list(csv.DictReader(io.StringIO(inputs_csv(ledger["inputs"]))))
    assert len(rows) == 600 and rows[0]["video_code"] == "no_face" and rows[1]["kept"] == "1"


def test_subject_cap_keeps_the_best_synchronised_clips_deterministically():
    rows = [_row("c0", "s0"), _row("c1", "s0"), _row("c2", "s0"), _row("c3", "s1")]
    for r, nme in zip(rows, (0.03, 0.01, None, 0.05)):
        r.sync_nme = nme
    kept, dropped = cap_clips_per_subject(rows, 1)
    assert [r.clip_id for r in kept] == ["c1", "c3"]
    assert set(dropped) == {"c0", "c2"} and {d["code"] for d in dropped.values()} == {"subject_cap"}
    again, _ = cap_clips_per_subject(list(reversed(rows)), 1)
    assert sorted(r.clip_id for r in again) == ["c1", "c3"]  # order of the input does not matter
    kept, dropped = cap_clips_per_subject(rows, 2)
    assert [r.clip_id for r in kept] == ["c0", "c1", "c3"] and list(dropped) == ["c2"]  # no score: dropped first
