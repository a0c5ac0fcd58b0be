"""A small Hugging Face Hub for tests: a real HTTP server on 127.0.0.1 that speaks the parts of the Hub API that
`huggingface_hub` (2.x), `transformers` and `datasets` use to publish and load models and datasets.

Nothing here is mocked at the client side: the client is the unmodified `huggingface_hub` pointed at this server with
`HF_ENDPOINT`, so a test exercises the same requests, headers and caching as a user talking to huggingface.co. The
server keeps git's data model (content-addressed blobs, trees and commits with real git SHA-1 ids, branches, tags and
pull-request refs) in memory and answers like the Hub:

- `POST /api/repos/create`, `DELETE /api/repos/delete`, `GET /api/whoami-v2`
- `GET /api/{models,datasets,spaces}/{repo_id}[/revision/{rev}]` (repo info with `sha` and `siblings`)
- `GET .../tree/{rev}[/{path}]`, `POST .../paths-info/{rev}`, `GET .../refs`
- `POST .../preupload/{rev}` (`"regular"`: the bytes travel base64 inside the commit; `"lfs"` in dataset repos for
  paths their `.gitattributes` sends to LFS, e.g. `*.parquet`), `POST .../commit/{rev}` (NDJSON: `header`, `file`,
  `lfsFile`, `deletedFile`, `deletedFolder`; `parentCommit` checked, `create_pr=1` opens `refs/pr/N`)
- `POST .../discussions` with `pullRequest` (a draft pull request `refs/pr/N` at the default branch's head, which
  `upload_folder` opens this way when `hf_xet` is installed, then commits to) and `GET .../discussions/{num}`
- the git LFS batch API (`POST /{repo_id}.git/info/lfs/objects/batch`, basic transfer): an upload URL per object that
  takes one `PUT` of its bytes (sha256 and size checked, like a presigned storage URL) and a `verify` action;
  committed LFS files are git pointer files, listed with their `lfs` record and served by `resolve` with
  `X-Linked-Etag` (the sha256) and `X-Linked-Size`
- `POST .../branch/{name}`, `DELETE .../branch/{name}`, `POST .../tag/{rev}`
- `HEAD`/`GET /{repo_id}/resolve/{rev}/{path}` with `ETag` (the git blob id; an LFS file's sha256), `X-Repo-Commit`,
  `Content-Length` and byte ranges
- `POST /api/validate-yaml` (the card metadata check behind `ModelCard.validate` and every commit of a README.md)
- errors with the Hub's `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`) and `X-Error-Message`.

Deliberate differences from huggingface.co, so that the tests stay offline and small: only the repo types in
`lfs_repo_types` (dataset repos by default) apply their `.gitattributes` LFS rules; model and space repos keep every
file inline, so that their tests compare stored bytes and git blob ids directly (a file above `max_file_bytes` is
refused with 413 there instead). There is no Xet storage: `client_env` sets `HF_HUB_DISABLE_XET=1`, with which
`huggingface_hub` uploads through the LFS batch API as it does without `hf_xet`. LFS files are served by `resolve`
itself, not through a redirect to a CDN; `.gitignore` rules are not applied, and listings are returned as a single
page. Every request is recorded in `HubServer.requests` so a test can assert, for example, that an offline load sent
nothing.

Use it in-process (`with HubServer() as hub: ...`) and run the client in a subprocess through `run_client`, with the
environment from `client_env`: `huggingface_hub` reads `HF_ENDPOINT` once, when it is imported.
"""

from __future__ import annotations

import array
import atexit
import base64
import contextlib
import hashlib
import io
import json
import locale
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import yaml

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
DEFAULT_BRANCH = "main"
DEFAULT_USER = "citrus-tester"
DEFAULT_TOKEN = "hf_citrus_test_token"
# What huggingface.co writes as the first commit of a new repo; kept so that snapshots look like real ones.
INITIAL_GITATTRIBUTES = b"""*.bin filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
"""
# What huggingface.co writes as the first commit of a new dataset repo (a subset): data files go to LFS.
INITIAL_DATASET_GITATTRIBUTES = b"""*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
# Audio files
*.flac filter=lfs diff=lfs merge=lfs -text
*.mp3 filter=lfs diff=lfs merge=lfs -text
*.wav filter=lfs diff=lfs merge=lfs -text
# Image files
*.jpg filter=lfs diff=lfs merge=lfs -text
*.png filter=lfs diff=lfs merge=lfs -text
"""
# The Hub sends any file of this size or more to LFS, whatever `.gitattributes` says.
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
LFS_POINTER_SPEC = "https://git-lfs.github.com/spec/v1"
REPO_ACTIONS = ("revision", "tree", "paths-info", "preupload", "commit", "branch", "tag", "refs", "discussions")


class HubError(Exception):
    """An error answered the way the Hub answers it: status, `X-Error-Code`, `X-Error-Message` and a JSON body."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        body: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.body = body or {}


# --------------------------------------------------------------------------------------------- git objects


def git_blob_id(content: bytes) -> str:
    """The git SHA-1 of a blob (what `git hash-object` prints), the ETag the Hub sends for a regular file."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def git_tree_id(files: dict[str, str], prefix: str = "") -> str:
    """The git SHA-1 of the tree holding `files` (path -> blob id) under `prefix` ("" for the root)."""
    entries: dict[str, tuple[bytes, str]] = {}
    for path, blob_id in files.items():
        if not path.startswith(prefix):
            continue
        name, _, rest = path[len(prefix) :].partition("/")
        if rest:
            entries[name] = (b"40000", git_tree_id(files, prefix + name + "/"))
        else:
            entries[name] = (b"100644", blob_id)

    # git orders tree entries by name, comparing a sub-tree as if its name ended with "/".
    def sort_key(name: str) -> bytes:
        return (name + "/" if entries[name][0] == b"40000" else name).encode()

    body = b"".join(
        entries[name][0] + b" " + name.encode() + b"\0" + bytes.fromhex(entries[name][1])
        for name in sorted(entries, key=sort_key)
    )
    return hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()


def lfs_pointer(oid: str, size: int) -> bytes:
    """The git LFS pointer file that git stores in place of a file whose bytes live in LFS storage."""
    return f"version {LFS_POINTER_SPEC}\noid sha256:{oid}\nsize {size}\n".encode()


def lfs_rules(gitattributes: bytes) -> list[tuple[str, bool]]:
    """The `.gitattributes` lines that set or unset the `filter` attribute: (pattern, whether it is `filter=lfs`)."""
    rules = []
    for line in gitattributes.decode("utf-8", errors="replace").splitlines():
        pattern, *attributes = line.split() or [""]
        if not pattern or pattern.startswith("#"):
            continue
        for attribute in attributes:
            if attribute.startswith("filter=") or attribute in ("-filter", "!filter"):
                rules.append((pattern, attribute == "filter=lfs"))
    return rules


def is_lfs_path(path: str, gitattributes: bytes) -> bool:
    """Whether `.gitattributes` sends `path` to LFS; as in git, the last line whose pattern matches decides."""
    lfs = False
    for pattern, sets_lfs in lfs_rules(gitattributes):
        if matches_gitattributes_pattern(path, pattern):
            lfs = sets_lfs
    return lfs


