"""Mutation audit of the commands (audit79_mutcli): checks that fail where `citrus predict`, `citrus export`,
`citrus data` or the settings parser gives a wrong answer that the suite did not notice (a probability written under
another label's column, a flag that reaches nothing, a settings file's value that loses to a default).

`citrus predict` runs once per module on a tiny 3-label classifier with random weights over a real EEG recording
(EEG Motor Movement/Imagery S001R02, 61 s at 160 Hz): the checks compare what the command writes with what the
package's pipeline returns for the same samples.
"""

from __future__ import annotations

import csv
import json

import pytest
from test_predict_command import CHANNEL, LABELS, _save
from transformers import pipeline

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.data.readers import read_edf


def _rows(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def scored(edf_path, tmp_path_factory):
    """One `citrus predict` run (windows every 1.5 s) writing --output .csv and --summary, one writing .jsonl, and the
    pipeline's own result for the same samples."""
    folder = tmp_path_factory.mktemp("mutcli")
    model = _save(
        CiTrusForSequenceClassification,
        folder / "model",
        num_labels=3,
        id2label=LABELS,
        label2id={label: index for index, label in LABELS.items()},
    )
    files = {name: folder / name for name in ("windows.csv", "summary.csv", "windows.jsonl")}
    argv = ["predict", model, str(edf_path), "--channels", CHANNEL, "--backend", "torch", "--hop-seconds", "1.5"]
    assert main([*argv, "--output", str(files["windows.csv"]), "--summary", str(files["summary.csv"])]) == 0
    assert main([*argv, "--output", str(files["windows.jsonl"])]) == 0
    recording = read_edf(edf_path, [CHANNEL])
    expected = pipeline(model=model, backend="torch", top_k=None)(
        recording.data, sampling_rate=recording.sampling_rate, hop_seconds=1.5
    )
    return files, expected


def test_each_probability_column_holds_its_own_labels_probability(scored):
    """`p_LABEL` of a window row is that label's probability: a permutation of the columns kept the row's maximum and
    sum (what the CLI tests checked) while every column named the wrong label."""
    files, expected = scored
    rows = _rows(files["windows.csv"])
    assert len(rows) == len(expected["windows"]) == 40  # (61 s - 2 s) / 1.5 s + 1 windows
    for row, window in zip(rows, expected["windows"], strict=True):
        by_label = {entry["label"]: entry["score"] for entry in window["labels"]}
        for label in LABELS.values():
            assert float(row[f"p_{label}"]) == pytest.approx(by_label[label], abs=1e-6)
    (summary,) = _rows(files["summary.csv"])
    by_label = {entry["label"]: entry["score"] for entry in expected["labels"]}
    for label in LABELS.values():
        assert float(summary[f"p_{label}"]) == pytest.approx(by_label[label], abs=1e-6)


def _window(start: float, end: float, scores: dict[str, float]) -> dict:
    """A window as the classification pipeline returns it: every label's score, highest first."""
    labels = sorted(({"label": name, "score": value} for name, value in scores.items()), key=lambda e: -e["score"])
    return {"start": start, "end": end, "label": labels[0]["label"], "score": labels[0]["score"], "labels": labels}


def test_present_labels_are_those_above_one_half_not_near_it():
    """A multi-label classifier's `present_labels` (its --output rows, its .jsonl line): each label whose sigmoid is
    above 0.5, the threshold the metrics and the ONNX metadata use; a label at 0.45 is absent."""
    from types import SimpleNamespace

    from citrus_hf.commands.predict import _json_record, _window_rows

    config = SimpleNamespace(problem_type="multi_label_classification", id2label={0: "AF", 1: "LBBB", 2: "PVC"})
    windows = [
        _window(0.0, 10.0, {"AF": 0.55, "LBBB": 0.45, "PVC": 0.1}),
        _window(10.0, 20.0, {"AF": 0.3, "LBBB": 0.49, "PVC": 0.51}),
    ]
    result = {"windows": windows, **_window(0.0, 20.0, {"AF": 0.425, "LBBB": 0.47, "PVC": 0.305})}
    rows = list(_window_rows("ecg.npy", result, config))
    assert [row["present_labels"] for row in rows] == ["AF", "PVC"]
    recording = SimpleNamespace(start=None, sampling_rate=100.0, channel_names=["I"])
    record = _json_record("ecg.npy", recording, result, config)
    assert record["present_labels"] == []  # (the means: 0.425, 0.47, 0.305, none above 0.5)
    assert [window["present_labels"] for window in record["windows"]] == [["AF"], ["PVC"]]


def test_a_regressors_targets_are_written_under_their_own_names():
    """A regressor of several named targets: each window row's `heart_rate` holds the first target and `spo2` the
    second, in the model's order (`target_names`)."""
    from citrus_hf.commands.predict import _window_rows

    windows = [
        {"start": 0.0, "end": 10.0, "targets": [61.0, 97.0]},
        {"start": 10.0, "end": 20.0, "targets": [64.0, 95.0]},
    ]
    result = {"windows": windows, "targets": [62.5, 96.0], "target_names": ["heart_rate", "spo2"]}
    rows = list(_window_rows("ppg.csv", result, None))
    assert [(row["heart_rate"], row["spo2"]) for row in rows] == [(61.0, 97.0), (64.0, 95.0)]


def test_the_summary_row_counts_seconds_and_windows_of_the_recording(scored):
    """--summary's row: the recording's duration in seconds (9760 samples at 160 Hz: 61 s, not 9760), its 40
    windows, none without signal, and the 0.5 s after the last window's end (58.5 + 2 = 60.5 s) that no window
    scores, as the pipeline counts them."""
    files, expected = scored
    (row,) = _rows(files["summary.csv"])
    assert float(row["duration_seconds"]) == 61.0
    assert int(row["windows"]) == len(expected["windows"]) == 40
    assert int(row["no_signal_windows"]) == 0
    assert float(row["unscored_seconds"]) == pytest.approx(expected["unscored_seconds"]) == pytest.approx(0.5)


def test_a_settings_files_mapping_updates_the_default_mapping(tmp_path):
    """A settings file's mapping for a setting whose default is one (`dataset_budgets`, `synthetic_generators`)
    updates it, as the same pairs on the command line do: the file's `hr_ecg` budgets keep `hr_ppg`'s default, and
    `eda: 0` drops one generator of the default mix, not the whole mix."""
    from citrus_hf.commands import evaluate, pretrain
    from citrus_hf.data.synthetic import DEFAULT_GENERATOR_WEIGHTS

    settings = tmp_path / "evaluate.yaml"
    settings.write_text("dataset_budgets:\n  hr_ecg: ['5', 'all']\n")
    config = evaluate.build_parser().parse([str(settings)])
    assert config.dataset_budgets == {"hr_ecg": ["5", "all"], "hr_ppg": ["5", "20", "50", "all"]}
    settings = tmp_path / "pretrain.yaml"
    settings.write_text("synthetic_generators:\n  eda: 0\n")
    arguments = pretrain.build_parser().parse([str(settings), "--output-dir", str(tmp_path / "run")])
    assert arguments.synthetic_generators == {**DEFAULT_GENERATOR_WEIGHTS, "eda": 0}


def test_pretrain_runs_with_the_precision_and_accumulation_given_on_the_command_line(tmp_path, monkeypatch, capsys):
    """`citrus pretrain --mixed-precision no --gradient-accumulation-steps 4` trains with them: left out, they are
    None (Accelerate's setting, else the fallback); given on the command line, they must reach `pretrain` as given."""
    import importlib
    from types import SimpleNamespace

    from citrus_hf.commands import pretrain as pretrain_command

    training = importlib.import_module("citrus_hf.training.pretrain")  # (the package's `pretrain` is the function)

    received = []

    def fake_pretrain(arguments):
        received.append(arguments)
        return SimpleNamespace(completed=True, final_loss=None, steps=0, world_size=1, output_dir=arguments.output_dir)

    monkeypatch.setattr(training, "pretrain", fake_pretrain)
    argv = ["--output-dir", str(tmp_path / "run"), "--mixed-precision", "no", "--gradient-accumulation-steps", "4"]
    assert pretrain_command.run(argv) == 0
    assert pretrain_command.run(["--output-dir", str(tmp_path / "run")]) == 0
    given, left_out = received
    assert (given.mixed_precision, given.gradient_accumulation_steps) == ("no", 4)
    assert (left_out.mixed_precision, left_out.gradient_accumulation_steps) == (None, None)


def _recording(start=None):
    from types import SimpleNamespace

    return SimpleNamespace(start=start, sampling_rate=100.0, channel_names=["I"])


def test_an_output_named_in_capitals_is_written_as_its_suffix_says(tmp_path):
    """--output RUN.JSONL is a .jsonl file (the suffix is read whatever its case, as the option's check reads it): a
    line per recording, not CSV rows under a .JSONL name."""
    from citrus_hf.commands.predict import _Written

    output = tmp_path / "RUN.JSONL"
    result = {"windows": [{"start": 0.0, "end": 10.0, "target": 61.0}], "target": 61.0}
    with _Written(output) as written:
        written.add("ecg.npy", _recording(), result, None)
    (line,) = output.read_text().splitlines()
    assert json.loads(line)["target"] == 61.0 and json.loads(line)["recording"] == "ecg.npy"


def test_a_run_that_scores_no_recording_leaves_the_output_as_it_was(tmp_path):
    """Every recording left out (unreadable, refused): the run ends with an error saying that the output holds what
    it held before, and so it must; an empty file in its place lost an earlier run's windows."""
    from citrus_hf.commands.predict import _SummaryTable, _Written

    for writer in (_Written, _SummaryTable):
        output = tmp_path / f"{writer.__name__}.csv"
        output.write_text("recording,start,end\nearlier.edf,0.0,2.0\n")
        with writer(output):
            pass  # (each recording was left out: none added)
        assert output.read_text() == "recording,start,end\nearlier.edf,0.0,2.0\n"
        assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no partial file left


def test_predict_passes_its_batch_size_and_padding_flags_to_the_pipeline(scored, edf_path, monkeypatch):
    """--per-device-batch-size, --pad-last-window and --nan-policy reach the pipeline's call: a flag that reached
    nothing ran the defaults without a word (the windows' values are the same whatever the batch size, so only the
    call shows it)."""
    from citrus_hf.inference.pipelines import _RecordingPipeline

    calls = []
    original = _RecordingPipeline.__call__

    def spy(self, inputs, *args, **kwargs):
        calls.append(kwargs)
        return original(self, inputs, *args, **kwargs)

    monkeypatch.setattr(_RecordingPipeline, "__call__", spy)
    files, _ = scored
    model = str(files["windows.csv"].parent / "model")
    argv = [
        "predict",
        model,
        str(edf_path),
        "--channels",
        CHANNEL,
        "--backend",
        "torch",
        "--per-device-batch-size",
        "7",
    ]
    assert main([*argv, "--pad-last-window", "--nan-policy", "interpolate"]) == 0
    (options,) = calls
    assert (options["batch_size"], options["pad_last_window"], options["nan_policy"]) == (7, True, "interpolate")


def test_the_summary_row_puts_lights_out_and_on_on_the_recordings_clock():
    """A sleep stager's --summary row: lights out and on in seconds and on the clock (the recording's start plus
    them: 16:15:00 + 10 s and + 61 s), and each stage's seconds as `stage_seconds_STAGE`."""
    import datetime

    import numpy as np

    from citrus_hf.commands.predict import _summary_row

    recording = _recording(start=datetime.datetime(2009, 8, 12, 16, 15))
    recording.data = np.zeros((1, 6100))
    sleep = {"lights_off_seconds": 10.0, "lights_on_seconds": 61.0, "stage_seconds": {"W": 21.0, "N2": 30.0}}
    row = _summary_row("night.edf", recording, {"windows": [], "unscored_seconds": 0.0}, None, sleep, clock=True)
    assert row["lights_off_time"] == "2009-08-12T16:15:10.000"
    assert row["lights_on_time"] == "2009-08-12T16:16:01.000"
    assert (row["stage_seconds_W"], row["stage_seconds_N2"]) == (21.0, 30.0)


def test_the_end_of_a_run_counts_the_recordings_scored_apart_from_those_left_out(tmp_path, capsys):
    """Of 4 recordings, one unreadable and one refused by the model: 2 were scored (4 - 1 - 1), as the error says
    and the line of what was written counts; with none scored, no "Wrote" line claims a write."""
    from citrus_hf.commands import UsageError
    from citrus_hf.commands.predict import _end_of_run, _Written

    writer = _Written(tmp_path / "out.csv")
    with pytest.raises(UsageError, match=r"; the other 2 were scored and written to "):
        _end_of_run(4, ["a.edf"], ["b.edf"], [writer], 60, None, [], [], None)
    assert "Wrote 60 windows of 2 recording(s)" in capsys.readouterr().out
    with pytest.raises(UsageError, match="nothing was written to"):
        _end_of_run(2, ["a.edf"], ["b.edf"], [writer], 0, None, [], [], None)
    assert "Wrote" not in capsys.readouterr().out


def test_list_settings_are_split_at_commas_without_spaces_or_empty_items(tmp_path):
    """`--dataset-budgets hr_ecg="5, 20,all,"` (spaces after commas, a trailing comma) gives the budgets 5, 20 and
    all; a budget " 20" or "" was no budget."""
    from citrus_hf.commands import evaluate

    config = evaluate.build_parser().parse(["--dataset-budgets", "hr_ecg=5, 20,all,"])
    assert config.dataset_budgets["hr_ecg"] == ["5", "20", "all"]


def test_a_settings_file_in_a_folder_whose_name_holds_equals_is_read(tmp_path):
    """`--config=runs/fs=100/finetune.yaml`: the value is everything after the option's own "=" (a hydra-style
    folder's "=" included), as argparse reads `--option=VALUE`."""
    from citrus_hf.commands import finetune

    folder = tmp_path / "fs=100"
    folder.mkdir()
    (folder / "finetune.yaml").write_text(f"output_dir: {tmp_path / 'ft'}\ndataset: basic_motions\n")
    parsed = finetune.build_parser().parse([f"--config={folder / 'finetune.yaml'}"])
    assert parsed.output_dir == str(tmp_path / "ft")


def test_the_time_per_label_line_counts_windows_of_signal_longest_first():
    """Four 30 s windows, the last flat: 90 s scored (said in seconds under 2 min), `b` 60 s (66.7%) before `a`
    30 s (33.3%), and `c`, never present, left out."""
    from types import SimpleNamespace

    from citrus_hf.commands.predict import _time_line

    windows = [{"start": 30.0 * k, "end": 30.0 * (k + 1)} for k in range(4)]
    windows[3]["no_signal"] = "flat"
    result = {"windows": windows, "no_signal_windows": 1, "label_seconds": {"a": 30.0, "b": 60.0, "c": 0.0}}
    line = _time_line("x.edf", result, SimpleNamespace(problem_type=None, num_labels=3))
    assert line == "x.edf: time per label, of 90 s scored: b 60 s (66.7%), a 30 s (33.3%)"


def test_the_recordings_line_names_short_gaps_and_each_named_target():
    """At 100 Hz, windows 0.25 s apart leave 0.25 s unscored between them (above half a sample, 0.005 s), which the
    line names; a regressor's named targets are each given beside its name, in the model's order."""
    from citrus_hf.commands.predict import _summary

    windows = [{"start": 0.0, "end": 2.0}, {"start": 2.25, "end": 4.25}]
    result = {"windows": windows, "unscored_seconds": 0.0, "targets": [61.0, 97.0], "backend": "torch"}
    line = _summary("ppg.csv", {**result, "target_names": ["heart_rate", "spo2"]}, 100.0, 4.25, False)
    assert line.startswith("ppg.csv: heart_rate 61, spo2 97; 2 window(s) of 2 s at 100 Hz")
    assert "0.25 s (of 4.25) fall in the gaps between windows" in line


def test_an_events_table_writes_plain_seconds_and_scores_to_six_decimals(tmp_path):
    """BIDS events.tsv cells: 30 s as `30` (no trailing "." or zeros), 1.5 s as `1.5`, a mean probability to six
    decimals (0.1234564 as `0.123456`)."""
    import io

    from citrus_hf.commands.predict import _EventTables

    tables = _EventTables.__new__(_EventTables)
    tables.output = tmp_path / "events.tsv"
    handle = io.StringIO()
    tables._write(handle, [{"onset": 30.0, "duration": 1.5, "trial_type": "N2", "score": 0.1234564}])
    assert handle.getvalue() == "onset\tduration\ttrial_type\tscore\n30\t1.5\tN2\t0.123456\n"


def test_settings_files_read_paths_quotes_and_interpolations_inside_lists(tmp_path, monkeypatch):
    """A settings file's list of paths starting with `~` is expanded as one path is; a `KEY=VALUE` setting's quoted
    value keeps its space, as a shell reads it; an OmegaConf `${...}` inside a list is refused as one outside is."""
    from citrus_hf.commands import UsageError, evaluate, pretrain

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "ecg").mkdir()
    settings = tmp_path / "evaluate.yaml"
    settings.write_text("datasets: ['~/ecg', basic_motions]\n")
    assert evaluate.build_parser().parse([str(settings)]).datasets == [str(tmp_path / "ecg"), "basic_motions"]
    settings = tmp_path / "pretrain.yaml"
    settings.write_text("output_dir: run\ndataset_options: \"note='two words' window_seconds=5\"\n")
    assert pretrain.build_parser().parse([str(settings)]).dataset_options == {"note": "two words", "window_seconds": 5}
    settings.write_text("output_dir: run\ndataset: ['${oc.env:HOME}/eeg']\n")
    with pytest.raises(UsageError, match="interpolation"):
        pretrain.build_parser().parse([str(settings)])
