"""Mutation audit 79 of the readers, second round (`citrus_hf.data.readers`, `citrus_hf.data.recordings`): each test
here pins a wrong answer the suite let through when a reader was changed on purpose (channels asked out of file order,
a big-endian BrainVision file, EEGLAB's numeric and capitalised boundaries, a held-out span's edges, the tail stretch
kept by ``min_seconds``, a CSV's missing time stamps, a millisecond clock), with the expected values worked out by
hand in comments."""

from __future__ import annotations

import numpy as np
import pytest

from citrus_hf.data import readers
from citrus_hf.data.errors import CorruptFileError


def test_wfdb_channels_asked_out_of_file_order_come_back_in_the_order_asked(tmp_path):
    """A record of signals I, II, V1 (mV, mV, uV) read with ``channels=["V1", "I"]`` gives V1's samples, name and unit
    first: the rows are picked among the signals read (sorted in file order, I then V1), not taken in that order."""
    import wfdb

    samples = np.random.default_rng(0).normal(size=(300, 3)).round(3)
    wfdb.wrsamp(
        "rec", fs=100, units=["mV", "mV", "uV"], sig_name=["I", "II", "V1"], p_signal=samples,
        fmt=["16"] * 3, adc_gain=[1000.0] * 3, baseline=[0] * 3, write_dir=str(tmp_path),
    )  # fmt: skip
    picked = readers.read_wfdb(tmp_path / "rec", None, channels=["V1", "I"])
    assert picked.channel_names == ["V1", "I"] and picked.units == ["uV", "mV"]
    np.testing.assert_allclose(picked.data, samples.T[[2, 0]], atol=1e-3)


def test_a_wfdb_signal_without_a_description_is_named_by_its_place(tmp_path):
    """A header's signal line may end without its description (optional): wfdb gives None, read as the name "None";
    such a signal is named by its position from 0, as a file that names no channels is, read whole or picked."""
    import wfdb

    samples = np.random.default_rng(0).normal(size=(300, 2)).round(3)
    wfdb.wrsamp("rec", fs=100, units=["mV", "mV"], sig_name=["I", "II"], p_signal=samples, fmt=["16"] * 2,
                write_dir=str(tmp_path))  # fmt: skip
    header = tmp_path / "rec.hea"
    lines = header.read_text().splitlines()
    lines[1] = lines[1].rsplit(" ", 1)[0]  # the first signal's description ("I") left out
    header.write_text("\n".join(lines) + "\n")
    assert readers.read_recording(header).channel_names == ["0", "II"]
    assert readers.read_recording(header, channels=["II", "0"]).channel_names == ["II", "0"]


def test_a_big_endian_brainvision_recording_is_refused_naming_the_setting(tmp_path):
    """UseBigEndianOrder=YES: the samples are stored high byte first; read as the default little-endian order, each
    INT_16 sample came back byte-swapped (1 as 256) without a word."""
    from test_bids2_audit73 import write_brainvision

    write_brainvision(tmp_path)
    header = tmp_path / "rec.vhdr"
    text = header.read_text(encoding="utf-8").replace(
        "BinaryFormat=INT_16\n", "BinaryFormat=INT_16\nUseBigEndianOrder=YES\n"
    )
    header.write_text(text, encoding="utf-8")
    with pytest.raises(
        CorruptFileError, match=r"big-endian samples \(UseBigEndianOrder=YES\).*re-export it little-endian"
    ):
        readers.read_recording(header)


def _eeglab_events(folder, events: list[tuple[object, float]]):
    """An EEGLAB set of 200 samples at 250 Hz (`test_bids2_audit73.write_eeglab`) whose ``EEG.event`` holds `events`
    ``(type, latency)``. Returns its path."""
    from scipy.io import loadmat, savemat
    from test_bids2_audit73 import write_eeglab

    write_eeglab(folder)
    path = folder / "rec.set"
    structure = loadmat(path, appendmat=False)["EEG"]
    table = np.zeros((1, len(events)), dtype=[("type", object), ("latency", object)])
    for index, event in enumerate(events):
        table[0, index] = event
    fields = {name: structure[name][0, 0] for name in structure.dtype.names}
    savemat(path, {"EEG": {**fields, "event": table}}, appendmat=False)
    return path


