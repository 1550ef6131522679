"""Metrics: per-clip (identity, keypoints, pose, expression, PSNR/SSIM/LPIPS, flicker) and set-level
(FID, FVD, identity retrieval). Built-ins are registered lazily (``module:attr`` strings), so importing this
package costs no torch import; third parties use the entry-point group ``headswapbench.metrics``."""

from __future__ import annotations

from typing import Any

from headswapbench.errors import MissingWeightsError
from headswapbench.registry import Registry

from .base import METRIC_INFO, ClipData, ClipMetric, Metric, MetricInfo, SetMetric, register_info, unavailable

METRICS: Registry = Registry("metric", base=Metric, entry_point_group="headswapbench.metrics")

_BUILTINS = {
    "identity": "headswapbench.metrics.identity:IdentityMetric",
    "identity_retrieval": "headswapbench.metrics.identity:IdentityRetrieval",
    "keypoints": "headswapbench.metrics.geometry:KeypointNME",
    "pose": "headswapbench.metrics.geometry:PoseError",
    "expression": "headswapbench.metrics.geometry:ExpressionError",
    "psnr": "headswapbench.metrics.paired:PSNRMetric",
    "ssim": "headswapbench.metrics.paired:SSIMMetric",
    "lpips": "headswapbench.metrics.paired:LPIPSMetric",
    "flicker": "headswapbench.metrics.temporal:FlickerMetric",
    "fid": "headswapbench.metrics.fid:FIDMetric",
    "fvd": "headswapbench.metrics.fvd:FVDMetric",
}
for _name, _target in _BUILTINS.items():
    METRICS.register(_name, _target)

DEFAULT_METRICS: tuple[str, ...] = tuple(_BUILTINS)


def load_metrics(
    names: list[str] | tuple[str, ...] | None = None, device: str = "cpu", batch_size: int = 16, **options: Any
) -> tuple[list[Metric], dict[str, str]]:
    """Construct the named metrics (default: all built-ins). Returns ``(metrics, unavailable)`` where
    ``unavailable`` maps a metric name to the reason it cannot run (missing weights): the runner records
    those with ``unavailable(reason)`` and scores the rest. ``options`` are passed to metrics whose
    constructor accepts them (e.g. ``fid_frame_stride``); unknown options raise."""
    import inspect

    metrics, missing = [], {}
    used: set[str] = set()
    for name in names or DEFAULT_METRICS:
        cls = METRICS.get(name)
        params = inspect.signature(cls.__init__).parameters
        kwargs = {k: v for k, v in options.items() if k in params}
        used |= set(kwargs)
        try:
            metrics.append(cls(device=device, batch_size=batch_size, **kwargs))
        except MissingWeightsError as exc:
            missing[name] = str(exc).splitlines()[0]
    unknown = set(options) - used
    if unknown:
        raise ValueError(f"unknown metric option(s): {', '.join(sorted(unknown))}")
    return metrics, missing


__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "METRIC_INFO",
    "ClipData",
    "ClipMetric",
    "Metric",
    "MetricInfo",
    "SetMetric",
    "load_metrics",
    "register_info",
    "unavailable",
]
