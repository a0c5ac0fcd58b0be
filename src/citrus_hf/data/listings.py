"""One listing of a folder per call. One load reads a folder's listing in many steps (its recordings, the files of
formats not read, the archives, the metadata tables, the labelled layout, a BIDS dataset's events tables), each of
which listed it again (ten walks of a labelled folder for `citrus finetune --dataset FOLDER`), and passing one
listing through every step threaded a keyword through seven functions. Within a `one_listing` scope, each listing of
a folder (`listed_once`: `recording_folders.files_under`, `bids`' events tables) is taken once and read by every step
of the call; outside any, every listing is taken afresh, so a folder changed between two calls is seen changed."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

# `{(what is listed, resolved folder): (the folder as first given, its listing)}` within a `one_listing` scope; None
# outside any. A context variable, as the notes a build says once are: a scope is one call's, in its own thread (a
# thread started within one lists afresh).
_LISTINGS: contextvars.ContextVar[dict[tuple[str, str], tuple[Path, list[Path]]] | None] = contextvars.ContextVar(
    "citrus_folder_listings", default=None
)


@contextlib.contextmanager
def memo_scope(memo: contextvars.ContextVar[dict | None]) -> Iterator[None]:
    """A scope within which the context variable `memo` (None outside any scope) holds one dict of what the call
    works out once and reads again (this module's listings, `builders`' plans and Hub notes); nested in another
    scope of the same `memo`, it is that scope. Reset on the way out, exceptions included."""
    if memo.get() is not None:
        yield
        return
    token = memo.set({})
    try:
        yield
    finally:
        memo.reset(token)


@contextlib.contextmanager
def one_listing() -> Iterator[None]:
    """A scope within which each listing of a folder (`listed_once`) is taken once: a second listing of the same folder
    (by its resolved path, however it is spelt) is the first one's, named by the folder as given the second time. The
    entry points that read a folder in several steps (`recording_folders.load_recording_folder` and
    `is_recording_folder`, `splits.load_task_splits` and `own_dataset_info`, `citrus predict`'s folders, `citrus data
    build FOLDER`, `citrus pretrain`'s corpus, `citrus evaluate`'s sets) take one; also a decorator
    (`@one_listing()`). Nested in another scope, it is that scope. Files added or removed within the scope are not
    seen in it: take one only around steps that read a folder, and `fresh_listings` around those within it that write
    to a folder they list.
    """
    with memo_scope(_LISTINGS):
        yield


@contextlib.contextmanager
def fresh_listings() -> Iterator[None]:
    """A scope within which every listing is taken afresh, inside a `one_listing` scope too: for steps that write into
    the folders they list (a registered set's build downloads into its data folder, then lists it)."""
    token = _LISTINGS.set(None)
    try:
        yield
    finally:
        _LISTINGS.reset(token)


@contextlib.contextmanager
def given_listing(kind: str, folder: str | os.PathLike, listed: Sequence[Path] | None) -> Iterator[None]:
    """A `one_listing` scope in which the `kind` listing of `folder` is `listed`, one a caller gives (the `listed=`
    keyword `recording_files` and the other public readers kept from before `one_listing`); no new scope for None."""
    if listed is None:
        yield
        return
    root = Path(folder)
    token = _LISTINGS.set({**(_LISTINGS.get() or {}), (kind, os.path.realpath(root)): (root, list(listed))})
    try:
        yield
    finally:
        _LISTINGS.reset(token)


def listed_once(kind: str, folder: str | os.PathLike, walk: Callable[[Path], list[Path]]) -> list[Path]:
    """`walk(folder)`, the `kind` listing of `folder` (paths under it): taken once within a `one_listing` scope and
    afresh outside any. A copy each time (a caller's edits of its list stay its own), named by the folder as this
    caller spelt it."""
    root = Path(folder)
    listings = _LISTINGS.get()
    if listings is None:
        return walk(root)
    key = (kind, os.path.realpath(root))
    if key not in listings:
        listings[key] = (root, walk(root))
    first_root, listed = listings[key]
    return list(listed) if first_root == root else [root / path.relative_to(first_root) for path in listed]


# What `files_under` lists (`listings.listed_once`): every file under a folder.
FILES_UNDER = "files"


def files_under(folder: str | os.PathLike) -> list[Path]:
    """Every file under `folder`, recursively, sorted, by the paths the folder lays out: a symlinked file or folder is
    followed and named by the link's own path (`corpus/subject1/0.npy` where `corpus/subject1` links to
    `/data/subject1`), as `datasets`' own file lists follow links. `Path.rglob` does not descend into a symlinked
    folder, so a corpus whose subjects were linked in was read as a fraction of itself, without a word. A link to a
    folder above it (a loop) is skipped with a warning naming it, and so is a link to a folder elsewhere in the set
    (`latest -> s3`), whose files are listed by their own paths; an unreadable subfolder is skipped as `rglob` skips
    it. A file or folder whose name starts with "." or "__" (`.ipynb_checkpoints/`, `.Trash-1000/`, `.DS_Store`,
    `__MACOSX/`) is hidden, as `datasets`' own listing of a folder hides it: Jupyter's autosaved copies were read as
    recordings of their own (only the names under `folder` are looked at: a hidden folder given is listed). Every
    listing of a set of the user's own (recordings, metadata, data files) goes through this one walk; within a
    `listings.one_listing` scope a folder is walked once.
    """
    return listed_once(FILES_UNDER, folder, _walked)


def folders_and_files_under(folder: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """The folders `files_under(folder)`'s walk enters (`folder` first) and the files it lists, walked afresh by the
    same rules (hidden names, links, loops): what a run reads, and where a file added or removed shows in its folder's
    times."""
    folders: list[Path] = []
    return folders, _walked(Path(folder), folders)


def _walked(root: Path, folders: list[Path] | None = None) -> list[Path]:
    """`files_under(root)`, walked afresh; every folder entered is appended to `folders` when given."""
    found: list[Path] = []

    def walk(directory: Path, ancestors: frozenset[str]) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError:
            return
        if folders is not None:
            folders.append(directory)
        for entry in entries:
            if is_hidden_name(entry.name):
                continue
            path = directory / entry.name
            try:
                is_dir = entry.is_dir()  # follows a link, as `is_file` below does
            except OSError:
                continue
            if not is_dir:
                if entry.is_file():
                    found.append(path)
                continue
            real = os.path.realpath(path)
            if real in ancestors:
                warn_once(
                    f"{path} links to {real}, a folder that holds it: a loop, so its files would be listed forever; "
                    "it is skipped (they are read once, from that folder)."
                )
                continue
            if entry.is_symlink() and _is_within(real, real_root):
                # `latest -> s3` beside `s3`: the walk lists those files by their own paths, and through the link
                # too one recording would be two examples, which could fall on both sides of a train / validation
                # split
                warn_once(
                    f"{path} links to {real}, a folder inside {root} whose files are listed by their own paths: it "
                    "is skipped, so that each recording is read once."
                )
                continue
            walk(path, ancestors | {real})

    real_root = os.path.realpath(root)
    if root.is_dir():
        walk(root, frozenset({real_root}))
    return sorted(found)


@functools.lru_cache(maxsize=128)
def warn_once(message: str, said_by: logging.Logger = logger) -> None:
    """`said_by.warning(message)` once per process: the data layer's notes of a folder's reading (a skipped link here,
    files left out in `recording_folders`), as transformers' `Logger.warning_once` says its own without this layer
    importing transformers. A command lists and reads a folder more than once (its summary, then its splits, each
    outside the other's `one_listing` scope), and the same note said each time reads as several problems."""
    said_by.warning(message)


def is_hidden_name(name: str) -> bool:
    """Whether a file or folder of this name is hidden from a listing of a set (`files_under`), as `datasets` hides
    it: names starting with "." or "__"."""
    return name.startswith((".", "__"))


def _is_within(path: str, folder: str) -> bool:
    """Whether the resolved `path` is `folder` (resolved) or lies under it."""
    return os.path.commonpath([path, folder]) == folder


__all__ = [
    "FILES_UNDER",
    "files_under",
    "fresh_listings",
    "given_listing",
    "folders_and_files_under",
    "is_hidden_name",
    "listed_once",
    "memo_scope",
    "one_listing",
    "warn_once",
]
