"""The results.json contract: one file per method x split x protocol.

The evaluation writes it (``make_results`` + ``write_results``), the leaderboard reads it (``load_results``)
and the two never import each other, so everything the leaderboard needs to rank honestly lives *in the
file*: the metric direction (``higher_is_better``), whether a metric could run (``available`` + ``reason`` +
``code``), how many clips were scored (``coverage``), the protocol, and per metric the fingerprint that decides
which other results that column can be ranked with (``headswapbench.fingerprint``).

Shape (``SCHEMA_VERSION`` 2)::

    schema_version   int (2; files of schema 1 still load: they have no protocol and no fingerprints)
    toolkit_version  str
    created_at       ISO-8601 UTC ("2026-11-25T06:40:21Z")
    method           {name, version, source, ...}
    dataset          {name, revision, split, num_clips, checksum, ...}
    protocol         {name, version, id, sha256, official: bool, overrides: [str], headline, label,
                      replicates?, seed?, level?}
                     official = a built-in published protocol run without overrides; ``id`` is what
                     fingerprints name (name@version, or custom:<sha12> for a protocol file)
    settings         free-form JSON (protocol, backends, frame sampling, per-metric settings); conventions the
                     leaderboard shows: ``smoke: bool`` (tiny/untrained models), ``nonstandard: [reason, ...]``
    settings_hash    sha256_json(settings): detects edits to the settings; names the file in a Hub submission
                     (the leaderboard groups by protocol and compares each column's fingerprint instead)
    metrics          {key: {mean, ci95: [lo, hi] | null, n, n_subjects?, higher_is_better: bool | null, unit?,
                            available: bool, reason?, code?, description?, version?,
                            fingerprint: {protocol, metric, version, settings, weights}, fingerprint_hash}}
                     higher_is_better null = diagnostic (shown, never ranked); ci95 null = no interval (a
                     set-level metric); unavailable → mean/ci95 null, a reason and a code (headswapbench.reasons)
    coverage         {expected, scored, failed, invalid?, failures?: {clip_id: {code, message}}}
    provenance       {generated_by, evaluated_by, verified: bool}
    environment      {python, torch, numpy, platform, device, git_commit, git_dirty}
    per_clip         [{clip_id, subject_id, ...numbers or null, metric_failures?: {metric: {code, message}}}] or
                     null (rows may also live in a sibling file named by ``per_clip_file``)

Unknown extra keys are kept (forward compatible); a *newer* schema_version is refused.

A results file comes from outside, so ``load_results`` reads it through ``headswapbench.safeio`` (regular file,
size, nesting and number caps) and the validator refuses numbers that cannot be true (``UNIT_RULES``): an
interval that does not contain its mean, a rate outside [0, 1], a cosine outside [-1, 1], a negative distance
or error, a distance declared higher-is-better, a PSNR outside [0, 150] dB, more clips in ``n`` than were scored,
more subjects than clips, bootstrap replicates below 1. ``to_frames`` turns a results file into pandas
DataFrames for a notebook.
"""

from __future__ import annotations

import json
import math
import platform
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

from .errors import InvalidResultsError
from .fileio import atomic_write_json, sha256_json
from .fingerprint import check_fingerprint, fingerprint_hash
from .safeio import MAX_JSON_BYTES, UnsafeFileError, loads_json, read_bytes

SCHEMA_VERSION = 2

METRIC_NAME_RE = re.compile(r"^[A-Za-z0-9_.@/+-]{1,100}$")
CHECKSUM_RE = re.compile(r"^[0-9a-f]{16,128}$")  # sha256 hex as the split loader writes it
MAX_RESULTS_BYTES = MAX_JSON_BYTES
MAX_NAME_CHARS = 200  # method/dataset names and versions; a longer one is a page-bloating attack, not a name
MAX_SOURCE_CHARS = 2000

REQUIRED_TOP = ("schema_version", "toolkit_version", "created_at", "method", "dataset", "settings",
                "settings_hash", "metrics", "coverage", "provenance")