def matches_gitattributes_pattern(path: str, pattern: str) -> bool:
    """git's matching of a `.gitattributes` pattern: without a '/', it matches the file name in any folder."""
    if "/" not in pattern:
        return fnmatchcase(path.rsplit("/", 1)[-1], pattern)
    regex = re.escape(pattern.removeprefix("/"))
    regex = regex.replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    return re.fullmatch(regex, path) is not None


@dataclass
class Commit:
    """One git commit: a full snapshot of the repo's files (path -> blob id)."""

    sha: str
    parent: str | None
    files: dict[str, str]
    title: str
    description: str
    timestamp: float

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def make_commit(files: dict[str, str], parent: str | None, title: str, description: str, author: str) -> Commit:
    """Build a commit whose id is computed exactly as git computes it."""
    timestamp = time.time()
    signature = f"{author} <{author}@users.noreply.huggingface.co> {int(timestamp)} +0000"
    message = title if not description else f"{title}\n\n{description}"
    body = f"tree {git_tree_id(files)}\n"
    if parent is not None:
        body += f"parent {parent}\n"
    body += f"author {signature}\ncommitter {signature}\n\n{message}\n"
    raw = body.encode()
    sha = hashlib.sha1(b"commit %d\0" % len(raw) + raw).hexdigest()
    return Commit(sha=sha, parent=parent, files=dict(files), title=title, description=description, timestamp=timestamp)


@dataclass
class Repo:
    """A repository: commits, refs (branches, tags, pull requests) and the blob store they point into."""

    repo_type: str
    repo_id: str
    private: bool
    created_at: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    pull_requests: dict[int, str] = field(default_factory=dict)
    # pull request number -> {"title", "author", "createdAt", "status"}: what `GET .../discussions/{num}` answers
    pull_request_details: dict[int, dict] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    # LFS: blob id of a pointer file -> sha256 of the file's bytes; sha256 -> bytes (the repo's LFS storage).
    lfs_pointers: dict[str, str] = field(default_factory=dict)
    lfs_objects: dict[str, bytes] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]

    def content(self, blob_id: str) -> bytes:
        """The bytes of a file: the blob itself, or for an LFS pointer the object it points to."""
        if blob_id in self.lfs_pointers:
            return self.lfs_objects[self.lfs_pointers[blob_id]]
        return self.blobs[blob_id]

    def lfs_record(self, blob_id: str) -> dict | None:
        """`{"oid", "size", "pointerSize"}` of an LFS file, as the Hub lists it; None for a regular file."""
        oid = self.lfs_pointers.get(blob_id)
        if oid is None:
            return None
        return {"oid": oid, "size": len(self.lfs_objects[oid]), "pointerSize": len(self.blobs[blob_id])}

    def resolve(self, revision: str) -> Commit:
        """Branch, tag, `refs/pr/N`, full commit id or a unique commit-id prefix (>= 7 hex) -> commit."""
        revision = revision.removeprefix("refs/heads/").removeprefix("refs/tags/")
        if revision in self.branches:
            return self.commits[self.branches[revision]]
        if revision in self.tags:
            return self.commits[self.tags[revision]]
        if revision.startswith("refs/pr/") and revision[len("refs/pr/") :].isdigit():
            number = int(revision[len("refs/pr/") :])
            if number in self.pull_requests:
                return self.commits[self.pull_requests[number]]
        if len(revision) >= 7 and all(c in "0123456789abcdef" for c in revision.lower()):
            matches = [sha for sha in self.commits if sha.startswith(revision.lower())]
            if len(matches) == 1:
                return self.commits[matches[0]]
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def last_commit_touching(self, head: Commit, path: str) -> Commit:
        """The most recent ancestor of `head` (itself included) that changed `path` (a file or a folder prefix)."""

        def state(commit: Commit) -> dict[str, str]:
            return {p: o for p, o in commit.files.items() if p == path or p.startswith(path + "/")}

        current = head
        while current.parent is not None and state(self.commits[current.parent]) == state(current):
            current = self.commits[current.parent]
        return current


# --------------------------------------------------------------------------------------------- the server


