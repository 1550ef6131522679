"""Helpers shared by CLI commands: JSON vs table output."""

from __future__ import annotations

import json
from typing import Any

import typer


def emit(obj: Any, as_json: bool, table: str | None = None) -> None:
    """Print machine-readable JSON (``--json``) or a human table/text."""
    if as_json or table is None:
        typer.echo(json.dumps(obj, indent=2, default=str))
    else:
        typer.echo(table)


def format_table(rows: list[dict], columns: list[str] | None = None, floatfmt: str = "{:.4g}") -> str:
    """A plain aligned text table (no dependency) for terminal output."""
    if not rows:
        return "(no rows)"
    columns = columns or list(rows[0])

    from ..safeio import one_line

    def cell(v: Any) -> str:  # values may come from files: one printable line each (no terminal escapes)
        if isinstance(v, float):
            return floatfmt.format(v)
        return "" if v is None else one_line(v)

    body = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line, sep] + ["  ".join(v.ljust(w) for v, w in zip(b, widths)) for b in body])
