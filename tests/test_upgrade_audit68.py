"""Upgrading (audit 68): what earlier citrus-hf versions saved, read by this one. An extractor that stretches
recordings (alignment='interpolate') saved before checkpoints recorded the durations they were fitted on, and a
pre-training checkpoint saved before checkpoints recorded their run's settings, were taken without a word: recordings
of any duration were squeezed onto the window, and a resume with other settings continued another run."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from test_ecosystem_audit64 import _warnings_of  # the extractor's warnings of one call
from tiny_configs import tiny_config

from citrus_hf import CiTrusFeatureExtractor
from citrus_hf.training.arguments import PretrainArguments
from citrus_hf.training.checkpoints import CHECKPOINTS_DIR, RUN_SETTINGS_FILE, check_resumable
from citrus_hf.training.pretrain import SUMMARY_FILE


def _interpolating_extractor_folder(folder, keep_stretched_seconds: bool):
    """A tiny extractor with alignment='interpolate' saved in `folder`, its preprocessor_config.json without the
    `stretched_seconds` key (as citrus-hf wrote it before the key existed) unless `keep_stretched_seconds`."""
    CiTrusFeatureExtractor.from_config(tiny_config(), alignment="interpolate").save_pretrained(folder)
    path = folder / "preprocessor_config.json"
    values = json.loads(path.read_text())
    assert "stretched_seconds" in values  # what this version writes, null when nothing was fitted
    if not keep_stretched_seconds:
        del values["stretched_seconds"]
        values.pop("channel_units")  # nor had it this one
        values.pop("processor_class")
    path.write_text(json.dumps(values))
    return folder


def test_interpolating_extractor_saved_before_its_durations_were_recorded_says_so(tmp_path):
    """A checkpoint `citrus finetune` fitted on rows stretched onto the window before the durations were recorded: the
    pipeline squeezed a 1400 s recording onto the 2 s window of a model fitted on 8 s rows, silently."""
    folder = _interpolating_extractor_folder(tmp_path, keep_stretched_seconds=False)
    said = _warnings_of(lambda: CiTrusFeatureExtractor.from_pretrained(folder))
    assert "stretched_seconds" in said and "earlier citrus-hf" in said
    assert "extractor.stretched_seconds = [" in said and "save_pretrained" in said  # the fix, as code
    extractor = CiTrusFeatureExtractor.from_pretrained(folder)
    assert extractor.alignment == "interpolate" and extractor.stretched_seconds is None  # read as it was


def test_interpolating_extractor_of_this_version_loads_quietly(tmp_path):
    """An extractor saved by this version with alignment='interpolate' and nothing fitted (null) is no older file."""
    folder = _interpolating_extractor_folder(tmp_path, keep_stretched_seconds=True)
    assert "stretched_seconds" not in _warnings_of(lambda: CiTrusFeatureExtractor.from_pretrained(folder))


def _old_checkpoint(output_dir, summary_arguments: PretrainArguments | None):
    """A checkpoint folder of `output_dir` as citrus-hf wrote it before run_settings.json, and the run's summary
    (with its `arguments`, as every version wrote them) when `summary_arguments` is given."""
    checkpoint = output_dir / CHECKPOINTS_DIR / "step-2"
    checkpoint.mkdir(parents=True)
    if summary_arguments is not None:
        summary = {"steps": 2, "completed": True, "arguments": asdict(summary_arguments)}
        (output_dir / SUMMARY_FILE).write_text(json.dumps(summary))
    assert not (checkpoint / RUN_SETTINGS_FILE).exists()
    return checkpoint


def _args(output_dir, **changes) -> PretrainArguments:
    values = dict(output_dir=str(output_dir), dataset="eeg_pretrain", model_config="tiny", max_steps=2, seed=0)
    return PretrainArguments(**{**values, **changes})


def test_resume_of_a_checkpoint_without_run_settings_is_checked_against_the_run_summary(tmp_path):
    """A run of an earlier version extended from 2 to 4 steps continued with another schedule than it was run with
    (warm-up and decay over 2 steps), without a word; a checkpoint of this version refuses it."""
    checkpoint = _old_checkpoint(tmp_path, _args(tmp_path))
    with pytest.raises(ValueError, match=r"--max-steps 4 \(the run: 2\)") as refused:
        check_resumable(checkpoint, _args(tmp_path, max_steps=4), 1)
    assert SUMMARY_FILE in str(refused.value)
    assert check_resumable(checkpoint, _args(tmp_path), 1) is None  # the run's own settings resume


def test_resume_of_a_checkpoint_without_any_record_warns(tmp_path, caplog):
    checkpoint = _old_checkpoint(tmp_path, None)
    with caplog.at_level("WARNING", logger="citrus_hf.training.checkpoints"):
        assert check_resumable(checkpoint, _args(tmp_path, max_steps=4), 1) is None
        check_resumable(checkpoint, _args(tmp_path), 1, warn=False)  # the other processes of a run stay quiet
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 1 and RUN_SETTINGS_FILE in said[0] and "earlier citrus-hf" in said[0]
