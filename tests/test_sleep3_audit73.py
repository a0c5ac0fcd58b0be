"""A sleep stager's statistics between lights out and on, and labels of no stage (audit73_sleep3).

`citrus predict --lights-off / --lights-on` (seconds from the first sample, a time of day on the recording's clock or
a date and time), or the file's one "Lights off" / "Lights on" EDF+ annotation, bound AASM's summary: TRT, SOL, WASO
and the stage minutes count from lights out to lights on (before, the first and last sample always stood for them,
and a Sleep-EDF cassette night with hours of wake around it got a low efficiency and a long latency). A stager with a
label of no stage ("Movement time", "?", "artifact") gets its summary, those windows unstaged (before, no summary at
all), and Sleep-EDF's own annotation names are a vocabulary. `--plot` draws overlapping windows over the seconds they
count for in the summary (`counted_spans`).

The maths on hand-made windows; the command on a tiny classifier with random weights over the real EEG recording the
time-use tests use (EEG Motor Movement/Imagery S001R02, 61 s at 160 Hz) and over small EDF+ files written here.
"""

from __future__ import annotations

import datetime
import json
import re

import numpy as np
import pytest
from test_timeuse_audit73 import _classifier
from tiny_configs import tiny_config

from citrus_hf.commands.main import main
from citrus_hf.data.readers import read_edf
from citrus_hf.inference.pipelines import counted_spans
from citrus_hf.inference.time_use import sleep_summary
from citrus_hf.vocabulary_citrus import UNSTAGED, sleep_stages_of

CHANNEL = "C3.."
STAGES = ["W", "N1", "N2", "N3", "REM"]
SAME = {stage: stage for stage in STAGES}


def _windows(starts, length, labels, no_signal=()):
    return [
        {
            "start": float(s),
            "end": float(s + length),
            "label": labels[i],
            "no_signal": "flat" if i in no_signal else None,
        }
        for i, s in enumerate(starts)
    ]


# ------------------------------------------------------------------------------------------------ the maths


def test_lights_bound_every_statistic():
    # 30 s epochs: W W W N2 N2 W REM W W W; lights out at 75 s (mid third epoch), on at 255 s (mid ninth)
    labels = ["W", "W", "W", "N2", "N2", "W", "REM", "W", "W", "W"]
    night = sleep_summary(_windows(range(0, 300, 30), 30, labels), 300.0, SAME, lights_off=75.0, lights_on=255.0)
    assert night["lights_off_seconds"] == 75 and night["lights_on_seconds"] == 255
    assert night["recorded_seconds"] == 180  # TRT: lights out to lights on
    assert night["total_sleep_seconds"] == 90
    assert night["sleep_efficiency_percent"] == pytest.approx(50.0)
    assert night["sleep_onset_latency_seconds"] == 90 - 75  # from lights out, not from the first sample
    assert night["waso_seconds"] == 30 + 45  # the wake epoch inside sleep and the wake up to lights on only
    assert night["rem_latency_seconds"] == 180 - 90
    assert night["stage_seconds"]["W"] == 15 + 30 + 45
    assert night["unstaged_seconds"] == 0
    # without lights: the first and last sample, as before
    whole = sleep_summary(_windows(range(0, 300, 30), 30, labels), 300.0, SAME)
    assert whole["recorded_seconds"] == 300 and whole["sleep_onset_latency_seconds"] == 90
    assert whole["lights_off_seconds"] == 0 and whole["lights_on_seconds"] == 300


def test_overlapping_windows_count_their_middle_seconds_for_onset_and_waso():
    # 30 s windows every 10 s: each counts for the 10 s around its middle (the first from 0, the last to its end)
    labels = ["W", "W", "N2", "N2", "W", "N2"]
    night = sleep_summary(_windows(range(0, 60, 10), 30, labels), 80.0, SAME)
    # middles 15, 25, ... 65 s: the third window counts from 30 s (its own start is 20 s, where the second's
    # wake still holds the seconds nearer its middle)
    assert night["sleep_onset_latency_seconds"] == 30
    assert night["waso_seconds"] == 10
    assert night["total_sleep_seconds"] == 10 + 10 + 20
    assert sum(night["stage_seconds"].values()) == 80