class HubServer:
    """The in-memory Hub; `start()` serves it on 127.0.0.1 in a daemon thread (also a context manager).

    Args:
        users: token -> user name. The default accepts `DEFAULT_TOKEN` as user `DEFAULT_USER`.
        organizations: user name -> organisations the user may create repos in.
        max_file_bytes: largest file accepted inline in a commit (base64 in the NDJSON payload).
        lfs_repo_types: repo types that apply their `.gitattributes` LFS rules (and the Hub's 10 MiB rule); the
            others keep every file inline.
    """

    def __init__(
        self,
        users: dict[str, str] | None = None,
        organizations: dict[str, list[str]] | None = None,
        max_file_bytes: int = 64 * 1024 * 1024,
        lfs_repo_types: tuple[str, ...] = ("dataset",),
    ):
        self.users = dict(users) if users is not None else {DEFAULT_TOKEN: DEFAULT_USER}
        self.organizations = {user: list(orgs) for user, orgs in (organizations or {}).items()}
        self.max_file_bytes = max_file_bytes
        self.lfs_repo_types = tuple(lfs_repo_types)
        # Upload URLs handed out by the LFS batch API: upload id -> (repo type, repo id, sha256, size).
        self.lfs_uploads: dict[str, tuple[str, str, str, int]] = {}
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[tuple[str, str, int]] = []
        self.lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("The hub server is not running; call start() first.")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubServer:
        hub = self

        class Handler(_HubRequestHandler):
            server_hub = hub

        # Port 0: the OS picks a free port, so parallel test sessions never collide.
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- helpers for tests

    def request_count(self) -> int:
        with self.lock:
            return len(self.requests)

    def requests_since(self, start: int) -> list[tuple[str, str, int]]:
        with self.lock:
            return list(self.requests[start:])

    def repo_files(self, repo_id: str, revision: str = DEFAULT_BRANCH, repo_type: str = "model") -> dict[str, bytes]:
        """Path -> content of every file of `repo_id` at `revision` (what a test pushed, read from the server side);
        for an LFS file its bytes, not its pointer."""
        with self.lock:
            repo = self.repos[(repo_type, repo_id)]
            return {path: repo.content(oid) for path, oid in repo.resolve(revision).files.items()}

    def repo_lfs_files(self, repo_id: str, revision: str = DEFAULT_BRANCH, repo_type: str = "model") -> dict[str, str]:
        """Path -> sha256 of the files of `repo_id` at `revision` that live in LFS storage (git holds pointers)."""
        with self.lock:
            repo = self.repos[(repo_type, repo_id)]
            files = repo.resolve(revision).files
            return {path: repo.lfs_pointers[oid] for path, oid in files.items() if oid in repo.lfs_pointers}

    def upload_mode(self, repo: Repo, commit: Commit, path: str, size: int) -> str:
        """`"lfs"` or `"regular"`, decided as the Hub decides it: by the repo's `.gitattributes` and the file's size."""
        if repo.repo_type not in self.lfs_repo_types or size == 0:
            return "regular"
        if size >= LFS_SIZE_THRESHOLD:
            return "lfs"
        gitattributes = commit.files.get(".gitattributes")
        return "lfs" if gitattributes and is_lfs_path(path, repo.content(gitattributes)) else "regular"

    def lfs_batch(self, repo: Repo, payload: dict, base_url: str) -> dict:
        """The git LFS batch API (upload, basic transfer): an upload and a verify action per object not yet stored."""
        if payload.get("operation") != "upload":
            raise HubError(400, "This test hub's LFS batch API only uploads (downloads go through resolve).")
        if "basic" not in payload.get("transfers", ["basic"]) or payload.get("hash_algo", "sha256") != "sha256":
            raise HubError(400, "This test hub's LFS batch API speaks the basic transfer with sha256 object ids.")
        url_prefix = f"{base_url}/{URL_PREFIXES[repo.repo_type]}{repo.repo_id}.git/info/lfs/objects"
        objects = []
        for item in payload.get("objects", []):
            oid, size = item.get("oid"), item.get("size")
            if not (isinstance(oid, str) and re.fullmatch(r"[0-9a-f]{64}", oid) and isinstance(size, int)):
                raise HubError(422, f"Invalid LFS object {item!r}: needs a sha256 'oid' and an integer 'size'.")
            record = {"oid": oid, "size": size, "authenticated": True}
            if oid not in repo.lfs_objects:  # already stored: no actions, the client skips the upload
                upload_id = secrets.token_hex(16)
                self.lfs_uploads[upload_id] = (repo.repo_type, repo.repo_id, oid, size)
                record["actions"] = {
                    # Like a presigned storage URL: the id in it is the authorisation, no token header needed.
                    "upload": {"href": f"{base_url}/lfs-upload/{upload_id}", "expires_in": 3600},
                    "verify": {"href": f"{url_prefix}/verify", "expires_in": 3600},
                }
            objects.append(record)
        return {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}

    def lfs_upload(self, upload_id: str, content: bytes) -> None:
        """Store the bytes PUT to an upload URL from `lfs_batch`, once their sha256 and size match the request."""
        if upload_id not in self.lfs_uploads:
            raise HubError(403, "Unknown or used LFS upload URL.")
        repo_type, repo_id, oid, size = self.lfs_uploads[upload_id]
        if len(content) != size or hashlib.sha256(content).hexdigest() != oid:
            raise HubError(400, f"The uploaded bytes do not match the LFS object {oid} ({size} bytes).")
        del self.lfs_uploads[upload_id]
        repo = self.repos.get((repo_type, repo_id))
        if repo is not None:
            repo.lfs_objects[oid] = content

    def lfs_verify(self, repo: Repo, payload: dict) -> None:
        oid, size = payload.get("oid"), payload.get("size")
        if oid not in repo.lfs_objects or len(repo.lfs_objects[oid]) != size:
            raise HubError(404, f"LFS object {oid} ({size} bytes) was not uploaded to {repo.repo_id}.")

    # -- state changes and queries (called by the request handler, under the lock)

    def user_for(self, authorization: str | None) -> str | None:
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token not in self.users:
            raise HubError(401, "Invalid credentials in Authorization header")
        return self.users[token]

    def get_repo(self, repo_type: str, repo_id: str, user: str | None, write: bool = False) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        # A private repo the caller may not see is reported as missing, as the Hub does: its existence stays secret.
        if repo is None or (repo.private and not self.may_write(user, repo.namespace)):
            raise HubError(401 if user is None else 404, "Repository not found", "RepoNotFound")
        if write and not self.may_write(user, repo.namespace):
            if user is None:
                raise HubError(401, "You must be authenticated to write to a repository.")
            raise HubError(403, f"You don't have the rights to write to {repo_id}.")
        return repo

    def may_write(self, user: str | None, namespace: str) -> bool:
        return user is not None and (namespace == user or namespace in self.organizations.get(user, []))

    def create_repo(self, user: str | None, payload: dict, base_url: str) -> dict:
        if user is None:
            raise HubError(401, "You must be authenticated to create a repository.")
        name = payload.get("name")
        if not isinstance(name, str) or not name or "/" in name or "--" in name or ".." in name:
            raise HubError(400, f"Invalid repository name: {name!r}.")
        namespace = payload.get("organization") or user
        if not self.may_write(user, namespace):
            raise HubError(403, f"You don't have the rights to create a repository under the namespace {namespace!r}.")
        repo_type = payload.get("type") or "model"
        if repo_type not in URL_PREFIXES:
            raise HubError(400, f"Invalid repo type: {repo_type!r}.")
        repo_id = f"{namespace}/{name}"
        url = f"{base_url}/{URL_PREFIXES[repo_type]}{repo_id}"
        if (repo_type, repo_id) in self.repos:
            # the real Hub sends the URL in the body too; create_repo(exist_ok=True) reads it from there
            raise HubError(409, "You already created this model repo", headers={"X-Repo-Url": url}, body={"url": url})
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        repo = Repo(repo_type, repo_id, private=payload.get("visibility") == "private", created_at=now)
        gitattributes = INITIAL_DATASET_GITATTRIBUTES if repo_type == "dataset" else INITIAL_GITATTRIBUTES
        blob_id = git_blob_id(gitattributes)
        repo.blobs[blob_id] = gitattributes
        first = make_commit({".gitattributes": blob_id}, None, "initial commit", "", user)
        repo.commits[first.sha] = first
        repo.branches[DEFAULT_BRANCH] = first.sha
        self.repos[(repo_type, repo_id)] = repo
        return {"url": url, "name": repo_id, "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]}

    def open_pull_request(self, repo: Repo, title: str, author: str | None, status: str = "draft") -> int:
        """Open pull request `refs/pr/N` at the default branch's head (a draft, as the Hub opens one through the
        discussions API; `commit(create_pr=True)` moves it to its commit); returns N."""
        if author is None:
            raise HubError(401, "You must be authenticated to open a pull request.")
        number = max(repo.pull_requests, default=0) + 1
        repo.pull_requests[number] = repo.branches[DEFAULT_BRANCH]
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        repo.pull_request_details[number] = {"title": title, "author": author, "createdAt": now, "status": status}
        return number

    def delete_repo(self, user: str | None, payload: dict) -> None:
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or user}/{payload.get('name')}"
        self.get_repo(repo_type, repo_id, user, write=True)
        del self.repos[(repo_type, repo_id)]

    def commit(self, repo: Repo, revision: str, lines: list[dict], author: str, create_pr: bool, base_url: str) -> dict:
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "The first line of a commit payload must be its header.")
        header = lines[0]["value"]
        title = header.get("summary") or ""
        if not title:
            raise HubError(400, "A commit needs a summary (commit message).")
        if revision not in repo.branches and not (create_pr or revision.startswith("refs/pr/")):
            # Commits go to branches; a tag or a commit id is not a place to commit to.
            repo.resolve(revision)
            raise HubError(400, f"Cannot commit to {revision!r}: it is not a branch.", "RevisionNotFound")
        head = repo.resolve(revision)
        parent_commit = header.get("parentCommit")
        if parent_commit is not None and parent_commit != head.sha:
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(head.files)
        new_blobs: dict[str, bytes] = {}
        new_pointers: dict[str, str] = {}
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value") or {}
            path = value.get("path", "")
            if not path or path.startswith("/") or ".." in path.split("/"):
                raise HubError(400, f"Invalid path in commit: {path!r}.")
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HubError(400, f"Unsupported encoding {value.get('encoding')!r} for {path}.")
                content = base64.b64decode(value.get("content", ""))
                if len(content) > self.max_file_bytes:
                    raise HubError(413, f"{path} is larger than this test hub's limit ({self.max_file_bytes} bytes).")
                blob_id = git_blob_id(content)
                new_blobs[blob_id] = content
                # A file replaces a folder of the same name, as in git.
                files = {p: o for p, o in files.items() if not p.startswith(path + "/")}
                files[path] = blob_id
            elif key == "deletedFile":
                if path not in files:
                    raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                del files[path]
            elif key == "deletedFolder":
                folder = path.rstrip("/") + "/"
                if not any(p.startswith(folder) for p in files):
                    raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                files = {p: o for p, o in files.items() if not p.startswith(folder)}
            elif key == "lfsFile":
                oid = value.get("oid")
                if value.get("algo", "sha256") != "sha256" or oid not in repo.lfs_objects:
                    raise HubError(
                        422,
                        f"Your push was rejected because an LFS pointer pointed to a file that does not exist: {path}",
                    )
                size = len(repo.lfs_objects[oid])
                if value.get("size") is not None and value["size"] != size:
                    raise HubError(422, f"The LFS pointer of {path} says {value['size']} bytes; the object has {size}.")
                pointer = lfs_pointer(oid, size)
                blob_id = git_blob_id(pointer)
                new_blobs[blob_id] = pointer
                new_pointers[blob_id] = oid
                files = {p: o for p, o in files.items() if not p.startswith(path + "/")}
                files[path] = blob_id
            else:
                raise HubError(400, f"Unknown commit operation {key!r}.")
        commit = make_commit(files, head.sha, title, header.get("description") or "", author)
        repo.blobs.update(new_blobs)
        repo.lfs_pointers.update(new_pointers)
        repo.commits[commit.sha] = commit
        url_prefix = f"{base_url}/{URL_PREFIXES[repo.repo_type]}{repo.repo_id}"
        response = {"success": True, "commitOid": commit.sha, "commitUrl": f"{url_prefix}/commit/{commit.sha}"}
        if create_pr:
            number = self.open_pull_request(repo, title, author, status="open")
            repo.pull_requests[number] = commit.sha
            response["pullRequestUrl"] = f"{url_prefix}/discussions/{number}"
        elif revision.startswith("refs/pr/"):
            repo.pull_requests[int(revision[len("refs/pr/") :])] = commit.sha
        else:
            repo.branches[revision] = commit.sha
        response["hookOutput"] = ""
        return response


