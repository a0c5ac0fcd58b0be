"""Audit 67, CSV recordings as a lab's own folder holds them: time columns under the names loggers and other locales
give them (read as channels and never checked against the rate)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from citrus_hf.data.errors import SamplingRateError
from citrus_hf.data.readers import read_recording

LOGGER = "citrus_hf.data.readers.files"
RATE = 100
# 10 s of one channel around 100 with two decimals, as an EMG envelope or a temperature is exported
ONE_CHANNEL = np.round(100 + 50 * np.sin(2 * np.pi * 1.5 * np.arange(1000) / RATE), 2)


def _written(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- 5. time columns under other names


@pytest.mark.parametrize(
    "name",
    ["Time_sec", "time_seconds", "Elapsed (s)", "sec", "Relative Time", "Zeit [s]", "Temps (s)", "t [ms]", "Time(s)"],
)
def test_time_columns_under_common_names_are_time_stamps_checked_against_the_rate(tmp_path, caplog, name):
    """Read as a channel (a ramp pre-trained on and counted in the channel-hours) and never checked against the
    rate."""
    scale = 1000 if "ms" in name else 1
    stamps = np.arange(500) / RATE * scale
    text = f"{name},ECG\n" + "".join(f"{stamp:.3f},{value:.6f}\n" for stamp, value in zip(stamps, ONE_CHANNEL))
    path = _written(tmp_path / "timed.csv", text)
    with caplog.at_level("WARNING", logger=LOGGER):
        read = read_recording(path, sampling_rate=RATE)
    assert read.channel_names == ["ECG"]
    assert f"{name!r} (time stamps) not read as channels" in caplog.text
    with pytest.raises(
        SamplingRateError, match=rf"its time column {re.escape(repr(name))} steps .*--sampling-rate 100"
    ):
        read_recording(path, sampling_rate=250)


def test_a_time_column_named_in_seconds_is_read_in_seconds(tmp_path):
    """A name that says its unit ("Time_sec") is held to it: stamps of 10 every sample at 100 Hz are 10 s apart,
    not 10 ms."""
    text = "Time_sec,ECG\n" + "".join(f"{10 * row},{value}\n" for row, value in enumerate(ONE_CHANNEL[:300]))
    with pytest.raises(SamplingRateError, match=r"'Time_sec' steps 10 s between samples \(0\.1 Hz\)"):
        read_recording(_written(tmp_path / "timed.csv", text), sampling_rate=RATE)


def test_a_column_that_rises_like_a_clock_under_another_name_is_warned_of(tmp_path, caplog):
    """A clock under a name no list holds ("Uhrzeit"), a sample counter and a header-less file's clock are read as
    channels, as written, and said to look like one."""
    stamps = np.arange(300) / RATE
    files = {
        "named.csv": "Uhrzeit,ECG\n" + "".join(f"{s:.2f},{v}\n" for s, v in zip(stamps, ONE_CHANNEL)),
        "counted.csv": "Sample,ECG\n" + "".join(f"{n},{v}\n" for n, v in enumerate(ONE_CHANNEL[:300])),
        "bare.csv": "".join(f"{s:.2f},{v}\n" for s, v in zip(stamps, ONE_CHANNEL)),
        "plain.csv": "ECG,PPG\n" + "".join(f"{v},{-v}\n" for v in ONE_CHANNEL[:300]),
    }
    for name, text in files.items():
        caplog.clear()
        with caplog.at_level("WARNING", logger=LOGGER):
            read = read_recording(_written(tmp_path / name, text), sampling_rate=RATE)
        assert read.data.shape == (2, 300)
        if name == "plain.csv":
            assert not caplog.records
            continue
        column, like = {
            "named.csv": ("'Uhrzeit' rises by 0.01", ", as time stamps at 100 Hz in s do"),
            "counted.csv": ("'Sample' rises by 1", " (it counts the samples)"),
            "bare.csv": ("'0' rises by 0.01", ", as time stamps at 100 Hz in s do"),
        }[name]
        assert f"{name}: column {column} every sample{like}, and is read as a channel" in caplog.text
        assert "--channels" in caplog.text
