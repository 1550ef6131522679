"""Realistic results.json dicts for the leaderboard tests, built through the real contract (make_results).

The numbers are hand-written to resemble the built-in swappers on a demo split (they are fixtures, not
measurements): oracle is perfect on paired metrics, noop keeps the driving identity, warp sits between."""

from __future__ import annotations

from pathlib import Path

from headswapbench.fileio import sha256_json
from headswapbench.fingerprint import make_fingerprint
from headswapbench.results import make_results, metric_entry, unavailable_metric, write_results

CHECKSUM = "9f2c" + "a" * 60
SETTINGS = {"identity": {"backend": "dlib", "sha256": "b" * 64}, "landmarks": {"backend": "facemesh"},
            "frames": {"every": 1}, "resize": 512, "bootstrap": {"resamples": 1000, "unit": "subject", "seed": 0},
            "nonstandard": ["identity: dlib ResNet instead of ArcFace"]}

PROTOCOL = {"name": "offline-v1", "version": "1", "id": "offline-v1@1", "sha256": "7" * 64, "official": False,
            "overrides": [], "headline": "identity_cosine_ref"}


def fingerprint_for(key: str, settings: dict) -> dict:
    """A per-metric fingerprint that follows the fixture's settings (different settings, different fingerprint)."""
    return make_fingerprint(PROTOCOL["id"], key, "1", {"fixture_settings": sha256_json(settings)}, {})


def with_fingerprint(key: str, entry: dict, settings: dict | None = None) -> dict:
    """A hand-made metric entry with the fingerprint schema 2 requires (for raw JSON written by a test)."""
    from headswapbench.fingerprint import fingerprint_hash

    fp = fingerprint_for(key, SETTINGS if settings is None else settings)
    return {**entry, "fingerprint": fp, "fingerprint_hash": fingerprint_hash(fp)}


# (mean, lo, hi) per metric; None = unavailable
TABLE = {
    "oracle": {"identity_cosine_ref": (0.912, 0.890, 0.931), "replacement": (1.0, 1.0, 1.0),
               "keypoint_nme": (0.0, 0.0, 0.0), "pose_error": (0.0, 0.0, 0.0), "psnr": (99.0, 99.0, 99.0),
               "lpips": (0.0, 0.0, 0.0), "face_missing_output": (0.0, 0.0, 0.0)},
    "warp": {"identity_cosine_ref": (0.874, 0.850, 0.899), "replacement": (0.80, 0.60, 1.0),
             "keypoint_nme": (0.0412, 0.0350, 0.0480), "pose_error": (2.31, 1.90, 2.80), "psnr": (24.6, 23.1, 26.0),
             "lpips": (0.121, 0.100, 0.140), "face_missing_output": (0.01, 0.0, 0.03)},
    "noop": {"identity_cosine_ref": (0.702, 0.660, 0.745), "replacement": (0.0, 0.0, 0.0),
             "keypoint_nme": (0.0390, 0.0330, 0.0460), "pose_error": (2.05, 1.70, 2.50), "psnr": (21.2, 20.0, 22.5),
             "lpips": (0.154, 0.131, 0.180), "face_missing_output": (0.0, 0.0, 0.0)},
}
DIRECTION = {"identity_cosine_ref": (True, "cosine"), "replacement": (True, "rate"), "keypoint_nme": (False, "NME"),
             "pose_error": (False, "deg"), "psnr": (True, "dB"), "lpips": (False, "LPIPS"),
             "face_missing_output": (None, "rate"), "fid": (False, "FID")}


def results_for(method: str, *, version: str = "1", checksum: str = CHECKSUM, settings: dict | None = None,
                split: str = "test", num_clips: int = 10, table: dict | None = None, verified: bool = False,
                created_at: str = "2026-11-25T07:00:00Z", scored: int | None = None) -> dict:
    rows = (table or TABLE)[method]
    settings = SETTINGS if settings is None else settings
    metrics = {}
    for name, v in rows.items():
        hib, unit = DIRECTION[name]
        fp = fingerprint_for(name, settings)
        metrics[name] = (unavailable_metric("weights missing", hib, unit, fingerprint=fp) if v is None
                         else metric_entry(v[0], (v[1], v[2]), num_clips if scored is None else scored, hib, unit,
                                           fingerprint=fp))
    metrics["fid"] = unavailable_metric("model file 'pt_inception-2015-12-05-6726825d.pth' is not available",
                                        False, "FID", fingerprint=fingerprint_for("fid", settings))
    scored = num_clips if scored is None else scored
    return make_results(
        method={"name": method, "version": version, "source": f"builtin:{method}"},
        dataset={"name": "HeadSwapBench-demo", "revision": "local", "split": split, "num_clips": num_clips,
                 "checksum": checksum},
        settings=settings,
        metrics=metrics,
        per_clip=[{"clip_id": f"clip{i:03d}", "subject_id": f"s{i // 2}"} for i in range(scored)],
        coverage={"expected": num_clips, "scored": scored, "failed": num_clips - scored},
        provenance={"generated_by": "headswapbench team", "evaluated_by": "ci", "verified": verified},
        created_at=created_at,
        protocol=PROTOCOL,
    )


def write_run(root: Path, name: str, obj: dict, report: str | None = None) -> Path:
    path = write_results(root / name / "results.json", obj)
    if report is not None:
        (path.parent / "report.html").write_text(report)
    return path