REQUIRED_SINCE_2 = ("protocol",)


@dataclass(frozen=True)
class FieldSpec:
    """One required field of a nested object: its name, the accepted Python types, and for strings the
    longest accepted length."""

    name: str
    types: tuple[type, ...]
    nullable: bool = False
    max_chars: int = MAX_NAME_CHARS


METHOD_FIELDS = (FieldSpec("name", (str,)), FieldSpec("version", (str,)),
                 FieldSpec("source", (str,), max_chars=MAX_SOURCE_CHARS))
DATASET_FIELDS = (
    FieldSpec("name", (str,)),
    FieldSpec("revision", (str,), nullable=True),  # null for a local split that was never published
    FieldSpec("split", (str,)),
    FieldSpec("num_clips", (int,)),
    FieldSpec("checksum", (str,)),
)

@dataclass(frozen=True)
class UnitRule:
    """The values a metric's ``unit`` allows (mean and both interval bounds), by direction: an error cannot be
    negative, a distance cannot be higher-is-better."""

    lo: float = -math.inf
    hi: float = math.inf
    lower_better: tuple[float, float] | None = None  # tighter range when lower is better
    higher_better: tuple[float, float] | None = None  # tighter range when higher is better
    distance: bool = False  # a distance or an error: 0 at best, so higher-is-better cannot be true

    def bounds(self, higher_is_better: bool | None) -> tuple[float, float]:
        tight = (self.higher_better if higher_is_better is True
                 else self.lower_better if higher_is_better is False else None)
        return tight or (self.lo, self.hi)


_DISTANCE = UnitRule(lo=0.0, distance=True)
# Units in use (metrics/base.py METRIC_INFO; tests/test_results.py checks every one has a rule), lower case.
# Units not listed get no range: rendering copes with any finite number.
UNIT_RULES: dict[str, UnitRule] = {
    "rate": UnitRule(0.0, 1.0),
    "cosine": UnitRule(-1.0, 1.0),
    "cos": UnitRule(-1.0, 1.0),
    "ssim": UnitRule(-1.0, 1.0),
    # PSNR of 8-bit frames: >= 0 (MSE <= 255^2); two 512x512 clips differing by one grey level in one pixel
    # give ~128 dB, and implementations cap identical frames at 80 (piq) or 100 dB
    "db": UnitRule(higher_better=(0.0, 150.0)),
    "deg": UnitRule(-360.0, 360.0, lower_better=(0.0, 180.0)),  # an angle error is |difference| <= 180
    "px": UnitRule(lower_better=(0.0, math.inf)),
    "nme": _DISTANCE, "l1": _DISTANCE, "l2": _DISTANCE, "lpips": _DISTANCE, "fid": _DISTANCE, "fvd": _DISTANCE,
}
BOUND_TOLERANCE = 1e-9  # relative slack for float rounding (a bootstrap interval of equal values)
RANGE_SLACK = 1e-6  # absolute slack at a unit's bounds: the Frechet distance of identical sets comes out near -1e-8

COVERAGE_FIELDS = (FieldSpec("expected", (int,)), FieldSpec("scored", (int,)), FieldSpec("failed", (int,)))
PROVENANCE_FIELDS = (FieldSpec("generated_by", (str,)), FieldSpec("evaluated_by", (str,)),
                     FieldSpec("verified", (bool,)))
PROTOCOL_FIELDS = (FieldSpec("name", (str,)), FieldSpec("version", (str,)), FieldSpec("id", (str,)),
                   FieldSpec("sha256", (str,)), FieldSpec("official", (bool,)), FieldSpec("overrides", (list,)),
                   FieldSpec("headline", (str,), nullable=True))


# ------------------------------------------------------------------------------------------------------
# Building
# ------------------------------------------------------------------------------------------------------
def metric_entry(mean: float, ci95: tuple[float, float] | list[float] | None, n: int,
                 higher_is_better: bool | None, unit: str | None = None, **extra: Any) -> dict[str, Any]:
    """A metric that ran."""
    entry = {"mean": _num(mean), "ci95": None if ci95 is None else [_num(ci95[0]), _num(ci95[1])],
             "n": int(n), "higher_is_better": higher_is_better, "available": True}
    if unit is not None:
        entry["unit"] = unit
    entry.update(extra)
    return entry


