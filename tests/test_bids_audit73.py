"""A BIDS dataset read natively (`--dataset ROOT`, ROOT/dataset_description.json): each recording's events.tsv gives
its examples (onset, duration, trial_type or the column `label_column` names), its channels.tsv's bad channels are
left out, its sidecar's SamplingFrequency is checked, and its subjects / sessions / runs are kept as columns."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from tiny_configs import write_edf

from citrus_hf.data.errors import SamplingRateError
from citrus_hf.data.recording_folders import load_recording_folder
from citrus_hf.data.splits import load_task_splits

RATE = 50
CHANNELS = ["C3", "Cz", "C4"]
FOLDERS = "citrus_hf.data.recording_folders"


def _signals(seed: int, seconds: int = 12) -> list[np.ndarray]:
    """One signal per channel of `seconds` at RATE, whole numbers so that EDF's 16-bit samples keep them exactly."""
    rng = np.random.default_rng(seed)
    return [np.round(rng.uniform(-100, 100, seconds * RATE)) for _ in CHANNELS]


def _tsv(path, header: list[str], rows: list[list]) -> None:
    path.write_text("\n".join("\t".join(str(cell) for cell in line) for line in [header, *rows]) + "\n")


def _participants(root, header, rows, described=None):
    """participants.tsv of `header` columns (after participant_id) and `rows`; participants.json `described`."""
    _tsv(root / "participants.tsv", ["participant_id", *header], rows)
    if described is not None:
        (root / "participants.json").write_text(json.dumps(described))


# a motor task's trials, as an OpenNeuro EEG set's events.tsv gives them: onset, duration, trial_type, value
EVENTS = [[1.0, 2.0, "left", 1], [4.0, 2.0, "right", 2], [7.5, 2.0, "left", 1]]


def _bids(root, subjects=("01", "02", "03"), events=EVENTS, sessions=(None,), rate=RATE, bad=None, sidecar=None):
    """A BIDS-EEG dataset at `root`: per subject (and session) one run of the motor task, an EDF file of CHANNELS with
    its events.tsv, channels.tsv (`bad`: `{subject: channel}` marked bad) and _eeg.json (`sidecar`: SamplingFrequency,
    default `rate`). Returns `{recording under root: its (channels, time) signals}`."""
    root.mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "motor", "BIDSVersion": "1.9.0"}))
    _tsv(root / "participants.tsv", ["participant_id"], [[f"sub-{subject}"] for subject in subjects])
    written = {}
    for number, subject in enumerate(subjects):
        for session in sessions:
            folder = root / f"sub-{subject}" / (f"ses-{session}" if session else "") / "eeg"
            folder.mkdir(parents=True)
            stem = f"sub-{subject}" + (f"_ses-{session}" if session else "") + "_task-motor_run-1"
            signals = _signals(number)
            write_edf(folder / f"{stem}_eeg.edf", signals, CHANNELS, rate, peak=200.0)
            written[(folder / f"{stem}_eeg.edf").relative_to(root).as_posix()] = np.stack(signals)
            _tsv(folder / f"{stem}_events.tsv", ["onset", "duration", "trial_type", "value"], events)
            status = [["bad" if (bad or {}).get(subject) == name else "good"] for name in CHANNELS]
            _tsv(
                folder / f"{stem}_channels.tsv",
                ["name", "type", "units", "status"],
                [[name, "EEG", "uV", *state] for name, state in zip(CHANNELS, status, strict=True)],
            )
            (folder / f"{stem}_eeg.json").write_text(
                json.dumps({"TaskName": "motor", "SamplingFrequency": rate if sidecar is None else sidecar})
            )
    return written


