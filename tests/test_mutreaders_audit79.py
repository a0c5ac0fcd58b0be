"""Mutation audit 79 of the readers (`citrus_hf.data.readers`, `citrus_hf.data.recordings`): each test here pins a
wrong answer the suite let through when the reader was changed on purpose (a rate, a scale, an offset, a channel
order, an event time), with the expected values worked out by hand in comments."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError


def _field(value, width: int) -> bytes:
    return str(value).ljust(width).encode("latin-1")


def _write_plain_edf(
    path,
    samples: list[np.ndarray],
    labels: list[str],
    samples_per_record: list[int],
    record_seconds: float = 1.0,
    *,
    physical: tuple[float, float] = (-100.0, 100.0),
    digital: tuple[int, int] = (-32768, 32767),
    date: str = "01.01.20",
    units: str = "uV",
):
    """A plain EDF file written byte by byte (pyedflib writes 1 s records only): `samples` are each signal's digital
    values (int16), in data records of `record_seconds` holding `samples_per_record[i]` of signal i. Returns `path`."""
    count = len(labels)
    records = len(samples[0]) // samples_per_record[0] if samples_per_record[0] else 1
    header = _field("0", 8) + _field("X X X X", 80) + _field("Startdate X", 80) + _field(date, 8)
    header += _field("10.20.30", 8) + _field(256 * (count + 1), 8) + _field("", 44) + _field(records, 8)
    header += _field(f"{record_seconds:g}", 8) + _field(count, 4)
    header += b"".join(_field(label, 16) for label in labels) + _field("", 80) * count + _field(units, 8) * count
    header += _field(f"{physical[0]:g}", 8) * count + _field(f"{physical[1]:g}", 8) * count
    header += _field(digital[0], 8) * count + _field(digital[1], 8) * count + _field("", 80) * count
    header += b"".join(_field(n, 8) for n in samples_per_record) + _field("", 32) * count
    body = b""
    for record in range(records):
        for signal, per_record in zip(samples, samples_per_record, strict=True):
            body += np.asarray(signal[record * per_record : (record + 1) * per_record], dtype="<i2").tobytes()
    path.write_bytes(header + body)
    return path


def test_an_edf_header_rates_are_samples_per_record_over_the_record_duration_fastest_first(tmp_path):
    """Records of 2 s: 200 samples per record is 100 Hz and 40 is 20 Hz (a 1 s record made the rate the count). The
    groups by rate come fastest first whatever the file order, and the recording reads at 100 Hz with its 2 records'
    400 samples."""
    from citrus_hf.data.readers import read_edf, read_edf_header, read_recording
    from citrus_hf.data.readers.files import SamplingRateError

    slow, fast = np.arange(80) - 40, np.arange(400) - 200
    path = _write_plain_edf(tmp_path / "two.edf", [slow, fast], ["RESP", "EEG"], [40, 200], record_seconds=2.0)
    header = read_edf_header(path)
    assert header.sampling_rate("EEG") == 100.0 and header.sampling_rate("RESP") == 20.0
    assert list(header.names_by_rate().items()) == [(100.0, ["EEG"]), (20.0, ["RESP"])]
    with pytest.raises(SamplingRateError, match=r"2 rates \(100 Hz: EEG; 20 Hz: RESP\)"):
        read_recording(path)
    recording = read_edf(path, ["EEG"])
    assert recording.sampling_rate == 100.0 and recording.data.shape == (1, 400)


def test_an_edf_signal_without_samples_per_record_or_digital_range_is_refused_by_name(tmp_path):
    """0 samples per record is a rate of 0 Hz; a digital range from 0 to 0 divides by zero when scaled. Both are
    refused naming the signal, the other signals of the file still readable."""
    from citrus_hf.data.readers import read_edf

    ramp = np.arange(100) - 50
    path = _write_plain_edf(tmp_path / "empty.edf", [ramp, ramp[:0]], ["EEG", "MARK"], [100, 0])
    with pytest.raises(CorruptFileError, match=r"signal 'MARK' declares 0 samples per data record"):
        read_edf(path, ["MARK"])
    assert read_edf(path, ["EEG"]).data.shape == (1, 100)
    flat = _write_plain_edf(tmp_path / "flat.edf", [ramp], ["EEG"], [100], digital=(0, 0))
    with pytest.raises(
        CorruptFileError, match=r"signal 'EEG' has an empty physical .* or digital \(0.0 to 0.0\) range"
    ):
        read_edf(flat)


def _declare(path, offset: int, width: int, value) -> None:
    """Overwrite the EDF header field at byte `offset` (`width` bytes) of `path` with `value`."""
    data = bytearray(path.read_bytes())
    data[offset : offset + width] = _field(value, width)
    path.write_bytes(bytes(data))


def test_an_edf_header_that_is_not_256_bytes_per_signal_or_a_file_short_by_bytes_is_refused(tmp_path):
    """A header declaring 768 bytes for 1 signal (256 x 2 is 512) would shift every sample; a file of 2 records of
    100 two-byte samples that lost its last 2 bytes is truncated (2 missing), not one record shorter."""
    from citrus_hf.data.readers import read_edf

    ramp = np.arange(200) - 100
    path = _write_plain_edf(tmp_path / "long_header.edf", [ramp], ["EEG"], [100])
    _declare(path, 184, 8, 768)
    path.write_bytes(path.read_bytes() + b"\x00" * 256)  # (the size check then holds: only the header's count is off)
    with pytest.raises(CorruptFileError, match=r"header size 768 does not match 1 signals"):
        read_edf(path)
    cut = _write_plain_edf(tmp_path / "cut.edf", [ramp], ["EEG"], [100])
    cut.write_bytes(cut.read_bytes()[:-2])
    with pytest.raises(
        CorruptFileError, match=r"cut.edf is truncated: .*2 data records \(912 bytes in all\).*2 missing"
    ):
        read_edf(cut)


def test_an_edf_start_year_85_to_99_is_the_1900s_and_00_to_84_the_2000s(tmp_path):
    """The EDF spec's clipping date: "85" is 1985 (the spec's own placeholder 01.01.85), "84" is 2084."""
    from citrus_hf.data.readers import read_edf_header

    ramp = np.arange(100) - 50
    eighty_five = _write_plain_edf(tmp_path / "a.edf", [ramp], ["EEG"], [100], date="01.01.85")
    eighty_four = _write_plain_edf(tmp_path / "b.edf", [ramp], ["EEG"], [100], date="31.12.84")
    assert read_edf_header(eighty_five).start == datetime.datetime(1985, 1, 1, 10, 20, 30)
    assert read_edf_header(eighty_four).start == datetime.datetime(2084, 12, 31, 10, 20, 30)


def test_an_edf_plus_start_takes_the_first_records_fraction_but_never_a_negative_one(tmp_path):
    """EDF+ keeps a start's fraction of a second in the first record's time-keeping annotation: "+0.25" starts at
    00:00:00.25. A negative onset is no fraction of the header's second (MNE reads the header's start alone): the
    start stays 00:00:00, not 23:59:59.5 the day before."""
    from test_formats_audit import _write_edf_plus_records

    from citrus_hf.data.readers import read_edf_header

    rate, signal = 10, np.zeros(30)
    late = tmp_path / "late.edf"
    _write_edf_plus_records(late, signal, rate, [0.25, 1.25, 2.25], "EDF+C")
    early = tmp_path / "early.edf"
    _write_edf_plus_records(early, signal, rate, [9, 0.5, 1.5], "EDF+C")
    early.write_bytes(early.read_bytes().replace(b"+9\x14\x14\x00\x00\x00", b"-0.5\x14\x14\x00", 1))
    assert read_edf_header(late).start == datetime.datetime(2020, 1, 1, 0, 0, 0, 250000)
    assert read_edf_header(early).start == datetime.datetime(2020, 1, 1)


def test_an_edf_plus_d_file_with_a_half_second_gap_is_refused(tmp_path):
    """Records of 1 s starting at 0, 1 and 2.5 s: the third is 0.5 s late (a gap), which read as one recording would
    make every time after it 0.5 s early."""
    from test_formats_audit import _write_edf_plus_records

    from citrus_hf.data.readers import read_edf

    path = tmp_path / "gap.edf"
    _write_edf_plus_records(path, np.zeros(30), 10, [0, 1, 2.5], "EDF+D")
    with pytest.raises(
        CorruptFileError, match=r"data record 2 starts at 2.5 s where a continuous recording would be at 2 s"
    ):
        read_edf(path)


def test_edf_signals_sharing_a_label_at_two_rates_are_refused(tmp_path):
    """Two signals labelled "EEG" at 100 and 50 Hz: MNE reads a label's signals at once, resampled to the faster,
    so the 50 Hz one cannot be read as it is recorded."""
    from citrus_hf.data.readers import read_edf

    path = _write_plain_edf(tmp_path / "twice.edf", [np.arange(100), np.arange(50)], ["EEG", "EEG"], [100, 50])
    with pytest.raises(CorruptFileError, match=r"share a label but not a sampling rate"):
        read_edf(path, ["EEG-1"])


def test_one_whole_record_past_the_declared_count_is_said(tmp_path, caplog):
    """A header declaring 1 record of a file holding 2: MNE reads both, so the reader says so."""
    from citrus_hf.data.readers import read_edf

    path = _write_plain_edf(tmp_path / "more.edf", [np.arange(200) - 100], ["EEG"], [100])
    _declare(path, 236, 8, 1)
    with caplog.at_level("WARNING", logger="citrus_hf"):
        assert read_edf(path).data.shape == (1, 200)
    assert "declares 1 data records and the file holds 2" in caplog.text


def test_edf_annotations_keep_their_onsets_and_durations_and_a_hypnogram_is_told_apart(tmp_path):
    """An annotation at 1 s lasting 3 s comes back as (1.0, 3.0) from the recording and from an annotations file,
    and a file of annotations alone (a hypnogram) is told from a recording."""
    from tiny_configs import write_edf, write_edf_annotations

    from citrus_hf.data.readers import holds_annotations_only, read_edf, read_edf_annotations

    recording = write_edf(tmp_path / "psg.edf", [np.zeros(1000)], ["EEG"], 100, annotations=[(1.0, 3.0, "stim")])
    hypnogram = write_edf_annotations(tmp_path / "hyp.edf", [(1.0, 3.0, "Sleep stage W")])
    (onset, duration, description), *_ = [(a.onset, a.duration, a.description) for a in read_edf(recording).annotations]
    assert (onset, duration, description) == (1.0, 3.0, "stim")
    (only,) = read_edf_annotations(hypnogram)[0]
    assert (only.onset, only.duration, only.description) == (1.0, 3.0, "Sleep stage W")
    assert holds_annotations_only(hypnogram) and not holds_annotations_only(recording)
