"""R data files (``.rda`` / ``.RData``, written by R's ``save()``; e.g. the data of the wavethresh package):
:func:`read_r_data`.

Parsed here with the standard library and numpy (no R, no extra package): R's XDR serialization, for the objects
data files hold (atomic vectors, character vectors, lists, pairlists); anything else (closures, environments, byte
code) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError
from ._common import _as_path

_R_NA_INTEGER = -(2**31)


@dataclass
class RObject:
    """A value read from an R data file: ``value`` (numpy array for atomic vectors, list of str for character
    vectors, list for lists) and its R ``attributes`` (e.g. ``names``, ``tsp``, ``class``)."""

    value: object
    attributes: dict[str, object] = field(default_factory=dict)


class _RXdrReader:
    """R's serialization format 2 / 3 in XDR (big-endian), for the objects data files hold: atomic vectors,
    character vectors, lists, pairlists with tags and attributes. Anything else (closures, environments, byte code)
    is refused."""

    _TYPES = {10: "logical", 13: "integer", 14: "double", 16: "character", 19: "list", 2: "pairlist"}

    def __init__(self, data: bytes, name: str):
        self.data, self.pos, self.name, self.refs = data, 0, name, []

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise CorruptFileError(f"{self.name} ends in the middle of an R object (truncated).")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def integer(self) -> int:
        return int(np.frombuffer(self.take(4), dtype=">i4")[0])

    def length(self) -> int:
        length = self.integer()
        return (self.integer() << 32) + self.integer() if length == -1 else length

    def item(self):
        flags = self.integer()
        kind, has_attributes, has_tag = flags & 0xFF, bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind == 254:  # NILVALUE_SXP
            return None
        if kind == 255:  # REFSXP: a symbol seen before
            index = flags >> 8 or self.integer()
            return self.refs[index - 1]
        if kind == 1:  # SYMSXP
            symbol = self.item()
            self.refs.append(symbol)
            return symbol
        if kind == 9:  # CHARSXP
            length = self.integer()
            return None if length == -1 else self.take(length).decode("utf-8", errors="replace")
        if kind == 2:  # LISTSXP: a pairlist cell (attributes, tag, value, rest)
            attributes = self.attributes() if has_attributes else {}
            tag = self.item() if has_tag else None
            head = self.item()
            rest = self.item()
            cells = [(tag, head)] + (
                rest.value if isinstance(rest, RObject) and rest.attributes.get("pairlist") else []
            )
            return RObject(cells, {**attributes, "pairlist": True})
        if kind in (10, 13):
            values = np.frombuffer(self.take(4 * self.length()), dtype=">i4").astype(np.int64)
            value = np.where(values == _R_NA_INTEGER, np.nan, values) if (values == _R_NA_INTEGER).any() else values
        elif kind == 14:
            value = np.frombuffer(self.take(8 * self.length()), dtype=">f8").astype(np.float64)
        elif kind == 16:
            value = [self.item() for _ in range(self.length())]
        elif kind == 19:
            value = [self.item() for _ in range(self.length())]
        else:
            raise CorruptFileError(
                f"{self.name} holds an R object of type {kind}, which this reader does not read (it reads vectors, "
                "lists and pairlists); convert the data with R's write.csv, or read it with pyreadr."
            )
        return RObject(value, self.attributes() if has_attributes else {})

    def attributes(self) -> dict[str, object]:
        pairs = self.item()
        return {tag: value.value if isinstance(value, RObject) else value for tag, value in pairs.value}


def read_r_data(path: str | Path) -> dict[str, RObject]:
    """Read an R data file (``.rda`` / ``.RData``, written by ``save()``): {variable name: :class:`RObject`}.

    The file is gzip-, bzip2- or xz-compressed (or not), starts with ``RDX2`` / ``RDX3`` and holds R's XDR
    serialization of a pairlist of the saved variables.

    Raises:
        CorruptFileError: not an R data file, an ASCII or native-binary one (re-save it with ``save()``'s defaults),
            a truncated one, or objects other than vectors and lists.
    """
    import bz2
    import gzip
    import lzma

    path = _as_path(path)
    raw = path.read_bytes()
    for magic, decompress in ((b"\x1f\x8b", gzip.decompress), (b"BZh", bz2.decompress), (b"\xfd7zXZ", lzma.decompress)):
        if raw.startswith(magic):
            try:
                raw = decompress(raw)
            except (OSError, EOFError, ValueError, lzma.LZMAError) as error:
                raise CorruptFileError(f"{path} is a damaged compressed R data file ({error}).") from error
            break
    if raw[:5] not in (b"RDX2\n", b"RDX3\n"):
        raise CorruptFileError(f"{path} is not an R data file (it does not start with RDX2 / RDX3).")
    if raw[5:7] != b"X\n":
        kind = "ASCII" if raw[5:7] == b"A\n" else "native binary"
        raise CorruptFileError(
            f"{path} is an R data file in {kind} format; only XDR (R's default for save()) is read. Re-save it "
            "with save(..., ascii = FALSE)."
        )
    reader = _RXdrReader(raw[7:], str(path))
    version = reader.integer()
    reader.integer(), reader.integer()  # the writer's and the minimal reader's R versions
    if version == 3:
        reader.take(reader.integer())  # the native encoding
    elif version != 2:
        raise CorruptFileError(f"{path} uses R serialization format {version}; formats 2 and 3 are read.")
    saved = reader.item()
    if not isinstance(saved, RObject) or not saved.attributes.get("pairlist"):
        raise CorruptFileError(f"{path} does not hold a list of saved variables.")
    return {tag: value for tag, value in saved.value}
