"""`citrus predict --output X.tsv`: a classifier's predictions as an events table, as BIDS's events.tsv lists events
(onset, duration, trial_type, score; tab-separated), a row per run of windows of one label
(`inference.time_use.label_events`); one table per recording, named after it, of several; read back by the package's
own BIDS events reader, so that predictions -> events.tsv -> corrected by hand -> fine-tuning is a round trip."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from test_bids_audit73 import RATE, _bids
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForRegression, CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.data.recording_folders import load_recording_folder
from citrus_hf.inference.time_use import label_events

LABELS = {0: "left", 1: "right", 2: "rest"}


def _window(start, end, scores, no_signal=None):
    """A classification pipeline's window of `scores` `{label: probability}` (its top label first)."""
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    labels = [{"label": label, "score": score} for label, score in ranked]
    return {"start": start, "end": end, "label": ranked[0][0], "score": ranked[0][1], "labels": labels,
            "no_signal": no_signal}  # fmt: skip


def test_runs_of_one_label_are_one_event_each_second_counted_once():
    """Windows of one label in a row are one event (its score their mean probability); overlapping windows split
    halfway between their middles, so the events tile the seconds and add up to `label_seconds`; a window without
    signal, and seconds between windows apart, end an event and belong to none."""
    windows = [
        _window(0, 4, {"a": 0.9, "b": 0.1}),
        _window(2, 6, {"a": 0.7, "b": 0.3}),
        _window(4, 8, {"b": 0.6, "a": 0.4}),
        _window(6, 10, {"b": 0.8, "a": 0.2}, no_signal="flat"),
        _window(8, 12, {"b": 0.8, "a": 0.2}),
        _window(20, 24, {"b": 0.6, "a": 0.4}),
    ]
    events = label_events(windows, each_output=False)
    assert [(e["onset"], e["duration"], e["trial_type"]) for e in events] == [
        (0.0, 5.0, "a"), (5.0, 2.0, "b"), (9.0, 3.0, "b"), (20.0, 4.0, "b"),
    ]  # fmt: skip
    assert events[0]["score"] == pytest.approx(0.8)


