"""Benchmarks (`make bench`): each `bench_<area>.py` exposes `run(out_dir: Path) -> dict` of figures."""