def test_each_event_of_a_bids_dataset_is_an_example_with_its_subject(tmp_path, own_datasets_cache):
    """Each events.tsv row is an example cut from its recording (onset, duration in seconds), labelled by trial_type,
    with the recording's subject, session, task and run; the subjects test_subjects names are the test split."""
    signals = _bids(tmp_path / "bids", sessions=("a", "b"))
    loaded = load_recording_folder(tmp_path / "bids", bids_options={"test_subjects": "03"})
    assert {split: len(rows) for split, rows in loaded.items()} == {"train": 12, "test": 6}
    assert set(loaded["test"]["subject"]) == {"03"} and set(loaded["train"]["subject"]) == {"01", "02"}
    assert set(loaded["train"]["session"]) == {"a", "b"} and set(loaded["train"]["run"]) == {"1"}
    first = loaded["train"][0]
    assert first["recording"] == "sub-01/ses-a/eeg/sub-01_ses-a_task-motor_run-1_eeg.edf"
    assert first["label"] == "left" and first["task"] == "motor" and first["start_seconds"] == 1.0
    np.testing.assert_allclose(
        np.asarray(first["input_values"]), signals[first["recording"]][:, RATE : 3 * RATE], atol=0.01
    )
    assert first["channel_names"] == CHANNELS and first["sampling_rate"] == RATE


def test_a_bids_dataset_is_carved_by_subject_and_asks_for_its_test_subjects(tmp_path, own_datasets_cache):
    """Without test_subjects every recording trains, and the refusal of a set without a test split names the option;
    with it, the validation carve keeps each subject on one side."""
    _bids(tmp_path / "bids", subjects=("01", "02", "03", "04", "05", "06"))
    with pytest.raises(ValueError, match=r"test_subjects=\[\"05\"\]"):
        load_task_splits(tmp_path / "bids")
    splits = load_task_splits(tmp_path / "bids", {"test_subjects": ["06"]}, require_validation=False)
    assert splits.carved_by == "subject"
    assert not set(splits.train["subject"]) & set(splits.validation["subject"])
    assert set(splits.test["subject"]) == {"06"}


def test_label_column_names_another_events_column(tmp_path, own_datasets_cache):
    """label_column=value labels the events by BIDS's value column (read as text: class names, not ids)."""
    _bids(tmp_path / "bids")
    splits = load_task_splits(tmp_path / "bids", {"label_column": "value", "test_subjects": "03"})
    assert splits.label_names == ["1", "2"]
    with pytest.raises(ValueError, match=r"no condition column .* label_column=NAME"):
        load_recording_folder(tmp_path / "bids", bids_options={"label_column": "condition"})


@pytest.mark.parametrize("duration", ["0", "n/a"])
def test_a_point_event_is_refused_naming_the_fix(tmp_path, own_datasets_cache, duration):
    """A point event (duration 0, or n/a) is refused as a metadata.csv's is, naming the events.tsv and the fix."""
    _bids(tmp_path / "bids", events=[[1.0, 2.0, "left", 1], [4.0, duration, "right", 2]])
    with pytest.raises(
        ValueError, match=r"_events.tsv: the event of .* at onset '?4.0'? .* onset t - w/2 and duration w"
    ):
        load_recording_folder(tmp_path / "bids")


def test_an_event_without_a_label_is_refused_naming_it(tmp_path, own_datasets_cache):
    _bids(tmp_path / "bids", events=[[1.0, 2.0, "left", 1], [4.0, 2.0, "n/a", 2]])
    with pytest.raises(ValueError, match=r"event at onset 4.0 has no trial_type \(n/a\).*label_column=NAME"):
        load_recording_folder(tmp_path / "bids")


def test_bad_channels_are_left_out_of_every_recording_said_once(tmp_path, own_datasets_cache, caplog):
    """A channel channels.tsv marks bad in one recording is left out of every recording (one set of channels)."""
    signals = _bids(tmp_path / "bids", bad={"02": "Cz"})
    with caplog.at_level(logging.WARNING, logger=FOLDERS):
        loaded = load_recording_folder(tmp_path / "bids", bids_options={"test_subjects": "03"})
    assert set(map(tuple, loaded["train"]["channel_names"])) == {("C3", "C4")}
    example = loaded["test"][0]
    expected = signals[example["recording"]][[0, 2], RATE : 3 * RATE]
    np.testing.assert_allclose(np.asarray(example["input_values"]), expected, atol=0.01)
    assert caplog.text.count("marked bad") == 1 and "Cz" in caplog.text