@pytest.mark.parametrize(
    "events",
    [
        [(20.0, 20.0), (-99.0, 150.5), (99.0, 100.5)],  # every type a number: the boundary is -99, not 99
        [("S  1", 20.0), ("Boundary ", 150.5)],  # a type written in another case, with a space after
    ],
)
def test_an_eeglab_boundary_is_found_as_a_number_or_in_any_case(tmp_path, events):
    """A boundary at latency 150.5 (between samples 150 and 151 from 1) starts the next stretch at sample 150 from 0
    (ceil(150.5 - 1)); where every event type is a number EEGLAB writes a boundary as -99 (an event of type 99 is
    none), and a type string counts whatever its case and surrounding spaces."""
    from citrus_hf.data.readers.eeglab import boundary_positions

    assert boundary_positions(_eeglab_events(tmp_path, events)) == [150]


def test_an_eeglab_boundary_before_the_first_sample_is_no_break(tmp_path):
    """A boundary at latency 0.5 (EEGLAB's mark of a cut before the first sample) starts the next stretch at sample
    ceil(0.5 - 1) = 0: nothing precedes it, so the set is one stretch and is read whole."""
    from citrus_hf.data.readers.eeglab import boundary_positions

    path = _eeglab_events(tmp_path, [("boundary", 0.5)])
    assert boundary_positions(path) == []
    assert readers.read_recording(path).data.shape == (3, 200)


def test_a_held_out_spans_edges_between_samples_round_outwards():
    """[2.005, 3.005] s at 100 Hz touches samples 200 (floor 200.5) to 300 (ceil 300.5 = 301, exclusive): the free
    stretches are [0, 200) and [301, 1000); rounded inwards either edge would let a row touch the span."""
    from citrus_hf.data.recordings import free_stretches

    assert free_stretches(1000, 100.0, [(2.005, 3.005)]) == [(0, 200), (301, 1000)]
    # a span inside an earlier, longer one (sorted: [1, 5] s, then [2, 3] s) does not free what the first holds out
    assert free_stretches(1000, 100.0, [(2.0, 3.0), (1.0, 5.0)]) == [(0, 100), (500, 1000)]


def test_a_tail_of_exactly_min_seconds_is_its_own_row_after_the_last_windows_end():
    """2.5 s at 100 Hz, 1 s windows every 1 s: windows at 0 and 100 cover [0, 200); the 0.5 s left is kept with
    ``min_seconds=0.5`` (at least, not more than) as the row (200, 50), from the last window's end, not its start."""
    from citrus_hf.data.recordings import channel_segments

    assert channel_segments(250, 100.0, 1.0, 1.0, min_seconds=0.5) == [(0, 100), (100, 100), (200, 50)]
    assert channel_segments(250, 100.0, 1.0, 1.0, min_seconds=0.51) == [(0, 100), (100, 100)]


def test_missing_time_stamps_before_and_after_the_given_ones_follow_their_mean_step():
    """Stamps [-, 0, 0.01, -, 0.03, -]: the given ones (rows 1, 2, 4) step (0.03 - 0) / (4 - 1) = 0.01 per row, so
    row 0 is 0 - 0.01, row 3 is 0.02 (between its neighbours) and row 5 is 0.03 + 0.01."""
    from citrus_hf.data.readers.files import _filled_stamps

    stamps = np.array([np.nan, 0.0, 0.01, np.nan, 0.03, np.nan])
    np.testing.assert_allclose(_filled_stamps(stamps), [-0.01, 0.0, 0.01, 0.02, 0.03, 0.04], atol=1e-12)


def test_a_millisecond_clock_at_256_hz_matches_by_its_mean_step():
    """A clock stamping whole milliseconds at 256 Hz steps 3 or 4 ms (median 4 ms: 250 Hz, 2.3 % off, past the 2 %
    tolerance); its mean step, 1000 / 256 ms, is exact, so the column counts in ms at 256 Hz."""
    from citrus_hf.data.readers.files import _units_at_rate

    stamps = np.round(np.arange(512) * 1000.0 / 256.0)
    assert float(np.median(np.diff(stamps))) == 4.0
    assert _units_at_rate(stamps, ["ms"], 256.0) == ["ms"]


