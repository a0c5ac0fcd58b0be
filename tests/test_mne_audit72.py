"""An EEG researcher's MNE objects and the files MNE writes, fed to citrus-hf's routes (an audit of MNE users' ways):
each case a value once read wrong without a word, or a refusal that named the wrong problem."""

import csv
import datetime
import json

import numpy as np
import pytest
from tiny_configs import save_tiny_classifier, write_edf

pytest.importorskip("pyedflib")


# ------------------------------------------------------------- 1. an EDF+ file whose start date is unknown ("Startdate X")


def _without_start_date(path):
    """`path` (an EDF+ file) rewritten as EDF+ writes a recording whose date is not known, as MNE's `raw.export` (through
    edfio) writes a Raw without `meas_date` (`mne.io.RawArray`'s default): "Startdate X" in the recording field and the
    placeholder 01.01.85 00.00.00 in the header's date and time."""
    data = bytearray(path.read_bytes())
    data[88:168] = b"Startdate X X X X".ljust(80)
    data[168:184] = b"01.01.8500.00.00"
    path.write_bytes(bytes(data))
    return path


def test_an_edf_plus_file_of_unknown_start_date_records_no_start(tmp_path):
    """Its placeholder date was read as the recording's start: `citrus predict` gave every window a start_time on
    1985-01-01 and refused `--start-time`, saying the file records its own start."""
    from citrus_hf.data.readers import read_edf_annotations, read_edf_header, read_recording

    wave = np.random.default_rng(0).standard_normal(3000)
    path = _without_start_date(write_edf(tmp_path / "undated.edf", [wave], ["Cz"], 100, annotations=[(2.0, 1.0, "a")]))
    assert read_edf_header(path).start is None
    assert read_recording(path).start is None
    assert read_edf_annotations(path)[1] is None
    dated = write_edf(tmp_path / "dated.edf", [wave], ["Cz"], 100, start=datetime.datetime(2025, 3, 1, 22, 15))
    assert read_recording(dated).start == datetime.datetime(2025, 3, 1, 22, 15)


def test_predict_puts_an_undated_edf_plus_file_on_the_clock_it_is_given(tmp_path):
    from citrus_hf.commands.main import main

    folder = save_tiny_classifier(tmp_path / "model")
    wave = np.random.default_rng(0).standard_normal(600)
    path = _without_start_date(write_edf(tmp_path / "undated.edf", [wave], ["Cz"], 100))
    argv = ["predict", str(folder), str(path), "--backend", "torch"]
    assert main([*argv, "--output", str(tmp_path / "plain.csv")]) == 0
    with open(tmp_path / "plain.csv", newline="") as handle:
        assert {row["start_time"] for row in csv.DictReader(handle)} == {""}
    assert main([*argv, "--start-time", "2025-03-01T22:15:00", "--output", str(tmp_path / "w.jsonl")]) == 0
    assert json.loads((tmp_path / "w.jsonl").read_text())["recording_start"] == "2025-03-01T22:15:00.000"


# ------------------------------------------- 2. splits each saved by `save_to_disk` on its own, in one folder's subfolders


def test_splits_saved_one_by_one_are_refused_naming_the_fix(tmp_path, capsys):
    """`Dataset.from_dict({"input_values": epochs.get_data(), "label": ...}).save_to_disk("set/train")`, then "set/test":
    the folder was refused as holding "data files of several kinds" (the arrow files and save_to_disk's state.json),
    to be converted "to one kind", which says nothing of what to do."""
    import datasets

    from citrus_hf.commands.main import main
    from citrus_hf.data.splits import load_own_dataset

    rows = {"input_values": np.zeros((4, 2, 50), dtype=np.float32), "label": [0, 1, 0, 1], "sampling_rate": [50.0] * 4}
    for split in ("train", "test"):
        datasets.Dataset.from_dict(rows).save_to_disk(str(tmp_path / "set" / split))
    with pytest.raises(ValueError, match=r"each saved by `save_to_disk` on its own \(test, train\).*DatasetDict"):
        load_own_dataset(tmp_path / "set")
    assert main(["data", "info", str(tmp_path / "set")]) == 2
    assert "DatasetDict" in capsys.readouterr().err


