"""`citrus` used with the mistakes a new user makes (the CLI audit of session 59): each is one line naming the problem
and the fix, before the work where it can be, and never a traceback or a silent wrong result.

- metadata files: a column of numbers in one split's file and text in another's (pandas reads each file on its own,
  and pyarrow failed with a traceback), an empty label cell, a `sampling_rate` that is no positive number;
- a WAV file cut short after its header (scipy's `UnboundLocalError` came through);
- transformers' publishing options (`--push_to_hub --hub_model_id`) point to `citrus push`; a settings file's
  misspelt key gets the setting meant; `--config` naming a folder says so;
- `citrus predict`: a channel named twice, a recording with fewer channels than the model was fitted on, an
  `--output` / `--plot` that cannot be written (checked before scoring), a damaged file among many (the rest are
  scored, the run ends with an error naming what was left out), and no Python-API notice for a multi-channel file;
- `citrus pretrain --mixed-precision fp16` on a CPU says one thing, and `citrus data build --output` refuses a
  model's folder.

The recordings are real: BasicMotions' IMU windows as files, and the EEG Motor Movement/Imagery EDF recording.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import pytest
import torch
from test_recording_folders import _motions_as_files
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import read_edf, read_recording
from citrus_hf.data.recordings import find_member
from citrus_hf.data.splits import load_task_splits
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor


def _error(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, lines
    return lines[0]


# ------------------------------------------------------------------------------------------- 1. metadata files


@pytest.fixture
def motions_folder(tmp_path):
    folder = tmp_path / "set"
    return folder, _motions_as_files(folder)


def _write_metadata(folder, rows) -> None:
    for split, split_rows in rows.items():
        pd.DataFrame(split_rows).to_csv(folder / split / "metadata.csv", index=False)


def test_a_metadata_column_of_numbers_in_one_split_and_text_in_another_names_both(motions_folder, capsys):
    """Ids 0, 1 in train/ and s0, s1 in test/ failed inside pyarrow with a 44-line traceback. An id column (subject,
    recording, session) is now kept as written where its ids are not all numbers; another column is refused."""
    folder, rows = motions_folder
    for split, split_rows in rows.items():
        for row in split_rows:
            row["device"] = int(row["subject"][1:]) if split == "train" else row["subject"]
            if split == "train":
                row["subject"] = int(row["subject"][1:])
    _write_metadata(folder, rows)
    with pytest.raises(ValueError, match=r"the metadata column 'device' holds numbers \(0 for take00.npy.*text"):
        load_task_splits(folder, sampling_rate=10)
    assert main(["data", "info", str(folder), "--sampling-rate", "10"]) == 2
    assert "metadata column 'device' holds numbers" in _error(capsys)
    for row in rows["train"] + rows["test"]:
        del row["device"]
    _write_metadata(folder, rows)
    splits = load_task_splits(folder, sampling_rate=10)
    subjects = {*splits.train["subject"], *splits.validation["subject"], *splits.test["subject"]}
    assert {"0", "s0"} <= subjects, subjects


def test_the_cell_that_made_a_numeric_column_text_is_the_one_named(motions_folder):
    """One `high` among heart rates made pandas read the whole file's column as text ('60'); the error quoted '60'."""
    folder, rows = motions_folder
    for split, split_rows in rows.items():
        for index, row in enumerate(split_rows):
            row["target"] = "high" if (split, index) == ("test", 3) else 60 + index
            del row["label"]
    _write_metadata(folder, rows)
    with pytest.raises(ValueError, match=r"holds numbers \(60 for take00.npy.*text \('high' for take03.npy"):
        load_task_splits(folder, sampling_rate=10)


def test_an_empty_label_cell_and_a_rate_that_is_no_number_name_the_file(motions_folder):
    """The empty label was reported as "string values, not integer class ids" with a `cast_column` fix."""
    folder, rows = motions_folder
    rows["train"][2]["label"] = None
    _write_metadata(folder, rows)
    with pytest.raises(ValueError, match=r"train/metadata.csv: take02.npy has no label \(an empty cell\)"):
        load_task_splits(folder, sampling_rate=10)
    rows["train"][2]["label"] = rows["train"][1]["label"]
    for split_rows in rows.values():
        for row in split_rows:
            row["sampling_rate"] = "abc" if row is rows["test"][0] else 10
    _write_metadata(folder, rows)
    with pytest.raises(ValueError, match=r"the sampling_rate of take00.npy is 'abc'; give each file's rate in Hz"):
        load_task_splits(folder)
    rows["test"][0]["sampling_rate"] = 0
    _write_metadata(folder, rows)
    with pytest.raises(ValueError, match=r"the sampling_rate of take00.npy is 0"):
        load_task_splits(folder)