def test_labels_of_no_stage_are_unstaged_and_rk_stages_3_and_4_are_n3():
    stages = sleep_stages_of(["W", "N1", "N2", "N3", "REM", "Movement time", "?", "artifact"])
    assert stages is not None and stages["Movement time"] == stages["?"] == stages["artifact"] == UNSTAGED
    assert sleep_stages_of(["Movement time", "?"]) is None  # no wake, no sleep stage: no stager
    assert sleep_stages_of(["W", "N2", "sitting"]) is None  # a label of no sleep vocabulary at all
    labels = ["W", "N2", "Movement time", "N2", "?", "REM"]
    night = sleep_summary(_windows(range(0, 180, 30), 30, labels), 180.0, stages)
    assert night["total_sleep_seconds"] == 90 and night["unstaged_seconds"] == 60
    assert night["recorded_seconds"] == 180 and night["sleep_efficiency_percent"] == pytest.approx(50.0)
    assert night["waso_seconds"] == 0  # a movement epoch after onset is no wake
    rk = sleep_stages_of(["W", "1", "2", "3", "4", "R"])
    deep = sleep_summary(_windows(range(0, 120, 30), 30, ["W", "3", "4", "R"]), 120.0, rk)
    assert deep["stage_seconds"]["N3"] == 60 and deep["stage_percent_of_sleep"]["N3"] == pytest.approx(200 / 3)
    # Sleep-EDF's annotation names, as a stager trained on them names its labels
    edf_names = ["Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3", "Sleep stage 4"]
    assert sleep_stages_of([*edf_names, "Sleep stage R", "Sleep stage ?", "Movement time"])["Sleep stage 4"] == "N3"


def test_windows_without_signal_and_a_night_without_sleep():
    night = sleep_summary(_windows([0, 30, 60], 30, ["N2", "W", "N2"], no_signal=(0,)), 90.0, SAME, lights_off=10.0)
    assert night["unstaged_seconds"] == 20 and night["sleep_onset_latency_seconds"] == 50
    awake = sleep_summary(_windows([0, 30], 30, ["W", "W"]), 60.0, SAME, lights_off=5.0, lights_on=55.0)
    assert awake["total_sleep_seconds"] == 0 and awake["sleep_efficiency_percent"] == 0
    assert awake["sleep_onset_latency_seconds"] is None and awake["stage_seconds"]["W"] == 50


# ------------------------------------------------------------------------------------------------ the plot


def test_the_hypnogram_draws_the_seconds_the_summary_counts(tmp_path, monkeypatch):
    from test_figures_audit66 import _saved_figures

    from citrus_hf.commands.predict import plot_windows

    saved = _saved_figures(monkeypatch)
    labels = ["W", "N1", "N2", "N2", "REM"]
    windows = _windows(range(0, 50, 10), 30, labels)
    for window in windows:
        window["labels"] = [{"label": window["label"], "score": 1.0}]
        window["score"] = 1.0
    config = tiny_config(num_labels=5, id2label=dict(enumerate(STAGES)), label2id={s: i for i, s in enumerate(STAGES)})
    plot_windows([("night.edf", {"label": "N2", "score": 1.0, "windows": windows})], config, tmp_path / "n.png")
    line = saved[-1].axes[0].lines[0]
    spans = counted_spans(windows)
    np.testing.assert_allclose(line.get_xdata(), [*spans[:, 0], spans[-1, 1]])  # 0, 25, 35, 45, 55, 70
    np.testing.assert_allclose(line.get_ydata(), [0, 1, 2, 2, 4, 4])


# ------------------------------------------------------------------------------------------------ the command


@pytest.fixture(scope="module")
def stager(tmp_path_factory):
    return _classifier(tmp_path_factory.mktemp("stager"), STAGES)


def _sleep(capsys, output, *argv) -> tuple[dict, str]:
    assert main(["predict", *map(str, argv), "--output", str(output)]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if ": sleep (AASM" in line]
    return json.loads(output.read_text())["sleep"], line


