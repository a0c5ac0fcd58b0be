"""The test hub speaks the Hub API as `huggingface_hub` expects it: an unmodified client creates repos, commits,
downloads, lists, branches and gets the Hub's errors. These tests pin the server the CiTrus Hub tests rely on."""

from __future__ import annotations

import json
import re

import pytest
from hub_server import DEFAULT_USER, client_result, git_blob_id, git_tree_id

FILES = {
    "README.md": b"---\nlicense: mit\ntags:\n- test\n---\n# A test repo\n",
    "weights.safetensors": bytes(range(256)) * 40,
    "nested/a.json": b'{"a": 1}',
    "nested/deep/b.txt": b"deep",
    "empty.txt": b"",
}

PROTOCOL_SCRIPT = r"""
import json, pathlib, tempfile
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.utils import build_hf_headers, get_session

files = {k: bytes.fromhex(v) for k, v in json.loads(FILES_HEX).items()}
api = HfApi()
out = {"whoami": api.whoami()["name"]}
repo_id = api.create_repo("protocol").repo_id  # no namespace: the hub puts it under the caller's
out["repo_id"] = repo_id
folder = pathlib.Path(tempfile.mkdtemp())
for name, content in files.items():
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
commit = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message="first upload")
out["commit"] = commit.oid
info = api.model_info(repo_id, files_metadata=True)
out["info_sha"] = info.sha
out["siblings"] = {s.rfilename: [s.size, s.blob_id] for s in info.siblings}
out["card_license"] = info.card_data.license
out["downloads_equal"] = {
    name: pathlib.Path(hf_hub_download(repo_id, name)).read_bytes() == content for name, content in files.items()
}
snapshot = pathlib.Path(snapshot_download(repo_id))
out["snapshot"] = sorted(str(p.relative_to(snapshot)) for p in snapshot.rglob("*") if p.is_file())
out["tree"] = sorted(e.path for e in api.list_repo_tree(repo_id))
out["tree_recursive"] = sorted(e.path for e in api.list_repo_tree(repo_id, recursive=True))
out["tree_nested"] = sorted(e.path for e in api.list_repo_tree(repo_id, path_in_repo="nested"))
paths_info = api.get_paths_info(repo_id, ["nested", "empty.txt", "no"])
out["paths_info"] = sorted([type(e).__name__, e.path] for e in paths_info)
out["last_commit"] = [e.last_commit.title for e in api.get_paths_info(repo_id, ["README.md"], expand=True)]
out["noop"] = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message="same files").oid
api.create_branch(repo_id, branch="dev")
api.upload_file(path_or_fileobj=b"dev only", path_in_repo="dev.txt", repo_id=repo_id, revision="dev")
out["dev_file"] = pathlib.Path(hf_hub_download(repo_id, "dev.txt", revision="dev")).read_text()
out["main_has_dev_file"] = api.file_exists(repo_id, "dev.txt")
out["branches"] = sorted(b.name for b in api.list_repo_refs(repo_id).branches)
out["by_commit_id"] = pathlib.Path(hf_hub_download(repo_id, "nested/a.json", revision=commit.oid)).read_text()
api.delete_file("empty.txt", repo_id)
out["deleted"] = not api.file_exists(repo_id, "empty.txt")
api.create_tag(repo_id, tag="v1", revision=commit.oid)
out["by_tag"] = pathlib.Path(hf_hub_download(repo_id, "empty.txt", revision="v1")).read_bytes().decode()
pr = api.upload_file(path_or_fileobj=b"proposal", path_in_repo="pr.txt", repo_id=repo_id, create_pr=True)
out["pr_url"] = pr.pr_url
out["pr_file"] = pathlib.Path(hf_hub_download(repo_id, "pr.txt", revision="refs/pr/1")).read_text()
api.delete_branch(repo_id, branch="dev")
refs = api.list_repo_refs(repo_id, include_pull_requests=True)
out["refs_after"] = [[r.name for r in refs.branches], [r.name for r in refs.tags], [r.ref for r in refs.pull_requests]]
resolve_url = f"{api.endpoint}/{repo_id}/resolve/main/weights.safetensors"
ranged = get_session().get(resolve_url, headers={**build_hf_headers(), "Range": "bytes=2-5"})
out["range"] = [ranged.status_code, ranged.headers["Content-Range"], list(ranged.content)]

def error_of(call):
    try:
        call()
    except Exception as error:
        status = getattr(getattr(error, "response", None), "status_code", None)
        return [type(error).__name__, status]
    return None

anonymous = HfApi(token=False)
api.create_repo("secret", private=True)
out["errors"] = {
    "missing_repo": error_of(lambda: hf_hub_download(f"{out['whoami']}/missing", "README.md")),
    "missing_revision": error_of(lambda: hf_hub_download(repo_id, "README.md", revision="v9")),
    "missing_file": error_of(lambda: hf_hub_download(repo_id, "nope.txt")),
    "missing_tree_path": error_of(lambda: list(api.list_repo_tree(repo_id, path_in_repo="nope"))),
    "foreign_namespace": error_of(lambda: api.create_repo("someone-else/x")),
    "anonymous_create": error_of(lambda: anonymous.create_repo("anon")),
    "anonymous_private": error_of(lambda: anonymous.model_info(f"{out['whoami']}/secret")),
    "stale_parent": error_of(
        lambda: api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id, parent_commit=commit.oid)
    ),
    "invalid_card": error_of(
        lambda: api.upload_file(path_or_fileobj=b"---\ntags: 3\n---\n", path_in_repo="README.md", repo_id=repo_id)
    ),
}
out["private_visible_to_owner"] = api.model_info(f"{out['whoami']}/secret").private
api.delete_repo(f"{out['whoami']}/secret")
out["deleted_repo_exists"] = api.repo_exists(f"{out['whoami']}/secret")
print("RESULT:", json.dumps(out))
"""


