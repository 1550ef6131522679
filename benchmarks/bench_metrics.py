"""Metric cost on CPU: milliseconds per frame of each metric, on real footage from ../shared/data.

    python -m benchmarks metrics

Output and target are two 480-px stretches of the same real clip (lp_d18.mp4, frames 0.. and 2..), so every
metric does real work. LPIPS and FID run their real architectures (AlexNet, FID Inception-v3) with
*synthetic stand-in* weights (fixed random init; the real files cannot be downloaded here) — the cost is the
architecture's, the values are meaningless. FVD is not timed: its I3D TorchScript file is not available
offline and no stand-in has its architecture. Geometry / identity metrics only read a precomputed face
analysis; its own cost belongs to the face benchmark and is reported separately here for scale.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HEADSWAPBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))
NUM_FRAMES = 16


def _standins(root: Path) -> dict[str, Path]:
    import torch
    import torchvision

    torch.manual_seed(0)
    alex = root / "alexnet-owt-7be5be79.pth"
    torch.save(torchvision.models.alexnet().state_dict(), alex)
    inc = root / "pt_inception-2015-12-05-6726825d.pth"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    torch.save(net.state_dict(), inc)
    return {"lpips": alex, "fid": inc}


def _time(fn, repeat: int = 2) -> float:
    fn()  # warm-up (lazy imports, allocator)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(out_dir: Path) -> dict:
    import torch

    from headswapbench.evaluation.metric import ClipData, SetMetric, load_metrics
    from headswapbench.face import analyze_image, analyze_video
    from headswapbench.types import Video
    from headswapbench.video import read_frames, read_image

    out_dir.mkdir(parents=True, exist_ok=True)
    clip = SHARED / "videos" / "lp_d18.mp4"
    tgt = Video(read_frames(clip, list(range(NUM_FRAMES))), 30.0)
    out = Video(read_frames(clip, list(range(2, NUM_FRAMES + 2))), 30.0)
    drv = Video(read_frames(SHARED / "videos" / "edtalk_mouth_source.mp4", list(range(NUM_FRAMES))), 25.0)
    ref = read_image(SHARED / "images" / "lp_d19.jpg")

    t0 = time.perf_counter()
    kw = {"identity_every": 4, "progress": False, "cache": False}
    analyses = {"output": analyze_video(out, **kw), "target": analyze_video(tgt, **kw),
                "driving": analyze_video(drv, **kw)}
    ref_a = analyze_image(ref)
    analysis_s = time.perf_counter() - t0
    data = ClipData("bench", "lp_d18", out, target=tgt, driving=drv, reference=ref,
                    output_analysis=analyses["output"], target_analysis=analyses["target"],
                    driving_analysis=analyses["driving"], reference_analysis=ref_a)

    figures: dict = {"frames": NUM_FRAMES, "frame_size": f"{tgt.width}x{tgt.height}", "device": "cpu",
                     "torch_threads": torch.get_num_threads(),
                     "face_analysis_ms_per_frame_3_videos": round(1000 * analysis_s / NUM_FRAMES, 1),
                     "ms_per_frame": {}, "notes": []}
    with tempfile.TemporaryDirectory() as tmp:
        weights = _standins(Path(tmp))
        names = ["identity", "keypoints", "pose", "expression", "psnr", "ssim", "lpips", "flicker", "fid"]
        metrics, missing = load_metrics(names, batch_size=8,
                                        options={"lpips_weights": weights["lpips"], "fid_weights": weights["fid"]})
        for m in metrics:
            fn = (lambda m=m: m.extract(data)) if isinstance(m, SetMetric) else (lambda m=m: m.compute(data))
            figures["ms_per_frame"][m.name] = round(1000 * _time(fn) / NUM_FRAMES, 2)
        for name, why in missing.items():
            figures["notes"].append(f"{name}: unavailable ({str(why).splitlines()[0]})")
    figures["notes"] += [
        "lpips/fid: real architectures with synthetic stand-in weights (cost only)",
        "fid: output + target frames per clip frame (target features can be cached per split)",
        "fvd: not timed (I3D TorchScript unavailable offline)",
    ]
    return figures


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(REPO / "bench_out" / "metrics"), indent=2))
