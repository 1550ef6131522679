"""Swappers: built-ins are registered lazily (no import until used); third parties use the entry-point
group ``headswapbench.swappers`` or ``module:attr``."""

from .base import SWAPPERS, SwapContext, Swapper

SWAPPERS.register("noop", "headswapbench.swappers.builtin:NoopSwapper")
SWAPPERS.register("oracle", "headswapbench.swappers.builtin:OracleSwapper")
SWAPPERS.register("warp", "headswapbench.swappers.warp:WarpSwapper")
SWAPPERS.register("directswap", "headswapbench.directswap.swapper:DirectSwapSwapper")

__all__ = ["SWAPPERS", "SwapContext", "Swapper"]
