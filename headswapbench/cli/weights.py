"""`headswapbench weights list | fetch NAME | verify`: the model-file table and the cache."""

from __future__ import annotations

import os
from typing import Optional

import typer

from .common import emit, format_table

weights_app = typer.Typer(help="List, download and verify the model files the toolkit uses.", no_args_is_help=True)

CacheOpt = typer.Option(None, "--cache-dir", help="Weights cache (default $HEADSWAPBENCH_WEIGHTS or ~/.cache/headswapbench/weights).")
JsonOpt = typer.Option(False, "--json", help="Machine-readable JSON output.")


def _use_cache(cache_dir: Optional[str]) -> None:
    if cache_dir:
        os.environ["HEADSWAPBENCH_WEIGHTS"] = cache_dir


def _status(name: str) -> dict:
    from ..errors import MissingWeightsError
    from ..weights import get_spec, target_path

    spec = get_spec(name)
    try:
        path = target_path(spec)
        present = (path / spec.filename).is_file() if spec.kind == "hub-repo" else path.is_file()
    except MissingWeightsError:
        path, present = None, False
    return {"name": name, "kind": spec.kind, "file": spec.filename, "size_mb": round((spec.size or 0) / 1e6, 1),
            "license": spec.license, "pinned": spec.pinned, "sha256": spec.sha256, "revision": spec.revision,
            "present": present, "path": str(path) if path else None, "url": spec.url}


@weights_app.command("list")
def list_cmd(cache_dir: Optional[str] = CacheOpt, json_out: bool = JsonOpt) -> None:
    """Every model file: where it comes from, its pinned sha256 (or 'not pinned'), license, and whether it is present."""
    from ..weights import WEIGHTS

    _use_cache(cache_dir)
    rows = [_status(n) for n in sorted(WEIGHTS)]
    table = [{**r, "sha256": (r["sha256"][:16] + "…") if r["sha256"] else "NOT PINNED"} for r in rows]
    emit(rows, json_out, format_table(table, ["name", "kind", "present", "pinned", "size_mb", "license", "sha256"]))


@weights_app.command("fetch")
def fetch_cmd(
    names: list[str] = typer.Argument(None, help="Model file names (see `weights list`); none with --all."),
    all_: bool = typer.Option(False, "--all", help="Fetch every downloadable file."),
    cache_dir: Optional[str] = CacheOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Download model files into the cache and check their sha256."""
    from ..errors import HeadSwapBenchError
    from ..weights import WEIGHTS, weight_path

    _use_cache(cache_dir)
    names = sorted(n for n, s in WEIGHTS.items() if s.kind != "bundled") if all_ else list(names or [])
    if not names:
        raise typer.BadParameter("name at least one model file, or pass --all")
    rows, failed = [], False
    for n in names:
        try:
            rows.append({"name": n, "ok": True, "path": str(weight_path(n))})
        except HeadSwapBenchError as exc:
            failed = True
            rows.append({"name": n, "ok": False, "error": str(exc)})
    emit(rows, json_out, "\n".join(f"{'ok  ' if r['ok'] else 'FAIL'} {r['name']}: {r.get('path') or r['error']}" for r in rows))
    if failed:
        raise typer.Exit(2)


@weights_app.command("verify")
def verify_cmd(
    names: list[str] = typer.Argument(None, help="Model file names; default every present file."),
    cache_dir: Optional[str] = CacheOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Re-check present files: full sha256 against the pin, or the file format where nothing is pinned.

    Status per file: ok (the pinned file), unpinned (no pin; format looks right), mismatch (not the pinned
    file), invalid (wrong format, empty, not a regular file), missing. Exit 1 on any mismatch or invalid file,
    or when a file named on the command line is missing."""
    from ..weights import WEIGHTS, get_spec, verify

    _use_cache(cache_dir)
    for n in names or []:
        get_spec(n)  # unknown names: one clear error before any hashing
    rows = [verify(n) for n in (names or sorted(WEIGHTS))]
    if not names:
        rows = [r for r in rows if r["present"]]
    table = [{**r, "sha256": (r["sha256"] or "")[:16], "problem": (r["problem"] or "")[:120]} for r in rows]
    emit(rows, json_out, format_table(table, ["name", "status", "pinned", "sha256", "path", "problem"]))
    if any(r["status"] in ("mismatch", "invalid") for r in rows) or any(not r["present"] for r in rows if names):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(weights_app, name="weights")