def test_a_wav_file_cut_short_after_its_header_is_named(tmp_path):
    (tmp_path / "cut.wav").write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(CorruptFileError, match=r"cut.wav could not be read as a WAV file.*cut short"):
        read_recording(tmp_path / "cut.wav")


# ------------------------------------------------------------------------------------------------ 2. options


def test_transformers_publishing_options_point_to_citrus_push(capsys):
    assert main(["finetune", "--dataset", "basic_motions", "--push_to_hub", "--hub_model_id", "me/x"]) == 2
    error = _error(capsys)
    assert "--push_to_hub, --hub_model_id (citrus finetune does not publish" in error
    assert "citrus push OUTPUT_DIR OWNER/NAME" in error and "did you mean --model" not in error


def test_a_settings_file_gets_the_setting_meant_and_a_folder_is_named_as_one(tmp_path, capsys):
    (tmp_path / "settings.json").write_text('{"learnign_rate": 1e-4}')
    assert main(["finetune", "--config", str(tmp_path / "settings.json")]) == 2
    assert "learnign_rate (did you mean learning_rate?)" in _error(capsys)
    assert main(["finetune", "--config", str(tmp_path)]) == 2
    assert "is a folder; --config takes a JSON or YAML file" in _error(capsys)


# ------------------------------------------------------------------------------------------- 3. citrus predict


@pytest.fixture(scope="module")
def eeg(offline_archives_cached, tmp_path_factory):
    """Six real EEG channels (160 Hz) as a .npy file, one of them as another, and a 6-channel classifier."""
    folder = tmp_path_factory.mktemp("eeg")
    recording = read_edf(find_member(source_members("eegmmi_s001r02"), "S001R02.edf"))
    np.save(folder / "six.npy", recording.data[:6, :1600])
    np.save(folder / "one.npy", recording.data[:1, :1600])
    torch.manual_seed(0)
    config = tiny_config(num_channels=6, num_labels=2)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder / "model")
    CiTrusForSequenceClassification(config).save_pretrained(folder / "model")
    return folder


def test_predict_refuses_a_channel_named_twice_and_too_few_channels(eeg, capsys):
    """`--channels 0 0 0 0 0 0` scored channel 0 six times without a word; a 1-channel file was told to pick six."""
    model = str(eeg / "model")
    assert main(["predict", model, str(eeg / "six.npy"), "--sampling-rate", "160", "--channels", *"000000"]) == 2
    assert "`channels` names ['0'] more than once; name each channel once" in _error(capsys)
    assert main(["predict", model, str(eeg / "one.npy"), "--sampling-rate", "160"]) == 2
    error = _error(capsys)
    assert "has 1 channel(s) (0) and the model takes 6" in error and "cannot score a recording without" in error
    assert "--channels" not in error


