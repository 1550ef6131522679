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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def fingerprint_difference(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> str:
    """A short sentence of what differs between two fingerprints ('' when they are equal), e.g. "smoke model",
    "lpips-alexnet weights differ (ab12… vs cd34…)", "identity backend dlib vs adaface",
    "protocol offline-v1 vs headswapbench-v1"."""
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
    wa, wb = dict(a.get("weights") or {}), dict(b.get("weights") or {})
    for name in sorted(set(wa) | set(wb)):
        ra, rb = wa.get(name), wb.get(name)
        if ra is None or rb is None:
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


__all__ = ["FINGERPRINT_KEYS", "check_fingerprint", "fingerprint_difference", "fingerprint_hash",
           "make_fingerprint", "weight_record"]
