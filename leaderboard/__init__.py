"""Leaderboard: validate results.json files, rank comparable ones, render JSON/CSV/Markdown and a static web
page, and publish (results as a pull request on a Hub dataset, the page as a static Space).

Never imports the metrics or pipelines rooms: everything needed to rank (metric direction, availability,
fingerprints) is in the results files (``headswapbench.results``)."""

from .collect import Collection, Loaded, Refused, collect
from .rank import build_boards, rank_metric
from .site import SITE_FILES, build_document, build_site, write_site

__all__ = ["SITE_FILES", "Collection", "Loaded", "Refused", "build_boards", "build_document", "build_site",
           "collect", "rank_metric", "write_site"]
