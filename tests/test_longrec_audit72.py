"""What an audit of long recordings (a night or a day of multichannel signal through `citrus predict`, the pipeline and
the readers) found: copies and whole reads that a long file multiplies. Each test measures the memory a step
allocates (tracemalloc, which numpy reports to) as the growth from a shorter to a longer input, so that fixed costs
cancel, and checks the values are those read before."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import citrus_hf.configuration_citrus  # noqa: F401  (imported by the readers on first use: not to be measured)
from citrus_hf.data import readers


def _peak_growth(read, sizes):
    """The growth of tracemalloc's peak per byte of the result from the first of `sizes` to the second: `read(size)`
    returns the array whose bytes count."""
    peaks, results = [], []
    for size in sizes:
        gc.collect()
        tracemalloc.start()
        try:
            result = read(size)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        results.append(result.nbytes)
        del result
    return (peaks[1] - peaks[0]) / (results[1] - results[0])


# ----------------------------------------------------------------------------------------------------- .npy files


@pytest.mark.parametrize("channels", [None, ["3"], ["5", "1"]])
def test_a_npy_recording_is_read_into_float64_without_a_whole_copy_beside_it(tmp_path, channels):
    """A float32 .npy of 8 channels was loaded whole, every channel converted to float64 and only then the channels
    asked for picked: reading one channel of a 24 h, 8-channel file at 256 Hz held 2.1 GB for its 180 MB (12x the
    channel read), and all of them 1.5x the float64 recording. The file is now mapped and only the channels read are
    converted, each once."""
    rate, count = 256, 8

    def path_of(minutes: int):
        path = tmp_path / f"{minutes}.npy"
        if not path.exists():
            signal = np.random.default_rng(minutes).standard_normal((count, rate * 60 * minutes)).astype(np.float32)
            np.save(path, signal)
        return path

    def read(minutes: int):
        return readers.read_recording(path_of(minutes), channels, sampling_rate=rate).data

    path_of(5), path_of(10)
    growth = _peak_growth(read, (5, 10))
    assert growth < 1.15, growth
    recording = readers.read_recording(path_of(5), channels, sampling_rate=rate)
    rows = list(range(count)) if channels is None else [int(channel) for channel in channels]
    expected = np.load(path_of(5))[rows].astype(np.float64)
    assert recording.data.dtype == np.float64 and recording.data.flags.c_contiguous
    assert np.array_equal(recording.data, expected)
    assert recording.channel_names == [str(row) for row in rows]


def test_a_mapped_npy_file_is_not_held_open_after_it_is_read(tmp_path):
    """The recording read from a mapped file is a copy of its own: the file can be replaced or removed at once (a
    mapped file cannot be deleted on Windows), and the samples do not change when it is."""
    path = tmp_path / "one.npy"
    np.save(path, np.arange(1000, dtype=np.int16)[None])
    recording = readers.read_recording(path, sampling_rate=100)
    assert recording.data.base is None or not isinstance(recording.data.base, np.memmap)
    np.save(path, np.zeros((1, 1000), dtype=np.int16))
    assert recording.data[0, 999] == 999.0
    path.unlink()


# ---------------------------------------------------------------------------------------------------- WFDB records


def test_a_wfdb_record_reads_only_the_signals_asked_for(tmp_path):
    """Every signal of a WFDB record was read (wfdb's `rdrecord` without `channels`), then stacked into a second
    float64 copy, and only then were the signals asked for picked: one channel of 8 held 10x its size. The record's
    header now decides the signals, and wfdb reads those alone."""
    wfdb = pytest.importorskip("wfdb")
    rate, count = 256, 8
    names = [f"EEG{index}" for index in range(count)]
    signals = {}

    def path_of(minutes: int):
        name = f"r{minutes}"
        if minutes not in signals:
            signals[minutes] = np.random.default_rng(minutes).standard_normal((count, rate * 60 * minutes)) * 0.5
            wfdb.wrsamp(
                name, fs=rate, units=["mV"] * count, sig_name=names, p_signal=signals[minutes].T, fmt=["16"] * count,
                adc_gain=[1000.0] * count, baseline=[0] * count, write_dir=str(tmp_path),
            )  # fmt: skip
        return tmp_path / f"{name}.hea"

    def read(minutes: int):
        return readers.read_recording(path_of(minutes), ["EEG3"]).data

    path_of(2), path_of(4)
    growth = _peak_growth(read, (2, 4))
    assert growth < 4, growth
    for channels in (["EEG3"], ["EEG5", "1"], ["EEG2", "2"], None):
        recording = readers.read_recording(path_of(2), channels)
        rows = range(count) if channels is None else [names.index(c) if c in names else int(c) for c in channels]
        whole = wfdb.rdrecord(str(path_of(2).with_suffix("")))
        assert np.array_equal(recording.data, whole.p_signal.T[list(rows)])
        assert recording.channel_names == [names[row] for row in rows]
        assert recording.units == ["mV"] * len(rows)
        assert recording.data.dtype == np.float64


@pytest.mark.parametrize("channels", [["3"], ["5", "1"], None])
def test_a_wav_file_scales_only_the_channels_asked_for(tmp_path, channels):
    """Every channel of a WAV file was scaled into float64 before the channels asked for were picked: one channel of
    8 held 10x its size. Only those are scaled now, to the same values."""
    from scipy.io import wavfile

    count, rate = 8, 256

    def path_of(minutes: int):
        path = tmp_path / f"{minutes}.wav"
        if not path.exists():
            counts = np.random.default_rng(minutes).integers(-3000, 3000, (rate * 60 * minutes, count), dtype=np.int16)
            wavfile.write(path, rate, counts)
        return path

    path_of(5), path_of(10)
    if channels is not None:
        growth = _peak_growth(lambda minutes: readers.read_recording(path_of(minutes), channels).data, (5, 10))
        assert growth < 2.5, growth  # (the file's 16-bit samples, 4 of them per channel kept, are read whole)
    recording = readers.read_recording(path_of(5), channels)
    rows = list(range(count)) if channels is None else [int(channel) for channel in channels]
    assert np.array_equal(recording.data, wavfile.read(path_of(5))[1].T[rows] / 32768.0)
    assert recording.channel_names == [str(row) for row in rows]
