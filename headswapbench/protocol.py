"""Protocols: how a split is scored, as a versioned data file (``headswapbench/protocols/<name>.toml``).

A protocol names the metrics (primary and secondary, with constructor options), the face backends, the
model files and the sha256 it pins them to, the frame sampling, the aggregation (macro mean over clips,
subject-level cluster bootstrap, replicates, seed) and the headline metric. Two ship with the package:

- ``headswapbench-v1``: the published protocol (arXiv 2609.35708, appendix D.1: AdaFace identity, MediaPipe
  478-point keypoints, whole-frame LPIPS, ...);
- ``offline-v1``: a profile of what runs without downloads (dlib identity, legacy FaceMesh). Not the
  published protocol, and labelled so everywhere.

Why data and not code: a protocol is a claim a results file makes ("scored under X"), so it must be a fixed
thing a reader can look at, hash and cite; the runner reads it, it does not define it. The loader is strict:
an unknown key is refused by name (a typo never silently falls back to a default). A protocol file given by
path is *custom*: whatever it says, it is never official, and results name it by the sha256 of its bytes.

Numbers published under a protocol live beside it (``protocols/published/<name>.toml``), read by
``published_results``.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import HeadSwapBenchError

BUILTIN = ("headswapbench-v1", "offline-v1")
PUBLISHED_PROTOCOL = "headswapbench-v1"
OFFLINE_PROTOCOL = "offline-v1"
UNPINNED = "unpinned"

_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[A-Za-z0-9_.@/+-]{1,100}$")


class ProtocolError(HeadSwapBenchError):
    """A protocol file that breaks the schema, or a protocol name that does not exist."""


# ----------------------------------------------------------------------------------------------------------
# Schema: every key a protocol file may hold. (type, required, allowed values or None)
# ----------------------------------------------------------------------------------------------------------
_SCHEMA: dict[str, Any] = {
    "name": (str, True, None),
    "version": (str, True, None),
    "title": (str, True, None),
    "kind": (str, True, ("published", "profile", "custom")),
    "official": (bool, True, None),
    "source": (str, False, None),
    "description": (str, False, None),
    "headline": (str, True, None),
    "metrics": {"primary": (list, True, None), "secondary": (list, False, None)},
    "metric_options": (dict, False, None),
    "analysis": {"landmarks": (str, True, None), "identity": (str, True, None),
                 "identity_frames": ((str, int), True, None)},
    "frames": {"video": (str, True, ("all",)), "image_method": (str, True, ("middle",))},
    "aggregation": {"over_clips": (str, True, ("macro",)), "interval": (str, True, ("subject-bootstrap",)),
                    "level": ((float, int), True, None), "replicates": (int, True, None),
                    "seed": (int, True, None)},
    "weights": (dict, False, None),
    # optional: the split the protocol is reported on; with a checksum, the leaderboard ranks only results
    # on that dataset version (the maintainer's --dataset-checksum still wins)
    "dataset": {"name": (str, False, None), "split": (str, False, None), "checksum": (str, False, None)},
}
_OPTIONAL_TABLES = ("dataset",)


def _check_table(doc: dict, schema: dict, where: str, problems: list[str]) -> None:
    for key in doc:
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1)
            problems.append(f"unknown key '{where}{key}'" + (f" (did you mean '{where}{close[0]}'?)" if close else "")
                            + f"; known: {', '.join(where + k for k in schema)}")
    for key, spec in schema.items():
        if isinstance(spec, dict):
            if key not in doc:
                if key not in _OPTIONAL_TABLES:
                    problems.append(f"missing table [{where}{key}]")
            elif not isinstance(doc[key], dict):
                problems.append(f"'{where}{key}' must be a table")
            else:
                _check_table(doc[key], spec, f"{where}{key}.", problems)
            continue
        types, required, allowed = spec
        if key not in doc:
            if required:
                problems.append(f"missing key '{where}{key}'")
            continue
        value = doc[key]
        ok_types = types if isinstance(types, tuple) else (types,)
        if not isinstance(value, ok_types) or (isinstance(value, bool) and bool not in ok_types):
            problems.append(f"'{where}{key}' has the wrong type ({type(value).__name__})")
        elif allowed is not None and value not in allowed:
            problems.append(f"'{where}{key}' = {value!r}: expected one of {', '.join(map(repr, allowed))}")


@dataclass(frozen=True)
class Protocol:
    """One loaded, validated protocol file."""

    name: str
    version: str
    title: str
    kind: str
    official: bool
    headline: str
    primary: tuple[str, ...]
    secondary: tuple[str, ...]
    metric_options: dict[str, Any]
    landmarks: str
    identity: str
    identity_frames: str | int  # "all", "auto" (at most 16 per clip) or a stride
    frames_video: str
    frames_image_method: str
    over_clips: str
    interval: str
    level: float
    replicates: int
    seed: int
    weights: dict[str, str | None]  # weights-table name → pinned full sha256, None = unpinned
    sha256: str  # of the file's bytes
    path: str
    builtin: bool
    source: str = ""
    description: str = ""
    dataset: dict[str, str] = field(default_factory=dict)  # {name, split, checksum}, each optional
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.primary + self.secondary

    @property
    def id(self) -> str:
        """How results and fingerprints name it: ``name@version`` for a built-in, ``custom:<sha12>`` for a file."""
        return f"{self.name}@{self.version}" if self.builtin else f"custom:{self.sha256[:12]}"

    @property
    def is_official(self) -> bool:
        """Only a built-in file can be official; a file given by path never is, whatever it claims."""
        return self.builtin and self.official

    @property
    def label(self) -> str:
        """One phrase for table headers and reports."""
        if not self.builtin:
            return f"custom protocol '{self.name}' ({self.path}, sha256 {self.sha256[:12]}), not the published one"
        return f"{self.name}: {self.title}"

    @property
    def identity_every(self) -> int | str | None:
        """``identity_frames`` as ``face.analyze_video`` takes it (None = its default sampling)."""
        return None if self.identity_frames == "auto" else self.identity_frames

    def pin(self, weight: str) -> str | None:
        return self.weights.get(weight)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "version": self.version, "title": self.title, "kind": self.kind,
                "official": self.is_official, "builtin": self.builtin, "sha256": self.sha256, "path": self.path,
                "source": self.source, "description": self.description, "headline": self.headline,
                "metrics": {"primary": list(self.primary), "secondary": list(self.secondary)},
                "metric_options": dict(self.metric_options),
                "analysis": {"landmarks": self.landmarks, "identity": self.identity,
                             "identity_frames": self.identity_frames},
                "frames": {"video": self.frames_video, "image_method": self.frames_image_method},
                "aggregation": {"over_clips": self.over_clips, "interval": self.interval, "level": self.level,
                                "replicates": self.replicates, "seed": self.seed},
                "weights": {k: (v or UNPINNED) for k, v in self.weights.items()},
                "dataset": dict(self.dataset)}


def parse_protocol(data: bytes, path: str, builtin: bool = False) -> Protocol:
    """Validate a protocol file's bytes; every problem is listed in one ProtocolError."""
    import hashlib

    from . import weights as weights_table

    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProtocolError(f"{path}: not a TOML protocol file ({exc})") from None
    problems: list[str] = []
    _check_table(doc, _SCHEMA, "", problems)
    if problems:
        raise ProtocolError(f"{path}: {'; '.join(problems)}")
    if not _NAME.match(doc["name"]):
        problems.append(f"name {doc['name']!r}: lower-case letters, digits, '.' and '-' only")
    metrics = doc["metrics"]
    names = [*metrics["primary"], *metrics.get("secondary", [])]
    if not names or not all(isinstance(n, str) and _KEY.match(n) for n in names):
        problems.append("metrics.primary/secondary must list metric names")
    elif len(set(names)) != len(names):
        problems.append(f"a metric is listed twice: {sorted(n for n in set(names) if names.count(n) > 1)}")
    if not _KEY.match(doc["headline"]):
        problems.append(f"headline {doc['headline']!r} is not a result key")
    frames = doc["analysis"]["identity_frames"]
    if not (frames in ("all", "auto") or (isinstance(frames, int) and not isinstance(frames, bool) and frames >= 1)):
        problems.append(f"analysis.identity_frames = {frames!r}: expected \"all\", \"auto\" or a stride >= 1")
    agg = doc["aggregation"]
    if not 0 < float(agg["level"]) < 1:
        problems.append(f"aggregation.level = {agg['level']}: must be between 0 and 1")
    if agg["replicates"] < 100:
        problems.append(f"aggregation.replicates = {agg['replicates']}: must be >= 100")
    for key, value in doc.get("metric_options", {}).items():
        if isinstance(value, (dict, list)) or (isinstance(value, float) and not math.isfinite(value)):
            problems.append(f"metric_options.{key} must be a plain finite value")
    dataset = dict(doc.get("dataset", {}))
    if "checksum" in dataset and not re.fullmatch(r"[0-9a-f]{16,128}", dataset["checksum"]):
        problems.append(f"dataset.checksum {dataset['checksum'][:80]!r}: 16-128 lower-case hex digits, as results "
                        "record it")
    pins: dict[str, str | None] = {}
    for weight, pin in doc.get("weights", {}).items():
        if weight not in weights_table.WEIGHTS:
            close = difflib.get_close_matches(weight, list(weights_table.WEIGHTS), n=1)
            problems.append(f"weights.{weight}: not in the weights table" + (f" (did you mean '{close[0]}'?)"
                                                                             if close else ""))
        elif not isinstance(pin, str) or not (pin == UNPINNED or _SHA256.match(pin)):
            problems.append(f"weights.{weight} = {pin!r}: a full lower-case sha256 (64 hex) or \"{UNPINNED}\"")
        else:
            pins[weight] = None if pin == UNPINNED else pin
    if problems:
        raise ProtocolError(f"{path}: {'; '.join(problems)}")
    return Protocol(
        name=doc["name"], version=doc["version"], title=doc["title"], kind=doc["kind"], official=doc["official"],
        headline=doc["headline"], primary=tuple(metrics["primary"]), secondary=tuple(metrics.get("secondary", [])),
        metric_options=dict(doc.get("metric_options", {})), landmarks=doc["analysis"]["landmarks"],
        identity=doc["analysis"]["identity"], identity_frames=frames, frames_video=doc["frames"]["video"],
        frames_image_method=doc["frames"]["image_method"], over_clips=agg["over_clips"], interval=agg["interval"],
        level=float(agg["level"]), replicates=int(agg["replicates"]), seed=int(agg["seed"]), weights=pins,
        sha256=hashlib.sha256(data).hexdigest(), path=path, builtin=builtin, source=doc.get("source", ""),
        description=doc.get("description", ""), dataset=dataset, raw=doc)


