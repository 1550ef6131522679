"""`key=value` plug-in options from the command line (`--editor-option`, `--swapper-opt`), and passing them to a
plug-in's constructor with a clear error for a key it does not take (never silently dropped)."""

from __future__ import annotations

import inspect
import json
from typing import Any

from .errors import HeadSwapBenchError


def parse_options(pairs: list[str] | None, flag: str = "--option") -> dict[str, Any]:
    """['steps=30', 'model_id=x'] → {'steps': 30, 'model_id': 'x'} (values parsed as JSON where they parse)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise HeadSwapBenchError(f"{flag} must be key=value, got '{pair}'")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def check_kwargs(factory: Any, options: dict[str, Any], what: str) -> None:
    """Refuse options the constructor does not accept (unless it takes **kwargs), naming the ones it does."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(options) - set(params))
    if unknown:
        accepted = [n for n, p in params.items() if n != "self" and p.kind is not p.VAR_POSITIONAL]
        raise HeadSwapBenchError(f"{what} does not take option(s) {unknown}; it takes: {', '.join(accepted) or 'none'}")
