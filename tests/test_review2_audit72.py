"""Audit 72, second review of the session's changes (each test failed before its fix).

A CSV's empty or NA cells are now read as missing samples (NaN); in a time column such a cell is no time stamp, and
a NaN stamp made the check of the stamps against the rate given pass without a look. The clocks audit's fix (filled
stamps checked, tests/test_clocks_audit72.py) is the one kept; these tests guard the routes around it."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.readers import read_recording


def _timed_csv(tmp_path, rate: float, blank_row: int | None, cell: str = "") -> str:
    """A CSV of a time column stamped at `rate` Hz and one channel, its stamp in data row `blank_row` written as
    `cell` (a missing value)."""
    rows = [f"{index / rate:.3f},{np.sin(index / 5):.4f}" for index in range(300)]
    if blank_row is not None:
        rows[blank_row] = f"{cell},{rows[blank_row].split(',')[1]}"
    path = tmp_path / "timed.csv"
    path.write_text("time,ECG\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def test_a_time_column_missing_a_stamp_is_checked_with_channels_named_too(tmp_path):
    # (audit 73: a pick no longer skips the checks, tests/test_leftovers6_audit73.py; `check_time_stamps=False` does)
    with pytest.raises(Exception, match="50 Hz"):
        read_recording(_timed_csv(tmp_path, 50.0, blank_row=150), channels=["ECG"], sampling_rate=100.0)
    path = _timed_csv(tmp_path, 50.0, blank_row=150)
    recording = read_recording(path, channels=["ECG"], sampling_rate=100.0, check_time_stamps=False)
    assert recording.data.shape == (1, 300)


def test_a_whole_time_column_is_still_checked(tmp_path):
    with pytest.raises(Exception, match="50 Hz"):
        read_recording(_timed_csv(tmp_path, 50.0, blank_row=None), sampling_rate=100.0)
    assert read_recording(_timed_csv(tmp_path, 50.0, blank_row=None), sampling_rate=50.0).data.shape == (1, 300)


# A CSV without a header whose first row has a gap (pandas' `to_csv(header=False, index=False)` of a NaN there): its
# first row was taken for a header because one cell was no number, so the first sample became the channel names and
# the gap's column, named "", was left out as "a row index" (a channel dropped, with a warning of an index).
@pytest.mark.parametrize("gap", ["", "NA"])
def test_a_first_row_with_a_gap_is_a_sample_not_a_header(tmp_path, gap):
    values = np.random.default_rng(0).normal(size=(300, 3)).round(4)
    rows = [",".join(map(str, row)) for row in values]
    rows[0] = f"{values[0, 0]},{gap},{values[0, 2]}"
    path = tmp_path / "nohdr.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    recording = read_recording(str(path), sampling_rate=100.0)
    assert recording.channel_names == ["0", "1", "2"]
    assert recording.data.shape == (3, 300)
    assert np.isnan(recording.data[1, 0])
    np.testing.assert_array_equal(recording.data[:, 1:], values[1:].T)


def test_pandas_header_of_an_unnamed_index_above_unnamed_columns_is_still_a_header(tmp_path):
    # `pd.DataFrame(array).to_csv(path)`: ",0,1" above "0,0.5,0.25": a header (an empty cell first, whole numbers)
    path = tmp_path / "frame.csv"
    path.write_text(",0,1\n" + "".join(f"{index},{index / 10:.1f},0.25\n" for index in range(50)), encoding="utf-8")
    recording = read_recording(str(path), sampling_rate=10.0)
    assert recording.channel_names == ["0", "1"]
    assert recording.data.shape == (2, 50)


# MNE's read_raw reads a `.eeg` file itself as Nihon Kohden's (`DA0001.EEG`), and BrainVision's `.eeg` through the
# `.vhdr` beside it: the advice named `DA0001.vhdr`, which a Nihon Kohden recording has not.
def test_a_nihon_kohden_eeg_file_is_told_to_give_mne_the_file_itself(tmp_path):
    path = tmp_path / "DA0001.EEG"
    path.write_bytes(b"EEG-1100A V01.00" + bytes(64))
    with pytest.raises(ValueError, match=r"mne\.io\.read_raw\('DA0001\.EEG'\)"):
        read_recording(str(path), sampling_rate=100.0)


def test_a_brainvision_eeg_file_is_still_told_to_give_its_header(tmp_path):
    """(BrainVision is read since, through its header: test_bids2_audit73.)"""
    (tmp_path / "rec.vhdr").write_text("Brain Vision Data Exchange Header File Version 1.0\n", encoding="utf-8")
    (tmp_path / "rec.eeg").write_bytes(bytes(64))
    with pytest.raises(ValueError, match=r"part of the BrainVision recording rec\.vhdr .*give .*rec\.vhdr"):
        read_recording(str(tmp_path / "rec.eeg"), sampling_rate=100.0)


def test_an_mne_file_of_a_capitalised_suffix_is_named_as_it_is_written(tmp_path):
    # the suffix is matched in lower case, and the advice named 'RUN_raw.fif', a file that is not there
    path = tmp_path / "RUN_raw.FIF"
    path.write_bytes(bytes(64))
    with pytest.raises(ValueError, match=r"mne\.io\.read_raw\('RUN_raw\.FIF'\)"):
        read_recording(str(path), sampling_rate=100.0)


# A script run by `accelerate launch` that starts `citrus push` once, from its main process
# (`subprocess.run(["citrus", "push", ...])`), hands it the launch's WORLD_SIZE: the command was refused, telling
# the user to run it without accelerate launch, which is what they did; the refusal names the variable to leave out.
def test_a_launch_refusal_names_the_variable_a_command_started_from_a_launched_script_leaves_out(
    tmp_path, monkeypatch, capsys
):
    from citrus_hf.commands.main import main

    monkeypatch.setenv("PMI_SIZE", "4")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert main(["push", str(tmp_path / "model"), "someone/model"]) == 2
    error = capsys.readouterr().err.strip()
    assert "PMI_SIZE=4" in error and "started once by a launched script" in error
    assert "with PMI_SIZE removed from its environment" in error and "\n" not in error
    monkeypatch.setenv("WORLD_SIZE", "4")  # every count the launcher set is named: one left would be read next
    assert main(["push", str(tmp_path / "model"), "someone/model"]) == 2
    assert "with WORLD_SIZE and PMI_SIZE removed" in capsys.readouterr().err


# The fusion processor's refusal of one max_length for encoders of different rates (5d2ee74) ran before each
# extractor's check of the value: "60" failed in Python's arithmetic ("unsupported operand type(s) for /"), and -5,
# 0, True or 60.5 were told to give a dict of the same seconds, where the extractor names what is wrong with them.
@pytest.mark.parametrize(
    ("max_length", "error", "words"),
    [
        ("60", TypeError, "must be an integer"),
        (True, TypeError, "must be an integer"),
        (-5, ValueError, "must be at least"),
        (0, ValueError, "must be at least"),
        (60.5, ValueError, "must be a whole number"),
    ],
)
def test_a_fusion_max_length_that_is_no_length_is_refused_as_such(max_length, error, words):
    from tiny_configs import tiny_config

    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    eda = tiny_config(sampling_rate=20, context_length=80, patch_length=10, spectrogram_n_fft=10)
    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda}, num_labels=3)
    processor = CiTrusFusionProcessor.from_config(config)
    rng = np.random.default_rng(0)
    recordings = {"ecg": rng.standard_normal((1, 1, 200)), "eda": rng.standard_normal((1, 1, 40))}
    with pytest.raises(error, match=f"`max_length` {words}"):
        processor(recordings, sampling_rate={"ecg": 100, "eda": 20}, max_length=max_length)
