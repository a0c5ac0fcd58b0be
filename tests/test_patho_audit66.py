"""Session 66, signal pathologies: one bad training file deciding the saved normalisation statistics, windows without
signal deciding a recording's label, 50 Hz mains at a 100 Hz contract, float64 files beyond float32's range in a
recording folder, an inf sample under --nan-policy interpolate, fp16 autocast and wide inputs, a baseline step in
float ADC counts."""

from __future__ import annotations

import logging

import datasets
import numpy as np
import pytest

from citrus_hf.data.alignment import channel_statistics

RATE = 250.0


def _amplitude_rows(poison: str | None = None, rows: int = 12, samples: int = 500) -> dict:
    """`rows` one-channel recordings of a 6 Hz tone of amplitude 10 or 14 (the class) in noise, row 0 poisoned as
    the audit's repro poisons one training file."""
    rng = np.random.default_rng(1)
    time = np.arange(samples) / RATE
    values = []
    for row in range(rows):
        amplitude = 10 if row % 2 == 0 else 14
        signal = amplitude * np.sin(2 * np.pi * 6 * time + rng.uniform(0, 6)) + 3 * rng.standard_normal(samples)
        values.append(signal[None].astype(np.float32))
    if poison == "spike":
        values[0][0, 123] = 1e6  # one electrode pop
    elif poison == "rail":
        values[0][0, 100:300] = 32767.0  # stuck at the int16 rail
    elif poison == "dc":
        values[0][0] += 1e4  # a DC offset
    elif poison == "unit":
        values[0] *= 1e6  # another unit
    return {
        "input_values": values,
        "label": [row % 2 for row in range(rows)],
        "recording": [f"train/{'low' if row % 2 == 0 else 'high'}/r{row}.npy" for row in range(rows)],
    }


# ---------------------------------------------------------------------------------------------- 1. statistics


@pytest.mark.parametrize("poison", ["spike", "rail", "dc", "unit"])
def test_one_row_that_dominates_a_channels_statistics_is_named(poison, caplog):
    """One training file (an electrode pop, 2 s at the rail, a DC offset, another unit) decided the saved per-channel
    statistics (std 7071 for a set of spread 9) without a word, and fitting fell to chance. The statistics stay as
    they were (published figures depend on them); a warning names the row, its file, the channel and the fix."""
    rows = _amplitude_rows(poison)
    joined = np.concatenate(rows["input_values"], axis=1).astype(np.float64)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        mean, std = channel_statistics(datasets.Dataset.from_dict(rows), where="amp train split")
    np.testing.assert_allclose(mean, joined.mean(axis=1), rtol=1e-9)
    np.testing.assert_allclose(std, joined.std(axis=1), rtol=1e-9)
    said = caplog.text
    assert "row 0 (train/low/r0.npy)" in said and "channel 0" in said and "amp train split" in said, said
    assert "clean or drop" in said and "--nan-policy" in said, said


def test_clean_rows_and_rows_of_two_amplitudes_give_no_warning(caplog):
    """A clean set, and one whose classes differ in amplitude by 3x (what dataset normalisation keeps), say nothing."""
    clean = _amplitude_rows()
    louder = _amplitude_rows()
    louder["input_values"] = [row * (3.0 if index % 2 else 1.0) for index, row in enumerate(louder["input_values"])]
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        for rows in (clean, louder):
            channel_statistics(datasets.Dataset.from_dict(rows))
    assert not caplog.records, caplog.text


def test_the_rows_are_named_by_their_number_in_the_users_split(caplog):
    """A pool carved out of train holds a selection of its rows: the warning names the row as the user's split
    numbers it (`row_numbers`), and without a `recording` column by its number alone."""
    rows = _amplitude_rows("dc")
    del rows["recording"]
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        channel_statistics(datasets.Dataset.from_dict(rows), row_numbers=np.arange(12) + 40)
    assert "channel 0: row 40 holds" in caplog.text and "(train/" not in caplog.text, caplog.text
