"""--swapper-opt reaches the swapper's constructor; an option it does not take is refused by name."""

import pytest

from headswapbench.errors import HeadSwapBenchError
from headswapbench.options import parse_options
from headswapbench.swappers.external import resolve_source


def test_options_reach_the_constructor_and_typos_are_refused():
    src = resolve_source("warp", swapper_options=parse_options(["blend_mode=poisson", "smooth_sigma=0"]))
    assert src.swapper.blend_mode == "poisson" and src.swapper.smooth_sigma == 0
    with pytest.raises(HeadSwapBenchError, match=r"does not take option\(s\) \['blend_mod'\].*blend_mode"):
        resolve_source("warp", swapper_options={"blend_mod": "poisson"})
    with pytest.raises(HeadSwapBenchError, match="--swapper only"):
        resolve_source(None, command="prog {driving} {reference} {output}", swapper_options={"x": 1})
    with pytest.raises(HeadSwapBenchError, match="key=value"):
        parse_options(["novalue"], "--swapper-opt")
