"""BIDS, third round: `citrus predict ROOT` leaves out derivatives/ as every other reading of the root does; events
tables inherited from the root or a subject folder (BIDS's inheritance principle) label the recordings under them;
a BrainVision recording that paused is not read across its breaks."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from test_bids_audit73 import RATE, _bids, _participants, _tsv
from tiny_configs import write_edf

from citrus_hf.data.recording_folders import load_recording_folder

pytestmark = pytest.mark.usefixtures("own_datasets_cache")  # (a datasets cache of each test's own)


def test_citrus_predict_on_a_bids_root_leaves_out_derivatives(tmp_path, caplog):
    """`citrus predict ROOT` predicted the processed copies under derivatives/ (and the originals under sourcedata/)
    beside the raw recordings, each recording twice, while every other reading of the root leaves them out."""
    from citrus_hf.commands.predict import _expand_folders

    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"))
    copy = root / "derivatives" / "filtered" / "sub-01" / "eeg"
    copy.mkdir(parents=True)
    write_edf(
        copy / "sub-01_task-motor_run-1_desc-filtered_eeg.edf", [np.zeros(12 * RATE)] * 3, ["C3", "Cz", "C4"], RATE
    )
    shutil.copytree(root / "sub-02", root / "sourcedata" / "sub-02")
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        files = _expand_folders([str(root)])
    assert len(files) == 2 and not any("derivatives" in file or "sourcedata" in file for file in files)
    assert caplog.text.count("lie in derivatives/ or sourcedata/") == 1
    assert "citrus predict ROOT/derivatives/<pipeline>" in caplog.text


@pytest.mark.parametrize("level", ["root", "subject"])
def test_an_inherited_events_table_labels_the_recordings_under_it(tmp_path, level):
    """An events.tsv at the root (``task-motor_events.tsv``) or in a subject's folder applies to every recording under
    it whose entities it names (BIDS's inheritance principle, as the *_eeg.json sidecar's rate is found): only one
    beside each recording was read, and the set was an unlabelled pile."""
    root = tmp_path / "bids"
    _bids(root)
    for table in root.rglob("*_events.tsv"):
        table.unlink()
    header, rows = ["onset", "duration", "trial_type"], [[1.0, 2.0, "left"], [4.0, 2.0, "right"]]
    if level == "root":
        _tsv(root / "task-motor_events.tsv", header, rows)
    else:
        for subject in ("01", "02", "03"):
            _tsv(root / f"sub-{subject}" / f"sub-{subject}_task-motor_events.tsv", header, rows)
    loaded = load_recording_folder(root, bids_options={"test_subjects": "03"})
    assert {split: len(part) for split, part in loaded.items()} == {"train": 4, "test": 2}
    assert list(loaded["train"]["label"]) == ["left", "right", "left", "right"]


def test_the_nearest_events_table_wins_over_an_inherited_one(tmp_path):
    """A recording's own events.tsv overrides the root's (the nearest file wins); a root table of another task labels
    nothing of this one."""
    root = tmp_path / "bids"
    _bids(root)
    _tsv(root / "task-motor_events.tsv", ["onset", "duration", "trial_type"], [[0.5, 1.0, "rest"]])
    _tsv(root / "task-other_events.tsv", ["onset", "duration", "trial_type"], [[0.5, 1.0, "other"]])
    (root / "sub-02" / "eeg" / "sub-02_task-motor_run-1_events.tsv").unlink()
    loaded = load_recording_folder(root, bids_options={"test_subjects": "03"})
    labels = {name.split("/")[0]: [] for name in loaded["train"]["recording"]}
    for name, label in zip(loaded["train"]["recording"], loaded["train"]["label"], strict=True):
        labels[name.split("/")[0]].append(label)
    assert labels == {"sub-01": ["left", "right", "left"], "sub-02": ["rest"]}


def test_an_inherited_table_is_not_read_as_a_recording_of_a_pile(tmp_path):
    """Pre-training's reading of a BIDS root (a pile of whole recordings) took ``task-motor_events.tsv`` and
    ``task-motor_channels.tsv`` at the root for recordings (text files without a rate) and refused the folder as one
    that mixes files with and without their rate."""
    from citrus_hf.data.splits import load_split

    root = tmp_path / "bids"
    _bids(root)
    _tsv(root / "task-motor_events.tsv", ["onset", "duration", "trial_type"], [[0.5, 1.0, "rest"]])
    _tsv(root / "task-motor_channels.tsv", ["name", "type"], [["C3", "EEG"]])
    rows = load_split(root, "train", None, None, bids_events=False)
    assert sorted(set(rows["recording"])) == [f"sub-0{n}/eeg/sub-0{n}_task-motor_run-1_eeg.edf" for n in (1, 2, 3)]


# ----------------------------------------------------------------------------- a BrainVision recording that paused
def _paused(folder, stem="rec", at=151, seed=0):
    """A BrainVision recording of 200 samples at 250 Hz (`test_bids2_audit73.write_brainvision`) that paused and went
    on at the sample `at` (from 1, as a marker file counts): a second New Segment marker. Returns its samples in their
    units, `(channels, time)`."""
    from test_bids2_audit73 import RESOLUTIONS, write_brainvision

    samples = np.random.default_rng(seed).integers(-3000, 3000, size=(200, len(RESOLUTIONS)))
    stored = write_brainvision(folder, stem, samples=samples)
    marker = folder / f"{stem}.vmrk"
    marker.write_text(marker.read_text(encoding="utf-8") + f"Mk3=New Segment,,{at},1,0,20240301120500000000\n")
    return stored.T * RESOLUTIONS[:, None]


def test_a_brainvision_recording_that_paused_is_refused_whole_as_an_edf_with_gaps(tmp_path):
    """A recording that paused (a second New Segment) was read end to end with a warning, so that `citrus predict` and
    a whole-file example cut windows across the pause, while an EDF+D file with gaps is refused: now refused too,
    naming the pause and the fix; read whole from Python only when asked (`across_pauses=True`)."""
    from citrus_hf.data import readers
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers.brainvision import pause_positions, read_brainvision

    signals = _paused(tmp_path)
    with pytest.raises(
        CorruptFileError, match=r"rec.vhdr paused and went on.*resuming at 0.6 s.*each stretch apart.*crop"
    ):
        readers.read_recording(tmp_path / "rec.vhdr")
    assert pause_positions(tmp_path / "rec.vhdr") == [150]
    np.testing.assert_allclose(read_brainvision(tmp_path / "rec.vhdr", across_pauses=True).data, signals)


def test_a_pile_reads_each_stretch_of_a_paused_recording_apart(tmp_path):
    """In a pile (pre-training's corpus) a paused recording's rows end at its pause: no window spans it."""
    from citrus_hf.data.splits import load_split

    signals = _paused(tmp_path / "pile", "a")
    _paused(tmp_path / "pile", "b", at=2)  # (a New Segment at its first sample is its start, not a pause)
    rows = load_split(tmp_path / "pile", "train", None, None)
    parts = [np.asarray(row["input_values"]) for row in rows if row["recording"] == "a.vhdr"]
    assert [part.shape[1] for part in parts] == [150, 50]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), signals, rtol=1e-6)
    assert [len(row["input_values"][0]) for row in rows if row["recording"] == "b.vhdr"] == [1, 199]


def test_a_stretch_of_under_a_second_after_a_pause_is_left_out_of_a_pile(tmp_path, caplog):
    """A recording that paused and stopped a few samples later left a row of those samples, shorter than a model's
    patch, which refuses pre-training of the whole corpus: such a stretch is left out, said once."""
    from test_bids2_audit73 import write_brainvision

    from citrus_hf.data.splits import load_split

    write_brainvision(tmp_path / "pile", "a", samples=np.ones((2000, 4), dtype=int))  # 8 s at 250 Hz
    marker = tmp_path / "pile" / "a.vmrk"
    marker.write_text(marker.read_text(encoding="utf-8") + "Mk3=New Segment,,1991,1,0,20240301120500000000\n")
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        rows = load_split(tmp_path / "pile", "train", None, None)
    assert [len(row[0]) for row in rows["input_values"]] == [1990]
    assert "1 of its 2 stretches between breaks" in caplog.text and "less than 1 s" in caplog.text


def test_a_pile_streams_brainvision_recordings_a_segment_at_a_time(tmp_path, monkeypatch):
    """A BrainVision recording in a pile was read whole (an hour of 64 channels at 1 kHz: 1.8 GB as float64) while an
    EDF file is read ten minutes at a time: now it is mapped and read a segment at a time too."""
    signals = _paused(tmp_path / "pile", "a", at=1)  # (never paused)
    _assert_read_a_segment_at_a_time(tmp_path / "pile", signals, monkeypatch)


def _assert_read_a_segment_at_a_time(pile, samples: np.ndarray, monkeypatch) -> None:
    """Assert that the pile at `pile`, one recording of 200 samples at 250 Hz (`samples`: (channels, 200)), is read
    as its train split in four segments of 0.2 s, never whole through `read_recording`."""
    import citrus_hf.data.recording_folders as folders
    from citrus_hf.data.splits import load_split

    def whole(*args, **kwargs):
        raise AssertionError("read whole")

    monkeypatch.setattr(folders, "read_recording", whole)
    monkeypatch.setattr(folders, "SEGMENT_SECONDS", 0.2)  # 50 samples at 250 Hz
    rows = load_split(pile, "train", None, None)
    assert [len(row[0]) for row in rows["input_values"]] == [50, 50, 50, 50]
    np.testing.assert_allclose(np.concatenate(rows["input_values"], axis=1), samples, rtol=1e-6)


def _bids_of_paused(root, onset: float):
    """A BIDS dataset of two BrainVision recordings that paused at 0.6 s, each with one 0.1 s event at `onset`."""
    import json

    (root).mkdir()
    (root / "dataset_description.json").write_text(json.dumps({"Name": "motor", "BIDSVersion": "1.9.0"}))
    for subject in ("01", "02"):
        folder = root / f"sub-{subject}" / "eeg"
        _paused(folder, f"sub-{subject}_task-motor_eeg")
        _tsv(folder / f"sub-{subject}_task-motor_events.tsv", ["onset", "duration", "trial_type"], [[onset, 0.1, "x"]])


def test_the_events_of_a_paused_recording_are_cut_within_their_stretch(tmp_path):
    """A BIDS dataset of paused BrainVision recordings gives the events within a stretch; an event across the pause is
    refused naming it and the pause."""
    from citrus_hf.data.errors import CorruptFileError

    _bids_of_paused(tmp_path / "within", onset=0.65)
    loaded = load_recording_folder(tmp_path / "within", bids_options={"test_subjects": "02"})
    assert {split: len(part) for split, part in loaded.items()} == {"train": 1, "test": 1}
    _bids_of_paused(tmp_path / "across", onset=0.55)
    with pytest.raises(CorruptFileError, match=r"breaks at 0.6 s \(a pause.* onset 0.55 s of duration 0.1 s spans"):
        load_recording_folder(tmp_path / "across", bids_options={"test_subjects": "02"})


def test_a_paused_recording_labelled_whole_gives_its_stretches_apart(tmp_path):
    """A paused recording as one whole-file example (a class folder) was one example across its pause, then refused;
    now each stretch is an example of its class (audit74)."""
    for seed, split in enumerate(("train", "test")):
        _paused(tmp_path / "set" / split / "left", f"a{split}", seed=seed)
        _paused(tmp_path / "set" / split / "right", f"b{split}", at=1, seed=seed + 2)
    train = load_recording_folder(tmp_path / "set")["train"]
    assert [len(row[0]) for row in train["input_values"]] == [150, 50, 200]


# ------------------------------------------------------------- recordings of one header and different samples
@pytest.mark.parametrize("kind", ["brainvision", "eeglab"])
def test_recordings_whose_headers_alone_are_alike_are_not_read_as_copies(tmp_path, kind, caplog):
    """Two BrainVision recordings (or EEGLAB sets with their .fdt) of one name in two folders have byte-identical
    headers (the same recorder settings, the data file named by the same stem) and different samples: the pile's check
    for copies compared the headers alone, said the second was a byte-identical copy and left it out."""
    from test_bids2_audit73 import write_brainvision, write_eeglab

    from citrus_hf.data.splits import load_split

    for subject in range(2):
        folder = tmp_path / "pile" / f"subject{subject}"
        if kind == "brainvision":
            write_brainvision(folder, samples=np.random.default_rng(subject).integers(-3000, 3000, size=(200, 4)))
        else:
            write_eeglab(folder, fdt=True)
            np.random.default_rng(subject).standard_normal(600).astype(np.float32).tofile(folder / "rec.fdt")
    suffix = ".vhdr" if kind == "brainvision" else ".set"
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        rows = load_split(tmp_path / "pile", "train", None, None)
    assert sorted(set(rows["recording"])) == [f"subject0/rec{suffix}", f"subject1/rec{suffix}"]
    assert "byte-identical" not in caplog.text
    # a true copy (header and samples) is still read once
    shutil.copytree(tmp_path / "pile" / "subject0", tmp_path / "pile" / "subject2")
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        rows = load_split(tmp_path / "pile", "train", None, None)
    assert "subject2" not in " ".join(rows["recording"]) and "byte-identical" in caplog.text


def test_a_data_file_replaced_beside_its_header_is_read_again(tmp_path):
    """The cache of a folder's rows was keyed by each recording file's size and time alone: a BrainVision .eeg
    replaced (filtered, re-exported) beside its unchanged .vhdr was read from the cache as it was before."""
    from test_bids2_audit73 import RESOLUTIONS, write_brainvision

    write_brainvision(tmp_path / "pile", samples=np.zeros((200, 4), dtype=int))
    assert not np.asarray(load_recording_folder(tmp_path / "pile")["input_values"][0]).any()
    np.full((200, 4), 7, dtype="<i2").tofile(tmp_path / "pile" / "rec.eeg")
    again = np.asarray(load_recording_folder(tmp_path / "pile")["input_values"][0])
    np.testing.assert_allclose(again, np.repeat(7 * RESOLUTIONS[:, None], 200, axis=1), rtol=1e-6)


# ------------------------------------------------------------------------------------- subjects labelled, not events
def test_label_from_participants_labels_each_subjects_whole_recordings(tmp_path, caplog):
    """`label_from=participants:group` makes each recording one whole-recording example labelled by its subject's
    group (events.tsv not read), cut into windows as any whole file; subjects are kept for the carve and test split;
    a subject whose group is n/a is left out, said once."""
    root = tmp_path / "bids"
    signals = _bids(root, subjects=("01", "02", "03", "04"))
    _participants(
        root,
        ["group", "age"],
        [["sub-01", "patient", 31], ["sub-02", "control", 40], ["sub-03", "patient", "n/a"], ["sub-04", "n/a", 22]],
    )
    options = {"label_from": "participants:group", "test_subjects": "03"}
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        loaded = load_recording_folder(root, bids_options=options)
    assert {split: len(part) for split, part in loaded.items()} == {"train": 2, "test": 1}
    assert list(loaded["train"]["label"]) == ["patient", "control"] and list(loaded["train"]["subject"]) == ["01", "02"]
    np.testing.assert_allclose(np.asarray(loaded["train"][0]["input_values"]), signals[next(iter(signals))], atol=0.01)
    assert "sub-04" in caplog.text and "no group" in caplog.text and "have no events.tsv" not in caplog.text
    from citrus_hf.data.windowing import window_examples

    windows = window_examples(loaded["train"], 4, 4)  # (window_seconds cuts them as any whole file)
    assert list(windows["label"]) == ["patient"] * 3 + ["control"] * 3 and len(windows[0]["input_values"][0]) == 200


def test_label_from_a_column_of_numbers_is_a_regression_target(tmp_path):
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"))
    _participants(root, ["age"], [["sub-01", 31], ["sub-02", 40.5]])
    loaded = load_recording_folder(root, bids_options={"label_from": "participants:age"})
    assert list(loaded["train"]["target"]) == [31.0, 40.5] and "label" not in loaded["train"].column_names


@pytest.mark.parametrize(
    "options, message",
    [
        ({"label_from": "group"}, r"label_from=participants:COLUMN \(participants:group\), got 'group'"),
        ({"label_from": "participants:sex"}, r"participants.tsv has no sex column .*label_from=participants:COLUMN"),
        ({"label_from": "participants:group", "label_column": "value"}, r"give one of them"),
    ],
)
def test_label_from_that_names_nothing_is_refused(tmp_path, options, message):
    root = tmp_path / "bids"
    _bids(root, subjects=("01", "02"))
    _participants(root, ["group"], [["sub-01", "patient"], ["sub-02", "control"]])
    with pytest.raises(ValueError, match=message):
        load_recording_folder(root, bids_options=options)


@pytest.mark.parametrize("fdt", [True, False])
def test_a_pile_streams_eeglab_sets_a_segment_at_a_time(tmp_path, monkeypatch, fdt):
    """An EEGLAB set in a pile was read whole (as float64, twice its float32 samples) while an EDF file is read ten
    minutes at a time: its .fdt is now mapped and read a segment at a time, samples inside it converted a segment at
    a time."""
    from test_bids2_audit73 import write_eeglab

    data = write_eeglab(tmp_path / "pile", fdt=fdt)
    _assert_read_a_segment_at_a_time(tmp_path / "pile", data, monkeypatch)


def _eeglab_with_boundary(folder, stem="rec", latency=150.5, fdt=True):
    """An EEGLAB set of 200 samples at 250 Hz (`test_bids2_audit73.write_eeglab`) whose data were cut or joined
    between its samples 150 and 151 (from 1): a boundary event at latency 150.5, beside an event of another type.
    Returns its samples."""
    from scipy.io import loadmat, savemat
    from test_bids2_audit73 import write_eeglab

    data = write_eeglab(folder, stem, fdt=fdt)
    variables = loadmat(folder / f"{stem}.set", appendmat=False)
    events = np.zeros((1, 2), dtype=[("type", object), ("latency", object)])
    events[0, 0], events[0, 1] = ("S  1", 20.0), ("boundary", latency)
    structure = variables["EEG"]
    fields = {name: structure[name][0, 0] for name in structure.dtype.names}
    savemat(folder / f"{stem}.set", {"EEG": {**fields, "event": events}}, appendmat=False)
    return data


def test_an_eeglab_set_with_a_boundary_is_read_as_its_stretches(tmp_path):
    """A boundary event (EEGLAB's mark where data were cut out or sets joined) was not read: windows spanned it. Now
    the set is refused read whole, as an EDF+D file with gaps is, and a pile reads each stretch apart."""
    from citrus_hf.data import readers
    from citrus_hf.data.errors import CorruptFileError
    from citrus_hf.data.readers.eeglab import boundary_positions, read_eeglab
    from citrus_hf.data.splits import load_split

    data = _eeglab_with_boundary(tmp_path / "pile")
    with pytest.raises(CorruptFileError, match=r"rec.set is not continuous: .*1 boundary event.*at 0.6 s.*pop_select"):
        readers.read_recording(tmp_path / "pile" / "rec.set")
    assert boundary_positions(tmp_path / "pile" / "rec.set") == [150]
    np.testing.assert_allclose(read_eeglab(tmp_path / "pile" / "rec.set", across_pauses=True).data, data, rtol=1e-6)
    rows = load_split(tmp_path / "pile", "train", None, None)
    assert [len(row[0]) for row in rows["input_values"]] == [150, 50]
    np.testing.assert_allclose(np.concatenate(rows["input_values"], axis=1), data, rtol=1e-6)
