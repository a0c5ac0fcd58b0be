"""`citrus predict --summary FILE.csv` (audit73_summarycsv): one row per recording, for pandas or a spreadsheet: the
whole-recording label and score (or targets), every label's seconds (`label_seconds`, 0 where never present) and, for a
sleep stager, its AASM statistics (the `.jsonl` line's `sleep`, its nested keys joined by "_"), written whole at the
run's end as --output is, beside it.

On a tiny classifier and a tiny stager with random weights over a real EEG recording (EEG Motor Movement/Imagery
S001R02, 61 s at 160 Hz), copied into a folder of two "nights".
"""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from test_timeuse_audit73 import CHANNEL, STAGES, _classifier

from citrus_hf.commands.main import main

LABELS = ["rest", "left fist", "right fist"]


@pytest.fixture
def nights(edf_path, tmp_path):
    folder = tmp_path / "nights"
    folder.mkdir()
    for name in ("a.edf", "b.edf"):
        shutil.copyfile(edf_path, folder / name)
    return folder


def _rows(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def test_a_classifiers_summary_has_a_row_per_recording_beside_its_jsonl(nights, tmp_path, capsys):
    model = _classifier(tmp_path / "model", LABELS)
    summary, output = tmp_path / "summary.csv", tmp_path / "windows.jsonl"
    argv = ["predict", model, str(nights), "--channels", CHANNEL, "--hop-seconds", "1", "--output", str(output)]
    assert main([*argv, "--summary", str(summary)]) == 0
    assert f"to {summary}" in capsys.readouterr().out
    records = [json.loads(line) for line in output.read_text().splitlines()]
    rows = _rows(summary)
    assert [row["recording"] for row in rows] == [record["recording"] for record in records]
    for row, record in zip(rows, records):
        assert row["start_time"] == record["recording_start"]  # (EDF: the header's start)
        assert row["label"] == record["label"] and float(row["score"]) == pytest.approx(record["score"])
        assert int(row["windows"]) == len(record["windows"])
        for name in LABELS:  # every label, 0 where no window tops it: one rule, the pipeline's
            assert float(row[f"seconds_{name}"]) == pytest.approx(record["label_seconds"][name])
            assert float(row[f"p_{name}"]) == pytest.approx(
                next(entry["score"] for entry in record["labels"] if entry["label"] == name)
            )
    assert not any(column.startswith(("sleep", "total_sleep", "stage_")) for column in rows[0])


def test_a_stagers_summary_carries_the_sleep_statistics_the_jsonl_line_has(nights, tmp_path, capsys):
    stager = _classifier(tmp_path / "stager", STAGES)
    summary, output = tmp_path / "nights.csv", tmp_path / "nights.jsonl"
    argv = ["predict", stager, str(nights), "--channels", CHANNEL, "--lights-off", "10", "--output", str(output)]
    assert main([*argv, "--summary", str(summary)]) == 0
    records = [json.loads(line) for line in output.read_text().splitlines()]
    rows = _rows(summary)
    assert len(rows) == 2
    for row, record in zip(rows, records):
        night = record["sleep"]
        for key in ("lights_off_seconds", "total_sleep_seconds", "sleep_efficiency_percent", "unstaged_seconds"):
            assert _number(row[key]) == pytest.approx(night[key])
        for key in ("sleep_onset_latency_seconds", "waso_seconds", "rem_latency_seconds"):
            assert _number(row[key]) == (None if night[key] is None else pytest.approx(night[key]))
        for stage, seconds in night["stage_seconds"].items():
            assert float(row[f"stage_seconds_{stage}"]) == pytest.approx(seconds)
        assert float(row["lights_off_seconds"]) == 10 and row["lights_off_time"].endswith(":10.000")
        assert row["lights_on_seconds"] == "61.0"  # the recording's end, as the statistics used it


def test_the_summary_is_refused_for_another_suffix_or_as_the_output_and_for_an_encoder(edf_path, tmp_path, capsys):
    model = _classifier(tmp_path / "model", LABELS)
    recording = [str(edf_path), "--channels", CHANNEL]
    assert main(["predict", model, *recording, "--summary", str(tmp_path / "s.xlsx")]) == 2
    assert "--summary" in capsys.readouterr().err
    same = str(tmp_path / "x.csv")
    assert main(["predict", model, *recording, "--output", same, "--summary", same]) == 2
    assert "--summary" in capsys.readouterr().err
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusModel
    from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

    encoder = tmp_path / "encoder"
    CiTrusFeatureExtractor.from_config(tiny_config()).save_pretrained(encoder)
    CiTrusModel(tiny_config()).save_pretrained(encoder)
    assert main(["predict", str(encoder), *recording, "--summary", str(tmp_path / "e.csv")]) == 2
    assert "no task head" in capsys.readouterr().err
    assert not (tmp_path / "e.csv").exists() and not (tmp_path / "s.xlsx").exists()


def test_a_damaged_file_is_left_out_of_the_summary_and_a_stopped_run_keeps_the_old_one(nights, tmp_path, capsys):
    model = _classifier(tmp_path / "model", LABELS)
    (nights / "c.edf").write_bytes(b"0       damaged")
    summary = tmp_path / "summary.csv"
    assert main(["predict", model, str(nights), "--channels", CHANNEL, "--summary", str(summary)]) == 2
    assert "written to" in capsys.readouterr().err
    assert [row["recording"].rsplit("/", 1)[-1] for row in _rows(summary)] == ["a.edf", "b.edf"]
    # every file refused: the summary holds what it held before
    before = summary.read_text()
    assert main(["predict", model, str(nights / "c.edf"), "--summary", str(summary)]) == 2
    capsys.readouterr()
    assert summary.read_text() == before


def test_a_regressors_summary_has_its_targets_named_apart_from_the_tables_own_columns(edf_path, tmp_path):
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForRegression
    from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

    config = tiny_config(num_targets=2, id2label={0: "windows", 1: "heart_rate"})
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "regressor")
    CiTrusForRegression(config).save_pretrained(tmp_path / "regressor")
    summary, output = tmp_path / "summary.csv", tmp_path / "out.jsonl"
    argv = [str(tmp_path / "regressor"), str(edf_path), "--channels", CHANNEL, "--output", str(output)]
    assert main(["predict", *argv, "--summary", str(summary)]) == 0
    (row,) = _rows(summary)
    record = json.loads(output.read_text())
    assert int(row["windows"]) == len(record["windows"]) == 30
    assert float(row["target_windows"]) == pytest.approx(record["targets"][0])
    assert float(row["heart_rate"]) == pytest.approx(record["targets"][1])


def test_a_fusion_stagers_session_gets_its_row(tmp_path, capsys):
    from test_fusionpipe_audit73 import fusion_stager_argv

    summary = tmp_path / "sessions.csv"
    argv = fusion_stager_argv(tmp_path)
    assert main([*argv, "eda=20", "--lights-off", "2", "--summary", str(summary)]) == 0
    (row,) = _rows(summary)
    assert row["recording"].startswith("ecg=") and float(row["duration_seconds"]) == 6.0
    assert float(row["lights_off_seconds"]) == 2.0 and float(row["recorded_seconds"]) == 4.0
    assert sum(float(row[f"seconds_{stage}"]) for stage in STAGES) == pytest.approx(6.0)
