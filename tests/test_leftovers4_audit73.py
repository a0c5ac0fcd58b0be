"""Items this session's helpers noticed: a Mind Monitor CSV's column of text markers, a BIOPAC AcqKnowledge text
export's header, the fusion table's spread, transformers' load report ahead of a head-size error, an events table's
onset written as text."""

from __future__ import annotations

import logging
import tempfile

import numpy as np
import pandas as pd
import pytest

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_recording

RATE = 256


def _mind_monitor(path, samples: int = 600, marker_after: int = 300):
    """A Mind Monitor (Muse) CSV: clock stamps, two raw channels and its `Elements` column, empty on samples, and one
    marker row (`/muse/elements/blink`, every sample cell empty) stamped between two samples."""
    rng = np.random.default_rng(0)
    values = rng.uniform(700, 900, (samples, 2)).round(3)
    lines = ["TimeStamp,RAW_TP9,RAW_AF7,Elements"]
    start = pd.Timestamp("2020-04-12 11:42:10")
    for row in range(samples):
        stamp = (start + pd.Timedelta(seconds=row / RATE)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        lines.append(f"{stamp},{values[row, 0]},{values[row, 1]},")
        if row == marker_after:
            lines.append(f"{stamp},,,/muse/elements/blink")
    path.write_text("\n".join(lines) + "\n")
    return values


def test_a_column_of_text_markers_not_asked_for_is_left_unread_and_its_rows_are_no_samples(tmp_path):
    """channels=["RAW_TP9"] reads that channel: the `Elements` column, never asked for, is not parsed as numbers, and
    its marker row (no sample) is left out, not read as a NaN sample that put every later sample a sample late."""
    values = _mind_monitor(tmp_path / "muse.csv")
    recording = read_recording(tmp_path / "muse.csv", channels=["RAW_TP9", "RAW_AF7"], sampling_rate=RATE)
    assert recording.channel_names == ["RAW_TP9", "RAW_AF7"]
    np.testing.assert_array_equal(recording.data, values.T)


def test_a_column_of_text_is_named_with_the_fix_when_every_channel_is_read(tmp_path):
    _mind_monitor(tmp_path / "muse.csv")
    with pytest.raises(CorruptFileError, match=r"in its column 'Elements'.* name the other channels to read"):
        read_recording(tmp_path / "muse.csv", sampling_rate=RATE)


def test_a_biopac_text_export_with_its_header_is_refused_naming_its_rate_and_the_fix(tmp_path):
    header = ["rest.acq", "2 msec/sample", "2 channels", "ECG - ECG100C", "mV", "EDA - EDA100C", "microsiemens"]
    rows = [f"{row / 500 / 60:.6f}\t{np.sin(row / 10):.5f}\t{5 + row / 1000:.5f}" for row in range(400)]
    (tmp_path / "biopac.txt").write_text("\n".join([*header, "min\tCH1\tCH2", *rows]) + "\n")
    with pytest.raises(CorruptFileError, match=r"BIOPAC AcqKnowledge text export .*500 Hz.*delete its first 7 lines"):
        read_recording(tmp_path / "biopac.txt", sampling_rate=500)
    # the fix it names reads the file
    (tmp_path / "fixed.txt").write_text("\n".join(["min\tCH1\tCH2", *rows]) + "\n")
    recording = read_recording(tmp_path / "fixed.txt", channels=["CH1", "CH2"], sampling_rate=500)
    assert recording.data.shape == (2, 400)


def test_the_fusion_table_names_its_spread_as_the_report_does():
    from citrus_hf.evaluation.multimodal import FusionProtocolResult, format_table
    from citrus_hf.evaluation.report import SPREAD

    result = FusionProtocolResult()
    for accuracy in (0.7, 0.8):
        result.add("fusion", "4/class", {"accuracy": accuracy, "mae": accuracy})
    assert format_table(result, "accuracy").splitlines()[0] == f"| accuracy (%), mean ± {SPREAD} over seeds | 4/class |"
    assert format_table(result, "mae").splitlines()[0].startswith("| MAE, mean ± ")  # (no "%": MAE is not scaled)


def test_a_head_of_another_size_is_one_error_without_transformers_load_report():
    from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification

    config = CiTrusConfig(d_model=16, num_hidden_layers=1, num_attention_heads=2, ffn_dim=32, num_labels=3)
    folder = tempfile.mkdtemp()
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    reports: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: reports.append(record.getMessage())
    report_logger = logging.getLogger("transformers.modeling_utils")
    report_logger.addHandler(handler)
    try:
        with pytest.raises(ValueError, match=r"classifier.bias \(3,\) in the checkpoint vs \(5,\) here"):
            CiTrusForSequenceClassification.from_pretrained(folder, num_labels=5)
    finally:
        report_logger.removeHandler(handler)
    assert not [report for report in reports if "LOAD REPORT" in report]


def test_an_onset_written_as_text_is_shown_as_the_file_wrote_it(tmp_path):
    from test_events_audit69 import _events_folder

    from citrus_hf.data.recording_folders import metadata_layout

    rows = [
        {"file_name": "a.edf", "onset": "4.0", "duration": None, "label": "left"},
        {"file_name": "a.edf", "onset": "soon", "duration": 2.0, "label": "right"},
    ]
    _events_folder(tmp_path, {"train": rows})
    with pytest.raises(ValueError, match=r"a.edf at onset 4.0 has no duration") as error:
        metadata_layout(tmp_path)
    assert "'4.0'" not in str(error.value)
