"""One run at a time in an output folder.

`citrus finetune` checks its `--output-dir` once, before any work, and writes it at the end. Two runs started into
the same new folder at once (a shell loop over seeds with `&` and one folder) both passed the check, shared and
deleted each other's Trainer scratch, and the one that ended last replaced the other's model and records; both said
"Saved". A lock file, held with the kernel's lock (`flock`) from before the check to the end of the run, makes the
second run refuse at once. The kernel frees it when the run's process ends, however it ends: a lock left by a run
that was killed is taken over, and a live run's never is, whatever its file holds at that moment (the run's JSON,
written after the file is created, names the holder in the refusal).

A run that holds the lock is the only run of ours writing the folder, so the hidden staging folders and partial files
of ours found there as it takes the lock were left by a run that was killed (they are removed when a run ends or
fails, not when its process is killed): the lock removes them, naming them in one warning, rather than leaving them
to pile up (a model's weights each).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from .._files import PARTIAL_FILES

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

# Windows asks whether a process runs through its own calls: there `os.kill(pid, 0)` sends signal 0, CTRL_C_EVENT,
# a Ctrl+C to the processes of the console (this run too), instead of checking without sending anything.
_WINDOWS = sys.platform == "win32"
# OpenProcess's rights to ask whether a process has ended (`_alive_on_windows`) and what it says when it cannot.
_SYNCHRONIZE, _PROCESS_QUERY_LIMITED_INFORMATION = 0x00100000, 0x1000
_ERROR_ACCESS_DENIED = 5

# In the output folder while a run writes it.
LOCK_NAME = ".citrus-run.lock"
# This process's own mark in the locks it takes: a lock that names this process id but another mark was left by an
# earlier process that had the same id (a container restarted with the same host name and process ids).
_PROCESS_MARK = uuid.uuid4().hex

logger = logging.getLogger(__name__)


def _alive(pid: int) -> bool:
    """Whether a process `pid` runs on this machine (signal 0 checks without sending anything)."""
    if _WINDOWS:
        return _alive_on_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _alive_on_windows(pid: int) -> bool:
    """Whether a process `pid` runs on this Windows machine: whether a handle to it, if one can be opened, is not yet
    signalled (a process's handle is once it has ended, even while others still hold it open)."""
    import _winapi

    try:
        handle = _winapi.OpenProcess(_SYNCHRONIZE | _PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    except OSError as error:  # no such process (ERROR_INVALID_PARAMETER), or someone else's (access denied: alive)
        return getattr(error, "winerror", None) == _ERROR_ACCESS_DENIED
    try:
        return _winapi.WaitForSingleObject(handle, 0) == _winapi.WAIT_TIMEOUT
    finally:
        _winapi.CloseHandle(handle)


def _holder(lock: Path) -> dict | None:
    """The run that `lock` names (`{"pid", "host", "mark", "command", "started"}`) when no run holds its kernel lock, or
    None when the lock is stale: its process is gone on this machine (or the process id is now this process's, under
    another mark), or the file is unreadable (a run killed before it wrote it). A live run named here took no kernel
    lock (an earlier release of the package), or runs on another machine, whose lock a shared folder may not share."""
    holder = _recorded_holder(lock)
    try:
        pid, host = int(holder["pid"]), str(holder["host"])
    except (KeyError, TypeError, ValueError):
        return None
    if host == socket.gethostname():
        if not _alive(pid) or (pid == os.getpid() and holder.get("mark") != _PROCESS_MARK):
            return None
    return holder


def _kernel_lock(descriptor: int) -> bool:
    """Take the kernel's exclusive lock on the open lock file, without waiting: False when another run holds it.

    The kernel releases it when the holder's process ends, however it ends, so a held lock is a live run's and a free
    one nobody's: the file's content alone could not tell (it was written after the file was created, and two runs
    that read a killed run's lock as stale both took it, one deleting the other's fresh lock)."""
    if fcntl is None:  # Windows: no flock; the lock's content is all there is to go by
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _still_in_place(descriptor: int, lock: Path) -> bool:
    """Whether `lock` still names the file open as `descriptor`: a run that ended removed its lock between this run's
    open and its kernel lock, and a lock on that removed file would hold nothing (a third run creates a new one)."""
    try:
        return os.path.samestat(os.fstat(descriptor), os.stat(lock))
    except FileNotFoundError:
        return False


def _refusal(folder: Path, lock: Path, holder: dict | None, live: bool, flag: str, takeover: str | None) -> str:
    """The message of a run refused `folder` (given as `flag`): `holder` as its lock names it (None while the holder
    is writing it); `live`: the kernel lock says that run is alive, so only its end frees the folder; `takeover`: the
    refused command's option that takes over another machine's lock (None: it has none, deleting the lock is all)."""
    who = ""
    if holder is not None:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder.get("started", 0))))
        who = (
            f" ({holder.get('command', 'citrus')}, process {holder.get('pid')} on {holder.get('host')}, "
            f"started {started})"
        )
    if live:
        fix = "wait for it to end"
    elif holder is not None and holder.get("host") != socket.gethostname():
        # (`citrus export` and `citrus data build` have no --overwrite-output-dir: naming it sent users to an error)
        take_over = f"pass {takeover} (or delete {lock})" if takeover else f"delete {lock}"
        fix = f"if it is no longer running there, {take_over}"
    else:
        fix = f"if no such run is alive, delete {lock}"
    return f"{flag} {str(folder)!r} is being written by another run{who}; give this run another {flag}, or {fix}."