@pytest.fixture(scope="module")
def protocol(hub, make_hub_client, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("protocol")
    client = make_hub_client(workdir)
    stdout = client(PROTOCOL_SCRIPT.replace("FILES_HEX", repr(json.dumps({k: v.hex() for k, v in FILES.items()}))))
    return {"out": client_result(stdout), "client": client, "workdir": workdir}


def test_git_object_ids_match_git():
    # Reference ids computed by git itself (`git hash-object`, `git write-tree`); the tree mixes a folder "sub", a
    # file "sub-x" and a folder "sub2", whose order differs between plain and git sorting.
    assert git_blob_id(b"Hello, World!") == "b45ef6fec89518d314f546fd6c3025367b721684"
    files = {
        "a.txt": git_blob_id(b"hello"),
        "sub/b.bin": git_blob_id(bytes(range(256)) * 10),
        "sub2/z": git_blob_id(b"z\n"),
        "sub-x": git_blob_id(b"y\n"),
    }
    assert git_tree_id(files) == "274851377cf33dcd6ffa6b4a4b1067907623ada6"


def test_repo_create_and_commit(protocol, hub):
    out = protocol["out"]
    assert out["whoami"] == DEFAULT_USER
    assert out["repo_id"] == f"{DEFAULT_USER}/protocol"
    assert re.fullmatch(r"[0-9a-f]{40}", out["commit"])
    assert out["info_sha"] == out["commit"]
    # The files arrived byte for byte (binary files inline in the NDJSON commit, base64), with git blob ids.
    stored = hub.repo_files(out["repo_id"], revision=out["commit"])
    assert {k: v for k, v in stored.items() if k != ".gitattributes"} == FILES
    expected_siblings = {name: [len(content), git_blob_id(content)] for name, content in stored.items()}
    assert out["siblings"] == expected_siblings
    assert out["card_license"] == "mit"


def test_download_snapshot_and_listing(protocol):
    out = protocol["out"]
    assert all(out["downloads_equal"].values()) and set(out["downloads_equal"]) == set(FILES)
    assert out["snapshot"] == sorted([".gitattributes", *FILES])
    assert out["tree"] == [".gitattributes", "README.md", "empty.txt", "nested", "weights.safetensors"]
    assert out["tree_recursive"] == sorted([".gitattributes", *FILES, "nested", "nested/deep"])
    assert out["tree_nested"] == ["nested/a.json", "nested/deep"]
    assert out["paths_info"] == [["RepoFile", "empty.txt"], ["RepoFolder", "nested"]]
    assert out["last_commit"] == ["first upload"]


def test_revisions_branches_and_noop_commits(protocol, hub):
    out = protocol["out"]
    assert out["noop"] == out["commit"], "re-uploading identical files must not create a commit"
    assert out["dev_file"] == "dev only"
    assert out["main_has_dev_file"] is False
    assert out["branches"] == ["dev", "main"]
    assert out["by_commit_id"] == '{"a": 1}'
    assert out["deleted"] is True
    assert out["by_tag"] == ""  # the tag still points at the first upload, where empty.txt exists
    assert out["pr_url"].endswith(f"/{out['repo_id']}/discussions/1")
    assert out["pr_file"] == "proposal"
    assert out["refs_after"] == [["main"], ["v1"], ["refs/pr/1"]]
    assert out["range"] == [206, f"bytes 2-5/{len(FILES['weights.safetensors'])}", [2, 3, 4, 5]]
    # main: initial commit -> first upload -> delete, each the parent of the next.
    repo = hub.repos[("model", out["repo_id"])]
    head = repo.commits[repo.branches["main"]]
    assert repo.commits[head.parent].sha == out["commit"]
    assert repo.commits[repo.commits[head.parent].parent].title == "initial commit"


def test_errors_match_the_hub(protocol):
    errors = protocol["out"]["errors"]
    assert errors["missing_repo"] == ["RepositoryNotFoundError", 404]
    assert errors["missing_revision"] == ["RevisionNotFoundError", 404]
    assert errors["missing_file"] == ["RemoteEntryNotFoundError", 404]
    assert errors["missing_tree_path"] == ["RemoteEntryNotFoundError", 404]
    assert errors["foreign_namespace"] == ["HfHubHTTPError", 403]
    assert errors["anonymous_create"] == ["HfHubHTTPError", 401]
    assert errors["anonymous_private"] == ["RepositoryNotFoundError", 401]
    assert errors["stale_parent"] == ["HfHubHTTPError", 412]
    assert errors["invalid_card"] == ["ValueError", None]
    assert protocol["out"]["private_visible_to_owner"] is True
    assert protocol["out"]["deleted_repo_exists"] is False


def test_offline_mode_reads_the_cache_and_sends_nothing(protocol, hub, tmp_path):
    out, client = protocol["out"], protocol["client"]
    # Pinned to the first commit: main has moved on since (the cache learnt it from the last 404's X-Repo-Commit).
    script = f"""
import pathlib
from huggingface_hub import hf_hub_download, snapshot_download
print(pathlib.Path(hf_hub_download("{out["repo_id"]}", "nested/a.json", revision="{out["commit"]}")).read_text())
print(len(list(pathlib.Path(snapshot_download("{out["repo_id"]}", revision="{out["commit"]}")).rglob("*"))) > 0)
"""
    before = hub.request_count()
    assert client(script, HF_HUB_OFFLINE="1").split() == ['{"a":', "1}", "True"]
    assert hub.requests_since(before) == []

    empty_cache = f"""
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import LocalEntryNotFoundError
try:
    hf_hub_download("{out["repo_id"]}", "nested/a.json")
except LocalEntryNotFoundError:
    print("not cached")
"""
    assert client(empty_cache, hf_home=tmp_path / "empty", HF_HUB_OFFLINE="1").strip() == "not cached"
