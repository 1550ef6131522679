"""Put results and the page on the Hugging Face Hub.

- ``submit_results``: one results.json (plus its report.html when present, for the reviewers; the leaderboard
  never publishes it) as a *pull request* on a results dataset repo, at
  ``results/<method>/<version>/<split>/<settings_hash>.json``; maintainers review, re-run if they wish, add the
  merged file's content hash to their verified list and merge. A submission is always self-reported: the
  uploaded copy gets ``verified: false`` whatever the local file says. Both files are read as untrusted (a
  symlinked report is refused, never followed to whatever it points at).
- ``publish_site``: a built site folder to a static Space (``space_sdk="static"``; a README.md with the Space
  front matter is added so the Hub serves index.html).

Both use the official ``huggingface_hub`` client. The endpoint is read at call time from ``HF_ENDPOINT`` (the
client reads it only at import), which is how the tests aim the real client at a loopback server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from headswapbench.errors import HeadSwapBenchError
from headswapbench.results import load_results
from headswapbench.safeio import read_bytes

from .rank import slugify
from .site import SITE_FILES

REPORT_NAME = "report.html"
MAX_REPORT_BYTES = 512 * 1024 * 1024  # an embedded-media report of a 12-clip grid is tens of MB

SPACE_README = """---
title: {title}
emoji: 🏆
colorFrom: blue
colorTo: indigo
sdk: static
app_file: index.html
pinned: false
---

{title}: static page built by `headswapbench leaderboard build` (see leaderboard.json / leaderboard.csv for the data).
"""


def _api(token: str | None):
    from huggingface_hub import HfApi, constants

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on") or constants.HF_HUB_OFFLINE:
        raise HeadSwapBenchError("cannot reach the Hub: offline mode is on (HF_HUB_OFFLINE=1); unset it to upload")
    endpoint = os.environ.get("HF_ENDPOINT") or None
    return HfApi(endpoint=endpoint, token=token)


def _hub_error(action: str, repo: str, exc: Exception) -> HeadSwapBenchError:
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    if isinstance(exc, RepositoryNotFoundError):
        msg = "repository not found (check the name, create it, or pass a token that can see it)"
    elif isinstance(exc, HfHubHTTPError) and exc.response is not None and exc.response.status_code in (401, 403):
        msg = f"not authorised ({exc.response.status_code}): pass --token or log in with `hf auth login`"
    else:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return HeadSwapBenchError(f"{action} {repo} failed: {msg}")


def submission_path(results: dict[str, Any]) -> str:
    m, ds = results["method"], results["dataset"]
    return (f"results/{slugify(m['name'])}/{slugify(m['version'])}/{slugify(ds['split'])}/"
            f"{results['settings_hash']}.json")


def submit_results(results_path: str | Path, repo: str, *, token: str | None = None,
                   include_report: bool = True, message: str | None = None) -> dict[str, Any]:
    """Validate ``results_path`` and open a PR adding it to the ``repo`` results dataset."""
    from huggingface_hub import CommitOperationAdd

    results_path = Path(results_path)
    results = load_results(results_path)  # refuses invalid files before anything is sent
    submitted = json.loads(json.dumps(results))
    submitted["provenance"] = {**submitted["provenance"], "verified": False}
    target = submission_path(results)
    ops = [CommitOperationAdd(path_in_repo=target,
                              path_or_fileobj=(json.dumps(submitted, indent=2) + "\n").encode("utf-8"))]
    report = results_path.parent / REPORT_NAME
    report_target = None
    if include_report and (report.is_file() or report.is_symlink()):
        report_target = target[: -len(".json")] + ".report.html"
        ops.append(CommitOperationAdd(path_in_repo=report_target,
                                      path_or_fileobj=read_bytes(report, max_bytes=MAX_REPORT_BYTES)))
    m, ds = results["method"], results["dataset"]
    title = message or f"Add {m['name']} {m['version']} on {ds['name']}/{ds['split']}"
    api = _api(token)
    try:
        info = api.create_commit(repo_id=repo, repo_type="dataset", operations=ops, commit_message=title,
                                 commit_description=_pr_description(results), create_pr=True)
    except Exception as exc:  # network, auth, missing repo: one clear line
        raise _hub_error("opening a pull request on dataset", repo, exc) from exc
    return {"repo": repo, "path": target, "report": report_target, "pr_url": info.pr_url,
            "commit": info.oid, "verified": False}


def _pr_description(results: dict[str, Any]) -> str:
    lines = [f"method: {results['method']}", f"dataset: {results['dataset']}",
             f"settings_hash: {results['settings_hash']}", f"toolkit_version: {results['toolkit_version']}",
             f"coverage: {results['coverage'].get('scored')}/{results['coverage'].get('expected')} clips", "",
             "| metric | mean | 95 % CI |", "|---|---:|---|"]
    for k, e in results["metrics"].items():
        if e.get("available"):
            lines.append(f"| {k} | {e['mean']:.4g} | {e.get('ci95')} |")
        else:
            lines.append(f"| {k} | n/a | {e.get('reason', '')} |")
    return "\n".join(lines)


def publish_site(site: str | Path, repo: str, *, token: str | None = None, title: str | None = None,
                 private: bool = False, message: str = "Update leaderboard") -> dict[str, Any]:
    """Upload a built site folder to a static Space (created when missing)."""
    from huggingface_hub import CommitOperationAdd

    site = Path(site)
    missing = [f for f in SITE_FILES if not (site / f).is_file()]
    if missing:
        raise HeadSwapBenchError(f"{site}: not a built leaderboard site (missing {', '.join(missing)}); run "
                                 "`headswapbench leaderboard build` first")
    if title is None:
        title = json.loads((site / "leaderboard.json").read_text(encoding="utf-8")).get("title") or "Leaderboard"
    files = sorted(p for p in site.rglob("*") if p.is_file() and not p.is_symlink() and not p.name.startswith("."))
    ops = [CommitOperationAdd(path_in_repo=p.relative_to(site).as_posix(), path_or_fileobj=str(p)) for p in files
           if p.relative_to(site).as_posix() != "README.md"]
    ops.append(CommitOperationAdd(path_in_repo="README.md",
                                  path_or_fileobj=SPACE_README.format(title=title).encode("utf-8")))
    api = _api(token)
    try:
        url = api.create_repo(repo_id=repo, repo_type="space", space_sdk="static", private=private, exist_ok=True)
        info = api.create_commit(repo_id=repo, repo_type="space", operations=ops, commit_message=message)
    except Exception as exc:
        raise _hub_error("uploading the site to space", repo, exc) from exc
    return {"repo": repo, "url": str(url), "files": len(ops), "commit": info.oid, "commit_url": info.commit_url}