def _recorded_holder(lock: Path) -> dict | None:
    """The run that `lock` names, as written, or None while its holder has not written it yet."""
    try:
        holder = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _take(folder: Path, lock: Path, command: str, overwrite: bool, flag: str, takeover: str | None) -> int:
    """Open `lock` and hold the kernel's lock on it for this process, taking over a stale one (and, with `overwrite`,
    one written on another machine, whose process cannot be checked from here).

    Returns:
        The open lock file's descriptor: the lock lasts until it is closed (`_release`).

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
    for _ in range(3):  # again when the lock opened was removed by the run that held it as this one took it
        opened = _open_lock(folder, lock, flag)
        if opened is None:
            continue
        descriptor, writable = opened
        try:
            if not _kernel_lock(descriptor):
                raise ValueError(_refusal(folder, lock, _recorded_holder(lock), True, flag, takeover))
            if not _still_in_place(descriptor, lock):
                os.close(descriptor)
                continue
            holder = _holder(lock)
            if holder is not None and not (holder["host"] != socket.gethostname() and overwrite):
                raise ValueError(_refusal(folder, lock, holder, False, flag, takeover))
            if not writable:  # a stale lock of another user's run: replaced by one of this run's own
                try:
                    lock.unlink()
                except PermissionError:  # a folder whose sticky bit keeps each user's files to that user, as /tmp's
                    raise ValueError(
                        f"{flag} {str(folder)!r} holds a lock {lock} left by another user's run that is no longer "
                        f"alive, which this user may not delete; give this run another {flag}, or ask its owner to "
                        "delete it."
                    ) from None
                os.close(descriptor)
                continue
            os.ftruncate(descriptor, 0)
            os.lseek(descriptor, 0, os.SEEK_SET)  # (`os.pwrite` does both in one call, but Windows has none)
            os.write(descriptor, json.dumps(record).encode("utf-8"))
            return descriptor
        except BaseException:
            os.close(descriptor)
            raise
    raise ValueError(f"{flag} {str(folder)!r} was taken by another run as this one started; try again.")


def _open_lock(folder: Path, lock: Path, flag: str) -> tuple[int, bool] | None:
    """Open `lock`, created if there is none, for writing where this user may write it, else (a lock of another
    user's run in a folder users share) for reading, which the kernel lock needs no more. Returns the descriptor and
    whether it is open for writing, or None when the lock was removed between the two tries (its run ended).

    Raises:
        ValueError: the lock is another user's, unreadable to this one (written under `umask 077`).
    """
    try:
        # 0o666 less the umask, as every file of the package: under a group's umask (002) its members share the lock
        return os.open(lock, os.O_CREAT | os.O_RDWR, 0o666), True
    except PermissionError:
        pass
    try:
        return os.open(lock, os.O_RDONLY), False
    except FileNotFoundError:
        return None
    except PermissionError:
        raise ValueError(
            f"{flag} {str(folder)!r} holds another user's run lock {lock}, which this user cannot read; give this run "
            f"another {flag}, or, if that user's run is no longer alive, delete {lock}."
        ) from None


def _release(descriptor: int, lock: Path) -> None:
    """Remove `lock` (if it is still this run's file), then close it, which frees the kernel lock: removed first, so
    that a run waiting on this file finds it gone and opens the next one (`_still_in_place`). Without a kernel lock
    (Windows, which also refuses to delete a file that is open) it is closed first."""
    ours = False
    try:
        ours = _still_in_place(descriptor, lock)
        if ours and fcntl is not None:
            lock.unlink(missing_ok=True)
    finally:
        os.close(descriptor)
    if ours and fcntl is None:
        try:
            lock.unlink(missing_ok=True)
        except PermissionError:
            # another run has the file open this instant, reading it to refuse: Windows refuses the delete. The lock
            # is left, and reads as stale once this process has ended (a finished run ended in a traceback).
            pass


@contextlib.contextmanager
def output_folder_lock(
    folder: str | os.PathLike,
    command: str,
    launch=None,
    overwrite: bool = False,
    flag: str = "--output-dir",
    leftovers: tuple[str, ...] = (),
    takeover: str | None = None,
) -> Iterator[None]:
    """Hold `folder`'s run lock while the block runs. The folder is created if need be (with its missing parents), and
    removed again at the end if the run left it empty, with the parents it created that hold nothing else: a refused
    `--output-dir runs/new/a` left `runs/new` behind. Under a launch of several processes (`launch`, Accelerate's state)
    the main process takes the lock and every process learns whether it could, so that a refused run ends alike on all
    of them (the others waited at the next barrier for a process that had left, and ended in a long traceback).
    `overwrite` (`--overwrite-output-dir`) also takes over a lock held on another machine, whose process cannot be
    checked. `flag`: the command's option that named `folder`, as refusals name it; `takeover`: its option that sets
    `overwrite`, which the refusal of another machine's lock names (None: the command has none, and the refusal names
    the lock to delete). `leftovers`: `fnmatch` patterns of the names the command stages its output under in `folder`
    (its hidden folders): those found once the lock is taken, and the package's partial files (`_files.PARTIAL_FILES`),
    are a killed run's and are removed, with a warning.

    Raises:
        ValueError: another live run holds the lock (naming its command, process, machine and start).
    """
    folder = Path(folder).expanduser()
    main = launch is None or launch.is_main_process
    created, lock, refusal, descriptor = [], folder / LOCK_NAME, None, None
    if main:
        created = _missing_folders(folder)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = _take(folder, lock, command, overwrite, flag, takeover)
        except ValueError as error:
            refusal = str(error)
        else:
            _remove_leftovers(folder, (*leftovers, PARTIAL_FILES))
    if launch is not None:
        from accelerate.utils import broadcast_object_list

        refusal = broadcast_object_list([refusal], from_process=0)[0]
    if refusal is not None:
        _remove_if_empty(created)
        raise ValueError(refusal)
    try:
        yield
    finally:
        if descriptor is not None:
            _release(descriptor, lock)
            _remove_if_empty(created)


def _remove_leftovers(folder: Path, patterns: tuple[str, ...]) -> None:
    """Remove the entries of `folder` whose names match one of `patterns` (case-sensitively: only names of our own),
    naming them in one warning. Called with the folder's lock held, so no live run of ours is writing them."""
    removed = []
    for path in sorted(folder.iterdir()):
        if any(fnmatch.fnmatchcase(path.name, pattern) for pattern in patterns):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path.name)
    if removed:
        logger.warning(
            f"Removed {', '.join(removed)} from {folder}: left there by a run that was killed while it wrote the folder."
        )


def _missing_folders(folder: Path) -> list[Path]:
    """`folder` and those of its parents that do not exist yet, deepest first: what `mkdir(parents=True)` creates."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_if_empty(folders: list[Path]) -> None:
    """Remove the `folders` a run created (deepest first) as long as each is empty: the run left nothing in them, and
    nobody else put anything there meanwhile (`rmdir` refuses a folder that holds something)."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


__all__ = ["LOCK_NAME", "output_folder_lock"]
