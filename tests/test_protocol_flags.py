"""Results say when they were computed with non-reference backends or a smoke model (the leaderboard warns)."""

from headswapbench.metrics.evaluate import _protocol_flags

from headswapbench.results import settings_labels


def test_offline_identity_backend_is_flagged_nonstandard():
    flags = _protocol_flags("dlib", {"name": "warp"})
    assert flags["nonstandard"] and "dlib" in flags["nonstandard"][0] and "smoke" not in flags


def test_reference_backend_and_smoke_method():
    flags = _protocol_flags("arcface", {"name": "directswap-smoke", "smoke": True})
    assert flags == {"smoke": True}
    labels = settings_labels({"smoke": True, **_protocol_flags("dlib", {})})  # what the leaderboard shows
    assert len(labels) == 2 and labels[0].startswith("smoke test") and "dlib" in labels[1]