def unavailable_metric(reason: str, higher_is_better: bool | None, unit: str | None = None,
                       **extra: Any) -> dict[str, Any]:
    """A metric that could not run (missing weights, missing backend): recorded, with the reason, never dropped."""
    entry = {"mean": None, "ci95": None, "n": 0, "higher_is_better": higher_is_better, "available": False,
             "reason": str(reason)}
    if unit is not None:
        entry["unit"] = unit
    entry.update(extra)
    return entry


def make_results(
    method: Mapping[str, Any],
    dataset: Mapping[str, Any],
    settings: Mapping[str, Any],
    metrics: Mapping[str, Mapping[str, Any]],
    per_clip: list[Mapping[str, Any]] | None = None,
    *,
    coverage: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    protocol: Mapping[str, Any] | None = None,
    metric_info: Mapping[str, Mapping[str, Any]] | None = None,
    device: str | None = None,
    created_at: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Assemble a complete, validated results dict (raises InvalidResultsError listing every problem).

    - ``metrics`` entries may omit ``higher_is_better``/``unit``/``description`` when ``metric_info`` (e.g.
      ``{k: METRIC_INFO[k].to_dict()}``) has them; the metrics package's ``unavailable(reason)`` shape
      (``{"unavailable": reason}``) is accepted and normalised to ``available: false`` + ``reason``.
    - a metric entry's ``fingerprint_hash`` is computed here from its ``fingerprint``; ``protocol`` is the
      top-level protocol block (``headswapbench.evaluation`` builds both);
    - ``coverage`` defaults to expected = ``dataset.num_clips``, scored = number of per-clip rows (or
      expected when there are none), failed = expected - scored.
    - numpy scalars/arrays become plain JSON; NaN/inf in per-clip rows become null (a clip where the value is
      undefined); a non-finite *mean* is an error, never written.
    """
    from . import __version__

    settings = _plain(dict(settings))
    norm_metrics = {str(k): _normalise_metric(dict(v), (metric_info or {}).get(k)) for k, v in metrics.items()}
    rows = None if per_clip is None else [_finite_or_none(_plain(dict(r))) for r in per_clip]
    dataset = _plain(dict(dataset))
    if coverage is None:
        expected = dataset.get("num_clips")
        scored = len(rows) if rows is not None else expected
        coverage = {"expected": expected, "scored": scored,
                    "failed": expected - scored if isinstance(expected, int) and isinstance(scored, int) else None}
    prov = {"generated_by": "unspecified", "evaluated_by": "unspecified", "verified": False}
    prov.update(provenance or {})
    obj: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "toolkit_version": __version__,
        "created_at": created_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "method": _plain(dict(method)),
        "dataset": dataset,
        "settings": settings,
        "settings_hash": sha256_json(settings),
        "metrics": _plain(norm_metrics),
        "coverage": _plain(dict(coverage)),
        "provenance": _plain(prov),
        "protocol": _plain(dict(protocol)) if protocol is not None else None,
        "environment": environment_info(device if device is not None else settings.get("device")),
        "per_clip": rows,
    }
    if obj["protocol"] is None:
        del obj["protocol"]
    obj.update(_plain(extra))
    check_results(obj)
    return obj


def environment_info(device: str | None = None) -> dict[str, Any]:
    """Where the numbers were computed. Versions come from package metadata (no torch import needed)."""

    def version(pkg: str) -> str | None:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None

    commit, dirty = _git_state()
    return {
        "python": platform.python_version(),
        "torch": version("torch"),
        "numpy": version("numpy"),
        "platform": platform.platform(),
        "device": device or "cpu",
        "git_commit": commit,
        "git_dirty": dirty,
    }


def _git_state() -> tuple[str | None, bool | None]:
    """The toolkit's own git commit when it runs from a checkout (None from a wheel)."""
    here = Path(__file__).resolve().parent
    if not (here.parent / ".git").exists():
        return None, None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                                capture_output=True, text=True, timeout=5, check=True).stdout
        return commit or None, bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def _normalise_metric(entry: dict[str, Any], info: Mapping[str, Any] | None) -> dict[str, Any]:
    if "unavailable" in entry and "available" not in entry:
        reason = entry.pop("unavailable")
        entry["available"] = False
        entry.setdefault("reason", str(reason))
    entry.setdefault("available", entry.get("mean") is not None)
    if not entry["available"]:
        entry.setdefault("mean", None)
        entry.setdefault("ci95", None)
        entry.setdefault("n", 0)
        entry.setdefault("reason", "not computed (no reason recorded)")
    for key in ("higher_is_better", "unit", "description"):
        if info is not None and key in info and key not in entry:
            entry[key] = info[key]
    if "ci95" in entry and entry["ci95"] is not None:
        entry["ci95"] = [_num(v) for v in entry["ci95"]]
    if isinstance(entry.get("fingerprint"), Mapping):
        entry["fingerprint"] = _plain(dict(entry["fingerprint"]))
        entry["fingerprint_hash"] = fingerprint_hash(entry["fingerprint"])
    if "mean" in entry and entry["mean"] is not None:
        entry["mean"] = _num(entry["mean"])
    return entry


