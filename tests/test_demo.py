"""`make demo` end to end (the README's first command): the default demo must build a split and score it.
It broke silently once, when a new artifact-gate check rejected every SYNTHETIC demo edit."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_default_demo_builds_scores_and_publishes(tmp_path):
    env = {**os.environ, "HEADSWAPBENCH_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "headswapbench.cli.main", "demo", "--out", str(out),
                           "--no-progress", "--json"], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert summary["kept_clips"] >= 2, summary["kept_clips"]
    oracle = summary["runs"]["oracle"]
    assert oracle["psnr"] >= 80 and abs(oracle["identity_cosine_target"] - 1) < 1e-9, oracle
    assert summary["runs"]["noop"]["replacement"] == 0
    assert (out / "site" / "index.html").is_file()
