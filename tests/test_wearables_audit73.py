"""Audit 73 (wearables): recordings as wearable and lab-amplifier vendors export them, read through `read_recording`
(what `citrus predict FILE`, `--dataset FOLDER` and the pipelines' file route read). Each file is built by hand in the
vendor's documented layout."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError, SamplingRateError
from citrus_hf.data.readers import csv_has_time_column, read_recording

E4_START = 1589380562.0  # 2020-05-13 14:36:02 UTC


def _e4_file(path, rate, rows, start=E4_START):
    """An Empatica E4 CSV (E4 connect's export): the start in UNIX seconds, then the rate, then the samples, each
    row holding one cell per axis apart by ", "."""
    width = rows.shape[1]
    lines = [", ".join([f"{start:.6f}"] * width), ", ".join([f"{rate:.6f}"] * width)]
    lines += [", ".join(f"{value:g}" for value in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_empatica_e4_csv_reads_its_start_and_rate_rows_as_such(tmp_path):
    """The E4's two header rows (UNIX start, rate) were read as the first two samples: a 1.6e9 spike and a 64 in the
    pulse, no start, the rate never checked."""
    rng = np.random.default_rng(0)
    bvp = rng.normal(0, 50, (640, 1)).round(2)
    recording = read_recording(_e4_file(tmp_path / "BVP.csv", 64, bvp), sampling_rate=64)
    np.testing.assert_allclose(recording.data, bvp.T)
    assert recording.start == datetime.datetime(2020, 5, 13, 14, 36, 2, tzinfo=datetime.timezone.utc)
    assert csv_has_time_column(tmp_path / "BVP.csv")  # (`citrus predict` then writes each window's clock time)
    acc = rng.integers(-64, 64, (320, 3)).astype(float)
    recording = read_recording(_e4_file(tmp_path / "ACC.csv", 32, acc), sampling_rate=32)
    np.testing.assert_allclose(recording.data, acc.T)
    assert recording.start is not None


def test_an_empatica_e4_csv_refuses_a_rate_its_header_contradicts(tmp_path):
    path = _e4_file(tmp_path / "EDA.csv", 4, np.linspace(0.1, 2.0, 200)[:, None])
    with pytest.raises(SamplingRateError, match=r"4 Hz.*--sampling-rate 4"):
        read_recording(path, sampling_rate=64)


def test_an_empatica_e4_ibi_file_is_refused_as_no_evenly_sampled_recording(tmp_path):
    """IBI.csv (start, "IBI", then beat times and intervals) was read as two channels, its beat times a channel."""
    path = tmp_path / "IBI.csv"
    path.write_text(f"{E4_START:.6f}, IBI\n" + "".join(f"{10 + 0.8 * k:.6f},0.800000\n" for k in range(50)))
    with pytest.raises(CorruptFileError, match=r"inter-beat intervals.*BVP\.csv"):
        read_recording(path, sampling_rate=1)


def _packet_stamps(path, rate, packet, samples):
    """A BLE wearable's CSV (Movesense, Polar): one time stamp per packet of `packet` samples, in milliseconds."""
    rng = np.random.default_rng(1)
    stamps = 1000 + (np.arange(samples) // packet) * packet * 1000 / rate
    values = rng.normal(0, 300, samples).round()
    path.write_text("timestamp,ecg\n" + "".join(f"{s:.0f},{v:.0f}\n" for s, v in zip(stamps, values, strict=True)))
    return path


def test_time_stamps_shared_by_a_packet_of_samples_are_checked_against_the_rate(tmp_path):
    """Stamps repeated for every sample of a packet have a median step of 0, and the check was skipped: a 125 Hz file
    read at 250 Hz (or 50 Hz) without a word."""
    path = _packet_stamps(tmp_path / "movesense.csv", 125, 16, 2000)
    assert read_recording(path, sampling_rate=125).data.shape == (1, 2000)
    for wrong in (250, 50):
        with pytest.raises(SamplingRateError, match=r"125 Hz"):
            read_recording(path, sampling_rate=wrong)


def _shimmer_file(path, rows=512):
    """A Shimmer Consensys CSV export: tab-separated names, a row of "CAL" (calibrated) / "RAW", a row of units; a
    tab at every line's end; the first column the Unix time in milliseconds."""
    rng = np.random.default_rng(2)
    lines = [
        "Shimmer_5E7D_Timestamp_Unix_CAL\tShimmer_5E7D_ECG_LL-RA_24BIT_CAL\tShimmer_5E7D_GSR_Skin_Conductance_CAL\t",
        "CAL\tCAL\tCAL\t",
        "ms\tmV\tuS\t",
    ]
    lines += [f"{1.6e12 + k * 1000 / 256:.3f}\t{rng.normal():.6f}\t{2 + rng.normal() / 10:.6f}\t" for k in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_shimmer_csv_reads_its_units_under_the_calibration_row(tmp_path):
    """Shimmer's row of "CAL" was read as the units and its row of units ("ms", "mV") as a sample: refused as "not a
    numeric CSV file (could not convert string 'ms')", naming no fix; its time column was read as a channel."""
    recording = read_recording(_shimmer_file(tmp_path / "shimmer.csv"), sampling_rate=256)
    assert recording.channel_names == ["Shimmer_5E7D_ECG_LL-RA_24BIT_CAL", "Shimmer_5E7D_GSR_Skin_Conductance_CAL"]
    assert recording.units == ["mV", "uS"]
    assert recording.data.shape == (2, 512)
    assert recording.start == datetime.datetime(2020, 9, 13, 12, 26, 40, tzinfo=datetime.timezone.utc)
    with pytest.raises(SamplingRateError, match=r"256 Hz"):
        read_recording(tmp_path / "shimmer.csv", sampling_rate=512)


def _polar_file(path, samples=1300):
    """A Polar Sensor Logger ECG file (H10, 130 Hz): `;`-separated, the phone's clock per packet of 73 samples, the
    sensor's nanoseconds since 2000-01-01, milliseconds from the first sample, the ECG in µV."""
    rng = np.random.default_rng(3)
    phone = datetime.datetime(2025, 11, 22, 15, 22, 43, 603000)
    sensor = 817_053_763_000_000_000  # 2025-11-22 in nanoseconds since 2000: 1995 read since 1970
    lines = ["Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]"]
    for k in range(samples):
        arrived = (phone + datetime.timedelta(milliseconds=(k // 73) * 561)).isoformat(timespec="milliseconds")
        lines.append(f"{arrived};{sensor + round(k * 1e9 / 130)};{k * 1000 / 130:.1f};{rng.normal(0, 300):.0f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_polar_sensor_logger_file_reads_its_signal_alone(tmp_path):
    """Polar Sensor Logger's files were refused for their "Phone timestamp" column, advising to rename it; renamed,
    its sensor clock (nanoseconds since 2000) was read as a channel."""
    recording = read_recording(_polar_file(tmp_path / "Polar_H10_ECG.txt"), sampling_rate=130)
    assert recording.channel_names == ["ecg [uV]"]
    assert recording.units == ["uV"]
    assert recording.data.shape == (1, 1300)
    assert recording.start is None  # the phone's clock is local time, the sensor's counts from 2000 on its own clock
    with pytest.raises(SamplingRateError, match=r"130 Hz"):
        read_recording(tmp_path / "Polar_H10_ECG.txt", sampling_rate=500)


@pytest.mark.parametrize(
    ("suffix", "conversion"),
    [(".xdf", "pyxdf"), (".acq", "bioread"), (".fit", "fitparse"), (".avro", "fastavro")],
)
def test_a_vendor_format_without_a_reader_is_refused_naming_its_conversion(tmp_path, suffix, conversion):
    """LSL's .xdf, BIOPAC's .acq, Garmin's .fit and Empatica EmbracePlus' .avro were told to `np.save` their samples
    (which keeps no rate), naming no library that reads them."""
    path = tmp_path / f"recording{suffix}"
    path.write_bytes(b"\0" * 16)
    with pytest.raises(ValueError, match=conversion):
        read_recording(path, sampling_rate=100)
