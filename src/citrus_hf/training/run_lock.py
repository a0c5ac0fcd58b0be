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
import uuid
from collections.abc import Iterator
from pathlib import Path

# In the output folder while a run writes it.
LOCK_NAME = ".citrus-run.lock"
# This process's own mark in the locks it takes: a lock that names this process id but another mark was left by an
# earlier process that had the same id (a container restarted with the same host name and process ids).
_PROCESS_MARK = uuid.uuid4().hex


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
    """The run that holds `lock` (`{"pid", "host", "mark", "command", "started"}`), or None when the lock is stale:
    its process is gone on this machine (or the process id is now this process's, under another mark), or the file is
    unreadable (a run killed while writing it)."""
    try:
        holder = json.loads(lock.read_text(encoding="utf-8"))
        pid, host = int(holder["pid"]), str(holder["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if host == socket.gethostname():
        if not _alive(pid) or (pid == os.getpid() and holder.get("mark") != _PROCESS_MARK):
            return None
    return holder


def _take(folder: Path, lock: Path, command: str, overwrite: bool) -> None:
    """Create `lock` for this process, taking over a stale one (and, with `overwrite`, one held on another machine,
    whose process cannot be checked from here).

    Raises:
        ValueError: another run holds the lock.
    """
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "mark": _PROCESS_MARK,
        "command": command,
        "started": time.time(),
    }
    for _ in range(2):  # a second try after taking over a stale lock
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            elsewhere = holder is not None and holder["host"] != socket.gethostname()
            if holder is None or (elsewhere and overwrite):
                lock.unlink(missing_ok=True)
                continue
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder.get("started", 0))))
            fix = (
                f"if it is no longer running there, pass --overwrite-output-dir (or delete {lock})"
                if elsewhere
                else f"if no such run is alive, delete {lock}"
            )
            raise ValueError(
                f"--output-dir {str(folder)!r} is being written by another run ({holder.get('command', 'citrus')}, "
                f"process {holder['pid']} on {holder['host']}, started {started}); give this run another "
                f"--output-dir, or {fix}."
            ) from None
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        return
    raise ValueError(f"--output-dir {str(folder)!r} was taken by another run as this one started; try again.")


@contextlib.contextmanager
def output_folder_lock(folder: str | os.PathLike, command: str, launch=None, overwrite: bool = False) -> Iterator[None]:
    """Hold `folder`'s run lock while the block runs. The folder is created if need be, and removed again at the end
    if the run left it empty. Under a launch of several processes (`launch`, Accelerate's state) the main process
    takes the lock and every process learns whether it could, so that a refused run ends alike on all of them (the
    others waited at the next barrier for a process that had left, and ended in a long traceback). `overwrite`
    (`--overwrite-output-dir`) also takes over a lock held on another machine, whose process cannot be checked.

    Raises:
        ValueError: another live run holds the lock (naming its command, process, machine and start).
    """
    folder = Path(folder).expanduser()
    main = launch is None or launch.is_main_process
    created, lock, refusal = False, folder / LOCK_NAME, None
    if main:
        created = not folder.exists()
        folder.mkdir(parents=True, exist_ok=True)
        try:
            _take(folder, lock, command, overwrite)
        except ValueError as error:
            refusal = str(error)
    if launch is not None:
        from accelerate.utils import broadcast_object_list

        refusal = broadcast_object_list([refusal], from_process=0)[0]
    if refusal is not None:
        if main and created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise ValueError(refusal)
    try:
        yield
    finally:
        if main:
            lock.unlink(missing_ok=True)
            if created:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if the run left nothing in it


__all__ = ["LOCK_NAME", "output_folder_lock"]
