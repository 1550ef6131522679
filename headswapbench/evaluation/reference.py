"""Reference fingerprints: what an official run of a protocol records as each result key's fingerprint.

The leaderboard ranks a column only among results whose fingerprint for that key equals the reference, and
the reference must not come from the files being ranked. It comes from here: ``expected_fingerprints``
builds the plan of a run of the protocol with no override and asks the runner's own code (``_prepare`` and
``_fingerprints``, the functions every evaluation uses) what it would record.

Why not from the protocol file alone: a fingerprint holds what the backends and metrics say about themselves
once built (library versions such as ``mediapipe-0.10.14``, the LPIPS linear heads' sha256, the sha256 of each
model file actually loaded), so no second, static description could stay equal to what runs write. The cost
is that the backends and metrics are built once (about 2 s of CPU for ``offline-v1``; nothing is scored),
and that a key whose model file is not on this machine has no reference here (``unknown`` says which file;
nothing is downloaded).
A maintainer without those files passes the reference made elsewhere: ``headswapbench protocols
fingerprints NAME --out FILE`` writes it, ``leaderboard build --reference FILE`` reads it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..fingerprint import ReferenceFingerprints
from ..protocol import Protocol, load_protocol

_MEMO: dict[tuple, ReferenceFingerprints] = {}


def expected_fingerprints(protocol: str | Protocol) -> ReferenceFingerprints:
    """The fingerprint of every result key of ``protocol`` in a run without overrides on this machine, and,
    per key that cannot be built here, why (``unknown``). Built once per protocol file and weights folder."""
    from .. import __version__

    proto = load_protocol(protocol)
    memo_key = (proto.sha256, proto.builtin, os.environ.get("HEADSWAPBENCH_WEIGHTS"),
                os.environ.get("HEADSWAPBENCH_CACHE"))
    if memo_key not in _MEMO:
        _MEMO[memo_key] = _derive(proto, __version__)
    ref = _MEMO[memo_key]
    return ReferenceFingerprints(ref.protocol, dict(ref.fingerprints), dict(ref.unknown), ref.source)


def _derive(proto: Protocol, version: str) -> ReferenceFingerprints:
    from .config import EvalConfig
    from .runner import _fingerprints, _prepare

    plan = EvalConfig(protocol=proto, progress=False).plan()
    with _no_downloads():  # building a leaderboard never fetches a model file
        prep = _prepare(plan)
    fps: dict[str, Any] = _fingerprints(plan, prep, smoke=False)
    unknown = {}
    for name, (_, why, weights) in prep.unavailable.items():
        if weights:  # what the maintainer can do about it, not the evaluation's "offline mode" wording
            why = (f"model file {weights} is not on this machine (a leaderboard build never downloads: "
                   f"headswapbench weights fetch {weights}, or pass --reference FILE)")
        for key in prep.classes[name].keys:
            unknown[key] = why
            fps.pop(key, None)
    source = f"derived from the shipped protocol {proto.id} by headswapbench {version} on this machine"
    return ReferenceFingerprints(proto.id, fps, unknown, source)


@contextmanager
def _no_downloads() -> Iterator[None]:
    old = os.environ.get("HEADSWAPBENCH_OFFLINE")
    os.environ["HEADSWAPBENCH_OFFLINE"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("HEADSWAPBENCH_OFFLINE", None)
        else:
            os.environ["HEADSWAPBENCH_OFFLINE"] = old


__all__ = ["expected_fingerprints"]
