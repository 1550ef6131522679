"""Reason codes: the fixed set is complete and documented, and the runner and the build report carry codes as
data (records hold ``code`` beside the sentence; counts group by code, never by message text)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from headswapbench.pipelines.build import Build, BuildConfig

from headswapbench.errors import HeadSwapBenchError, VideoError
from headswapbench.reasons import BUILD_GROUPS, DESCRIPTIONS, GROUPS, HINTS, Reason, code_of
from headswapbench.runner import DONE, FAILED, SKIPPED, Manifest, SkipItem, Stage, run_stage

DOCS = Path(__file__).resolve().parents[1] / "docs" / "build.md"


def test_every_code_has_one_group_and_a_description():
    grouped = [c for codes in GROUPS.values() for c in codes]
    assert sorted(grouped) == sorted(Reason) and len(grouped) == len(set(grouped))
    assert set(DESCRIPTIONS) == set(Reason) and all(d.strip() for d in DESCRIPTIONS.values())
    assert set(BUILD_GROUPS) <= set(GROUPS)
    assert code_of("no_face") is Reason.NO_FACE
    assert code_of("not a code") is Reason.ERROR and code_of(None) is Reason.ERROR


def test_every_build_time_code_has_a_hint():
    build_codes = {c for g in BUILD_GROUPS for c in GROUPS[g]}
    assert build_codes - set(HINTS) == set()
    assert all(isinstance(c, Reason) and h.strip() for c, h in HINTS.items())
    assert "--ref-gap" in HINTS[Reason.NO_REFERENCE] and "--frames" in HINTS[Reason.TOO_SHORT]


def test_docs_table_lists_every_code_with_its_meaning_and_hint():
    text = DOCS.read_text()
    section = text[text.index("## Reason codes"):]
    section = section[: section.index("\n## ", 3)]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\| `(\w+)` \| (\w+) \| (.*) \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3).strip(), m.group(4).strip())
    expected = {c.value: (g, DESCRIPTIONS[c], HINTS.get(c, "")) for g, codes in GROUPS.items() for c in codes}
    table = "\n".join(f"| `{c}` | {g} | {d} | {h} |" for c, (g, d, h) in expected.items())
    assert rows == expected, f"docs/build.md's reason table is stale; it should read:\n{table}"


class _NotOurs(Exception):
    code = 404  # an HTTP-style code on another library's error is not a reason code


def _stage(item_id: str, payload):
    if payload == "skip":
        raise SkipItem(Reason.TOO_SHORT, "8 frames, fewer than one 16-frame clip", frames=8)
    if payload == "skip-bare":
        raise SkipItem(Reason.NO_FACE)
    if payload == "video":
        raise VideoError("/x/clip.mp4", "truncated: header declares 9 frames but only 3 are present",
                         Reason.TRUNCATED)
    if payload == "bug":
        raise ZeroDivisionError("division by zero")
    if payload == "foreign":
        raise _NotOurs("not found")
    if payload == "ours-no-code":
        raise HeadSwapBenchError("something the toolkit refused")
    return {"ok": True}


def test_runner_records_carry_the_code_beside_the_sentence(tmp_path):
    items = [("a", "ok"), ("b", "skip"), ("c", "skip-bare"), ("d", "video"), ("e", "bug"), ("f", "foreign"),
             ("g", "ours-no-code")]
    res = run_stage(Stage("t", _stage), items, tmp_path / "m.jsonl", progress=False)
    r = res.records
    assert r["a"]["status"] == DONE and "code" not in r["a"]
    assert r["b"]["status"] == SKIPPED and r["b"]["code"] == "too_short"
    assert r["b"]["reason"] == "8 frames, fewer than one 16-frame clip" and r["b"]["result"] == {"frames": 8}
    assert r["c"]["code"] == "no_face" and r["c"]["reason"] == DESCRIPTIONS[Reason.NO_FACE]  # no detail given
    assert r["d"]["status"] == FAILED and r["d"]["code"] == "truncated"  # the error's own code
    assert "header declares 9 frames" in r["d"]["reason"]
    assert [r[k]["code"] for k in "efg"] == ["error"] * 3 and "ZeroDivisionError" in r["e"]["reason"]
    assert res.reasons() == {"too_short": 1, "no_face": 1, "truncated": 1, "error": 3}
    # the codes survive the manifest round trip (what a resumed run and the build report read)
    back = Manifest(tmp_path / "m.jsonl").load()
    assert {k: v.get("code") for k, v in back.items()} == {k: v.get("code") for k, v in r.items()}
    assert all(isinstance(v.get("code", ""), str) for v in back.values())


def test_skip_with_an_unknown_code_is_a_bug_not_a_skip():
    with pytest.raises(ValueError):
        SkipItem("too_shrot", "typo")
    with pytest.raises(ValueError):
        VideoError("/x.mp4", "cause", "not_a_code")


def test_build_report_counts_by_code(tmp_path):
    """Stage, clip-level and package counts come from the records' codes (a sentence that happens to start with
    another code's name does not move the count)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    build = Build(BuildConfig(raw_dir=raw, out_dir=tmp_path / "out", progress=False))
    recs = [
        {"item_id": "v1", "status": DONE, "result": {"clips": [{"clip_id": "v1_0"}], "rejected_clips": [
            {"clip_id": "v1_1", "code": "blurry", "reason": "face sharpness 12.0 < 40.0"},
            {"clip_id": "v1_2", "code": "head_motion", "reason": "blurry: a sentence is never parsed"},
        ]}},
        {"item_id": "v2", "status": SKIPPED, "code": "no_video_stream", "reason": "no video stream", "result": {}},
        {"item_id": "v3", "status": SKIPPED, "code": "truncated", "reason": "unreadable: says the sentence",
         "result": {"rejected_clips": [{"clip_id": "v3_0", "code": "head_cut_off", "reason": "…"}]}},
        {"item_id": "v4", "status": FAILED, "code": "error", "reason": "RuntimeError: boom"},
    ]
    manifest = build.manifest_path("ingest")
    manifest.parent.mkdir(parents=True)
    manifest.write_text("".join(json.dumps(r) + "\n" for r in recs))
    dropped = {"v1_0": {"code": "no_reference", "reason": "no frontal, sharp frame of subject s"}}
    report = build.report({"rows": 0, "dropped": dropped, "summary": None}, ["ingest", "package"])
    ingest = report["stages"]["ingest"]
    assert ingest["rejected_by_reason"] == {"no_video_stream": 1, "truncated": 1, "error": 1}
    assert ingest["clips_rejected_by_reason"] == {"blurry": 1, "head_motion": 1, "head_cut_off": 1}
    assert ingest["failures"] == ["v4: RuntimeError: boom"]
    assert report["stages"]["package"]["rejected_by_reason"] == {"no_reference": 1}
