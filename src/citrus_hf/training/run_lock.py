"""One run at a time in an output folder.

`citrus finetune` checks its `--output-dir` once, before any work, and writes it at the end. Two runs started into
the same new folder at once (a shell loop over seeds with `&` and one folder) both passed the check, shared and
deleted each other's Trainer scratch, and the one that ended last replaced the other's model and records; both said
"Saved". A lock file, created atomically (`O_EXCL`) before the check and removed at the end, makes the second run
refuse at once. A lock left by a run that was killed (its process is gone) is taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

# In the output folder while a run writes it.
LOCK_NAME = ".citrus-run.lock"


def _alive(pid: int) -> bool:
    """Whether a process `pid` runs on this machine (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _holder(lock: Path) -> dict | None:
    """The run that holds `lock` (`{"pid", "host", "command", "started"}`), or None when the lock is stale: its
    process is gone on this machine, or the file is unreadable (a run killed while writing it)."""
    try:
        holder = json.loads(lock.read_text(encoding="utf-8"))
        pid, host = int(holder["pid"]), str(holder["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if host == socket.gethostname() and not _alive(pid):
        return None
    return holder


@contextlib.contextmanager
def output_folder_lock(folder: str | os.PathLike, command: str, takes_lock: bool = True) -> Iterator[None]:
    """Hold `folder`'s run lock while the block runs (`takes_lock` False: a launched run's other processes, whose main
    process holds it). The folder is created if need be, and removed again at the end if the run left it empty.

    Raises:
        ValueError: another live run holds the lock (naming its command, process, machine and start).
    """
    if not takes_lock:
        yield
        return
    folder = Path(folder).expanduser()
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    record = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "started": time.time()}
    for _ in range(2):  # a second try after taking over a stale lock
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if holder is None:
                lock.unlink(missing_ok=True)
                continue
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder.get("started", 0))))
            raise ValueError(
                f"--output-dir {str(folder)!r} is being written by another run ({holder.get('command', 'citrus')}, "
                f"process {holder['pid']} on {holder['host']}, started {started}); give this run another "
                f"--output-dir. If no such run is alive, delete {lock}."
            ) from None
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        break
    else:  # pragma: no cover - a third run took the stale lock between our two tries
        raise ValueError(f"--output-dir {str(folder)!r} was taken by another run as this one started; try again.")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if the run left nothing in it


__all__ = ["LOCK_NAME", "output_folder_lock"]
