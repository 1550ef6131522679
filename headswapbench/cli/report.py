"""`headswapbench report DIR [--out report.html]`: a self-contained HTML page of an evaluation run."""

from __future__ import annotations

import typer

from .common import emit


def report_cmd(
    run_dir: str = typer.Argument(..., help="Evaluation run folder (holds results.json)."),
    out: str | None = typer.Option(None, "--out", "-o", help="HTML file to write (default DIR/report.html)."),
    primary: str | None = typer.Option(None, "--primary", help="Metric that picks the best/worst clips "
                                          "(default identity_cosine_target, else the first available)."),
    k: int = typer.Option(3, "--k", min=1, help="Number of best and of worst clips shown."),
    embed: bool = typer.Option(True, "--embed/--no-embed", help="Embed media in the page (default) or copy "
                               "them into a folder beside it."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON output."),
) -> None:
    """Write an HTML page: metric table and driving | reference | output | target grids of best/worst clips."""
    from ..evaluation.report import write_report

    page = write_report(run_dir, out, primary=primary, k=k, embed=embed)
    emit({"report": str(page), "bytes": page.stat().st_size}, json_out, f"wrote {page}")


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
