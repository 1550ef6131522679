"""Leaderboard build time and page size for growing numbers of results files, plus how long headless
Chromium takes to open the page and sort a column.

Inputs are SYNTHETIC results.json files (random means/intervals on the 20 real metric names, 1,040 per-clip
rows each, like the public test split), built through the real contract (make_results); they measure the
leaderboard's own cost, not any method. Values stay inside their unit's range (a rate in [0, 1], a cosine
in [-1, 1]) and every fingerprint equals the maintainers' reference (``--reference``, given as a file, as a
maintainer would), so the validator accepts and every column ranks all of them. The machine is shared: each
size is built ``REPEATS`` times and the median is reported, with every time. Deriving a reference from a
shipped protocol (building its backends and metrics once) is measured apart, in a fresh process."""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from headswapbench.fingerprint import ReferenceFingerprints, make_fingerprint
from headswapbench.results import make_results, metric_entry, write_results

METRICS = {  # name: (typical value, higher_is_better, unit)
    "identity_cosine_ref": (0.8, True, "cosine"), "identity_cosine_target": (0.8, True, "cosine"),
    "identity_cosine_driving": (0.5, False, "cosine"), "replacement": (0.7, True, "rate"),
    "identity_top1": (0.6, True, "rate"), "identity_top5": (0.85, True, "rate"), "keypoint_nme": (0.04, False, "NME"),
    "pose_error": (2.2, False, "deg"), "pose_error_yaw": (2.5, False, "deg"), "pose_error_pitch": (2.0, False, "deg"),
    "pose_error_roll": (1.1, False, "deg"), "expression_error": (0.9, False, "L2"),
    "blendshape_l1": (0.05, False, "L1"), "face_missing_output": (0.01, False, "rate"), "psnr": (24, True, "dB"),
    "ssim": (0.8, True, "SSIM"), "lpips": (0.12, False, "LPIPS"), "flicker": (1.5, False, "px"),
    "fid": (35, False, "FID"), "fvd": (220, False, "FVD"),
}
NUM_CLIPS = 1040
NUM_SUBJECTS = 104
REPEATS = 5
PROTOCOL_ID = "headswapbench-v1@1"


def fingerprint(key: str) -> dict:
    return make_fingerprint(PROTOCOL_ID, key, "1", {"benchmark": True}, {})


def reference() -> ReferenceFingerprints:
    return ReferenceFingerprints(PROTOCOL_ID, {k: fingerprint(k) for k in METRICS}, {}, "benchmark reference")
BOUNDED = {"cosine": (-1.0, 1.0), "rate": (0.0, 1.0), "SSIM": (-1.0, 1.0)}


def _results(i: int, rng: random.Random) -> dict:
    metrics = {}
    for k, (v, hib, unit) in METRICS.items():
        lo, hi = BOUNDED.get(unit, (0.0, float("inf")))
        m = min(v * rng.uniform(0.7, 1.3), hi)
        w = abs(m) * rng.uniform(0.02, 0.1)
        metrics[k] = metric_entry(m, (max(m - w, lo), min(m + w, hi)), NUM_CLIPS, hib, unit,
                                  fingerprint=fingerprint(k), n_subjects=NUM_SUBJECTS)
    per_clip = [{"clip_id": f"clip{c:04d}", "subject_id": f"s{c // 10:03d}",
                 **{k: rng.random() for k in ("psnr", "ssim", "keypoint_nme")}} for c in range(NUM_CLIPS)]
    return make_results({"name": f"synthetic-method-{i:03d}", "version": "1", "source": "synthetic (benchmark)"},
                        {"name": "HeadSwapBench", "revision": "v1", "split": "test", "num_clips": NUM_CLIPS,
                         "checksum": "c" * 64, "num_subjects": NUM_SUBJECTS},
                        {"benchmark": "synthetic"}, metrics, per_clip, created_at="2026-01-01T00:00:00Z",
                        protocol={"name": "headswapbench-v1", "version": "1", "id": "headswapbench-v1@1",
                                  "sha256": "0" * 64, "official": True, "overrides": [],
                                  "headline": "identity_cosine_target", "replicates": 10000, "seed": 0,
                                  "level": 0.95})


def run(out_dir: Path) -> dict:
    from headswapbench.leaderboard import build_site

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    figures: dict = {"inputs": "synthetic results.json, 20 metrics, 1,040 per-clip rows each", "sizes": {}}
    runs = out_dir / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    ref_file = out_dir / "reference.json"
    ref_file.write_text(json.dumps(reference().to_dict()))
    made = 0
    for n in (10, 100, 300):
        for i in range(made, n):
            write_results(runs / f"m{i:03d}" / "results.json", _results(i, rng))
        made = n
        site = out_dir / f"site_{n}"
        times, cpu = [], []
        for _ in range(REPEATS):
            t0, c0 = time.perf_counter(), time.process_time()
            doc = build_site([runs], site, references=[ref_file])
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)  # less sensitive than wall time to other jobs on the machine
        assert not doc["refused"], doc["refused"][:3]  # every synthetic file is accepted ...
        assert all(c.get("ranked") for b in doc["boards"] for r in b["rows"] for c in r["metrics"].values())
        dt = statistics.median(times)
        figures["sizes"][n] = {
            "build_s": round(dt, 3), "build_s_all": [round(t, 3) for t in times],
            "build_cpu_s": round(statistics.median(cpu), 3), "ms_per_file": round(1000 * dt / n, 2),
            "results_json_kb": round((runs / "m000" / "results.json").stat().st_size / 1024, 1),
            "index_html_kb": round((site / "index.html").stat().st_size / 1024, 1),
            "site_kb": round(sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 1024, 1),
            "leaderboard_json_kb": round((site / "leaderboard.json").stat().st_size / 1024, 1),
        }
    figures["derive_reference"] = _derive()
    figures["browser"] = _browser(out_dir / "site_100" / "index.html")
    return figures


def _derive() -> dict:
    """``expected_fingerprints`` of each shipped protocol in a fresh process (what a build without
    ``--reference`` pays once per protocol): backends and metrics are built, nothing is scored."""
    code = ("import time, json; from headswapbench.evaluation.reference import expected_fingerprints as e; "
            "out = {}\nfor p in ('offline-v1', 'headswapbench-v1'):\n"
            "    t, c = time.perf_counter(), time.process_time(); r = e(p)\n"
            "    out[p] = {'wall_s': round(time.perf_counter() - t, 3), 'cpu_s': round(time.process_time() - c, 3), "
            "'keys': len(r.fingerprints), 'unknown_here': len(r.unknown)}\nprint(json.dumps(out))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if done.returncode:
        return {"failed": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _browser(index: Path) -> dict:
    try:  # `python -m benchmarks` runs from the repository root, where `tests` is a package
        from tests.helpers.browser import chromium_driver, ensure_browser, open_file
    except ImportError as exc:
        return {"skipped": f"tests/helpers/browser.py not importable: {exc}"}
    found = ensure_browser()
    if isinstance(found, str):
        return {"skipped": found}
    from selenium.webdriver.common.by import By

    with chromium_driver() as d:
        t0 = time.perf_counter()
        open_file(d, index)
        t_open = time.perf_counter() - t0
        th = d.find_element(By.CSS_SELECTOR, 'th[data-key="m:psnr"]')
        t0 = time.perf_counter()
        th.click()
        d.execute_script("return document.querySelector('table.lb').getAttribute('data-sorted-by')")
        t_sort = time.perf_counter() - t0
    return {"methods": 100, "open_s": round(t_open, 3), "sort_click_ms": round(1000 * t_sort, 1)}
