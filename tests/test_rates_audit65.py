"""Rates of a user's own files and sets (audit 65): a CSV's time column against the rate a folder is read at, a
`citrus predict` run over several files that meets one of several rates, a multi-frequency WFDB record in a folder of
recordings, and a `sampling_rate` column that is not one number per row."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf.commands.main import main
from citrus_hf.data.alignment import align_corpus
from citrus_hf.data.errors import SamplingRateError
from citrus_hf.data.recording_folders import load_recording_folder
from citrus_hf.data.splits import load_split, load_task_splits, own_dataset_info

pytest.importorskip("wfdb")


def _timed_csv(path, rate: float, seconds: float = 4.0, seed: int = 0, channels=("ECG", "EDA")) -> None:
    """A CSV of a `time` column stepping at `rate` and `channels`."""
    rng = np.random.default_rng(seed)
    time = np.arange(int(seconds * rate)) / rate
    samples = rng.standard_normal((len(time), len(channels)))
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ",".join(("time", *channels))
    np.savetxt(path, np.c_[time, samples], delimiter=",", header=header, comments="", fmt="%.5f")


def _class_folders(root, rate: float) -> None:
    for split, count in (("train", 3), ("test", 2)):
        for label in ("a", "b"):
            for index in range(count):
                # (test's own seeds: a byte-identical copy of a training file in test is left out of it)
                _timed_csv(root / split / label / f"{index}.csv", rate, seed=index + 10 * (split == "test"))


def _multi_frequency_record(folder, name: str = "mf", rate: int = 100, frames: int = 400) -> None:
    """A WFDB record of `fast` at 4 samples per frame (4 x `rate` Hz) beside `slow` at `rate` Hz."""
    folder.mkdir(parents=True, exist_ok=True)
    fast = np.round(1000 * np.sin(2 * np.pi * 30 * np.arange(4 * frames) / (4 * rate))).astype("<i2")
    slow = np.round(np.linspace(0, 1000, frames)).astype("<i2")
    np.concatenate([fast.reshape(frames, 4), slow[:, None]], axis=1).tofile(folder / f"{name}.dat")
    (folder / f"{name}.hea").write_text(
        f"{name} 2 {rate} {frames}\n{name}.dat 16x4 1000/mV 16 0 0 0 0 fast\n{name}.dat 16 1000/mV 16 0 0 0 0 slow\n"
    )


def _one_rate_record(folder, name: str, rate: int = 100, frames: int = 400) -> None:
    """A WFDB record of one signal at `rate` Hz."""
    folder.mkdir(parents=True, exist_ok=True)
    np.round(1000 * np.sin(np.arange(frames) / 5)).astype("<i2").tofile(folder / f"{name}.dat")
    (folder / f"{name}.hea").write_text(f"{name} 1 {rate} {frames}\n{name}.dat 16 1000/mV 16 0 0 0 0 ecg\n")


# ---------------------------------------------------------------- a CSV's time column against the folder's rate


def test_a_labelled_folder_of_csv_files_is_read_at_the_rate_their_time_stamps_say(tmp_path, capsys):
    """50 Hz CSV files given --sampling-rate 100 were fine-tuned on (and summarised) at 100 Hz without a word, while
    `citrus predict` refused one of the same files."""
    folder = tmp_path / "set"
    _class_folders(folder, rate=50)
    with pytest.raises(SamplingRateError, match=r"0\.csv: its time column 'time' steps 0\.02 s .*--sampling-rate 50"):
        load_task_splits(folder, sampling_rate=100, require_validation=False)
    assert main(["data", "info", str(folder), "--sampling-rate", "100"]) == 2
    error = capsys.readouterr().err
    assert "time column 'time'" in error and "(50 Hz), and the sampling rate given is 100 Hz" in error
    assert "--channels" not in error.splitlines()[-1]  # an option these commands do not have
    splits = load_task_splits(folder, sampling_rate=50, require_validation=False)
    assert np.shape(splits.train[0]["input_values"]) == (2, 200)  # the time column is no channel


def test_a_folder_of_csv_recordings_for_pretraining_is_checked_too(tmp_path, capsys):
    folder = tmp_path / "corpus"
    for index in range(2):
        _timed_csv(folder / f"{index}.csv", rate=50, seed=index)
    argv = ["pretrain", "--dataset", str(folder), "--sampling-rate", "100", "--model-config", "tiny", "--max-steps",
            "1", "--output-dir", str(tmp_path / "run"), "--no-show-progress"]  # fmt: skip
    assert main(argv) == 2
    assert "0.csv: its time column 'time' steps 0.02 s" in capsys.readouterr().err
    assert len(load_split(folder, "train", sampling_rate=50)) == 2


def test_a_metadata_rate_is_checked_against_its_files_time_stamps(tmp_path):
    folder = tmp_path / "set"
    for split, count in (("train", 3), ("test", 2)):
        for index in range(count):
            _timed_csv(folder / split / f"{index}.csv", rate=50, seed=index + 10 * (split == "test"))
    rows = [f"{split}/{index}.csv,{index % 2},{rate}" for split, count in (("train", 3), ("test", 2))
            for index, rate in zip(range(count), (50, 100, 50))]  # fmt: skip
    (folder / "metadata.csv").write_text("file_name,label,sampling_rate\n" + "\n".join(rows) + "\n")
    with pytest.raises(SamplingRateError, match=r"1\.csv: .*in the file's metadata row \(sampling_rate 50\)"):
        load_recording_folder(folder)


# ---------------------------------------------------------------- citrus predict over several files


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> str:
    return str(save_tiny_classifier(tmp_path_factory.mktemp("classifier")))


def test_predict_leaves_out_a_record_of_several_rates_and_keeps_the_others(classifier, tmp_path, capsys):
    """One multi-rate file stopped a run over a folder and threw away the recordings scored before it."""
    folder = tmp_path / "records"
    _one_rate_record(folder, "a")
    _multi_frequency_record(folder, "b")
    _one_rate_record(folder, "c")
    output = tmp_path / "out.jsonl"
    assert main(["predict", classifier, str(folder), "--backend", "torch", "--output", str(output)]) == 2
    captured = capsys.readouterr()
    assert "left out: " in captured.err and "holds signals at 2 rates (400 Hz: fast; 100 Hz: slow)" in captured.err
    assert "1 of 3 recording(s) could not be read and were left out" in captured.err
    assert "the other 2 were scored and written" in captured.err
    written = [json.loads(line)["recording"] for line in output.read_text().splitlines()]
    assert written == [str(folder / "a.hea"), str(folder / "c.hea")]
    # one file alone is refused, saying which channels to pick
    assert main(["predict", classifier, str(folder / "b.hea"), "--backend", "torch"]) == 2
    assert "pick channels of one rate by name (--channels" in capsys.readouterr().err


def test_predict_leaves_out_a_csv_whose_time_stamps_say_another_rate(classifier, tmp_path, capsys):
    folder = tmp_path / "csv"
    _timed_csv(folder / "a.csv", rate=100, channels=("ECG",))
    _timed_csv(folder / "b.csv", rate=50, channels=("ECG",))
    assert main(["predict", classifier, str(folder), "--sampling-rate", "100", "--backend", "torch"]) == 2
    captured = capsys.readouterr()
    assert "a.csv:" in captured.out and "b.csv: its time column 'time'" in captured.err
    assert "1 of 2 recording(s) could not be read" in captured.err


# ---------------------------------------------------------------- a multi-frequency WFDB record in a folder


def test_a_multi_frequency_wfdb_record_in_a_folder_is_one_recording_per_rate(tmp_path, capsys):
    """It stopped `citrus data info` and `citrus pretrain` with advice to pass --channels, which neither has; a
    multi-rate EDF file is read as one recording per rate."""
    folder = tmp_path / "corpus"
    _multi_frequency_record(folder)
    rows = load_recording_folder(folder)
    by_name = {row["recording"]: row for row in rows}
    assert sorted(by_name) == ["mf.hea@100Hz", "mf.hea@400Hz"]
    assert by_name["mf.hea@400Hz"]["sampling_rate"] == 400 and np.shape(by_name["mf.hea@400Hz"]["input_values"]) == (
        1,
        1600,
    )
    assert by_name["mf.hea@100Hz"]["sampling_rate"] == 100
    assert main(["data", "info", str(folder)]) == 0
    assert "sampling rate (Hz): 100, 400" in capsys.readouterr().out


def test_a_multi_frequency_wfdb_record_in_a_labelled_set_is_refused_as_an_edf_one_is(tmp_path):
    folder = tmp_path / "set"
    for split in ("train", "test"):
        for label in ("a", "b"):
            _one_rate_record(folder / split / label, "r1", frames=400 + 10 * (split == "test"))
    _multi_frequency_record(folder / "train" / "a", "mf")
    with pytest.raises(ValueError, match=r"mf\.hea holds signals at several rates; an example of a labelled set"):
        load_recording_folder(folder)


# ---------------------------------------------------------------- a sampling_rate column of one number per row


@pytest.fixture(params=[[500.0, 50.0], "250 Hz"], ids=["per-channel", "text"])
def odd_rates_set(request, tmp_path):
    rng = np.random.default_rng(0)

    def split(count):
        return datasets.Dataset.from_dict(
            {
                "input_values": [rng.standard_normal((2, 400)).astype(np.float32) for _ in range(count)],
                "label": [index % 2 for index in range(count)],
                "sampling_rate": [request.param] * count,
            }
        )

    folder = tmp_path / "set"
    datasets.DatasetDict({"train": split(6), "test": split(4)}).save_to_disk(str(folder))
    return folder


def test_data_info_refuses_a_sampling_rate_that_is_not_one_number_per_row(odd_rates_set, capsys):
    """numpy's "setting an array element with a sequence" / "could not convert string to float"."""
    with pytest.raises(ValueError, match=r"`sampling_rate` of the train split holds .*a number"):
        own_dataset_info(odd_rates_set)
    assert main(["data", "info", str(odd_rates_set)]) == 2
    assert "`sampling_rate` of the train split holds" in capsys.readouterr().err


def test_pretraining_refuses_a_sampling_rate_that_is_not_one_number_per_row(odd_rates_set):
    """`citrus pretrain` ended in a traceback inside the alignment (float() of a list)."""
    with pytest.raises(ValueError, match=r"`sampling_rate` of the train split holds .*it must be each row's rate"):
        align_corpus(load_split(odd_rates_set, "train"), tiny_config(num_channels=1))
