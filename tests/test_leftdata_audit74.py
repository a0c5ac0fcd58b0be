"""Known data-reading leftovers mended (audit74_leftdata): a lost sample in a CSV's first row, BIDS test options given
as YAML numbers, --lights-off as a time of day on a UTC clock, a zoned clock's daylight-saving change in a refusal,
recordings with breaks labelled whole (label_from), a pile's EDF split at its events table's boundary rows, and an
EEGLAB set read once for its boundary events."""

from __future__ import annotations

import datetime
import json
import re

import numpy as np
import pytest
import yaml
from test_bids3_audit73 import _eeglab_with_boundary, _paused
from test_bids4_audit73 import _distinct
from test_bids_audit73 import RATE, _bids, _participants, _tsv
from test_timeuse_audit73 import _classifier

from citrus_hf.commands.main import main
from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_recording
from citrus_hf.data.recording_folders import load_recording_folder

# ------------------------------------------------------------------------------- a lost sample in a CSV's first row


def _noted(path, missing_row: int | None = None, marker_first: bool = False):
    """A CSV of a time column, an ECG channel (its row number) and a `note` column of text, 40 rows at 100 Hz: row
    `missing_row` a sample lost (its ECG cell empty, noted "lead off", on the time grid); with `marker_first`, a
    marker row (no sample) before the first sample, stamped as it."""
    lines = ["time,ECG,note"] + (["0.00,,blink"] if marker_first else [])
    for row in range(40):
        stamp = f"{row / 100:.2f}"
        lines.append(f"{stamp},,lead off" if row == missing_row else f"{stamp},{row},")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("missing_row", [0, 39])
def test_a_lost_sample_in_the_first_or_last_row_keeps_its_place(tmp_path, missing_row):
    """A lost sample ("lead off") in the first row has one neighbour, and was taken for a marker: dropped, every
    sample was read a step early (the sample of 0.01 s at 0 s) without a word; in the last row, one sample short."""
    recording = read_recording(_noted(tmp_path / "noted.csv", missing_row), channels=["ECG"], sampling_rate=100)
    assert recording.data.shape == (1, 40)
    assert np.isnan(recording.data[0, missing_row])
    kept = np.delete(recording.data[0], missing_row)
    np.testing.assert_array_equal(kept, np.delete(np.arange(40), missing_row))


def test_a_marker_stamped_as_the_first_sample_is_still_left_out(tmp_path):
    # (guard: a marker beside the first sample, stamped as it, is no sample)
    recording = read_recording(_noted(tmp_path / "marked.csv", marker_first=True), channels=["ECG"], sampling_rate=100)
    np.testing.assert_array_equal(recording.data[0], np.arange(40))


# ------------------------------------------------------------------------ BIDS test options given as YAML numbers


def test_a_test_session_that_yaml_read_as_a_number_is_refused_naming_the_quotes(tmp_path, own_datasets_cache):
    """`test_sessions: [01]` in a settings file is the number 1 to YAML (010 is 8, an octal number): the dataset's
    session "01" was never matched, and the refusal named only the sessions. It now says to quote the label."""
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"), sessions=("01", "010"))
    _distinct(root)
    for text, quoted in (("test_sessions: [01]", "'01'"), ("test_sessions: [010]", "'010'")):
        with pytest.raises(ValueError, match=rf"names (1|8), .*quote it, test_sessions: \[{quoted}\]"):
            load_recording_folder(root, bids_options=yaml.safe_load(text))
    loaded = load_recording_folder(root, bids_options=yaml.safe_load("test_sessions: ['01']"))
    assert set(loaded["test"]["session"]) == {"01"}


# ------------------------------------------------------------------------ --lights-off on a recording's UTC clock

STAGES = ["W", "N1", "N2", "N3", "REM"]


@pytest.fixture(scope="module")
def utc_night(tmp_path_factory):
    """`(sleep stager, a CSV of a minute of EEG at 100 Hz stamped in seconds since 1970 from 21:30:00 UTC)`."""
    folder = tmp_path_factory.mktemp("utc")
    start = datetime.datetime(2025, 3, 1, 21, 30, tzinfo=datetime.timezone.utc).timestamp()
    signal = np.random.default_rng(0).standard_normal(100 * 60)
    rows = [f"{start + index / 100:.2f},{value:.3f}" for index, value in enumerate(signal)]
    (folder / "night.csv").write_text("timestamp,EEG\n" + "\n".join(rows) + "\n")
    return _classifier(folder / "stager", STAGES), str(folder / "night.csv")


