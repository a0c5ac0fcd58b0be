"""Audit 75, review 7: a review of this session's own changes. The fusion processor takes `from_pretrained`'s
optional parameters by position as the config and the extractor do again; the data layer's NaN advice names a row's
padding as padding, not as a gap, and weighs a run of unknown rate against a patch it can count in the row's samples."""

from __future__ import annotations

import numpy as np
import pytest
from test_fusion import fusion_config

from citrus_hf import CiTrusFusionProcessor

# ----------------------------------------------------------- 1. the fusion processor's positional parameters


def test_fusion_processor_takes_from_pretraineds_parameters_by_position(tmp_path):
    """`CiTrusFusionProcessor.from_pretrained(folder, cache_dir)` raised Python's 'takes 2 positional arguments but 3
    were given', where transformers' `ProcessorMixin.from_pretrained` (and the CiTrus config and extractor, b41aa84)
    take `cache_dir, force_download, local_files_only, token, revision` by position."""
    processor = CiTrusFusionProcessor.from_config(fusion_config())
    processor.save_pretrained(tmp_path / "saved")
    cache = str(tmp_path / "cache")
    assert CiTrusFusionProcessor.from_pretrained(tmp_path / "saved", cache) == processor
    assert CiTrusFusionProcessor.from_pretrained(tmp_path / "saved", cache, False, True, None, None) == processor
    with pytest.raises(TypeError, match="got multiple values for argument 'cache_dir'"):
        CiTrusFusionProcessor.from_pretrained(tmp_path / "saved", cache, cache_dir=cache)


# ------------------------------------------------------------------- 2. padding and the row's rate


def _split(signals: np.ndarray, **columns):
    import datasets

    return datasets.Dataset.from_dict(
        {"input_values": signals.tolist(), "label": [i % 2 for i in range(len(signals))], **columns}
    )


def test_a_rows_nan_padding_is_named_as_padding_not_a_gap():
    """A row NaN in every channel for its last second (rows of different durations stacked into one array) was
    called 'a gap in the recording (a device off, a WFDB record's '~' segment)' to cut the recording at, where the
    feature extractor names such a run as padding to a common length: it is now named so, with the fix."""
    from citrus_hf.data.splits import check_labelled_splits

    signals = np.random.default_rng(0).normal(size=(4, 2, 1000))
    signals[3, :, 900:] = np.nan
    splits = {
        name: _split(rows, sampling_rate=[100.0] * len(rows))
        for name, rows in (("train", signals), ("test", signals[:2]))
    }
    with pytest.raises(ValueError) as refused:
        check_labelled_splits(splits, "classification")
    message = str(refused.value)
    assert "Row 3 of the train split" in message and "its last 100 samples are NaN in every channel" in message
    assert "padding to a common length" in message and "a gap in the recording" not in message, message


def test_a_set_without_rates_is_not_told_its_nan_run_outlasts_the_models_patch(tmp_path):
    """A set without a `sampling_rate` column, given no rate, was told that a run of 15 NaN samples was 'a gap ...
    longer than one of the model's patches (10 samples)', a model patch of 0.1 s counted at the default 100 Hz, where
    given its rate (200 Hz: the run is 0.075 s, shorter than the patch) the same run was advised to be interpolated.
    Without a rate it is weighed against the default configuration's 20 samples, said as such."""
    import datasets

    from citrus_hf.data.splits import load_task_splits

    signals = np.random.default_rng(0).normal(size=(8, 1, 1000))
    signals[2, 0, 100:115] = np.nan
    folder = tmp_path / "set"
    datasets.DatasetDict({"train": _split(signals), "test": _split(signals[:4])}).save_to_disk(folder)
    interpolate = r"Row 2 .*pass --nan-policy interpolate \(nan_policy='interpolate'\) to fill them linearly"
    with pytest.raises(ValueError, match=interpolate):
        load_task_splits(str(folder), require_validation=False, patch_seconds=0.1)
    with pytest.raises(ValueError, match=interpolate):
        load_task_splits(str(folder), require_validation=False, patch_seconds=0.1, sampling_rate=200.0)


def test_a_run_of_unknown_rate_is_not_said_to_outlast_the_models_patch():
    """Without a rate, a patch has no length in the row's samples: the run was weighed against the given model's
    patch in seconds times the default 100 Hz and named 'longer than one of the model's patches (10 samples)'; it is
    now weighed against the default configuration's 20 samples, said as such."""
    from citrus_hf.data.splits import non_finite_fix

    signal = np.random.default_rng(0).normal(size=(2, 1000))
    signal[:, 100:115] = np.nan
    assert "to fill them linearly" in non_finite_fix(signal, None, 0.1)
    signal[:, 100:150] = np.nan
    fix = non_finite_fix(signal, None, 0.1)
    assert (
        "50 samples from 100 samples on" in fix
        and "a patch of the default configuration (20 samples; give the rows' rate" in fix
    ), fix
    assert "the model's patches" not in fix


# ------------------------------------------------- 3. the warning of pipeline code that could not be read


def test_pipeline_code_unread_warning_takes_an_error_without_text(tmp_path):
    """`save_pipeline_code` catches any error of reading a checkpoint's pipeline code and warns; an error without text
    (a bare `OSError()`, a connection error raised without a message) made the warning itself raise IndexError
    (`str(error).splitlines()[0]`), so `save_pretrained` of a remote-code model crashed where it should warn. The
    error is now named by its type."""
    from citrus_hf.modeling_citrus import _pipeline_code_unread

    warning = _pipeline_code_unread("pipelines.py", "owner/private-model", tmp_path, OSError())
    assert "pipelines.py of 'owner/private-model' could not be read: OSError()" in warning, warning