def _num(v: Any) -> Any:
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def _plain(obj: Any) -> Any:
    """Recursively turn numpy scalars/arrays, tuples and Paths into plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if type(obj).__module__ == "numpy":
        return _plain(obj.tolist()) if hasattr(obj, "tolist") else obj
    return obj


def _finite_or_none(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


# ------------------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------------------
def validate_results(obj: Any) -> list[str]:
    """Every way ``obj`` breaks the contract, as readable sentences (empty list = valid)."""
    if not isinstance(obj, dict):
        return [f"top level must be a JSON object, got {type(obj).__name__}"]
    problems: list[str] = []
    sv = obj.get("schema_version")
    modern = isinstance(sv, int) and not isinstance(sv, bool) and sv >= 2
    missing = [k for k in REQUIRED_TOP + (REQUIRED_SINCE_2 if modern else ()) if k not in obj]
    if missing:
        problems.append(f"missing field(s): {', '.join(missing)}")

    if "schema_version" in obj:
        if not isinstance(sv, int) or isinstance(sv, bool):
            problems.append(f"schema_version must be an integer, got {sv!r}")
        elif sv > SCHEMA_VERSION:
            problems.append(f"schema_version {sv} is newer than this toolkit understands ({SCHEMA_VERSION}); "
                            "upgrade headswapbench")
        elif sv < 1:
            problems.append(f"schema_version must be >= 1, got {sv}")
    for key in ("toolkit_version", "created_at"):
        if key in obj and not (isinstance(obj[key], str) and obj[key]):
            problems.append(f"{key} must be a non-empty string")
    if isinstance(obj.get("created_at"), str) and obj["created_at"]:
        try:
            datetime.fromisoformat(obj["created_at"])
        except ValueError:
            problems.append(f"created_at is not an ISO-8601 timestamp: {obj['created_at']!r}")

    problems += _check_fields(obj, "method", METHOD_FIELDS)
    problems += _check_fields(obj, "dataset", DATASET_FIELDS)
    problems += _check_fields(obj, "coverage", COVERAGE_FIELDS)
    problems += _check_fields(obj, "provenance", PROVENANCE_FIELDS)
    problems += _check_fields(obj, "protocol", PROTOCOL_FIELDS)
    proto = obj.get("protocol")
    if isinstance(proto, dict) and isinstance(proto.get("overrides"), list):
        if not all(isinstance(o, str) for o in proto["overrides"]):
            problems.append("protocol.overrides must be a list of strings")
        elif proto.get("official") is True and proto["overrides"]:
            problems.append("protocol.official is true but the run overrides the protocol")
    if isinstance(proto, dict):
        reps, level = proto.get("replicates"), proto.get("level")
        if reps is not None and not (_is_int(reps) and reps >= 1):
            problems.append(f"protocol.replicates must be a positive integer, got {reps!r}")
        if level is not None and not (_is_number(level) and 0 < level < 1):
            problems.append(f"protocol.level must be a number between 0 and 1, got {level!r}")
    ds = obj.get("dataset")
    if isinstance(ds, dict) and isinstance(ds.get("num_clips"), int) and ds["num_clips"] < 0:
        problems.append("dataset.num_clips must be >= 0")
    if isinstance(ds, dict) and ds.get("num_subjects") is not None:
        subs = ds["num_subjects"]
        if not (_is_int(subs) and subs >= 0):
            problems.append(f"dataset.num_subjects must be an integer >= 0, got {subs!r}")
        elif _is_int(ds.get("num_clips")) and subs > ds["num_clips"]:
            problems.append(f"dataset.num_subjects ({subs}) exceeds dataset.num_clips ({ds['num_clips']}): every "
                            "subject has at least one clip")
    cov = obj.get("coverage")
    if isinstance(cov, dict) and all(isinstance(cov.get(k), int) for k in ("expected", "scored", "failed")):
        if min(cov["expected"], cov["scored"], cov["failed"]) < 0:
            problems.append("coverage counts must be >= 0")
        elif cov["scored"] + cov["failed"] > cov["expected"]:
            problems.append(f"coverage: scored ({cov['scored']}) + failed ({cov['failed']}) exceeds expected "
                            f"({cov['expected']})")
    if isinstance(cov, dict) and "failures" in cov:
        fails = cov["failures"]
        if not isinstance(fails, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("code"), str) and isinstance(v.get("message"), str)
                for v in fails.values()):
            problems.append("coverage.failures must map clip ids to {code, message}")

    if isinstance(ds, dict) and isinstance(ds.get("checksum"), str) and not CHECKSUM_RE.match(ds["checksum"]):
        problems.append(f"dataset.checksum must be 16-128 lower-case hex digits, got {ds['checksum'][:80]!r}")
    cov_ok = isinstance(cov, dict) and all(isinstance(cov.get(k), int) and not isinstance(cov.get(k), bool)
                                           for k in ("expected", "scored"))
    if cov_ok and isinstance(ds, dict) and isinstance(ds.get("num_clips"), int) and cov["expected"] > ds["num_clips"]:
        problems.append(f"coverage.expected ({cov['expected']}) exceeds dataset.num_clips ({ds['num_clips']})")
    env = obj.get("environment")
    if env is not None and not (isinstance(env, dict) and all(
            v is None or isinstance(v, (str, int, float, bool)) for v in env.values())):
        problems.append("environment must be an object of plain values (text, numbers, true/false, null)")

    settings = obj.get("settings")
    if "settings" in obj:
        if not isinstance(settings, dict):
            problems.append("settings must be an object")
        else:
            expected_hash = sha256_json(settings)
            if obj.get("settings_hash") != expected_hash:
                problems.append(f"settings_hash {str(obj.get('settings_hash'))[:16]}... does not match the settings "
                                f"(sha256_json gives {expected_hash[:16]}...): settings were edited after hashing")
            if "smoke" in settings and not isinstance(settings["smoke"], bool):
                problems.append("settings.smoke must be true or false")
            if "nonstandard" in settings and not (isinstance(settings["nonstandard"], list)
                                                  and all(isinstance(s, str) for s in settings["nonstandard"])):
                problems.append("settings.nonstandard must be a list of strings")

    metrics = obj.get("metrics")
    if "metrics" in obj:
        if not isinstance(metrics, dict):
            problems.append("metrics must be an object {name: entry}")
        elif not metrics:
            problems.append("metrics is empty")
        else:
            scored = cov["scored"] if cov_ok else None
            for name, entry in metrics.items():
                problems += [f"metrics.{name}: {p}" for p in _check_metric(name, entry, scored, modern)]

    per_clip = obj.get("per_clip")
    if per_clip is not None:
        if not isinstance(per_clip, list):
            problems.append("per_clip must be a list of rows or null")
        else:
            if cov_ok and len(per_clip) > cov["scored"]:
                problems.append(f"per_clip has {len(per_clip)} rows but coverage.scored is {cov['scored']}")
            for i, row in enumerate(per_clip):
                if not isinstance(row, dict) or not isinstance(row.get("clip_id"), str):
                    problems.append(f"per_clip[{i}] must be an object with a string clip_id")
                    break
                bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
                if bad:
                    problems.append(f"per_clip[{i}] ({row['clip_id']}): non-finite value(s) in {', '.join(bad)} "
                                    "(write null for undefined)")
                    break
    return problems


def _check_fields(obj: dict, key: str, fields: tuple[FieldSpec, ...]) -> list[str]:
    if key not in obj:
        return []
    sub = obj[key]
    if not isinstance(sub, dict):
        return [f"{key} must be an object"]
    problems = []
    for f in fields:
        if f.name not in sub:
            problems.append(f"{key}.{f.name} is missing")
            continue
        v = sub[f.name]
        if v is None and f.nullable:
            continue
        ok = isinstance(v, f.types) and not (isinstance(v, bool) and bool not in f.types)
        if not ok:
            problems.append(f"{key}.{f.name} must be {'/'.join(t.__name__ for t in f.types)}, got {v!r}")
        elif isinstance(v, str) and not v.strip() and f.name not in ("revision",):
            problems.append(f"{key}.{f.name} must not be empty")
        elif isinstance(v, str) and len(v) > f.max_chars:
            problems.append(f"{key}.{f.name} is {len(v):,} characters long (at most {f.max_chars:,})")
    return problems


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    """A finite number that converts to float (a 401-digit integer does not: OverflowError)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _check_metric(name: str, entry: Any, scored: int | None = None, modern: bool = True) -> list[str]:
    if not METRIC_NAME_RE.match(str(name)):
        return [f"bad metric name {name!r} (letters, digits and _ . @ / + - only)"]
    if not isinstance(entry, dict):
        return ["entry must be an object"]
    problems = []
    hib = entry.get("higher_is_better")
    if "higher_is_better" not in entry:
        problems.append("higher_is_better is missing (true, false, or null for a diagnostic)")
    elif hib is not None and not isinstance(hib, bool):
        problems.append(f"higher_is_better must be true/false/null, got {hib!r}")
        hib = None
    available = entry.get("available")
    if not isinstance(available, bool):
        return problems + ["available must be true or false"]
    bad_text = [k for k in ("unit", "label", "description", "reason") if entry.get(k) is not None
                and not isinstance(entry[k], str)]
    problems += [f"{k} must be a string" for k in bad_text]
    if "code" in entry and not isinstance(entry["code"], str):
        problems.append("code must be a string (a headswapbench.reasons code)")
    if modern or "fingerprint" in entry:
        fp = entry.get("fingerprint")
        if fp is None:
            problems.append("fingerprint is missing")
        else:
            problems += check_fingerprint(fp)
            if isinstance(fp, dict) and entry.get("fingerprint_hash") != fingerprint_hash(fp):
                problems.append("fingerprint_hash does not match the fingerprint (edited after hashing?)")
            if isinstance(fp, dict) and fp.get("metric") not in (None, name):
                problems.append(f"fingerprint.metric {fp.get('metric')!r} is not this entry's key")
    if not available:
        if not (isinstance(entry.get("reason"), str) and entry["reason"].strip()):
            problems.append("unavailable metric needs a reason")
        if entry.get("mean") is not None:
            problems.append("unavailable metric must have mean null")
        return problems
    mean, ci, n = entry.get("mean"), entry.get("ci95"), entry.get("n")
    if not _is_number(mean):
        problems.append(f"mean must be a finite number, got {mean!r}")
    if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        problems.append(f"n must be a positive integer, got {n!r}")
    elif scored is not None and n > scored:
        problems.append(f"n ({n}) exceeds the clips scored (coverage.scored = {scored})")
    subs = entry.get("n_subjects")
    if subs is not None:
        if not (_is_int(subs) and subs >= 0):
            problems.append(f"n_subjects must be an integer >= 0, got {subs!r}")
        elif _is_int(n) and subs > n:
            problems.append(f"n_subjects ({subs}) exceeds n ({n}): every subject has at least one clip")
    ci_ok = False
    if ci is not None:
        if not (isinstance(ci, list) and len(ci) == 2 and all(_is_number(v) for v in ci)):
            problems.append(f"ci95 must be [lo, hi] of finite numbers or null, got {ci!r}")
        elif ci[0] > ci[1]:
            problems.append(f"ci95 lower bound {ci[0]} exceeds upper bound {ci[1]}")
        else:
            ci_ok = True
    if not _is_number(mean):
        return problems
    if ci_ok:
        slack = BOUND_TOLERANCE * max(1.0, abs(ci[0]), abs(ci[1]), abs(mean))
        if not ci[0] - slack <= mean <= ci[1] + slack:
            problems.append(f"ci95 [{ci[0]:.6g}, {ci[1]:.6g}] does not contain the mean {mean:.6g}")
    unit = entry.get("unit")
    rule = UNIT_RULES.get(unit.lower()) if isinstance(unit, str) else None
    if rule is not None:
        if rule.distance and hib is True:
            problems.append(f"a {unit} value is a distance (lower is better); higher_is_better true cannot be right")
        lo, hi = rule.bounds(hib)
        values = [mean] + (list(ci) if ci_ok else [])
        slack = RANGE_SLACK + BOUND_TOLERANCE * max(abs(b) for b in (lo, hi, 0.0) if math.isfinite(b))
        out = [v for v in values if not lo - slack <= v <= hi + slack]
        if out:
            direction = ", higher is better" if hib is True else ", lower is better" if hib is False else ""
            problems.append(f"{'mean' if out[0] == mean else 'ci95 bound'} {out[0]:.6g} is outside the range of "
                            f"unit {unit} ({_range(lo, hi)}{direction})")
    return problems


