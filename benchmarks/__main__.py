"""Run every benchmark module (or those named) and write bench_out/<name>.json plus a summary.

    python -m benchmarks [--out DIR] [names...]
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

import benchmarks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="bench_out", type=Path)
    ap.add_argument("names", nargs="*", help="benchmark names (e.g. video face); default all")
    args = ap.parse_args(argv)
    names = args.names or sorted(
        m.name.removeprefix("bench_") for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    args.out.mkdir(parents=True, exist_ok=True)
    summary, failed = {}, []
    for name in names:
        print(f"== bench {name}", flush=True)
        t0 = time.perf_counter()
        try:
            figures = importlib.import_module(f"benchmarks.bench_{name}").run(args.out / name)
        except Exception as exc:  # report and go on with the others
            print(f"   FAILED: {type(exc).__name__}: {exc}", flush=True)
            failed.append(name)
            continue
        figures["bench_wall_s"] = round(time.perf_counter() - t0, 2)
        summary[name] = figures
        (args.out / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str))
        print(json.dumps(figures, indent=2, default=str), flush=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
