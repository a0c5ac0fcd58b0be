"""Errors raised by :mod:`citrus_hf.data`.

Every error names the file (or URL) at fault and says how to fix the problem, so that a user never has to read a
stack trace from MNE, pickle or pip to find out what went wrong.
"""

from __future__ import annotations

import pickle


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