def _builtin_file(name: str):
    return resources.files("headswapbench").joinpath("protocols", f"{name}.toml")


def list_protocols() -> list[Protocol]:
    """The protocols shipped with the package."""
    return [load_protocol(n) for n in BUILTIN]


def load_protocol(spec: str | Path | Protocol) -> Protocol:
    """A built-in protocol by name, or a protocol file by path (custom unless its bytes equal a built-in's)."""
    if isinstance(spec, Protocol):
        return spec
    text = str(spec)
    if text in BUILTIN:
        f = _builtin_file(text)
        return parse_protocol(f.read_bytes(), f"{text}.toml", builtin=True)
    path = Path(text)
    if not path.exists():
        close = difflib.get_close_matches(text, BUILTIN, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ProtocolError(f"unknown protocol '{text}'.{hint} Built-in: {', '.join(BUILTIN)}; or give a .toml file")
    if not path.is_file():
        raise ProtocolError(f"protocol {path}: not a regular file")
    if path.stat().st_size > 1 << 20:
        raise ProtocolError(f"protocol {path}: larger than 1 MiB, not a protocol file")
    data = path.read_bytes()
    for name in BUILTIN:  # the same bytes are the same protocol, wherever the file lies
        if data == _builtin_file(name).read_bytes():
            return parse_protocol(data, f"{name}.toml", builtin=True)
    return parse_protocol(data, str(path), builtin=False)


def shipped_protocol(protocol_id: str) -> Protocol | None:
    """The built-in protocol a results file names by id (``name@version``), or None: a custom protocol, or a
    version this toolkit does not ship (its reference cannot be derived here)."""
    name, _, version = str(protocol_id).partition("@")
    if name not in BUILTIN:
        return None
    proto = load_protocol(name)
    return proto if proto.version == version else None


def missing_weights(protocol: Protocol) -> list[str]:
    """The protocol's model files that are not on this machine (cheap: presence only, no hashing)."""
    from . import weights as weights_table
    from .errors import MissingWeightsError

    out = []
    for name in protocol.weights:
        spec = weights_table.get_spec(name)
        try:
            path = weights_table.target_path(spec)
        except MissingWeightsError:
            out.append(name)
            continue
        present = (path / spec.filename).is_file() if spec.kind == "hub-repo" else path.is_file()
        if not present:
            out.append(name)
    return out


def default_protocol() -> tuple[Protocol, str | None]:
    """The published protocol when its model files are here, else the offline profile, with a note saying so."""
    published = load_protocol(PUBLISHED_PROTOCOL)
    missing = missing_weights(published)
    if not missing:
        return published, None
    return load_protocol(OFFLINE_PROTOCOL), (
        f"protocol: {OFFLINE_PROTOCOL} (offline profile), because {PUBLISHED_PROTOCOL} needs model files that are "
        f"not here ({', '.join(missing)}); pass --protocol {PUBLISHED_PROTOCOL} to score what it can anyway")


# ----------------------------------------------------------------------------------------------------------
# Published numbers
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublishedRow:
    """One method's numbers as reported in a paper under a protocol (quoted, not reproduced), on the split
    ``dataset`` / ``split`` under protocol ``protocol_id`` (``name@version``)."""

    method: str
    role: str
    source: dict[str, str]  # {id, title, url}
    metrics: dict[str, float]  # our result key → reported value
    not_implemented: dict[str, dict] = field(default_factory=dict)  # reported metrics we do not compute
    dataset: str = ""
    split: str = ""
    protocol_id: str = ""

    @property
    def label(self) -> str:
        """"reported in arXiv 2609.35708": the source id with its scheme separated by a space."""
        return "reported in " + str(self.source.get("id", "the literature")).replace(":", " ", 1)


def published_results(protocol: str = PUBLISHED_PROTOCOL) -> list[PublishedRow]:
    """The numbers published under ``protocol`` (``protocols/published/<protocol>.toml``); [] when none."""
    f = resources.files("headswapbench").joinpath("protocols", "published", f"{protocol}.toml")
    if not f.is_file():
        return []
    where = f"published/{protocol}.toml"
    doc = tomllib.loads(f.read_text("utf-8"))
    problems: list[str] = []
    _check_table(doc, {"protocol": (str, True, None), "protocol_version": (str, True, None),
                       "dataset": (str, True, None), "split": (str, True, None), "source": (list, True, None),
                       "row": (list, True, None)}, "", problems)
    if problems:
        raise ProtocolError(f"{where}: {'; '.join(problems)}")
    if doc["protocol"] != protocol:
        raise ProtocolError(f"{where}: says protocol {doc['protocol']!r}")
    pid = f"{doc['protocol']}@{doc['protocol_version']}"
    sources = {}
    for s in doc["source"]:
        _check_table(s, {"id": (str, True, None), "title": (str, True, None), "url": (str, True, None)}, "source.",
                     problems)
        sources[s.get("id")] = s
    rows = []
    for r in doc["row"]:
        _check_table(r, {"method": (str, True, None), "role": (str, True, None), "source": (str, True, None),
                         "metrics": (dict, True, None), "not_implemented": (dict, False, None)}, "row.", problems)
        if problems:
            break
        if r["source"] not in sources:
            problems.append(f"row {r['method']!r}: source {r['source']!r} is not a [[source]] id")
        bad = [k for k, v in r["metrics"].items() if not _KEY.match(k) or isinstance(v, bool)
               or not isinstance(v, (int, float)) or not math.isfinite(v)]
        if bad:
            problems.append(f"row {r['method']!r}: metrics {bad} must be result keys with finite numbers")
        rows.append(PublishedRow(r["method"], r["role"], dict(sources.get(r["source"], {})),
                                 {k: float(v) for k, v in r["metrics"].items()}, dict(r.get("not_implemented", {})),
                                 doc["dataset"], doc["split"], pid))
    if problems:
        raise ProtocolError(f"{where}: {'; '.join(problems)}")
    return rows


__all__ = ["BUILTIN", "OFFLINE_PROTOCOL", "PUBLISHED_PROTOCOL", "Protocol", "ProtocolError", "PublishedRow",
           "default_protocol", "list_protocols", "load_protocol", "missing_weights", "parse_protocol",
           "published_results", "shipped_protocol"]
