"""A CSV recording read for some of its channels (`citrus predict --channels`, a recording folder's channels,
`read_recording(..., channels=...)`) was parsed whole, every column held as float64 (twice over) and only then the
channels asked for picked: one channel of a 30 min, 8-channel file at 256 Hz peaked at 59 MB for its 3.7 MB, and a
day-long file at 2.8 GB. The file is now parsed in blocks of lines of its full width, each checked as the whole file
was and cut to the channels asked for before the next is read. These tests hold the memory to the result, and the
values and the refusals to those of a whole read (a file parsed in one block is parsed as numpy parsed it before)."""

from __future__ import annotations

import numpy as np
import pytest
from memory_peaks import peak_growth

import citrus_hf.configuration_citrus  # noqa: F401  (imported by the readers on first use: not to be measured)
from citrus_hf.data import readers
from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import arff_csv

RATE = 256
NAMES = [f"EEG{index}" for index in range(8)]


def _peak_growth(tmp_path, channels, minutes=(1, 2)):
    """The growth of tracemalloc's peak per byte of the recording read, from a file of the first of `minutes` of 8
    channels at `RATE` to one of the second (fixed costs cancel): the files are written before any is measured."""
    for length in minutes:
        signal = np.random.default_rng(length).standard_normal((RATE * 60 * length, len(NAMES)))
        np.savetxt(tmp_path / f"{length}.csv", signal, delimiter=",", fmt="%.5f", header=",".join(NAMES), comments="")
    return peak_growth(
        lambda length: readers.read_recording(tmp_path / f"{length}.csv", channels, sampling_rate=RATE).data, minutes
    )


@pytest.mark.parametrize("channels", [["EEG3"], ["6", "EEG1"]])
def test_some_channels_of_a_csv_hold_about_their_own_size(tmp_path, channels):
    """Was 16x (one channel) and 8x (two) the channels read: every column parsed and copied before the pick."""
    growth = _peak_growth(tmp_path, channels)
    assert growth < 1.5, growth


def test_every_channel_of_a_csv_is_read_without_a_second_copy(tmp_path):
    """Was 2x the recording: numpy's (time, channels) array and a float64 copy of it that changed nothing."""
    growth = _peak_growth(tmp_path, None)
    assert growth < 1.5, growth


# Files as the readers meet them, each with the channels asked for: a block of a few lines makes each of them many
# blocks, to be read as the whole file is.
FILES = {
    "header": ("time,a,b,c\n" + "".join(f"{i / 10},{i},{-i * 0.5},{i % 7}\n" for i in range(60)), ["c", "a"]),
    "no header": ("".join(f"{i}.25 {i * 2}.5 {i % 3}\n" for i in range(50)), ["2", "0"]),
    "trailing delimiter": ("a;b;\n" + "".join(f"{i};{i * 3};\n" for i in range(40)), ["b"]),
    "decimal comma": ("a;b\n" + "".join(f"{i},5;{i * 2},25\n" for i in range(40)), ["b"]),
    "units row": ("ECG;EDA\nmV;uS\n" + "".join(f"{i};{i * 0.1:.1f}\n" for i in range(40)), ["EDA"]),
    "quoted header break": ('"EC\nG",b\n' + "".join(f"{i},{i + 1}\n" for i in range(40)), ["EC\nG"]),
    "comments and blanks": ("a,b\n" + "".join(f"{i},{i}\n\n# note\n" for i in range(40)), ["b"]),
    "missing cells": ("a,b\n" + "".join(f"{i},{'' if i % 9 == 4 else i}\n" for i in range(40)), ["b"]),
    "epoch clock": ("timestamp_s,a\n" + "".join(f"{1.7e9 + i / 10},{i}\n" for i in range(40)), ["a"]),
    "pandas index": (
        ",a,b\n" + "".join(f"2024-01-01 00:00:{i // 10:02d}.{i % 10}00,{i},{-i}\n" for i in range(40)),
        ["time", "b"],
    ),
}


@pytest.mark.parametrize("name", FILES)
def test_a_csv_read_in_blocks_is_read_as_a_whole(tmp_path, monkeypatch, name):
    text, channels = FILES[name]
    path = tmp_path / "recording.csv"
    path.write_text(text, encoding="utf-8")
    whole = readers.read_recording(path, channels, sampling_rate=10)  # (one block: numpy's whole read)
    every = readers.read_recording(path, sampling_rate=10, check_time_stamps=False)
    monkeypatch.setattr(arff_csv, "_BLOCK_CHARS", 8, raising=False)
    blocks = readers.read_recording(path, channels, sampling_rate=10)
    assert blocks.channel_names == whole.channel_names == channels
    np.testing.assert_array_equal(blocks.data, whole.data)
    assert blocks.data.dtype == np.float64 and blocks.units == whole.units and blocks.start == whole.start
    # and as the channels of every one read (a time column is none of them)
    for row, channel in enumerate(channels):
        if channel in every.channel_names:
            np.testing.assert_array_equal(blocks.data[row], every.data[every.channel_names.index(channel)])
    assert blocks.start == every.start


