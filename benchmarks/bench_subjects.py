"""The measurements behind subject grouping (``pipelines.ingest.GROUPING_RULES``, docs/build.md "Subject grouping").

    python -m benchmarks subjects              # ≈ 15 min on 2 busy CPU cores (tracks are cached in the out folder)
    python -m benchmarks.bench_subjects        # the same, printed

Every embedding comes from the build's own code: ``ingest.analyse_stream`` (default ``IngestSettings``:
analysis at 512 px, one dlib embedding every 15 frames) and ``ingest.mean_identity`` over the usable frames.
People with known identities:

* the 14 videos of ../shared/data (14 different people, SOURCES.tsv) and its 12 face photos written as still
  videos (11 more people; ``lp_d19.jpg`` is a frame of ``lp_d18.mp4``, a known same-person pair);
* the embedded samples (``headswapbench.samples``: 8 real photos, SYNTHETIC animation, 2 clips each =
  8 same-person pairs), 121 frames at 256 px, grouped at ``--size 256``;
* same-person pairs made from one video: its two halves; the first half against the second re-rendered as if by
  another camera (mirrored, 1/3 resolution, darker/warmer/lower-contrast); its consecutive windows of 121, 48
  and 24 frames (8, 3 and 2 identity samples: short videos give noisier means).

Figures: per scenario the same-person and different-people similarity distributions; per grouping rule the
people split over several subjects (the unsafe error) and the people merged with another (the safe one); the
same two counts, summed over the scenarios, as each rule's limit moves (``limit_sweep``); and the similarity
distributions again with 5x more identity samples per video (``identity_every_3``).
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import SHARED_DATA, shared_videos

WINDOWS = (121, 48, 24)
RULES = {  # (sure, group, linkage): the rule in use, the one it replaced, and the alternatives measured
    "single 0.92 (before)": (0.92, 0.92, "single"),
    "average 0.92": (None, 0.92, "average"),
    "complete 0.92": (None, 0.92, "complete"),
    "single 0.96": (0.96, 0.96, "single"),
    "average 0.95": (None, 0.95, "average"),
    "sure 0.97 + average 0.95 (the rule)": (0.97, 0.95, "rule"),
}


def _camera(kind: str, frames: np.ndarray) -> np.ndarray:
    """The same footage as if from another camera or session."""
    import cv2

    if kind == "mirrored":
        return frames[:, :, ::-1]
    if kind == "low_res":
        h, w = frames.shape[1:3]
        return np.stack([cv2.resize(cv2.resize(f, (w // 3, h // 3), interpolation=cv2.INTER_AREA), (w, h))
                         for f in frames])
    x = frames.astype(np.float32) / 255.0  # "lighting": lower contrast, darker, warmer
    x = np.clip(0.5 + 0.7 * (x - 0.5), 0, 1) ** 1.6 * np.array([1.08, 1.0, 0.85], np.float32)
    return np.clip(x * 255, 0, 255).astype(np.uint8)


def _track(path: Path, cache: Path, settings) -> dict:
    """analyse_stream on one file, cached as npz (the run resumes)."""
    from headswapbench.pipelines.ingest import analyse_stream

    from headswapbench.video import probe

    f = cache / f"{path.stem}.npz"
    if not f.exists():
        t = analyse_stream(path, probe(path), settings)
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(f, found=t.found, boxes=t.boxes, pose=t.pose, others=t.others, identity=t.identity,
                 identity_frames=t.identity_frames)
    return dict(np.load(f))


def _emb(track: dict, size: int, lo: int = 0, hi: int | None = None) -> np.ndarray | None:
    """A video's (or a frame range's) identity exactly as ingest computes it, at ``--size size``."""
    from headswapbench.pipelines.ingest import FrameTrack, IngestSettings, mean_identity, usable_frames

    t = FrameTrack(track["found"], track["boxes"], track["pose"], track["others"], track["identity"],
                   track["identity_frames"])
    _, _, ok = usable_frames(t, IngestSettings(size=size))
    span = np.zeros(len(ok), bool)
    span[lo:hi] = True
    return mean_identity(t, ok & span)


def media(work: Path, identity_every: int = 15) -> dict:
    """Tracks of every input (cached under ``work``)."""
    from headswapbench.pipelines.ingest import IngestSettings

    from headswapbench.samples import write_samples
    from headswapbench.video import read_image, read_video, write_video

    s = IngestSettings(identity_every=identity_every)
    tracks = {"videos": {}, "cameras": {}, "stills": {}, "samples": {}}
    for p in shared_videos():
        tracks["videos"][p.stem] = _track(p, work / f"tracks_every{identity_every}", s)
    if identity_every != 15:
        return tracks
    for p in shared_videos():
        n = len(tracks["videos"][p.stem]["found"])
        for kind in ("mirrored", "low_res", "lighting"):
            q = work / "cameras" / f"{p.stem}__{kind}.mp4"
            if not (work / "tracks_cameras" / f"{q.stem}.npz").exists():
                v = read_video(p, start=n // 2, num_frames=n - n // 2)
                write_video(q, _camera(kind, v.frames), fps=v.fps)
            tracks["cameras"][(p.stem, kind)] = _track(q, work / "tracks_cameras", s)
    for p in sorted((SHARED_DATA / "images").iterdir()):
        q = work / "stills" / f"{p.stem}.mp4"
        if not (work / "tracks_stills" / f"{q.stem}.npz").exists():
            img = read_image(p)
            img = img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2]
            write_video(q, np.repeat(img[None], 40, 0), fps=25.0)
        tracks["stills"][p.stem] = _track(q, work / "tracks_stills", s)
    if not (work / "samples" / "samples.json").exists():
        write_samples(work / "samples", num_frames=121, size=256, progress=False)
    for p in sorted((work / "samples").glob("*.mp4")):
        tracks["samples"][p.stem] = _track(p, work / "tracks_samples", s)
    return tracks


def scenarios(tracks: dict) -> dict[str, list[tuple[str, str, np.ndarray]]]:
    """Scenario → [(item id, person, embedding)]."""
    vids = tracks["videos"]
    out = {"whole videos, photos, samples": [(k, k, _emb(t, 512)) for k, t in vids.items()]}
    for k, t in tracks["stills"].items():
        out["whole videos, photos, samples"].append((f"photo:{k}", "lp_d18" if k == "lp_d19" else f"photo:{k}",
                                                     _emb(t, 512)))
    for k, t in tracks["samples"].items():
        out["whole videos, photos, samples"].append((k, k.rsplit("_", 1)[0], _emb(t, 256)))
    halves = []
    for k, t in vids.items():
        n = len(t["found"])
        halves += [(f"{k}:a", k, _emb(t, 512, 0, n // 2)), (f"{k}:b", k, _emb(t, 512, n // 2))]
    out["two halves of each video"] = halves
    for kind in ("mirrored", "low_res", "lighting"):
        out[f"half + other half {kind}"] = [x for k, t in vids.items() for x in (
            (f"{k}:a", k, _emb(t, 512, 0, len(t["found"]) // 2)),
            (f"{k}:{kind}", k, _emb(tracks["cameras"][(k, kind)], 512)))]
    for w in WINDOWS:
        out[f"{w}-frame windows"] = [(f"{k}:{i}", k, _emb(t, 512, i, i + w)) for k, t in vids.items()
                                     for i in range(0, len(t["found"]) - w + 1, w)]
    return {name: [x for x in items if x[2] is not None] for name, items in out.items()}


def similarity_figures(items: list) -> dict:
    same, diff = [], []
    for (_, pa, ea), (_, pb, eb) in itertools.combinations(items, 2):
        (same if pa == pb else diff).append(float(ea @ eb))

    def q(v, *ps):
        return [round(float(np.percentile(v, p)), 4) for p in ps] if v else None

    return {"people": len({p for _, p, _ in items}), "items": len(items),
            "same_pairs": len(same), "same_min_p5_median": q(same, 0, 5, 50),
            "different_pairs": len(diff), "different_median_p99_max": q(diff, 50, 99, 100),
            "different_at_or_above_0.92": round(float(np.mean(np.array(diff) >= 0.92)), 4)}


def group(items: list, sure: float | None, limit: float, linkage: str) -> dict[str, str]:
    from headswapbench.pipelines.ingest import GroupingRule, cluster_subjects
    from scipy.cluster.hierarchy import fcluster
    from scipy.cluster.hierarchy import linkage as scipy_linkage

    embs = {k: e for k, _, e in items}
    if linkage == "rule":
        return cluster_subjects(embs, GroupingRule(sure=sure, group=limit))
    keys = sorted(embs)
    X = np.stack([embs[k] for k in keys])
    d = np.clip(1 - X @ X.T, 0, 2)[np.triu_indices(len(keys), 1)]
    labels = fcluster(scipy_linkage(d, method=linkage), t=1 - limit, criterion="distance")
    return {k: str(lab) for k, lab in zip(keys, labels)}


def outcome(items: list, subjects: dict[str, str]) -> dict:
    by_person, by_subject = {}, {}
    for k, p, _ in items:
        by_person.setdefault(p, set()).add(subjects[k])
        by_subject.setdefault(subjects[k], set()).add(p)
    return {"subjects": len(by_subject), "people": len(by_person),
            "people_split": sum(len(s) > 1 for s in by_person.values()),
            "people_merged": sum(len(ps) for ps in by_subject.values() if len(ps) > 1),
            "largest_subject_people": max(len(ps) for ps in by_subject.values())}


def run(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    tracks = media(out_dir / "work")
    scen = scenarios(tracks)
    figures = {"similarities": {name: similarity_figures(items) for name, items in scen.items()},
               "rules": {rule: {name: outcome(items, group(items, *spec)) for name, items in scen.items()}
                         for rule, spec in RULES.items()}}
    # how far each limit is from an error: people split / merged, summed over the scenarios
    figures["limit_sweep"] = {
        f"{limit:.3f}": {name: [sum(outcome(items, group(items, *spec))[k] for items in scen.values())
                                for k in ("people_split", "people_merged")]
                         for name, spec in (("average", (None, limit, "average")), ("single", (limit, limit, "single")),
                                            ("sure 0.97 + average", (0.97, limit, "rule")))}
        for limit in np.arange(0.935, 0.9801, 0.005)}
    # more identity samples per video (every 3rd frame instead of every 15th): does the overlap shrink?
    dense = media(out_dir / "work", identity_every=3)["videos"]
    figures["identity_every_3"] = {
        "whole videos": similarity_figures([(k, k, _emb(t, 512)) for k, t in dense.items()]),
        "two halves of each video": similarity_figures(
            [x for k, t in dense.items() for x in ((f"{k}:a", k, _emb(t, 512, 0, len(t["found"]) // 2)),
                                                   (f"{k}:b", k, _emb(t, 512, len(t["found"]) // 2)))])}
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    return figures


if __name__ == "__main__":
    print(json.dumps(run(Path(sys.argv[1] if len(sys.argv) > 1 else "bench_out/subjects")), indent=2))
