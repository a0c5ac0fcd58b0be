"""The file-reader audit's findings (audit71_readertraps): traps users reported against the readers citrus builds on
(wfdb, MNE's EDF reader, numpy's text reader), checked against citrus's own readers with small files written here.

* a WFDB annotation file that records its own time resolution (``## time resolution``, as ``wrann`` writes a
  multi-frequency record's high-resolution annotations) was read as counting frames: every beat time scaled wrong;
* a multi-segment WFDB record whose segments disagree (signals in another order in a fixed layout, another unit,
  another frame rate) was stitched by wfdb without a word: channels swapped, mV beside µV, 180 Hz read as 360 Hz;
* a CSV whose header names two columns alike read the first column twice, the second never;
* an EDF header whose numbers use a decimal comma or end in NUL bytes (the Hypnodyne ZMax writes both; MNE reads
  them) was refused as malformed;
* an EDF file holding whole data records past its header's count was read to its end without a word (MNE infers the
  count from the size, and its warning was silenced): now said;
* a CSV with a line above its header (Excel's ``sep=;``, a ``#`` or ``%`` comment) was refused with advice about
  thousands separators or a row of units.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers.edf import read_edf, read_edf_header
from citrus_hf.data.readers.files import read_recording

wfdb = pytest.importorskip("wfdb")

RATE = 360
SECONDS = np.arange(1000) / RATE
SIGNALS = np.stack([np.sin(2 * np.pi * SECONDS), 0.5 * np.cos(2 * np.pi * 3 * SECONDS)], axis=1)  # (time, 2)


def _header(folder, name, lines):
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")


def _multi_frequency_record(folder):
    """Record `mf`: signal I at 2 samples per frame (360 Hz), II at 1 (180 Hz), frames at 180 Hz."""
    digital = np.round(SIGNALS * [200, 400]).astype("<i2")
    frames = np.zeros((500, 3), "<i2")
    frames[:, 0], frames[:, 1], frames[:, 2] = digital[0::2, 0], digital[1::2, 0], digital[0::2, 1]
    (folder / "mf.dat").write_bytes(frames.tobytes())
    _header(folder, "mf", ["mf 2 180 500", "mf.dat 16x2 200/mV 16 0 0 0 0 I", "mf.dat 16 400/mV 16 0 0 0 0 II"])
    return folder / "mf"


def test_wfdb_annotations_at_their_own_time_resolution_keep_their_times(tmp_path):
    """Beats at 21 and 201 ticks of 1/360 s (a high-resolution annotation file) are at samples 21 and 201 of the
    360 Hz signal and 10.5 -> 10, 100.5 -> 100 of the 180 Hz one; they were read as frames: 42 and 402."""
    from citrus_hf.data.readers.wfdb import read_wfdb

    record = _multi_frequency_record(tmp_path)
    wfdb.wrann("mf", "atr", np.array([21, 201]), np.array(["N", "V"]), fs=360, write_dir=str(tmp_path))
    fast = read_wfdb(record, "atr", channels=["I"])
    assert fast.sampling_rate == 360
    assert fast.annotation_samples.tolist() == [21, 201]
    slow = read_wfdb(record, "atr", channels=["II"])
    assert slow.sampling_rate == 180
    assert slow.annotation_samples.tolist() == [10, 100]  # half-to-even, as np.round
    # an annotation file at the frame rate (MIT-BIH's) still counts frames
    wfdb.wrann("mf", "fr", np.array([10, 100]), np.array(["N", "V"]), fs=180, write_dir=str(tmp_path))
    assert read_wfdb(record, "fr", channels=["I"]).annotation_samples.tolist() == [20, 200]


def _segments(folder, second_lines, layout=False):
    """A two-segment record `ms` (500 + 500 samples of `SIGNALS`); the second segment's header signal lines are
    `second_lines` (its data stored in their order: I then II unless the lines name II first)."""
    digital = np.round(SIGNALS * [200, 400]).astype("<i2")
    (folder / "s1.dat").write_bytes(digital[:500].tobytes())
    _header(folder, "s1", ["s1 2 360 500", "s1.dat 16 200/mV 16 0 0 0 0 I", "s1.dat 16 400/mV 16 0 0 0 0 II"])
    order = [1, 0] if second_lines[0].endswith(" II") else [0, 1]
    (folder / "s2.dat").write_bytes(np.ascontiguousarray(digital[500:, order]).tobytes())
    rate = second_lines[0].split()[2] if second_lines[0].startswith("s2 ") else "360"
    lines = second_lines[1:] if second_lines[0].startswith("s2 ") else second_lines
    _header(folder, "s2", [f"s2 2 {rate} 500", *lines])
    if layout:
        _header(folder, "ms_layout", ["ms_layout 2 360 0", "~ 0 200/mV 16 0 0 0 0 I", "~ 0 400/mV 16 0 0 0 0 II"])
        _header(folder, "ms", ["ms/3 2 360 1000", "ms_layout 0", "s1 500", "s2 500"])
    else:
        _header(folder, "ms", ["ms/2 2 360 1000", "s1 500", "s2 500"])
    return folder / "ms"


def test_a_fixed_layout_record_whose_segments_list_signals_in_another_order_is_refused(tmp_path):
    from citrus_hf.data.readers.wfdb import read_wfdb

    record = _segments(tmp_path, ["s2.dat 16 400/mV 16 0 0 0 0 II", "s2.dat 16 200/mV 16 0 0 0 0 I"])
    with pytest.raises(CorruptFileError, match=r"s2.*\['II', 'I'\].*\['I', 'II'\]"):
        read_wfdb(record, None)


def test_a_variable_layout_record_with_reordered_segments_is_read_by_name(tmp_path):
    """wfdb maps a variable layout's segments by name: read as it was, each signal in place."""
    from citrus_hf.data.readers.wfdb import read_wfdb

    record = _segments(tmp_path, ["s2.dat 16 400/mV 16 0 0 0 0 II", "s2.dat 16 200/mV 16 0 0 0 0 I"], layout=True)
    recording = read_wfdb(record, None)
    assert recording.channel_names == ["I", "II"]
    np.testing.assert_allclose(recording.data, SIGNALS.T, atol=0.003)