# --------------------------------------------------------------------------------------------- HTTP layer


def _entry(repo: Repo, commit: Commit, path: str, expand: bool) -> dict | None:
    """Tree / paths-info record of `path` at `commit` (a file or a folder), or None if it does not exist."""
    if path in commit.files:
        blob_id = commit.files[path]
        record = {"type": "file", "oid": blob_id, "size": len(repo.content(blob_id)), "path": path}
        lfs = repo.lfs_record(blob_id)
        if lfs is not None:
            record["lfs"] = lfs
    elif any(p.startswith(path + "/") for p in commit.files) and path:
        record = {"type": "directory", "oid": git_tree_id(commit.files, path + "/"), "size": 0, "path": path}
    else:
        return None
    if expand:
        last = repo.last_commit_touching(commit, path)
        record["lastCommit"] = {"id": last.sha, "title": last.title, "date": last.date}
        if record["type"] == "file":
            record["securityFileStatus"] = {"status": "safe", "avScan": {"virusFound": False}, "pickleImportScan": None}
    return record


def _card_metadata(content: bytes) -> dict | None:
    """YAML front matter of a README.md, or None when there is none."""
    text = content.decode("utf-8", errors="replace")
    if not text.startswith("---"):
        return None
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        return None
    data = yaml.safe_load(parts[0][3:])
    return data if isinstance(data, dict) else None


