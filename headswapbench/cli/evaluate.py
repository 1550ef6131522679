"""`headswapbench evaluate SPLIT --out DIR (--swapper NAME | --command TEMPLATE | --predictions DIR)`."""

from __future__ import annotations

import typer

from ..evaluation.config import EvalConfig
from .common import emit, format_table

H = EvalConfig.help


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
    protocol: str | None = typer.Option(None, "--protocol", help=H("protocol")),
    split_name: str = typer.Option("test", "--split", help=H("split_name")),
    revision: str | None = typer.Option(None, "--revision", help=H("revision")),
    metrics: str | None = typer.Option(None, "--metrics", help="Comma-separated metric names instead of the "
                                       "protocol's (an override)."),
    metric_opt: list[str] = typer.Option([], "--metric-opt", help="Metric option key=value (repeatable; e.g. "
                                         "fid_frame_stride=4); an option no chosen metric takes is refused."),
    identity: str | None = typer.Option(None, "--identity", help=H("identity")),
    landmarks: str | None = typer.Option(None, "--landmarks", help=H("landmarks")),
    image_method: bool = typer.Option(False, "--image-method", help=H("image_method")),
    batch_size: int = typer.Option(16, "--batch-size", help=H("batch_size")),
    workers: int = typer.Option(1, "--workers", help=H("workers")),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help=H("skip_invalid")),
    executor: str = typer.Option("local", "--executor", help=H("executor")),
    ray_address: str | None = typer.Option(None, "--ray-address", help=H("ray_address")),
    shard: str | None = typer.Option(None, "--shard", help=H("shard")),
    device: str = typer.Option("cpu", "--device", help=H("device")),
    timeout: float = typer.Option(600.0, "--timeout", help=H("timeout")),
    name: str | None = typer.Option(None, "--name", help="Method name recorded for --command/--predictions."),
    method_version: str = typer.Option("unspecified", "--method-version", help="Method version recorded in results.json."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Hide progress bars."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON output."),
) -> None:
    """Score a head swapper on a split under a protocol: swap, validate outputs, analyse, score, aggregate with
    95 % subject-bootstrap intervals. Every option is checked before any model loads."""
    from ..evaluation import evaluate
    from ..evaluation.summary import closing_line, header, summary_rows
    from ..options import parse_options
    from ..swappers.external import resolve_source

    config = EvalConfig(
        protocol=protocol, split_name=split_name, revision=revision,
        metrics=tuple(m.strip() for m in metrics.split(",") if m.strip()) if metrics else None,
        metric_options=parse_options(metric_opt, "--metric-opt"), identity=identity, landmarks=landmarks,
        image_method=image_method, batch_size=batch_size, workers=workers, device=device, executor=executor, ray_address=ray_address,
        shard=shard, skip_invalid=skip_invalid, timeout=timeout, progress=not (json_out or no_progress))
    plan = config.plan()  # refuses a bad name, key or number now, before the source or any model is built
    if plan.note and not json_out:
        typer.secho(plan.note, err=True)
    source = resolve_source(swapper, command, predictions, timeout=config.timeout, name=name,
                            version=method_version, device=config.device,
                            swapper_options=parse_options(swapper_opt, "--swapper-opt"))
    run = evaluate(split, out, source, config)
    if run.results is None:  # a shard: nothing aggregated yet
        counts = {}
        for r in run.per_clip:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        emit({"shard": shard, "clips": counts, "out": str(run.out_dir)}, json_out,
             f"shard {shard}: {counts}; run again without --shard to aggregate into {run.out_dir}/results.json")
        return
    res = run.results
    table = format_table(summary_rows(res), ["metric", "better", "mean", "ci95", "n", "n_subjects", "note"])
    notes = [n for n in run.notes if n != plan.note]
    closing = closing_line(run)
    emit({"results": str(run.results_path), "per_clip": str(run.per_clip_path), "coverage": res["coverage"],
          "protocol": res["protocol"], "metrics": res["metrics"], "settings_hash": res["settings_hash"],
          "notes": run.notes, "missing_weights": sorted(run.missing)}, json_out,
         "\n".join([header(res), "", table, "", *notes, f"wrote {run.results_path}, {run.per_clip_path}",
                    *([closing] if closing else [])]))


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_cmd)