def test_lights_off_and_on_bound_predicts_sleep_statistics(edf_path, stager, tmp_path, capsys):
    out = tmp_path / "night.jsonl"
    whole, _ = _sleep(capsys, out, stager, edf_path, "--channels", CHANNEL)
    night, line = _sleep(
        capsys, out, stager, edf_path, "--channels", CHANNEL, "--lights-off", "10", "--lights-on", "50.5"
    )
    assert night["lights_off_seconds"] == 10 and night["lights_on_seconds"] == 50.5
    assert night["recorded_seconds"] == pytest.approx(40.5)
    assert sum(night["stage_seconds"].values()) + night["unstaged_seconds"] == pytest.approx(40.5)
    assert sum(night["stage_seconds"].values()) < sum(whole["stage_seconds"].values())
    assert "lights out at" in line and "(--lights-off)" in line and "of 0.7 min recorded" in line
    # the same moments on the file's clock: a time of day, or a date and time
    start = read_edf(edf_path, [CHANNEL]).start
    clock = [start + datetime.timedelta(seconds=s) for s in (10, 50.5)]
    by_clock, _ = _sleep(
        capsys, out, stager, edf_path, "--channels", CHANNEL,
        "--lights-off", clock[0].time().isoformat(), "--lights-on", clock[1].isoformat(),
    )  # fmt: skip
    assert by_clock == night


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--lights-off", "50", "--lights-on", "10"], "is not before --lights-on"),
        (["--lights-on", "100"], r"--lights-on '100' falls outside .*S001R02\.edf \(0 to 61 s"),
        (["--lights-off", "-5"], "0 or more"),
        (["--lights-off", "late"], "neither seconds .* nor a clock time"),
        (["--lights-off", "2001-01-01T22:00:00"], "falls outside"),
    ],
)
def test_lights_outside_the_recording_or_out_of_order_are_refused(edf_path, stager, options, message, capsys):
    assert main(["predict", stager, str(edf_path), "--channels", CHANNEL, *options]) == 2
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert re.search(message, error), error


def test_a_clock_time_without_a_start_and_lights_for_no_stager_are_refused(stager, tmp_path, capsys):
    np.save(tmp_path / "night.npy", np.random.default_rng(0).standard_normal((1, 100 * 20)))
    npy = str(tmp_path / "night.npy")
    assert main(["predict", stager, npy, "--sampling-rate", "100", "--lights-off", "22:40"]) == 2
    assert "is a clock time, and" in capsys.readouterr().err
    plain = _classifier(tmp_path / "plain", ["rest", "fist"])
    assert main(["predict", plain, npy, "--sampling-rate", "100", "--lights-off", "5"]) == 2
    assert "is no sleep stager" in capsys.readouterr().err


def _edf_plus(path, seconds, annotations):
    pyedflib = pytest.importorskip("pyedflib")
    writer = pyedflib.EdfWriter(str(path), 1, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.setSignalHeaders(
        [dict(label="EEG Fpz-Cz", dimension="uV", sample_frequency=100, physical_max=500, physical_min=-500,
              digital_max=32767, digital_min=-32768)]
    )  # fmt: skip
    writer.writeSamples([np.random.default_rng(0).uniform(-100, 100, 100 * seconds)])
    for onset, text in annotations:
        writer.writeAnnotation(onset, -1, text)
    writer.close()
    return path


def test_the_files_lights_annotations_bound_the_statistics(stager, tmp_path, capsys):
    out = tmp_path / "n.jsonl"
    marked = _edf_plus(tmp_path / "marked.edf", 60, [(6, "LIGHTS OFF"), (30, "T1"), (48, "Lights on")])
    night, line = _sleep(capsys, out, stager, marked)
    assert (night["lights_off_seconds"], night["lights_on_seconds"], night["recorded_seconds"]) == (6, 48, 42)
    assert "'Lights off' annotation" in line
    # an option wins over the annotation
    night, _ = _sleep(capsys, out, stager, marked, "--lights-on", "40")
    assert (night["lights_off_seconds"], night["lights_on_seconds"]) == (6, 40)
    # two lights-out marks: neither is used, and stderr says so
    twice = _edf_plus(tmp_path / "twice.edf", 60, [(6, "Lights off"), (20, "Lights off")])
    assert main(["predict", stager, str(twice), "--output", str(out)]) == 0
    assert "mark lights off 2 time(s)" in capsys.readouterr().err
    assert json.loads(out.read_text())["sleep"]["lights_off_seconds"] == 0