def test_segments_that_record_a_signal_in_another_unit_are_refused(tmp_path):
    """Segment 2 in µV beside segment 1 in mV: 1000 times larger from the seam on, without a word."""
    from citrus_hf.data.readers.wfdb import read_wfdb

    for layout in (False, True):
        record = _segments(tmp_path, ["s2.dat 16 0.2/uV 16 0 0 0 0 I", "s2.dat 16 400/mV 16 0 0 0 0 II"], layout=layout)
        with pytest.raises(CorruptFileError, match=r"s2.*'I'.*uV.*mV"):
            read_wfdb(record, None)


def test_segments_at_another_frame_rate_are_refused(tmp_path):
    from citrus_hf.data.readers.wfdb import read_wfdb

    record = _segments(tmp_path, ["s2 2 180", "s2.dat 16 200/mV 16 0 0 0 0 I", "s2.dat 16 400/mV 16 0 0 0 0 II"])
    with pytest.raises(CorruptFileError, match=r"s2.*180.*360"):
        read_wfdb(record, None)


def test_consistent_segments_are_read_whole(tmp_path):
    from citrus_hf.data.readers.wfdb import read_wfdb

    record = _segments(tmp_path, ["s2.dat 16 200/mV 16 0 0 0 0 I", "s2.dat 16 400/mV 16 0 0 0 0 II"])
    np.testing.assert_allclose(read_wfdb(record, None).data, SIGNALS.T, atol=0.003)


def test_a_csv_naming_two_columns_alike_does_not_read_the_first_twice(tmp_path):
    """`time,ECG,ECG`: both channels came back as the first ECG column."""
    seconds = np.arange(200) / 100
    path = tmp_path / "twice.csv"
    rows = "\n".join(f"{t:.2f},{np.sin(t):.4f},{np.cos(t):.4f}" for t in seconds)
    path.write_text("time,ECG,ECG\n" + rows + "\n")
    with pytest.raises(ValueError, match=r"'ECG'.*1, 2"):
        read_recording(path, sampling_rate=100)
    recording = read_recording(path, ["1", "2"], sampling_rate=100)  # by position: each its own column
    np.testing.assert_allclose(recording.data, [np.sin(seconds), np.cos(seconds)], atol=1e-4)


