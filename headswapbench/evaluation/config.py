"""One validated object carries every choice of an evaluation into the runner: ``EvalConfig``.

Built from the CLI (``headswapbench evaluate`` maps its flags onto these fields, help text included) or
from Python (``EvalConfig(protocol="offline-v1", metrics=("psnr",))``). ``plan()`` checks all of it
*before any model loads* — names against the registries and the protocol, option keys against the metrics'
constructors, numbers for range and finiteness — and resolves it into an ``EvalPlan``: the protocol, the
metrics and options that will run, and the list of overrides (each override makes the result "not the
protocol", and results say which). Unknown names and keys are refused by name, with close matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import HeadSwapBenchError
from ..protocol import Protocol, ProtocolError, default_protocol, load_protocol


def _opt(default: Any, help: str) -> Any:
    """A field with its help text (``dict`` as the default means a fresh empty dict per config)."""
    if default is dict:
        return field(default_factory=dict, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(slots=True)
class EvalConfig:
    """Everything an evaluation can be told. ``None`` means "as the protocol says"."""

    protocol: str | None = _opt(None, "Protocol name (headswapbench-v1, offline-v1) or a protocol .toml file; "
                                      "default: headswapbench-v1 when its model files are here, else offline-v1.")
    split_name: str = _opt("test", "Split name inside the dataset.")
    revision: str | None = _opt(None, "Hub revision (Hub ids only).")
    token: str | None = _opt(None, "Hub token for a gated dataset (Hub ids only).")
    verify: str = _opt("sha256", "Check a local split before scoring: sha256 (re-hash every file), exists, none.")
    metrics: tuple[str, ...] | None = _opt(None, "Metric names to run instead of the protocol's (an override).")
    metric_options: dict[str, Any] = _opt(dict, "Metric constructor options key=value (e.g. fid_frame_stride=4, "
                                                "lpips_weights=FILE); an option differing from the protocol is "
                                                "an override.")
    identity: str | None = _opt(None, "Identity backend instead of the protocol's (dlib, arcface, adaface, "
                                      "module:attr): an override.")
    landmarks: str | None = _opt(None, "Landmark backend instead of the protocol's (facemesh, tasks, "
                                       "module:attr): an override.")
    identity_every: int | str | None = _opt(None, "Embed every N-th frame ('all' = every frame) instead of the "
                                                  "protocol's sampling: an override.")
    bootstrap_replicates: int | None = _opt(None, "Bootstrap replicates instead of the protocol's: an override.")
    image_method: bool = _opt(False, "The method edits single images: score the middle frame only, as the "
                                     "protocol prescribes for image editors (outputs may have 1 frame).")
    batch_size: int = _opt(16, "Frames (or windows, or faces) per batch in network metrics and the identity "
                               "network; does not change the numbers beyond float rounding.")
    workers: int = _opt(1, "Processes that run the face analysis (decode, landmarks, pose, expression, a CPU-only "
                           "identity backend) of the next clips while the metrics run; local executor only; "
                           "does not change the numbers.")
    device: str = _opt("cpu", "cpu or cuda[:N], for swappers and metric models.")
    executor: str = _opt("local", "local (in-process) or ray.")
    ray_address: str | None = _opt(None, "Ray cluster address (default: a local Ray).")
    shard: str | None = _opt(None, "Run only shard i/n (aggregate later without it).")
    skip_invalid: bool = _opt(False, "Score valid outputs and count invalid ones as failures instead of stopping.")
    timeout: float = _opt(600.0, "Per-clip timeout in seconds for --command (a finite number > 0).")
    progress: bool = _opt(True, "Show progress bars.")

    @classmethod
    def help(cls, name: str) -> str:
        """The help text of one field (the CLI's option help)."""
        for f in fields(cls):
            if f.name == name:
                return f.metadata["help"]
        raise KeyError(name)

    def plan(self) -> EvalPlan:
        """Validate everything and resolve it against the protocol (raises HeadSwapBenchError, naming the bad
        value, before any model loads)."""
        return _plan(self)


@dataclass(slots=True)
class EvalPlan:
    """What will run: the protocol, the effective metrics/backends/options, and what overrides the protocol."""

    config: EvalConfig
    protocol: Protocol
    metrics: tuple[str, ...]
    metric_options: dict[str, Any]
    landmarks: str
    identity: str
    identity_every: int | str | None
    replicates: int
    overrides: list[str]
    note: str | None = None  # said once: why this protocol was chosen by default

    @property
    def official(self) -> bool:
        return self.protocol.is_official and not self.overrides

    @property
    def identity_frames(self) -> str:
        """The identity sampling, as a fingerprint setting."""
        e = self.identity_every
        if e in (None, "auto"):
            return "auto (at most 16 per clip, same frames on every video)"
        return "all" if e in ("all", 1) else f"every {e}th frame"

    @property
    def frames(self) -> str:
        return "middle frame (image method)" if self.config.image_method else "all frames at the driving clip's fps"

    def labels(self, smoke: bool = False) -> dict[str, Any]:
        """``settings.nonstandard`` / ``settings.smoke``: what the leaderboard shows beside a result."""
        flags: dict[str, Any] = {}
        nonstandard = [] if self.protocol.is_official else [f"protocol {self.protocol.label}"]
        nonstandard += [f"override: {o}" for o in self.overrides]
        if nonstandard:
            flags["nonstandard"] = nonstandard
        if smoke:
            flags["smoke"] = True
        return flags

    def protocol_block(self) -> dict[str, Any]:
        """The results.json ``protocol`` object."""
        p = self.protocol
        return {"name": p.name, "version": p.version, "id": p.id, "sha256": p.sha256, "official": self.official,
                "overrides": list(self.overrides), "headline": p.headline, "label": p.label,
                "replicates": self.replicates, "seed": p.seed, "level": p.level}


# ----------------------------------------------------------------------------------------------------------
def _positive_int(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise HeadSwapBenchError(f"{what} {value!r}: must be an integer >= {minimum}")
    return value


def _check_scalars(c: EvalConfig) -> None:
    from ..runner import EXECUTORS, parse_shard
    from ..swappers.external import check_timeout
    from .validate import check_device

    _positive_int(c.batch_size, "--batch-size")
    _positive_int(c.workers, "--workers")
    if c.workers > 1 and c.executor != "local":
        raise HeadSwapBenchError(f"--workers {c.workers} runs face analysis in a local process pool; with "
                                 f"--executor {c.executor} the executor runs clips in parallel itself (use --workers 1)")
    check_timeout(c.timeout)  # nan, inf and <= 0 refused (a nan timeout never fires)
    check_device(c.device)  # a bad name, or CUDA on a machine without it, before any work
    if c.executor not in EXECUTORS.names() and ":" not in c.executor:
        raise HeadSwapBenchError(f"--executor {c.executor!r}: expected one of {', '.join(EXECUTORS.names())}")
    parse_shard(c.shard)
    if c.verify not in ("sha256", "exists", "none"):
        raise HeadSwapBenchError(f"verify {c.verify!r}: expected sha256, exists or none")
    if not (isinstance(c.split_name, str) and c.split_name.strip()):
        raise HeadSwapBenchError("--split must name a split (e.g. test)")
    if c.bootstrap_replicates is not None:
        _positive_int(c.bootstrap_replicates, "bootstrap replicates", 100)
    if c.identity_every is not None and c.identity_every not in ("all", "auto"):
        _positive_int(c.identity_every, "identity_every")
    if not isinstance(c.metric_options, dict):
        raise HeadSwapBenchError("metric options must be a mapping key → value")


def _check_backend(kind: str, name: str) -> None:
    """A face backend name resolves (class import only; nothing is constructed)."""
    if kind == "identity":
        from ..face.identity import IDENTITY_MODELS as registry
    else:
        from ..face.landmarks import LANDMARK_MODELS as registry
    registry.get(name)


def _plan(c: EvalConfig) -> EvalPlan:
    from .metric import check_options, infos_of, metric_class

    _check_scalars(c)
    note = None
    if c.protocol is None:
        protocol, note = default_protocol()
    else:
        protocol = load_protocol(c.protocol)
    proto_keys = {k for name in protocol.metrics for k in metric_class(name).keys}
    if protocol.headline not in proto_keys:
        raise ProtocolError(f"{protocol.path}: headline {protocol.headline!r} is not a result key of its metrics")
    names = tuple(dict.fromkeys(c.metrics)) if c.metrics else protocol.metrics
    if not names:
        raise HeadSwapBenchError("--metrics: no metric named")
    for name in names:
        infos_of(metric_class(name))  # unknown names refused here, with close matches
    check_options(list(names), c.metric_options)
    accepted = check_options(list(names), {})
    options = {k: v for k, v in protocol.metric_options.items() if k in accepted}
    options.update(c.metric_options)
    identity = c.identity or protocol.identity
    landmarks = c.landmarks or protocol.landmarks
    _check_backend("identity", identity)
    _check_backend("landmarks", landmarks)
    identity_every = protocol.identity_every if c.identity_every is None else c.identity_every
    if identity_every == "auto":
        identity_every = None
    replicates = c.bootstrap_replicates or protocol.replicates

    overrides = []
    if set(names) != set(protocol.metrics):
        overrides.append(f"metrics {', '.join(names)} (protocol: {', '.join(protocol.metrics)})")
    if identity != protocol.identity:
        overrides.append(f"identity backend {identity} (protocol: {protocol.identity})")
    if landmarks != protocol.landmarks:
        overrides.append(f"landmark backend {landmarks} (protocol: {protocol.landmarks})")
    if identity_every != protocol.identity_every:
        overrides.append(f"identity frames {identity_every or 'auto'} (protocol: {protocol.identity_frames})")
    for k, v in sorted(c.metric_options.items()):
        if protocol.metric_options.get(k, _MISSING) != v:
            was = protocol.metric_options.get(k, "the metric's default")
            overrides.append(f"metric option {k}={v} (protocol: {was})")
    if replicates != protocol.replicates:
        overrides.append(f"bootstrap replicates {replicates} (protocol: {protocol.replicates})")
    return EvalPlan(config=c, protocol=protocol, metrics=names, metric_options=options, landmarks=landmarks,
                    identity=identity, identity_every=identity_every, replicates=replicates, overrides=overrides,
                    note=note)


_MISSING = object()

__all__ = ["EvalConfig", "EvalPlan"]
