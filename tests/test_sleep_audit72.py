"""The sleep-staging audit's findings (audit72_sleep), end to end as a sleep researcher runs it: a negative
`max_wake_edge_minutes` (a common spelling of "no limit") cut each night's first and last minutes of sleep without a
word.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from tiny_configs import write_edf, write_edf_annotations

from citrus_hf.data import get_dataset_spec
from citrus_hf.data.errors import CitrusDataError
from citrus_hf.data.plans import resolve_options
from citrus_hf.data.sources.sleep_physionet import SLEEP_EDF_CHANNELS, pair_sleep_edf_files, sleep_edf_windows

START = datetime.datetime(2009, 8, 12, 23, 50)
STAGES = ("W", "N1", "N2", "N3", "REM")


def write_night(folder, stages, recording="SC4001", channels=SLEEP_EDF_CHANNELS[:1], slow=()):
    """A Sleep-EDF pair under `folder`: a PSG whose 100 Hz channels hold the time in seconds (and `slow` channels at
    1 Hz, as Sleep-EDF's respiration), and its hypnogram of back-to-back `(stage, seconds)`."""
    folder.mkdir(parents=True, exist_ok=True)
    seconds = sum(duration for _, duration in stages)
    ramp = np.arange(seconds * 100) / 100
    signals = [ramp] * len(channels) + [np.zeros(seconds)] * len(slow)
    rates = [100] * len(channels) + [1] * len(slow)
    write_edf(folder / f"{recording}E0-PSG.edf", signals, [*channels, *slow], rates, "uV", peak=5000.0, plus=False,
              start=START)  # fmt: skip
    items, onset = [], 0
    for stage, duration in stages:
        items.append((onset, duration, f"Sleep stage {stage}"))
        onset += duration
    write_edf_annotations(folder / f"{recording}EC-Hypnogram.edf", items, START)
    return folder


# ------------------------------------------------------------------ 1. a negative max_wake_edge_minutes is refused
def test_a_negative_max_wake_edge_is_refused_not_read_as_cutting_into_the_sleep(tmp_path):
    """-1 kept the epochs from 1 min after the first sleep epoch to 1 min before the last one: the night's first and
    last minutes of sleep were left out of the set without a word."""
    spec = get_dataset_spec("sleep_edf")
    with pytest.raises(CitrusDataError, match=r"'max_wake_edge_minutes' .* >= 0 .*null.*got -1"):
        resolve_options(spec, {"max_wake_edge_minutes": -1})
    write_night(tmp_path / "night", [("W", 60), ("2", 180), ("W", 60)])
    (pair,) = pair_sleep_edf_files(tmp_path / "night")
    with pytest.raises(ValueError, match=r"max_wake_edge_minutes=-1 .* >= 0 .*None"):
        list(sleep_edf_windows(pair, SLEEP_EDF_CHANNELS[:1], max_wake_edge_minutes=-1))
    # 0 keeps the sleep and no wake around it
    kept = [stage for _, stage, _ in sleep_edf_windows(pair, SLEEP_EDF_CHANNELS[:1], max_wake_edge_minutes=0)]
    assert kept == ["N2"] * 6