def test_a_time_of_day_for_a_utc_clock_is_refused_naming_the_offset(utc_night, capsys):
    """A phone's clock counted since 1970 is UTC's: --lights-off 21:30:10 meant on the local clock was read as UTC's,
    an hour or more off in most of the world, without a word."""
    stager, night = utc_night
    assert main(["predict", stager, night, "--sampling-rate", "100", "--lights-off", "21:30:10"]) == 2
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert re.search(r"is a time of day, and .*night\.csv starts at 2025-03-01T21:30:00\+00:00, in UTC", error)
    assert "21:30:10+01:00" in error and "21:30:10Z" in error


@pytest.mark.parametrize("given", ["22:30:20+01:00", "21:30:20Z", "2025-03-01T22:30:20+01:00", "20"])
def test_a_time_of_day_with_its_offset_bounds_a_utc_clocks_night(utc_night, tmp_path, capsys, given):
    stager, night = utc_night
    out = tmp_path / "night.jsonl"
    argv = ["predict", stager, night, "--sampling-rate", "100", "--lights-off", given, "--output", str(out)]
    assert main(argv) == 0
    assert json.loads(out.read_text())["sleep"]["lights_off_seconds"] == 20
    (line,) = [line for line in capsys.readouterr().out.splitlines() if ": sleep (AASM" in line]
    if given != "20":  # the line names the time with the offset it is shown in
        assert "lights out at 21:30:20+00:00 (--lights-off)" in line


# --------------------------------------------------------------- a zoned clock's daylight-saving change in a refusal


def test_a_gap_after_a_daylight_saving_change_is_shown_in_the_offset_then_written(tmp_path):
    """A logger writing its local offset went from +01:00 to +02:00 at 01:00 UTC (daylight saving), then lost a
    minute: the refusal showed the gap in the first offset, 02:00:59.9+01:00, a time the file never wrote."""
    cet, cest = (datetime.timezone(datetime.timedelta(hours=hours)) for hours in (1, 2))
    change = datetime.datetime(2025, 3, 30, 1, tzinfo=datetime.timezone.utc)
    seconds = [row / 10 for row in range(1200)] + [180 + row / 10 for row in range(600)]
    moments = [change + datetime.timedelta(seconds=each - 60) for each in seconds]
    cells = [moment.astimezone(cest if moment >= change else cet) for moment in moments]
    for kind, written in (
        ("dates", [cell.isoformat(sep=" ", timespec="milliseconds") for cell in cells]),
        ("times", [cell.timetz().isoformat(timespec="milliseconds") for cell in cells]),
    ):
        path = tmp_path / f"{kind}.csv"
        path.write_text("time,ECG\n" + "".join(f"{cell},{row % 7}\n" for row, cell in enumerate(written)))
        with pytest.raises(CorruptFileError) as caught:
            read_recording(path, sampling_rate=10)
        assert re.search(
            r"jumps from (2025-03-30 )?03:00:59\.9\+02:00 to (2025-03-30 )?03:02:00\+02:00", str(caught.value)
        )


# ----------------------------------------------------------- recordings with breaks labelled whole (label_from)


def test_label_from_gives_each_stretch_between_an_events_tables_breaks_its_subjects_label(tmp_path):
    """A recording whose events table marks a break (a boundary row at 5 s) was refused whole under label_from, so a
    dataset of such recordings could not be labelled by its participants at all. Each stretch is now an example of
    its subject's label, with the seconds its first sample lies at: no window spans the break."""
    root = tmp_path / "bids"
    signals = _bids(root, subjects=("01", "02"), events=[[1.0, 2.0, "left", 1], [5.0, 0, "boundary", "n/a"]])
    _participants(root, ["group"], [["sub-01", "patient"], ["sub-02", "control"]])
    train = load_recording_folder(root, bids_options={"label_from": "participants:group"})["train"]
    assert list(train["label"]) == ["patient", "patient", "control", "control"]
    assert list(train["start_seconds"]) == [0.0, 5.0, 0.0, 5.0]
    whole = signals["sub-01/eeg/sub-01_task-motor_run-1_eeg.edf"]
    first, second = (np.asarray(train[index]["input_values"]) for index in (0, 1))
    np.testing.assert_allclose(first, whole[:, : 5 * RATE], atol=0.01)
    np.testing.assert_allclose(second, whole[:, 5 * RATE :], atol=0.01)


def test_a_paused_recording_labelled_by_its_folder_gives_each_stretch_apart(tmp_path):
    """A BrainVision recording that paused, in a class folder, was refused; its stretches are now examples of its
    class (a recording that never paused stays one example, from 0 s)."""
    for seed, split in enumerate(("train", "test")):
        signals = _paused(tmp_path / "set" / split / "left", f"a{split}", seed=seed)
        _paused(tmp_path / "set" / split / "right", f"b{split}", at=1, seed=seed + 2)
    test = load_recording_folder(tmp_path / "set")["test"]
    assert list(test["label"]) == ["left", "left", "right"] and list(test["start_seconds"]) == [0.0, 0.6, 0.0]
    assert [len(row[0]) for row in test["input_values"]] == [150, 50, 200]
    np.testing.assert_allclose(np.concatenate(test["input_values"][:2], axis=1), signals, rtol=1e-6)


