"""`headswapbench evaluate SPLIT --out DIR (--swapper NAME | --command TEMPLATE | --predictions DIR)`."""

from __future__ import annotations

import typer

from .common import emit, format_table


def evaluate_cmd(
    split: str = typer.Argument(..., help="Split dataset folder (contract layout) or Hub id ORG/NAME."),
    out: str = typer.Option(..., "--out", "-o", help="Run folder: outputs/, results.json, per_clip.csv, log."),
    swapper: str | None = typer.Option(None, "--swapper", help="Registered swapper (noop, oracle, warp, "
                                          "directswap, an entry-point name) or module:attr."),
    swapper_opt: list[str] = typer.Option([], "--swapper-opt", help="Swapper constructor option key=value "
                                          "(repeatable; e.g. weights=DIR steps=25 for directswap)."),
    command: str | None = typer.Option(None, "--command", help="Program run once per clip, e.g. "
                                          "\"python run.py {driving} {reference} {output}\" (no shell)."),
    predictions: str | None = typer.Option(None, "--predictions", help="Folder of precomputed <clip_id>.mp4."),
    split_name: str = typer.Option("test", "--split", help="Split name inside the dataset."),
    revision: str | None = typer.Option(None, "--revision", help="Hub revision (Hub ids only)."),
    metrics: str | None = typer.Option(None, "--metrics", help="Comma-separated metric names (default: all)."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Score valid outputs and count invalid ones "
                                      "as failures instead of stopping."),
    executor: str = typer.Option("local", "--executor", help="local (in-process) or ray."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="Ray cluster address (default: local)."),
    shard: str | None = typer.Option(None, "--shard", help="Run only shard i/n (aggregate later without it)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda[:N], passed to swappers and metric models."),
    timeout: float = typer.Option(600.0, "--timeout", help="Per-clip timeout in seconds for --command."),
    name: str | None = typer.Option(None, "--name", help="Method name recorded for --command/--predictions."),
    method_version: str = typer.Option("unspecified", "--method-version", help="Method version recorded in results.json."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON output."),
) -> None:
    """Score a head swapper on a split: swap, validate outputs, analyse, score, aggregate with 95 % CIs."""
    from ..metrics.evaluate import evaluate, summary_rows
    from ..metrics.validate import check_device
    from ..options import parse_options
    from ..swappers.external import check_timeout, resolve_source

    check_timeout(timeout)  # nan, inf and <= 0 are refused by name, whatever the source
    source = resolve_source(swapper, command, predictions, timeout=timeout, name=name, version=method_version,
                            device=check_device(device),
                            swapper_options=parse_options(swapper_opt, "--swapper-opt"))
    names = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None
    run = evaluate(split, out, source, split_name=split_name, revision=revision, metrics=names, executor=executor,
                   ray_address=ray_address, shard=shard, device=device, skip_invalid=skip_invalid,
                   progress=not json_out)
    if run.results is None:  # a shard: nothing aggregated yet
        counts = {}
        for r in run.per_clip:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        emit({"shard": shard, "clips": counts, "out": str(run.out_dir)}, json_out,
             f"shard {shard}: {counts}; run again without --shard to aggregate into {run.out_dir}/results.json")
        return
    res = run.results
    cov = res["coverage"]
    table = format_table(summary_rows(res), ["metric", "better", "mean", "ci95", "n", "note"])
    head = (f"{res['method']['name']} on {res['dataset']['name']}/{res['dataset']['split']}: "
            f"{cov['scored']} of {cov['expected']} clips scored"
            + (f" ({cov['failed']} failed: see per_clip.csv)" if cov["failed"] else ""))
    emit({"results": str(run.results_path), "per_clip": str(run.per_clip_path), "coverage": cov,
          "metrics": res["metrics"], "settings_hash": res["settings_hash"]}, json_out,
         f"{head}\n\n{table}\n\nwrote {run.results_path}, {run.per_clip_path}")


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_cmd)