def test_a_sidecar_rate_that_is_not_the_files_is_refused(tmp_path, own_datasets_cache):
    _bids(tmp_path / "bids", sidecar=500)
    with pytest.raises(
        SamplingRateError, match=r"records 50 Hz and its sidecar .*_eeg.json says SamplingFrequency 500"
    ):
        load_recording_folder(tmp_path / "bids")


def test_an_inherited_sidecar_is_checked(tmp_path, own_datasets_cache):
    """A sidecar at the root (task-motor_eeg.json) applies to every motor recording, as BIDS inherits it."""
    root = tmp_path / "bids"
    _bids(root)
    for sidecar in root.rglob("sub-*_eeg.json"):
        sidecar.unlink()
    (root / "task-motor_eeg.json").write_text(json.dumps({"SamplingFrequency": 256}))
    with pytest.raises(SamplingRateError, match="task-motor_eeg.json says SamplingFrequency 256"):
        load_recording_folder(root)


def test_bids_options_for_a_folder_that_is_no_bids_dataset_are_refused(tmp_path):
    (tmp_path / "set").mkdir()
    np.save(tmp_path / "set" / "a.npy", np.zeros((1, 50), dtype=np.float32))
    with pytest.raises(ValueError, match="choose the events of a BIDS dataset"):
        load_task_splits(tmp_path / "set", {"label_column": "value"}, sampling_rate=50)
    with pytest.raises(ValueError, match="builder options of registered datasets"):
        load_task_splits(tmp_path / "set", {"labels_column": "value"}, sampling_rate=50)


def test_data_build_and_evaluate_take_the_bids_options(tmp_path, own_datasets_cache):
    """`citrus data build ROOT` saves the events the options choose; `citrus evaluate` reads the set with them (its
    first look at the training split too, which read the events by trial_type before)."""
    from datasets import load_from_disk

    from citrus_hf.commands.main import main

    root = tmp_path / "bids"
    _bids(root, events=[[1.0, 2.0, "n/a", 1], [4.0, 2.0, "n/a", 2], [7.5, 2.0, "n/a", 1]])
    options = ["label_column=value", "test_subjects=03"]
    argv = ["data", "build", str(root), "--output", str(tmp_path / "built"), "--dataset-options", *options]
    assert main(argv) == 0
    built = load_from_disk(str(tmp_path / "built"))
    assert sorted(built) == ["test", "train"] and set(built["test"]["subject"]) == {"03"}
    assert sorted(set(built["train"]["label"])) == ["1", "2"]
    argv = ["evaluate", "--datasets", str(root), "--arms", "prior", "--budgets", "1", "--seeds", "0"]
    argv += ["--dataset-options", *(f"{root}:{option}" for option in options)]
    assert main([*argv, "--output-dir", str(tmp_path / "eval"), "--no-show-progress"]) == 0


def test_a_recording_without_events_is_left_out_saying_so(tmp_path, own_datasets_cache, caplog):
    root = tmp_path / "bids"
    _bids(root)
    (root / "sub-02" / "eeg" / "sub-02_task-motor_run-1_events.tsv").unlink()
    with caplog.at_level(logging.WARNING, logger=FOLDERS):
        loaded = load_recording_folder(root)
    assert set(loaded["train"]["subject"]) == {"01", "03"}
    assert "1 recording file(s) under" in caplog.text and "have no events.tsv" in caplog.text


def test_derivatives_are_not_examples_a_second_time(tmp_path, own_datasets_cache):
    """A BIDS root's derivatives/ (and sourcedata/) hold processed copies of its recordings, events.tsv and all: read
    as raw data, every event was an example twice."""
    import shutil

    root = tmp_path / "bids"
    _bids(root)
    shutil.copytree(root / "sub-01", root / "derivatives" / "filtered" / "sub-01")
    shutil.copytree(root / "sub-01", root / "sourcedata" / "sub-01")
    loaded = load_recording_folder(root)
    assert len(loaded["train"]) == 9 and not any("derivatives" in name for name in loaded["train"]["recording"])
