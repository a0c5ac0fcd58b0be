"""Review of the wearable CSV layouts, the time per label / sleep statistics and the BrainVision / EEGLAB readers:
a missing sample with a note read as a marker row, a packet-stamped file with a lost packet, and a walking / running
classifier taken for a sleep stager."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_recording
from citrus_hf.vocabulary_citrus import sleep_stages_of


def _noted(path, missing_row: int | None = 4, marker_after: int | None = None):
    """A CSV of a time column, an ECG channel and a `note` column of text: row `missing_row` a sample lost (its ECG
    cell empty, noted "lead off", on the time grid); a marker row (no sample) after row `marker_after`, stamped as
    that row, as Mind Monitor stamps its markers between two samples."""
    lines = ["time,ECG,note"]
    for row in range(40):
        stamp = f"{row / 100:.2f}"
        lines.append(f"{stamp},,lead off" if row == missing_row else f"{stamp},{row},")
        if row == marker_after:
            lines.append(f"{stamp},,blink")
    path.write_text("\n".join(lines) + "\n")


def test_a_missing_sample_noted_in_a_column_of_text_is_kept_in_its_place(tmp_path):
    """A row on the time grid whose channel is empty and whose unread column of text holds a note is a sample that
    was lost, not a marker between two samples: it was dropped, and every later sample was read a sample early (the
    sample of 0.05 s at 0.04 s) without a word."""
    _noted(tmp_path / "noted.csv")
    recording = read_recording(tmp_path / "noted.csv", channels=["ECG"], sampling_rate=100)
    assert recording.data.shape == (1, 40)
    assert np.isnan(recording.data[0, 4])
    np.testing.assert_array_equal(recording.data[0, 5:], np.arange(5, 40))


def test_a_marker_row_stamped_between_samples_is_still_left_out(tmp_path):
    _noted(tmp_path / "marked.csv", missing_row=None, marker_after=10)
    recording = read_recording(tmp_path / "marked.csv", channels=["ECG"], sampling_rate=100)
    np.testing.assert_array_equal(recording.data[0], np.arange(40))


def _packets(path, rate: float, packet: int, samples: int, lost: int | None = None):
    """A BLE wearable's CSV: one time stamp (milliseconds) per packet of `packet` samples; packet `lost` missing."""
    rows = [row for row in range(samples) if lost is None or row // packet != lost]
    stamps = 1000 + (np.asarray(rows) // packet) * packet * 1000 / rate
    path.write_text("timestamp,ecg\n" + "".join(f"{s:.0f},{r % 7}\n" for s, r in zip(stamps, rows, strict=True)))
    return path


def test_a_lost_packet_is_named_as_samples_missing_not_as_another_rate(tmp_path):
    """The packets' rate was taken from the first and last stamps over the sample count, which a lost packet makes
    longer: a 125 Hz file with one packet of 8 lost (of 50) was refused advising --sampling-rate 122.449, which read
    it at that rate, every time after its start wrong. The rate is now the packets' own step, and the lost packet is
    refused as the samples missing that it is."""
    path = _packets(tmp_path / "lost.csv", 125, 8, 400, lost=25)
    with pytest.raises(CorruptFileError, match=r"samples missing"):
        read_recording(path, sampling_rate=125)
    # refused whichever channels are picked (fa659b3); read as written with the checks turned off
    with pytest.raises(CorruptFileError, match=r"samples missing"):
        read_recording(path, sampling_rate=125, channels=["ecg"])
    assert read_recording(path, sampling_rate=125, check_time_stamps=False).data.shape == (1, 392)


def test_packet_stamps_still_tell_the_rate_with_a_partial_first_packet(tmp_path):
    path = _packets(tmp_path / "whole.csv", 125, 8, 403)
    lines = path.read_text().splitlines()
    (tmp_path / "cut.csv").write_text("\n".join([lines[0], *lines[6:]]) + "\n")  # the first packet's last 3 samples
    assert read_recording(tmp_path / "cut.csv", sampling_rate=125).data.shape == (1, 398)
    with pytest.raises(Exception, match=r"125 Hz"):
        read_recording(tmp_path / "cut.csv", sampling_rate=250)


def test_walking_and_running_labels_are_no_sleep_stager():
    """A classifier of activities abbreviated "W" (walking) and "R" (running) was taken for a sleep stager (AASM's W
    and R): citrus predict printed wake, REM, sleep efficiency and REM latency for it in place of its time per label.
    A stager stages NREM sleep: wake and an NREM stage are needed."""
    assert sleep_stages_of(["W", "R"]) is None
    assert sleep_stages_of(["Wake", "REM", "Movement time"]) is None
    assert sleep_stages_of(["W", "N2", "R"]) == {"W": "W", "N2": "N2", "R": "REM"}
    assert sleep_stages_of(["W", "1", "2", "R"])["1"] == "N1"


def _e4_bvp(path, rate: float = 64.0, samples: int = 640):
    """An Empatica E4 BVP.csv (E4 connect's export): its UNIX start, its rate, then the samples."""
    values = np.sin(np.arange(samples) / 7).round(4)
    path.write_text(f"1589380562.000000\n{rate:.6f}\n" + "".join(f"{value:g}\n" for value in values))
    return path


def test_an_empatica_e4_csv_is_read_at_the_rate_it_states_without_one_given(tmp_path):
    """An E4 export states its rate in its second row, and was refused without --sampling-rate as "a CSV file does
    not record its sampling rate" (by read_recording and by citrus predict before the model loads)."""
    recording = read_recording(_e4_bvp(tmp_path / "BVP.csv"))
    assert recording.sampling_rate == 64.0 and recording.data.shape == (1, 640)
    assert recording.start is not None


def test_citrus_predict_reads_an_e4_csv_without_a_rate(tmp_path, capsys):
    from tiny_configs import save_tiny_classifier

    from citrus_hf.commands.main import main

    model = save_tiny_classifier(tmp_path / "model")
    output = tmp_path / "out.jsonl"
    assert main(["predict", str(model), str(_e4_bvp(tmp_path / "BVP.csv")), "--output", str(output)]) == 0
    assert output.read_text().count("\n") == 1


def _brainvision(folder, rate: float = 100.0, samples: int = 400):
    """A one-channel BrainVision recording (INT_16, 0.1 µV), its marker file's New Segment dated 2021-03-04 22:15."""
    header = f"""Brain Vision Data Exchange Header File Version 1.0
[Common Infos]
DataFile=night.eeg
MarkerFile=night.vmrk
DataFormat=BINARY
DataOrientation=MULTIPLEXED
NumberOfChannels=1
SamplingInterval={1e6 / rate:g}
[Binary Infos]
BinaryFormat=INT_16
[Channel Infos]
Ch1=Cz,,0.1,µV
"""
    (folder / "night.vhdr").write_text(header, encoding="utf-8")
    (np.sin(np.arange(samples) / 5) * 1000).astype("<i2").tofile(folder / "night.eeg")
    (folder / "night.vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n[Common Infos]\nDataFile=night.eeg\n[Marker Infos]\n"
        "Mk1=New Segment,,1,1,0,20210304221500000000\n"
    )
    return folder / "night.vhdr"


def test_citrus_predict_writes_the_clock_time_of_a_brainvision_recordings_windows(tmp_path):
    """A BrainVision recording records its start (its first New Segment marker's date), and citrus predict's rows
    of its windows had no start_time column: the column is written only where a file of a format that records a
    start is among the recordings, and that list named EDF, BDF, WFDB and CSV alone."""
    import csv

    from tiny_configs import save_tiny_classifier

    from citrus_hf.commands.main import main

    model = save_tiny_classifier(tmp_path / "model")
    output = tmp_path / "rows.csv"
    assert main(["predict", str(model), str(_brainvision(tmp_path)), "--output", str(output)]) == 0
    rows = list(csv.DictReader(output.open()))
    assert rows[0]["start_time"].startswith("2021-03-04T22:15:00")
    assert rows[1]["start_time"].startswith("2021-03-04T22:15:02")
