"""What the README's sections of this session say, held by the code: an Empatica E4 CSV states its rate in a folder
too (`--dataset FOLDER`, `citrus data info`, a pre-training pile), as it does given alone; and the commands' help
names every format the readers take (BrainVision, EEGLAB)."""

from __future__ import annotations

import numpy as np
import pytest
from test_wearables_audit73 import _e4_file

from citrus_hf.commands.main import main
from citrus_hf.data.recording_folders import load_recording_folder


def test_a_folder_of_empatica_e4_csvs_is_read_at_the_rate_they_state(tmp_path, own_datasets_cache):
    """README (wearable exports): an E4 CSV is read at "the rate the second row states (no `--sampling-rate`
    needed)"; in a labelled folder the rows had no rate and every command asked for --sampling-rate."""
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for label in ("calm", "stress"):
            folder = tmp_path / "e4" / split / label
            folder.mkdir(parents=True)
            _e4_file(folder / "BVP.csv", 64, rng.normal(0, 50, (640, 1)).round(2))
    dataset = load_recording_folder(tmp_path / "e4")
    assert set(dataset["train"]["sampling_rate"]) == {64.0}
    assert [len(row[0]) for row in dataset["test"]["input_values"]] == [640, 640]  # (the two header rows no samples)


def test_an_unlabelled_pile_of_empatica_e4_csvs_is_read_at_their_rates(tmp_path, own_datasets_cache):
    """A pre-training pile (`citrus pretrain --dataset FOLDER`) of an E4 session's files, each at its own rate."""
    rng = np.random.default_rng(1)
    (tmp_path / "session").mkdir()
    _e4_file(tmp_path / "session" / "BVP.csv", 64, rng.normal(0, 50, (64 * 20, 1)).round(2))
    _e4_file(tmp_path / "session" / "EDA.csv", 4, rng.uniform(0.1, 2.0, (4 * 20, 1)).round(3))
    pile = load_recording_folder(tmp_path / "session")
    assert sorted(set(pile["sampling_rate"])) == [4.0, 64.0]  # (under five files: no validation carve)


@pytest.mark.parametrize("command", ["predict", "finetune", "pretrain"])
def test_the_commands_help_names_every_recording_format_read(command, capsys):
    """`citrus predict --help`, `citrus finetune --help` and `citrus pretrain --help` listed EDF, WFDB, WAV, .npy and
    .csv: not the BrainVision and EEGLAB recordings that the readers, the README and `--dataset FOLDER` take."""
    assert main([command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "BrainVision" in text and "EEGLAB" in text