def test_an_edf_annotation_cut_at_the_recordings_end_is_said_once(tmp_path, caplog):
    """MNE cuts an EDF+ annotation running past the recording's end to end there (1 s + 3 s on a 3 s file: 2 s) and
    its warning was silenced, so the recording and `read_edf_annotations` disagreed without a word; now one notice
    names it. One that ends at the end as written (1 s + 2 s) is not said."""
    import logging

    from tiny_configs import write_edf

    from citrus_hf.data.readers import read_edf

    past = write_edf(
        tmp_path / "past.edf", [np.zeros(300)], ["EEG"], 100, annotations=[(0.5, 0.5, "x"), (1.0, 3.0, "stim")]
    )
    at_end = write_edf(tmp_path / "end.edf", [np.zeros(300)], ["EEG"], 100, annotations=[(1.0, 2.0, "stim")])
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.readers.edf"):
        assert [(a.onset, a.duration) for a in read_edf(past).annotations] == [(0.5, 0.5), (1.0, 2.0)]
        assert [(a.onset, a.duration) for a in read_edf(at_end).annotations] == [(1.0, 2.0)]
    (notice,) = [record.getMessage() for record in caplog.records if "annotation" in record.getMessage()]
    assert "past.edf: 1 EDF+ annotation(s) run past the recording's end at 3 s" in notice
    assert "'stim' at 1 s, written 3 s, kept 2 s" in notice and "read_edf_annotations" in notice


def _two_channels() -> object:
    """2.5 s at 100 Hz of an EEG channel (samples 0..249) and an ECG one (250..499): each sample's value is its
    place, so a window's first value tells where it was cut."""
    from citrus_hf.data.recordings import Signals

    return Signals(np.arange(500.0).reshape(2, 250), 100.0, ("Fz", "ECG"), ("EEG", "ECG"))


def test_windows_of_a_loaded_recording_start_where_they_are_cut_and_keep_their_channel():
    """Labelled windows of 1 s every 0.5 s start at 0, 0.5, 1, 1.5 s, each 100 samples of both channels; a channel
    corpus cuts each channel apart (its own modality) into 1 s windows and the 0.5 s tail, starting at 0, 1, 2 s; with
    the first 0.5 s held out they start at 0.5 s; a rate at ``min_rate`` is kept, and rows count once per channel."""
    from citrus_hf.data.recordings import (
        RecordingRef,
        channel_segments,
        channel_window_count,
        channel_windows,
        labelled_windows,
    )

    ref = RecordingRef("s", "r1", "subject", "origin", _two_channels, label=1)
    labelled = list(labelled_windows([ref], 1.0, 0.5))
    assert [row["start_seconds"] for row in labelled] == [0.0, 0.5, 1.0, 1.5]
    assert all(np.asarray(row["input_values"]).shape == (2, 100) for row in labelled)
    assert np.asarray(labelled[1]["input_values"])[1, 0] == 250.0 + 50.0
    rows = list(channel_windows([ref], 1.0, 1.0, min_seconds=0.5))
    assert [(row["channel"], row["modality"], row["start_seconds"]) for row in rows] == [
        ("Fz", "EEG", 0.0), ("Fz", "EEG", 1.0), ("Fz", "EEG", 2.0),
        ("ECG", "ECG", 0.0), ("ECG", "ECG", 1.0), ("ECG", "ECG", 2.0),
    ]  # fmt: skip
    assert [np.asarray(row["input_values"]).shape[1] for row in rows] == [100, 100, 50] * 2
    assert np.asarray(rows[4]["input_values"])[0, -1] == 250.0 + 199.0
    assert channel_segments(250, 100.0, 1.0, 1.0, held_out=[(0.0, 0.495)]) == [(50, 100), (150, 100)]
    known = RecordingRef("s", "r1", "subject", "origin", _two_channels, shape=(2, 250, 100.0))
    assert channel_window_count(known, 1.0, 1.0, 0.5, min_rate=100.0) == 6


