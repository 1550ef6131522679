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


def test_a_module_attr_that_cannot_be_imported_says_to_use_pythonpath(tmp_path, monkeypatch):
    """`--swapper my_swap:MySwapper` from a folder that is not on the path: the error says what to do."""
    (tmp_path / "my_swap_plugin.py").write_text(
        "from headswapbench.swappers import Swapper\n\n"
        "class MySwapper(Swapper):\n    name, version = 'mine', '1'\n\n"
        "    def swap(self, driving, reference, context=None):\n        return driving\n")
    with pytest.raises(HeadSwapBenchError, match="put the folder that holds it on PYTHONPATH"):
        resolve_source("my_swap_plugin:MySwapper")
    monkeypatch.syspath_prepend(str(tmp_path))  # what PYTHONPATH=tmp_path does
    assert resolve_source("my_swap_plugin:MySwapper").describe()["name"] == "mine"
