"""Audit 73, leftovers (ninth helper): `citrus predict` of a fusion model reads its CSV files as written with
`--ignore-time-stamps`, as it reads a single model's; a BIDS recording that two equally specific events tables at one
folder level would both label is refused naming both."""

from __future__ import annotations

import json

import numpy as np
import pytest


def _stamped_csv(path, stamp_rate: float, rate: int, seconds: float = 6.0):
    """A CSV of one channel (`rate` samples a second) whose time column steps at `stamp_rate`."""
    values = np.random.default_rng(0).standard_normal(int(seconds * rate))
    path.write_text("time,x\n" + "".join(f"{k / stamp_rate:.6f},{v:.5f}\n" for k, v in enumerate(values)))
    return str(path)


def test_citrus_predict_of_a_fusion_model_reads_its_files_as_written_with_ignore_time_stamps(tmp_path, capsys):
    """`_predict_fusion` read every modality's file with the time-stamp checks on whatever `--ignore-time-stamps`
    said: the switch the refusal advised changed nothing, and a fusion model's stamped CSVs could not be read at the
    rates given."""
    from test_fusionpipe_audit73 import saved

    from citrus_hf.commands.main import main

    folder = saved(tmp_path / "model")
    ecg = _stamped_csv(tmp_path / "ecg.csv", stamp_rate=250.0, rate=100)
    eda = _stamped_csv(tmp_path / "eda.csv", stamp_rate=50.0, rate=20)
    argv = ["predict", folder, f"ecg={ecg}", f"eda={eda}", "--modality-sampling-rate", "ecg=100", "eda=20"]
    with pytest.raises(Exception, match="--ignore-time-stamps"):
        main([*argv, "--debug"])
    capsys.readouterr()
    assert main([*argv, "--ignore-time-stamps"]) == 0
    assert "3 window(s) of 2 s" in capsys.readouterr().out


def _root_with_two_tables(root):
    """A BIDS root whose one recording (sub-01, task a, run 1) two tables in its subject's folder would label: one
    naming its task, one its run (as specific as each other; BIDS calls that dataset invalid)."""
    (root / "dataset_description.json").write_text(json.dumps({"Name": "x", "BIDSVersion": "1.9.0"}))
    folder = root / "sub-01" / "eeg"
    folder.mkdir(parents=True)
    recording = folder / "sub-01_task-a_run-1_eeg.edf"
    recording.write_bytes(b"")
    for name, label in (("sub-01_task-a_events.tsv", "left"), ("sub-01_run-1_events.tsv", "right")):
        (root / "sub-01" / name).write_text(f"onset\tduration\ttrial_type\n1.0\t1.0\t{label}\n")
    return recording


def test_two_equally_specific_events_tables_at_one_level_are_refused_naming_both(tmp_path):
    """The inheritance lookup took the later of the two by path order (sub-01_task-a_events.tsv over
    sub-01_run-1_events.tsv), and the recording's events were labelled 'left' where the other table says 'right'."""
    from citrus_hf.data.bids import read_bids_events

    recording = _root_with_two_tables(tmp_path)
    with pytest.raises(ValueError, match="sub-01_run-1_events.tsv.*sub-01_task-a_events.tsv") as raised:
        read_bids_events(tmp_path, [recording])
    assert "\n" not in str(raised.value)
