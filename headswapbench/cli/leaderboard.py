"""`headswapbench leaderboard build|submit|publish`: rank results.json files into a static site, send one
result to a Hub results dataset as a pull request, upload the site to a static Space."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import emit, format_table

lb = typer.Typer(help="Rank results.json files into a static leaderboard site and publish it.",
                 no_args_is_help=True)


@lb.command("build")
def build_cmd(
    results: list[str] = typer.Argument(..., help="results.json files and/or folders (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Site folder to write (replaced atomically)."),
    dataset_checksum: list[str] | None = typer.Option(
        None, "--dataset-checksum", help="The maintainers' reference dataset checksum: only results on it are "
        "ranked (repeatable; a unique prefix of 8+ characters works). Default: the checksum a protocol declares "
        "for its split, else none pinned (one board per checksum)."),
    reference: list[Path] | None = typer.Option(
        None, "--reference", help="The maintainers' reference fingerprints for a protocol: a file written by "
        "`headswapbench protocols fingerprints NAME --out FILE`, or a results.json they vouch for (repeatable). "
        "Each column ranks only results whose fingerprint equals it. Default: derived from the shipped protocol "
        "on this machine (columns whose model files are missing here are then not ranked)."),
    settings_hash: list[str] | None = typer.Option(
        None, "--settings-hash", hidden=True, help="Retired: columns are compared by their fingerprints."),
    verified: Path | None = typer.Option(
        None, "--verified", help="The maintainers' list of verified results: one content hash (sha256 of the "
        "results file, `leaderboard validate` prints it; unique prefix of 16+ characters) per line, # comments. "
        "Without it every result is self-reported, whatever the file claims."),
    sort_by: str | None = typer.Option(None, "--sort-by", help="Primary metric (default: the first ranked "
                                          "metric most methods could compute)."),
    title: str = typer.Option("HeadSwapBench leaderboard", "--title", help="Page title."),
    strict: bool = typer.Option(False, "--strict", help="Fail if any file is refused."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Validate, group and rank results; write leaderboard.json/.csv/.md and index.html into OUT.

    A board is one dataset split, dataset checksum and protocol; each column ranks the results whose
    fingerprint for it equals the protocol's reference, and lists the others with what differs."""
    from headswapbench.errors import HeadSwapBenchError
    from headswapbench.leaderboard import build_site

    if settings_hash:
        raise HeadSwapBenchError("--settings-hash is retired: a board is one dataset split, checksum and protocol, "
                                 "and each column ranks the results whose fingerprint equals the protocol's "
                                 "reference (pin that with --reference FILE; see docs/leaderboard.md)")
    doc = build_site(results, out, dataset_checksums=dataset_checksum or (), references=reference or (),
                     verified=verified, sort_by=sort_by, title=title, strict=strict)
    index = (out / "index.html").resolve()
    summary = {
        "site": str(out.resolve()), "index": str(index), "url": index.as_uri(),
        "boards": [{"dataset": b["dataset"]["name"], "split": b["dataset"]["split"],
                    "dataset_checksum": b["dataset"]["checksum"], "protocol": b["protocol"]["id"],
                    "num_subjects": b["dataset"]["num_subjects"], "intervals": b["intervals"],
                    "primary_metric": b["primary_metric"], "labels": b["labels"],
                    "methods": [_row_summary(b, r) for r in b["rows"]],
                    "left_off": b["left_off"],
                    "not_ranked": {m["name"]: m["not_ranked"] for m in b["metrics"] if m["not_ranked"]},
                    "published": [{"method": p["method"], "reported_in": p["label"], "metrics": p["metrics"]}
                                  for p in b["published"]]} for b in doc["boards"]],
        "refused": doc["refused"],
        "reference": doc["reference"],
        "verification": doc["verification"],
    }
    if as_json:
        emit(summary, True)
        return
    from headswapbench.leaderboard.render import left_off_groups, quoted
    from headswapbench.safeio import one_line

    parts = []
    for b, board in zip(summary["boards"], doc["boards"]):
        head = (f"{one_line(b['dataset'])} / {one_line(b['split'])}  (dataset {b['dataset_checksum'][:12]}, protocol "
                f"{one_line(b['protocol'])}, ranked by {b['primary_metric']})")
        parts += [head] + [f"  ! {one_line(label)}" for label in b["labels"]]
        parts.append(format_table(b["methods"], ["rank", "method", "version", "value", "ci95", "subjects",
                                                 "status"]))
        parts += [f"  left off {one_line(who)} · {', '.join(keys)}: {one_line(why)}"
                  for who, why, keys in left_off_groups(board)]
        if board["published"]:
            parts.append("  reported in the literature (quoted, not ranked): " + "; ".join(
                f"{one_line(p['method'])} " + ", ".join(f"{k} {quoted(v)}" for k, v in p["metrics"].items())
                + f" ({one_line(p['label'])})" for p in board["published"]))
        parts.append("")
    if summary["refused"]:
        parts.append(f"{len(summary['refused'])} file(s) not ranked:")
        parts += [f"  {r['path']}: {r['reason']}" for r in summary["refused"]]
        parts.append("")
    parts.append(f"leaderboard page: {summary['index']}")
    emit(summary, False, "\n".join(parts))


