"""Mutation audit 80 of the readers, third round (`citrus_hf.data.readers`, `citrus_hf.data.recordings`): each test
here pins a wrong answer the suite let through when a reader was changed on purpose (the order of a WFDB record's
rates, the first segment of a multi-segment record, the breaks given beside a BrainVision or EEGLAB recording's own,
the train / validation shares of an unlabelled corpus, WAV channels asked out of order), with the expected values
worked out by hand in comments."""

from __future__ import annotations

import numpy as np
import pytest
from test_bids2_audit73 import write_brainvision, write_eeglab
from test_readertraps_audit71 import SIGNALS, _header, _segments

from citrus_hf.data import readers
from citrus_hf.data.errors import CorruptFileError

wfdb = pytest.importorskip("wfdb")


# ------------------------------------------------------------------------------------------------------------ WFDB


def test_a_wfdb_records_rates_are_listed_fastest_first_whatever_the_signals_order(tmp_path):
    """`wfdb_names_by_rate` (and the refusal of a record read whole) list the rates fastest first, as documented,
    also where the header lists the slow signal first: REF at 1 sample per frame (100 Hz), ECG at 2 (200 Hz)."""
    from citrus_hf.data.readers.wfdb import wfdb_names_by_rate

    slow = np.sin(np.arange(300) / 10)
    wfdb.wrsamp(
        "mf", fs=100, units=["mV", "mV"], sig_name=["REF", "ECG"], e_p_signal=[slow, np.repeat(slow, 2)],
        samps_per_frame=[1, 2], fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path),
    )  # fmt: skip
    assert list(wfdb_names_by_rate(tmp_path / "mf.hea").items()) == [(200.0, ["ECG"]), (100.0, ["REF"])]
    with pytest.raises(ValueError, match=r"2 rates \(200 Hz: ECG; 100 Hz: REF\)"):
        readers.read_wfdb(tmp_path / "mf", None)


def test_the_first_segment_of_a_multi_segment_record_is_checked_too(tmp_path):
    """The seams' checks cover the first segment after a layout segment (its unit against the layout's: s1 in µV
    where the layout says mV, 1000 times off from the start) and, without one, the first segment's rate against the
    record's (s1 at 180 Hz in a 360 Hz record)."""
    consistent = ["s2.dat 16 200/mV 16 0 0 0 0 I", "s2.dat 16 400/mV 16 0 0 0 0 II"]
    _segments(tmp_path, consistent, layout=True)
    _header(tmp_path, "s1", ["s1 2 360 500", "s1.dat 16 0.2/uV 16 0 0 0 0 I", "s1.dat 16 400/mV 16 0 0 0 0 II"])
    with pytest.raises(CorruptFileError, match=r"segment 's1' records signal 'I' in uV and the layout .* in mV"):
        readers.read_wfdb(tmp_path / "ms", None)
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    _segments(fixed, consistent)
    _header(fixed, "s1", ["s1 2 180 500", "s1.dat 16 200/mV 16 0 0 0 0 I", "s1.dat 16 400/mV 16 0 0 0 0 II"])
    with pytest.raises(CorruptFileError, match=r"segment 's1' is sampled at 180 Hz and the record at 360 Hz"):
        readers.read_wfdb(fixed / "ms", None)


def test_a_consistent_layout_record_reads_as_wfdb_joins_it(tmp_path):
    """Guard: a variable-layout record of two agreeing segments is read as wfdb.rdrecord joins it (in order, at the
    record's rate, its samples those of `SIGNALS`)."""
    record = _segments(tmp_path, ["s2.dat 16 200/mV 16 0 0 0 0 I", "s2.dat 16 400/mV 16 0 0 0 0 II"], layout=True)
    recording = readers.read_wfdb(record, None)
    joined = wfdb.rdrecord(str(record))
    assert recording.sampling_rate == joined.fs == 360 and recording.channel_names == ["I", "II"]
    np.testing.assert_allclose(recording.data, joined.p_signal.T)
    np.testing.assert_allclose(recording.data, SIGNALS.T, atol=0.003)


# --------------------------------------------------------------------------------------------- BrainVision / EEGLAB


def test_breaks_given_beside_a_brainvision_recording_cut_its_stretches(tmp_path):
    """A BIDS events table's boundary row (sample 50 of 200) cuts the recording as its own pauses would: stretches of
    50 and 150 samples, the second starting at sample 50 of the file."""
    from citrus_hf.data.readers.brainvision import read_brainvision_stretches

    write_brainvision(tmp_path)
    whole = readers.read_brainvision(tmp_path / "rec.vhdr").data
    _, _, stretches = read_brainvision_stretches(tmp_path / "rec.vhdr", None, 1000, breaks=[50])
    assert [samples for samples, _ in stretches] == [50, 150]
    np.testing.assert_allclose(next(stretches[1][1]), whole[:, 50:])


def test_breaks_given_beside_an_eeglab_set_cut_its_stretches(tmp_path):
    """As for BrainVision: a given break at sample 120 of 200 cuts the set into 120 + 80 samples."""
    from citrus_hf.data.readers.eeglab import read_eeglab_stretches

    data = write_eeglab(tmp_path)
    _, _, stretches = read_eeglab_stretches(tmp_path / "rec.set", None, 1000, breaks=[120])
    assert [samples for samples, _ in stretches] == [120, 80]
    np.testing.assert_allclose(next(stretches[1][1]), data[:, 120:])


# ------------------------------------------------------------------------------------------------------ recordings