def test_stretches_between_pass_over_a_break_at_the_first_sample_and_positions_stop_at_the_last_channel():
    """A break at sample 0 (nothing before it) is no stretch boundary: 10 samples broken at 0 and 5 are two stretches
    of 5; a given break beside the file's own is that one; of two channels, "1" is a position and "2" is none
    (positions count from 0)."""
    from pathlib import Path

    from citrus_hf.data.readers._common import channel_rows, merged_breaks, stretches_between

    # a given break a sample from the file's own (EEGLAB's BIDS export, half a sample apart) is that one; those at 0 or
    # past the end are none
    assert merged_breaks([150], [151, 100, 0, 200], 200) == [100, 150]

    stretches = stretches_between(10, [0, 5], 4, lambda start, stop: (start, stop))
    assert [(samples, list(segments)) for samples, segments in stretches] == [
        (5, [(0, 4), (4, 5)]),
        (5, [(5, 9), (9, 10)]),
    ]
    assert channel_rows(Path("rec.csv"), ["a", "b"], ["1"]) == [1]
    with pytest.raises(ValueError, match="2"):
        channel_rows(Path("rec.csv"), ["a", "b"], ["2"])


def test_a_brainvision_unit_spelled_uv_and_a_lower_case_new_segment_marker_are_read(tmp_path):
    """A channel line's unit "uV" is µV as MNE names it (kept as "uV" it read as another unit than the µV of a file
    that writes µV), and a marker file's "new segment" in lower case still dates the first sample."""
    import datetime

    from test_bids2_audit73 import write_brainvision

    write_brainvision(tmp_path, lines=["Fp1,,0.1,uV", "Cz,,1,mV"])
    markers = tmp_path / "rec.vmrk"
    markers.write_text(markers.read_text(encoding="utf-8").replace("Mk1=New Segment", "Mk1=new segment"), "utf-8")
    recording = readers.read_recording(tmp_path / "rec.vhdr")
    assert recording.units == ["µV", "mV"]
    assert recording.start == datetime.datetime(2024, 3, 1, 12, 0, 0, 500000)


def test_a_written_sampling_interval_is_trusted_to_half_its_last_digit():
    """The docstring's examples: "1953.12" to 0.005, "977" to 0.5, "9.765625e+02" to 5e-05; no number, 0."""
    from citrus_hf.data.readers.brainvision import written_precision

    assert [written_precision(text) for text in ("1953.12", "977", "9.765625e+02", "x")] == [0.005, 0.5, 5e-05, 0.0]


def test_an_eeglab_set_of_two_epochs_or_a_rate_of_zero_is_refused(tmp_path):
    """Two epochs are already an epoched set (read as one recording, the second epoch ran on from the first's end);
    a rate of 0 is no rate."""
    from test_bids2_audit73 import write_eeglab

    write_eeglab(tmp_path / "epochs", trials=2)
    with pytest.raises(CorruptFileError, match=r"holds 2 epochs .*give the continuous data set"):
        readers.read_recording(tmp_path / "epochs" / "rec.set")
    write_eeglab(tmp_path / "rate", rate=0.0)
    with pytest.raises(CorruptFileError, match=r"gives srate = 0.0, not a positive number"):
        readers.read_recording(tmp_path / "rate" / "rec.set")


def test_a_brainvision_start_is_the_first_numbered_new_segments_whatever_the_line_order(tmp_path):
    """Markers are numbered Mk1, Mk2...: a marker file listing Mk3 (a later New Segment, at sample 101, an hour on)
    before Mk1 still dates the recording by Mk1's first sample, not by the first line."""
    import datetime

    from test_bids2_audit73 import write_brainvision

    from citrus_hf.data.readers.brainvision import read_brainvision

    write_brainvision(tmp_path)
    markers = tmp_path / "rec.vmrk"
    later = "Mk3=New Segment,,101,1,0,20240301130000000000\nMk1=New Segment"
    markers.write_text(markers.read_text(encoding="utf-8").replace("Mk1=New Segment", later), encoding="utf-8")
    recording = read_brainvision(tmp_path / "rec.vhdr", across_pauses=True)
    assert recording.start == datetime.datetime(2024, 3, 1, 12, 0, 0, 500000)