def test_predict_checks_its_output_files_before_scoring(eeg, tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    for option, name in (("--output", "x.csv"), ("--plot", "x.png")):
        argv = ["predict", str(eeg / "model"), str(eeg / "six.npy"), "--sampling-rate", "160"]
        assert main([*argv, option, str(tmp_path / "a_file" / name)]) == 2
        captured = capsys.readouterr()
        assert "is a file, not a folder" in captured.err and "window(s)" not in captured.out
    # the check of a file that can be written leaves nothing behind when the run stops before writing
    # (citrus-small has no task head to plot, which is found once the model is loaded, after the check)
    assert main(["predict", "citrus-small", str(eeg / "six.npy"), "--sampling-rate", "160",
                 "--output", str(tmp_path / "kept.csv"), "--plot", str(tmp_path / "kept.png")]) == 2  # fmt: skip
    assert "has no task head" in _error(capsys)
    assert not (tmp_path / "kept.csv").exists() and not (tmp_path / "kept.png").exists()


def test_a_damaged_file_among_many_is_left_out_and_named_at_the_end(eeg, tmp_path, capsys):
    """The run stopped at the damaged file: those before it were in `--output`, those after it never scored."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    for name in ("a.npy", "c.npy"):
        (folder / name).write_bytes((eeg / "six.npy").read_bytes())
    (folder / "b.npy").write_bytes(b"")
    # an object array whose pickle calls a function: refused as unsafe, which is no ValueError (audit 78: it stopped
    # the run where a damaged file is left out)
    unsafe = np.empty(1, dtype=object)
    unsafe[0] = os.getcwd  # pickled as a reference to a function, which the restricted unpickler refuses
    np.save(folder / "b2.npy", unsafe, allow_pickle=True)
    output = tmp_path / "windows.csv"
    assert main(["predict", str(eeg / "model"), str(folder), "--sampling-rate", "160", "--output", str(output)]) == 2
    captured = capsys.readouterr()
    assert "left out: " in captured.err and "b.npy is not a valid .npy file" in captured.err
    assert "left out: Unsafe pickle" in captured.err and "b2.npy" in captured.err
    assert "2 of 4 recording(s) could not be read and were left out" in captured.err
    assert "the other 2 were scored and written to" in captured.err
    assert {row.split(",")[0].rsplit("/", 1)[-1] for row in output.read_text().splitlines()[1:]} == {"a.npy", "c.npy"}


def test_predict_with_an_encoder_says_nothing_of_arrays_for_a_multichannel_file(eeg, capsys, caplog):
    """A six-channel file through citrus-small printed the Python API's notice about 2-D arrays and batched maps."""
    logging.Logger.warning_once.cache_clear()
    with caplog.at_level("WARNING"):
        assert main(["predict", "citrus-small", str(eeg / "six.npy"), "--sampling-rate", "160"]) == 0
    assert "2-D array" not in caplog.text and "x[:, None, :]" not in caplog.text
    assert "six.npy: embedding of 768 values" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------ 4. other commands


def test_data_build_refuses_to_save_into_a_models_folder(eeg, tmp_path, capsys):
    assert main(["data", "build", str(eeg / "six.npy"), "--output", str(eeg / "model")]) == 2
    assert "holds a model (config.json, model.safetensors); save the dataset to a folder of its own" in _error(capsys)


def test_splits_given_as_slices_are_not_named_as_missing(motions_folder, caplog):
    """`--train-split 'train[:80%]' --test-split 'train[80%:]'` was told the set "has no ['train[80%:]', 'train[:80%]',
    'validation'] split"; only validation is missing, and test is the split left unused."""
    folder, rows = motions_folder
    _write_metadata(folder, rows)
    with caplog.at_level("WARNING", logger="citrus_hf.data.splits"):
        load_task_splits(folder, sampling_rate=10, train_split="train[:80%]", test_split="train[80%:]")
    assert "has no ['validation'] split" in caplog.text and "its split(s) ['test'] are not used" in caplog.text


def test_a_report_without_minirocket_names_no_reference(tmp_path):
    """The demo without aeon left MiniRocket out and still headed its report "reference: minirocket (paired gaps...)"."""
    from citrus_hf.evaluation.protocol import ProtocolConfig, _report_metadata

    with_it = ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], arms=["prior", "minirocket"])
    without = ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], arms=["prior"])
    assert _report_metadata(with_it, {})["reference"].startswith("minirocket (paired gaps")
    assert (
        _report_metadata(without, {})["reference"] == "none: minirocket was not run, so no arm has a paired gap to it"
    )


