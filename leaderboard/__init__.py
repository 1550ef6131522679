"""Leaderboard: validate results.json files, rank comparable ones, render JSON/CSV/Markdown and a static web
page, and publish (results as a pull request on a Hub dataset, the page as a static Space).

Never imports the metrics or pipelines rooms: everything needed to rank (metric direction, availability,
fingerprints) is in the results files (``headswapbench.results``). The reference fingerprint each column is
ranked against is the maintainer's file or comes from the core (``headswapbench.evaluation.reference``, which
builds the protocol's backends and metrics through the core's registries, the way an evaluation does)."""

from .collect import Collection, Loaded, Refused, collect
from .rank import build_boards, rank_metric
from .site import SITE_FILES, build_document, build_site, write_site

__all__ = ["SITE_FILES", "Collection", "Loaded", "Refused", "build_boards", "build_document", "build_site",
           "collect", "rank_metric", "write_site"]
