"""Audit 69, data leftovers: an EDF+ file's sub-second start (the first data record's time-keeping annotation),
pre-training alignment's advice from workers started afresh (spawn, as on macOS and Windows), a header-less comma
file of decimal-comma numbers, `citrus data build` folders saved before they noted what they hold, and the TF-C /
wavethresh rows' channel names."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from tiny_configs import write_edf

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_edf, read_edf_annotations, read_edf_header, read_recording

START = datetime.datetime(2020, 1, 2, 3, 4, 5)


# ------------------------------------------------------------------------------ 1. an EDF+ file's sub-second start


def _shift_record_onsets(path, seconds: float):
    """Rewrite every data record's time-keeping annotation ("+k") of the EDF+ file `path` as "+(k + seconds)": a file
    whose first record starts `seconds` after the whole second its header gives (EDF+ keeps the fraction there)."""
    header = read_edf_header(path)
    annotation = header.labels.index("EDF Annotations")
    record_bytes = sum(header.samples_per_record) * header.bytes_per_sample
    offset = sum(header.samples_per_record[:annotation]) * header.bytes_per_sample
    width = header.samples_per_record[annotation] * header.bytes_per_sample
    content = bytearray(path.read_bytes())
    for record in range(header.n_records):
        at = header.header_bytes + record * record_bytes + offset
        onset, rest = bytes(content[at : at + width]).split(b"\x14", 1)
        shifted = f"+{float(onset) + seconds:g}".encode() + b"\x14" + rest
        content[at : at + width] = shifted[:width]
    path.write_bytes(bytes(content))
    return path


def test_an_edf_plus_start_keeps_its_fraction_of_a_second(tmp_path):
    """EDF+ gives the start to the second in its header and the fraction in the first record's time-keeping
    annotation ("+0.5"): the start was read as the whole second, so every window's clock time was early by it."""
    path = write_edf(tmp_path / "rec.edf", [np.zeros(500)], ["EEG"], 100, start=START, annotations=[(2.0, 0.5, "x")])
    _shift_record_onsets(path, 0.5)
    expected = START + datetime.timedelta(seconds=0.5)
    assert read_edf_header(path).start == expected
    recording = read_edf(path)
    assert recording.start == expected
    # EDF+ gives the annotation's onset from the header's whole second (03:04:07); MNE counts it from the first
    # sample, so the two add up to that time only with the fraction
    (annotation,) = recording.annotations
    assert recording.start + datetime.timedelta(seconds=annotation.onset) == START + datetime.timedelta(seconds=2)
    assert read_recording(path).start == expected
    assert read_edf_annotations(path)[1] == expected


def test_an_edf_start_without_a_fraction_is_the_header_s(tmp_path):
    """A whole-second EDF+ start and a plain EDF file (no annotation signal) keep the header's start."""
    plus = write_edf(tmp_path / "plus.edf", [np.zeros(300)], ["EEG"], 100, start=START)
    plain = write_edf(tmp_path / "plain.edf", [np.zeros(300)], ["EEG"], 100, plus=False, start=START)
    assert read_edf(plus).start == START
    assert read_edf(plain).start == START


# ---------------------------------------------------------------- 2. advice from alignment workers started afresh


def test_pre_training_alignment_advises_the_corpus_fix_in_a_fresh_worker(monkeypatch):
    """`align_corpus(num_proc=2)` where workers start afresh (spawn: macOS, Windows) said the extractor's advice,
    alignment='interpolate', no option of pre-training's: the corpus's advice was a context variable set in the
    caller's process only. A worker is stood in for by running the map's function in an empty context, as a spawned
    process sees it (a real spawn takes tens of seconds to start)."""
    import contextvars

    from datasets import Dataset
    from tiny_configs import tiny_config

    from citrus_hf.data.alignment import align_corpus

    map_in_process = Dataset.map

    def map_in_a_fresh_context(self, function=None, *args, **kwargs):
        def fresh(*call_args, **call_kwargs):
            return contextvars.Context().run(function, *call_args, **call_kwargs)

        return map_in_process(self, fresh, *args, **kwargs)

    monkeypatch.setattr(Dataset, "map", map_in_a_fresh_context)
    rows = [{"input_values": np.ones((1, n), np.float32), "sampling_rate": 100.0} for n in (400, 10)]
    with pytest.raises(ValueError, match="row 1 has 10 samples") as error:
        align_corpus(Dataset.from_list(rows), tiny_config(num_channels=1))
    assert "leave a recording this short out of the corpus" in str(error.value)
    assert "interpolate" not in str(error.value)


# ------------------------------------------------------------- 3. a header-less comma file of decimal-comma numbers


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_columns_of_decimal_commas_apart_by_commas_are_refused(tmp_path):
    """ "1,25,-2,05" is two channels written with a decimal comma, or four of whole numbers: it was read as four
    channels without a word. A second number written with a leading 0 ("05") is no whole number: refused, naming the
    fix."""
    rng = np.random.default_rng(0)
    lines = [",".join(f"{value:.2f}".replace(".", ",") for value in pair) for pair in rng.uniform(-5, 5, (60, 2))]
    path = _write_lines(tmp_path / "two.csv", lines)
    with pytest.raises(CorruptFileError, match="decimal comma.*semicolons between the columns"):
        read_recording(path, sampling_rate=100)


