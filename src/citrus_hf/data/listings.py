"""One listing of a folder per call. One load reads a folder's listing in many steps (its recordings, the files of
formats not read, the archives, the metadata tables, the labelled layout, a BIDS dataset's events tables), each of
which listed it again (ten walks of a labelled folder for `citrus finetune --dataset FOLDER`), and passing one
listing through every step threaded a keyword through seven functions. Within a `one_listing` scope, each listing of
a folder (`listed_once`: `recording_folders.files_under`, `bids`' events tables) is taken once and read by every step
of the call; outside any, every listing is taken afresh, so a folder changed between two calls is seen changed."""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

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


__all__ = ["fresh_listings", "given_listing", "listed_once", "memo_scope", "one_listing"]
