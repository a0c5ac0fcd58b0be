"""Errors raised by :mod:`citrus_hf.data`.

Every error names the file (or URL) at fault and says how to fix the problem, so that a user never has to read a
stack trace from MNE, pickle or pip to find out what went wrong.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
from collections.abc import Iterator


class CitrusDataError(Exception):
    """Base class of every error raised by the data layer."""


class ArchiveMissingError(CitrusDataError, FileNotFoundError):
    """An offline archive (a PyPI wheel or sdist holding real recordings) is not in the cache."""


class ChecksumError(CitrusDataError, ValueError):
    """A downloaded or cached file does not have the checksum recorded in the registry."""


class OfflineError(CitrusDataError, ConnectionError):
    """A download was needed but the network (or the server) cannot be reached, or offline mode is on."""


class UnsafePickleError(CitrusDataError, pickle.UnpicklingError):
    """A pickle refers to something other than plain numpy arrays and containers."""


class CorruptFileError(CitrusDataError, ValueError):
    """A recording file is truncated, malformed or not in the expected layout."""


class ModalityChannelsError(CitrusDataError, ValueError):
    """A recording file that holds several modalities whose channels cannot be told apart by their names: a modality
    no channel names, or a channel that names two."""


class ChannelNamesError(CitrusDataError, ValueError):
    """The files of a labelled set that cannot be matched channel by channel by name: one that could name its channels
    and names none beside files that name theirs, or a file of other channels."""


class SamplingRateError(CitrusDataError, ValueError):
    """A sound recording file whose rates do not fit how it is read: signals at several rates and no channels of one
    rate chosen, time stamps that step at another rate than the one given, or its own rate contradicted by the one
    given. A run over several files leaves it out (`citrus predict`), as it leaves out a damaged one."""


class LabelColumnError(CitrusDataError, ValueError):
    """Labels or recording ids a label budget or a validation carve cannot read: not one per example (multi-hot rows),
    or class labels that are missing (None, NaN)."""


class UnreadableFileError(CitrusDataError, PermissionError):
    """A recording file the user may not read (no read permission: `chmod 000`, another user's file). A run over
    several files leaves it out (`citrus predict`), as it leaves out a damaged one.

    A `PermissionError` whose ``errno``, ``strerror`` and ``filename`` are those of the error met opening the file, as
    `except PermissionError as error: error.filename` expects (they were None); its text is the package's one line."""

    def __init__(
        self,
        message: str,
        errno: int | None = None,
        strerror: str | None = None,
        filename: str | os.PathLike | None = None,
    ):
        super().__init__(message)
        self.errno, self.strerror, self.filename = errno, strerror, filename

    def __str__(self) -> str:
        # OSError's own text is "[Errno 13] Permission denied: 'path'" once `filename` is set, not the message
        return str(self.args[0]) if self.args else ""

    def __reduce__(self):
        # OSError pickles (errno, strerror, filename) as the arguments once they are set: the message would be lost
        # when a worker process sends the refusal back (`datasets`' num_proc). The instance's own attributes too, as
        # `BaseException.__reduce__` keeps them: a note a caller added (`add_note`) was lost by `copy` and `pickle`
        return type(self), (str(self), self.errno, self.strerror, self.filename), self.__dict__ or None


def unreadable_file(path: str | os.PathLike, error: PermissionError) -> UnreadableFileError:
    """The `UnreadableFileError` for the `PermissionError` met opening the recording file `path`: in a reader's
    words it was "not a valid .npy file" or a WAV file to "re-export", and an EDF or CSV file's stopped `citrus
    predict` over a folder with Python's own traceback."""
    return UnreadableFileError(
        f"{path} cannot be read ({error.strerror or error}): give your user read permission on it (`chmod u+r "
        f"{path}`, or ask its owner), or leave it out.",
        errno=error.errno,
        strerror=error.strerror,
        filename=error.filename if error.filename is not None else os.fspath(path),
    )


def check_readable(path: str | os.PathLike) -> None:
    """Refuse a recording file that cannot be opened for reading (`unreadable_file`), before a reader of its format
    takes that for a damaged file. A path that is no file (a WFDB record named without its suffix) is left to the
    reader."""
    if not os.path.isfile(path):
        return
    try:
        with open(path, "rb"):
            pass
    except PermissionError as error:
        raise unreadable_file(path, error) from None


# The errors by which reading refuses one recording file, which a run over many files leaves out and goes on from
# (`citrus predict`): damaged, rates that do not fit how it is read, a pickle that would run code, or a file the user
# may not read. The last two are no ValueError: left out of a list of the first two, one such file among a folder's
# stopped the whole run.
RECORDING_REFUSALS = (CorruptFileError, SamplingRateError, UnsafePickleError, UnreadableFileError)


def told_by_generator(error: BaseException) -> BaseException | None:
    """What a generator raised beneath `datasets`' `DatasetGenerationError` ("An error occurred while generating the
    dataset") where it already says what is wrong and how to fix it: one of the package's data errors or a
    `ValueError` (a reader's refusal of a file, a builder's of an option); None for any other, whose wrapped
    traceback is the useful part (a bug in the generator's code). The caller raises it outside its `except` block
    (`raise told`), so that the error keeps its own cause (a reader's `from error`: the struct, zip or JSON error
    beneath a damaged file) and is not chained to datasets' wrapper: `raise told from None` cut that cause too."""
    told = error.__cause__
    return told if isinstance(told, (CitrusDataError, ValueError)) else None


@contextlib.contextmanager
def naming_unwritable_cache(cache_dir: str | os.PathLike | None = None) -> Iterator[None]:
    """Turn a `PermissionError` (EACCES, EPERM) or a read-only file system (EROFS) met while `datasets` writes its
    cache into one line naming the cache folder and the fix: `datasets` fails on a lock or temporary file deep inside
    itself, and its message named neither the variable nor what to do (a shared or read-only cache, a read-only
    $HOME). `cache_dir`: the cache being written (default: `datasets`' own, ``$HF_DATASETS_CACHE``)."""
    try:
        yield
    except OSError as error:
        if not isinstance(error, PermissionError) and error.errno != errno.EROFS:
            raise
        if cache_dir is None:
            import datasets

            cache_dir = datasets.config.HF_DATASETS_CACHE
        reason = "is on a read-only file system" if error.errno == errno.EROFS else "cannot be written"
        raise OSError(
            f"The datasets cache {cache_dir} {reason} ({error.strerror or error}: {error.filename}); point "
            "$HF_DATASETS_CACHE (or $HF_HOME) at a writable folder: HF_DATASETS_CACHE=/path/to/writable/folder."
        ) from None
