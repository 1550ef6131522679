"""A loopback fake of the Hugging Face Hub HTTP API, for testing the real ``huggingface_hub`` client offline.

Serves the endpoints the toolkit uses, from memory, on 127.0.0.1 (random port, never the network):
- ``POST /api/repos/create`` (409 + url when it exists), ``POST /api/validate-yaml`` (front matter must be a
  YAML mapping), ``GET /api/whoami-v2``;
- ``POST /api/{type}s/{repo}/preupload/{rev}`` (every file "regular": content travels inside the commit) and
  ``POST /api/{type}s/{repo}/commit/{rev}[?create_pr=1]`` (ndjson; a PR becomes ``refs/pr/N``);
- ``POST|GET /api/{type}s/{repo}/discussions[/{num}]`` (how ``upload_folder(create_pr=True)`` opens a PR
  before committing to ``refs/pr/N``);
- ``GET /api/{type}s/{repo}[/revision/{rev}]`` (repo info: sha, siblings with lfs sha256, private, gated),
  ``GET /api/{type}s/{repo}/tree/{rev}[/{path}]`` (what ``snapshot_download`` lists), ``GET .../refs``;
- ``GET|HEAD /{prefix}{repo}/resolve/{rev}/{path}`` (downloads, with X-Repo-Commit, ETag, Content-Length).

Access rules, like the real Hub: a ``private`` repo answers 401/404 ``RepoNotFound`` without a valid token; a
``gated`` repo's info is public but its files answer 401 (no token) or 403 (token without access)
``X-Error-Code: GatedRepo`` until ``hub.grant(type, repo_id, token)``. ``require_token`` makes every write
answer 401 unless the request carries ``Authorization: Bearer <token>``.

Usage::

    with FakeHub() as hub:                       # or the `fake_hub` fixture below
        hub.patch(monkeypatch)                   # point the already-imported client at it
        ... real huggingface_hub calls ...
        hub.repos[("dataset", "org/name")].prs[0].files   # inspect what arrived

Repos can be seeded with ``hub.add_repo(type, repo_id, files={path: bytes}, private=, gated=, sdk=)``.
Every request is logged in ``hub.requests`` (method, path, authorization)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


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
    gated: bool = False
    granted: set[str] = field(default_factory=set)  # tokens allowed through the gate
    refs: dict[str, dict[str, bytes]] = field(default_factory=lambda: {"main": {}})
    heads: dict[str, str] = field(default_factory=lambda: {"main": "0" * 40})
    commits: list[dict] = field(default_factory=list)
    prs: list[PullRequest] = field(default_factory=list)
    discussions: list[dict] = field(default_factory=list)  # num-1 → title, description, is_pr, author, status

    @property
    def files(self) -> dict[str, bytes]:
        return self.refs["main"]

    def resolve(self, rev: str) -> str | None:
        """Ref name for a branch, PR ref or commit oid (None when unknown)."""
        rev = unquote(rev)
        rev = rev.removeprefix("refs/heads/")
        if rev in self.refs:
            return rev
        for c in reversed(self.commits):
            if c["oid"] == rev:
                return c["ref"] if self.heads.get(c["ref"]) == rev else None
        return None


class FakeHub:
    def __init__(self, require_token: str | None = None, tokens: dict[str, str] | None = None):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[dict] = []  # method, path, authorization
        self.require_token = require_token
        self.tokens = tokens  # token → user name; None: any token is valid (user "tester")
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-hub")

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

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def patch(self, monkeypatch) -> None:
        """Point the (already imported) huggingface_hub at this server and lift offline mode. The library reads
        ``HF_ENDPOINT`` once at import, so the module constants are patched as well as the environment."""
        import huggingface_hub.constants as hf_constants

        monkeypatch.setenv("HF_ENDPOINT", self.url)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(hf_constants, "ENDPOINT", self.url)
        monkeypatch.setattr(hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                            self.url + "/{repo_id}/resolve/{revision}/{filename}")

    def add_repo(self, type_: str, repo_id: str, files: dict[str, bytes] | None = None, **kw) -> Repo:
        repo = Repo(type_, repo_id, **kw)
        if files:
            self._commit(repo, "main", dict(files), "initial commit", "")
        self.repos[(type_, repo_id)] = repo
        return repo

    def grant(self, type_: str, repo_id: str, token: str) -> None:
        self.repos[(type_, repo_id)].granted.add(token)

    def user_for(self, authorization: str | None) -> str | None:
        token = authorization[7:] if authorization and authorization.startswith("Bearer ") else None
        if not token:
            return None
        if self.tokens is None:
            return "tester"
        return self.tokens.get(token)

    def _commit(self, repo: Repo, ref: str, files: dict[str, bytes], summary: str, description: str,
                deleted: list[str] = ()) -> str:
        oid = hashlib.sha1(f"{repo.repo_id}{ref}{len(repo.commits)}{summary}".encode()).hexdigest()
        tree = repo.refs.setdefault(ref, {})
        for p in deleted:
            tree.pop(p, None)
        tree.update(files)
        repo.heads[ref] = oid
        repo.commits.append({"ref": ref, "oid": oid, "summary": summary, "description": description,
                             "paths": sorted(files)})
        return oid

    def _open_pr(self, repo: Repo, title: str, description: str, author: str, base: str = "main") -> PullRequest:
        num = len(repo.discussions) + 1
        repo.discussions.append({"num": num, "title": title, "description": description, "is_pr": True,
                                 "author": author, "status": "draft"})
        ref = f"refs/pr/{num}"
        repo.refs[ref] = dict(repo.refs[base])
        repo.heads[ref] = repo.heads[base]
        pr = PullRequest(num, title, description, {}, repo.heads[base])
        repo.prs.append(pr)
        return pr


def _make_handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        # -- plumbing ------------------------------------------------------------------------------
        def _send(self, status: int, body: bytes | dict | list | None = None, headers: dict | None = None) -> None:
            is_json = isinstance(body, (dict, list))
            data = json.dumps(body).encode() if is_json else (body or b"")
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if is_json else "application/octet-stream")
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

        def _user(self) -> str | None:
            return hub.user_for(self.headers.get("Authorization"))

        def _authorised(self) -> bool:
            if hub.require_token is None:
                return True
            return self.headers.get("Authorization") == f"Bearer {hub.require_token}"

        def _repo(self, type_: str, repo_id: str) -> Repo | None:
            repo = hub.repos.get((type_, repo_id))
            if repo is None or (repo.private and self._user() is None):
                self._error(404 if self._user() else 401, f"Repository Not Found for url: {self.path}",
                            "RepoNotFound")
                return None
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
            if not self._authorised() or self._user() is None:
                return self._error(401, "Invalid credentials in Authorization header")
            if path == "/api/repos/create":
                return self._create(json.loads(body))
            if path == "/api/validate-yaml":
                return self._validate_yaml(json.loads(body or b"{}"))
            m = re.fullmatch(r"/api/(models|datasets|spaces)/([^/]+/[^/]+)/discussions", path)
            if m:
                repo = self._repo(TYPES[m[1]], m[2])
                if repo is None:
                    return None
                payload = json.loads(body or b"{}")
                with hub._lock:
                    if payload.get("pullRequest"):
                        num = hub._open_pr(repo, payload.get("title", ""), payload.get("description", ""),
                                           self._user()).num
                    else:
                        num = len(repo.discussions) + 1
                        repo.discussions.append({"num": num, "title": payload.get("title", ""), "is_pr": False,
                                                 "description": payload.get("description", ""),
                                                 "author": self._user(), "status": "open"})
                return self._send(200, {"num": num})
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
            return self._commit(repo, rev, body, query.get("create_pr") in (["1"], ["true"], ["True"]))

        def _validate_yaml(self, payload: dict) -> None:
            import yaml

            m = re.match(r"^---\n(.*?)\n---", payload.get("content", ""), re.DOTALL)
            try:
                meta = yaml.safe_load(m.group(1)) if m else {}
            except yaml.YAMLError as exc:
                return self._send(400, {"errors": [{"message": f"invalid YAML: {exc}"}]})
            if meta is not None and not isinstance(meta, dict):
                return self._send(400, {"errors": [{"message": "metadata must be a YAML mapping"}]})
            return self._send(200, {"errors": [], "warnings": []})

        def _create(self, payload: dict) -> None:
            type_ = payload.get("type") or "model"
            repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
            if "/" not in repo_id:
                repo_id = f"{self._user()}/{repo_id}"
            url = f"{hub.url}/{URL_PREFIX[type_]}{repo_id}"
            with hub._lock:
                if (type_, repo_id) in hub.repos:
                    return self._send(409, {"error": "You already created this repo", "url": url})
                private = payload.get("visibility") == "private" or bool(payload.get("private"))
                hub.add_repo(type_, repo_id, private=private, sdk=payload.get("sdk"))
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
            ref = repo.resolve(rev)
            if ref is None:
                return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            prefix = f"{hub.url}/{URL_PREFIX[repo.type]}{repo.repo_id}"
            summary, description = header.get("summary", ""), header.get("description", "")
            pr_url = None
            with hub._lock:
                if create_pr:
                    pr = hub._open_pr(repo, summary, description, self._user() or "", base=ref)
                    ref = f"refs/pr/{pr.num}"
                if ref.startswith("refs/pr/"):
                    pr = repo.prs[int(ref.rsplit("/", 1)[1]) - 1]
                    oid = hub._commit(repo, ref, files, summary, description, deleted)
                    pr.files.update(files)
                    pr.commit = oid
                    pr_url = f"{prefix}/discussions/{pr.num}"
                else:
                    oid = hub._commit(repo, ref, files, summary, description, deleted)
            return self._send(200, {"commitUrl": f"{prefix}/commit/{oid}", "commitOid": oid,
                                    "pullRequestUrl": pr_url if create_pr else None})

        def do_GET(self) -> None:
            path, query = self._record()
            if path == "/api/agent-harnesses":  # huggingface_hub 2.x fetches this registry (best effort)
                return self._send(200, {"standardEnvVars": [], "harnesses": {}})
            if path == "/api/whoami-v2":
                user = self._user()
                if user is None:
                    return self._error(401, "Invalid credentials in Authorization header")
                return self._send(200, {"type": "user", "name": user, "orgs": [],
                                        "auth": {"accessToken": {"role": "write"}}})
            m = re.fullmatch(r"/api/(models|datasets|spaces)/([^/]+/[^/]+)(?:/(revision|tree)/(.+?))?"
                             r"(/discussions(?:/\d+)?|/refs)?", path)
            if m:
                repo = self._repo(TYPES[m[1]], m[2])
                if repo is None:
                    return None
                if m[5] == "/refs":
                    return self._send(200, {"branches": [{"name": r, "ref": f"refs/heads/{r}", "targetCommit": h}
                                                         for r, h in repo.heads.items() if not r.startswith("refs/")],
                                            "tags": [], "converts": [],
                                            "pullRequests": [{"name": r, "ref": r, "targetCommit": h}
                                                             for r, h in repo.heads.items() if r.startswith("refs/pr/")]})
                if m[5] and m[5].startswith("/discussions"):
                    return self._discussions(repo, m[5])
                if m[3] == "tree":
                    return self._tree(repo, m[4], query)
                ref = repo.resolve(m[4] or "main")
                if ref is None:
                    return self._error(404, f"Invalid rev id: {m[4]}", "RevisionNotFound")
                siblings = [{"rfilename": p, "size": len(b),
                             "lfs": {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b), "pointerSize": 134}}
                            for p, b in sorted(repo.refs[ref].items())]
                return self._send(200, {"id": repo.repo_id, "sha": repo.heads[ref], "private": repo.private,
                                        "gated": "manual" if repo.gated else False, "disabled": False,
                                        "sdk": repo.sdk, "siblings": siblings, "tags": [],
                                        "lastModified": "2026-01-01T00:00:00.000Z"})
            return self._resolve(path)

        def _tree(self, repo: Repo, rev_path: str, query: dict) -> None:
            rev, _, prefix = rev_path.partition("/")
            if rev == "refs" and prefix.startswith("pr/"):
                num, _, prefix = prefix[3:].partition("/")
                rev = f"refs/pr/{num}"
            ref = repo.resolve(rev)
            if ref is None:
                return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            recursive = query.get("recursive", ["false"])[0] in ("1", "true", "True")
            prefix = prefix.strip("/")
            out, dirs = [], set()
            for p, b in sorted(repo.refs[ref].items()):
                if prefix and not p.startswith(prefix + "/"):
                    continue
                rel = p[len(prefix) + 1:] if prefix else p
                parents = rel.split("/")[:-1]
                if not recursive and parents:
                    dirs.add((prefix + "/" if prefix else "") + parents[0])
                    continue
                for i in range(len(parents)):
                    dirs.add((prefix + "/" if prefix else "") + "/".join(parents[: i + 1]))
                out.append({"type": "file", "path": p, "size": len(b), "oid": git_blob_sha1(b),
                            "lfs": {"oid": hashlib.sha256(b).hexdigest(), "size": len(b), "pointerSize": 134}})
            dirs_json = [{"type": "directory", "path": d, "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0}
                         for d in sorted(dirs)]
            return self._send(200, dirs_json + out)

        def _discussions(self, repo: Repo, tail: str) -> None:
            def as_json(d: dict) -> dict:
                return {"num": d["num"], "title": d["title"], "status": d["status"], "isPullRequest": d["is_pr"],
                        "author": {"name": d["author"]}, "createdAt": "2026-01-01T00:00:00.000Z",
                        "repo": {"name": repo.repo_id, "type": repo.type}, "pinned": False, "numComments": 1,
                        "topReactions": [], "events": [], "changes": {"base": "refs/heads/main"},
                        "filesWithConflicts": [], "diff": ""}

            if tail == "/discussions":
                items = [as_json(d) for d in reversed(repo.discussions)]
                return self._send(200, {"discussions": items, "count": len(items), "start": 0,
                                        "numClosedDiscussions": 0})
            num = int(tail.rsplit("/", 1)[1])
            if not 1 <= num <= len(repo.discussions):
                return self._error(404, f"Discussion {num} not found")
            return self._send(200, as_json(repo.discussions[num - 1]))

        def do_HEAD(self) -> None:
            path, _ = self._record()
            return self._resolve(path)

        def _resolve(self, path: str) -> None:
            m = re.fullmatch(r"/(datasets/|spaces/)?([^/]+/[^/]+)/resolve/(refs/pr/\d+|[^/]+)/(.+)", path)
            if not m:
                return self._error(404, f"no fake handler for {self.command} {path}")
            type_ = {"datasets/": "dataset", "spaces/": "space"}.get(m[1] or "", "model")
            repo = self._repo(type_, m[2])
            if repo is None:
                return None
            if repo.gated:
                auth = self.headers.get("Authorization") or ""
                token = auth[7:] if auth.startswith("Bearer ") else None
                if token is None or token not in repo.granted:
                    return self._error(401 if token is None else 403,
                                       "Access to this repo is restricted: you must be authenticated and have "
                                       "accepted its conditions", "GatedRepo")
            ref = repo.resolve(m[3])
            data = repo.refs.get(ref, {}).get(m[4]) if ref else None
            if ref is None:
                return self._error(404, f"Invalid rev id: {m[3]}", "RevisionNotFound")
            if data is None:
                return self._error(404, f"Entry not found: {m[4]}", "EntryNotFound")
            return self._send(200, data, {"X-Repo-Commit": repo.heads[ref], "ETag": f'"{git_blob_sha1(data)}"'})

    return Handler


@pytest.fixture
def fake_hub(monkeypatch):
    """A running FakeHub with HF_ENDPOINT pointed at it and offline mode lifted for the real client."""
    with FakeHub() as hub:
        hub.patch(monkeypatch)
        monkeypatch.setenv("HF_TOKEN", "hf_fake_token")
        yield hub