@pytest.mark.parametrize("onset", [0.598, 0.596])
def test_an_eeglab_sets_boundary_written_in_its_events_table_too_is_one_break(tmp_path, onset):
    """EEGLAB's BIDS export writes a boundary in the set (latency 150.5, from 1) and as a row of its events table
    (onset 149.5 / 250 s, or a writer's rounding a sample off): taken as two breaks, a stretch of a sample would lie
    between them, and the set's first stretch would end a sample early."""
    from test_bids2_audit73 import EEGLAB_NAMES

    root = tmp_path / "bids"
    root.mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "motor", "BIDSVersion": "1.9.0"}))
    for subject in ("01", "02"):
        folder = root / f"sub-{subject}" / "eeg"
        _eeglab_with_boundary(folder, f"sub-{subject}_task-rest_eeg")
        _tsv(
            folder / f"sub-{subject}_task-rest_events.tsv",
            ["onset", "duration", "trial_type"],
            [[onset, 0, "boundary"]],
        )
    _participants(root, ["group"], [["sub-01", "patient"], ["sub-02", "control"]])
    train = load_recording_folder(root, bids_options={"label_from": "participants:group"})["train"]
    assert [len(row[0]) for row in train["input_values"]] == [150, 50, 150, 50]
    assert list(train["channel_names"][0]) == EEGLAB_NAMES


# ------------------------------------------------------ a pile's recordings cut at their events table's breaks


def test_a_pile_cuts_an_edf_at_its_events_tables_boundary_rows(tmp_path, own_datasets_cache):
    """Pre-training reads a BIDS dataset as a pile of whole recordings: an EDF file whose events table marks a break
    (data cut out, recordings joined) was kept whole, its segments and windows spanning the break. It is cut there,
    as an EEGLAB set's own boundary events cut it."""
    root = tmp_path / "bids"
    signals = _bids(root, events=[[1.0, 2.0, "left", 1], [5.0, 0, "boundary", "n/a"]])
    rows = load_recording_folder(root, bids_events=False)
    name = "sub-01/eeg/sub-01_task-motor_run-1_eeg.edf"
    parts = [np.asarray(row["input_values"]) for row in rows if row["recording"] == name]
    assert [part.shape[1] for part in parts] == [5 * RATE, 7 * RATE]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), signals[name], atol=0.01)


# ------------------------------------------------------------ an EEGLAB set read once for its boundary events


def test_an_eeglab_set_holding_its_samples_is_read_once_for_its_events(tmp_path, monkeypatch, own_datasets_cache):
    """A labelled set's events were cut from a set read whole, then the set was loaded again (samples and all, as a
    .set holding its samples is one MATLAB variable) only for its boundary events."""
    from citrus_hf.data.readers import eeglab

    for name in ("a", "b"):
        _eeglab_with_boundary(tmp_path / "set", name, fdt=False)
    rows = [[f"{name}.set", onset, 0.1, label] for name in ("a", "b") for onset, label in ((0.1, "x"), (0.62, "y"))]
    (tmp_path / "set" / "metadata.csv").write_text(
        "file_name,onset,duration,label\n" + "".join(",".join(map(str, row)) + "\n" for row in rows)
    )
    loads = []
    real = eeglab._load

    def counted(path, fields, optional=()):
        loads.append((path.name, tuple(fields)))
        return real(path, fields, optional)

    monkeypatch.setattr(eeglab, "_load", counted)
    loaded = load_recording_folder(tmp_path / "set")
    assert len(loaded["train"]) == 4
    # (the set's first file is read once more beforehand, for the channels every file is read in)
    assert loads.count(("b.set", eeglab._FIELDS)) == 1


def test_a_test_session_list_that_is_no_json_on_the_command_line_is_refused_as_such(tmp_path, own_datasets_cache):
    """`--dataset-options test_sessions=[01]` is no JSON (01), so it was kept as the text "[01]" and refused as a
    session the dataset does not hold, named "[01]"."""
    from citrus_hf.commands.parser import parse_value

    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"), sessions=("01", "02"))
    with pytest.raises(ValueError, match=r"test_sessions=\[01\] is no list of labels: .*'\[\"01\", \"02\"\]'"):
        load_recording_folder(root, bids_options={"test_sessions": parse_value("[01]")})
