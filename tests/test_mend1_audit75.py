"""Audit 75, two leftovers of this session's data work mended (mend1): a CSV's marker row stamped a step before the
first sample was told from a lost first sample by the channels picked, and a labelled folder whose first file names
no channels beside files that name theirs passed where the other order was refused.

The signal is real where data matters: MIT-BIH Arrhythmia record 208 (lead MLII, 360 Hz, mV), as the tests of
`test_datanoticed_audit75` write it.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_datanoticed_audit75 import _marked_csv

from citrus_hf.data.readers import read_recording

# ------------------------------------------------------- 1. a marker row's reading does not hang on the channels picked


@pytest.mark.parametrize("channels", [["ECG"], ["ECG", "RESP"]])
def test_a_marker_row_before_the_first_sample_is_left_out_whatever_channels_are_read(tmp_path, channels):
    """'0.00,,,blink' holds no number in any signal column: read for ECG alone it was left out (40 samples), read for
    ECG and RESP it was a lost first sample (41, a NaN first, every sample a step late)."""
    recording = read_recording(
        _marked_csv(tmp_path / "marked.csv", "0.00,,,blink"), channels=channels, sampling_rate=100
    )
    assert recording.data.shape == (len(channels), 40)
    np.testing.assert_array_equal(recording.data[0], np.arange(40))
    if len(channels) == 2:
        np.testing.assert_array_equal(recording.data[1], 500 + np.arange(40) % 7)