# ------------------------------------- 3. `citrus predict FOLDER` beside files of formats it does not read (BrainVision, FIF)


def test_predict_over_a_folder_names_the_recordings_it_cannot_read(tmp_path, caplog):
    """MNE writes BrainVision (`raw.export("x.vhdr")`: .vhdr, .vmrk, .eeg) and FIF (`raw.save`): in a folder beside EDF
    files, `citrus predict FOLDER` scored the EDF files and left those out without a word, and a folder of them alone
    was refused as holding "no recording files", where `citrus finetune` / `data info` name the files left out."""
    from citrus_hf.commands.main import main

    folder = save_tiny_classifier(tmp_path / "model")
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    write_edf(recordings / "a.edf", [np.random.default_rng(0).standard_normal(600)], ["Cz"], 100)
    for name in ("b.gdf", "b.cnt", "c_raw.fif"):  # (BrainVision is read since: test_bids2_audit73)
        (recordings / name).write_bytes(b"\x00" * 16)
    argv = ["predict", str(folder), "--backend", "torch"]
    with caplog.at_level("WARNING", logger="citrus_hf"):
        assert main([*argv, str(recordings)]) == 0
    assert "b.cnt, b.gdf, c_raw.fif" in caplog.text and "left out" in caplog.text
    alone = tmp_path / "brainvision"
    alone.mkdir()
    for name in ("b.gdf", "b.cnt"):
        (alone / name).write_bytes(b"\x00" * 16)
    with caplog.at_level("WARNING", logger="citrus_hf"):
        assert main([*argv, str(alone)]) == 2
    assert "2 file(s) under" in caplog.text and "b.cnt, b.gdf" in caplog.text


# ------------------------------------------------------------ 4. a trigger channel (BioSemi's "Status") read as a signal


def test_predict_names_a_trigger_channel_it_feeds_the_model(tmp_path, caplog):
    """A BioSemi BDF file's "Status" channel (MNE reads it, and any "Trigger", as a stimulus channel) holds event
    codes, not a signal: `citrus predict` fed it to a model that does not pick its channels by name with the EEG,
    without a word (a classifier that means over channels, or an encoder, takes any count); picked away with
    --channels, nothing is said."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.commands.main import main

    folder = tmp_path / "model"
    config = tiny_config(num_labels=2, channel_pooling="mean")
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    rng = np.random.default_rng(0)
    codes = np.zeros(600)
    codes[::100] = 255
    path = write_edf(tmp_path / "bio.edf", [rng.standard_normal(600), codes], ["Cz", "Status"], 100, peak=300)
    argv = ["predict", str(folder), str(path), "--backend", "torch"]
    # (picked away first: the warning is said once per process, so after it a second run says nothing either way)
    with caplog.at_level("WARNING", logger="citrus_hf"):
        assert main([*argv, "--channels", "Cz"]) == 0
    assert "trigger" not in caplog.text
    with caplog.at_level("WARNING", logger="citrus_hf"):
        assert main(argv) == 0
    assert "'Status'" in caplog.text and "trigger" in caplog.text and "--channels" in caplog.text


def test_a_labelled_folder_names_a_trigger_channel_it_trains_on(tmp_path, caplog):
    """Fine-tuned on files whose "Trigger" channel marks each event with its code, a model reads the labels of an
    events table off that channel: the set was read with it as one more signal, without a word."""
    from citrus_hf.data.splits import load_own_dataset

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label in ("left", "right"):
            (tmp_path / "set" / split / label).mkdir(parents=True)
            signals = [rng.standard_normal(400), np.full(400, 1.0 if label == "left" else 2.0)]
            write_edf(tmp_path / "set" / split / label / "run.edf", signals, ["C3", "TRIGGER"], 100, peak=300)
    with caplog.at_level("WARNING", logger="citrus_hf"):
        load_own_dataset(tmp_path / "set")
    assert "'TRIGGER'" in caplog.text and "trigger" in caplog.text
