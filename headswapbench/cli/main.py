"""Entry point of the `headswapbench` CLI.

Each command lives in its own module under ``headswapbench/cli/`` and exposes ``register(app)``; heavy
imports happen inside the command functions so ``--help`` stays fast. Errors the toolkit raises on
purpose (``HeadSwapBenchError``) print as one clear line and exit with status 2."""

from __future__ import annotations

import importlib
import sys

import typer

from ..errors import HeadSwapBenchError

COMMAND_MODULES = [
    "analyze", "identity", "weights", "demo",
    "build", "download", "publish",
    "evaluate", "report", "protocols",
    "leaderboard",
    "train", "swap",
]

app = typer.Typer(
    name="headswapbench",
    help="HeadSwapBench: build paired head-swap datasets, score head swappers, train DirectSwap, publish results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the toolkit version and exit."),
) -> None:
    """HeadSwapBench command line."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__package__}.{_name}").register(app)


def main(argv: list[str] | None = None) -> int:
    from typer._click import exceptions as typer_click  # typer vendors its own copy of click's exceptions

    try:
        rc = app(args=argv, standalone_mode=False)  # Exit codes are returned here instead of raised
    except HeadSwapBenchError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return 130
    except typer_click.ClickException as exc:  # usage errors, bad parameters
        exc.show()
        return exc.exit_code
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