def test_a_multi_label_classifiers_labels_are_each_an_event_while_present():
    """Each label above 0.5 runs on while it is present, overlapping the others; a window where none is present
    ends them all."""
    windows = [
        _window(0, 2, {"AF": 0.9, "LBBB": 0.8}),
        _window(2, 4, {"AF": 0.7, "LBBB": 0.2}),
        _window(4, 6, {"AF": 0.1, "LBBB": 0.2}),
        _window(6, 8, {"LBBB": 0.6, "AF": 0.2}),
    ]
    events = label_events(windows, each_output=True)
    assert [(e["onset"], e["duration"], e["trial_type"]) for e in events] == [
        (0.0, 4.0, "AF"), (0.0, 2.0, "LBBB"), (6.0, 2.0, "LBBB"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> str:
    """A tiny 3-label classifier of one channel at the BIDS tree's rate, 2 s windows, random weights."""
    torch.manual_seed(7)  # (a seed whose windows of these signals get several labels)
    folder = tmp_path_factory.mktemp("classifier")
    config = tiny_config(
        num_labels=3, id2label=LABELS, label2id={v: k for k, v in LABELS.items()}, sampling_rate=RATE,
        context_length=2 * RATE, patch_length=10,
    )  # fmt: skip
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    return str(folder)


def _read(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t" if str(path).endswith(".tsv") else ","))


def _merged(rows: list[dict[str, str]]) -> list[tuple[float, float, str]]:
    """The runs of one label among a .csv's window rows (windows one after another, all with signal)."""
    runs: list[list] = []
    for row in rows:
        start, end, label = float(row["start"]), float(row["end"]), row["label"]
        if runs and runs[-1][2] == label:
            runs[-1][1] = end
        else:
            runs.append([start, end, label])
    return [(start, end - start, label) for start, end, label in runs]


def test_events_tsv_holds_the_windows_labels_and_reads_back_as_bids_events(
    classifier, tmp_path, own_datasets_cache, capsys
):
    """One recording's events table: the .csv's windows merged into runs of their label, tab-separated as BIDS
    writes events; placed beside the recording in a BIDS tree, the package's BIDS reader gives an example per event,
    labelled by the predicted label, over its seconds."""
    _bids(tmp_path / "bids", subjects=("01",))
    eeg = tmp_path / "bids" / "sub-01" / "eeg"
    recording = eeg / "sub-01_task-motor_run-1_eeg.edf"
    windows = tmp_path / "windows.csv"
    assert main(["predict", classifier, str(recording), "--channels", "C3", "--output", str(windows)]) == 0
    table = eeg / "sub-01_task-motor_run-1_events.tsv"
    assert main(["predict", classifier, str(recording), "--channels", "C3", "--output", str(table)]) == 0
    assert "Wrote" in capsys.readouterr().out
    assert table.read_text().splitlines()[0] == "onset\tduration\ttrial_type\tscore"
    events = _read(table)
    expected = _merged(_read(windows))
    assert [(float(e["onset"]), float(e["duration"]), e["trial_type"]) for e in events] == expected
    assert len({label for _, _, label in expected}) > 1  # (the random model gives several labels: a real test)
    assert all(0 < float(e["score"]) <= 1 for e in events)

    examples = load_recording_folder(tmp_path / "bids")["train"]
    assert [(row["start_seconds"], row["label"]) for row in examples] == [
        (onset, label) for onset, _, label in expected
    ]
    assert [len(row["input_values"][0]) for row in examples] == [round(duration * RATE) for _, duration, _ in expected]


def test_several_recordings_get_a_table_each_named_after_them(classifier, tmp_path, capsys):
    """Of several recordings, each table goes in --output's folder named as BIDS names a recording's events table,
    and pandas reads it as a tab-separated table."""
    pandas = pytest.importorskip("pandas")
    _bids(tmp_path / "bids", subjects=("01", "02"))
    out = tmp_path / "predicted"
    out.mkdir()
    argv = ["predict", classifier, str(tmp_path / "bids"), "--channels", "C3", "--output", str(out / "events.tsv")]
    assert main(argv) == 0
    names = sorted(path.name for path in out.iterdir())
    assert names == ["sub-01_task-motor_run-1_events.tsv", "sub-02_task-motor_run-1_events.tsv"]
    frame = pandas.read_csv(out / names[0], sep="\t")
    assert list(frame.columns) == ["onset", "duration", "trial_type", "score"]
    assert frame["duration"].sum() == pytest.approx(12.0)  # 12 s, in 2 s windows: every second in one event
    assert set(frame["trial_type"]) <= set(LABELS.values())


def test_a_regressor_is_refused_an_events_table_naming_csv(tmp_path, capsys):
    """A regressor has no labels to list as events: refused in one line, naming .csv, before any file is read."""
    _bids(tmp_path / "bids", subjects=("01",))
    torch.manual_seed(0)
    config = tiny_config(num_targets=1, sampling_rate=RATE, context_length=2 * RATE, patch_length=10)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "regressor")
    CiTrusForRegression(config).save_pretrained(tmp_path / "regressor")
    recording = next((tmp_path / "bids").rglob("*_eeg.edf"))
    argv = [
        "predict",
        str(tmp_path / "regressor"),
        str(recording),
        "--channels",
        "C3",
        "--output",
        str(tmp_path / "x.tsv"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "regressor" in err and ".csv" in err
    assert not (tmp_path / "x.tsv").exists()


def test_two_recordings_of_one_name_are_refused_before_scoring(classifier, tmp_path, capsys):
    """Two recordings whose tables would take one name (the same file name in two folders) are refused at once."""
    _bids(tmp_path / "bids", subjects=("01",))
    recording = next((tmp_path / "bids").rglob("*_eeg.edf"))
    (tmp_path / "other").mkdir()
    copy = tmp_path / "other" / recording.name
    copy.write_bytes(recording.read_bytes())
    argv = ["predict", classifier, str(recording), str(copy), "--output", str(tmp_path / "events.tsv")]
    assert main(argv) == 2
    assert "would both write" in capsys.readouterr().err


def test_a_txt_is_mne_annotations_of_the_same_events(classifier, tmp_path, capsys):
    """`--output X.txt` writes the same events as MNE's annotations text: `mne.read_annotations` reads them, and
    `raw.set_annotations` puts them at the recording's seconds."""
    mne = pytest.importorskip("mne")
    _bids(tmp_path / "bids", subjects=("01",))
    recording = str(next((tmp_path / "bids").rglob("*_eeg.edf")))
    for name in ("events.tsv", "hypnogram.txt"):
        assert main(["predict", classifier, recording, "--channels", "C3", "--output", str(tmp_path / name)]) == 0
    events = _read(tmp_path / "events.tsv")
    annotations = mne.read_annotations(tmp_path / "hypnogram.txt")
    assert list(annotations.description) == [event["trial_type"] for event in events]
    np.testing.assert_allclose(annotations.onset, [float(event["onset"]) for event in events])
    np.testing.assert_allclose(annotations.duration, [float(event["duration"]) for event in events])
    raw = mne.io.read_raw_edf(recording, verbose="error")
    raw.set_annotations(annotations)
    np.testing.assert_allclose(raw.annotations.onset, annotations.onset)


def test_a_multi_label_classifiers_tsv_has_an_event_per_label_while_present(tmp_path, capsys):
    """A multi-label classifier's events table lists each label's runs of windows where it is present (as its .csv's
    present_labels name them), overlapping where labels do."""
    torch.manual_seed(9)  # (a seed under which LBBB is present throughout and AF in two separate windows)
    labels = {0: "AF", 1: "LBBB"}
    config = tiny_config(
        num_labels=2, id2label=labels, label2id={v: k for k, v in labels.items()},
        problem_type="multi_label_classification", sampling_rate=RATE, context_length=2 * RATE, patch_length=10,
    )  # fmt: skip
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "model")
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "model")
    recording = tmp_path / "r.npy"
    np.save(recording, np.random.default_rng(0).normal(size=(1, 20 * RATE)))
    for name in ("w.csv", "e.tsv"):
        argv = ["predict", str(tmp_path / "model"), str(recording), "--sampling-rate", str(RATE)]
        assert main([*argv, "--output", str(tmp_path / name)]) == 0
    windows = _read(tmp_path / "w.csv")
    expected = []
    for label in labels.values():
        present = [[row] for row in windows if label in row["present_labels"].split(";")]
        runs: list[list] = []
        for [row] in present:
            if runs and runs[-1][1] == float(row["start"]):
                runs[-1][1] = float(row["end"])
            else:
                runs.append([float(row["start"]), float(row["end"])])
        expected += [(start, end - start, label) for start, end in runs]
    events = [(float(e["onset"]), float(e["duration"]), e["trial_type"]) for e in _read(tmp_path / "e.tsv")]
    assert sorted(events) == sorted(expected) and len(expected) == 3
    assert [onset for onset, _, _ in events] == sorted(onset for onset, _, _ in events)
