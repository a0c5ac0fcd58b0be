"""A folder of recording files as an unlabelled corpus (`citrus pretrain --dataset FOLDER`, `citrus data info FOLDER`):
the pile of EDF / WFDB / .npy / .csv recordings a user has. Real EEG (PhysioNet's EEG Motor Movement/Imagery
recording of the offline corpus); before, such a folder ended in `datasets.load_dataset`'s CastError traceback (CSV
recordings) or "a file load_dataset has no reader for" (EDF)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from tiny_configs import write_edf

from citrus_hf.commands.main import main
from citrus_hf.data.readers import read_edf
from citrus_hf.data.recording_folders import SEGMENT_SECONDS, is_recording_folder, load_recording_folder
from citrus_hf.data.splits import load_split


def _two_rates(edf_path, path) -> None:
    """An EDF file whose signals run at two rates (as Sleep-EDF's EEG at 100 Hz and respiration at 1 Hz)."""
    eeg = read_edf(edf_path, ["C3..", "C4.."])
    write_edf(path, [eeg.data[0], eeg.data[1, ::4]], ["C3", "C4 slow"], [160, 40], peak=1000, plus=False)


def test_a_folder_of_edf_files_is_a_corpus_of_their_segments(edf_path, tmp_path):
    folder = tmp_path / "nights"
    (folder / "subject_2").mkdir(parents=True)
    shutil.copy(edf_path, folder / "S001R02.edf")
    _two_rates(edf_path, folder / "subject_2" / "two_rates.edf")
    (folder / "notes.md").write_text("not a recording")  # other files are not read
    assert is_recording_folder(folder)
    rows = load_recording_folder(folder)
    original = read_edf(edf_path)
    assert rows["recording"] == ["S001R02.edf", "subject_2/two_rates.edf@160Hz", "subject_2/two_rates.edf@40Hz"]
    assert rows["sampling_rate"] == [160.0, 160.0, 40.0]
    first = np.asarray(rows[0]["input_values"])
    assert first.shape == original.data.shape and original.data.shape[1] < SEGMENT_SECONDS * 160
    np.testing.assert_allclose(first, original.data.astype(np.float32))
    assert np.asarray(rows[2]["input_values"]).shape == (1, original.data.shape[1] // 4)
    # `load_split` (what `citrus pretrain --dataset` reads) takes the folder, and a single EDF file
    assert len(load_split(folder, "train")) == 3
    assert load_split(folder / "S001R02.edf", "train")["recording"] == ["S001R02.edf"]


def test_an_edf_recording_is_read_a_segment_at_a_time(edf_path, tmp_path, monkeypatch):
    """A night of EEG need not sit whole in memory: an EDF file longer than a segment is read a segment at a time
    (MNE without preloading), each segment the stretch `read_edf` gives, the channels of one rate at a time."""
    from citrus_hf.data import recording_folders
    from citrus_hf.data.readers.edf import read_edf_segments

    original = read_edf(edf_path)  # 61 s at 160 Hz, 64 channels
    rate, names, segments = read_edf_segments(edf_path, None, 3200)
    parts = list(segments)
    assert rate == 160.0 and names == original.channel_names and [part.shape[1] for part in parts] == [3200] * 3 + [160]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), original.data)
    monkeypatch.setattr(recording_folders, "SEGMENT_SECONDS", 20.0)
    folder = tmp_path / "nights"
    folder.mkdir()
    shutil.copy(edf_path, folder / "S001R02.edf")
    _two_rates(edf_path, folder / "two_rates.edf")
    rows = load_recording_folder(folder)
    # the last second, shorter than half a segment, is joined to the segment before (not a row of its own)
    assert rows["recording"] == ["S001R02.edf"] * 3 + ["two_rates.edf@160Hz"] * 3 + ["two_rates.edf@40Hz"] * 3
    np.testing.assert_allclose(
        np.concatenate([np.asarray(row) for row in rows["input_values"][:3]], axis=1), original.data.astype(np.float32)
    )
    assert [np.asarray(row).shape[1] for row in rows["input_values"][6:]] == [800, 800, 840]


