"""Audit 67, CSV recordings as a lab's own folder holds them: a one-channel spreadsheet export with decimal commas
(read as two channels, its whole and its decimal parts), time columns under the names loggers and other locales
give them (read as channels and never checked against the rate), and decimal commas beside tabs, spaces and
semicolons, or under a row of units (refused as "not a numeric CSV file"). `citrus predict` and a folder read alike."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from tiny_configs import save_tiny_classifier

from citrus_hf.commands.main import main
from citrus_hf.data.errors import CorruptFileError, SamplingRateError
from citrus_hf.data.readers import read_csv_matrix, read_recording
from citrus_hf.data.recording_folders import load_recording_folder

LOGGER = "citrus_hf.data.readers.files"
RATE = 100
# 10 s of one channel around 100 with two decimals, as an EMG envelope or a temperature is exported
ONE_CHANNEL = np.round(100 + 50 * np.sin(2 * np.pi * 1.5 * np.arange(1000) / RATE), 2)
# two channels whose first sample is whole ("0;10"), as a recording that starts at rest is
TWO_CHANNELS = np.stack(
    [np.round(100 * np.sin(2 * np.pi * 2 * np.arange(300) / RATE), 2), np.round(10 * np.cos(np.arange(300) / 9), 3)]
)
TWO_CHANNELS[1, 0] = 10.0


def _comma(value: float, form: str = "g") -> str:
    """`value` written with a decimal comma, as a locale whose decimal mark is the comma writes it."""
    return f"{value:{form}}".replace(".", ",")


def _rows(samples: np.ndarray, delimiter: str, form: str = "g") -> str:
    """`samples` (channels, time) as text rows of decimal-comma cells apart by `delimiter`."""
    return "".join(delimiter.join(_comma(value, form) for value in row) + "\n" for row in samples.T)


def _written(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- 1. one column with decimal commas


@pytest.mark.parametrize(
    "form",
    [".2f", "g"],  # a fixed number of places ("100,00"); a spreadsheet's General format ("100", "104,7", "109,37")
)
def test_a_one_column_export_with_decimal_commas_is_one_channel(tmp_path, form):
    """Read as two channels, its whole parts and its decimals ("104,71" as 104 and 71): the channel-hours doubled."""
    values = ONE_CHANNEL if form != "g" else np.concatenate([[100.0], ONE_CHANNEL])  # a whole value: "100"
    read = read_recording(_written(tmp_path / "emg.csv", _rows(values[None], ",", form)), sampling_rate=RATE)
    assert read.data.shape == (1, values.size)
    np.testing.assert_allclose(read.data[0], values)
    # a header naming its one channel was "not a numeric CSV file"
    named = read_recording(
        _written(tmp_path / "named.csv", "EMG\n" + _rows(values[None], ",", form)), sampling_rate=RATE
    )
    assert named.channel_names == ["EMG"]
    np.testing.assert_allclose(named.data[0], values)


def test_two_columns_of_whole_numbers_stay_two_channels(tmp_path):
    """The reading a decimal comma would give is not taken where the file cannot be one column of decimals: second
    numbers of several lengths one of which ends in 0 (fixed places have one length, a General format drops trailing
    zeros), a negative second number."""
    counts = np.random.default_rng(0).integers(0, 1024, size=(2, 500))
    for name, samples in {"adc.csv": counts, "signed.csv": counts - 512}.items():
        text = "".join(f"{a},{b}\n" for a, b in samples.T)
        read = read_recording(_written(tmp_path / name, text), sampling_rate=RATE)
        np.testing.assert_array_equal(read.data, samples)
    read = read_recording(_written(tmp_path / "short.csv", "100,0\n104,71\n"), sampling_rate=RATE)
    np.testing.assert_array_equal(read.data, [[100, 104], [0, 71]])


def test_a_comma_file_that_reads_either_way_is_refused_naming_both_and_the_fix(tmp_path):
    """Every second number of one length and none padded ("36,71": a slow temperature to two places, or two channels
    of counts of three digits): no form tells, so neither is guessed. A header row decides."""
    slow = np.round(36.75 + 0.04 * np.sin(np.arange(400) / 30), 2)  # 36,71 to 36,79: no decimal part starts with 0
    text = _rows(slow[None], ",", ".2f")
    with pytest.raises(CorruptFileError, match=r"decimal comma.*two channels of whole numbers.*header") as error:
        read_recording(_written(tmp_path / "temperature.csv", text), sampling_rate=RATE)
    assert "temperature.csv" in str(error.value) and "'36,7" in str(error.value)
    one = read_recording(_written(tmp_path / "one.csv", "TEMP\n" + text), sampling_rate=RATE)
    np.testing.assert_allclose(one.data[0], slow)
    two = read_recording(_written(tmp_path / "two.csv", "A,B\n" + text), sampling_rate=RATE)
    assert two.channel_names == ["A", "B"] and two.data.shape == (2, slow.size)


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


# ---------------------------------------------------------------- 9. decimal commas refused, a units row


def test_decimal_commas_beside_semicolons_tabs_and_spaces_are_read(tmp_path):
    """A semicolon file whose first row is whole ("0;10"), a tab- or space-separated file, and a comma file whose
    cells are quoted were "not a numeric CSV file (could not convert string '12,53')"."""
    late = np.concatenate([np.zeros((2, 80)), TWO_CHANNELS], axis=1)  # no comma in the first 80 rows
    files = {
        "semicolon.csv": ("A;B\n" + _rows(TWO_CHANNELS, ";"), TWO_CHANNELS),
        "semicolon_bare.csv": (_rows(TWO_CHANNELS, ";"), TWO_CHANNELS),
        "late.csv": ("A;B\n" + _rows(late, ";"), late),
        "tab.tsv": ("A\tB\n" + _rows(TWO_CHANNELS, "\t"), TWO_CHANNELS),
        "space.txt": (_rows(TWO_CHANNELS, " "), TWO_CHANNELS),
        "space_from_a_comma.txt": (_rows(TWO_CHANNELS[:, 1:], " "), TWO_CHANNELS[:, 1:]),  # first row "0,7 9,9"
        "quoted.csv": (
            '"A","B"\n' + "".join(",".join(f'"{_comma(v)}"' for v in row) + "\n" for row in TWO_CHANNELS.T),
            TWO_CHANNELS,
        ),
    }
    for name, (text, samples) in files.items():
        read = read_recording(_written(tmp_path / name, text), sampling_rate=RATE)
        assert read.data.shape == samples.shape, name
        np.testing.assert_allclose(read.data, samples, err_msg=name)


def test_thousands_separators_beside_a_decimal_comma_are_named(tmp_path):
    text = "A;B\n" + "".join(f"1.{n:03d},5;2,25\n" for n in range(20))
    with pytest.raises(CorruptFileError, match=r"'1\.000,5'.*thousands.*decimal point"):
        read_recording(_written(tmp_path / "thousands.csv", text), sampling_rate=RATE)
    english = "A\tB\n1,253\t987.5\n2,253\t988.5\n"  # a comma between thousands, a decimal point
    with pytest.raises(CorruptFileError, match=r"'1,253' and '987\.5'.*thousands"):
        read_recording(_written(tmp_path / "english.tsv", english), sampling_rate=RATE)
    late = "A;B\n" + "".join(f"{n},5;2,25\n" for n in range(60)) + "1.253,5;2\n"  # past the rows looked at first
    with pytest.raises(CorruptFileError, match=r"'1\.253,5'.*separator between thousands.*without thousands"):
        read_recording(_written(tmp_path / "late.csv", late), sampling_rate=RATE)
    with pytest.raises(CorruptFileError, match=r"'1,5'.*written with a decimal comma: read it with decimal_comma=True"):
        read_csv_matrix(_written(tmp_path / "plain.csv", "1,5;2\n"), delimiter=";")


def test_a_units_row_under_the_names_gives_the_channels_units(tmp_path):
    """A row of units under the names was "could not convert string 'mV'"."""
    samples = TWO_CHANNELS.T
    text = "A,B\nmV,[µV]\n" + "".join(f"{a:g},{b:g}\n" for a, b in samples)
    read = read_recording(_written(tmp_path / "units.csv", text), sampling_rate=RATE)
    assert read.channel_names == ["A", "B"] and read.units == ["mV", "µV"]
    np.testing.assert_allclose(read.data, TWO_CHANNELS)
    assert read_recording(tmp_path / "units.csv", ["B"], sampling_rate=RATE).units == ["µV"]
    # a time column's unit in that row is its stamps' unit: "ms" under "time", held to it
    stamps = np.arange(300) * 10
    timed = "time;ECG\nms;mV\n" + "".join(f"{s};{_comma(v)}\n" for s, v in zip(stamps, ONE_CHANNEL))
    read = read_recording(_written(tmp_path / "timed.csv", timed), sampling_rate=RATE)
    assert read.channel_names == ["ECG"] and read.units == ["mV"]
    seconds = timed.replace("ms;mV", "s;mV")
    with pytest.raises(SamplingRateError, match=r"'time' steps 10 s between samples"):
        read_recording(_written(tmp_path / "seconds.csv", seconds), sampling_rate=RATE)


def test_a_second_row_of_text_that_is_no_units_is_named_with_the_fix(tmp_path):
    text = "A,B\nleft arm electrode,right arm electrode\n" + "".join(f"{a:g},{b:g}\n" for a, b in TWO_CHANNELS.T)
    with pytest.raises(CorruptFileError, match=r"second row, 'left arm electrode,right arm electrode'.*remove it"):
        read_recording(_written(tmp_path / "described.csv", text), sampling_rate=RATE)


# ---------------------------------------------------------------- citrus predict and a folder read alike


def test_predict_and_a_folder_read_a_csv_alike(tmp_path, capsys, own_datasets_cache):
    folder = tmp_path / "own"
    folder.mkdir()
    stamps = np.arange(ONE_CHANNEL.size) / RATE
    text = "Zeit [s];EMG\ns;mV\n" + "".join(f"{_comma(s)};{_comma(v)}\n" for s, v in zip(stamps, ONE_CHANNEL))
    _written(folder / "a.csv", text)
    _written(folder / "b.csv", _rows(ONE_CHANNEL[None], ",", ".2f"))
    read = {name: read_recording(folder / name, sampling_rate=RATE) for name in ("a.csv", "b.csv")}
    assert all(recording.data.shape == (1, ONE_CHANNEL.size) for recording in read.values())
    rows = load_recording_folder(folder, sampling_rate=RATE)
    for row in rows:
        np.testing.assert_array_equal(np.asarray(row["input_values"]), read[row["recording"]].data.astype(np.float32))
    classifier = str(save_tiny_classifier(tmp_path / "classifier"))
    output = tmp_path / "windows.jsonl"
    argv = ["predict", classifier, str(folder), "--sampling-rate", str(RATE), "--backend", "torch"]
    assert main([*argv, "--output", str(output)]) == 0, capsys.readouterr().err
    scored = {json.loads(line)["recording"]: json.loads(line) for line in output.read_text().splitlines()}
    assert scored[str(folder / "a.csv")]["channels"] == ["EMG"] and scored[str(folder / "b.csv")]["channels"] == ["0"]
    assert all(len(line["windows"]) == ONE_CHANNEL.size // 200 for line in scored.values())
