"""`headswapbench publish OUT_DIR --repo ORG/NAME [--private]`: upload a packaged dataset to the Hub."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import emit, format_table


def register(app: typer.Typer) -> None:
    @app.command("publish")
    def publish(
        out_dir: Path = typer.Argument(..., help="Dataset root written by `headswapbench build` (README.md, "
                                                 "SHA256SUMS, <split>/metadata.jsonl ...)."),
        repo: str = typer.Option(..., "--repo", help="Hub dataset repo to create or update (ORG/NAME)."),
        private: bool = typer.Option(False, "--private", help="Create the repo private."),
        split: list[str] | None = typer.Option(None, "--split", help="Only these splits (repeatable; default all)."),
        pr: bool = typer.Option(False, "--pr", help="Open a pull request instead of committing to main."),
        token: str | None = typer.Option(None, "--token", envvar="HF_TOKEN", show_envvar=True,
                                            help="Hub token with write access; default: saved login."),
        json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON output."),
    ) -> None:
        """Verify every split (checksums, safe names, media only), then upload card, manifest and splits."""
        from ..hub import publish_split

        info = publish_split(out_dir, repo, private=private, token=token or None, splits=split or None,
                             create_pr=pr)
        rows = [{"split": s, "clips": n} for s, n in info["splits"].items()]
        table = format_table(rows) + f"\n\nuploaded to {info['url']}" + \
            (f"\npull request: {info['pr_url']}" if info.get("pr_url") else f"\ncommit: {info['commit_url']}")
        emit(info, json_out, table)
