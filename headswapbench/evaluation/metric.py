"""The metric contract the evaluation runner drives: what a metric reads (``ClipData``), what it says about itself
(``MetricInfo``), the two shapes a metric takes (per-clip ``ClipMetric``, set-level ``SetMetric``) and the
registry metrics arrive through.

Why the contract lives in the core and the metrics do not: the runner must call metrics without importing the
``metrics`` room (dependencies point inward). Metrics are plug-ins like swappers: the built-in ones are
declared as entry points of this distribution (group ``headswapbench.metrics`` in pyproject.toml), exactly
the way a third-party package adds one, and any ``module:attr`` resolves too. Importing a metric's module
registers the ``MetricInfo`` of its result keys (``register_info``).

Why this shape:
- every clip is decoded once and analysed once (landmarks, pose, expression, identity); metrics only *read*
  that shared ``ClipData``, so adding a metric never adds a decode or a face-model pass;
- one metric may produce several result keys (``pose_error_yaw`` / ``_pitch`` / ``_roll``); each key has its
  own ``MetricInfo`` (direction, unit, version) so results.json and the leaderboard never guess;
- a set-level metric splits into ``extract`` (per clip, pure, cacheable, inside the resumable stage) and
  ``add`` / ``compute`` (cheap reduction), so a killed run recomputes FID from stored features;
- a metric whose weights are missing raises ``MissingWeightsError`` when it is *constructed*; the runner
  records it as unavailable with that reason and the other metrics still run;
- ``settings()`` and ``weights()`` say what changes the number; the runner turns them into the per-metric
  fingerprint that decides comparability (``headswapbench.fingerprint``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import HeadSwapBenchError, MissingWeightsError, RegistryError
from ..registry import Registry
from ..types import Image, Video

# What a metric may need beyond the output video (the runner loads and analyses only what is needed).
NEEDS_TARGET, NEEDS_DRIVING, NEEDS_REFERENCE = "target", "driving", "reference"
NEEDS_ANALYSIS = "analysis"  # per-frame landmarks, pose, expression of every loaded video
NEEDS_IDENTITY = "identity"  # identity embeddings in those analyses


@dataclass(frozen=True)
class MetricInfo:
    """What one result key means. ``higher_is_better=None`` marks a diagnostic (reported, never ranked).
    ``version`` changes whenever the definition changes the number (it is part of the fingerprint)."""

    name: str
    higher_is_better: bool | None
    unit: str
    description: str
    needs: frozenset[str] = frozenset()
    version: str = "1"
    level: str = "clip"  # "clip" (per-clip value, aggregated by bootstrap over subjects) or "set"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "higher_is_better": self.higher_is_better, "unit": self.unit,
                "description": self.description, "needs": sorted(self.needs), "version": self.version,
                "level": self.level}


METRIC_INFO: dict[str, MetricInfo] = {}  # result key → info; filled by the metric modules when imported


def register_info(*infos: MetricInfo) -> None:
    """Describe result keys (a metric module calls this at import)."""
    for info in infos:
        old = METRIC_INFO.get(info.name)
        if old is not None and old != info:
            raise ValueError(f"metric key '{info.name}' is already described differently: {old}")
        METRIC_INFO[info.name] = info


@dataclass
class ClipData:
    """Everything known about one evaluated clip. Only ``output`` is always present; a metric states what
    else it needs in ``needs`` and gets a clear error (never a wrong number) when it is missing."""

    clip_id: str
    subject_id: str
    output: Video
    target: Video | None = None
    driving: Video | None = None
    reference: Image | None = None
    output_analysis: Any = None  # face.ClipAnalysis
    target_analysis: Any = None
    driving_analysis: Any = None
    reference_analysis: Any = None  # face.ImageAnalysis: .identity [E], .landmarks [478,3], ...
    extra: dict[str, Any] = field(default_factory=dict)

    def require(self, *names: str) -> None:
        """Raise a clear error naming the clip when a field a metric needs is missing."""
        missing = [n for n in names if getattr(self, n) is None]
        if missing:
            raise ValueError(f"clip '{self.clip_id}': metric needs {', '.join(missing)}, which the runner did not load")


class Metric:
    """Common base. Subclasses set ``name`` (registry name) and ``keys`` (result keys they produce).

    Construction loads models (and raises ``MissingWeightsError`` when a weight file is absent); ``device``
    is 'cpu' or 'cuda'; ``batch_size`` bounds memory for network metrics and must not change the numbers."""

    name: ClassVar[str] = ""
    keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, device: str = "cpu", batch_size: int = 16):
        self.device = device
        self.batch_size = int(batch_size)

    @property
    def infos(self) -> list[MetricInfo]:
        return infos_of(type(self))

    @property
    def needs(self) -> frozenset[str]:
        return needs_of(type(self))

    def settings(self) -> dict[str, Any]:
        """What changes the numbers besides the key's version and the model files (implementation, kernel,
        resize, windows ...). Recorded in each key's fingerprint; never batch size or device."""
        return {}

    def weights(self) -> dict[str, str]:
        """Model files used: weights-table name → full sha256 of the file actually loaded."""
        return {}


