"""`headswapbench train directswap`: train the DirectSwap baseline on a packaged split.

Multi-GPU: ``accelerate launch -m headswapbench.cli.main train directswap ...`` (one process per GPU)."""

from __future__ import annotations

from pathlib import Path

import typer

train_app = typer.Typer(help="Train a model on a packaged split (DirectSwap baseline).", no_args_is_help=True)


@train_app.command("directswap")
def train_directswap(
    data: str = typer.Option(..., "--data", help="Split root (folder holding <split>/metadata.jsonl)."),
    split: str = typer.Option("train", "--split", help="Split name inside --data."),
    config: str = typer.Option("directswap-tiny", "--config",
                               help="Config name (directswap-tiny, directswap-sd15) or a JSON file."),
    out: str = typer.Option(..., "--out", help="Run folder: checkpoints, final model, loss curve."),
    resume: bool = typer.Option(False, "--resume", help="Continue exactly from the latest checkpoint in --out."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="Override the config's max_steps."),
    no_pretrained: bool = typer.Option(False, "--no-pretrained",
                                       help="Build every part from its config (random init); skip the Hub ids."),
    threads: int | None = typer.Option(None, "--threads", min=1,
                                       help="torch CPU threads (1 is fastest for directswap-tiny on a busy CPU)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Train DirectSwap (mask-free video diffusion + MEAR loss). The directswap-tiny config is a SMOKE MODEL
    that trains in minutes on CPU; its outputs are meaningless."""
    import logging

    from ..directswap.train import train
    from .common import emit, format_table

    if threads:
        import torch

        torch.set_num_threads(threads)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    summary = train(Path(data), config, Path(out), split=split, resume=resume, max_steps=max_steps,
                    pretrained=not no_pretrained, progress=True)
    rows = [{"key": k, "value": v} for k, v in summary.items() if k != "init"]
    rows += [{"key": f"init.{k}", "value": v.get("source", v) if isinstance(v, dict) else v}
             for k, v in summary["init"].items()]
    emit(summary, as_json, format_table(rows, ["key", "value"]))


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
