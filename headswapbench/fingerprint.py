"""Per-metric fingerprints: what must be equal for two results' numbers of one metric to be comparable.

Every metric entry of a results.json (schema 2) carries ``fingerprint``::

    {"protocol": "headswapbench-v1@1" | "custom:<sha12>",   # the protocol the run was made under
     "metric":   "lpips",                                   # the result key
     "version":  "1",                                       # the key's definition version (MetricInfo)
     "settings": {...},   # what changes the number: backend names, implementation, resize, window, frames ...
     "weights":  {"lpips-alexnet": {"sha256": "<64 hex>" | null, "pinned": true | false}}}

and ``fingerprint_hash = sha256_json(fingerprint)``. Why per metric: one hash over every setting of the run made
a run without LPIPS weights, a ``--metrics psnr,ssim`` run or a run from before a metric was added unrankable
even on PSNR. A fingerprint holds only what changes *that* number (never the batch size, the device, or which
other metrics ran), so such runs rank on every column they share. ``pinned`` says the file's sha256 equals a
full sha256 pinned by the protocol or the weights table: a stand-in or an unpinned download is flagged.

``fingerprint_difference(a, b)`` says in a few words what differs, for the leaderboard's "left off" notes.

A **reference** says which fingerprint each result key must have to be ranked under a protocol
(``ReferenceFingerprints``): the leaderboard derives it from a shipped protocol with the runner's own code
(``headswapbench.evaluation.reference.expected_fingerprints``) or reads the maintainer's file
(``read_reference``, the JSON that ``headswapbench protocols fingerprints NAME --out FILE`` writes, or a
results.json the maintainer trusts). Never from the files being ranked.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import HeadSwapBenchError
from .fileio import sha256_json

FINGERPRINT_KEYS = ("protocol", "metric", "version", "settings", "weights")


def weight_record(digest: str | None, pin: str | None) -> dict[str, Any]:
    """``{"sha256", "pinned"}`` for one model file: pinned only when a full pin exists and the file matches it."""
    return {"sha256": digest, "pinned": bool(digest and pin and len(pin) == 64 and digest == pin.lower())}


def make_fingerprint(protocol: str, metric: str, version: str, settings: Mapping[str, Any],
                     weights: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {"protocol": str(protocol), "metric": str(metric), "version": str(version), "settings": dict(settings),
            "weights": {str(k): {"sha256": v.get("sha256"), "pinned": bool(v.get("pinned"))}
                        for k, v in sorted(weights.items())}}


def fingerprint_hash(fingerprint: Mapping[str, Any]) -> str:
    return sha256_json(dict(fingerprint))


def check_fingerprint(fp: Any) -> list[str]:
    """Shape problems of one fingerprint (empty list = well formed)."""
    if not isinstance(fp, dict):
        return ["fingerprint must be an object"]
    problems = []
    missing = [k for k in FINGERPRINT_KEYS if k not in fp]
    if missing:
        problems.append(f"fingerprint lacks {', '.join(missing)}")
    for k in ("protocol", "metric", "version"):
        if k in fp and not (isinstance(fp[k], str) and fp[k]):
            problems.append(f"fingerprint.{k} must be a non-empty string")
    if "settings" in fp and not isinstance(fp["settings"], dict):
        problems.append("fingerprint.settings must be an object")
    if "weights" in fp:
        w = fp["weights"]
        if not isinstance(w, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("pinned"), bool)
                and (v.get("sha256") is None or (isinstance(v["sha256"], str) and len(v["sha256"]) == 64))
                for v in w.values()):
            problems.append("fingerprint.weights must map names to {sha256: 64 hex or null, pinned: bool}")
    return problems


def _short(v: Any) -> str:
    if isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v):
        return v[:4] + "…"
    if isinstance(v, (dict, list)):
        return "…"
    text = "none" if v is None else str(v)
    return text if len(text) <= 40 else text[:39] + "…"


def _protocol_name(pid: str, other: str) -> str:
    """'offline-v1@1' → 'offline-v1' when the other side's version suffix is the same."""
    name, _, ver = pid.partition("@")
    oname, _, over = other.partition("@")
    return name if ver == over and name != oname else pid