def test_columns_of_whole_numbers_apart_by_commas_are_read_as_they_are(tmp_path):
    """Whole numbers keep their reading: counts without a leading 0, and zero-padded counts (every column padded)."""
    plain = _write_lines(tmp_path / "plain.csv", ["512,498,3,77", "510,500,4,81"] * 5)
    padded = _write_lines(tmp_path / "padded.csv", ["0512,0498,0003,0077", "0510,0500,0004,0081"] * 5)
    for path in (plain, padded):
        recording = read_recording(path, sampling_rate=100)
        assert recording.data.shape == (4, 10)
        assert recording.data[:, 0].tolist() == [512, 498, 3, 77]


# ------------------------------------- 4. a `citrus data build` folder saved before it noted what it holds


def test_a_checkpoint_pretrained_on_an_unnoted_build_folder_is_checked_against_its_rows(tmp_path):
    """A folder `citrus data build --output` saved before citrus_built_from.json existed holds no note of its set, so
    a run on it recorded the folder's path alone and evaluation scored a split whose windows the folder held without
    a word (an unknown set). Its rows say which stretch of which recording each holds: the check reads them."""
    import json
    import shutil

    from datasets import DatasetDict

    from citrus_hf._bundled import bundled_checkpoint
    from citrus_hf.data import build_dataset
    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    test = build_dataset("myo_gestures")["test"]
    corpus = tmp_path / "corpus"  # an old build: rows as a registered set's, no note beside them
    DatasetDict(train=test.select(range(5)).remove_columns("label")).save_to_disk(str(corpus))
    checkpoint = tmp_path / "from_folder"
    shutil.copytree(bundled_checkpoint("citrus-small"), checkpoint)
    summary = json.loads((checkpoint / "pretraining_summary.json").read_text())
    summary["arguments"] |= {"dataset": str(corpus), "dataset_options": {}}
    summary.pop("dataset_built_from", None)
    (checkpoint / "pretraining_summary.json").write_text(json.dumps(summary))
    config = ProtocolConfig(
        output_dir=str(tmp_path / "eval"), datasets=["myo_gestures"], arms=["citrus-small", "prior"], budgets=["1"],
        checkpoints={"citrus-small": str(checkpoint)}, seeds=[0], show_progress=False,
    )  # fmt: skip
    with pytest.raises(ValueError, match=rf"5 of the {len(test)} test windows of myo_gestures .* in the rows of"):
        run_protocol(config)


def test_rows_that_only_touch_a_saved_corpus_s_are_not_in_it(tmp_path):
    """A scored window that starts where a corpus row ends shares no sample with it; one that overlaps does."""
    from datasets import Dataset

    from citrus_hf.data.sources.pretraining import examples_in_saved_corpus

    def rows(spans):
        return Dataset.from_list(
            [
                {"input_values": np.zeros((1, 100), np.float32), "sampling_rate": 100.0, "recording": recording,
                 "start_seconds": start}
                for recording, start in spans
            ]
        )  # fmt: skip

    held = {"r1": [(0.0, 1.0)], "r2": [(5.0, 6.0)]}
    assert examples_in_saved_corpus(held, rows([("r1", 1.0), ("r2", 4.0), ("r3", 0.0)])) == (0, [])
    assert examples_in_saved_corpus(held, rows([("r1", 0.5), ("r2", 5.5), ("r2", 6.0)])) == (2, ["r1", "r2"])


def test_predict_s_advice_for_twice_the_model_s_channels_names_the_decimal_comma(tmp_path, capsys):
    """A model of two channels given a header-less CSV of two decimal-comma channels apart by commas, read as four of
    whole numbers (no leading 0 tells): the advice was to pick two of them, which scores the whole parts alone."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.commands.main import main

    config = tiny_config(num_labels=2, num_channels=2)  # the channels concatenated by its head
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "model")
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path / "model")
    path = _write_lines(tmp_path / "two.csv", ["1,25,4,65", "3,43,3,92", "2,17,1,38"] * 80)
    assert main(["predict", str(tmp_path / "model"), str(path), "--sampling-rate", "100"]) == 2
    error = capsys.readouterr().err
    assert "--channels" in error and "decimal comma" in error and "semicolons" in error


# ------------------------------------------------------------------------ 5. annotations beside WFDB records


def test_wfdb_annotation_files_beside_their_records_are_named_as_not_read(tmp_path, caplog):
    """PhysioNet's records come with their annotations (`100.atr`, beat labels), which no route here reads: they were
    passed over without a word, where BIDS events tables and files of other formats are named."""
    wfdb = pytest.importorskip("wfdb")
    from citrus_hf.data.recording_folders import load_recording_folder

    signal = np.sin(np.arange(600) / 5)[:, None]
    wfdb.wrsamp("100", fs=100, units=["mV"], sig_name=["MLII"], p_signal=signal, fmt=["16"], write_dir=str(tmp_path))
    wfdb.wrann("100", "atr", np.array([100, 300]), np.array(["N", "V"]), write_dir=str(tmp_path))
    with caplog.at_level("WARNING", logger="citrus_hf.data.recording_folders"):
        rows = load_recording_folder(tmp_path)
    assert set(rows["recording"]) == {"100.hea"}
    assert "1 WFDB annotation file(s)" in caplog.text and "100.atr" in caplog.text and "wfdb.rdann" in caplog.text