def test_long_recordings_are_cut_into_segments_and_changed_files_read_again(tmp_path):
    folder = tmp_path / "npy"
    folder.mkdir()
    rng = np.random.default_rng(0)
    long = rng.standard_normal((2, 2**19 + 2**18 + 10)).astype(np.float32)
    np.save(folder / "long.npy", long)
    rows = load_recording_folder(folder)
    assert "sampling_rate" not in rows.column_names  # .npy records none: --sampling-rate gives it
    assert [np.asarray(row).shape for row in rows["input_values"]] == [(2, 2**19), (2, 2**18 + 10)]
    np.save(folder / "long.npy", long[:, :100])  # the cache is keyed by size and time: read again
    assert [np.asarray(row).shape for row in load_recording_folder(folder)["input_values"]] == [(2, 100)]


def test_pretrain_and_data_info_take_a_folder_of_csv_recordings(tmp_path, capsys):
    """CSV recordings (a column per channel, a row per sample, a header naming the channels) were read by
    `datasets.load_dataset` as tables of examples: different headers ended in a CastError traceback."""
    folder = tmp_path / "csv"
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.savetxt(folder / "a.csv", rng.standard_normal((3000, 2)), delimiter=",", header="ecg,ppg", comments="")
    np.savetxt(folder / "b.csv", rng.standard_normal((2000, 1)), delimiter=",", header="resp", comments="")
    assert main(["data", "info", str(folder), "--sampling-rate", "100"]) == 0
    out = capsys.readouterr().out
    assert f"{folder}  (unlabelled" in out and "channels per window: 1, 2" in out
    assert f"an unlabelled corpus, for `citrus pretrain --dataset {folder} --sampling-rate HZ`" in out
    output = tmp_path / "pretrained"
    argv = ["pretrain", "--dataset", str(folder), "--sampling-rate", "100", "--max-steps", "2", "--output-dir",
            str(output), "--no-show-progress", "--per-device-batch-size", "4", "--model-config", "tiny",
            "--config-overrides", "context_length=200", "patch_length=20", "sampling_rate=100"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    assert (output / "model.safetensors").is_file()


def test_mixed_and_unreadable_folders_are_one_line_naming_the_file(edf_path, tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(edf_path, folder / "S001R02.edf")
    np.save(folder / "extra.npy", np.zeros((1, 100)))
    with pytest.raises(ValueError, match=r"mixes files that record their sampling rate \(S001R02.edf, \.\.\.\) with"):
        load_recording_folder(folder)
    (folder / "extra.npy").unlink()
    (folder / "broken.edf").write_bytes(b"0       not an edf header")
    assert main(["data", "info", str(folder)]) == 2
    error = capsys.readouterr().err
    (line,) = [line for line in error.splitlines() if line.startswith("error:")]
    assert "broken.edf is not a valid EDF/BDF file" in line and "Traceback" not in error
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "train.csv").write_text('input_values,label\n"[1, 2]",0\n')
    assert not is_recording_folder(tables)  # a table of examples stays `datasets.load_dataset`'s


def test_a_folder_of_five_files_or_more_holds_whole_files_out_for_validation(tmp_path, capsys):
    """Pre-training's held-out loss (and its did-not-learn check) needs a validation split: a pile of recordings
    gives one, whole files, about 15 % of the bytes; a smaller pile (one file of two held out) does not."""
    folder = tmp_path / "pile"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index, seconds in enumerate((60, 50, 40, 30, 20, 10)):
        np.save(folder / f"r{index}.npy", rng.standard_normal((1, seconds * 100)))
    rows = load_recording_folder(folder)
    assert sorted(rows) == ["train", "validation"]
    held_out = set(rows["validation"]["recording"])
    assert held_out and not held_out & set(rows["train"]["recording"])
    assert len(set(rows["train"]["recording"])) + len(held_out) == 6
    assert load_recording_folder(folder)["validation"]["recording"] == rows["validation"]["recording"]  # fixed seed
    for extra in folder.glob("r[2-5].npy"):
        extra.unlink()
    assert load_split(folder, "validation") is None  # two files: all of them train
    output = tmp_path / "run"
    for index, seconds in enumerate((40, 30, 20, 10)):
        np.save(folder / f"s{index}.npy", rng.standard_normal((1, seconds * 100)))
    argv = ["pretrain", "--dataset", str(folder), "--sampling-rate", "100", "--max-steps", "2", "--output-dir",
            str(output), "--no-show-progress", "--per-device-batch-size", "4", "--model-config", "tiny",
            "--config-overrides", "context_length=200", "patch_length=20", "sampling_rate=100", "--eval-steps", "1"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    summary = json.loads((output / "pretraining_summary.json").read_text())
    assert [step for step, _ in summary["eval_losses"]] == [1, 2]  # the held-out loss, on the held-out files


def test_class_folders_under_split_folders_are_a_labelled_set(tmp_path, capsys):
    """`train/<class>/<file>` beside `test/<class>/`, as `datasets`' audiofolder takes labelled files: BasicMotions'
    real IMU windows as one .npy file each, in the folders of their activity."""
    from citrus_hf.data import build_dataset
    from citrus_hf.data.splits import load_task_splits

    motions = build_dataset("basic_motions")
    names = motions["train"].features["label"].names
    folder = tmp_path / "motions"
    for split in ("train", "test"):
        for index, row in enumerate(motions[split].with_format("numpy")):
            (folder / split / names[row["label"]]).mkdir(parents=True, exist_ok=True)
            np.save(folder / split / names[row["label"]] / f"{index:02d}.npy", row["input_values"])
    assert main(["data", "info", str(folder), "--sampling-rate", "10"]) == 0
    out = capsys.readouterr().out
    assert "(classification" in out and "classes (4): Badminton, Running, Standing, Walking" in out
    assert "citrus evaluate takes it: train 40, test 40 rows" in out and "train 32, validation 8" in out
    loaded = load_task_splits(folder, sampling_rate=10)
    assert loaded.label_names == sorted(names) and loaded.num_channels == 6
    recordings = loaded.test["recording"]  # "test/Walking/07.npy"
    assert loaded.labels("test").tolist() == [sorted(names).index(name.split("/")[1]) for name in recordings]
    assert sorted(loaded.labels("test").tolist()) == sorted(
        sorted(names).index(names[i]) for i in motions["test"]["label"]
    )
    np.testing.assert_allclose(np.asarray(loaded.test[5]["input_values"]), np.load(folder / recordings[5]), rtol=1e-6)
    # a file off the layout (not at split/class/file) makes the folder an unlabelled pile again
    np.save(folder / "train" / "stray.npy", np.zeros((6, 100)))
    assert "label" not in load_split(folder, "train").column_names


def _motions_as_files(folder, suffix: str = ".npy") -> dict[str, list[dict]]:
    """BasicMotions' real IMU windows as one file each in `train/` and `test/` (no class folders), and the metadata
    rows a user would write for them: `{split: [{"file_name", "label", "subject"}]}`."""
    from scipy.io import wavfile

    from citrus_hf.data import build_dataset

    motions = build_dataset("basic_motions")
    names = motions["train"].features["label"].names
    rows = {}
    for split in ("train", "test"):
        (folder / split).mkdir(parents=True)
        rows[split] = []
        for index, row in enumerate(motions[split].with_format("numpy")):
            name = f"take{index:02d}{suffix}"
            if suffix == ".wav":
                wavfile.write(folder / split / name, 10, row["input_values"].T.astype(np.float32))
            else:
                np.save(folder / split / name, row["input_values"])
            rows[split].append({"file_name": name, "label": names[row["label"]], "subject": f"s{index % 5}"})
    return rows


def test_files_labelled_by_a_metadata_file_are_a_labelled_set(tmp_path, capsys):
    """`metadata.csv` (or .jsonl / .parquet) beside the files, its `file_name` column naming them and `label`
    labelling them, as `datasets`' audiofolder reads labelled audio (PhysioNet's heart sounds come as WAV files and a
    CSV of labels): one example per file, its other columns kept. Before, the metadata file was read as a recording."""
    import pandas as pd

    from citrus_hf.data.recording_folders import metadata_layout
    from citrus_hf.data.splits import load_task_splits

    folder = tmp_path / "sounds"
    rows = _motions_as_files(folder, ".wav")
    for split, split_rows in rows.items():
        pd.DataFrame(split_rows).to_csv(folder / split / "metadata.csv", index=False)
    loaded = load_task_splits(folder)
    assert len(loaded.train) + len(loaded.validation) == 40 and len(loaded.test) == 40
    assert loaded.label_names == ["Badminton", "Running", "Standing", "Walking"]
    assert {"subject", "sampling_rate", "recording"} <= set(loaded.test.column_names)
    first = loaded.test[0]
    assert first["recording"] == "test/take00.wav" and first["sampling_rate"] == 10.0 and first["subject"] == "s0"
    assert loaded.label_names[first["label"]] == rows["test"][0]["label"]
    assert main(["data", "info", str(folder)]) == 0
    assert "takes it: train 40, test 40 rows" in capsys.readouterr().out
    # one metadata file at the top, .npy files (no rate recorded: a `sampling_rate` column gives it), regression
    numpy_folder = tmp_path / "numpy"
    rows = _motions_as_files(numpy_folder)
    table = [
        {**row, "file_name": f"{split}/{row['file_name']}", "target": float(index), "sampling_rate": 10.0}
        for split, split_rows in rows.items()
        for index, row in enumerate(split_rows)
    ]
    pd.DataFrame(table).drop(columns="label").to_json(numpy_folder / "metadata.jsonl", orient="records", lines=True)
    loaded = load_task_splits(numpy_folder)
    assert loaded.task == "regression" and len(loaded.test) == 40 and loaded.test[3]["target"] == 3.0
    # files the metadata does not name are left out, said once; what is wrong with the metadata is one line
    np.save(numpy_folder / "train" / "extra.npy", np.zeros((6, 100)))
    layout = metadata_layout(numpy_folder)
    assert sorted(layout) == ["test", "train"] and len(layout["train"]) == 40
    bad = pd.DataFrame([{"file": "take00.npy", "label": "run"}])
    bad.to_csv(numpy_folder / "train" / "metadata.csv", index=False)
    with pytest.raises(ValueError, match=r"metadata.csv has no `file_name` column; metadata names each file"):
        metadata_layout(numpy_folder)
    bad.rename(columns={"file": "file_name"}).assign(file_name="../../elsewhere.npy").to_csv(
        numpy_folder / "train" / "metadata.csv", index=False
    )
    (numpy_folder / "metadata.jsonl").unlink()
    with pytest.raises(ValueError, match=r"names '../../elsewhere.npy', which is no file under"):
        metadata_layout(numpy_folder)


def test_a_folder_with_unlisted_files_says_they_are_left_out(tmp_path, caplog):
    import pandas as pd

    from citrus_hf.data.splits import load_task_splits

    folder = tmp_path / "set"
    rows = _motions_as_files(folder)
    for split, split_rows in rows.items():
        pd.DataFrame(split_rows[:-1]).to_csv(folder / split / "metadata.csv", index=False)
    with caplog.at_level("WARNING", logger="citrus_hf.data.recording_folders"):
        loaded = load_task_splits(folder, sampling_rate=10)
    assert len(loaded.test) == 39
    assert (
        "2 recording file(s) under" in caplog.text and "are not named in its metadata and are left out" in caplog.text
    )


def test_a_datasets_audio_column_of_wav_files_is_read_as_input_values(tmp_path):
    """Waveforms on the Hub and in audiofolder sets sit in a `datasets.Audio` column, whose decoding needs torchcodec
    (not installed with this package): a set of your own with such a column and no `input_values` reads the WAV
    bytes itself, each file at its own rate. Before: "no `input_values` column"."""
    import datasets

    from citrus_hf.data.readers import read_recording
    from citrus_hf.data.splits import load_task_splits

    files = tmp_path / "files"
    rows = _motions_as_files(files, ".wav")
    splits = {
        split: datasets.Dataset.from_dict(
            {
                "audio": [str(files / split / row["file_name"]) for row in split_rows],
                "label": [row["label"] for row in split_rows],
            }
        ).cast_column("audio", datasets.Audio())
        for split, split_rows in rows.items()
    }
    datasets.DatasetDict(splits).save_to_disk(str(tmp_path / "set"))  # the bytes are embedded on saving
    loaded = load_task_splits(tmp_path / "set")
    assert len(loaded.test) == 40 and loaded.test[0]["sampling_rate"] == 10.0
    np.testing.assert_allclose(
        np.asarray(loaded.test[0]["input_values"]), read_recording(files / "test" / "take00.wav").data, rtol=1e-6
    )
    # audio of another format is one line naming what to do
    splits["train"] = datasets.Dataset.from_dict({"audio": [{"bytes": b"fLaC" + bytes(40), "path": "beat.flac"}],
                                                  "label": ["Running"]}).cast_column("audio", datasets.Audio())  # fmt: skip
    datasets.DatasetDict(splits).save_to_disk(str(tmp_path / "flac"))
    with pytest.raises(ValueError, match=r"beat.flac is audio this package does not decode \(it reads WAV\)"):
        load_task_splits(tmp_path / "flac")
    # a row that keeps the audio's path, not its bytes, to a file that is not here
    from citrus_hf.data.splits import _audio_as_input_values

    elsewhere = datasets.Dataset.from_dict({"audio": [{"bytes": b"", "path": "/nowhere/beat.wav"}], "label": ["Run"]})
    elsewhere = elsewhere.cast_column("audio", datasets.Audio(decode=False))
    with pytest.raises(ValueError, match=r"/nowhere/beat.wav holds neither the audio's bytes nor the path of a file"):
        _audio_as_input_values(elsewhere)


def test_metadata_may_name_wfdb_records_without_their_suffix(edf_path, tmp_path):
    """PhysioNet's tables name WFDB records by their path without `.hea` (PTB-XL's `records100/00000/00001_lr`)."""
    import pandas as pd
    import wfdb

    from citrus_hf.data.splits import load_task_splits

    eeg = read_edf(edf_path, ["C3..", "C4..", "Cz..", "Fz.."])
    rows = []
    for split in ("train", "test"):
        (tmp_path / "set" / split).mkdir(parents=True)
        for index, channel in enumerate(range(4)):
            name = f"rec{index}"
            wfdb.wrsamp(
                name, fs=160, units=["uV"], sig_name=["EEG"], p_signal=eeg.data[channel : channel + 1, 1600 * (split == "test") :][:, :1600].T,
                fmt=["16"], write_dir=str(tmp_path / "set" / split),  # (each split its own second: no copies)
            )  # fmt: skip
            rows.append({"file_name": f"{split}/{name}", "label": "left" if index % 2 else "right"})
    pd.DataFrame(rows).to_csv(tmp_path / "set" / "metadata.csv", index=False)
    loaded = load_task_splits(tmp_path / "set", require_validation=False)
    assert len(loaded.train) + len(loaded.validation) == 4 and len(loaded.test) == 4
    assert loaded.test[0]["recording"] == "test/rec0.hea" and loaded.test[0]["sampling_rate"] == 160.0


def test_a_pile_of_unlabelled_recordings_given_to_finetune_says_how_to_label_it(edf_path, tmp_path, capsys):
    """`citrus finetune --dataset PILE` said the pile had no 'test' split, which sent its owner the wrong way."""
    folder = tmp_path / "pile"
    folder.mkdir()
    shutil.copy(edf_path, folder / "S001R02.edf")
    assert main(["finetune", "--dataset", str(folder), "--output-dir", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "holds recordings that nothing labels: lay them out as train/<class>/<file>" in error
    assert "metadata.csv (file_name,label)" in error and f"citrus pretrain --dataset {folder}" in error


def test_class_folders_without_a_test_folder_are_told_to_add_one(tmp_path, capsys):
    rows = _motions_as_files(tmp_path / "files")
    for row in rows["train"]:
        (tmp_path / "set" / "train" / row["label"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "files" / "train" / row["file_name"], tmp_path / "set" / "train" / row["label"])
    argv = [
        "finetune",
        "--dataset",
        str(tmp_path / "set"),
        "--sampling-rate",
        "10",
        "--output-dir",
        str(tmp_path / "o"),
    ]
    assert main(argv) == 2
    assert (
        "move some recordings (of other subjects or sessions than train's) into a test/ folder"
        in capsys.readouterr().err
    )


def test_a_model_fine_tuned_on_files_that_name_their_channels_picks_them_by_name(tmp_path, capsys):
    """CSV files with a header name their channels. The fine-tuned checkpoint did not keep the names, so a file whose
    columns came in another order was scored with its channels swapped, without a word; now the set's
    `channel_names` column reaches the model's config and extractor, and `citrus predict` picks the channels by name
    (a file that names none, .npy, is read in its own order as before)."""
    import pandas as pd

    from citrus_hf.data import build_dataset
    from citrus_hf.data.splits import load_task_splits

    motions = build_dataset("basic_motions")
    names = motions["train"].features["label"].names
    columns = ["acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
    folder = tmp_path / "motions"
    for split in ("train", "test"):
        for index, row in enumerate(motions[split].with_format("numpy")):
            (folder / split / names[row["label"]]).mkdir(parents=True, exist_ok=True)
            frame = pd.DataFrame(row["input_values"].T, columns=columns)
            frame.to_csv(folder / split / names[row["label"]] / f"{index:02d}.csv", index=False)
    assert load_task_splits(folder, sampling_rate=10).channel_names == columns
    run = tmp_path / "run"
    arguments = ["--dataset", str(folder), "--sampling-rate", "10", "--recipe", "probe", "--label-budget", "5"]
    assert main(["finetune", "--model", "citrus-small", *arguments, "--output-dir", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["channel_names"] == columns
    assert json.loads((run / "preprocessor_config.json").read_text())["channel_names"] == columns

    signal = motions["test"].with_format("numpy")[0]["input_values"]
    pd.DataFrame(signal.T, columns=columns).to_csv(tmp_path / "in_order.csv", index=False)
    pd.DataFrame(signal[::-1].T, columns=columns[::-1]).to_csv(tmp_path / "reversed.csv", index=False)
    np.save(tmp_path / "unnamed.npy", signal)
    scores = {}
    for name in ("in_order.csv", "reversed.csv", "unnamed.npy"):
        output = tmp_path / f"{name}.jsonl"
        command = ["predict", str(run), str(tmp_path / name), "--sampling-rate", "10", "--backend", "torch"]
        assert main([*command, "--output", str(output)]) == 0
        scores[name] = {entry["label"]: entry["score"] for entry in json.loads(output.read_text())["labels"]}
    for name in ("reversed.csv", "unnamed.npy"):
        assert scores[name] == pytest.approx(scores["in_order.csv"], abs=1e-6)
    # a named file without one of the model's channels is refused, naming it
    pd.DataFrame(signal[:5].T, columns=columns[:5]).to_csv(tmp_path / "five.csv", index=False)
    capsys.readouterr()
    assert main(["predict", str(run), str(tmp_path / "five.csv"), "--sampling-rate", "10"]) != 0
    assert "gyr_z" in capsys.readouterr().err
    # channels named otherwise are refused with the fix the command takes: --channels, which reads them as given
    renamed = [f"imu {name}" for name in columns]
    pd.DataFrame(signal.T, columns=renamed).to_csv(tmp_path / "renamed.csv", index=False)
    command = ["predict", str(run), str(tmp_path / "renamed.csv"), "--sampling-rate", "10", "--backend", "torch"]
    assert main(command) == 2
    assert "pick the model's channels, in that order, with --channels" in capsys.readouterr().err
    assert main([*command, "--channels", *renamed, "--output", str(tmp_path / "renamed.jsonl")]) == 0
    chosen = {
        entry["label"]: entry["score"] for entry in json.loads((tmp_path / "renamed.jsonl").read_text())["labels"]
    }
    assert chosen == pytest.approx(scores["in_order.csv"], abs=1e-6)
    # --channels naming the model's own channels in another order still gives them to the model in its order
    command = ["predict", str(run), str(tmp_path / "in_order.csv"), "--sampling-rate", "10", "--backend", "torch"]
    assert main([*command, "--channels", *columns[::-1], "--output", str(tmp_path / "picked.jsonl")]) == 0
    picked = json.loads((tmp_path / "picked.jsonl").read_text())["labels"]
    assert {entry["label"]: entry["score"] for entry in picked} == pytest.approx(scores["in_order.csv"], abs=1e-6)
