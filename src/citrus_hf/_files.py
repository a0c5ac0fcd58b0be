"""Files written whole or not at all: the one way every writer of the package replaces a file (a cached ONNX graph,
`citrus predict`'s output, an evaluation's run log, an extracted archive member, a download).

The content goes to a new hidden file beside the target (the same file system, so that `os.replace` swaps it in at
once), named with random bytes and created exclusively: two processes writing the same target (two `citrus` runs
into one folder, two workers filling one cache) each get their own, where a fixed `name.partial` was shared and one
run's bytes ended up inside the other's file. Plain Python: the lowest layer, imported by every other.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The name of every `new_partial_file` (`.{stem}-{12 hex digits}{suffix}.partial`, also the name its copy in
# inference/backends.py gives), as `fnmatch` reads it: one found in a folder no live writer holds (an output folder
# under its run lock) was left by a process that was killed.
PARTIAL_FILES = ".*-" + "[0-9a-f]" * 12 + "*.partial"


def new_partial_file(path: str | os.PathLike) -> str:
    """Create a new empty file beside `path`, hidden and its own (`.{stem}-{random}{suffix}.partial`), and return its
    name. Created as `open()` creates a file, 0o666 less the umask (`mkstemp`'s 0600 made the model's weights
    unreadable to others under the usual umask), and exclusively, so two writers never share it; created now, so that
    a folder that cannot be written is reported before the work that fills the file. No recording reader takes the
    `.partial` suffix, so a folder of recordings never reads it as one."""
    path = Path(path)
    partial = str(path.with_name(f".{path.stem}-{os.urandom(6).hex()}{path.suffix}.partial"))
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return partial


@contextmanager
def written_then_renamed(path: str | os.PathLike) -> Iterator[str]:
    """A `new_partial_file` beside `path` for the block to write `path`'s content to: renamed onto `path` when the
    block ends, removed when it raises. A write that fails (a full disk) or is interrupted (Ctrl-C) leaves neither a
    partial `path` nor the temporary file, and readers of `path` never see half a file."""
    partial = new_partial_file(path)
    try:
        yield partial
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


@contextmanager
def written_into_folder(folder: str | os.PathLike, prefix: str, last: str | None = None) -> Iterator[Path]:
    """A hidden folder inside `folder` (named `prefix` + random) for the block to write a set of files into, each moved
    into `folder` (`os.replace`, replacing files of the same names) when the block ends, `last` after the others (the
    file whose presence says the set is whole: a run's records, a deployment's graph); removed with its files when
    the block raises. A write that fails part-way or a process killed meanwhile leaves `folder` as it was, never one
    new file beside the earlier set's others. A killed process's hidden folder matches `prefix` + `*`, which the run
    lock removes (`output_folder_lock(leftovers=...)`)."""
    with tempfile.TemporaryDirectory(dir=folder, prefix=prefix) as scratch:
        staged = Path(scratch)
        yield staged
        for path in sorted(staged.iterdir(), key=lambda path: path.name == last):
            os.replace(path, Path(folder) / path.name)


def replace_text(path: str | os.PathLike, text: str) -> None:
    """Replace `path`'s contents with `text` (UTF-8) at once: a process killed meanwhile leaves the old file or the
    new one, never half of either."""
    with written_then_renamed(path) as partial:
        Path(partial).write_text(text, encoding="utf-8")


def replace_bytes(path: str | os.PathLike, data: bytes) -> None:
    """`replace_text` for bytes."""
    with written_then_renamed(path) as partial:
        Path(partial).write_bytes(data)