def _range(lo: float, hi: float) -> str:
    if math.isinf(hi):
        return f">= {lo:g}"
    if math.isinf(lo):
        return f"<= {hi:g}"
    return f"[{lo:g}, {hi:g}]"


def check_results(obj: Any, source: str | Path | None = None) -> dict[str, Any]:
    """Return ``obj`` if valid, else raise InvalidResultsError naming the source and every problem."""
    problems = validate_results(obj)
    if problems:
        where = f"{source}: " if source else ""
        raise InvalidResultsError(f"{where}invalid results ({len(problems)} problem(s)): " + "; ".join(problems))
    return obj


# ------------------------------------------------------------------------------------------------------
# IO
# ------------------------------------------------------------------------------------------------------
def write_results(path: str | Path, obj: dict[str, Any]) -> Path:
    """Validate, then write atomically (a killed run leaves the old file or the whole new one)."""
    check_results(obj, path)
    # allow_nan is irrelevant after validation, but round-trip through strict JSON to be sure
    json.dumps(obj, allow_nan=False)
    atomic_write_json(path, obj)
    return Path(path)


def load_results(path: str | Path) -> dict[str, Any]:
    """Read and validate one results.json; every failure is an InvalidResultsError naming the file."""
    return parse_results(read_results_bytes(path), path)