def validate_card_metadata(content: str) -> tuple[list[str], list[str]]:
    """The checks of `/api/validate-yaml`: (errors, warnings) for a card's YAML front matter.

    A subset of the Hub's rules, the ones a card writer can get wrong: YAML that parses to a mapping, string lists
    where the spec wants them, and a `model-index` that `huggingface_hub` can turn back into `EvalResult`s.
    """
    from huggingface_hub.repocard_data import model_index_to_eval_results

    if not content.startswith("---"):
        return [], ["Empty or missing yaml metadata in repo card (https://huggingface.co/docs/hub/model-cards)."]
    head, sep, _ = content[3:].partition("\n---")
    if not sep:
        return ["The YAML front matter is not closed by a '---' line."], []
    try:
        metadata = yaml.safe_load(head)
    except yaml.YAMLError as error:
        return [f"Invalid YAML: {error}"], []
    if metadata is None:
        return [], ["Empty or missing yaml metadata in repo card (https://huggingface.co/docs/hub/model-cards)."]
    if not isinstance(metadata, dict):
        return ["The YAML metadata must be a mapping."], []
    errors = []
    for key in ("tags", "datasets", "metrics", "language"):
        value = metadata.get(key)
        if value is not None and not (
            isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            errors.append(f'"{key}" must be a string or a list of strings.')
    for key in ("license", "library_name", "pipeline_tag"):
        if key in metadata and not isinstance(metadata[key], str):
            errors.append(f'"{key}" must be a string.')
    base_model = metadata.get("base_model")
    if base_model is not None and not (
        isinstance(base_model, str) or (isinstance(base_model, list) and all(isinstance(v, str) for v in base_model))
    ):
        errors.append('"base_model" must be a repo id or a list of repo ids.')
    if "model-index" in metadata:
        try:
            model_index_to_eval_results(metadata["model-index"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            errors.append(f'"model-index" is malformed: {error!r}.')
    return errors, []


class _HubRequestHandler(BaseHTTPRequestHandler):
    server_hub: HubServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the Hub: the client's connection pool reuses sockets

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        """Silence the per-request stderr lines; requests are recorded in `HubServer.requests` instead."""

    # -- plumbing

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, head: bool = False):
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
        headers.setdefault("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not head and body:
            self.wfile.write(body)
        with self.server_hub.lock:
            self.server_hub.requests.append((self.command, self.path, status))

    def _send_json(self, payload, status: int = 200, headers: dict[str, str] | None = None):
        self._send(status, json.dumps(payload).encode(), headers)

    def _send_error(self, error: HubError, head: bool = False):
        headers = {"X-Error-Message": error.message, **error.headers}
        if error.code:
            headers["X-Error-Code"] = error.code
        self._send(error.status, json.dumps({"error": error.message, **error.body}).encode(), headers, head=head)

    def _dispatch(self, method: str):
        head = method == "HEAD"
        try:
            body = b"" if method in ("GET", "HEAD") else self._read_body()
            split = urlsplit(self.path)
            # Split before unquoting: a revision like "refs/pr/1" arrives as one %2F-encoded segment.
            segments = [unquote(s) for s in split.path.split("/")[1:]]
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            with self.server_hub.lock:
                user = self.server_hub.user_for(self.headers.get("Authorization"))
                self._route(method, segments, query, body, user)
        except HubError as error:
            self._send_error(error, head=head)
        except json.JSONDecodeError as error:
            self._send_error(HubError(400, f"The request body is not valid JSON: {error}"), head=head)
        except Exception as error:
            # A bug in this server, not in the client: answer 500 (the client reports it) and show the traceback.
            traceback.print_exc()
            self._send_error(HubError(500, f"Test hub error: {error!r}"), head=head)

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PUT(self):
        self._dispatch("PUT")

    # -- routing

    def _route(self, method: str, segments: list[str], query: dict[str, str], body: bytes, user: str | None):
        hub = self.server_hub
        if segments[:1] == ["api"]:
            rest = segments[1:]
            if rest == ["whoami-v2"] and method == "GET":
                return self._whoami(user)
            if rest == ["repos", "create"] and method == "POST":
                return self._send_json(hub.create_repo(user, json.loads(body or b"{}"), self._base_url()))
            if rest == ["repos", "delete"] and method == "DELETE":
                hub.delete_repo(user, json.loads(body or b"{}"))
                return self._send_json({})
            if rest == ["validate-yaml"] and method == "POST":
                payload = json.loads(body or b"{}")
                errors, warnings = validate_card_metadata(payload.get("content", ""))
                status = 400 if errors else 200
                return self._send_json(
                    {"errors": [{"message": e} for e in errors], "warnings": [{"message": w} for w in warnings]},
                    status=status,
                )
            if len(rest) >= 3 and rest[0] in REPO_TYPES:
                return self._repo_api(method, REPO_TYPES[rest[0]], f"{rest[1]}/{rest[2]}", rest[3:], query, body, user)
        elif method == "PUT" and len(segments) == 2 and segments[0] == "lfs-upload":
            hub.lfs_upload(segments[1], body)
            return self._send(200, b"", {"ETag": f'"{hashlib.md5(body).hexdigest()}"'})
        elif method == "POST" and segments[-4:-1] == ["info", "lfs", "objects"]:
            # {repo_id}.git/info/lfs/objects/{batch,verify}, with datasets/ or spaces/ in front for those repo types
            repo_type = REPO_TYPES[segments[0]] if segments[0] in ("datasets", "spaces") else "model"
            names = segments[1:-4] if repo_type != "model" else segments[:-4]
            if len(names) == 2 and names[1].endswith(".git") and segments[-1] in ("batch", "verify"):
                repo = hub.get_repo(repo_type, f"{names[0]}/{names[1].removesuffix('.git')}", user, write=True)
                payload = json.loads(body or b"{}")
                if segments[-1] == "verify":
                    hub.lfs_verify(repo, payload)
                    return self._send_json({})
                answer = json.dumps(hub.lfs_batch(repo, payload, self._base_url())).encode()
                return self._send(200, answer, {"Content-Type": "application/vnd.git-lfs+json"})
        elif method in ("GET", "HEAD"):
            repo_type = "model"
            if segments[:1] in (["datasets"], ["spaces"]):
                repo_type = REPO_TYPES[segments[0]]
                segments = segments[1:]
            if len(segments) >= 5 and segments[2] == "resolve":
                path = "/".join(segments[4:])
                return self._resolve(method, repo_type, f"{segments[0]}/{segments[1]}", segments[3], path, user)
        raise HubError(404, f"This test hub does not implement {method} {self.path}.")

    def _whoami(self, user: str | None):
        if user is None:
            raise HubError(401, "You must be authenticated to call whoami.")
        orgs = [
            {"type": "org", "name": org, "roleInOrg": "write"} for org in self.server_hub.organizations.get(user, [])
        ]
        self._send_json(
            {
                "type": "user",
                "id": hashlib.sha1(user.encode()).hexdigest()[:24],
                "name": user,
                "fullname": user,
                "orgs": orgs,
                "auth": {"type": "access_token", "accessToken": {"displayName": "tests", "role": "write"}},
            }
        )

    def _repo_api(self, method, repo_type, repo_id, action, query, body, user):
        hub = self.server_hub
        verb = action[0] if action else None
        if verb is not None and verb not in REPO_ACTIONS:
            raise HubError(404, f"This test hub does not implement {method} {self.path}.")
        write = (method, verb) in {
            ("POST", "preupload"),
            ("POST", "commit"),
            ("POST", "branch"),
            ("DELETE", "branch"),
            ("POST", "tag"),
        }
        repo = hub.get_repo(repo_type, repo_id, user, write=write)
        revision = action[1] if len(action) >= 2 else DEFAULT_BRANCH
        if method == "GET" and verb in (None, "revision"):
            return self._repo_info(repo, revision, blobs=query.get("blobs", "").lower() in ("1", "true"))
        if method == "GET" and verb == "tree":
            return self._tree(repo, revision, "/".join(action[2:]), query)
        if method == "POST" and verb == "paths-info":
            return self._paths_info(repo, revision, body)
        if method == "GET" and verb == "refs":
            return self._refs(repo, include_prs=query.get("include_prs") in ("1", "true", "True"))
        if method == "POST" and verb == "preupload":
            return self._preupload(repo, revision, json.loads(body or b"{}"))
        if method == "POST" and verb == "commit":
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            create_pr = query.get("create_pr") in ("1", "true", "True")
            return self._send_json(hub.commit(repo, revision, lines, user, create_pr, self._base_url()))
        if verb == "branch" and len(action) == 2:
            return self._branch(method, repo, action[1], json.loads(body or b"{}") if method == "POST" else {})
        if method == "POST" and verb == "tag" and len(action) == 2:
            return self._tag(repo, action[1], json.loads(body or b"{}"))
        if verb == "discussions":
            return self._discussions(
                method, repo, action[1:], json.loads(body or b"{}") if method == "POST" else {}, user
            )
        raise HubError(404, f"This test hub does not implement {method} {self.path}.")

    def _repo_info(self, repo: Repo, revision: str, blobs: bool):
        commit = repo.resolve(revision)
        siblings = []
        for path in sorted(commit.files):
            sibling = {"rfilename": path}
            if blobs:
                blob_id = commit.files[path]
                sibling.update(size=len(repo.content(blob_id)), blobId=blob_id)
                lfs = repo.lfs_record(blob_id)
                if lfs is not None:
                    sibling["lfs"] = {"sha256": lfs["oid"], "size": lfs["size"], "pointerSize": lfs["pointerSize"]}
            siblings.append(sibling)
        card = _card_metadata(repo.content(commit.files["README.md"])) if "README.md" in commit.files else None
        config = None
        if "config.json" in commit.files:
            try:
                full_config = json.loads(repo.content(commit.files["config.json"]))
                config = {k: full_config[k] for k in ("architectures", "model_type", "auto_map") if k in full_config}
            except json.JSONDecodeError:
                config = None
        tags = list((card or {}).get("tags") or [])
        if config and "auto_map" in config:
            tags.append("custom_code")
        info = {
            "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": repo.namespace,
            "sha": commit.sha,
            "lastModified": commit.date,
            "createdAt": repo.created_at,
            "private": repo.private,
            "disabled": False,
            "gated": False,
            "downloads": 0,
            "likes": 0,
            "tags": tags,
            "siblings": siblings,
            "usedStorage": sum(map(len, repo.blobs.values())) + sum(map(len, repo.lfs_objects.values())),
        }
        if repo.repo_type == "model":
            info["library_name"] = (card or {}).get("library_name")
            info["pipeline_tag"] = (card or {}).get("pipeline_tag")
            if config is not None:
                info["config"] = config
            if card and "model-index" in card:
                info["model-index"] = card["model-index"]
        if card is not None:
            info["cardData"] = card
        self._send_json(info)

    def _tree(self, repo: Repo, revision: str, path: str, query: dict[str, str]):
        commit = repo.resolve(revision)
        recursive = query.get("recursive", "").lower() in ("1", "true")
        expand = query.get("expand", "").lower() in ("1", "true")
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        if prefix and not any(p.startswith(prefix) for p in commit.files):
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", {"X-Repo-Commit": commit.sha})
        names = set()
        for file_path in commit.files:
            if not file_path.startswith(prefix):
                continue
            relative = file_path[len(prefix) :].split("/")
            # Non-recursive: direct children only. Recursive: every file and every folder on the way.
            depth = len(relative) if recursive else 1
            for i in range(1, min(depth, len(relative)) + 1):
                names.add(prefix + "/".join(relative[:i]))
        entries = [_entry(repo, commit, name, expand) for name in sorted(names)]
        self._send_json([e for e in entries if e is not None])

    def _paths_info(self, repo: Repo, revision: str, body: bytes):
        commit = repo.resolve(revision)
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            payload = json.loads(body or b"{}")
            paths, expand = payload.get("paths", []), bool(payload.get("expand"))
        else:
            form = parse_qs(body.decode())
            paths = form.get("paths", [])
            expand = form.get("expand", ["False"])[-1].lower() in ("1", "true")
        entries = [_entry(repo, commit, p.strip("/"), expand) for p in paths]
        self._send_json([e for e in entries if e is not None])

    def _refs(self, repo: Repo, include_prs: bool):
        def ref(name: str, full: str, sha: str) -> dict:
            return {"name": name, "ref": full, "targetCommit": sha}

        refs = {
            "branches": [ref(b, f"refs/heads/{b}", s) for b, s in sorted(repo.branches.items())],
            "tags": [ref(t, f"refs/tags/{t}", s) for t, s in sorted(repo.tags.items())],
            "converts": [],
        }
        if include_prs:
            refs["pullRequests"] = [ref(f"refs/pr/{n}", f"refs/pr/{n}", s) for n, s in repo.pull_requests.items()]
        self._send_json(refs)

    def _discussions(self, method: str, repo: Repo, rest: list[str], payload: dict, user: str | None):
        """`POST .../discussions` opens a pull request (`pullRequest: true`; a plain discussion is not served);
        `GET .../discussions/{num}` answers its details as `HfApi.get_discussion_details` reads them."""
        if method == "POST" and not rest and payload.get("pullRequest"):
            number = self.server_hub.open_pull_request(repo, str(payload.get("title", "")).strip(), user)
            return self._send_json({"num": number, "url": f"{self._base_url()}/{URL_PREFIXES[repo.repo_type]}"
                                    f"{repo.repo_id}/discussions/{number}"})  # fmt: skip
        if method == "GET" and len(rest) == 1 and rest[0].isdigit() and int(rest[0]) in repo.pull_request_details:
            details = repo.pull_request_details[int(rest[0])]
            return self._send_json(
                {
                    "num": int(rest[0]),
                    "title": details["title"],
                    "author": {"name": details["author"]},
                    "createdAt": details["createdAt"],
                    "status": details["status"],
                    "repo": {"name": repo.repo_id, "type": repo.repo_type},
                    "isPullRequest": True,
                    "events": [],
                    "changes": {"base": f"refs/heads/{DEFAULT_BRANCH}"},
                    "filesWithConflicts": [],
                }
            )
        if method == "GET" and len(rest) == 1:
            raise HubError(404, f"Discussion {rest[0]} not found in {repo.repo_id}.")
        raise HubError(404, f"This test hub does not implement {method} {self.path}.")

    def _preupload(self, repo: Repo, revision: str, payload: dict):
        try:
            commit = repo.resolve(revision)
        except HubError:
            if revision.startswith("refs/pr/"):
                raise
            commit = repo.resolve(DEFAULT_BRANCH)  # the Hub answers preupload for a branch about to be created
        files = []
        for item in payload.get("files", []):
            mode = self.server_hub.upload_mode(repo, commit, item["path"], item.get("size", 0))
            if mode == "regular" and item.get("size", 0) > self.server_hub.max_file_bytes:
                raise HubError(
                    413,
                    f"{item['path']} ({item['size']} bytes) is larger than this test hub's limit "
                    f"({self.server_hub.max_file_bytes} bytes) for files stored inline, without LFS.",
                )
            remote = commit.files.get(item["path"])
            files.append(
                {
                    "path": item["path"],
                    # "regular": the client sends the bytes base64 in the commit; "lfs": through the LFS batch API.
                    "uploadMode": mode,
                    "shouldIgnore": False,
                    # The remote oid (for an LFS file its sha256, as the client computes it) lets the client drop
                    # unchanged files instead of making an empty commit.
                    "oid": repo.lfs_pointers.get(remote, remote) if remote else None,
                }
            )
        self._send_json({"files": files, "commitOid": commit.sha})

    def _branch(self, method: str, repo: Repo, branch: str, payload: dict):
        if method == "DELETE":
            if branch not in repo.branches:
                raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            if branch == DEFAULT_BRANCH:
                raise HubError(403, "You cannot delete the default branch.")
            del repo.branches[branch]
            return self._send_json({})
        if branch in repo.branches or branch in repo.tags:
            raise HubError(409, f"Reference already exists: refs/heads/{branch}")
        start = repo.resolve(payload.get("startingPoint") or DEFAULT_BRANCH)
        repo.branches[branch] = start.sha
        self._send_json({})

    def _tag(self, repo: Repo, revision: str, payload: dict):
        tag = payload.get("tag")
        if not tag:
            raise HubError(400, "A tag needs a name.")
        if tag in repo.tags or tag in repo.branches:
            raise HubError(409, f"Reference already exists: refs/tags/{tag}")
        repo.tags[tag] = repo.resolve(revision).sha
        self._send_json({})

    def _resolve(self, method: str, repo_type: str, repo_id: str, revision: str, path: str, user: str | None):
        repo = self.server_hub.get_repo(repo_type, repo_id, user)
        commit = repo.resolve(revision)
        if path not in commit.files:
            # X-Repo-Commit on a 404 lets the client cache the file's absence for this commit (`.no_exist`).
            raise HubError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": commit.sha})
        blob_id = commit.files[path]
        content = repo.content(blob_id)
        lfs = repo.lfs_record(blob_id)
        headers = {
            # For an LFS file the Hub identifies the bytes by their sha256 (X-Linked-Etag), not by the pointer's blob id.
            "ETag": f'"{lfs["oid"] if lfs else blob_id}"',
            **({"X-Linked-Etag": f'"{lfs["oid"]}"', "X-Linked-Size": str(lfs["size"])} if lfs else {}),
            "X-Repo-Commit": commit.sha,
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(path.rsplit('/', 1)[-1])}",
        }
        status = 200
        byte_range = self.headers.get("Range")
        if byte_range and byte_range.startswith("bytes="):
            first, _, last = byte_range[len("bytes=") :].partition("-")
            start = int(first) if first else max(len(content) - int(last), 0)
            end = int(last) if first and last else len(content) - 1
            if start >= len(content) and content:
                raise HubError(
                    416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{len(content)}"}
                )
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            content = content[start : end + 1]
            status = 206
        self._send(status, content, headers, head=method == "HEAD")


# --------------------------------------------------------------------------------------------- client side


def client_env(url: str, hf_home: str | os.PathLike, token: str | None = DEFAULT_TOKEN, **extra: str) -> dict[str, str]:
    """Environment for a client subprocess that talks to the hub at `url` with a private cache under `hf_home`.

    Everything `huggingface_hub` reads at import time is set here: the endpoint, the cache, the token, and switches
    that keep it from calling anything but this server (telemetry, update checks, Xet storage).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HF_", "HUGGINGFACE_")) and key not in ("TRANSFORMERS_OFFLINE", "TRANSFORMERS_CACHE")
    }
    env.update(
        HF_ENDPOINT=url,
        HF_HOME=str(hf_home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_UPDATE_CHECK="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_IMPLICIT_TOKEN="0",
        # This hub stores LFS objects, not Xet chunks: without this, an installed `hf_xet` would take every upload.
        HF_HUB_DISABLE_XET="1",
        TOKENIZERS_PARALLELISM="false",
    )
    if token is not None:
        env["HF_TOKEN"] = token
    env.update(extra)
    return env


# Run first in a client that must not see the package: drops every sys.path entry that holds `citrus_hf` (the
# editable install puts the checkout's src/ there) but the one that holds transformers too (`pip install .` puts the
# package beside its dependencies), and makes any later `import citrus_hf` fail outright.
WITHOUT_PACKAGE_PRELUDE = """
import os, sys
sys.path[:] = [
    p for p in sys.path
    if not os.path.exists(os.path.join(p or os.getcwd(), "citrus_hf"))
    or os.path.exists(os.path.join(p or os.getcwd(), "transformers"))
]
sys.modules["citrus_hf"] = None
"""


def run_client(
    script: str,
    env: dict[str, str],
    cwd: str | os.PathLike,
    args: list[str] | None = None,
    without_package: bool = False,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run `script` in a fresh Python with `env`; with `without_package`, `citrus_hf` cannot be imported there.

    "Fresh" as far as the script can tell: the client is forked from a server that has imported torch, numpy and scipy
    (not the Hub libraries, which read `env` at import), started with `env` less its Hub variables and with the
    client's interpreter options (`-u`, or `-I` without the package; see `client_forkserver.py`);
    CITRUS_TEST_FRESH_CLIENTS=1 starts a new interpreter instead. Raises AssertionError with the client's output when
    it exits with an error, so a failing test shows why.
    """
    if without_package:
        script = WITHOUT_PACKAGE_PRELUDE + script
    script_path = Path(cwd) / f"client_{time.monotonic_ns()}.py"
    script_path.write_text(script)
    # -I (isolated): no user site, no PYTHON* variables, and no script folder (nor the repo) on sys.path.
    command = [sys.executable, "-I" if without_package else "-u", str(script_path), *(args or [])]
    # stdin closed (both ways): a client that would prompt (transformers asks before running remote code) gets "no",
    # never a hang.
    server = _fork_server(env, isolated=without_package)
    if server is not None:
        result = server.run(command, env=env, cwd=cwd, timeout=timeout)
    else:
        result = subprocess.run(
            command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
        )
    if result.returncode != 0:
        raise AssertionError(
            f"client script failed with exit code {result.returncode}\n--- stdout\n{result.stdout}\n"
            f"--- stderr\n{result.stderr}"
        )
    return result


# What a client's environment may differ in from the fork server's and still be forked from it: the variables that
# only the Hub libraries read, which the server has not imported, and pytest's name of the running test (it changes
# from test to test; torch, numpy and scipy do not read it).
FORK_SERVER_FREE_VARIABLES = ("HF_", "HUGGINGFACE_", "TRANSFORMERS_", "TOKENIZERS_PARALLELISM", "PYTEST_CURRENT_TEST")
# ... and, for `-I` clients, the interpreter's own variables, which `python -I` ignores (PYTHONPATH, ...).
ISOLATED_FREE_VARIABLES = ("PYTHON",)
# Set CITRUS_TEST_FRESH_CLIENTS=1 to give every client a new interpreter (the slower, original way).
FRESH_CLIENTS_VARIABLE = "CITRUS_TEST_FRESH_CLIENTS"


def _forkable_part(env: dict[str, str], isolated: bool) -> dict[str, str]:
    free = FORK_SERVER_FREE_VARIABLES + (ISOLATED_FREE_VARIABLES if isolated else ())
    return {key: value for key, value in env.items() if not key.startswith(free)}


class ClientForkServer:
    """A `client_forkserver.py` process of this test process, and the client runs it forks (one at a time); an
    `isolated` one runs under `python -I` and serves `-I` clients, the other under `python -u` and serves `-u` ones."""

    def __init__(self, env: dict[str, str], isolated: bool = False) -> None:
        self.env = env
        self.folder = Path(tempfile.mkdtemp(prefix="citrus-clients-"))
        self.socket_path = str(self.folder / "server.sock")
        self.log_path = self.folder / "server.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-I" if isolated else "-u",
                    str(Path(__file__).with_name("client_forkserver.py")),
                    self.socket_path,
                ],
                env=env,
                cwd=self.folder,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        ready = self.process.stdout.readline()
        if ready.strip() != b"ready":
            self.close()
            raise RuntimeError(f"the client fork server did not start:\n{self.log_path.read_text()}")
        self.lock = threading.Lock()
        atexit.register(self.close)

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # the server's signal to end
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def run(
        self, command: list[str], env: dict[str, str], cwd: str | os.PathLike, timeout: float
    ) -> subprocess.CompletedProcess:
        """What `subprocess.run(command, env=env, cwd=cwd, stdin=DEVNULL, capture_output=True, text=True,
        timeout=timeout)` returns, from a child of the server (`command` is `[python, -u or -I, script, *args]`)."""
        request = {"argv": command[2:], "env": env, "cwd": str(Path(cwd).resolve())}
        with (
            self.lock,
            tempfile.TemporaryFile() as stdout,
            tempfile.TemporaryFile() as stderr,
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection,
        ):
            # the whole exchange under the client's timeout: a server that never answers (stuck) fails this client
            # rather than hanging the test
            connection.settimeout(timeout)
            connection.connect(self.socket_path)
            fds = array.array("i", [stdout.fileno(), stderr.fileno()])
            connection.sendmsg([json.dumps(request).encode() + b"\n"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            received = bytearray()
            try:
                started = _reply(connection, received)
            except TimeoutError:
                raise RuntimeError(
                    f"the client fork server did not start a client within {timeout} s:\n{self.log_path.read_text()}"
                ) from None
            if not started:
                raise RuntimeError(f"the client fork server refused a client:\n{self.log_path.read_text()}")
            pid = json.loads(started)["pid"]
            try:
                line = _reply(connection, received)
            except TimeoutError:
                _kill(pid)  # as subprocess.run does; the server reaps it
                raise subprocess.TimeoutExpired(command, timeout, _captured(stdout), _captured(stderr)) from None
            except BaseException:
                # as subprocess.run does on any error while it waits (pytest-timeout's interrupt, Ctrl-C): a client
                # left running would keep the server waiting on it, and every later client of this process with it
                _kill(pid)
                raise
            if not line:
                raise RuntimeError(f"the client fork server ended during a client:\n{self.log_path.read_text()}")
            returncode = json.loads(line)["returncode"]
            return subprocess.CompletedProcess(command, returncode, _captured(stdout), _captured(stderr))


def _kill(pid: int) -> None:
    """Kill a forked client (its server reaps it); one that has ended already is passed over."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _reply(connection: socket.socket, received: bytearray) -> bytes:
    """The server's next reply line from `connection` (`received` keeps what came after it), or b"" when the server
    closed the connection first."""
    while b"\n" not in received:
        chunk = connection.recv(1 << 12)
        if not chunk:
            return b""
        received += chunk
    end = received.index(b"\n") + 1
    line = bytes(received[:end])
    del received[:end]
    return line


def _captured(file) -> str:
    """A captured stream decoded as `subprocess.run(..., text=True)` decodes it (locale encoding, universal
    newlines)."""
    file.seek(0)
    text = io.TextIOWrapper(file, encoding=locale.getpreferredencoding(False))
    try:
        return text.read()
    finally:
        text.detach()  # the caller closes `file`


# By pid (a forked test process must not share its parent's) and whether isolated (`-I` clients, without the package).
_FORK_SERVERS: dict[tuple[int, bool], ClientForkServer | None] = {}


def _fork_server(env: dict[str, str], isolated: bool = False) -> ClientForkServer | None:
    """This process's fork server for `env` and `-I` (`isolated`) or `-u` clients (started on first use), else None
    (a fresh Python)."""
    if os.environ.get(FRESH_CLIENTS_VARIABLE) or not hasattr(socket, "AF_UNIX") or not hasattr(os, "fork"):
        return None
    forkable = _forkable_part(env, isolated)
    key = (os.getpid(), isolated)
    server = _FORK_SERVERS.get(key)
    if key in _FORK_SERVERS and server is None:
        return None  # it failed to start once: every client of this process gets a fresh Python
    if server is not None and server.lock.locked():
        return None  # busy with another client (of another thread)
    if server is not None and server.alive() and forkable == server.env:
        return server
    # None yet, or this process's environment changed (a test set a variable; torch's inductor sets its cache folder
    # once it is imported here): a server with the new one, once, is cheaper than fresh interpreters from now on.
    if server is not None:
        server.close()
    try:
        server = _FORK_SERVERS[key] = ClientForkServer(forkable, isolated)
    except RuntimeError as error:
        _FORK_SERVERS[key] = None
        warnings.warn(f"{error}\nHub clients start a fresh Python each instead (slower).", stacklevel=2)
        return None
    return server


RESULT_MARKER = "RESULT:"

# Client-side: `message(call)` runs `call` and returns its error as `[type name, text]` (None when it succeeds), so a
# client reports an expected error in its RESULT line instead of dying on it. Put into a client script's text.
CALL_MESSAGE = """
def message(call):
    try:
        call()
    except Exception as error:
        return [type(error).__name__, str(error)]
    return None
"""


SCRIPT_FAILED_MARKER = "CLIENT SCRIPT FAILED:"


def client_output(stdout: str) -> str:
    """`stdout`, a client script's output, once it is known the script did not fail: an `in_one_client` script that
    raised (or exited with a nonzero code) fails here, in the test that reads it, with its own output and traceback."""
    if SCRIPT_FAILED_MARKER in stdout:
        raise AssertionError(f"the client script failed; its output was:\n{stdout}")
    return stdout


def client_result(stdout: str):
    """The JSON a client script printed after `RESULT:` (its last such line); other output is ignored."""
    lines = [line for line in client_output(stdout).splitlines() if RESULT_MARKER in line]
    if not lines:
        raise AssertionError(f"the client printed no {RESULT_MARKER} line; its output was:\n{stdout}")
    return json.loads(lines[-1].split(RESULT_MARKER, 1)[1])


# Several client scripts of one environment in one client (each client costs seconds of imports): `in_one_client`
# makes the script that runs each in turn, in a namespace of its own as `__main__`, and prints what each printed;
# `printed_by_each` gives that back per script, for `client_result` to read as if each had run alone. A script that
# raises does not end the client: its traceback (with its source lines, kept in linecache for the compiled text) goes
# into its own output after SCRIPT_FAILED_MARKER, so only the test reading that script fails, and the later scripts
# still run. sys.exit(0) or sys.exit() ends that script only, as it would have ended its own client without a failure.
RUN_EACH = """
import contextlib as _contextlib, io as _io, json as _json, linecache as _linecache, traceback as _traceback
_printed = {}
for _name, _source in _SCRIPTS.items():
    _filename = f"<client script {_name}>"
    _linecache.cache[_filename] = (len(_source), None, _source.splitlines(keepends=True), _filename)
    _out = _io.StringIO()
    with _contextlib.redirect_stdout(_out):
        try:
            exec(compile(_source, _filename, "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
        except SystemExit as _exit:
            if _exit.code not in (None, 0):
                print(__FAILED__, f"{_name} exited with code {_exit.code!r}")
                _traceback.print_exc(file=_out)
        except BaseException:
            print(__FAILED__, _name)
            _traceback.print_exc(file=_out)
    _printed[_name] = _out.getvalue()
print("PRINTED_BY_EACH:", _json.dumps(_printed))
""".replace("__FAILED__", repr(SCRIPT_FAILED_MARKER))


def in_one_client(scripts: dict[str, str]) -> str:
    """A client script that runs `scripts` (name -> script text) in turn, in the order given, in one Python; a script
    that fails does not stop the others (see RUN_EACH). Read its output with `printed_by_each`, each script's with
    `client_result` or `client_output`."""
    return f"_SCRIPTS = {scripts!r}\n" + RUN_EACH


def printed_by_each(stdout: str) -> dict[str, str]:
    """What each script of an `in_one_client` client printed, by name."""
    lines = [line for line in stdout.splitlines() if line.startswith("PRINTED_BY_EACH: ")]
    if not lines:
        raise AssertionError(f"the client printed no PRINTED_BY_EACH line; its output was:\n{stdout}")
    return json.loads(lines[-1].split(": ", 1)[1])


class ScriptResults(Mapping):
    """What a module fixture's client scripts printed, read when a test reads it: `results[name]` is that script's
    `client_result`, `results.output(name)` its `client_output`. A fixture that read every script's result as its
    clients returned errored every test of the module when one script failed; read here, the failure (with that
    script's output) is the failure of the tests that read that script alone. `values` are the fixture's other
    entries (folders, expected values), given back as they are."""

    def __init__(self, printed: Mapping[str, str], **values: object) -> None:
        self.printed = dict(printed)
        self.values = values

    def __getitem__(self, name: str):
        if name in self.values:
            return self.values[name]
        return client_result(self.printed[name])

    def output(self, name: str) -> str:
        """What script `name` printed, once it is known that it did not fail (`client_output`)."""
        return client_output(self.printed[name])

    def __iter__(self) -> Iterator[str]:
        return iter([*self.printed, *self.values])

    def __len__(self) -> int:
        return len(self.printed) + len(self.values)


def results_in_one_client(client, scripts: dict[str, str], **client_options) -> ScriptResults:
    """The results of `scripts` (name -> script), run in turn in one Python by `client` (a `make_hub_client` client,
    given `client_options`: `hf_home=`, Hub variables, ...); each is read when a test reads it (`ScriptResults`)."""
    return ScriptResults(printed_by_each(client(in_one_client(scripts), **client_options)))