def _edf_bytes(physical=(b"-100", b"100"), samples_field=b"100", records=5, extra_records=0):
    """A one-signal EDF (5 records of 100 samples at 100 Hz, digital -100..100) with its header fields as given."""

    def field(value, width):
        value = value if isinstance(value, bytes) else str(value).encode()
        return value + b" " * (width - len(value))

    header = field("0", 8) + field("X", 80) + field("X", 80) + b"01.01.2010.00.00" + field(512, 8) + field("", 44)
    header += field(records, 8) + field(1, 8) + field(1, 4) + field("EEG", 16) + field("", 80) + field("uV", 8)
    header += field(physical[0], 8) + field(physical[1], 8) + field(-100, 8) + field(100, 8) + field("", 80)
    header += field(samples_field, 8) + field("", 32)
    digital = (np.arange(100 * (records + extra_records)) % 100 - 50).astype("<i2")
    return header + digital.tobytes()


@pytest.mark.parametrize(
    ("physical", "samples_field"),
    [((b"-100,5", b"100,5"), b"100"), ((b"-100.5", b"100.5"), b"100\x00\x00\x00\x00\x00")],
    ids=["decimal comma", "NUL-padded"],
)
def test_edf_header_numbers_written_as_zmax_writes_them_are_read(tmp_path, physical, samples_field):
    path = tmp_path / "zmax.edf"
    path.write_bytes(_edf_bytes(physical, samples_field))
    assert read_edf_header(path).ranges[0][:2] == (-100.5, 100.5)
    recording = read_edf(path)
    assert recording.data.shape == (1, 500)
    np.testing.assert_allclose(recording.data[0, :3], np.array([-50, -49, -48]) * 100.5 / 100)


def test_edf_records_past_the_headers_count_are_said(tmp_path, caplog):
    path = tmp_path / "stale.edf"
    path.write_bytes(_edf_bytes(records=4, extra_records=2))
    with caplog.at_level(logging.WARNING):
        recording = read_edf(path)
    assert recording.data.shape == (1, 600)  # MNE's reading (the count inferred from the size), now said
    assert "declares 4 data records" in caplog.text and "holds 6" in caplog.text


@pytest.mark.parametrize(
    "preamble",
    ["sep=,\n", "# recorded with device X\n", "%OpenBCI Raw EXG Data\n%Number of channels = 2\n"],
    ids=["excel sep", "hash comment", "percent comment"],
)
def test_a_csv_with_lines_above_its_header_is_refused_naming_them(tmp_path, preamble):
    rows = "\n".join(f"{t:.2f},{np.sin(t):.4f},{np.cos(t):.4f}" for t in np.arange(200) / 100)
    path = tmp_path / "preamble.csv"
    path.write_text(preamble + "time,ECG,PPG\n" + rows + "\n")
    first = preamble.splitlines()[0]
    with pytest.raises(CorruptFileError, match=rf"first line, {first!r}.*above.*remove") as error:
        read_recording(path, sampling_rate=100)
    assert "thousands" not in str(error.value) and "units" not in str(error.value)


def test_numpys_commented_header_names_the_time_column(tmp_path):
    """`np.savetxt(header="time,ECG")` writes "# time,ECG": its time column was read as a channel named "# time"."""
    seconds = np.arange(200) / 100
    path = tmp_path / "savetxt.csv"
    np.savetxt(path, np.stack([seconds, np.sin(seconds)], axis=1), delimiter=",", header="time,ECG", fmt="%.4f")
    recording = read_recording(path, sampling_rate=100)
    assert recording.channel_names == ["ECG"]
    np.testing.assert_allclose(recording.data[0], np.sin(seconds), atol=1e-4)
