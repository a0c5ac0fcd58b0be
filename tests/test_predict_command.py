"""`citrus predict`: a fine-tuned checkpoint over recording files (a real EDF recording, and the same samples as a
WFDB record, a .npy and a .csv file), window by window through the package's pipeline, with one line per recording
and every window in a .csv or .jsonl file; and the command's one-line errors for what a user gets wrong.

The model is a tiny 3-label classifier (100 Hz, 2 s windows) or regressor with random weights: the tests check what
the command reads and writes, not what the model knows (its predictions equal the pipeline's on the same samples).
"""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import pipeline

from citrus_hf import CiTrusForRegression, CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import read_edf, read_recording
from citrus_hf.data.recordings import find_member
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

LABELS = {0: "rest", 1: "left fist", 2: "right fist"}
CHANNEL = "C3.."  # EEG Motor Movement/Imagery S001R02: 64 EEG channels at 160 Hz, 61 s


def _save(model_class, folder, **overrides) -> str:
    torch.manual_seed(0)
    config = tiny_config(**overrides)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    model_class(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> str:
    return _save(
        CiTrusForSequenceClassification,
        tmp_path_factory.mktemp("classifier"),
        num_labels=3,
        id2label=LABELS,
        label2id={label: index for index, label in LABELS.items()},
    )


@pytest.fixture(scope="module")
def same_samples(edf_path, tmp_path_factory):
    """One EEG channel of the EDF file as a .npy, a .csv with a header and a WFDB record (16-bit, as PhysioNet)."""
    import wfdb

    folder = tmp_path_factory.mktemp("formats")
    recording = read_edf(edf_path, [CHANNEL])
    np.save(folder / "c3.npy", recording.data)
    np.savetxt(folder / "c3.csv", recording.data.T, delimiter=",", header="C3", comments="", fmt="%.17g")
    wfdb.wrsamp(
        "c3", fs=recording.sampling_rate, units=["uV"], sig_name=["C3"], p_signal=recording.data.T, fmt=["16"],
        write_dir=str(folder),
    )  # fmt: skip
    return folder, recording


def _csv_rows(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_an_edf_recording_gets_a_line_and_every_window_in_a_csv_as_the_pipeline_gives_them(
    classifier, edf_path, tmp_path, capsys
):
    output = tmp_path / "labels.csv"
    argv = [str(edf_path), "--channels", CHANNEL, "--backend", "torch", "--output", str(output)]
    assert main(["predict", classifier, *argv]) == 0
    printed = capsys.readouterr().out.splitlines()
    expected = pipeline(model=classifier, backend="torch", top_k=None)(
        read_edf(edf_path, [CHANNEL]).data, sampling_rate=160.0
    )
    windows = expected["windows"]
    assert len(windows) == 30  # 61 s in 2 s windows
    assert printed[0].startswith(f"{edf_path}: {expected['label']} (score ")
    assert "30 window(s) of 2 s at 160 Hz, backend torch" in printed[0]
    assert printed[1].startswith(f"{edf_path}: time per label, of 60 s scored: ")  # (a classifier's time per label)
    assert printed[2] == f"Wrote 30 windows of 1 recording(s) to {output}"
    rows = _csv_rows(output)
    columns = ["recording", "start", "end", "start_time", "label", "score", "p_rest", "p_left fist", "p_right fist"]
    columns.append("no_signal")  # empty where the window holds signal
    assert list(rows[0]) == columns
    for row, window in zip(rows, windows, strict=True):
        assert row["recording"] == str(edf_path)
        assert (float(row["start"]), float(row["end"])) == (window["start"], window["end"])
        # the window's start on the clock of the EDF header (2009-08-12 16:15:00)
        assert row["start_time"] == f"2009-08-12T16:15:{window['start']:06.3f}"
        assert row["label"] == window["label"]
        probabilities = [float(row[f"p_{label}"]) for label in LABELS.values()]
        assert float(row["score"]) == max(probabilities) == pytest.approx(window["score"], abs=1e-6)
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)


def test_the_same_samples_as_npy_csv_and_wfdb_give_the_same_windows(classifier, same_samples, tmp_path, capsys):
    folder, recording = same_samples
    files, wfdb_output = tmp_path / "files.jsonl", tmp_path / "wfdb.jsonl"
    argv = [str(folder / "c3.npy"), str(folder / "c3.csv"), "--sampling-rate", "160", "--backend", "torch"]
    assert main(["predict", classifier, *argv, "--output", str(files)]) == 0
    # a WFDB record carries its rate; named by its header or by its path without a suffix
    assert main(["predict", classifier, str(folder / "c3"), "--backend", "torch", "--output", str(wfdb_output)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("30 window(s) of 2 s at 160 Hz, backend torch") == 3
    from_npy, from_csv = [json.loads(line) for line in files.read_text().splitlines()]
    (from_wfdb,) = [json.loads(line) for line in wfdb_output.read_text().splitlines()]
    assert from_npy["recording"] == str(folder / "c3.npy") and from_npy["channels"] == ["0"]
    assert from_csv["channels"] == from_wfdb["channels"] == ["C3"] and from_wfdb["sampling_rate"] == 160.0
    assert from_npy["windows"] == from_csv["windows"]  # the CSV holds every digit of the samples
    assert [w["start"] for w in from_wfdb["windows"]] == [w["start"] for w in from_npy["windows"]]
    # WFDB stores 16-bit integers: its samples differ by the quantisation step, its scores by little
    np.testing.assert_allclose(
        read_recording(folder / "c3.hea").data, recording.data, atol=np.ptp(recording.data) / 2**15
    )
    scores = [[entry["score"] for entry in window["labels"]] for window in from_npy["windows"]]
    wfdb_scores = [[entry["score"] for entry in window["labels"]] for window in from_wfdb["windows"]]
    np.testing.assert_allclose(np.sort(wfdb_scores, axis=1), np.sort(scores, axis=1), atol=1e-3)


def test_a_regressor_gives_its_target_and_an_encoder_its_embedding(edf_path, tmp_path, capsys):
    regressor = _save(CiTrusForRegression, tmp_path / "regressor", num_targets=1)
    output = tmp_path / "targets.csv"
    assert main(["predict", regressor, str(edf_path), "--channels", "8", "--output", str(output)]) == 0
    assert capsys.readouterr().out.startswith(f"{edf_path}: target ")
    rows = _csv_rows(output)
    assert len(rows) == 30 and list(rows[0]) == ["recording", "start", "end", "start_time", "target", "no_signal"]
    # the bundled pre-training checkpoint embeds (any channel count: every channel's tokens, concatenated)
    output = tmp_path / "embeddings.csv"
    assert main(["predict", "citrus-small", str(edf_path), "--channels", "C3..", "--output", str(output)]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith(f"{edf_path}: embedding of ") and "6 window(s) of 10 s" in line
    rows = _csv_rows(output)
    width = int(line.split("embedding of ")[1].split()[0])
    assert len(rows) == 6 and len(rows[0]) == 5 + width and "embedding_0" in rows[0]  # and no_signal


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["{edf}"], r"has 64 channel\(s\) \(Fc5\., .*, \.\.\.\) and the model takes 1, those it was fine-tuned on"),
        (["{edf}", "--channels", "C3"], r"has no channel\(s\) \['C3'\]; it has \['Fc5\.'"),
        (["{edf}", "--sampling-rate", "100", "--channels", "0"], r"records its rate, 160 Hz, and the sampling rate "),
        (["{folder}/c3.npy"], r"'.*c3.npy' is a numpy file, which does not record its sampling rate; give it with "),
        (["{folder}/c3.hea", "--output", "{folder}/out.json"], r"name a \.csv, \.jsonl, \.tsv or \.txt file"),
        (["{folder}/missing.edf"], r"recording '.*missing.edf' does not exist"),
        # (a WFDB record's signal file: the header to give, audit 74; it was "no reader for .dat", to convert)
        (["{folder}/c3.dat"], r"c3\.dat is part of the WFDB recording c3\.hea beside it, .*: give .*c3\.hea\."),
        (["{folder}/transposed.npy", "--sampling-rate", "160"], r"shape \(9760, 1\), which reads as 9760 channels"),
        (
            ["{folder}/gap.npy", "--sampling-rate", "160"],
            r"gap.npy \(1 channel\(s\): 0\): the recording contains 1 NaN "
            r"values; clean it, or pass .*`--nan-policy interpolate`",
        ),
    ],
)
def test_what_a_user_gets_wrong_is_one_line_naming_the_fix(
    classifier, edf_path, same_samples, arguments, message, capsys
):
    folder, recording = same_samples
    np.save(folder / "transposed.npy", recording.data.T)
    gap = recording.data.copy()
    gap[0, 1000] = np.nan
    np.save(folder / "gap.npy", gap)
    argv = [argument.format(edf=edf_path, folder=folder) for argument in arguments]
    assert main(["predict", classifier, *argv]) == 2
    printed = capsys.readouterr().err
    error = [line for line in printed.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and "Traceback" not in printed, printed  # one line, whatever else a library warned
    assert re.search(message, error[0]), error[0]


def test_signals_of_several_rates_are_listed_to_pick_from(classifier, edf_path, tmp_path, capsys):
    """An EDF file whose signals run at two rates (as Sleep-EDF's EEG at 100 Hz and respiration at 1 Hz)."""
    import pyedflib

    eeg = read_edf(edf_path, ["C3..", "C4.."])
    path = tmp_path / "two_rates.edf"
    writer = pyedflib.EdfWriter(str(path), 2, file_type=pyedflib.FILETYPE_EDF)
    slow = eeg.data[1, ::4]  # the second channel kept at a quarter of the rate
    headers = [
        {"label": "C3", "dimension": "uV", "sample_frequency": 160, "physical_max": 1000, "physical_min": -1000,
         "digital_max": 32767, "digital_min": -32768},
        {"label": "C4 slow", "dimension": "uV", "sample_frequency": 40, "physical_max": 1000, "physical_min": -1000,
         "digital_max": 32767, "digital_min": -32768},
    ]  # fmt: skip
    writer.setSignalHeaders(headers)
    writer.writeSamples([np.ascontiguousarray(eeg.data[0]), np.ascontiguousarray(slow)])
    writer.close()
    assert main(["predict", classifier, str(path)]) == 2
    assert "holds signals at 2 rates (160 Hz: C3; 40 Hz: C4 slow); pick channels of one rate by name" in (
        capsys.readouterr().err
    )
    assert main(["predict", classifier, str(path), "--channels", "C4 slow", "--backend", "torch"]) == 0
    assert "at 40 Hz" in capsys.readouterr().out


def test_the_recordings_are_required(capsys):
    assert main(["predict", "runs/har"]) == 2
    assert "the following arguments are required: recordings" in capsys.readouterr().err


def test_nan_policy_interpolate_fills_a_gap(classifier, same_samples, capsys):
    folder, recording = same_samples
    gap = recording.data.copy()
    gap[0, 1000] = np.nan
    np.save(folder / "gap_filled.npy", gap)
    argv = [str(folder / "gap_filled.npy"), "--sampling-rate", "160", "--nan-policy", "interpolate"]
    assert main(["predict", classifier, *argv]) == 0
    assert "30 window(s) of 2 s at 160 Hz" in capsys.readouterr().out


def test_hop_seconds_overlaps_the_windows(classifier, edf_path, tmp_path, capsys):
    output = tmp_path / "half.csv"
    argv = [str(edf_path), "--channels", CHANNEL, "--hop-seconds", "1", "--backend", "torch", "--output", str(output)]
    assert main(["predict", classifier, *argv]) == 0
    starts = [float(row["start"]) for row in _csv_rows(output)]
    assert starts == [float(second) for second in range(60)]  # 2 s windows every second of 61 s
    assert main(["predict", classifier, *argv[:3], "--hop-seconds", "0.001"]) == 2
    assert "--hop-seconds: A hop of 0.001 s is less than one sample of the model's 100 Hz; give at least 0.01 s" in (
        capsys.readouterr().err
    )


def test_an_edf_file_of_annotations_only_is_named_as_one(classifier, tmp_path, capsys):
    """A Sleep-EDF hypnogram (EDF+ with only an annotation channel) given for the recording: MNE's "No appropriate
    channels found for the given picks" before."""
    import pyedflib

    path = tmp_path / "SC4001EC-Hypnogram.edf"
    writer = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.writeAnnotation(0, 30, "Sleep stage W")
    writer.close()
    assert main(["predict", classifier, str(path)]) == 2
    assert "holds no signals, only EDF+ annotations (a hypnogram or an events file)" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"`channels` is empty: name at least one of \['Fc5\.'"):
        read_edf(find_member(source_members("eegmmi_s001r02"), "S001R02.edf"), [])


def test_a_csv_time_column_is_not_read_as_a_channel(same_samples, caplog):
    folder, recording = same_samples
    seconds = np.arange(recording.data.shape[1]) / 160.0
    np.savetxt(folder / "timed.csv", np.stack([seconds, recording.data[0]], axis=1), delimiter=",",
               header="time,C3", comments="", fmt="%.17g")  # fmt: skip
    with caplog.at_level("WARNING", logger="citrus_hf.data.readers.files"):
        read = read_recording(folder / "timed.csv", sampling_rate=160)
    assert read.channel_names == ["C3"] and np.array_equal(read.data, recording.data)
    assert "column(s) 'time' (time stamps) not read as channels" in caplog.text
    # named, it is read
    assert read_recording(folder / "timed.csv", ["time", "C3"], sampling_rate=160).channel_names == ["time", "C3"]


@pytest.mark.parametrize(
    "suffix, delimiter, header",
    [(".csv", ";", "time;C3"), (".tsv", "\t", "C3"), (".txt", " ", None), (".csv", ",", None)],
)
def test_delimited_text_of_any_usual_separator_reads_as_its_csv(same_samples, suffix, delimiter, header):
    """A semicolon CSV (a spreadsheet's export where the comma is the decimal mark) was "not a numeric CSV file", and
    `.tsv` / `.txt` (`np.savetxt`'s default, columns apart by spaces) had no reader."""
    folder, recording = same_samples
    columns = [np.arange(recording.data.shape[1]) / 160.0, recording.data[0]] if header == "time;C3" else recording.data
    path = folder / f"delimited{suffix}"
    np.savetxt(path, np.stack(columns, axis=1), delimiter=delimiter, header=header or "", comments="", fmt="%.17g")
    read = read_recording(path, sampling_rate=160)
    assert np.array_equal(read.data, recording.data)
    assert read.channel_names == (["C3"] if header else ["0"])


def test_a_folder_stands_for_every_recording_under_it(classifier, same_samples, tmp_path, capsys):
    """A folder was "no reader for a file without a suffix"."""
    folder, _ = same_samples
    nested = tmp_path / "session" / "day1"
    nested.mkdir(parents=True)
    for name in ("c3.npy", "c3.csv"):
        (nested / name).write_bytes((folder / name).read_bytes())
    output = tmp_path / "all.jsonl"
    argv = ["predict", classifier, str(tmp_path / "session"), "--sampling-rate", "160", "--backend", "torch"]
    assert main([*argv, "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("30 window(s) of 2 s at 160 Hz") == 2
    assert [json.loads(line)["recording"] for line in output.read_text().splitlines()] == [
        str(nested / "c3.csv"),
        str(nested / "c3.npy"),
    ]
    (tmp_path / "empty").mkdir()
    assert main(["predict", classifier, str(tmp_path / "empty")]) == 2
    assert "the folder" in capsys.readouterr().err


def test_a_semicolon_csv_with_decimal_commas_is_read(same_samples):
    """The spreadsheet export of a locale whose decimal mark is the comma: "0,25;1,5"."""
    folder, recording = same_samples
    values = np.round(recording.data[0], 6)
    text = "time;C3\n" + "".join(f"{i / 160:.6f};{value:.6f}\n".replace(".", ",") for i, value in enumerate(values))
    (folder / "comma.csv").write_text(text)
    read = read_recording(folder / "comma.csv", sampling_rate=160)
    assert read.channel_names == ["C3"]
    np.testing.assert_allclose(read.data[0], values, atol=1e-6)


def test_plot_draws_every_recordings_windows(classifier, edf_path, same_samples, tmp_path, capsys):
    folder, _ = same_samples
    figure = tmp_path / "labels.png"
    argv = [str(edf_path), str(folder / "c3.hea"), "--channels", "0", "--backend", "torch", "--plot", str(figure)]
    assert main(["predict", classifier, *argv]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"Drew the windows of 2 recording(s) in {figure}"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    regressor = _save(CiTrusForRegression, tmp_path / "regressor", num_targets=2)
    assert main(["predict", regressor, str(edf_path), "--channels", "0", "--plot", str(tmp_path / "t.png")]) == 0
    assert (tmp_path / "t.png").stat().st_size > 0
    # an encoder has nothing to draw over time; a figure must be a .png
    assert main(["predict", "citrus-small", str(edf_path), "--channels", "0", "--plot", str(tmp_path / "e.png")]) == 2
    assert "--plot draws labels or targets over time, and 'citrus-small' has no task head" in capsys.readouterr().err
    assert main(["predict", classifier, str(edf_path), "--plot", str(tmp_path / "labels.pdf")]) == 2
    assert "--plot '" in capsys.readouterr().err and not (tmp_path / "e.png").exists()


def test_wav_files_carry_their_rate_and_read_as_audio_libraries_read_them(classifier, same_samples, tmp_path, capsys):
    """Heart sounds and other signals recorded through a sound card come as WAV files: the rate is the file's and
    integer samples read as [-1, 1) (16-bit, 8-bit unsigned), float samples as they are. The EEG channel as WAV."""
    from scipy.io import wavfile

    folder, recording = same_samples
    samples = recording.data[0]
    scaled = samples / np.abs(samples).max()
    wavfile.write(tmp_path / "c3_16.wav", 160, np.round(scaled * 32767).astype(np.int16))
    wavfile.write(tmp_path / "c3_8.wav", 160, np.round(scaled * 127 + 128).astype(np.uint8))
    wavfile.write(tmp_path / "two.wav", 160, np.stack([samples, -samples], axis=1).astype(np.float32))
    np.testing.assert_allclose(read_recording(tmp_path / "c3_16.wav").data[0], scaled, atol=2 / 2**15)
    np.testing.assert_allclose(read_recording(tmp_path / "c3_8.wav").data[0], scaled, atol=2 / 2**7)
    two = read_recording(tmp_path / "two.wav", channels=["1"])
    assert two.sampling_rate == 160.0 and two.channel_names == ["1"]
    np.testing.assert_allclose(two.data[0], -samples, rtol=1e-6)
    output = tmp_path / "windows.jsonl"
    assert main(["predict", classifier, str(tmp_path / "two.wav"), "--channels", "0", "--output", str(output)]) == 0
    assert "30 window(s) of 2 s at 160 Hz" in capsys.readouterr().out
    # the rate is the file's: another one is refused, as for EDF and WFDB; a damaged file is named
    with pytest.raises(ValueError, match="records its rate, 160 Hz, and the sampling rate given is 100 Hz"):
        read_recording(tmp_path / "c3_16.wav", sampling_rate=100)
    (tmp_path / "damaged.wav").write_bytes((tmp_path / "c3_16.wav").read_bytes()[:30])
    assert main(["predict", classifier, str(tmp_path / "damaged.wav")]) == 2
    assert "damaged.wav could not be read as a WAV file" in capsys.readouterr().err
    # a folder of WAV files is a pile of recordings for `citrus pretrain` / `citrus data info`, at the files' rate
    from citrus_hf.data.splits import load_split

    (tmp_path / "pile").mkdir()
    for name in ("c3_16.wav", "c3_8.wav", "two.wav"):
        (tmp_path / name).rename(tmp_path / "pile" / name)
    corpus = load_split(tmp_path / "pile", "train")
    assert sorted(corpus["recording"]) == ["c3_16.wav", "c3_8.wav", "two.wav"]
    assert set(corpus["sampling_rate"]) == {160.0}


def test_a_file_without_the_channels_of_fixed_statistics_gets_the_commands_fix(tmp_path, capsys):
    """A model that takes any channel count but normalises with statistics of two channels, given one: the refusal is
    right, and it named `input_channel_names`, the Python argument, where the command takes --channels."""
    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.commands.main import main

    statistics = {"normalization": "fixed", "normalization_mean": [0.0, 0.0], "normalization_std": [1.0, 1.0]}
    config = tiny_config(num_labels=2, num_channels=2, channel_pooling="mean", **statistics)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "model")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "model")
    np.save(tmp_path / "one.npy", np.random.default_rng(0).standard_normal((1, 400)).astype(np.float32))
    assert main(["predict", str(tmp_path / "model"), str(tmp_path / "one.npy"), "--sampling-rate", "100"]) == 2
    error = capsys.readouterr().err
    assert "statistics for 2" in error and "--channels NAME" in error and "input_channel_names" not in error