def _refusal(path, channels):
    with pytest.raises(ValueError) as refused:
        readers.read_recording(path, channels, sampling_rate=10)
    return type(refused.value), str(refused.value)


# Damaged files, each refused for some channels as it is for all of them, its row named as in the whole file.
# (past the 50 rows under the header that `_csv_head` reads, whose widths it checks itself)
DAMAGED = {
    "a short row": "a,b,c\n" + "1,2,3\n" * 60 + "4,5\n" + "1,2,3\n" * 5,
    "a wide row": "a,b,c\n" + "1,2,3\n" * 60 + "4,5,6,7\n" + "1,2,3\n" * 5,
    "a cut last line": "a,b,c\n" + "1,2,3\n" * 60 + "4,5",
    "a wide block after a short row": "a,b\n" + "1,2\n" * 60 + "1,2,3\n" * 30 + "1,2\n",
    "a word": "a,b,c\n" + "1,2,3\n" * 60 + "4,x,6\n",
    "a value under a trailing delimiter": "a;b;\n" + "1;2;\n" * 60 + "1;2;9\n" + "1;2;\n" * 3,
    "one row": "a,b,c\n1,2,3\n",
    "more columns than rows": "a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,5\n",
    "no rows": "a,b\n# nothing\n",
    "a header of another width": "a;b\n" + "1;2;3\n" * 60,
}


@pytest.mark.parametrize("name", DAMAGED)
@pytest.mark.parametrize("channels", [["b"], None])
def test_a_damaged_csv_is_refused_for_some_channels_as_for_all(tmp_path, monkeypatch, name, channels):
    path = tmp_path / "damaged.csv"
    path.write_text(DAMAGED[name], encoding="utf-8")
    whole = _refusal(path, channels)
    monkeypatch.setattr(arff_csv, "_BLOCK_CHARS", 8, raising=False)
    assert _refusal(path, channels) == whole
    if channels is not None:
        assert whole == _refusal(path, None)  # (the same words as for every channel)
    assert whole[0] is CorruptFileError or "holds one row" in whole[1] or "columns, which read as" in whole[1]


def test_a_row_of_another_width_is_named_by_its_row_in_the_file(tmp_path, monkeypatch):
    path = tmp_path / "damaged.csv"
    path.write_text("a,b\n" + "1,2\n" * 70 + "1,2,3\n" + "1,2\n" * 40, encoding="utf-8")
    monkeypatch.setattr(arff_csv, "_BLOCK_CHARS", 8, raising=False)
    with pytest.raises(CorruptFileError, match=r"the first 2, data row 71 holds 3 cells"):
        readers.read_recording(path, ["b"], sampling_rate=10)


def test_a_channel_not_in_a_damaged_file_is_refused_after_the_damage(tmp_path):
    """The file's own refusal comes first, as when every column was read before the channels were picked."""
    path = tmp_path / "damaged.csv"
    path.write_text("a,b\n1,2\n1,2\n1,x\n", encoding="utf-8")
    with pytest.raises(CorruptFileError, match="not a numeric CSV"):
        readers.read_recording(path, ["nope"], sampling_rate=10)
    path.write_text("a,b\n1,2\n1,2\n1,3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"has no channel 'nope'"):
        readers.read_recording(path, ["nope"], sampling_rate=10)


# The start of a CSV read for some channels is read from its time column as for every channel: the unit its stamps
# step in at the rate (a phone's stamps since it booted, in ns, give none; since 1970, in ms, the clock) and a missing
# first stamp filled from the next (the clocks audit's reading), which the first row alone cannot tell.
@pytest.mark.parametrize(
    "first_stamp, step, first_cell",
    [(1.7e12, 10.0, None), (8.64e14, 1e7, None), (1.7e12, 10.0, "")],
    ids=["ms since 1970", "ns since boot", "first stamp missing"],
)
def test_some_channels_of_a_timed_csv_start_where_every_channel_does(tmp_path, first_stamp, step, first_cell):
    rows = [f"{first_stamp + index * step:.0f},{index},{-index}" for index in range(200)]
    if first_cell is not None:
        rows[0] = f"{first_cell},0,0"
    path = tmp_path / "timed.csv"
    path.write_text("timestamp,a,b\n" + "\n".join(rows) + "\n", encoding="utf-8")
    whole = readers.read_recording(path, sampling_rate=100)
    picked = readers.read_recording(path, ["b"], sampling_rate=100)
    assert picked.start == whole.start
    assert picked.channel_names == ["b"]
    np.testing.assert_array_equal(picked.data, whole.data[[1]])