def test_help_shows_every_options_default(capsys):
    """The README promises each option's default in `--help`; the parse that finds the options given hid them all."""
    assert main(["finetune", "--help"]) == 0
    assert "(default: " in capsys.readouterr().out
    assert main(["evaluate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: ['1', '5', '20', 'all'])" in text and "(default: ['citrus-small', 'citrus-scratch'," in text


# --------------------------------------------------------------------------------------- 5. pre-training data


@pytest.fixture
def eeg_folder(offline_archives_cached, tmp_path):
    """Four real EEG recordings (2 channels, 20 s at 160 Hz) as .npy files, the third with a few NaN samples."""
    recording = read_edf(find_member(source_members("eegmmi_s001r02"), "S001R02.edf"), ["C3..", "C4.."]).data
    folder = tmp_path / "eeg"
    folder.mkdir()
    for index in range(4):
        part = recording[:, index * 3200 : (index + 1) * 3200].copy()
        if index == 2:
            part[0, 100:110] = np.nan
        np.save(folder / f"e{index}.npy", part)
    return folder


def test_a_nan_in_a_folder_of_recordings_names_the_file(eeg_folder, tmp_path, capsys):
    """The error said "row 1 contains 10 NaN values", naming no file, though --nan-policy promises to name it."""
    argv = ["pretrain", "--dataset", str(eeg_folder), "--sampling-rate", "160", "--model-config", "tiny",
            "--max-steps", "1", "--per-device-batch-size", "2", "--output-dir", str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 2
    assert "(e2.npy) contains 10 NaN values" in _error(capsys)


def test_data_build_records_the_rate_of_a_folder_of_npy_files(eeg_folder, tmp_path, capsys):
    """`--sampling-rate` was refused, and the built set carried no rate (a set pushed to the Hub said nothing of it)."""
    import datasets

    (eeg_folder / "e2.npy").unlink()
    assert main(["data", "build", str(eeg_folder), "--sampling-rate", "160", "--output", str(tmp_path / "set")]) == 0
    built = datasets.load_from_disk(str(tmp_path / "set"))
    assert {rate for split in built.values() for rate in split["sampling_rate"]} == {160.0}
    assert main(["data", "build", str(eeg_folder), "--seed", "1", "--output", str(tmp_path / "other")]) == 2
    assert "Builder options (--seed) apply to registered datasets" in _error(capsys)
    assert main(["data", "build", "eeg_blink", "--sampling-rate", "160"]) == 2
    assert "'eeg_blink' is registered and records each row's rate" in _error(capsys)


def test_a_model_config_beside_a_start_model_is_refused():
    """`citrus pretrain --model RUN --model-config base` trained the run's tiny model without a word."""
    from citrus_hf.training.arguments import FinetuneArguments, PretrainArguments

    for arguments in (PretrainArguments, FinetuneArguments):
        with pytest.raises(ValueError, match=r"--model-config base sets up a model .* from scratch; with --model"):
            arguments(output_dir="x", dataset="basic_motions", model="citrus-small", model_config="base")


def test_padding_advice_for_a_folder_of_ones_own_names_no_builder_option():
    """The advice was `--dataset-options window_seconds=2`, which the same command refuses for a folder."""
    from datasets import Dataset

    from citrus_hf.loading import build_config
    from citrus_hf.training.pretrain import _warn_if_mostly_padding

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("citrus_hf.training.pretrain").addHandler(handler)
    try:
        _warn_if_mostly_padding(Dataset.from_dict({"patch_mask": [[1] * 3 + [0] * 7] * 10}), build_config("tiny"), True)
    finally:
        logging.getLogger("citrus_hf.training.pretrain").removeHandler(handler)
    (message,) = [record.getMessage() for record in records]
    assert "every recording (or saved row) is shorter than the model's window" in message
    assert "window_seconds" not in message and "context_length=" in message


def test_one_csv_recording_is_a_corpus_as_one_npy_file_is(eeg_folder, tmp_path, capsys):
    """A single .csv recording was read as a table of examples: "no input_values column (columns: ['-5.5e-01', ...])"."""
    np.savetxt(tmp_path / "c0.csv", np.load(eeg_folder / "e0.npy").T, delimiter=",")
    assert main(["data", "info", str(tmp_path / "c0.csv"), "--sampling-rate", "160"]) == 0
    out = capsys.readouterr().out
    assert "sampling rate (Hz): 160" in out and "channels per window: 2" in out


def test_a_resume_on_a_folder_whose_files_changed_is_refused(eeg_folder, tmp_path, capsys):
    """A file added to the recordings folder between the stop and the resume went into the resumed run's windows (300
    then 360) without a word; the other settings were already compared."""
    (eeg_folder / "e2.npy").unlink()  # (its NaN samples)
    argv = ["pretrain", "--dataset", str(eeg_folder), "--sampling-rate", "160", "--model-config", "tiny",
            "--max-steps", "4", "--per-device-batch-size", "2", "--eval-split", "none",
            "--output-dir", str(tmp_path / "run"), "--no-show-progress"]  # fmt: skip
    assert main([*argv, "--stop-after-steps", "2"]) == 0
    np.save(eeg_folder / "e9.npy", np.load(eeg_folder / "e0.npy")[:, ::-1].copy())
    assert main([*argv, "--resume-from", "latest"]) == 2
    assert "the files under --dataset (some were added, removed or resized since the run)" in _error(capsys)
    (eeg_folder / "e9.npy").unlink()
    assert main([*argv, "--resume-from", "latest"]) == 0
