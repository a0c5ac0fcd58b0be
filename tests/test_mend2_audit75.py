"""Audit 75, mend 2: leftovers of this session's fixes. The data layer's NaN refusals tell a gap from a few lost
samples as the feature extractor does; the fusion ONNX refusal from `citrus predict` names the CLI's option; `citrus
evaluate` gives `citrus finetune`'s regression target notices."""

from __future__ import annotations

import numpy as np
import pytest
from test_datanoticed_audit75 import _record_with_a_gap, ecg  # noqa: F401 (ecg: the real ECG fixture)
from test_physionet_audit74 import RATE, _write_record

wfdb = pytest.importorskip("wfdb")

# ------------------------------------------------------------ 1. the data layer's advice for a gap of NaN


def _labelled_folder_with_a_gap(root, signal: np.ndarray, gap: int):
    """A labelled folder of WFDB records (`train/<class>/`, `test/<class>/`), one of whose training records is a
    variable-layout (MIMIC-style) record with a '~' gap of `gap` samples, read as NaN."""
    _record_with_a_gap(root / "train" / "a", signal, gap)
    for split, label, start in (("train", "b", 0), ("test", "a", 1), ("test", "b", 2)):
        _write_record(root / split / label, f"{split}{label}", signal[int(start * 4 * RATE) :][: int(8 * RATE)])
    return root


def test_fine_tuning_on_a_folder_with_a_long_gap_is_not_advised_to_interpolate(ecg, tmp_path):  # noqa: F811
    """`citrus finetune` on a folder holding a record with a 4 s '~' gap was refused with "pass --nan-policy
    interpolate ... to fill them linearly", a made-up straight line of 4 s the model reads as signal, where the
    feature extractor names such a gap and advises cutting the recording there."""
    from citrus_hf.data.splits import load_task_splits

    folder = _labelled_folder_with_a_gap(tmp_path / "set", ecg, int(4 * RATE))
    with pytest.raises(ValueError) as refused:
        load_task_splits(folder, require_validation=False, patch_seconds=0.1)
    message = str(refused.value)
    assert "the longest run is 4 s from 4 s on: a gap in the recording" in message, message
    assert "(0.1 s)" in message and "Cut the recording at its gaps" in message
    assert "to fill them linearly" not in message


def test_a_folder_with_a_few_lost_samples_is_still_advised_to_interpolate(ecg, tmp_path):  # noqa: F811
    """Guard: a gap of 3 samples (shorter than a patch) keeps the advice to interpolate it."""
    from citrus_hf.data.splits import load_task_splits

    folder = _labelled_folder_with_a_gap(tmp_path / "set", ecg, 3)
    with pytest.raises(ValueError, match=r"pass --nan-policy interpolate \(nan_policy='interpolate'\) to fill them"):
        load_task_splits(folder, require_validation=False, patch_seconds=0.1)


def test_channel_statistics_name_a_gap_by_the_rows_rate():
    """`channel_statistics` (dataset normalisation) advised interpolating a 5 s run of NaN too; it now weighs the run by
    the row's `sampling_rate` against the default configuration's patch where no model's patch is given."""
    import datasets

    from citrus_hf.data.alignment import channel_statistics

    signals = np.random.default_rng(0).normal(size=(2, 1, 1000))
    signals[1, 0, 300:800] = np.nan
    split = datasets.Dataset.from_dict({"input_values": signals.tolist(), "sampling_rate": [100.0, 100.0]})
    with pytest.raises(ValueError, match=r"Row 1 .* longest run is 5 s from 3 s on: a gap .*patches \(0\.2 s\)"):
        channel_statistics(split)


# ------------------------------------------------------------ 2. citrus predict --backend onnxruntime on a fusion model


def test_predict_refuses_onnxruntime_for_a_fusion_model_in_the_commands_words(tmp_path, capsys):
    """`citrus predict FUSION ... --backend onnxruntime` said "backend='onnxruntime' exports models of one input ...
    use backend='auto'", the pipeline's Python argument, where the command's other messages name --backend."""
    from test_fusionpipe_audit73 import fusion_stager_argv

    from citrus_hf.commands.main import main

    assert main([*fusion_stager_argv(tmp_path), "eda=20", "--backend", "onnxruntime"]) == 2
    said = capsys.readouterr().err
    assert "--backend onnxruntime exports models of one input" in said and "use --backend auto" in said, said
    assert "backend='" not in said


# ------------------------------------------------------------ 3. citrus evaluate's regression target notices


def test_evaluate_warns_of_regression_targets_float32_rounds_once_per_set(tmp_path, caplog):
    """`citrus evaluate` on targets 1e6 + 0.01 i fitted and scored them without a word, where `citrus finetune` warns
    that float32 rounds them to multiples of 0.0625 (subtract an offset). Said once for the set, not per run."""
    import logging

    from test_evaluation import _own_set

    from citrus_hf.evaluation import ProtocolConfig, run_protocol

    folder = _own_set(tmp_path / "offset", None, targets=[1e6 + 0.01 * i for i in range(12)])
    config = ProtocolConfig(
        output_dir=str(tmp_path / "evaluation"),
        datasets=[str(folder)],
        budgets=["5", "all"],  # (two runs of the set)
        seeds=[0],
        arms=["citrus-small"],
        show_progress=False,
    )
    with caplog.at_level(logging.WARNING):
        run_protocol(config)
    said = [record.getMessage() for record in caplog.records if "rounds them to multiples of" in record.getMessage()]
    assert len(said) == 1, said
    assert said[0].startswith(f"{folder}: the regression targets") and "subtract an offset" in said[0]
