"""`headswapbench download --repo ORG/NAME [--split test]`: fetch a split from the Hub and verify it."""

from __future__ import annotations

import typer

from .common import emit, format_table


def register(app: typer.Typer) -> None:
    @app.command("download")
    def download(
        repo: str = typer.Option(..., "--repo", help="Hub dataset repo, e.g. yananwang-MBZUAI/HeadSwapBench."),
        revision: str | None = typer.Option(None, "--revision", help="Branch, tag or commit (default main)."),
        split: str = typer.Option("test", "--split", help="Split to fetch."),
        token: str | None = typer.Option(None, "--token", envvar="HF_TOKEN", show_envvar=True,
                                            help="Hub token (gated or private repos); default: saved login."),
        out: str | None = typer.Option(None, "--out", help="Destination folder (default: the toolkit cache, "
                                                             "one folder per repo commit)."),
        json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON output."),
    ) -> None:
        """Download one split, refuse it unless every file is safe and matches its checksum, print its root.

        Then: `headswapbench evaluate ROOT --split test ...` or `load_split(ROOT, "test")`."""
        from ..hub import download_split, hub_source
        from ..split import load_split

        root = download_split(repo, revision=revision, split=split, token=token or None, out_dir=out)
        loaded = load_split(root, split)
        info = {**hub_source(root), "root": str(root), "clips": len(loaded.rows),
                "subjects": len(loaded.subjects), "checksum": loaded.checksum(), "verified": "sha256"}
        emit(info, json_out, format_table([info], ["repo", "commit", "split", "clips", "subjects", "root"]))
