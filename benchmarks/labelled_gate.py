"""The artifact gate against hand labels: every edited clip of a build, judged by eye (mid-frame strips
V_c | V_a) as clean or broken, in benchmarks/labels/*.csv (columns clip_id, label, defect).

    python -m benchmarks.labelled_gate OUT benchmarks/labels/warp_v2_shared_48f_256.csv

OUT is the build folder the labels were made on (its .work/ holds the ingest and edit stages). Prints per clip
the gate's scores and, over all clips, precision / recall of "rejected as edit_artifact" for "broken"."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def clip_pairs(out: Path) -> dict[str, tuple[Path, Path]]:
    """clip id → (V_a, V_c) of a build's work folder: the ingest and edit stage folders its build report names
    (a folder rebuilt with other settings keeps older stage folders beside them)."""
    stages = json.loads((out / "build_report.json").read_text())["stages"]
    edit, ingest = out / stages["edit"]["folder"], out / stages["ingest"]["folder"]
    pairs = {}
    for line in (edit / "manifest.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("status") == "done":
            pairs[r["item_id"]] = (ingest / "clips" / f"{r['item_id']}.mp4", edit / r["result"]["file"])
    return pairs


def score_build(out: Path, labels: Path, settings=None) -> list[dict]:
    from headswapbench.pipelines.artifacts import artifact_scores

    from headswapbench.face import analyze_video

    pairs = clip_pairs(out)
    rows = []
    with open(labels, newline="") as f:
        for lab in csv.DictReader(f):
            if lab["clip_id"] not in pairs:
                continue
            va, vc = pairs[lab["clip_id"]]
            a = analyze_video(va, identity=None, progress=False)
            c = analyze_video(vc, identity=None, progress=False)
            rows.append({**lab, **artifact_scores(va, vc, a, c, settings)})
    return rows


def precision_recall(rows: list[dict]) -> dict:
    rejected = [r["artifact_score"] is None or r["artifact_score"] >= 1.0 for r in rows]
    broken = [r["label"] == "broken" for r in rows]
    tp = sum(r and b for r, b in zip(rejected, broken))
    return {"clips": len(rows), "broken": sum(broken), "rejected": sum(rejected), "true_positives": tp,
            "precision": round(tp / max(sum(rejected), 1), 3), "recall": round(tp / max(sum(broken), 1), 3),
            "clean_kept": sum((not r) and (not b) for r, b in zip(rejected, broken))}


if __name__ == "__main__":
    rows = score_build(Path(sys.argv[1]), Path(sys.argv[2]))
    Path(sys.argv[3] if len(sys.argv) > 3 else "labelled_gate.json").write_text(json.dumps(rows, indent=1, default=str))
    print(json.dumps(precision_recall(rows), indent=1))