def read_results_bytes(path: str | Path) -> bytes:
    """The bytes of a results file read as an untrusted file (regular, not a symlink, size-capped)."""
    try:
        return read_bytes(path, max_bytes=MAX_RESULTS_BYTES)
    except UnsafeFileError as exc:
        raise InvalidResultsError(str(exc)) from None


def parse_results(data: bytes, source: str | Path) -> dict[str, Any]:
    """Parse (strict, depth- and number-capped JSON) and validate the bytes of a results file."""
    try:
        obj = loads_json(data)
    except ValueError as exc:
        raise InvalidResultsError(f"{source}: {exc}") from None
    return check_results(obj, source)


def protocol_id(obj: Mapping[str, Any]) -> str:
    """The protocol a result was scored under, as fingerprints name it (``name@version``, ``custom:<sha12>``);
    a schema-1 file has none."""
    proto = obj.get("protocol")
    pid = proto.get("id") if isinstance(proto, Mapping) else None
    return pid if isinstance(pid, str) and pid else "none (schema 1)"


def results_key(obj: Mapping[str, Any]) -> tuple[str, str, str, str, str]:
    """What makes two results the 'same entry' (one row of a leaderboard board): method name+version on one
    dataset split under one protocol."""
    return (obj["method"]["name"], obj["method"]["version"], obj["dataset"]["name"], obj["dataset"]["split"],
            protocol_id(obj))


