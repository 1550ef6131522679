"""A loopback fake of the Hugging Face Hub HTTP API, for testing the real ``huggingface_hub`` client offline.

Serves the endpoints the toolkit uses, from memory, on 127.0.0.1 (never the network):
- ``POST /api/repos/create`` (409 + url when it exists), ``POST /api/validate-yaml``;
- ``POST /api/{type}s/{repo}/preupload/{rev}`` (every file "regular": content travels inside the commit) and
  ``POST /api/{type}s/{repo}/commit/{rev}[?create_pr=1]`` (ndjson; a PR becomes ``refs/pr/N``);
- ``GET /api/{type}s/{repo}[/revision/{rev}]`` (repo info with siblings) and
  ``GET|HEAD /{prefix}{repo}/resolve/{rev}/{path}`` (downloads, with X-Repo-Commit and ETag).

Usage::

    with FakeHub() as hub:                       # or the `fake_hub` fixture below
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        ... real huggingface_hub calls ...
        hub.repos[("dataset", "org/name")].prs[0].files   # inspect what arrived

Repos can be seeded with ``hub.add_repo(type, repo_id, files={path: bytes})``. ``require_token`` makes every
write answer 401 unless the request carries ``Authorization: Bearer <token>``. Extend with small additive
edits (one handler per endpoint).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


@dataclass
class PullRequest:
    num: int
    title: str
    description: str
    files: dict[str, bytes]
    commit: str


@dataclass
class Repo:
    type: str
    repo_id: str
    private: bool = False
    sdk: str | None = None
    refs: dict[str, dict[str, bytes]] = field(default_factory=lambda: {"main": {}})
    heads: dict[str, str] = field(default_factory=lambda: {"main": "0" * 40})
    commits: list[dict] = field(default_factory=list)
    prs: list[PullRequest] = field(default_factory=list)

    @property
    def files(self) -> dict[str, bytes]:
        return self.refs["main"]


class FakeHub:
    def __init__(self, require_token: str | None = None):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[dict] = []  # method, path, authorization
        self.require_token = require_token
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def add_repo(self, type_: str, repo_id: str, files: dict[str, bytes] | None = None, **kw) -> Repo:
        repo = Repo(type_, repo_id, **kw)
        if files:
            self._commit(repo, "main", dict(files), "initial commit", "")
        self.repos[(type_, repo_id)] = repo
        return repo

    def _commit(self, repo: Repo, ref: str, files: dict[str, bytes], summary: str, description: str) -> str:
        oid = hashlib.sha1(f"{repo.repo_id}{ref}{len(repo.commits)}{summary}".encode()).hexdigest()
        repo.refs.setdefault(ref, {}).update(files)
        repo.heads[ref] = oid
        repo.commits.append({"ref": ref, "oid": oid, "summary": summary, "description": description,
                             "paths": sorted(files)})
        return oid


def _make_handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        # -- plumbing ------------------------------------------------------------------------------
        def _send(self, status: int, body: bytes | dict | None = None, headers: dict | None = None) -> None:
            data = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if isinstance(body, dict) else "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _error(self, status: int, message: str, code: str | None = None) -> None:
            self._send(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message} if code else
                       {"X-Error-Message": message})

        def _body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _authorised(self) -> bool:
            if hub.require_token is None:
                return True
            return self.headers.get("Authorization") == f"Bearer {hub.require_token}"

        def _repo(self, type_: str, repo_id: str) -> Repo | None:
            repo = hub.repos.get((type_, repo_id))
            if repo is None:
                self._error(404, f"Repository Not Found for url: {self.path}", "RepoNotFound")
            return repo

        def _record(self) -> tuple[str, dict]:
            parts = urlsplit(self.path)
            hub.requests.append({"method": self.command, "path": parts.path,
                                 "authorization": self.headers.get("Authorization")})
            return unquote(parts.path), parse_qs(parts.query)

        # -- verbs ---------------------------------------------------------------------------------
        def do_POST(self) -> None:
            path, query = self._record()
            body = self._body()
            if not self._authorised():
                return self._error(401, "Invalid credentials in Authorization header")
            if path == "/api/repos/create":
                return self._create(json.loads(body))
            if path == "/api/validate-yaml":
                return self._send(200, {"errors": [], "warnings": []})
            m = re.fullmatch(r"/api/(models|datasets|spaces)/([^/]+/[^/]+)/(preupload|commit)/(.+)", path)
            if not m:
                return self._error(404, f"no fake handler for POST {path}")
            type_, repo_id, action, rev = TYPES[m[1]], m[2], m[3], m[4]
            repo = self._repo(type_, repo_id)
            if repo is None:
                return None
            if action == "preupload":
                files = json.loads(body)["files"]
                return self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                                                   "oid": None} for f in files]})
            return self._commit(repo, rev, body, query.get("create_pr") == ["1"])

        def _create(self, payload: dict) -> None:
            type_ = payload.get("type") or "model"
            repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
            url = f"{hub.url}/{URL_PREFIX[type_]}{repo_id}"
            with hub._lock:
                if (type_, repo_id) in hub.repos:
                    return self._send(409, {"error": "You already created this repo", "url": url})
                hub.add_repo(type_, repo_id, private=payload.get("visibility") == "private", sdk=payload.get("sdk"))
            return self._send(200, {"url": url, "name": repo_id})

        def _commit(self, repo: Repo, rev: str, body: bytes, create_pr: bool) -> None:
            header, files, deleted = {}, {}, []
            for line in body.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                if item["key"] == "header":
                    header = item["value"]
                elif item["key"] == "file":
                    files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                elif item["key"] == "deletedFile":
                    deleted.append(item["value"]["path"])
                else:
                    return self._error(400, f"fake hub cannot handle commit operation {item['key']!r}")
            if rev not in repo.refs:
                return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            prefix = f"{hub.url}/{URL_PREFIX[repo.type]}{repo.repo_id}"
            with hub._lock:
                if create_pr:
                    num = len(repo.prs) + 1
                    ref = f"refs/pr/{num}"
                    repo.refs[ref] = dict(repo.refs[rev])
                    for p in deleted:
                        repo.refs[ref].pop(p, None)
                    oid = hub._commit(repo, ref, files, header.get("summary", ""), header.get("description", ""))
                    repo.prs.append(PullRequest(num, header.get("summary", ""), header.get("description", ""),
                                                files, oid))
                    pr_url = f"{prefix}/discussions/{num}"
                else:
                    for p in deleted:
                        repo.refs[rev].pop(p, None)
                    oid = hub._commit(repo, rev, files, header.get("summary", ""), header.get("description", ""))
                    pr_url = None
            return self._send(200, {"commitUrl": f"{prefix}/commit/{oid}", "commitOid": oid,
                                    "pullRequestUrl": pr_url})

        def do_GET(self) -> None:
            path, _ = self._record()
            m = re.fullmatch(r"/api/(models|datasets|spaces)/([^/]+/[^/]+)(?:/revision/(.+))?", path)
            if m:
                repo = self._repo(TYPES[m[1]], m[2])
                if repo is None:
                    return None
                rev = m[3] or "main"
                if rev not in repo.refs:
                    return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
                return self._send(200, {"id": repo.repo_id, "sha": repo.heads[rev], "private": repo.private,
                                        "sdk": repo.sdk, "siblings": [{"rfilename": p} for p in sorted(repo.refs[rev])]})
            return self._resolve(path)

        def do_HEAD(self) -> None:
            path, _ = self._record()
            return self._resolve(path)

        def _resolve(self, path: str) -> None:
            m = re.fullmatch(r"/(datasets/|spaces/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
            if not m:
                return self._error(404, f"no fake handler for {self.command} {path}")
            type_ = {"datasets/": "dataset", "spaces/": "space"}.get(m[1] or "", "model")
            repo = self._repo(type_, m[2])
            if repo is None:
                return None
            rev, file = m[3], m[4]
            data = repo.refs.get(rev, {}).get(file)
            if data is None:
                return self._error(404, f"Entry not found: {file}", "EntryNotFound")
            return self._send(200, data, {"X-Repo-Commit": repo.heads[rev],
                                          "ETag": f'"{hashlib.sha1(data).hexdigest()}"'})

    return Handler


@pytest.fixture
def fake_hub(monkeypatch):
    """A running FakeHub with HF_ENDPOINT pointed at it and offline mode lifted for the real client."""
    import huggingface_hub.constants as hf_constants

    with FakeHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(hf_constants, "ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", "hf_fake_token")
        yield hub