# A backend's description and files follow from its name: when the backend differs, saying so is the whole story.
_BACKENDS = {"identity_backend": "identity", "landmark_backend": "landmarks"}


def fingerprint_difference(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> str:
    """A short sentence of what differs between two fingerprints ('' when they are equal), e.g. "smoke model",
    "lpips-alexnet weights differ (ab12… vs cd34…)", "identity backend dlib vs adaface",
    "protocol offline-v1 vs headswapbench-v1". A different backend is named once: its description and the
    files only one side uses follow from it and are not listed again."""
    if a is None or b is None:
        if a is None and b is None:
            return ""
        return "no fingerprint on one side (results made before schema 2)"
    parts: list[str] = []
    sa, sb = dict(a.get("settings") or {}), dict(b.get("settings") or {})
    if bool(sa.pop("smoke", False)) != bool(sb.pop("smoke", False)):
        parts.append("smoke model")
    pa, pb = str(a.get("protocol")), str(b.get("protocol"))
    if pa != pb:
        parts.append(f"protocol {_protocol_name(pa, pb)} vs {_protocol_name(pb, pa)}")
    if a.get("metric") != b.get("metric"):
        parts.append(f"metric {a.get('metric')} vs {b.get('metric')}")
    elif a.get("version") != b.get("version"):
        parts.append(f"{a.get('metric')} definition v{a.get('version')} vs v{b.get('version')}")
    swapped = [k for k in _BACKENDS if sa.get(k) != sb.get(k) and k in sa and k in sb]
    for key in swapped:
        parts.append(f"{key.replace('_', ' ')} {_short(sa.pop(key))} vs {_short(sb.pop(key))}")
        sa.pop(_BACKENDS[key], None)
        sb.pop(_BACKENDS[key], None)
    wa, wb = dict(a.get("weights") or {}), dict(b.get("weights") or {})
    for name in sorted(set(wa) | set(wb)):
        ra, rb = wa.get(name), wb.get(name)
        if ra is None or rb is None:
            if not swapped:  # another backend uses other files: already said
                parts.append(f"{name} weights used on one side only")
        elif ra.get("sha256") != rb.get("sha256"):
            parts.append(f"{name} weights differ ({_short(ra.get('sha256'))} vs {_short(rb.get('sha256'))})")
        elif bool(ra.get("pinned")) != bool(rb.get("pinned")):
            parts.append(f"{name} weights pinned on one side only")
    for key in sorted(set(sa) | set(sb)):
        va, vb = sa.get(key, None), sb.get(key, None)
        if va != vb:
            label = key.replace("_", " ")
            if isinstance(va, (dict, list)) or isinstance(vb, (dict, list)):
                parts.append(f"{label} settings differ")
            else:
                parts.append(f"{label} {_short(va)} vs {_short(vb)}")
    return "; ".join(parts)


def unpinned_weights(fp: Mapping[str, Any] | None) -> list[str]:
    """The model files a fingerprint records as used but not pinned (a stand-in, an unpinned download)."""
    if not isinstance(fp, Mapping) or not isinstance(fp.get("weights"), Mapping):
        return []
    return sorted(n for n, w in fp["weights"].items()
                  if isinstance(w, Mapping) and w.get("sha256") and not w.get("pinned"))


# ----------------------------------------------------------------------------------------------------------
# References: the fingerprint each result key must have to be ranked under a protocol
# ----------------------------------------------------------------------------------------------------------
REFERENCE_VERSION = 1
MAX_REFERENCE_BYTES = 8 << 20


@dataclass
class ReferenceFingerprints:
    """Per result key, the fingerprint a result must carry to be ranked under ``protocol`` (a protocol id,
    ``name@version`` or ``custom:<sha12>``); ``unknown`` says, per key, why there is none (a model file this
    machine lacks); ``source`` says who decided (derived from the shipped protocol, or a maintainer's file)."""

    protocol: str
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def hash(self, key: str) -> str | None:
        fp = self.fingerprints.get(key)
        return fingerprint_hash(fp) if fp is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The reference file (``parse_reference`` reads it back); a copy, safe to edit."""
        return {"reference_version": REFERENCE_VERSION, "protocol": self.protocol, "source": self.source,
                "fingerprints": {k: {"fingerprint": copy.deepcopy(fp), "fingerprint_hash": fingerprint_hash(fp)}
                                 for k, fp in self.fingerprints.items()},
                "unknown": dict(self.unknown)}


def parse_reference(obj: Any, where: str) -> list[ReferenceFingerprints]:
    """A maintainer's reference: the JSON ``to_dict`` writes, or a results.json (the fingerprints of its
    available metrics: a run the maintainer vouches for). Every fingerprint is checked (shape, that it names
    its key and the file's protocol); one problem stops with one line naming the file."""
    if not isinstance(obj, dict):
        raise HeadSwapBenchError(f"--reference {where}: not a reference file (a JSON object expected)")
    if "metrics" in obj and "schema_version" in obj:  # a results.json
        proto = obj.get("protocol")
        pid = proto.get("id") if isinstance(proto, dict) else None
        if not isinstance(pid, str) or not isinstance(obj.get("metrics"), dict):
            raise HeadSwapBenchError(f"--reference {where}: a results.json without a protocol id (schema 1?) "
                                     "cannot be a reference")
        fps = {k: e.get("fingerprint") for k, e in obj["metrics"].items()
               if isinstance(e, dict) and e.get("available") is True}
        source = f"--reference {where} (results of {_method_name(obj)})"
    elif obj.get("reference_version") == REFERENCE_VERSION:
        pid, entries = obj.get("protocol"), obj.get("fingerprints")
        if not isinstance(pid, str) or not isinstance(entries, dict):
            raise HeadSwapBenchError(f"--reference {where}: needs 'protocol' (an id) and 'fingerprints'")
        fps = {k: e.get("fingerprint") if isinstance(e, dict) else None for k, e in entries.items()}
        source = f"--reference {where}"
    else:
        raise HeadSwapBenchError(f"--reference {where}: neither a reference file (reference_version "
                                 f"{REFERENCE_VERSION}) nor a results.json")
    from .safeio import one_line

    for key, fp in fps.items():
        problems = check_fingerprint(fp)
        if not problems and (fp["metric"] != key or fp["protocol"] != pid):
            problems = [f"names {fp['metric']!r} under {fp['protocol']!r}"]
        if problems:
            raise HeadSwapBenchError(f"--reference {where}: {one_line(key, 100)}: {one_line('; '.join(problems))}")
    return [ReferenceFingerprints(pid, fps, {}, source)]


def read_reference(path: str | Path) -> list[ReferenceFingerprints]:
    """``parse_reference`` of a file read as untrusted (regular file, size and depth caps)."""
    from .safeio import UnsafeFileError, read_json

    try:
        obj = read_json(path, max_bytes=MAX_REFERENCE_BYTES)
    except (UnsafeFileError, ValueError) as exc:
        raise HeadSwapBenchError(f"--reference {exc}") from None
    return parse_reference(obj, str(path))


def _method_name(obj: Mapping[str, Any]) -> str:
    m = obj.get("method")
    return f"{m.get('name')} {m.get('version')}" if isinstance(m, dict) else "?"


__all__ = ["FINGERPRINT_KEYS", "REFERENCE_VERSION", "ReferenceFingerprints", "check_fingerprint",
           "fingerprint_difference", "fingerprint_hash", "make_fingerprint", "parse_reference", "read_reference",
           "unpinned_weights", "weight_record"]
