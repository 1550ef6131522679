"""Reading files that come from outside (submissions, run folders, downloads): one home for the checks.

Why one home: a results folder is written by a stranger. A symlink named results.json can point at /dev/zero
or at a private file, a FIFO blocks a plain ``open()`` forever, a 200,000-deep JSON array exhausts the
recursion limit, a 401-digit integer overflows every float conversion downstream and ``1e999`` parses as
infinity. Every reader of an untrusted file goes through here and gets one ``UnsafeFileError`` with a one-line
reason instead of a hang, a crash deep inside a library, or somebody else's file.

- ``read_bytes``: regular files only, opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked with ``fstat`` on the
  open descriptor (no race between the check and the read), never more than ``max_bytes``;
- ``read_text``: the same, strict UTF-8;
- ``loads_json`` / ``read_json``: strict JSON with a nesting cap (checked on the bytes *before* parsing, so
  the parser never recurses deeply), integers of at most ``MAX_INT_DIGITS`` digits, finite floats only, no
  ``NaN``/``Infinity`` tokens and no lone UTF-16 surrogates (they cannot be written back as UTF-8);
- ``one_line``: text from a file made safe to print as one terminal line (no newlines, no escape sequences).
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from .errors import HeadSwapBenchError

MAX_JSON_BYTES = 32 * 1024 * 1024  # an honest results.json of 1,040 clips x 20 metrics is about 1 MB
MAX_JSON_DEPTH = 64  # results.json nests 4 deep; free-form settings a few more
MAX_INT_DIGITS = 30  # every count, seed and size fits in 20 digits (2**64)


class UnsafeFileError(HeadSwapBenchError):
    """An outside file refused before (or while) reading it; ``reason`` is one line without the path."""

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{self.path}: {reason}")


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_bytes(path: str | Path, *, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; a symlink, FIFO, device, socket or directory is
    refused without blocking and without following it."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not hasattr(os, "O_NOFOLLOW") and os.path.islink(path):  # pragma: no cover - platforms without O_NOFOLLOW
        raise UnsafeFileError(path, "is a symbolic link (not followed)")
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UnsafeFileError(path, "file not found") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) or os.path.islink(path):
            raise UnsafeFileError(path, "is a symbolic link (not followed)") from None
        raise UnsafeFileError(path, f"cannot open ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFileError(path, f"is {_kind(st.st_mode)}, not a regular file")
        if st.st_size > max_bytes:
            raise UnsafeFileError(path, f"is {st.st_size:,} bytes, more than the {max_bytes:,} allowed")
        chunks, total = [], 0
        while total <= max_bytes:
            block = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not block:
                break
            chunks.append(block)
            total += len(block)
        if total > max_bytes:  # grew while being read
            raise UnsafeFileError(path, f"is more than the {max_bytes:,} bytes allowed")
        return b"".join(chunks)
    except OSError as exc:
        raise UnsafeFileError(path, f"cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def read_text(path: str | Path, *, max_bytes: int) -> str:
    data = read_bytes(path, max_bytes=max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeFileError(path, f"is not UTF-8 text (byte {exc.start})") from None


# ------------------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------------------
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'"[]{}')
_LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def json_depth_exceeds(data: bytes, limit: int) -> bool:
    """Whether the JSON text nests arrays/objects more than ``limit`` deep, found without recursion.

    Escapes are dropped first, then everything but quotes and brackets. Two adjacent quotes enclose no
    bracket, so deleting them changes nothing outside strings (and is one fast pass over the common case);
    the pieces between the quotes left are the strings that hold brackets (left out). Each pass then deletes
    the innermost ``[]`` pairs, so a text of depth d empties in d passes. The count is exact up to the first
    syntax error, which is where the parser stops reading."""
    s = _ESCAPE.sub(b"", data).translate(_BRACKETS, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in s:
        s = b"".join(s.split(b'"')[::2])
    passes = 0
    while b"[]" in s:
        if passes == limit:
            return True
        s = s.replace(b"[]", b"")
        passes += 1
    return passes + s.count(b"[") > limit  # unclosed brackets of a truncated text still nest


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (write null for an undefined value)")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer with {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS} allowed)")
    return int(text)


def _finite_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"the number {text[:24]}{'…' if len(text) > 24 else ''} overflows to infinity")
    return v


def loads_json(data: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Strict JSON from untrusted bytes; ``ValueError`` with a one-line reason when refused."""
    if json_depth_exceeds(data, max_depth):
        raise ValueError(f"JSON nested more than {max_depth} levels deep")
    if b"\\u" in data and _LONE_SURROGATE.search(data):
        raise ValueError("a string holds a lone UTF-16 surrogate escape (not valid Unicode text)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_bounded_int, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    except RecursionError:  # not reached after the depth check; kept so no input can escape as a traceback
        raise ValueError("JSON nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None


def read_json(path: str | Path, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``loads_json`` of a file read by ``read_bytes``; every refusal is an ``UnsafeFileError``."""
    data = read_bytes(path, max_bytes=max_bytes)
    try:
        return loads_json(data, max_depth=max_depth)
    except ValueError as exc:
        raise UnsafeFileError(path, str(exc)) from None


# ------------------------------------------------------------------------------------------------------
# printing
# ------------------------------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: Any, max_chars: int = 500) -> str:
    """``text`` as one printable line: control characters (newlines, terminal escape sequences) written as
    ``\\n``/``\\x1b``, and cut at ``max_chars``."""
    s = _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))
    return s if len(s) <= max_chars else s[: max_chars - 1] + "…"


__all__ = ["MAX_INT_DIGITS", "MAX_JSON_BYTES", "MAX_JSON_DEPTH", "UnsafeFileError", "json_depth_exceeds",
           "loads_json", "one_line", "read_bytes", "read_json", "read_text"]
