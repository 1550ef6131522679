"""`headswapbench build` (being written)."""

import typer


def register(app: typer.Typer) -> None:
    pass
