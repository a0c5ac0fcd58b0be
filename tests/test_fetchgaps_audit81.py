"""Gaps a first mutation round of the fetching layer found (audit 81): what `download_url` reuses and keeps, and
what the checks of cached archives and extracted members remember, pinned where a weakened check passed every
test before.

No network: a local HTTP server on 127.0.0.1 (test_data_fetch's) and a `pip download` replaced by a copy of a local
zip (test_data_fetch's `fake_pip`).
"""

from __future__ import annotations

import http.server
import json
import os
import threading
import zipfile

import pytest
from test_data_fetch import _fake_archive, _online, _sha256, fake_pip, server  # noqa: F401

from citrus_hf.data import fetch
from citrus_hf.data.errors import ChecksumError, OfflineError


def test_an_existing_file_is_reused_only_when_its_checksum_is_given_and_matches(tmp_path, server):  # noqa: F811
    """The docstring: "An existing destination with the right checksum is reused without any network access". A file
    already there with other bytes, or with no checksum to check it by, is downloaded again."""
    srv = server({"/a.edf": b"served bytes"})
    destination = tmp_path / "a.edf"
    destination.write_bytes(b"stale bytes")
    fetch.download_url(srv.url + "/a.edf", destination, sha256=_sha256(b"served bytes"), progress=False)
    assert destination.read_bytes() == b"served bytes"
    destination.write_bytes(b"stale bytes")
    fetch.download_url(srv.url + "/a.edf", destination, progress=False)  # nothing to check it by: fetched again
    assert destination.read_bytes() == b"served bytes"


def test_a_download_the_server_cuts_short_is_an_offline_error_and_keeps_nothing(tmp_path):
    """http.client ends the read quietly when the server closes early: without a checksum the cut file would be kept
    as if whole. It is an OfflineError naming both byte counts, and nothing is written."""

    class CutShort(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's API
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CutShort)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/cut.edf"
        with pytest.raises(OfflineError, match=r"download cut short \(10 of 100 bytes\)"):
            fetch.download_url(url, tmp_path / "cut.edf", progress=False)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert list(tmp_path.iterdir()) == []


def test_a_cached_archive_replaced_by_a_file_of_the_same_size_is_checked_again(tmp_path, fake_pip):  # noqa: F811
    """A verified archive is not hashed again while its size and modification time stay; bytes replaced in place
    (same size, a new time) are: the checksum error, not the tampered bytes."""
    archive, source = _fake_archive(tmp_path)
    fake_pip["source"] = source
    cache = tmp_path / "cache"
    path = fetch.fetch_archive(archive, cache)
    assert fetch.archive_path(archive, cache) == path
    before = path.stat()
    path.write_bytes(b"X" * before.st_size)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    with pytest.raises(ChecksumError, match=f"expected sha256 {archive.sha256}"):
        fetch.archive_path(archive, cache)


def _zip_archive(tmp_path, fake_pip):  # noqa: F811
    """A registered-like archive: a real zip holding `pkg/a.txt`, fetched through the fake pip."""
    wheel = tmp_path / "served.zip"
    with zipfile.ZipFile(wheel, "w") as opened:
        opened.writestr("pkg/a.txt", "member bytes")
    archive, source = _fake_archive(tmp_path, content=wheel.read_bytes())
    fake_pip["source"] = source
    return archive


def test_a_member_extracted_before_its_manifest_entry_is_hashed_from_the_archive(tmp_path, fake_pip):  # noqa: F811
    """Members extracted before the manifest existed (or whose manifest was lost) are hashed from the verified
    archive once, as `extract_members` documents, then checked: an intact one is used, a changed one refused."""
    archive = _zip_archive(tmp_path, fake_pip)
    cache = tmp_path / "cache"
    fetch.fetch_archive(archive, cache)
    (path,) = fetch.extract_members(archive, ["pkg/a.txt"], cache).values()
    manifest = path.parents[1].with_name(path.parents[1].name + ".sha256.json")
    manifest.unlink()
    assert fetch.extract_members(archive, ["pkg/a.txt"], cache)["pkg/a.txt"].read_text() == "member bytes"
    assert json.loads(manifest.read_text()) == {"pkg/a.txt": _sha256(b"member bytes")}
    manifest.unlink()
    path.write_text("member bytez")
    with pytest.raises(ChecksumError, match="pkg/a.txt"):
        fetch.extract_members(archive, ["pkg/a.txt"], cache)
