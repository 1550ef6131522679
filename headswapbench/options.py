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


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def option_flag(value: Any, name: str, what: str) -> bool:
    """A plug-in's on/off option as a bool: True/False, 1/0 or (any case) true/false, yes/no, on/off. Anything
    else is refused: ``bool("False")`` is True, which would silently keep a step on that was asked off."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise HeadSwapBenchError(f"{what}: option {name} must be true or false, got {value!r}")
