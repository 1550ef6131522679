"""Evaluation runner cost with the offline backends (FaceMesh landmarks, dlib identity, piq PSNR/SSIM; LPIPS,
FID and FVD have no weights offline and are reported unavailable).

Figures:
- ``clips_per_s``: `noop` evaluated with every default metric on a split of real clips (fresh analysis cache);
- ``overhead_ratio``: evaluation wall time / (decoding every file once + one forward of each face model on
  every distinct video and reference), the unavoidable work; goal ≤ 1.3;
- ``peak_rss_mb`` for a few vs many clips, each in its own process (goal: flat, memory does not grow with
  the split because clips stream through the stage runner one at a time).

    python -m benchmarks evaluate
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HEADSWAPBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))
FRAMES, SIZE = 24, 192
FEW, MANY = 2, 8


def _split_builder():
    """The test split builder (tests/helpers/eval_split.py): same real clips, labelled synthetic pairings."""
    spec = importlib.util.spec_from_file_location("eval_split", REPO / "tests" / "helpers" / "eval_split.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _baseline(split_root: Path) -> float:
    """Decode each file once and run each face model once per distinct video content (no cache)."""
    from headswapbench.face import analyze_image, analyze_video
    from headswapbench.split import load_split
    from headswapbench.video import read_image, read_video

    split = load_split(split_root)
    t0 = time.perf_counter()
    for r in split.rows:
        driving = read_video(split.driving_path(r))
        target = read_video(split.target_path(r))
        output = read_video(split.driving_path(r))  # noop output is a byte copy of the driving clip
        reference = read_image(split.reference_path(r))
        for v in (driving, target):  # output has the driving clip's content: analysed once
            analyze_video(v, cache=False, progress=False)
        analyze_image(reference)
        del output
    return time.perf_counter() - t0


def _peak_rss_mb(split_root: Path, out: Path, cache: Path) -> float:
    """Peak resident memory of a separate process evaluating the split (os.wait4 gives that child's rusage)."""
    code = ("import sys; from headswapbench.evaluation import EvalConfig, evaluate; "
            "evaluate(sys.argv[1], sys.argv[2], 'noop', EvalConfig(protocol='offline-v1', progress=False))")
    env = dict(os.environ, HEADSWAPBENCH_CACHE=str(cache), HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-c", code, str(split_root), str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"evaluation subprocess failed with status {status}")
    return usage.ru_maxrss / 1024  # KiB on Linux


def run(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    b = _split_builder()
    few = b.build_split(out_dir / "split-few", SHARED, triplets=b.many_triplets(FEW, FRAMES), frames=FRAMES,
                        size=SIZE)
    many = b.build_split(out_dir / "split-many", SHARED, triplets=b.many_triplets(MANY, FRAMES), frames=FRAMES,
                         size=SIZE)
    from headswapbench.evaluation import EvalConfig, evaluate

    config = EvalConfig(protocol="offline-v1", progress=False)
    # warm up (imports, model construction) so both timings below measure per-clip work
    os.environ["HEADSWAPBENCH_CACHE"] = str(out_dir / "cache-warm")
    evaluate(few, out_dir / "run-warm", "noop", config)
    os.environ["HEADSWAPBENCH_CACHE"] = str(out_dir / "cache-eval")
    t0 = time.perf_counter()
    run_ = evaluate(many, out_dir / "run-many", "noop", config)
    t_eval = time.perf_counter() - t0
    t_base = _baseline(many)
    stage_s = {k: round(v, 2) for k, v in run_.seconds.items()}
    return {
        "clips": MANY,
        "frames_per_clip": FRAMES,
        "size": SIZE,
        "metrics_available": sorted(k for k, e in run_.results["metrics"].items() if e["available"]),
        "eval_wall_s": round(t_eval, 2),
        "clips_per_s": round(MANY / t_eval, 3),
        "baseline_decode_plus_forward_s": round(t_base, 2),
        "overhead_ratio": round(t_eval / t_base, 3),
        "stage_seconds": stage_s,
        f"peak_rss_mb_{FEW}_clips": round(_peak_rss_mb(few, out_dir / "run-mem-few", out_dir / "cache-mf"), 1),
        f"peak_rss_mb_{MANY}_clips": round(_peak_rss_mb(many, out_dir / "run-mem-many", out_dir / "cache-mm"), 1),
        "note": "2-core CPU shared with other jobs; protocol offline-v1 (no LPIPS/FID/FVD: no weights offline)",
    }
