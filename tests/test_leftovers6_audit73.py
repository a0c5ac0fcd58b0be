"""Audit 73, leftovers 6 (each test failed before its fix).

A CSV's time column was checked against the rate given (gaps, steps back, daylight saving hours, another rate,
spreadsheet day numbers) only when every channel was read: naming the channels (`channels=[...]`, `citrus predict
--channels`) to read one of several read such a file at the rate given without a word, every time after a gap wrong.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from citrus_hf.data.errors import CorruptFileError, SamplingRateError
from citrus_hf.data.readers import read_recording


def _csv(tmp_path, stamps: list[str], name: str = "timed.csv") -> str:
    """A CSV of a time column written as `stamps` and two channels, ECG and EMG."""
    rows = [f"{stamp},{np.sin(index / 5):.4f},{index % 7}" for index, stamp in enumerate(stamps)]
    path = tmp_path / name
    path.write_text("time,ECG,EMG\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def _clock(start: datetime.datetime, seconds: list[float]) -> list[str]:
    return [(start + datetime.timedelta(seconds=each)).isoformat(sep=" ", timespec="milliseconds") for each in seconds]


_TENTHS = [index / 10 for index in range(300)]
_CASES = {
    # 30 s, a minute missing, 30 s more
    "gap": (lambda: [f"{each:.1f}" for each in _TENTHS + [90 + each for each in _TENTHS]], CorruptFileError, "missing"),
    "back-step": (
        lambda: [f"{each:.1f}" for each in _TENTHS + [10 + each for each in _TENTHS]],
        CorruptFileError,
        "back",
    ),
    "daylight saving": (
        lambda: (
            _clock(datetime.datetime(2025, 10, 26, 2, 59, 0), _TENTHS)
            + _clock(datetime.datetime(2025, 10, 26, 1, 59, 30), _TENTHS)
        ),
        CorruptFileError,
        "daylight saving",
    ),
    "rate": (lambda: [f"{index / 100:.2f}" for index in range(600)], SamplingRateError, "100 Hz"),
    "spreadsheet days": (
        lambda: [f"{45717.375 + index / 864000:.10f}" for index in range(600)],
        CorruptFileError,
        "counts days",
    ),
}


@pytest.mark.parametrize("case", list(_CASES))
@pytest.mark.parametrize("channels", [None, ["ECG"], ["EMG", "ECG"], ["1"]])
def test_a_time_column_is_checked_whichever_channels_are_picked(tmp_path, case, channels):
    stamps, error, match = _CASES[case]
    with pytest.raises(error, match=match):
        read_recording(_csv(tmp_path, stamps()), channels=channels, sampling_rate=10.0)


@pytest.mark.parametrize("channels", [None, ["ECG"], ["EMG", "ECG"]])
def test_even_stamps_are_still_read_with_a_pick(tmp_path, channels):
    start = datetime.datetime(2025, 3, 1, 9, 0, 0)
    recording = read_recording(_csv(tmp_path, _clock(start, _TENTHS)), channels=channels, sampling_rate=10.0)
    assert recording.data.shape == (len(channels or ["ECG", "EMG"]), 300)
    assert recording.channel_names == (channels or ["ECG", "EMG"])


def test_the_stamps_are_not_checked_where_the_rate_is_a_stand_in(tmp_path):
    # `check_time_stamps=False` (a folder read without its rate) keeps reading a pick as written
    path = _csv(tmp_path, [f"{each:.1f}" for each in _TENTHS + [90 + each for each in _TENTHS]])
    recording = read_recording(path, channels=["ECG"], sampling_rate=10.0, check_time_stamps=False)
    assert recording.data.shape == (1, 600)


# A time column of times of day with their UTC offset ("09:00:00.0+01:00", ISO 8601's time with its zone) was refused
# as a cell that is no number; it is read as times of day are: seconds from its first stamp, no start, on past
# midnight, the offset taken off, so that a change of it (daylight saving) is no hour back.
def _times_of_day(tmp_path, cells: list[str]) -> str:
    path = tmp_path / "zoned.csv"
    rows = [f"{cell},{index % 7}" for index, cell in enumerate(cells)]
    path.write_text("time,ECG\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def _tenths(start: str, count: int, zone: str) -> list[str]:
    """`count` stamps 0.1 s apart from the time of day `start` (HH:MM:SS), each written with `zone` after it."""
    first = datetime.datetime.strptime(start, "%H:%M:%S")
    return [
        (first + datetime.timedelta(seconds=index / 10)).strftime("%H:%M:%S.%f")[:-5] + zone for index in range(count)
    ]


@pytest.mark.parametrize("channels", [None, ["ECG"]])
@pytest.mark.parametrize(
    "cells",
    [
        _tenths("09:00:00", 300, "+01:00"),
        _tenths("09:00:00", 300, "Z"),
        _tenths("09:00:00", 300, "-0530"),
        _tenths("23:59:50", 300, "+01:00"),  # past local midnight
        _tenths("00:59:50", 300, "+01:00"),  # past UTC midnight, not local
        _tenths("02:59:50", 100, "+02:00") + _tenths("02:00:00", 200, "+01:00"),  # daylight saving's change
    ],
)
def test_times_of_day_with_their_offset_are_read(tmp_path, cells, channels):
    recording = read_recording(_times_of_day(tmp_path, cells), channels=channels, sampling_rate=10.0)
    assert recording.data.shape == (1, 300) and recording.start is None
    np.testing.assert_array_equal(recording.data[0], [index % 7 for index in range(300)])


def test_a_gap_in_times_of_day_with_their_offset_is_named_as_written(tmp_path):
    cells = _tenths("09:00:00", 300, "+01:00") + _tenths("09:01:00", 300, "+01:00")
    with pytest.raises(CorruptFileError, match=r"09:00:29\.9\+01:00 to 09:01:00\+01:00 \(30 s of samples missing\)"):
        read_recording(_times_of_day(tmp_path, cells), sampling_rate=10.0)
    with pytest.raises(SamplingRateError, match="10 Hz"):  # and at another rate
        read_recording(_times_of_day(tmp_path, cells[:300]), sampling_rate=100.0)


# `citrus predict --plot` of a sleep stager drew the whole night unmarked while its sleep statistics counted only the
# seconds between --lights-off and --lights-on: the seconds outside them are now shaded, a dashed line at each.
_STAGES = ["W", "N1", "N2", "N3", "REM"]


def _stager(folder) -> str:
    import torch
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

    torch.manual_seed(0)
    config = tiny_config(
        num_labels=5, id2label=dict(enumerate(_STAGES)), label2id={s: i for i, s in enumerate(_STAGES)}
    )
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    return str(folder)


def _outside_lights(axis) -> tuple[list[tuple[float, float]], list[float]]:
    """The shaded spans outside lights out-on and the dashed lines an axis holds."""
    spans = [
        (float(patch.get_x()), float(patch.get_x() + patch.get_width()))
        for patch in axis.patches
        if patch.get_label() in ("outside lights out-on", "_nolegend_") and patch.get_hatch() is None
    ]
    lines = [float(line.get_xdata()[0]) for line in axis.lines if line.get_linestyle() == "--"]
    return spans, lines


@pytest.mark.parametrize(
    ("options", "spans", "lines"),
    [
        (["--lights-off", "4", "--lights-on", "16"], [(0.0, 4.0), (16.0, 20.0)], [4.0, 16.0]),
        (["--lights-off", "6"], [(0.0, 6.0)], [6.0]),
        ([], [], []),
    ],
)
def test_predict_plot_of_a_sleep_stager_marks_lights_out_and_on(tmp_path, monkeypatch, options, spans, lines):
    from test_figures_audit66 import _saved_figures

    from citrus_hf.commands.main import main

    pytest.importorskip("matplotlib")
    saved = _saved_figures(monkeypatch)
    night = tmp_path / "night.npy"
    np.save(night, np.sin(np.arange(2000) / 7.0)[None].astype(np.float32))  # 20 s at 100 Hz: ten 2 s windows
    plot = tmp_path / "night.png"
    argv = ["predict", _stager(tmp_path / "stager"), str(night), "--sampling-rate", "100", "--plot", str(plot)]
    assert main([*argv, *options]) == 0
    hypnogram, probability = saved[-1].axes[:2]
    for axis in (hypnogram, probability):
        assert _outside_lights(axis) == (spans, lines)
    legend = [text.get_text() for text in probability.get_legend().get_texts()]
    assert ("outside lights out-on" in legend) == bool(spans)
