"""Run every benchmark module (or those named) and write bench_out/<name>.json plus a summary.

    python -m benchmarks [--out DIR] [names...]

Each benchmark runs in its own process with a fresh, empty toolkit cache and output folder, so no benchmark
times another's cached analyses or reports another's peak memory.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchmarks


def run_one(name: str, out: Path) -> int:
    """Child process: run one benchmark and write its figures."""
    t0 = time.perf_counter()
    figures = importlib.import_module(f"benchmarks.bench_{name}").run(out / name)
    figures["bench_wall_s"] = round(time.perf_counter() - t0, 2)
    (out / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str))
    print(json.dumps(figures, indent=2, default=str), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="bench_out", type=Path)
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: run this benchmark in this process
    ap.add_argument("names", nargs="*", help="benchmark names (e.g. video face); default all")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.one:
        return run_one(args.one, args.out)
    names = args.names or sorted(
        m.name.removeprefix("bench_") for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    summary, failed = {}, []
    for name in names:
        print(f"== bench {name}", flush=True)
        shutil.rmtree(args.out / name, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix=f"hsb-bench-{name}-") as cache:
            env = {**os.environ, "HEADSWAPBENCH_CACHE": cache}
            rc = subprocess.call([sys.executable, "-m", "benchmarks", "--out", str(args.out), "--one", name], env=env)
        if rc != 0:
            print(f"   FAILED: bench {name} exited with {rc}", flush=True)
            failed.append(name)
            continue
        summary[name] = json.loads((args.out / f"{name}.json").read_text())
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
