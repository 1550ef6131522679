"""Error types users see. Each names the file or thing at fault and the cause, so the CLI can print
one line instead of a traceback from deep inside a library."""

from __future__ import annotations

from pathlib import Path

from .reasons import Reason


class HeadSwapBenchError(Exception):
    """Base class for every error the toolkit raises on purpose (the CLI prints these as one line).

    ``code``: the reason code the stage runner records when this error ends an item (None: ``error``)."""

    code: Reason | None = None


class VideoError(HeadSwapBenchError):
    """A video or image file cannot be read or written: unreadable, empty, truncated, audio-only ...

    ``code`` says which (set where it is raised), so callers count and skip by it, never by the message."""

    def __init__(self, path: str | Path, cause: str, code: Reason):
        self.path = str(path)
        self.cause = cause
        self.code = Reason(code)
        super().__init__(f"{self.path}: {cause}")


class FaceNotFoundError(HeadSwapBenchError):
    """No usable face where one is required (an identity image, a reference frame, a donor photo).

    ``code`` (optional) names the reason when the missing face has a more precise one (``Reason.NO_DONOR``)."""

    def __init__(self, message: str, code: Reason | None = None):
        super().__init__(message)
        self.code = Reason(code) if code is not None else None


class MissingWeightsError(HeadSwapBenchError):
    """A model file is not in the cache and cannot be downloaded (offline, or the download failed)."""

    def __init__(self, name: str, filename: str, url: str, sha256: str | None, target: str | Path, cause: str = ""):
        self.name, self.filename, self.url, self.sha256, self.target = name, filename, url, sha256, str(target)
        msg = (
            f"model file '{filename}' ({name}) is not available{': ' + cause if cause else ''}.\n"
            f"  download it from: {url}\n"
            f"  sha256: {sha256 or 'not pinned'}\n"
            f"  and place it at: {self.target}\n"
            f"  (or run `headswapbench weights fetch {name}` on a machine with internet)"
        )
        super().__init__(msg)


class ChecksumError(HeadSwapBenchError):
    """A file's sha256 differs from the pinned or manifest value."""


class InvalidSplitError(HeadSwapBenchError):
    """A split folder breaks the on-disk contract (bad metadata, unsafe paths, checksum mismatch)."""


class InvalidResultsError(HeadSwapBenchError):
    """A results.json that does not match the schema or the leaderboard's dataset/settings."""


class RegistryError(HeadSwapBenchError, KeyError):
    """Unknown or duplicate plug-in name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
