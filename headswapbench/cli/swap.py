"""`headswapbench swap DRIVING.mp4 REFERENCE.png --out OUT.mp4 (--swapper NAME | --command TEMPLATE)`."""

from __future__ import annotations

import typer

from .common import emit


def swap_cmd(
    driving: str = typer.Argument(..., help="Driving clip (the head to replace)."),
    reference: str = typer.Argument(..., help="Reference image (the identity to put in)."),
    out: str = typer.Option(..., "--out", "-o", help="Output video (.mp4)."),
    swapper: str | None = typer.Option(None, "--swapper", help="Registered swapper name or module:attr."),
    swapper_opt: list[str] = typer.Option([], "--swapper-opt", help="Swapper constructor option key=value "
                                          "(repeatable; e.g. weights=DIR steps=25 for directswap)."),
    command: str | None = typer.Option(None, "--command", help="Program template with {driving} {reference} "
                                          "{output} (run without a shell)."),
    target: str | None = typer.Option(None, "--target", help="Genuine target clip (only the 'oracle' reads it)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda[:N]."),
    timeout: float = typer.Option(600.0, "--timeout", help="Timeout in seconds for --command."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON output."),
) -> None:
    """Run any swapper on one driving/reference pair; check the output matches the driving clip (exit 1 if not)."""
    import time
    from pathlib import Path

    from ..errors import HeadSwapBenchError
    from ..evaluation.validate import check_device, check_output, expected_format
    from ..options import parse_options
    from ..swappers.external import ClipFiles, check_timeout, resolve_source

    for p in (driving, reference, *([target] if target else [])):
        if not Path(p).is_file():
            raise HeadSwapBenchError(f"{p}: is a directory, not a file" if Path(p).is_dir() else f"{p}: no such file")
    if not out.lower().endswith(".mp4"):
        raise HeadSwapBenchError(f"--out {out}: the output must be an .mp4 file")
    if (swapper is None) == (command is None):  # checked here: this command has no --predictions
        raise HeadSwapBenchError("give exactly one of --swapper NAME or --command TEMPLATE")
    check_timeout(timeout)  # nan, inf and <= 0 are refused by name, whatever the source
    source = resolve_source(swapper, command, None, timeout=timeout, device=check_device(device),
                            swapper_options=parse_options(swapper_opt, "--swapper-opt"))
    if source.needs_target and not target:
        raise HeadSwapBenchError(f"swapper '{swapper}' needs the genuine target clip: pass --target TARGET.mp4")
    files = ClipFiles(Path(driving).stem, Path(driving), Path(reference), Path(target) if target else None)
    t0 = time.perf_counter()
    source.produce(files, Path(out))
    seconds = time.perf_counter() - t0
    problems = check_output(out, expected_format(driving))
    info = {"output": out, "method": source.describe(), "seconds": round(seconds, 3), "problems": problems}
    text = f"wrote {out} in {seconds:.1f} s" + ("" if not problems else "\nwarning: " + "; ".join(problems))
    emit(info, json_out, text)
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("swap")(swap_cmd)