class ClipMetric(Metric):
    """A per-clip metric: ``compute(data) -> {key: float}``; NaN means 'not defined for this clip'."""

    def compute(self, data: ClipData) -> dict[str, float]:
        raise NotImplementedError


class SetMetric(Metric):
    """A set-level metric (FID, FVD, identity retrieval).

    ``extract(data)`` → small per-clip feature dict of numpy arrays (stored beside the clip's record);
    ``add(features)`` folds it into ``state``; ``compute()`` → ``{key: float}``; ``update(data)`` is
    ``add(extract(data))``."""

    def __init__(self, device: str = "cpu", batch_size: int = 16):
        super().__init__(device, batch_size)
        self.reset()

    def reset(self) -> None:
        self.state: dict[str, Any] = {}

    def extract(self, data: ClipData) -> dict[str, Any]:
        raise NotImplementedError

    def add(self, features: dict[str, Any]) -> None:
        raise NotImplementedError

    def update(self, data: ClipData) -> None:
        self.add(self.extract(data))

    def compute(self) -> dict[str, float]:
        raise NotImplementedError

    def counts(self) -> dict[str, Any]:
        """How many clips / frames / windows went into the number, input sizes (recorded beside it)."""
        return {}


# ----------------------------------------------------------------------------------------------------------
# The registry and construction
# ----------------------------------------------------------------------------------------------------------
METRICS: Registry[Metric] = Registry("metric", base=Metric, entry_point_group="headswapbench.metrics")


def metric_class(name: str) -> type[Metric]:
    """The metric class registered as ``name`` (or ``module:attr``); importing it registers its infos."""
    try:
        cls = METRICS.get(name)
    except RegistryError:
        if not METRICS.names():
            raise HeadSwapBenchError(f"unknown metric '{name}': no metric is registered at all, so the package's "
                                     "entry points are missing; reinstall it (pip install -e .)") from None
        raise
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        raise HeadSwapBenchError(f"metric '{name}' ({cls!r}) is not a Metric subclass")
    return cls


def infos_of(cls: type[Metric]) -> list[MetricInfo]:
    missing = [k for k in cls.keys if k not in METRIC_INFO]
    if missing:
        raise HeadSwapBenchError(f"metric '{cls.name}' produces undescribed keys {missing}; call register_info()")
    return [METRIC_INFO[k] for k in cls.keys]


def needs_of(cls: type[Metric]) -> frozenset[str]:
    out: set[str] = set()
    for info in infos_of(cls):
        out |= info.needs
    return frozenset(out)


def option_names(cls: type[Metric]) -> list[str]:
    """Constructor options a metric takes besides ``device`` and ``batch_size`` (``--metric-opt`` keys)."""
    params = inspect.signature(cls.__init__).parameters
    return [n for n, p in params.items() if n not in ("self", "device", "batch_size")
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def check_options(names: list[str], options: dict[str, Any]) -> dict[str, list[str]]:
    """Which metric takes each option; an option no chosen metric takes is refused by name."""
    takers: dict[str, list[str]] = {}
    for name in names:
        for opt in option_names(metric_class(name)):
            takers.setdefault(opt, []).append(name)
    unknown = sorted(set(options) - set(takers))
    if unknown:
        raise HeadSwapBenchError(f"unknown metric option(s) {', '.join(unknown)} for metrics {', '.join(names)}; "
                                 f"they take: {', '.join(sorted(takers)) or 'no options'}")
    return takers


def load_metrics(names: list[str] | tuple[str, ...], device: str = "cpu", batch_size: int = 16,
                 options: dict[str, Any] | None = None) -> tuple[list[Metric], dict[str, MissingWeightsError]]:
    """Construct the named metrics. Returns ``(metrics, unavailable)``: ``unavailable`` maps a metric name to
    the ``MissingWeightsError`` that stopped it (the runner records it and scores the rest). ``options`` go
    to the metrics whose constructor takes them; an option none takes raises."""
    options = dict(options or {})
    check_options(list(names), options)
    metrics, missing = [], {}
    for name in names:
        cls = metric_class(name)
        kwargs = {k: v for k, v in options.items() if k in option_names(cls)}
        try:
            metrics.append(cls(device=device, batch_size=batch_size, **kwargs))
        except MissingWeightsError as exc:
            missing[name] = exc
    return metrics, missing


def torch_device(device: str):
    """A torch.device, with a clear error when CUDA is asked for but absent. On CUDA, TF32 is switched off
    for convolutions and matmuls (process-wide): PyTorch's default lets cuDNN round convolution inputs to
    10-bit mantissas, which moves SSIM by up to 1e-2 on near-flat frames; every metric stays in float32."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise HeadSwapBenchError(f"device '{device}' is not a torch device (e.g. cpu, cuda, cuda:1): {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise HeadSwapBenchError(f"device '{device}' requested but CUDA is not available on this machine")
    if dev.type == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    return dev


__all__ = [
    "METRICS", "METRIC_INFO", "NEEDS_ANALYSIS", "NEEDS_DRIVING", "NEEDS_IDENTITY", "NEEDS_REFERENCE", "NEEDS_TARGET",
    "ClipData", "ClipMetric", "Metric", "MetricInfo", "SetMetric", "check_options", "infos_of", "load_metrics",
    "metric_class", "needs_of", "option_names", "register_info", "torch_device",
]