def settings_labels(settings: Mapping[str, Any]) -> list[str]:
    """Warnings the leaderboard must show next to a result (smoke models, non-standard backends)."""
    labels = []
    if settings.get("smoke"):
        labels.append("smoke test: tiny/untrained models, numbers are not comparable to real ones")
    labels += [f"non-standard: {s}" for s in settings.get("nonstandard") or []]
    return labels


# ------------------------------------------------------------------------------------------------------
# Notebook view
# ------------------------------------------------------------------------------------------------------
class ResultFrames(NamedTuple):
    """``metrics``: one row per result key; ``per_clip``: one row per scored clip (index ``clip_id``)."""

    metrics: Any
    per_clip: Any


METRIC_COLUMNS = ("mean", "ci_low", "ci_high", "n", "n_subjects", "higher_is_better", "unit", "available", "code",
                  "reason", "fingerprint_hash")


def to_frames(results: Mapping[str, Any] | str | Path) -> ResultFrames:
    """pandas DataFrames of a results dict or results.json: the metric table and the per-clip rows.

    Per-clip values that are undefined (null) become NaN; nested per-clip fields (``metric_failures``) stay
    objects. For a file whose rows live beside it (``per_clip_file``), those are read."""
    import pandas as pd

    folder = None
    if isinstance(results, (str, Path)):
        folder = Path(results).parent
        results = load_results(results)
    rows = []
    for key, e in results["metrics"].items():
        ci = e.get("ci95") or [None, None]
        rows.append({"metric": key, "mean": e.get("mean"), "ci_low": ci[0], "ci_high": ci[1], "n": e.get("n"),
                     "n_subjects": e.get("n_subjects"), "higher_is_better": e.get("higher_is_better"),
                     "unit": e.get("unit"), "available": e.get("available"), "code": e.get("code"),
                     "reason": e.get("reason"), "fingerprint_hash": e.get("fingerprint_hash")})
    metrics = pd.DataFrame(rows, columns=["metric", *METRIC_COLUMNS]).set_index("metric")
    clips = results.get("per_clip")
    name = results.get("per_clip_file")
    if clips is None and folder is not None and isinstance(name, str) and Path(name).name == name:
        per_clip = pd.read_csv(folder / name)  # a file beside results.json, never a path elsewhere
    else:
        per_clip = pd.DataFrame(list(clips or []))
    if "clip_id" in per_clip.columns:
        per_clip = per_clip.set_index("clip_id")
    for col in per_clip.columns:
        if col in results["metrics"]:
            per_clip[col] = pd.to_numeric(per_clip[col], errors="coerce")
    return ResultFrames(metrics, per_clip)


__all__ = [
    "SCHEMA_VERSION",
    "ResultFrames",
    "UNIT_RULES",
    "check_results",
    "environment_info",
    "load_results",
    "make_results",
    "metric_entry",
    "parse_results",
    "protocol_id",
    "read_results_bytes",
    "results_key",
    "settings_labels",
    "to_frames",
    "unavailable_metric",
    "validate_results",
    "write_results",
]


if __name__ == "__main__":  # pragma: no cover - `python -m headswapbench.results FILE` validates one file
    for arg in sys.argv[1:]:
        load_results(arg)
        print(f"{arg}: ok")