def test_an_unlabelled_corpus_puts_the_validation_fraction_in_validation(tmp_path):
    """Ten recordings of equal length, validation_fraction 0.2: two go to validation and eight to train (the shares
    swapped gave validation eight)."""
    from citrus_hf.data.recordings import RecordingRef, plan_channel_corpus

    refs = [RecordingRef("s", f"r{index}", f"p{index}", "origin", dict, shape=(1, 1000, 100.0)) for index in range(10)]
    options = {"window_seconds": 1.0, "hop_seconds": 1.0, "validation_fraction": 0.2, "seed": 0}
    plan = plan_channel_corpus(refs, options)
    assert {split: len(kept["recordings"]) for split, kept in plan.splits.items()} == {"train": 8, "validation": 2}


# ------------------------------------------------------------------------------------------------------------- WAV


def test_wav_channels_asked_out_of_order_come_back_in_that_order(tmp_path):
    """``channels=["1", "0"]`` of a stereo file gives channel 1's samples first, under its name."""
    from scipy.io import wavfile

    from citrus_hf.data.readers.files import read_wav

    samples = np.stack([np.full(100, 1000), np.full(100, -2000)], axis=1).astype(np.int16)  # (time, 2)
    wavfile.write(tmp_path / "st.wav", 100, samples)
    picked = read_wav(tmp_path / "st.wav", channels=["1", "0"])
    assert picked.channel_names == ["1", "0"]
    np.testing.assert_allclose(picked.data[:, 0], [-2000 / 32768, 1000 / 32768])


# ------------------------------------------------------------------------------------------------------------- CSV


def _first_stamped_packets(path, rate: float, sizes, lost: int):
    """A BLE wearable's CSV whose packets of `sizes` samples each carry their first sample's time, in seconds; packet
    `lost` missing."""
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rows = ["time,ecg"]
    for index, (size, first) in enumerate(zip(sizes, firsts)):
        if index != lost:
            rows += [f"{1.7e9 + first / rate:.4f},{np.sin(first + sample):.4f}" for sample in range(size)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_lost_packet_among_first_stamped_packets_of_varying_size_is_samples_missing(tmp_path):
    """Packets of 6 and 10 samples at 125 Hz, each stamped with its first sample, packet 50 (6 samples: 0.048 s)
    lost: the gap is named at its size. The packets start one sample after each step of the stamps; counted from the
    step itself, each packet took its neighbour's stamp, the gap came out as 0.0048 s and, with packets of 5 to 11
    samples, went unseen."""
    path = _first_stamped_packets(tmp_path / "lost.csv", 125, np.tile([6, 10], 60), lost=50)
    with pytest.raises(CorruptFileError, match=r"\(0\.048 s of samples missing\)"):
        readers.read_recording(path, sampling_rate=125)
    irregular = np.random.default_rng(1).integers(5, 12, 150)
    with pytest.raises(CorruptFileError, match="samples missing"):
        readers.read_recording(_first_stamped_packets(tmp_path / "odd.csv", 125, irregular, lost=50), sampling_rate=125)


# ------------------------------------------------------------------------------------------------------------- EDF


def test_an_edf_channel_named_by_a_number_is_picked_by_its_name(tmp_path):
    """EDF signals labelled "1" and "2" (a device numbering its electrodes): ``channels=["1"]`` is the signal named
    "1" (the first), not the one at position 1, as a digit that names no channel would be."""
    from test_names_audit64 import _write_edf

    written = _write_edf(tmp_path / "numbered.edf", ["1", "2"])
    picked = readers.read_recording(tmp_path / "numbered.edf", ["1"])
    assert picked.channel_names == ["1"]
    np.testing.assert_allclose(picked.data, written[:1], atol=0.01)


# ----------------------------------------------------------------------------------------------------- OpenSignals


def test_one_opensignals_signal_type_applies_to_every_channel(tmp_path):
    """An info file naming one type ("ECG") for a two-channel device: both channels are ECG, as documented."""
    import json

    from test_bad_inputs import opensignals_two_channels_one_resolution

    path = opensignals_two_channels_one_resolution(tmp_path, (16, 16))
    info = tmp_path / "opensignals_info.json"
    info.write_text(json.dumps({"Signal Type": "ECG"}))
    assert readers.read_opensignals_h5(path, info).signal_types == {"channel_1": "ECG", "channel_2": "ECG"}


# ----------------------------------------------------------------------------------------------------------- RData


def _r_data_of_one_double_vector(tmp_path, length_words: list[int], values: list[float]):
    """An uncompressed R data file (RDX2, XDR) saving `x`, a double vector whose length is written as the words
    `length_words` (one, or -1 and the high and low words of a long vector's) followed by `values`."""
    words = [2, 0x040000, 0x020300]  # serialization format 2, the writer's and the reader's R versions
    words += [2 | 1 << 10, 1, 9, 1]  # a pairlist cell with a tag: the symbol "x" (a CHARSXP of 1 byte)
    body = np.asarray(words, dtype=">i4").tobytes() + b"x"
    body += np.asarray([14, *length_words], dtype=">i4").tobytes() + np.asarray(values, dtype=">f8").tobytes()
    body += np.asarray([254], dtype=">i4").tobytes()  # the end of the pairlist
    path = tmp_path / "x.rda"
    path.write_bytes(b"RDX2\nX\n" + body)
    return path


def test_an_r_long_vector_length_counts_its_high_word(tmp_path):
    """R writes a vector of 2**31 elements or more as length -1, then the high and low 32-bit words: one of 2**32 + 1
    elements in a file of 3 values is refused as cut short (its high word taken as 1 element read 1 value as all)."""
    whole = readers.read_r_data(_r_data_of_one_double_vector(tmp_path, [-1, 0, 3], [1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(whole["x"].value, [1.0, 2.0, 3.0])
    with pytest.raises(CorruptFileError, match="ends in the middle of an R object"):
        readers.read_r_data(_r_data_of_one_double_vector(tmp_path, [-1, 1, 1], [1.0, 2.0, 3.0]))