def _row_summary(board: dict, row: dict) -> dict:
    p = board["primary_metric"]
    cell = row["metrics"].get(p, {}) if p else {}
    ci = cell.get("ci95")
    return {
        "rank": cell.get("rank"), "method": row["method"]["name"], "version": row["method"]["version"],
        "metric": p, "value": (cell.get("mean") if cell.get("available") else "n/a") if cell else "not reported",
        "ci95": f"[{ci[0]:.4g}, {ci[1]:.4g}]" if ci else "",
        "subjects": cell.get("n_subjects") if ci else None,
        "tied_with_best": bool(cell.get("tied_with_best")),
        "content_hash": row["content_hash"],
        "status": ("verified" if row["verified"] else "self-reported (claims verified)"
                   if row["provenance"].get("claimed_verified") else "self-reported")
        + ("; tied with best (CI)" if cell.get("tied_with_best") else "")
        + (f"; left off {p}: {cell['left_off']}" if cell.get("left_off") else "")
        + "".join(f"; {x}" for x in row["labels"]),
    }


@lb.command("validate")
def validate_cmd(
    results: list[str] = typer.Argument(..., help="results.json files and/or folders (searched recursively)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Check results files against the schema (what `build` and `submit` would refuse), without writing; print
    each file's content hash (what a maintainer puts in the `build --verified` list)."""
    from headswapbench.errors import HeadSwapBenchError
    from headswapbench.leaderboard.collect import discover, load_all

    paths, missing = discover(results)
    loaded, invalid = load_all(paths)
    rows = ([{"path": str(item.path), "ok": True, "content_hash": item.content_hash, "problem": ""}
             for item in loaded]
            + [{"path": r.path, "ok": False, "content_hash": None, "problem": r.reason} for r in missing + invalid])
    table = [dict(r, content_hash=(r["content_hash"] or "")[:16]) for r in rows]
    emit(rows, as_json, format_table(table, ["path", "ok", "content_hash", "problem"]))
    if not rows or not all(r["ok"] for r in rows):
        raise HeadSwapBenchError(f"{sum(not r['ok'] for r in rows)} invalid or missing results file(s)"
                                 if rows else "no results files given")


@lb.command("submit")
def submit_cmd(
    results: Path = typer.Argument(..., help="One results.json (its report.html beside it is sent too)."),
    repo: str = typer.Option(..., "--repo", help="Hub results dataset ORG/NAME."),
    token: str | None = typer.Option(None, "--token", help="Hub token (default: HF_TOKEN or the cached login)."),
    no_report: bool = typer.Option(False, "--no-report", help="Do not send report.html."),
    message: str | None = typer.Option(None, "--message", "-m", help="Pull request title."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Open a pull request adding RESULTS to a Hub results dataset (validated first; marked self-reported)."""
    from headswapbench.leaderboard.publish import submit_results

    info = submit_results(results, repo, token=token, include_report=not no_report, message=message)
    emit(info, as_json, f"opened pull request on {repo}: {info['pr_url']}\n  file: {info['path']}"
         + (f"\n  report: {info['report']}" if info["report"] else ""))


@lb.command("publish")
def publish_cmd(
    site: Path = typer.Argument(..., help="A site folder written by `leaderboard build`."),
    repo: str = typer.Option(..., "--repo", help="Hub Space ORG/NAME (created as a static Space if missing)."),
    token: str | None = typer.Option(None, "--token", help="Hub token (default: HF_TOKEN or the cached login)."),
    private: bool = typer.Option(False, "--private", help="Create the Space private."),
    message: str = typer.Option("Update leaderboard", "--message", "-m", help="Commit message."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Upload the leaderboard page to a static Hugging Face Space."""
    from headswapbench.leaderboard.publish import publish_site

    info = publish_site(site, repo, token=token, private=private, message=message)
    emit(info, as_json, f"published {info['files']} file(s) to {info['url']} ({info['commit_url']})")


def register(app: typer.Typer) -> None:
    app.add_typer(lb, name="leaderboard")
